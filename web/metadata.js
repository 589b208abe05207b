// What a museum's metadata.csv says of an image (title, artist, date, collection, source link, description), as the
// API hands it out (ImageMetadata). Every field is uploaded text: it goes into text nodes, and the link only through
// externalLink, which refuses anything but http(s).
import { h, externalLink } from './dom.js';

/** The image's title, or null: what a caption leads with when the museum gave one. */
export function title(metadata) {
  return metadata?.title ?? null;
}

/** Term/description pairs for a <dl>: artist, date, collection, source; nothing for fields the CSV left empty. */
export function facts(metadata) {
  if (!metadata) return [];
  const pairs = [];
  if (metadata.artist) pairs.push(['Artist', metadata.artist]);
  if (metadata.date) pairs.push(['Date', metadata.date]);
  if (metadata.collection) pairs.push(['Collection', metadata.collection]);
  const link = metadata.source ? externalLink(metadata.source, 'Museum page', h('span', { class: 'visually-hidden' }, metadata.title ? ` of ${metadata.title}` : '')) : null;
  if (link) pairs.push(['Source', link]);
  return pairs;
}

/** The description as a paragraph, or null. */
export function description(metadata) {
  return metadata?.description ? h('p', { class: 'description' }, metadata.description) : null;
}

// One image of the collection and its nearest images, from the stored neighbour graph (within its radius): what a
// curator opens from a cluster member to see what else looks like it, in or out of the cluster.
import * as api from './api.js';
import { h, replace } from './dom.js';
import * as metadata from './metadata.js';

function neighbour(n, rank) {
  return h('li', { class: 'member' },
    h('figure', {},
      h('a', { href: `#/images/${n.key}` },
        h('img', { src: n.thumbnail, alt: n.id, width: 160, height: 160, loading: 'lazy' })),
      h('figcaption', {},
        h('span', { class: 'rank' }, `${rank}. `),
        h('span', { class: 'id' }, n.id),
        h('span', { class: 'distance' }, ` distance ${n.distance.toFixed(4)}`))));
}

export async function render(main, key, signal) {
  let record;
  let near;
  try {
    [record, near] = await Promise.all([api.image(key, signal), api.neighbours(key, 24, signal)]);
  } catch (error) {
    if (error.name === 'AbortError') return;
    replace(main, h('h1', {}, 'Image'), h('p', { class: 'error' }, error.message), h('p', {}, h('a', { href: '#/' }, 'All clusters')));
    return;
  }
  replace(main,
    h('p', {}, record.clusterId ? h('a', { href: `#/clusters/${record.clusterId}` }, `← Cluster ${record.clusterId}`) : h('a', { href: '#/' }, '← All clusters')),
    h('h1', { class: 'id' }, record.id),
    metadata.title(record.metadata) ? h('p', { class: 'title' }, metadata.title(record.metadata)) : null,
    metadata.facts(record.metadata).length ? h('dl', { class: 'metadata' }, metadata.facts(record.metadata).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])) : null,
    metadata.description(record.metadata),
    h('figure', { class: 'single' },
      record.links.derivative ? h('img', { src: record.links.derivative, alt: record.id }) : null,
      h('figcaption', {}, `${record.format ?? ''} ${record.width} × ${record.height} px, ${record.clusterId ? `in cluster ${record.clusterId}` : 'in no cluster'}.`)),
    h('section', { 'aria-labelledby': 'neighbours-heading' },
      h('h2', { id: 'neighbours-heading' }, 'Nearest images'),
      h('p', { class: 'hint' }, near.neighbours.length
        ? `By cosine distance, within the neighbour graph's radius${typeof near.radius === 'number' ? ` (${near.radius.toFixed(3)})` : ''}.`
        : 'No other image is within the neighbour graph\'s radius.'),
      h('ol', { class: 'grid members', id: 'neighbours' }, near.neighbours.map((n, i) => neighbour(n, i + 1)))));
}

// A cluster's page: its reachability plot, then every member with its catalog metadata, a box to tick it and the
// annotation tools (annotate.js), then the cluster's annotation history.
import * as api from './api.js';
import { h, replace } from './dom.js';
import { plot } from './reachability.js';
import { panel, pick } from './annotate.js';
import { badge } from './change.js';
import * as metadata from './metadata.js';

const number = new Intl.NumberFormat();

/** A distance, or what its absence means (OPTICS calls both "undefined", which reads as a fault to a curator). */
function distance(value, absent) {
  return typeof value === 'number' ? value.toFixed(4) : absent;
}

function member(m, medoid, index) {
  const facts = [
    ...metadata.facts(m.metadata),
    ['Order', m.order],
    ['Reachability', distance(m.reachability, 'none: reached first')],
    ['Core distance', distance(m.coreDistance, 'none: too few neighbours')],
    ['Format', m.format ?? '—'],
    ['Size', m.width && m.height ? `${m.width} × ${m.height} px` : '—'],
    ['Bytes', typeof m.byteLength === 'number' ? number.format(m.byteLength) : '—'],
  ];
  return h('li', { class: 'member' },
    h('figure', {},
      m.thumbnail ? h('img', { src: m.thumbnail, alt: m.imageId, width: 160, height: 160, loading: 'lazy' }) : h('div', { class: 'missing' }, 'no image'),
      h('figcaption', {},
        pick(m.imageId, index),
        metadata.title(m.metadata) ? h('strong', { class: 'title' }, metadata.title(m.metadata)) : null,
        h('span', { class: 'id' }, m.imageId),
        m.imageId === medoid ? h('strong', { class: 'badge' }, ' medoid') : null,
        h('dl', {}, facts.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
        h('a', { href: `#/images/${m.key}`, class: 'similar' }, 'Similar images', h('span', { class: 'visually-hidden' }, ` to ${m.imageId}`)))));
}

export async function render(main, id, signal) {
  let data;
  try {
    data = await api.cluster(id, signal);
  } catch (error) {
    if (error.name === 'AbortError') return;
    replace(main, h('h1', {}, `Cluster ${id}`), h('p', { class: 'error' }, error.message), h('p', {}, h('a', { href: '#/' }, 'All clusters')));
    return;
  }
  const members = h('ul', { class: 'grid members', id: 'members' }, data.members.map((m, i) => member(m, data.medoid, i)));
  const annotation = panel(data.id, data.runId, members, signal);
  replace(main,
    h('p', {}, h('a', { href: '#/' }, '← All clusters')),
    h('h1', {}, `Cluster ${data.id}`),
    data.change ? h('p', { id: 'cluster-change' }, `Since run ${data.previousRunId}: `, badge(data.change)) : null,
    h('p', {}, `${data.size} images, run ${data.runId}. Medoid `, h('span', { class: 'id' }, data.medoid), '. ',
      h('a', { href: api.iiifManifest(data.id), class: 'iiif' }, 'IIIF manifest'), ' (open it in any IIIF viewer).'),
    h('section', { 'aria-labelledby': 'reachability-heading' },
      h('h2', { id: 'reachability-heading' }, 'Reachability'),
      h('p', { class: 'hint' }, 'One bar per image in OPTICS order; lower bars were reached at a smaller distance. The line is the radius the clusters were cut at.'),
      h('div', { class: 'plot' }, plot(data))),
    h('section', { 'aria-labelledby': 'members-heading' },
      h('h2', { id: 'members-heading' }, 'Members'),
      members,
      annotation.tools),
    annotation.history);
}

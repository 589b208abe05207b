// The clusters view: the latest manifest as a grid of cards, each with its change since the previous run, filtered by
// text (image name, or a member's title or artist), collection and size, and sorted.
import * as api from './api.js';
import { h, replace } from './dom.js';
import { badge } from './change.js';

const SORTS = {
  'size-desc': (a, b) => b.size - a.size || byId(a, b),
  'size-asc': (a, b) => a.size - b.size || byId(a, b),
  id: (a, b) => byId(a, b),
};

/** C2 before C10: ids are "C" and a number. */
function byId(a, b) {
  return Number(a.id.slice(1)) - Number(b.id.slice(1)) || a.id.localeCompare(b.id);
}

function card(cluster) {
  const previews = cluster.previews.map((image) =>
    h('img', { src: image.thumbnail, alt: image.id, width: 96, height: 96, loading: 'lazy' }));
  return h('li', { class: 'card', 'data-cluster': cluster.id },
    h('h2', {}, h('a', { href: `#/clusters/${cluster.id}` }, `Cluster ${cluster.id}`), ' ', badge(cluster.change)),
    h('p', { class: 'meta' }, `${cluster.size} images · medoid `, h('span', { class: 'id' }, cluster.medoid)),
    cluster.collections?.length ? h('p', { class: 'collections' }, `Collection: ${cluster.collections.join(', ')}`) : null,
    h('div', { class: 'previews' }, previews),
    h('p', {}, h('a', { href: api.iiifManifest(cluster.id), class: 'iiif' }, 'IIIF manifest', h('span', { class: 'visually-hidden' }, ` of cluster ${cluster.id}`))));
}

/** The images OPTICS left in no cluster, folded away: a curator looks there for what the clustering missed. */
function unclustered(images) {
  return h('details', { class: 'unclustered' },
    h('summary', {}, `${images.length} ${images.length === 1 ? 'image' : 'images'} in no cluster`),
    h('ul', { class: 'grid', id: 'unclustered' }, images.map((image) =>
      h('li', {}, h('a', { href: `#/images/${image.key}` },
        image.thumbnail ? h('img', { src: image.thumbnail, alt: image.id, width: 96, height: 96, loading: 'lazy' }) : h('span', { class: 'id' }, image.id))))));
}

export async function render(main, signal) {
  let data;
  try {
    data = await api.gallery(signal);
  } catch (error) {
    if (error.name === 'AbortError') return;
    replace(main, h('h1', {}, 'Clusters'), h('p', { class: 'error' }, error.status === 404
      ? 'No manifest has been published yet: run `motif run <folder>` first.'
      : error.message));
    return;
  }
  const text = h('input', { id: 'filter-text', type: 'search', autocomplete: 'off' });
  const collection = h('select', { id: 'filter-collection' },
    h('option', { value: '' }, 'Any collection'),
    (data.collections ?? []).map((name) => h('option', { value: name }, name)));
  const minSize = h('input', { id: 'filter-size', type: 'number', min: 1, value: 1, inputmode: 'numeric' });
  const sort = h('select', { id: 'sort' },
    h('option', { value: 'size-desc' }, 'Largest first'),
    h('option', { value: 'size-asc' }, 'Smallest first'),
    h('option', { value: 'id' }, 'By id'));
  const count = h('p', { id: 'cluster-count', role: 'status' });
  const grid = h('ul', { class: 'grid', id: 'clusters' });

  const update = () => {
    const needle = text.value.trim().toLowerCase();
    const least = Number(minSize.value) || 1;
    const shown = data.clusters
      .filter((c) => c.size >= least)
      .filter((c) => collection.value === '' || (c.collections ?? []).includes(collection.value))
      .filter((c) => needle === '' || c.id.toLowerCase() === needle
        || c.memberIds.some((m) => m.toLowerCase().includes(needle)) || (c.text ?? []).some((t) => t.toLowerCase().includes(needle)))
      .sort(SORTS[sort.value] ?? SORTS['size-desc']);
    replace(grid, shown.map(card));
    count.textContent = `Showing ${shown.length} of ${data.clusters.length} clusters.`;
  };
  for (const control of [text, minSize]) control.addEventListener('input', update);
  for (const control of [sort, collection]) control.addEventListener('change', update);

  replace(main,
    h('h1', {}, 'Clusters'),
    h('p', {}, `Run ${data.runId} of ${new Date(data.createdAt).toLocaleString()}: ${data.clusters.length} clusters over ${data.images} images, ${data.noise} in no cluster. Model ${data.modelVersion}.${data.previousRunId ? ` Changes are since run ${data.previousRunId}.` : ''} `,
      h('a', { href: '/manifest.json' }, 'manifest.json'), ' · ', h('a', { href: '/clusters.csv' }, 'clusters.csv'), ' · ',
      h('a', { href: api.iiifCollection }, 'IIIF collection'), ' · ',
      h('a', { href: '#/reachability', id: 'reachability-link' }, 'Reachability plot of the whole collection')),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter clusters' },
      h('label', { for: 'filter-text' }, 'Name, title or artist contains'), text,
      h('label', { for: 'filter-collection' }, 'Collection'), collection,
      h('label', { for: 'filter-size' }, 'At least this many images'), minSize,
      h('label', { for: 'sort' }, 'Sort'), sort),
    count,
    grid,
    unclustered(data.unclustered ?? []));
  main.querySelector('form').addEventListener('submit', (event) => event.preventDefault());
  update();
}

// The curators' app: a hash router over three views. Plain ES modules, no build step, nothing from another origin.
import * as clusters from './clusters.js';
import * as cluster from './cluster.js';
import * as image from './image.js';
import * as search from './search.js';
import * as map from './map.js';
import * as ordering from './collection-reachability.js';

const main = document.getElementById('main');
let current = null;

async function route() {
  current?.abort();
  current = new AbortController();
  const hash = location.hash || '#/';
  const clusterMatch = /^#\/clusters\/(C[1-9][0-9]{0,9})$/.exec(hash);
  let title = 'Clusters';
  // An image key is base64url: nothing else reaches the API from the address bar.
  const imageMatch = /^#\/images\/([A-Za-z0-9_-]{1,4096})$/.exec(hash);
  if (clusterMatch) {
    title = `Cluster ${clusterMatch[1]}`;
    await cluster.render(main, clusterMatch[1], current.signal);
  } else if (imageMatch) {
    title = 'Image';
    await image.render(main, imageMatch[1], current.signal);
  } else if (hash === '#/map') {
    title = 'Map';
    await map.render(main, current.signal);
  } else if (hash === '#/reachability') {
    title = 'Reachability';
    await ordering.render(main, current.signal);
  } else if (hash === '#/search') {
    title = 'Search by image';
    search.render(main);
  } else {
    await clusters.render(main, current.signal);
  }
  document.title = `${title} · Motif`;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === (['#/search', '#/map', '#/reachability'].includes(hash) ? hash : '#/')) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.getElementById('status').textContent = `${title} loaded.`;
  document.body.dataset.view = clusterMatch ? 'cluster' : imageMatch ? 'image' : hash === '#/search' ? 'search' : hash === '#/map' ? 'map' : hash === '#/reachability' ? 'reachability' : 'clusters';
}

window.addEventListener('hashchange', () => {
  route().then(() => main.focus());
});
route();

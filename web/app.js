// The curators' app: a hash router over three views. Plain ES modules, no build step, nothing from another origin.
import * as clusters from './clusters.js';
import * as cluster from './cluster.js';
import * as search from './search.js';

const main = document.getElementById('main');
let current = null;

async function route() {
  current?.abort();
  current = new AbortController();
  const hash = location.hash || '#/';
  const clusterMatch = /^#\/clusters\/(C[1-9][0-9]{0,9})$/.exec(hash);
  let title = 'Clusters';
  if (clusterMatch) {
    title = `Cluster ${clusterMatch[1]}`;
    await cluster.render(main, clusterMatch[1], current.signal);
  } else if (hash === '#/search') {
    title = 'Search by image';
    search.render(main);
  } else {
    await clusters.render(main, current.signal);
  }
  document.title = `${title} · Motif`;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === (hash === '#/search' ? '#/search' : '#/')) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.getElementById('status').textContent = `${title} loaded.`;
  document.body.dataset.view = clusterMatch ? 'cluster' : hash === '#/search' ? 'search' : 'clusters';
}

window.addEventListener('hashchange', () => {
  route().then(() => main.focus());
});
route();

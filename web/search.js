// Search by image: choose or drop a file, POST it to /api/search, show the nearest images with their distances.
import * as api from './api.js';
import { h, replace } from './dom.js';

function hit(result, rank) {
  return h('li', { class: 'member' },
    h('figure', {},
      h('a', { href: `#/images/${result.key}` },
        result.thumbnail ? h('img', { src: result.thumbnail, alt: result.imageId, width: 160, height: 160, loading: 'lazy' }) : h('div', { class: 'missing' }, 'no image')),
      h('figcaption', {},
        h('span', { class: 'rank' }, `${rank}. `),
        h('span', { class: 'id' }, result.imageId),
        h('span', { class: 'distance' }, ` distance ${result.distance.toFixed(4)}`))));
}

export function render(main) {
  const input = h('input', { id: 'query-file', type: 'file', accept: 'image/*', required: true });
  const k = h('input', { id: 'query-k', type: 'number', min: 1, max: 100, value: 12, inputmode: 'numeric' });
  const button = h('button', { type: 'submit' }, 'Search');
  // A button, so that Tab reaches it and Enter or Space opens the file chooser; a file dropped on it searches at once.
  const drop = h('button', { type: 'button', class: 'drop', id: 'drop' }, 'Drop an image file here, or press to choose one.');
  const results = h('section', { id: 'results', 'aria-live': 'polite', 'aria-labelledby': 'results-heading' });
  const form = h('form', { id: 'search-form', class: 'search' },
    h('label', { for: 'query-file' }, 'Image file'), input,
    h('label', { for: 'query-k' }, 'How many results'), k,
    button);
  let running = null;

  async function run(file) {
    running?.abort();
    running = new AbortController();
    button.disabled = true;
    replace(results, h('h2', { id: 'results-heading' }, 'Nearest images'), h('p', {}, `Searching with ${file.name}…`));
    try {
      const answer = await api.search(file, Number(k.value) || 12, running.signal);
      replace(results,
        h('h2', { id: 'results-heading' }, 'Nearest images'),
        h('p', {}, `${answer.results.length} nearest of ${answer.signatures} images (model ${answer.model}), by cosine distance:`),
        h('ol', { class: 'grid members', id: 'hits' }, answer.results.map((r, i) => hit(r, i + 1))));
    } catch (error) {
      if (error.name === 'AbortError') return;
      replace(results, h('h2', { id: 'results-heading' }, 'Nearest images'), h('p', { class: 'error', role: 'alert' }, error.message));
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.files?.length) run(input.files[0]);
  });
  // A file chosen through the drop zone searches at once, as a dropped one does; the form's input waits for Search.
  let searchOnChoice = false;
  drop.addEventListener('click', () => {
    searchOnChoice = true;
    input.click();
  });
  input.addEventListener('change', () => {
    if (searchOnChoice && input.files?.length) run(input.files[0]);
    searchOnChoice = false;
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer?.files?.[0];
    if (file) run(file);
  });

  replace(main, h('h1', {}, 'Search by image'),
    h('p', {}, 'Find the images of the collection nearest to any image: a photograph, a detail, a work from elsewhere.'),
    form, drop, results);
}

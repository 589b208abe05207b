// Annotation on a cluster page: tick members, then say what they are; the history below lists what was said, and any
// entry in effect can be withdrawn (an undo is itself an annotation: the history is append-only, AnnotationsApi.cs).
// The server decides every rule (how many images a label needs, who the annotator is): the page sends what the curator
// chose and shows the API's refusal as it came, so the two can never disagree.
import * as api from './api.js';
import { h, replace } from './dom.js';

/** The API's labels as curators read them (core/Motif.Core/Annotations/Annotation.cs). */
export const LABELS = {
  confirm: 'Confirm pattern',
  'wrong-member': 'Wrong member',
  'wrong-cluster': 'Wrong cluster',
  similar: 'Similar, not the same pattern',
  undo: 'Undo',
};

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function time(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : when.format(date);
}

/** The checkbox that ticks one member, with its label; `index` keeps ids unique whatever the image id holds. */
export function pick(imageId, index) {
  const id = `pick-${index}`;
  return h('p', { class: 'pick' },
    h('input', { type: 'checkbox', id, class: 'pick-box', 'data-image': imageId }),
    h('label', { for: id }, 'Select', h('span', { class: 'visually-hidden' }, ` ${imageId}`)));
}

function describe(a) {
  return a.label === 'undo' ? `${LABELS.undo} of ${a.undoes}` : `${LABELS[a.label] ?? a.label}, ${a.images.length} ${a.images.length === 1 ? 'image' : 'images'}`;
}

/**
 * The annotation panel of cluster `clusterId` of run `runId` (sent with each verdict, so that a later run refuses it
 * rather than apply it to whatever group carries that id now), whose members' checkboxes (made by `pick`) are inside
 * `members`.
 * Returns its two parts: `tools` (the actions, the message region and the annotator) and `history`; it loads the
 * history itself.
 */
export function panel(clusterId, runId, members, signal) {
  const message = h('p', { id: 'annotation-message', class: 'message', 'aria-live': 'polite' });
  const annotator = h('p', { id: 'annotator', class: 'hint' }, 'The server records your name with each annotation.');
  const history = h('ol', { id: 'history', class: 'history' });
  const undoLast = h('button', { type: 'button', id: 'undo-last' }, 'Undo last');
  let entries = [];
  let busy = false;

  const boxes = () => [...members.querySelectorAll('input.pick-box')];
  const say = (text, error = false) => {
    message.className = error ? 'message error' : 'message';
    message.textContent = text;
  };
  const showAnnotator = (name) => replace(annotator, 'Annotating as ', h('strong', { class: 'who' }, name), '.');

  function draw() {
    const items = entries.map((a) => {
      const inEffect = a.label !== 'undo' && !a.undoneBy;
      return h('li', { class: a.undoneBy ? 'entry undone' : 'entry', 'data-id': a.id, 'data-label': a.label },
        h('span', { class: 'what' }, describe(a)),
        ' by ', h('span', { class: 'who' }, a.annotator), ', ', h('time', { datetime: a.createdAt }, time(a.createdAt)),
        a.undoneBy ? h('span', { class: 'state' }, ' — withdrawn') : null,
        a.images.length ? h('ul', { class: 'images' }, a.images.map((image) => h('li', { class: 'id' }, image))) : null,
        a.note ? h('p', { class: 'note' }, a.note) : null,
        inEffect ? h('button', { type: 'button', class: 'undo', 'data-undo': a.id }, 'Undo',
          h('span', { class: 'visually-hidden' }, ` ${describe(a)} by ${a.annotator}`)) : null);
    });
    replace(history, items.length ? items : h('li', { class: 'hint' }, 'No annotations yet.'));
    undoLast.hidden = !entries.some((a) => a.label !== 'undo' && !a.undoneBy);
  }

  async function reload() {
    try {
      entries = (await api.annotations(clusterId, signal)).annotations;
      draw();
    } catch (error) {
      if (error.name !== 'AbortError') say(`Could not load the annotations: ${error.message}`, true);
    }
  }

  // One action at a time: a second click while one is in flight is ignored (buttons stay enabled so focus stays put).
  async function act(posts, done) {
    if (busy) return;
    busy = true;
    const made = [];
    try {
      for (const body of posts) {
        const stored = await api.annotate(body, signal);
        made.push(stored);
        showAnnotator(stored.annotator);
      }
      say(done(made));
      return true;
    } catch (error) {
      if (error.name === 'AbortError') return false;
      const recorded = made.length ? ` (${made.map(describe).join('; ')} was recorded)` : '';
      say(`Refused: ${error.message}${recorded}`, true);
      return false;
    } finally {
      busy = false;
      await reload();
    }
  }

  async function verdict(kind) {
    const ticked = boxes().filter((b) => b.checked).map((b) => b.dataset.image);
    const rest = boxes().filter((b) => !b.checked).map((b) => b.dataset.image);
    const posts = kind === 'confirm-rest-wrong'
      ? [{ cluster: clusterId, runId, label: 'confirm', images: ticked }, ...(rest.length ? [{ cluster: clusterId, runId, label: 'wrong-member', images: rest }] : [])]
      : [{ cluster: clusterId, runId, label: kind, images: ticked }];
    const ok = await act(posts, (made) => `Recorded: ${made.map(describe).join('; ')}.`);
    if (ok) for (const box of boxes()) box.checked = false;
  }

  const undo = (id) => act([{ undo: id }], () => 'Undone.');

  const actions = h('div', { class: 'actions', role: 'group', 'aria-labelledby': 'annotate-heading' },
    ...[['confirm', LABELS.confirm], ['confirm-rest-wrong', 'Confirm and mark the rest wrong'], ['similar', LABELS.similar], ['wrong-cluster', LABELS['wrong-cluster']]]
      .map(([kind, text]) => h('button', { type: 'button', 'data-action': kind }, text)));
  actions.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (button) verdict(button.dataset.action);
  });
  history.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-undo]');
    if (button) undo(button.dataset.undo);
  });
  undoLast.addEventListener('click', () => {
    const last = entries.findLast((a) => a.label !== 'undo' && !a.undoneBy);
    if (last) undo(last.id);
  });

  reload();
  // Who the server will record, before the first action; each stored annotation confirms it again.
  api.whoami(signal).then((me) => showAnnotator(me.annotator), (error) => {
    if (error.name !== 'AbortError') replace(annotator, `Annotations cannot be recorded: ${error.message}`);
  });
  // The tools follow the members in reading (and Tab) order, tick then act, in the page's flow: a bar stuck to the
  // window's bottom covered the lower half of the members it scrolled over; the history is a section of its own.
  return {
    tools: h('div', { class: 'annotate' },
      h('h3', { id: 'annotate-heading' }, 'Annotate the ticked images'),
      actions, message, annotator),
    history: h('section', { 'aria-labelledby': 'history-heading' },
      h('h2', { id: 'history-heading' }, 'Annotations'),
      h('p', { class: 'hint' }, 'What curators said about this cluster, oldest first. An undo withdraws an annotation and stays in the history.'),
      h('div', { class: 'history-tools' }, undoLast),
      history),
  };
}

// The reachability plot of the whole collection (GET /api/reachability; core/Motif.Core/Manifests/ReachabilityPlot.cs):
// one bar per image in OPTICS order, its height the reachability distance at which OPTICS reached it (Ankerst et al.,
// "OPTICS: Ordering Points To Identify the Clustering Structure", SIGMOD 1999, §4.3). A valley, a run of bars of one
// cluster, is a cluster; the bars between valleys are the images in no cluster. The radius the clusters were cut at
// is a dashed line with its value. An image OPTICS reached first, from nothing (no reachability: the start of the
// ordering and of every part the radius does not connect), is a full-height hatched bar.
//
// One canvas, no element per bar. With more images than pixel columns each column shows the MAXIMUM reachability of
// its images (so the peaks that separate valleys are never decimated away, and a column holding an unreachable image
// is drawn hatched), coloured like the map by the cluster most of its images are in. The columns are computed once
// per width, O(n), and a frame draws one rect per column: smooth at 100,000 images.
//
// Click a valley to open its cluster's page (a bar in no cluster opens its image). Keyboard: the canvas takes focus;
// arrow keys move between valleys (Home, End: the first, the last), Enter opens the one selected, which is outlined on
// the canvas and named in a live label ("cluster C3, 12 images, positions 140–151").
import * as api from './api.js';
import { h, replace } from './dom.js';
import { colourOf, NOISE } from './palette.js';
import { imageKey } from './map.js';

const HEIGHT = 320;
const LEFT = 12;
const RIGHT = 12;
const TOP = 24;
const BOTTOM = 28;
const BAND = 6; // the cluster band under the axis
const CLUSTER_ID = /^C[1-9][0-9]{0,9}$/;

/** Checks the plot's columns (the response is data, never trusted to be well formed) and returns typed copies. */
function columns(plot) {
  const n = Array.isArray(plot?.ids) ? plot.ids.length : -1;
  const ok = n >= 0 && [plot.reachability, plot.cluster].every((c) => Array.isArray(c) && c.length === n) && Array.isArray(plot.clusters);
  if (!ok) throw new Error('The reachability plot is malformed.');
  // Infinity stands for "reached first" (null in the document).
  const reach = new Float64Array(n);
  const cluster = Int32Array.from(plot.cluster);
  for (let i = 0; i < n; i++) {
    const r = plot.reachability[i];
    reach[i] = r === null ? Infinity : r;
    if (!(reach[i] >= 0) || cluster[i] < -1 || cluster[i] >= plot.clusters.length) throw new Error('The reachability plot is malformed.');
  }
  const radius = typeof plot.radius === 'number' && Number.isFinite(plot.radius) && plot.radius > 0 ? plot.radius : null;
  return { n, ids: plot.ids.map(String), clusters: plot.clusters.map(String), reach, cluster, radius, runId: String(plot.runId ?? '') };
}

/** Valleys: maximal runs of consecutive positions in the same cluster, in order. */
export function valleys(cluster) {
  const runs = [];
  for (let i = 0; i < cluster.length; i++) {
    if (cluster[i] < 0) continue;
    const last = runs[runs.length - 1];
    if (last && last.cluster === cluster[i] && last.end === i - 1) last.end = i;
    else runs.push({ cluster: cluster[i], start: i, end: i });
  }
  return runs;
}

export async function render(main, signal) {
  let data;
  try {
    data = columns(await api.reachability(signal));
  } catch (error) {
    if (error.name === 'AbortError') return;
    replace(main, h('h1', {}, 'Reachability'), h('p', { class: 'error' }, error.status === 404
      ? 'There is no reachability plot yet: it is published with the next clustering run that has new images.'
      : error.message));
    return;
  }
  const { n, ids, clusters, reach, cluster, radius } = data;
  const runs = valleys(cluster);
  let finiteMax = 0;
  let unreachable = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isFinite(reach[i])) finiteMax = Math.max(finiteMax, reach[i]);
    else unreachable++;
  }
  const top = Math.max(radius ?? 0, finiteMax, 1e-6) * 1.1;

  const describeRun = (v) => `cluster ${clusters[v.cluster]}, ${v.end - v.start + 1} ${v.end === v.start ? 'image' : 'images'}, `
    + (v.end === v.start ? `position ${v.start}` : `positions ${v.start}–${v.end}`);
  const label = `Reachability plot of ${n} ${n === 1 ? 'image' : 'images'} in OPTICS order, ${runs.length} ${runs.length === 1 ? 'valley' : 'valleys'} `
    + `(clusters)${radius === null ? '' : `, radius ${radius.toFixed(3)}`}. Arrow keys move between valleys, Enter opens the cluster.`;
  const canvas = h('canvas', { id: 'reachability', class: 'ordering', tabindex: 0, role: 'application', 'aria-label': label,
    'aria-describedby': 'reachability-selected', 'data-points': n, 'data-valleys': runs.length });
  const selected = h('p', { id: 'reachability-selected', class: 'hint', 'aria-live': 'polite' },
    runs.length ? 'Press an arrow key to select a valley.' : 'No valleys: no image is in a cluster.');

  replace(main,
    h('h1', {}, 'Reachability'),
    h('p', {}, `Run ${data.runId}: every image once, in the order OPTICS visited them (positions are the Order shown on a cluster's page). `,
      'A bar\'s height is the distance at which an image was reached from those before it, so a valley is a group of similar images: ',
      `each cluster's valley has its colour on the map, images in no cluster are grey. `,
      radius === null ? '' : `The dashed line is the radius the clusters were cut at (${radius.toFixed(3)}). `,
      `Hatched full-height bars (${unreachable}) are images OPTICS reached first, from nothing within the radius. `,
      'The coloured band under the axis marks each cluster\'s span. ',
      'Click a valley to open its cluster.'),
    n > 0 ? h('p', { class: 'hint', id: 'reachability-decimation' }) : null,
    canvas,
    selected);
  const decimationNote = main.querySelector('#reachability-decimation');

  // Diagonal hatching for "reached first": it differs from every bar by pattern, not only by colour.
  const hatch = document.createElement('canvas');
  hatch.width = 8;
  hatch.height = 8;
  const hatchContext = hatch.getContext('2d');
  hatchContext.fillStyle = '#ececec';
  hatchContext.fillRect(0, 0, 8, 8);
  hatchContext.strokeStyle = '#5f5f5f';
  hatchContext.lineWidth = 1.5;
  hatchContext.beginPath();
  hatchContext.moveTo(0, 8); hatchContext.lineTo(8, 0);
  hatchContext.moveTo(-2, 2); hatchContext.lineTo(2, -2);
  hatchContext.moveTo(6, 10); hatchContext.lineTo(10, 6);
  hatchContext.stroke();

  let width = 0;
  let bars = []; // per drawn column: { from, to (positions, exclusive), max, colour, hatched }
  let current = -1; // the selected valley, an index into runs
  const plotWidth = () => Math.max(width - LEFT - RIGHT, 1);
  const xOf = (position) => LEFT + (position / Math.max(n, 1)) * plotWidth();
  const y = (value) => TOP + (HEIGHT - TOP - BOTTOM) * (1 - Math.min(value, top) / top);

  /** One column per bar when they fit, else one per CSS pixel with the maximum of its images. */
  const layout = () => {
    width = Math.max(canvas.clientWidth, 1);
    const count = Math.min(n, Math.floor(plotWidth()));
    bars = [];
    for (let c = 0; c < count; c++) {
      const from = Math.floor((c * n) / count);
      const to = Math.floor(((c + 1) * n) / count);
      let max = 0, hatched = false;
      const votes = new Map();
      for (let i = from; i < to; i++) {
        if (Number.isFinite(reach[i])) max = Math.max(max, reach[i]);
        else hatched = true;
        votes.set(cluster[i], (votes.get(cluster[i]) ?? 0) + 1);
      }
      let best = -1, bestVotes = -1;
      for (const [k, v] of votes) if (v > bestVotes || (v === bestVotes && k > best)) { best = k; bestVotes = v; }
      bars.push({ from, to, max, colour: colourOf(best), hatched });
    }
    canvas.dataset.decimated = count < n ? 'max' : 'none';
    canvas.dataset.plotWidth = String(plotWidth());
    if (decimationNote) {
      decimationNote.textContent = count < n
        ? `${n} images on ${count} pixel columns: each column shows the highest bar of its about ${Math.round(n / count)} images, in the colour most of them have.`
        : 'One bar per image.';
    }
  };

  let pending = false;
  const draw = () => {
    pending = false;
    const ratio = window.devicePixelRatio || 1;
    if (Math.max(canvas.clientWidth, 1) !== width) layout();
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(HEIGHT * ratio);
    const context = canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = '#fff';
    context.fillRect(0, 0, width, HEIGHT);
    const base = y(0);
    // The selected valley's span, behind its bars.
    if (current >= 0) {
      const v = runs[current];
      context.fillStyle = '#fdebd3';
      context.fillRect(xOf(v.start) - 2, TOP - 6, Math.max(xOf(v.end + 1) - xOf(v.start), 1) + 4, base - TOP + 6);
    }
    const gap = bars.length && plotWidth() / bars.length >= 4 ? 0.15 : 0;
    const hatchPattern = context.createPattern(hatch, 'repeat');
    for (const bar of bars) {
      const x0 = xOf(bar.from);
      const w = Math.max(xOf(bar.to) - x0, 1);
      const x = x0 + w * gap;
      const bw = Math.max(w * (1 - 2 * gap), 1);
      if (bar.hatched) {
        context.fillStyle = hatchPattern;
        context.fillRect(x, TOP, bw, base - TOP);
        context.fillStyle = '#5f5f5f';
        context.fillRect(x, TOP, bw, 2);
      } else {
        const yTop = y(bar.max);
        context.fillStyle = bar.colour;
        context.fillRect(x, yTop, bw, Math.max(base - yTop, 1));
      }
    }
    // Under the axis, each bar's cluster as a band of its colour: a valley's span reads there, its first (hatched) bar
    // included, and images in no cluster leave a gap.
    for (const bar of bars) {
      if (bar.colour === NOISE) continue;
      const x0 = xOf(bar.from);
      context.fillStyle = bar.colour;
      context.fillRect(x0, base + 2, Math.max(xOf(bar.to) - x0, 1), BAND);
    }
    context.strokeStyle = '#1b1b1b';
    context.lineWidth = 1;
    context.beginPath();
    context.moveTo(LEFT, base + 0.5);
    context.lineTo(width - RIGHT, base + 0.5);
    context.stroke();
    if (radius !== null) {
      const yr = Math.round(y(radius)) + 0.5;
      context.strokeStyle = '#b3261e';
      context.lineWidth = 2;
      context.setLineDash([6, 4]);
      context.beginPath();
      context.moveTo(LEFT, yr);
      context.lineTo(width - RIGHT, yr);
      context.stroke();
      context.setLineDash([]);
      // The value on a white label, readable over any bar.
      const text = `radius ${radius.toFixed(3)}`;
      context.font = '12px system-ui, sans-serif';
      context.textAlign = 'right';
      context.textBaseline = 'alphabetic';
      const textWidth = context.measureText(text).width;
      context.fillStyle = '#fff';
      context.fillRect(width - RIGHT - textWidth - 4, yr - 19, textWidth + 6, 16);
      context.fillStyle = '#b3261e';
      context.fillText(text, width - RIGHT, yr - 6);
    }
    // The selection's outline: a thick underline and brackets, visible without colour.
    if (current >= 0) {
      const v = runs[current];
      const x0 = xOf(v.start) - 2;
      const x1 = xOf(v.end + 1) + 2;
      context.strokeStyle = '#1b1b1b';
      context.lineWidth = 3;
      context.strokeRect(x0, TOP - 6, Math.max(x1 - x0, 3), base - TOP + 6);
      context.fillStyle = '#1b1b1b';
      context.fillRect(x0, base + BAND + 5, Math.max(x1 - x0, 3), 5);
    }
  };
  const redraw = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };

  const select = (index) => {
    if (!runs.length) return;
    current = Math.max(0, Math.min(runs.length - 1, index));
    selected.textContent = `Selected: ${describeRun(runs[current])}. Press Enter to open it.`;
    canvas.dataset.selected = clusters[runs[current].cluster];
    redraw();
  };
  const openCluster = (index) => {
    const id = clusters[index];
    if (CLUSTER_ID.test(id)) location.hash = `#/clusters/${id}`;
  };

  canvas.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowRight' || event.key === 'ArrowDown') select(current + 1);
    else if (event.key === 'ArrowLeft' || event.key === 'ArrowUp') select(current < 0 ? runs.length - 1 : current - 1);
    else if (event.key === 'Home') select(0);
    else if (event.key === 'End') select(runs.length - 1);
    else if (event.key === 'Enter' || event.key === ' ') {
      if (current >= 0) openCluster(runs[current].cluster);
      else select(0);
    } else return;
    event.preventDefault();
  }, { signal });
  canvas.addEventListener('click', (event) => {
    const box = canvas.getBoundingClientRect();
    const position = Math.floor(((event.clientX - box.left - LEFT) / plotWidth()) * n);
    if (position < 0 || position >= n) return;
    if (cluster[position] >= 0) openCluster(cluster[position]);
    else location.hash = `#/images/${imageKey(ids[position])}`;
  }, { signal });
  window.addEventListener('resize', redraw, { signal });

  // Where the bars are (with data-plot-width, set by layout), so a test can click a valley without reading pixels.
  canvas.dataset.plotLeft = String(LEFT);
  layout();
  draw();
  canvas.dataset.drawn = 'true';
}

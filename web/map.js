// The map of the collection: every clustered image at its place in the layout the Recluster run published beside
// the manifest (GET /api/map; core/Motif.Core/Layout/MapLayout.cs, UMAP over the neighbour graph), coloured by
// cluster. One canvas, no element per point: each frame is one path per colour (a rect per point in view), which
// Chromium fills for 100,000 points within a frame; redraws are coalesced to one per animation frame.
// Zoom: wheel (about the pointer), the buttons, + and −; pan: drag, arrow keys; 0 resets. Click a point, or press
// Enter for the point nearest the centre (ringed), to open its image page.
import * as api from './api.js';
import { h, replace } from './dom.js';
import { NOISE, PALETTE } from './palette.js';

const HEIGHT = 560;
const PICK_RADIUS = 10; // CSS pixels around the pointer a click may hit
const PAN_STEP = 60; // CSS pixels per arrow key

/** base64url (RFC 4648 §5, no padding) of the id's UTF-8 bytes: the API's image key (functions/Motif.Functions/Api/ApiIds.cs). */
export function imageKey(id) {
  let binary = '';
  for (const byte of new TextEncoder().encode(id)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** Checks the map's columns (the response is data, never trusted to be well formed) and returns typed copies. */
function columns(map) {
  const n = Array.isArray(map?.ids) ? map.ids.length : -1;
  const ok = n >= 0 && [map.x, map.y, map.cluster].every((c) => Array.isArray(c) && c.length === n) && Array.isArray(map.clusters);
  if (!ok) throw new Error('The map is malformed.');
  const x = Float64Array.from(map.x);
  const y = Float64Array.from(map.y);
  const cluster = Int32Array.from(map.cluster);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i]) || cluster[i] < -1 || cluster[i] >= map.clusters.length) throw new Error('The map is malformed.');
  }
  return { n, ids: map.ids.map(String), clusters: map.clusters.map(String), x, y, cluster, runId: String(map.runId ?? '') };
}

export async function render(main, signal) {
  let data;
  try {
    data = columns(await api.map(signal));
  } catch (error) {
    if (error.name === 'AbortError') return;
    replace(main, h('h1', {}, 'Map'), h('p', { class: 'error' }, error.status === 404
      ? 'There is no map yet: it is published with the next clustering run that has new images.'
      : error.message));
    return;
  }
  const { n, ids, clusters, x, y, cluster } = data;
  const clustered = cluster.reduce((sum, c) => sum + (c >= 0 ? 1 : 0), 0);

  // Points grouped by colour once: noise first (drawn underneath), then one bucket per palette colour.
  const buckets = [NOISE, ...PALETTE].map((colour) => ({ colour, points: [] }));
  for (let i = 0; i < n; i++) buckets[cluster[i] < 0 ? 0 : 1 + (cluster[i] % PALETTE.length)].points.push(i);

  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, x[i]); maxX = Math.max(maxX, x[i]);
    minY = Math.min(minY, y[i]); maxY = Math.max(maxY, y[i]);
  }
  if (n === 0) [minX, maxX, minY, maxY] = [-1, 1, -1, 1];

  const label = `Map of ${n} ${n === 1 ? 'image' : 'images'}, ${clustered} in ${clusters.length} clusters, coloured by cluster. `
    + 'Arrow keys pan, plus and minus zoom, 0 resets, Enter opens the image nearest the centre.';
  const canvas = h('canvas', { id: 'map', class: 'map', tabindex: 0, role: 'application', 'aria-label': label, 'aria-describedby': 'map-centre', 'data-points': n });
  const centre = h('p', { id: 'map-centre', class: 'hint', 'aria-live': 'polite' });
  const zoomIn = h('button', { type: 'button', id: 'map-zoom-in' }, '+', h('span', { class: 'visually-hidden' }, ' Zoom in'));
  const zoomOut = h('button', { type: 'button', id: 'map-zoom-out' }, '−', h('span', { class: 'visually-hidden' }, ' Zoom out'));
  const reset = h('button', { type: 'button', id: 'map-reset' }, 'Reset view');

  replace(main,
    h('h1', {}, 'Map'),
    h('p', {}, `Run ${data.runId}: ${n} images laid out so that similar images lie close together; `,
      `${clustered} in ${clusters.length} clusters (a colour each; colours repeat), the rest grey. `,
      'Images with no neighbour within the clustering radius lie on the outer ring. Click an image to open it.'),
    h('div', { class: 'map-tools', role: 'group', 'aria-label': 'Map view' }, zoomIn, zoomOut, reset),
    canvas,
    centre);

  // Marks of a few pixels for a collection, larger for a handful of images (which would otherwise be specks).
  const baseSize = Math.min(12, Math.max(2, 120 / Math.sqrt(Math.max(n, 1))));
  // The view: layout point (cx, cy) at the canvas centre, `scale` CSS pixels per layout unit.
  let width = 0;
  let cx = 0, cy = 0, scale = 1, fitScale = 1;
  const fit = () => {
    width = Math.max(canvas.clientWidth, 1);
    cx = (minX + maxX) / 2;
    cy = (minY + maxY) / 2;
    const margin = 2 * baseSize + 8;
    fitScale = Math.min((width - margin) / Math.max(maxX - minX, 1e-9), (HEIGHT - margin) / Math.max(maxY - minY, 1e-9));
    scale = fitScale;
  };
  const toScreen = (i) => [(x[i] - cx) * scale + width / 2, (y[i] - cy) * scale + HEIGHT / 2];

  /** The point nearest the canvas position (px, py) in CSS pixels, within `radius`, or −1. */
  const nearest = (px, py, radius) => {
    let best = -1, bestD = radius * radius;
    for (let i = 0; i < n; i++) {
      const [sx, sy] = toScreen(i);
      const d = (sx - px) ** 2 + (sy - py) ** 2;
      if (d <= bestD) { best = i; bestD = d; }
    }
    return best;
  };

  let focus = -1;
  let pending = false;
  let draws = 0;
  const draw = () => {
    const started = performance.now();
    pending = false;
    const ratio = window.devicePixelRatio || 1;
    width = Math.max(canvas.clientWidth, 1);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(HEIGHT * ratio);
    const context = canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = '#fff';
    context.fillRect(0, 0, width, HEIGHT);
    const size = Math.min(4 * baseSize, baseSize * Math.sqrt(Math.max(scale / fitScale, 1)));
    const half = size / 2;
    for (const bucket of buckets) {
      context.beginPath();
      for (const i of bucket.points) {
        const sx = (x[i] - cx) * scale + width / 2;
        const sy = (y[i] - cy) * scale + HEIGHT / 2;
        if (sx < -size || sy < -size || sx > width + size || sy > HEIGHT + size) continue;
        context.rect(sx - half, sy - half, size, size);
      }
      context.fillStyle = bucket.colour;
      context.fill();
    }
    if (focus >= 0) {
      const [sx, sy] = toScreen(focus);
      context.beginPath();
      context.arc(sx, sy, size + 5, 0, 2 * Math.PI);
      context.lineWidth = 2;
      context.strokeStyle = '#1b1b1b';
      context.stroke();
    }
    // What a frame costs, for the browser test at 100,000 points (read, never asserted: speed lives in make bench).
    canvas.dataset.draws = String(++draws);
    canvas.dataset.drawMs = (performance.now() - started).toFixed(1);
  };
  const redraw = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  const describe = (i) => `${ids[i]}${cluster[i] >= 0 ? `, cluster ${clusters[cluster[i]]}` : ', in no cluster'}`;
  /** After a keyboard move: ring and name the point nearest the centre, the one Enter opens. */
  const focusCentre = () => {
    focus = nearest(width / 2, HEIGHT / 2, Infinity);
    centre.textContent = focus >= 0 ? `Centre: ${describe(focus)}. Press Enter to open it.` : '';
    redraw();
  };
  const zoom = (factor, px = width / 2, py = HEIGHT / 2) => {
    const next = Math.min(fitScale * 4096, Math.max(fitScale / 4, scale * factor));
    // Keep the layout point under (px, py) where it is.
    cx += (px - width / 2) / scale - (px - width / 2) / next;
    cy += (py - HEIGHT / 2) / scale - (py - HEIGHT / 2) / next;
    scale = next;
    redraw();
  };
  const pan = (dx, dy) => {
    cx -= dx / scale;
    cy -= dy / scale;
    redraw();
  };
  const open = (i) => {
    if (i >= 0) location.hash = `#/images/${imageKey(ids[i])}`;
  };

  zoomIn.addEventListener('click', () => { zoom(1.5); focusCentre(); });
  zoomOut.addEventListener('click', () => { zoom(1 / 1.5); focusCentre(); });
  reset.addEventListener('click', () => { fit(); focus = -1; centre.textContent = ''; redraw(); });
  canvas.addEventListener('wheel', (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoom(Math.exp(-event.deltaY * 0.002), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false, signal });
  canvas.addEventListener('keydown', (event) => {
    const moves = { ArrowLeft: [PAN_STEP, 0], ArrowRight: [-PAN_STEP, 0], ArrowUp: [0, PAN_STEP], ArrowDown: [0, -PAN_STEP] };
    if (moves[event.key]) pan(...moves[event.key]);
    else if (event.key === '+' || event.key === '=') zoom(1.5);
    else if (event.key === '-' || event.key === '_') zoom(1 / 1.5);
    else if (event.key === '0') fit();
    else if (event.key === 'Enter') {
      if (focus < 0) focusCentre();
      else open(focus);
      event.preventDefault();
      return;
    } else return;
    event.preventDefault();
    focusCentre();
  }, { signal });

  // Drag pans; a press released where it began is a click on the nearest point.
  let drag = null;
  canvas.addEventListener('pointerdown', (event) => {
    drag = { id: event.pointerId, x: event.clientX, y: event.clientY, moved: false };
    canvas.setPointerCapture(event.pointerId);
  }, { signal });
  canvas.addEventListener('pointermove', (event) => {
    if (drag?.id !== event.pointerId) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (drag.moved || Math.abs(dx) + Math.abs(dy) > 4) {
      drag.moved = true;
      pan(dx, dy);
      drag.x = event.clientX;
      drag.y = event.clientY;
    }
  }, { signal });
  canvas.addEventListener('pointerup', (event) => {
    if (drag?.id !== event.pointerId) return;
    const clicked = !drag.moved;
    drag = null;
    if (clicked) {
      const box = canvas.getBoundingClientRect();
      open(nearest(event.clientX - box.left, event.clientY - box.top, PICK_RADIUS));
    }
  }, { signal });
  window.addEventListener('resize', redraw, { signal });

  fit();
  draw();
  canvas.dataset.drawn = 'true';
}

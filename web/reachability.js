// The reachability plot of one cluster, the picture OPTICS is read from (Ankerst et al., "OPTICS: Ordering Points To
// Identify the Clustering Structure", SIGMOD 1999, §4.3): one bar per member in cluster order, its height the
// reachability distance at which OPTICS reached it; a valley is a cluster. The radius the clusters were cut at (the
// DBSCAN eps, else the graph's max_eps) is drawn as a line. An undefined (infinite) reachability, the point where
// OPTICS entered the cluster from nothing, is a full-height bar of its own style.
// The page shows one cluster, so its one valley is the cluster already open: each bar is instead a link to its member's
// image page (focusable, named by its image and reachability), for the images nearest it in or out of the cluster.
import { s } from './dom.js';

const WIDTH = 720;
const HEIGHT = 200;
const PAD = 28;

export function plot(cluster) {
  const members = [...cluster.members].sort((a, b) => a.order - b.order);
  const finite = members.map((m) => m.reachability).filter((r) => typeof r === 'number' && Number.isFinite(r));
  const radius = typeof cluster.radius === 'number' && Number.isFinite(cluster.radius) ? cluster.radius : null;
  const top = Math.max(radius ?? 0, ...finite, 1e-6) * 1.1;
  const inner = HEIGHT - 2 * PAD;
  const y = (value) => PAD + inner - (value / top) * inner;
  const step = (WIDTH - 2 * PAD) / Math.max(members.length, 1);
  const bars = members.map((m, i) => {
    const undefinedReach = typeof m.reachability !== 'number';
    const value = undefinedReach ? top : m.reachability;
    const label = `${m.imageId}: reachability ${undefinedReach ? 'none, reached first' : m.reachability.toFixed(4)}`;
    const bar = s('rect', {
      class: undefinedReach ? 'bar undefined' : 'bar',
      x: (PAD + i * step + step * 0.1).toFixed(2),
      y: y(value).toFixed(2),
      width: Math.max(step * 0.8, 1).toFixed(2),
      height: Math.max(PAD + inner - y(value), 1).toFixed(2),
    }, s('title', {}, label));
    // The key is base64url ([A-Za-z0-9_-]); anything else, and the bar stays a plain bar.
    return typeof m.key === 'string' && /^[A-Za-z0-9_-]+$/.test(m.key)
      ? s('a', { href: `#/images/${m.key}`, class: 'bar-link', 'aria-label': `${label}. Open the image.` }, bar)
      : bar;
  });
  const axis = s('line', { class: 'axis', x1: PAD, y1: PAD + inner, x2: WIDTH - PAD, y2: PAD + inner });
  const parts = [axis, ...bars];
  if (radius !== null) {
    parts.push(s('line', { class: 'radius', x1: PAD, x2: WIDTH - PAD, y1: y(radius).toFixed(2), y2: y(radius).toFixed(2) }));
    parts.push(s('text', { class: 'radius-label', x: WIDTH - PAD, y: (y(radius) - 4).toFixed(2), 'text-anchor': 'end' }, `radius ${radius.toFixed(3)}`));
  }
  const description = `Reachability plot of cluster ${cluster.id}: ${members.length} bars in cluster order`
    + (radius === null ? '.' : `, radius ${radius.toFixed(3)} drawn as a line.`);
  // A group, not an image: an image's children are presentational, so its bar links would be interactive content
  // nested where assistive technology cannot reach them (axe: nested-interactive).
  return s('svg', { class: 'reachability', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'group', 'aria-label': description, width: WIDTH, height: HEIGHT },
    s('title', {}, description), ...parts);
}

// A cluster's change since the previous run (ClusterChanges in core/Motif.Core/Manifests), as a badge: the words say
// it, so it needs no colour to be understood.
import { h } from './dom.js';

function list(ids) {
  return ids.length <= 1 ? ids.join('') : `${ids.slice(0, -1).join(', ')} and ${ids[ids.length - 1]}`;
}

/** The badge's text: "new", "grown from 3", "merged from C2 and C7"…, or null for a first run. */
export function describe(change) {
  if (!change) return null;
  switch (change.kind) {
    case 'new': return 'new';
    case 'unchanged': return 'unchanged';
    case 'grown': return `grown from ${change.previousSize}`;
    case 'shrunk': return `shrunk from ${change.previousSize}`;
    case 'changed': return 'members changed';
    case 'merged': return `merged from ${list(change.from)}`;
    default: return String(change.kind);
  }
}

/** A badge for `change`, or null. */
export function badge(change) {
  const text = describe(change);
  return text ? h('span', { class: `change change-${change.kind}`, 'data-change': change.kind }, text) : null;
}

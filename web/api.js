// The HTTP API (functions/Motif.Functions/Api), the same under `motif serve`, `motif dev` and in Azure.

/** An API failure with the problem's one-line detail (RFC 9457), safe to show as text. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function problem(response) {
  let detail = `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (typeof body?.detail === 'string') detail = body.detail;
  } catch {
    // not a problem document: keep the status line
  }
  return new ApiError(response.status, detail);
}

async function getJson(path, signal) {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, signal });
  if (!response.ok) throw await problem(response);
  return response.json();
}

export const gallery = (signal) => getJson('/api/gallery', signal);

/** The latest run's map: parallel columns ids, x, y, cluster (index into clusters, −1 for none) (GET /api/map). */
export const map = (signal) => getJson('/api/map', signal);

/**
 * The latest run's whole reachability plot: parallel columns ids, reachability (null: reached first), cluster (index
 * into clusters, −1 for none), in OPTICS order, and the radius (GET /api/reachability).
 */
export const reachability = (signal) => getJson('/api/reachability', signal);

export const cluster = (id, signal) => getJson(`/api/clusters/${encodeURIComponent(id)}`, signal);

/** POST /api/search with the file's bytes as the body. */
export async function search(file, k, signal) {
  const response = await fetch(`/api/search?k=${encodeURIComponent(k)}`, {
    method: 'POST',
    headers: { 'Content-Type': file.type || 'application/octet-stream', Accept: 'application/json' },
    body: file,
    signal,
  });
  if (!response.ok) throw await problem(response);
  return response.json();
}

/** The IIIF Presentation 3 manifest of a cluster: the Functions API's (GET /api/iiif/…), in Azure and locally alike. */
export const iiifManifest = (id) => `/api/iiif/clusters/${encodeURIComponent(id)}/manifest.json`;

/** The IIIF Presentation 3 collection of every cluster: the URL a museum gives to a IIIF viewer. */
export const iiifCollection = '/api/iiif/collection.json';

/** An image by its key (base64url of its id, as the API hands it out). */
export const image = (key, signal) => getJson(`/api/images/${encodeURIComponent(key)}`, signal);

/** Its nearest images in the stored neighbour graph, nearest first. */
export const neighbours = (key, k, signal) => getJson(`/api/images/${encodeURIComponent(key)}/neighbours?k=${encodeURIComponent(k)}`, signal);

/**
 * GET /api/whoami: `{ annotator, source }`, the name an annotation made now would record (the signed-in principal, or
 * the local user offline); rejects with the API's 401 when there is none.
 */
export const whoami = (signal) => getJson('/api/whoami', signal);

/** The cluster's annotation history, oldest first, undos included (GET /api/annotations?cluster=ID). */
export const annotations = (clusterId, signal) => getJson(`/api/annotations?cluster=${encodeURIComponent(clusterId)}`, signal);

/**
 * POST /api/annotations: a verdict `{ cluster, label, images }` or an undo `{ undo }`. Answers the stored annotation,
 * whose `annotator` is the identity the server recorded (the signed-in principal, or the local user offline).
 */
export async function annotate(body, signal) {
  const response = await fetch('/api/annotations', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await problem(response);
  return response.json();
}

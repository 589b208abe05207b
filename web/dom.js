// Building the DOM from data that is hostile (image ids are uploaded file names): text only ever goes into text
// nodes, attributes go through setAttribute, and the few that could carry code or a URL are checked here. There is no
// innerHTML anywhere in the app, and the Content-Security-Policy forbids inline script and style besides.

const SVG = 'http://www.w3.org/2000/svg';
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);

/** A same-origin path ("/…", "#…") or null: the app never links anywhere a response could name. */
export function localUrl(value) {
  if (typeof value !== 'string') return null;
  if (value.startsWith('#')) return value;
  return value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : null;
}

/**
 * A link out of the app to a museum's page, or null: only an absolute http(s) URL without credentials (the API already
 * keeps no other, web/ checks again), so a `javascript:` or `data:` URL can never become a link. It opens with no
 * referrer and no opener, so the museum's page cannot reach back into the app.
 */
export function externalLink(value, ...children) {
  let url;
  try {
    url = new URL(String(value));
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return null;
  const link = h('a', { rel: 'noopener noreferrer external', class: 'external' }, ...children);
  link.setAttribute('href', url.href);
  return link;
}

function build(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    const lower = name.toLowerCase();
    if (lower.startsWith('on') || lower === 'style') throw new Error(`dom: attribute ${name} is not allowed`);
    if (URL_ATTRIBUTES.has(lower)) {
      const url = localUrl(String(value));
      if (url === null) continue;
      element.setAttribute(name, url);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element: h('a', { href: '#/' }, 'text', otherNode). */
export function h(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** An SVG element. */
export function s(tag, attributes, ...children) {
  return build(document.createElementNS(SVG, tag), attributes, children);
}

/** Replaces the children of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  build(parent, {}, children);
  return parent;
}

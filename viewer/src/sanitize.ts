import { looksLikeHtml } from './language.ts';

/**
 * Presentation 3 allows a small HTML subset in metadata, summary and requiredStatement values.
 * Parsed in an inert document and rebuilt element by element: only the allowed tags survive,
 * only http(s) hrefs on links, and no other attribute at all.
 */
const ALLOWED = new Set(['A', 'B', 'BR', 'I', 'P', 'SMALL', 'SPAN', 'SUB', 'SUP']);
const DROP_WITH_CONTENT = new Set(['SCRIPT', 'STYLE', 'TEMPLATE', 'IFRAME', 'OBJECT', 'EMBED', 'NOSCRIPT', 'TITLE', 'SVG', 'MATH']);

function copyChildren(from: Node, to: Node): void {
  for (const child of Array.from(from.childNodes)) {
    if (child.nodeType === Node.TEXT_NODE) {
      to.appendChild(document.createTextNode(child.textContent ?? ''));
      continue;
    }
    if (!(child instanceof Element)) continue;
    const tag = child.tagName.toUpperCase();
    if (DROP_WITH_CONTENT.has(tag)) continue;
    if (!ALLOWED.has(tag)) {
      copyChildren(child, to);
      continue;
    }
    const el = document.createElement(tag.toLowerCase());
    if (tag === 'A') {
      const href = child.getAttribute('href') ?? '';
      if (/^https?:\/\//i.test(href.trim())) {
        el.setAttribute('href', href.trim());
        el.setAttribute('rel', 'noopener noreferrer');
      }
    }
    copyChildren(child, el);
    to.appendChild(el);
  }
}

export function sanitizedHtml(html: string): DocumentFragment {
  const parsed = new DOMParser().parseFromString(`<!doctype html><body>${html}`, 'text/html');
  const fragment = document.createDocumentFragment();
  copyChildren(parsed.body, fragment);
  return fragment;
}

/** A metadata value as DOM: sanitized HTML when it is HTML by the spec's rule, else text. */
export function richValue(value: string): Node {
  return looksLikeHtml(value) ? sanitizedHtml(value.trim()) : document.createTextNode(value);
}

import { h } from './dom.ts';
import { pickText, t, type Lang } from './language.ts';
import type { ViewerCanvas } from './manifest.ts';
import { setLabel } from './ui.ts';

/**
 * The page rail (a strip on phones): one button per canvas, lazy images, a numbered
 * placeholder where a page has no thumbnail or it fails to load. Runs right to left for
 * right-to-left books.
 */
export function buildThumbnails(
  nav: HTMLElement,
  canvases: readonly ViewerCanvas[],
  lang: Lang,
  rightToLeft: boolean,
  onPick: (index: number) => void,
): void {
  const list = h('ol', { class: 'tv-thumb-list' });
  if (rightToLeft) nav.setAttribute('dir', 'rtl');
  for (const canvas of canvases) {
    const n = canvas.index + 1;
    const b = h('button', { type: 'button', class: 'tv-thumb', 'data-page': n });
    setLabel(b, pickText(canvas.label, lang) || t(lang, 'thumbnail', { page: n }));
    const ratio = canvas.width && canvas.height ? canvas.height / canvas.width : 1.4;
    const frame = h('span', { class: 'tv-thumb-frame' });
    // Through the CSSOM, not a style attribute: the page's CSP allows no inline style.
    frame.style.aspectRatio = `1 / ${Math.min(2, Math.max(0.5, ratio)).toFixed(3)}`;
    // A restricted page's thumbnail waits for the reader to be let in: before that it is a 401.
    if (canvas.thumbnail && canvas.service?.probe) frame.dataset.thumb = canvas.thumbnail;
    else if (canvas.thumbnail) frame.append(thumbImage(canvas.thumbnail));
    frame.append(h('span', { class: 'tv-thumb-placeholder', 'aria-hidden': 'true' }, String(n)));
    b.append(frame, h('span', { class: 'tv-thumb-num', 'aria-hidden': 'true' }, String(n)));
    b.addEventListener('click', () => onPick(canvas.index));
    list.append(h('li', {}, b));
  }
  nav.replaceChildren(list);
}

function thumbImage(src: string): HTMLImageElement {
  const img = h('img', { src, alt: '', loading: 'lazy', decoding: 'async' });
  img.addEventListener('error', () => img.remove(), { once: true });
  return img;
}

/** Loads the thumbnails held back for restricted pages, once a sign-in has let the reader in. */
export function unlockThumbnails(nav: HTMLElement): void {
  for (const frame of Array.from(nav.querySelectorAll<HTMLElement>('[data-thumb]'))) {
    const src = frame.dataset.thumb;
    delete frame.dataset.thumb;
    if (src) frame.prepend(thumbImage(src));
  }
}

/** Marks the shown pages and scrolls the rail (not the window, as scrollIntoView would) to the first. */
export function markThumbnails(nav: HTMLElement, pages: readonly number[]): void {
  for (const b of Array.from(nav.querySelectorAll<HTMLElement>('button[data-page]'))) {
    const index = Number(b.dataset.page) - 1;
    if (!pages.includes(index)) {
      b.removeAttribute('aria-current');
      continue;
    }
    b.setAttribute('aria-current', 'page');
    if (index !== pages[0]) continue;
    const r = b.getBoundingClientRect();
    const box = nav.getBoundingClientRect();
    if (r.top < box.top) nav.scrollTop -= box.top - r.top + 8;
    else if (r.bottom > box.bottom) nav.scrollTop += r.bottom - box.bottom + 8;
    if (r.left < box.left) nav.scrollLeft -= box.left - r.left + 8;
    else if (r.right > box.right) nav.scrollLeft += r.right - box.right + 8;
  }
}

import { h } from './dom.ts';
import { pickText, pickValues, t, type Lang, type LanguageMap } from './language.ts';
import type { ViewerManifest } from './manifest.ts';
import { richValue } from './sanitize.ts';
import type { SearchHit } from './search.ts';

/** Contents of the four side panels. Server strings go in as text or sanitized HTML, never innerHTML. */

function values(map: LanguageMap, lang: Lang): Node {
  const frag = document.createDocumentFragment();
  pickValues(map, lang).forEach((v, i) => {
    if (i > 0) frag.append('; ');
    frag.append(richValue(v));
  });
  return frag;
}

function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href, rel: 'noopener' }, text);
}

/**
 * The table of contents: one button per entry, which opens the entry's first page. Placed
 * first in the record panel, where a reader looks for what the book holds.
 */
function contentsList(manifest: ViewerManifest, lang: Lang, goTo: (index: number) => void): HTMLElement | undefined {
  if (manifest.contents.length === 0) return undefined;
  const list = h('ol', { class: 'tv-contents-list' });
  for (const entry of manifest.contents) {
    const label = pickText(entry.label, lang) || t(lang, 'untitled');
    const pageLabel = pickText(manifest.canvases[entry.canvas]?.label ?? {}, lang) || String(entry.canvas + 1);
    const button = h(
      'button',
      { type: 'button', class: 'tv-contents-entry', 'data-canvas': String(entry.canvas + 1), 'aria-label': t(lang, 'contentsEntry').replace('{label}', label).replace('{page}', pageLabel) },
      h('span', { class: 'tv-contents-label' }, label),
      h('span', { class: 'tv-contents-page' }, pageLabel),
    );
    button.addEventListener('click', () => goTo(entry.canvas));
    list.append(h('li', {}, button));
  }
  return h('nav', { class: 'tv-contents', 'data-role': 'contents', 'aria-label': t(lang, 'contents') }, h('h3', { class: 'tv-meta-title' }, t(lang, 'contents')), list);
}

export function renderInfo(body: HTMLElement, manifest: ViewerManifest, lang: Lang, manifestUrl: string, goTo: (index: number) => void = () => {}): void {
  const box = h('div', { class: 'tv-meta', 'data-role': 'metadata' });
  const contents = contentsList(manifest, lang, goTo);
  if (contents) box.append(contents);
  box.append(h('h3', { class: 'tv-meta-title' }, pickText(manifest.label, lang) || t(lang, 'untitled')));
  if (manifest.summary) box.append(h('div', { class: 'tv-meta-summary' }, values(manifest.summary, lang)));
  if (manifest.metadata.length) {
    const dl = h('dl', { class: 'tv-meta-list' });
    for (const pair of manifest.metadata) dl.append(h('dt', {}, pickText(pair.label, lang)), h('dd', {}, values(pair.value, lang)));
    box.append(dl);
  }
  const facts = h('dl', { class: 'tv-meta-list tv-meta-list--facts' });
  if (manifest.requiredStatement) {
    facts.append(
      h('dt', {}, pickText(manifest.requiredStatement.label, lang)),
      h('dd', { 'data-role': 'required-statement' }, values(manifest.requiredStatement.value, lang)),
    );
  }
  if (manifest.rights) facts.append(h('dt', {}, t(lang, 'rights')), h('dd', {}, link(manifest.rights, manifest.rights)));
  for (const agent of manifest.provider) {
    const dd = h('dd', {});
    const name = pickText(agent.label, lang);
    const home = agent.homepage[0];
    dd.append(home ? link(home.id, name || home.id) : name);
    facts.append(h('dt', {}, t(lang, 'provider')), dd);
  }
  for (const page of manifest.homepage) {
    facts.append(h('dt', {}, t(lang, 'homepage')), h('dd', {}, link(page.id, pickText(page.label, lang) || page.id)));
  }
  facts.append(h('dt', {}, t(lang, 'manifestLink')), h('dd', {}, link(manifestUrl, manifestUrl)));
  box.append(facts);
  body.replaceChildren(box);
}

export interface Filters {
  brightness: number;
  contrast: number;
  invert: boolean;
  grayscale: boolean;
}

export const NO_FILTERS: Filters = { brightness: 100, contrast: 100, invert: false, grayscale: false };

export function filterCss(f: Filters): string {
  const parts: string[] = [];
  if (f.brightness !== 100) parts.push(`brightness(${f.brightness}%)`);
  if (f.contrast !== 100) parts.push(`contrast(${f.contrast}%)`);
  if (f.grayscale) parts.push('grayscale(1)');
  if (f.invert) parts.push('invert(1)');
  return parts.join(' ');
}

export function buildFilters(body: HTMLElement, lang: Lang, onChange: (f: Filters) => void): void {
  const id = (name: string): string => `tv-filter-${name}`;
  const range = (name: 'brightness' | 'contrast'): HTMLInputElement =>
    h('input', { type: 'range', id: id(name), 'data-filter': name, min: 30, max: 250, step: 5, value: 100 });
  const check = (name: 'invert' | 'grayscale'): HTMLInputElement => h('input', { type: 'checkbox', id: id(name), 'data-filter': name });
  const brightness = range('brightness');
  const contrast = range('contrast');
  const invert = check('invert');
  const grayscale = check('grayscale');
  const brightnessOut = h('output', { for: id('brightness') }, '100%');
  const contrastOut = h('output', { for: id('contrast') }, '100%');
  const reset = h('button', { type: 'button', class: 'tv-textbtn', 'data-action': 'reset-filters' }, t(lang, 'resetFilters'));
  const read = (): Filters => ({
    brightness: Number(brightness.value),
    contrast: Number(contrast.value),
    invert: invert.checked,
    grayscale: grayscale.checked,
  });
  const changed = (): void => {
    brightnessOut.textContent = `${brightness.value}%`;
    contrastOut.textContent = `${contrast.value}%`;
    onChange(read());
  };
  for (const input of [brightness, contrast, invert, grayscale]) input.addEventListener('input', changed);
  reset.addEventListener('click', () => {
    brightness.value = '100';
    contrast.value = '100';
    invert.checked = false;
    grayscale.checked = false;
    changed();
  });
  body.replaceChildren(
    h('div', { class: 'tv-field' }, h('label', { for: id('brightness') }, t(lang, 'brightness')), brightnessOut, brightness),
    h('div', { class: 'tv-field' }, h('label', { for: id('contrast') }, t(lang, 'contrast')), contrastOut, contrast),
    h('div', { class: 'tv-check' }, invert, h('label', { for: id('invert') }, t(lang, 'invert'))),
    h('div', { class: 'tv-check' }, grayscale, h('label', { for: id('grayscale') }, t(lang, 'grayscale'))),
    h('p', { class: 'tv-hint' }, t(lang, 'filtersHint')),
    reset,
  );
}

export interface SharePanel {
  update(shareUrl: string, contentStateUrl: string): void;
}

export function buildShare(body: HTMLElement, lang: Lang): SharePanel {
  const row = (role: string, label: string): { box: HTMLElement; input: HTMLInputElement } => {
    const id = `tv-${role}`;
    const input = h('input', { id, type: 'text', readonly: true, 'data-role': role, spellcheck: 'false' });
    const copy = h('button', { type: 'button', class: 'tv-textbtn', 'data-action': 'copy-share', 'data-target': role }, t(lang, 'copy'));
    input.addEventListener('focus', () => input.select());
    copy.addEventListener('click', () => {
      input.select();
      const done = (): void => {
        copy.textContent = t(lang, 'copied');
        window.setTimeout(() => (copy.textContent = t(lang, 'copy')), 1600);
      };
      // The Clipboard API needs a secure context; execCommand is the fallback on plain http.
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(input.value).then(done, () => undefined);
      else if (document.execCommand('copy')) done();
    });
    return { box: h('div', { class: 'tv-field' }, h('label', { for: id }, label), h('div', { class: 'tv-copyrow' }, input, copy)), input };
  };
  const url = row('share-url', t(lang, 'shareUrl'));
  const cs = row('share-content-state', t(lang, 'shareContentState'));
  body.replaceChildren(url.box, cs.box);
  return {
    update(shareUrl, contentStateUrl) {
      url.input.value = shareUrl;
      cs.input.value = contentStateUrl;
    },
  };
}

export interface SearchPanel {
  input: HTMLInputElement;
  setBusy(): void;
  setFailed(): void;
  showHits(hits: SearchHit[], pageOf: (hit: SearchHit) => number, total: number | undefined, more: boolean, append: boolean): void;
}

export function buildSearch(
  body: HTMLElement,
  lang: Lang,
  on: { search(q: string): void; more(): void; open(hit: SearchHit): void },
): SearchPanel {
  const input = h('input', { id: 'tv-search-q', type: 'search', name: 'q', autocomplete: 'off', enterkeyhint: 'search', required: true });
  const form = h(
    'form',
    { class: 'tv-search-form', 'data-role': 'search-form', role: 'search' },
    h('label', { for: 'tv-search-q' }, t(lang, 'searchFor')),
    h('div', { class: 'tv-copyrow' }, input, h('button', { type: 'submit', class: 'tv-textbtn tv-textbtn--primary' }, t(lang, 'searchSubmit'))),
  );
  const count = h('p', { class: 'tv-search-count', 'data-role': 'search-count', 'aria-live': 'polite' });
  const list = h('ol', { class: 'tv-search-results', 'data-role': 'search-results' });
  const more = h('button', { type: 'button', class: 'tv-textbtn', 'data-action': 'search-more', hidden: true }, t(lang, 'searchMore'));
  let shown = 0;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) on.search(q);
  });
  more.addEventListener('click', () => on.more());
  body.replaceChildren(form, count, list, more);
  return {
    input,
    setBusy() {
      count.textContent = t(lang, 'searching');
    },
    setFailed() {
      count.textContent = t(lang, 'search-failed');
      more.hidden = true;
    },
    showHits(hits, pageOf, total, hasMore, append) {
      if (!append) {
        list.replaceChildren();
        shown = 0;
      }
      for (const hit of hits) {
        const page = pageOf(hit);
        const b = h(
          'button',
          { type: 'button', class: 'tv-hit-button', 'data-page': page, 'data-hit': hit.id },
          h('span', { class: 'tv-hit-page' }, t(lang, 'hitPage', { page })),
          h('span', { class: 'tv-hit-snippet' }, hit.before, h('mark', {}, hit.match), hit.after),
        );
        b.addEventListener('click', () => on.open(hit));
        list.append(h('li', {}, b));
      }
      shown += hits.length;
      const n = total ?? shown;
      count.textContent = n === 0 ? t(lang, 'searchNone') : t(lang, hasMore && total === undefined ? 'searchCountMore' : 'searchCount', { count: n });
      more.hidden = !hasMore;
    },
  };
}

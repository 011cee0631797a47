import { h, icon, type IconName } from './dom.ts';
import { t, type Lang, type StringKey } from './language.ts';

/**
 * The viewer's static DOM: toolbar, stage, thumbnails, panels. Built once; main.ts fills and
 * wires it. Attribute names here are the contract the Chromium tests rely on.
 */

export type PanelName = 'filters' | 'info' | 'share' | 'search';

export interface Ui {
  root: HTMLElement;
  toolbar: HTMLElement;
  buttons: Record<ButtonAction, HTMLButtonElement>;
  download: HTMLAnchorElement;
  /** IIIF Auth logout: shown while the viewer holds a token from a service that has a logout service. */
  logout: HTMLButtonElement;
  langSwitch: HTMLAnchorElement | undefined;
  pageInput: HTMLInputElement;
  pageCount: HTMLElement;
  thumbnails: HTMLElement;
  stage: HTMLElement;
  osd: HTMLElement;
  loading: HTMLElement;
  pageLoading: HTMLElement;
  message: HTMLElement;
  notices: HTMLElement;
  live: HTMLElement;
  panels: Record<PanelName, HTMLElement>;
  panelBodies: Record<PanelName, HTMLElement>;
}

export type ButtonAction =
  | 'prev'
  | 'next'
  | 'zoom-in'
  | 'zoom-out'
  | 'home'
  | 'rotate-left'
  | 'rotate-right'
  | 'fullscreen'
  | 'spread'
  | 'filters'
  | 'info'
  | 'share'
  | 'search'
  | 'more';

const BUTTONS: Record<ButtonAction, [StringKey, IconName]> = {
  prev: ['prev', 'prev'],
  next: ['next', 'next'],
  'zoom-out': ['zoomOut', 'zoomOut'],
  'zoom-in': ['zoomIn', 'zoomIn'],
  home: ['home', 'home'],
  'rotate-left': ['rotateLeft', 'rotateLeft'],
  'rotate-right': ['rotateRight', 'rotateRight'],
  spread: ['spread', 'spread'],
  fullscreen: ['fullscreen', 'fullscreen'],
  filters: ['filters', 'filters'],
  info: ['info', 'info'],
  search: ['search', 'search'],
  share: ['share', 'share'],
  more: ['more', 'more'],
};

export function setLabel(el: HTMLElement, label: string): void {
  el.setAttribute('aria-label', label);
  el.title = label;
}

function button(lang: Lang, action: ButtonAction): HTMLButtonElement {
  const [key, name] = BUTTONS[action];
  const b = h('button', { type: 'button', class: `tv-btn tv-btn--${action}`, 'data-action': action });
  setLabel(b, t(lang, key));
  b.append(icon(name));
  return b;
}

export function buildUi(root: HTMLElement, lang: Lang, options: { langSwitch: boolean }): Ui {
  const buttons = {} as Record<ButtonAction, HTMLButtonElement>;
  for (const action of Object.keys(BUTTONS) as ButtonAction[]) buttons[action] = button(lang, action);
  for (const action of ['spread', 'filters', 'info', 'share', 'search', 'fullscreen'] as const) {
    buttons[action].setAttribute('aria-pressed', 'false');
  }
  buttons.search.hidden = true;
  buttons.spread.hidden = true;
  buttons.more.setAttribute('aria-expanded', 'false');

  const download = h('a', { class: 'tv-btn tv-btn--download', 'data-action': 'download', download: '', hidden: true });
  setLabel(download, t(lang, 'download'));
  download.append(icon('download'));

  const logout = h('button', { type: 'button', class: 'tv-btn tv-btn--logout', 'data-action': 'logout', hidden: true });
  setLabel(logout, t(lang, 'logout'));
  logout.append(icon('logout'));

  let langSwitch: HTMLAnchorElement | undefined;
  if (options.langSwitch) {
    const other: Lang = lang === 'vi' ? 'en' : 'vi';
    langSwitch = h('a', { class: 'tv-btn tv-btn--lang', 'data-lang-switch': other, href: `?lang=${other}`, hreflang: other, lang: other });
    langSwitch.append(icon('lang'), h('span', { class: 'tv-btn-text' }, other.toUpperCase()));
    setLabel(langSwitch, t(other, 'langSwitch'));
  }

  const pageInputId = `tv-page-${Math.random().toString(36).slice(2, 8)}`;
  const pageInput = h('input', {
    id: pageInputId,
    class: 'tv-page-input',
    'data-role': 'page-input',
    type: 'text',
    inputmode: 'numeric',
    autocomplete: 'off',
    enterkeyhint: 'go',
    size: 4,
    value: '1',
  });
  const pageCount = h('span', { class: 'tv-page-count', 'data-role': 'page-count' }, '');
  const pager = h(
    'div',
    { class: 'tv-group tv-group--pager' },
    buttons.prev,
    h('label', { class: 'tv-page-label', for: pageInputId }, h('span', { class: 'tv-sr' }, t(lang, 'page')), pageInput),
    pageCount,
    buttons.next,
  );
  const zoom = h('div', { class: 'tv-group tv-group--zoom' }, buttons['zoom-out'], buttons['zoom-in'], buttons.home);
  const secondary = h(
    'div',
    { class: 'tv-group tv-group--secondary', 'data-role': 'secondary-tools' },
    buttons['rotate-left'],
    buttons['rotate-right'],
    buttons.spread,
    buttons.filters,
    buttons.share,
    download,
    logout,
    langSwitch,
  );
  const primary = h('div', { class: 'tv-group tv-group--tools' }, buttons.search, buttons.info, buttons.fullscreen, buttons.more);
  const toolbar = h('div', { class: 'tv-toolbar', role: 'toolbar', 'aria-label': t(lang, 'toolbar') }, pager, zoom, secondary, primary);

  const thumbnails = h('nav', { class: 'tv-thumbs', 'data-role': 'thumbnails', 'aria-label': t(lang, 'thumbnails') });
  const osd = h('div', { class: 'tv-osd', 'data-role': 'osd' });
  const loading = h(
    'div',
    { class: 'tv-loading', 'data-role': 'loading' },
    h('span', { class: 'tv-spinner', 'aria-hidden': 'true' }),
    h('span', {}, t(lang, 'loading')),
  );
  const pageLoading = h('div', { class: 'tv-pageload', 'data-role': 'page-loading', hidden: true, 'aria-hidden': 'true' });
  const message = h('div', { class: 'tv-message', 'data-role': 'message', hidden: true });
  const notices = h('div', { class: 'tv-notices' });
  const stage = h('div', { class: 'tv-stage' }, osd, pageLoading, loading, message, notices);

  const panels = {} as Record<PanelName, HTMLElement>;
  const panelBodies = {} as Record<PanelName, HTMLElement>;
  const titles: Record<PanelName, StringKey> = { filters: 'filters', info: 'info', share: 'share', search: 'search' };
  const panelWrap = h('div', { class: 'tv-panels' });
  for (const name of Object.keys(titles) as PanelName[]) {
    const headingId = `tv-panel-${name}-${pageInputId}`;
    const close = h('button', { type: 'button', class: 'tv-btn tv-panel-close', 'data-action': 'close-panel' });
    setLabel(close, t(lang, 'close'));
    close.append(icon('close'));
    const body = h('div', { class: 'tv-panel-body' });
    const panel = h(
      'section',
      { class: `tv-panel tv-panel--${name}`, 'data-panel': name, hidden: true, 'aria-labelledby': headingId, tabindex: -1 },
      h('header', { class: 'tv-panel-head' }, h('h2', { id: headingId }, t(lang, titles[name])), close),
      body,
    );
    panels[name] = panel;
    panelBodies[name] = body;
    panelWrap.append(panel);
  }

  const live = h('div', { class: 'tv-sr', 'aria-live': 'polite', 'aria-atomic': 'true', 'data-role': 'live' });
  const body = h('div', { class: 'tv-body' }, thumbnails, stage, panelWrap);
  root.replaceChildren(toolbar, body, live);
  root.classList.add('tv-root');
  root.setAttribute('role', 'region');
  root.setAttribute('aria-label', t(lang, 'viewer'));
  return {
    root,
    toolbar,
    buttons,
    download,
    logout,
    langSwitch,
    pageInput,
    pageCount,
    thumbnails,
    stage,
    osd,
    loading,
    pageLoading,
    message,
    notices,
    live,
    panels,
    panelBodies,
  };
}

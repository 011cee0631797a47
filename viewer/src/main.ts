import './viewer.css';
import { AuthClient, probeServiceOf, type AccessService, type ProbeResult, type ProbeService } from './auth.ts';
import { AuthPrompt } from './auth-ui.ts';
import { readContentStateParam, parseContentState, encodeShareAnnotation, type ContentState } from './content-state.ts';
import { bindKeys, bindSwipe, type ViewerActions } from './controls.ts';
import { h } from './dom.ts';
import { InfoCache, InfoRefused } from './info-cache.ts';
import { isLang, pickText, t, type Lang, type StringKey } from './language.ts';
import {
  canvasIndexById,
  imageRendering,
  isObject,
  type ImageServiceRef,
  parseManifest,
  type ViewerCanvas,
  type ViewerErrorCode,
  type ViewerManifest,
} from './manifest.ts';
import { OsdView, type ViewItem } from './osd-view.ts';
import { buildFilters, buildSearch, buildShare, filterCss, renderInfo, type SearchPanel, type SharePanel } from './panels.ts';
import { clampRegion, type Region } from './region.ts';
import { parseSearchPage, searchUrl, type SearchHit } from './search.ts';
import { canvasToWorld, groupCanvases, groupOfCanvas, layoutGroup, placementAt, worldToCanvas, type Groups, type Placement } from './spread.ts';
import { buildThumbnails, markThumbnails, unlockThumbnails } from './thumbnails.ts';
import { buildUi, setLabel, type PanelName, type Ui } from './ui.ts';
import { queryString, readUrlState, resolvePage, withLang, writeUrlState, type UrlState } from './url-state.ts';

/**
 * The reading room: finds `#thukho-viewer`, loads the manifest named by its data attributes
 * or the URL, and runs the page-turning viewer. State that a reader can share (page, region,
 * spread) is kept in the address bar with replaceState.
 */

interface ThukhoViewerApi {
  goToPage(n: number): void;
  state(): {
    page: number;
    pageCount: number;
    spread: boolean;
    zoom: number;
    rotation: number;
    bounds: Region | null;
    /** The pages on screen (1-based) and their left edges in world units. */
    shown: Array<{ page: number; x: number }>;
  };
}

declare global {
  interface Window {
    thukhoViewer?: ThukhoViewerApi;
  }
}

type Fatal = { code: ViewerErrorCode; status?: number };

/** A probe said no, and no access service can change that (withdrawn, or no way in offered). */
class AccessRefused extends Error {
  constructor(
    readonly result: ProbeResult,
    readonly probe: ProbeService,
  ) {
    super(`access refused: ${result.status}`);
  }
}

type Settled<T> = { value: T } | { error: unknown };
const settle = <T,>(p: Promise<T>): Promise<Settled<T>> => p.then((value) => ({ value }), (error: unknown) => ({ error }));

// No quotes or colons (a profile="…" parameter): the header must stay CORS-safelisted, or every
// request to another IIIF server would need a preflight that many of them do not answer.
const ACCEPT = 'application/ld+json, application/json;q=0.9, */*;q=0.1';
const PAGE_NOTICES: ViewerErrorCode[] = ['page-no-service', 'image-service-failed', 'tiles-failed'];

class ReadingRoom {
  private readonly ui: Ui;
  private osd!: OsdView;
  private manifest!: ViewerManifest;
  private manifestUrl = '';
  private groups: Groups = [];
  private group = 0;
  private placements: Placement[] = [];
  private spread = false;
  private spreadExplicit: boolean;
  private readonly infos = new InfoCache();
  private readonly auth = new AuthClient();
  private prompt!: AuthPrompt;
  /** The access service whose logout the toolbar offers. */
  private logoutService: AccessService | undefined;
  private nav: AbortController | undefined;
  private navToken = 0;
  private opened = false;
  private firstTileMarked = false;
  private openPanel: PanelName | undefined;
  private share!: SharePanel;
  private search: SearchPanel | undefined;
  private hits: SearchHit[] = [];
  private currentHit: string | undefined;
  private searchNext: string | undefined;
  private searchTotal: number | undefined;
  private readonly standalone: boolean;

  constructor(
    private readonly root: HTMLElement,
    private readonly lang: Lang,
    private readonly url: UrlState,
  ) {
    this.standalone = !root.dataset.objectId;
    this.spreadExplicit = url.spread !== undefined;
    this.ui = buildUi(root, lang, { langSwitch: this.standalone });
    this.setState('loading');
    this.fitHeight();
  }

  // ---------------------------------------------------------------------------------------
  // Boot

  async start(): Promise<void> {
    let state: ContentState | undefined;
    let manifestJson: unknown;
    let manifestUrl = this.root.dataset.manifest || this.url.manifest || '';
    if (this.url.content) {
      const read = await this.readContentState(this.url.content);
      if (read && 'manifest' in read) {
        manifestJson = read.manifest;
        manifestUrl = read.url;
      } else if (read) {
        state = read;
        manifestUrl = read.manifestId;
      } else if (!manifestUrl) {
        return this.fail({ code: 'content-state-invalid' });
      } else {
        this.notice('content-state-invalid', t(this.lang, 'content-state-invalid'));
      }
    }
    if (!manifestUrl && manifestJson === undefined) return this.fail({ code: 'no-manifest' });
    this.manifestUrl = manifestUrl;

    if (manifestJson === undefined) {
      const loaded = await this.fetchManifest(manifestUrl);
      if ('code' in loaded) return this.fail(loaded);
      manifestJson = loaded.json;
    }
    const parsed = parseManifest(manifestJson);
    if (!parsed.ok) return this.fail(parsed.error);
    this.manifest = parsed.manifest;
    this.setup();

    let start = 0;
    let region: Region | undefined;
    const count = this.manifest.canvases.length;
    const fromState = state?.canvasId ? canvasIndexById(this.manifest, state.canvasId) : -1;
    if (fromState >= 0) {
      start = fromState;
      region = state?.xywh;
    } else {
      // A share link to a page this manifest no longer has: say so, then open as usual.
      if (state?.canvasId) this.notice('content-state-invalid', t(this.lang, 'content-state-invalid'));
      const choice = resolvePage(this.url.page, count);
      start = choice.index;
      if (choice.outOfRange) this.notice('page-out-of-range', t(this.lang, 'page-out-of-range', { page: choice.raw, count }));
      else region = this.url.xywh;
    }
    this.goTo(start, region);
  }

  /** The content state's manifest and target, a manifest itself (a URL may name one), or undefined. */
  private async readContentState(param: string): Promise<ContentState | { manifest: unknown; url: string } | undefined> {
    const input = readContentStateParam(param);
    if (input.kind === 'invalid') return undefined;
    let json = input.kind === 'json' ? input.value : undefined;
    if (input.kind === 'url') {
      const loaded = await this.fetchManifest(input.url);
      if ('code' in loaded) return undefined;
      json = loaded.json;
      if (isObject(json) && (json.type === 'Manifest' || json['@type'] === 'sc:Manifest')) return { manifest: json, url: input.url };
    }
    return parseContentState(json);
  }

  private async fetchManifest(url: string): Promise<{ json: unknown } | Fatal> {
    let response: Response;
    try {
      response = await fetch(url, { headers: { Accept: ACCEPT } });
    } catch {
      return { code: 'manifest-network' };
    }
    if (!response.ok) return { code: 'manifest-http', status: response.status };
    let text: string;
    try {
      text = await response.text();
    } catch {
      return { code: 'manifest-network' };
    }
    try {
      return { json: JSON.parse(text) as unknown };
    } catch {
      return { code: 'manifest-not-json' };
    }
  }

  private setup(): void {
    const { ui, manifest, lang } = this;
    const count = manifest.canvases.length;
    this.root.dataset.pageCount = String(count);
    this.root.dataset.direction = manifest.viewingDirection === 'right-to-left' ? 'right-to-left' : 'left-to-right';
    ui.pageCount.textContent = t(lang, 'pageCount', { count });
    ui.pageInput.setAttribute('aria-describedby', 'tv-page-count');
    ui.pageCount.id = 'tv-page-count';

    const paged = manifest.behavior.includes('paged');
    this.spread = count >= 2 && (this.url.spread ?? (paged && this.root.clientWidth >= 900));
    ui.buttons.spread.hidden = count < 2;
    this.groups = groupCanvases(manifest.canvases, this.spread);

    // Before OpenSeadragon measures its container: a single page hides the thumbnail rail.
    buildThumbnails(ui.thumbnails, manifest.canvases, lang, manifest.viewingDirection === 'right-to-left', (i) => this.goTo(i));
    if (count < 2) this.root.classList.add('tv-single');
    this.osd = new OsdView(ui.osd, {
      onFirstTile: () => this.firstTile(),
      onTilesFailed: () => this.tilesFailed(),
      onViewChange: () => this.viewChanged(),
      onOpen: () => this.openDone(),
      onOpenFailed: () => {
        this.notice('image-service-failed', t(this.lang, 'image-service-failed'));
        this.openDone();
      },
    });

    this.prompt = new AuthPrompt(ui.stage, this.root, lang, () => {
      // The prompt stands in for the view: nothing of another page shows through behind it.
      // Before the first page has opened, the viewer is no longer loading: its tools (pages,
      // the record) work while the reader decides whether to sign in.
      if (!this.opened) this.setState('auth');
      this.osd.close();
      this.placements = [];
      this.ui.pageLoading.hidden = true;
    });

    renderInfo(ui.panelBodies.info, manifest, lang, new URL(this.manifestUrl || manifest.id, location.href).toString(), (i) => this.goTo(i));
    buildFilters(ui.panelBodies.filters, lang, (f) => this.osd.setFilter(filterCss(f)));
    this.share = buildShare(ui.panelBodies.share, lang);
    if (manifest.searchService) {
      ui.buttons.search.hidden = false;
      this.search = buildSearch(ui.panelBodies.search, lang, {
        search: (q) => void this.runSearch(q, false),
        more: () => void this.runSearch('', true),
        open: (hit) => this.openHit(hit),
      });
    }
    const title = pickText(manifest.label, lang);
    if (title) this.root.setAttribute('aria-label', `${t(lang, 'viewer')}: ${title}`);
    this.wire();
    this.setSpreadAttr();
    ui.loading.hidden = true;

    window.thukhoViewer = {
      goToPage: (n: number) => {
        if (Number.isInteger(n) && n >= 1 && n <= count) this.goTo(n - 1);
      },
      state: () => {
        const view = this.currentView();
        return {
          page: this.firstPage() + 1,
          pageCount: count,
          spread: this.spread,
          zoom: this.osd.zoom(),
          rotation: this.osd.rotation(),
          bounds: view ? view.region : null,
          shown: this.placements.map((p) => ({ page: p.index + 1, x: p.x })),
        };
      },
    };
  }

  // ---------------------------------------------------------------------------------------
  // States, messages, notices

  /** `auth`: the first view waits for the reader to sign in (the IIIF Auth prompt is up). */
  private setState(state: 'loading' | 'ready' | 'error' | 'auth'): void {
    this.root.dataset.state = state;
    this.root.setAttribute('aria-busy', state === 'loading' ? 'true' : 'false');
  }

  private fail(error: Fatal): void {
    const { ui, lang } = this;
    const key = error.code as StringKey;
    const text = t(lang, key, { status: error.status ?? '' });
    ui.message.replaceChildren(h('p', { class: 'tv-message-text' }, text));
    if (this.manifestUrl && /^https?:|^\//.test(this.manifestUrl)) {
      ui.message.append(h('p', { class: 'tv-message-link' }, h('a', { href: this.manifestUrl, rel: 'noopener' }, this.manifestUrl)));
    }
    ui.message.setAttribute('role', 'alert');
    ui.message.dataset.code = error.code;
    ui.message.hidden = false;
    ui.loading.hidden = true;
    ui.pageLoading.hidden = true;
    this.root.classList.add('tv-failed');
    this.root.dataset.pageCount = this.root.dataset.pageCount ?? '0';
    this.setState('error');
  }

  private notice(code: ViewerErrorCode, text: string, retry?: () => void): void {
    this.clearNotices([code]);
    const dismiss = h('button', { type: 'button', class: 'tv-notice-close', 'data-action': 'dismiss-notice' }, '×');
    setLabel(dismiss, t(this.lang, 'dismiss'));
    const el = h('div', { class: 'tv-notice', 'data-role': 'notice', 'data-code': code, role: 'status' }, h('span', { class: 'tv-notice-text' }, text));
    if (retry) {
      const b = h('button', { type: 'button', class: 'tv-textbtn', 'data-action': 'retry-tiles' }, t(this.lang, 'retry'));
      b.addEventListener('click', () => {
        el.remove();
        retry();
      });
      el.append(b);
    }
    dismiss.addEventListener('click', () => el.remove());
    el.append(dismiss);
    this.ui.notices.append(el);
  }

  private clearNotices(codes: ViewerErrorCode[]): void {
    for (const el of Array.from(this.ui.notices.querySelectorAll<HTMLElement>('[data-role="notice"]'))) {
      if (codes.includes(el.dataset.code as ViewerErrorCode)) el.remove();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Pages

  private firstPage(): number {
    return this.groups[this.group]?.[0] ?? 0;
  }

  /** Shows the view that holds canvas `index`; `region` (canvas pixels of that canvas) is fitted. */
  goTo(index: number, region?: Region): void {
    const count = this.manifest.canvases.length;
    const target = Math.min(Math.max(0, index), count - 1);
    this.group = groupOfCanvas(this.groups, target);
    const pages = this.groups[this.group] ?? [target];
    const first = pages[0] ?? target;
    const changed = this.root.dataset.page !== String(first + 1);
    this.root.dataset.page = String(first + 1);
    this.ui.pageInput.value = String(first + 1);
    this.ui.buttons.prev.disabled = this.group === 0;
    this.ui.buttons.next.disabled = this.group >= this.groups.length - 1;
    markThumbnails(this.ui.thumbnails, pages);
    if (changed && this.opened) {
      const shown = pages.map((p) => p + 1).join('–');
      this.ui.live.textContent = t(this.lang, 'pageStatus', { page: shown, count });
    }
    this.updateDownload(this.manifest.canvases[first]);
    // Notices about how the viewer was opened stay until the reader moves on.
    this.clearNotices(this.opened ? [...PAGE_NOTICES, 'page-out-of-range', 'content-state-invalid'] : PAGE_NOTICES);
    void this.openGroup(pages, target, region);
  }

  private async openGroup(pages: number[], regionCanvas: number, region: Region | undefined): Promise<void> {
    if (this.nav) this.infos.abort(this.nav);
    const nav = new AbortController();
    this.nav = nav;
    const token = ++this.navToken;
    this.ui.pageLoading.hidden = false;

    const canvases = pages.map((i) => this.manifest.canvases[i]).filter((c): c is ViewerCanvas => c !== undefined);
    const infos = await Promise.all(
      canvases.map(async (c) => {
        if (!c.service) return { canvas: c, info: undefined, problem: 'page-no-service' as const };
        try {
          return { canvas: c, info: await this.pageInfo(c.service, nav), problem: undefined };
        } catch (error) {
          if (error instanceof AccessRefused) return { canvas: c, info: undefined, problem: 'refused' as const, refusal: error };
          return { canvas: c, info: undefined, problem: nav.signal.aborted ? ('aborted' as const) : ('image-service-failed' as const) };
        }
      }),
    );
    if (token !== this.navToken) return;
    for (const code of ['page-no-service', 'image-service-failed'] as const) {
      if (infos.some((r) => r.problem === code)) this.notice(code, t(this.lang, code));
    }
    const refusal = infos.find((r) => r.problem === 'refused')?.refusal;
    if (refusal && !infos.some((r) => r.info)) {
      const { result, probe } = refusal;
      const own = Object.keys(result.heading).length > 0;
      this.prompt.refused(own ? result.heading : probe.errorHeading, own ? result.note : probe.errorNote);
    } else {
      // A prompt left from a page the reader has moved away from waits out of sight.
      this.prompt.park();
    }

    const sizes = this.manifest.canvases.map((c) => ({ width: c.width, height: c.height }));
    for (const r of infos) {
      if (r.info && (!r.canvas.width || !r.canvas.height)) {
        const info = r.info as { width?: unknown; height?: unknown };
        if (typeof info.width === 'number' && typeof info.height === 'number') sizes[r.canvas.index] = { width: info.width, height: info.height };
      }
    }
    this.placements = layoutGroup(pages, sizes, this.manifest.viewingDirection);
    const items: ViewItem[] = [];
    for (const r of infos) {
      const p = this.placements.find((pl) => pl.index === r.canvas.index);
      if (r.info && p) items.push({ info: r.info, x: p.x, y: p.y, width: p.width });
    }
    const placement = this.placements.find((p) => p.index === regionCanvas);
    const bounds = region && placement ? canvasToWorld(placement, region) : undefined;
    if (items.length === 0) {
      this.osd.open([]);
      this.ui.pageLoading.hidden = true;
      this.openDone();
    } else {
      this.osd.open(items, bounds);
    }
    this.preload();
  }

  /** The next view's info.json, so the next page turn starts with tiles, not a round trip. */
  private preload(): void {
    const next = this.groups[this.group + 1] ?? [];
    for (const i of next) {
      const service = this.manifest.canvases[i]?.service;
      // A restricted page's info.json before any sign-in would only be a 401.
      if (service && (!service.probe || this.auth.anyGranted())) this.infos.preload(service);
    }
  }

  /**
   * A page's info.json, through IIIF Auth 2.0 when its image service has a probe service (in
   * the manifest, or in the info.json its server refused with 401): this may wait for the
   * reader to sign in. An image service without one costs one fetch and no probe, as before.
   */
  private async pageInfo(service: ImageServiceRef, nav: AbortController): Promise<object> {
    let probe = service.probe;
    // Until something has been granted, a restricted page's info.json would only be refused:
    // the probe goes first. After that, both at once, so a page turn costs no extra round trip.
    const first = !probe || this.auth.isGranted(probe) || this.auth.anyGranted() ? settle(this.infos.get(service, nav)) : undefined;
    if (!probe) {
      const got = await first!;
      if ('value' in got) {
        // Some servers answer info.json to anyone and guard only the image responses.
        probe = probeServiceOf((got.value as { service?: unknown }).service);
        if (!probe) return got.value;
      } else if (got.error instanceof InfoRefused) {
        probe = got.error.probe;
      } else {
        throw got.error;
      }
    }
    const result = await this.auth.authorize(probe, this.prompt);
    if (result.status !== 200) throw new AccessRefused(result, probe);
    this.accessGranted(probe);
    const got = first ? await first : undefined;
    if (got && 'value' in got) return got.value;
    if (got && !(got.error instanceof InfoRefused)) throw got.error;
    // Refused before the sign-in (or not asked yet): the session opens it now.
    return this.infos.get(service, nav);
  }

  private accessGranted(probe: ProbeService): void {
    unlockThumbnails(this.ui.thumbnails);
    const offer = this.auth.logoutOffer(probe);
    if (!offer?.logout) return;
    this.logoutService = offer;
    setLabel(this.ui.logout, pickText(offer.logout.label, this.lang) || t(this.lang, 'logout'));
    this.ui.logout.hidden = false;
  }

  /** IIIF Auth logout: its page in a window; when that closes, the view asks its probes again. */
  private async signOut(): Promise<void> {
    const service = this.logoutService;
    if (!service) return;
    this.logoutService = undefined;
    this.ui.logout.hidden = true;
    await this.auth.logout(service);
    const view = this.currentView();
    this.goTo(view?.canvas ?? this.firstPage(), view?.region);
  }

  private openDone(): void {
    if (!this.opened) {
      this.opened = true;
      this.setState('ready');
      performance.mark('thukho:ready');
    }
    this.drawHits();
    this.viewChanged();
  }

  private firstTile(): void {
    this.ui.pageLoading.hidden = true;
    if (!this.firstTileMarked) {
      this.firstTileMarked = true;
      performance.mark('thukho:first-tile');
    }
  }

  private tilesFailed(): void {
    this.notice('tiles-failed', t(this.lang, 'tiles-failed'), () => {
      const view = this.currentView();
      this.goTo(view?.canvas ?? this.firstPage(), view?.region);
    });
  }

  private step(delta: number): void {
    const g = this.group + delta;
    const pages = this.groups[g];
    if (pages?.[0] !== undefined) this.goTo(pages[0]);
  }

  private toggleSpread(): void {
    const first = this.firstPage();
    this.spread = !this.spread;
    this.spreadExplicit = true;
    this.groups = groupCanvases(this.manifest.canvases, this.spread);
    this.setSpreadAttr();
    this.goTo(first);
  }

  private setSpreadAttr(): void {
    this.root.dataset.spread = String(this.spread);
    this.ui.buttons.spread.setAttribute('aria-pressed', String(this.spread));
  }

  // ---------------------------------------------------------------------------------------
  // View ↔ URL

  /** The canvas under the centre of the view and the visible part of it, in its pixels. */
  private currentView(): { canvas: number; region: Region; atHome: boolean } | undefined {
    const bounds = this.osd?.bounds();
    if (!bounds) return undefined;
    const p = placementAt(this.placements, bounds.x + bounds.w / 2);
    const canvas = p ? this.manifest.canvases[p.index] : undefined;
    if (!p || !canvas) return undefined;
    const raw = worldToCanvas(p, bounds);
    const width = canvas.width || p.width / p.scale;
    const height = canvas.height || p.height / p.scale;
    const region = clampRegion(raw, width, height) ?? { x: 0, y: 0, w: Math.round(width), h: Math.round(height) };
    return { canvas: p.index, region, atHome: this.osd.atHome() };
  }

  private baseParams(): URLSearchParams {
    const params = new URLSearchParams(location.search);
    // A content state has done its work once the view is open; the plain parameters take over.
    if (params.has('iiif-content')) {
      params.delete('iiif-content');
      if (this.standalone && !params.has('manifest')) params.set('manifest', this.manifestUrl);
    }
    return params;
  }

  private viewChanged(): void {
    if (!this.manifest) return;
    const view = this.currentView();
    const page = view && !view.atHome ? view.canvas + 1 : this.firstPage() + 1;
    const params = writeUrlState(this.baseParams(), {
      page,
      ...(view && !view.atHome ? { xywh: view.region } : {}),
      ...(this.spreadExplicit ? { spread: this.spread } : {}),
    });
    const next = `${location.pathname}?${queryString(params)}${location.hash}`;
    if (next !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, '', next);
    if (this.openPanel === 'share') this.updateShare();
  }

  private updateShare(): void {
    const seen = this.currentView();
    // A whole spread at rest is shared as the spread: a region would reopen one page of it.
    const wholeSpread = seen?.atHome === true && (this.groups[this.group]?.length ?? 1) > 1;
    const view = wholeSpread ? undefined : seen;
    const canvasIndex = view?.canvas ?? this.firstPage();
    const canvas = this.manifest.canvases[canvasIndex];
    const params = writeUrlState(this.baseParams(), {
      page: canvasIndex + 1,
      ...(view ? { xywh: view.region } : {}),
      ...(this.spreadExplicit ? { spread: this.spread } : {}),
    });
    const shareUrl = `${location.origin}${location.pathname}?${queryString(params)}`;
    const manifestId = this.manifest.id;
    const state: ContentState = canvas ? { manifestId, canvasId: canvas.id, ...(view ? { xywh: view.region } : {}) } : { manifestId };
    const contentUrl = `${location.origin}/viewer?iiif-content=${encodeShareAnnotation(state)}`;
    this.share.update(shareUrl, contentUrl);
  }

  private updateDownload(canvas: ViewerCanvas | undefined): void {
    const rendering = canvas ? imageRendering(canvas) : undefined;
    const a = this.ui.download;
    if (!rendering) {
      a.hidden = true;
      a.removeAttribute('href');
      return;
    }
    a.hidden = false;
    a.href = rendering.id;
    const label = pickText(rendering.label, this.lang);
    setLabel(a, label || t(this.lang, 'download'));
  }

  // ---------------------------------------------------------------------------------------
  // Search inside

  private lastQuery = '';

  private async runSearch(q: string, more: boolean): Promise<void> {
    const service = this.manifest.searchService;
    const panel = this.search;
    if (!service || !panel) return;
    const url = more ? this.searchNext : searchUrl(service, q);
    if (!url) return;
    if (!more) this.lastQuery = q;
    panel.setBusy();
    let page: ReturnType<typeof parseSearchPage>;
    try {
      const response = await fetch(url, { headers: { Accept: 'application/ld+json, application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      page = parseSearchPage(await response.json());
    } catch {
      page = undefined;
    }
    if (!page) {
      panel.setFailed();
      this.notice('search-failed', t(this.lang, 'search-failed'));
      return;
    }
    this.clearNotices(['search-failed']);
    const known = page.hits.filter((hit) => canvasIndexById(this.manifest, hit.canvasId) >= 0);
    this.hits = more ? [...this.hits, ...known] : known;
    this.searchNext = page.next;
    this.searchTotal = page.total ?? (more ? this.searchTotal : undefined);
    panel.showHits(known, (hit) => canvasIndexById(this.manifest, hit.canvasId) + 1, this.searchTotal, page.next !== undefined, more);
    if (!more) this.currentHit = undefined;
    this.drawHits();
  }

  private openHit(hit: SearchHit): void {
    const index = canvasIndexById(this.manifest, hit.canvasId);
    if (index < 0) return;
    this.currentHit = hit.id;
    const canvas = this.manifest.canvases[index];
    let region: Region | undefined;
    if (hit.xywh && canvas) {
      // The hit with room around it: a word alone on screen has no context.
      const pageWidth = canvas.width || hit.xywh.w * 8;
      const w = Math.min(pageWidth, Math.max(hit.xywh.w * 2.5, pageWidth / 3));
      const hgt = Math.max(hit.xywh.h * 4, w * 0.6);
      region = { x: hit.xywh.x + hit.xywh.w / 2 - w / 2, y: hit.xywh.y + hit.xywh.h / 2 - hgt / 2, w, h: hgt };
    }
    if (this.groups[this.group]?.includes(index) && this.osd.isOpen()) {
      const p = this.placements.find((pl) => pl.index === index);
      if (p && region) this.osd.fit(canvasToWorld(p, region));
      this.drawHits();
    } else {
      this.goTo(index, region);
    }
  }

  private drawHits(): void {
    if (!this.osd?.isOpen()) return;
    const rects: Parameters<OsdView['setOverlays']>[0] = [];
    for (const hit of this.hits) {
      if (!hit.xywh) continue;
      const index = canvasIndexById(this.manifest, hit.canvasId);
      const p = this.placements.find((pl) => pl.index === index);
      if (!p) continue;
      rects.push({ region: canvasToWorld(p, hit.xywh), id: hit.id, label: hit.match || this.lastQuery, current: hit.id === this.currentHit });
    }
    this.osd.setOverlays(rects);
  }

  // ---------------------------------------------------------------------------------------
  // Panels

  private togglePanel(name: PanelName): void {
    if (this.openPanel === name) this.closePanel();
    else this.showPanel(name);
  }

  private showPanel(name: PanelName): void {
    if (this.openPanel) this.closePanel(false);
    this.openPanel = name;
    const panel = this.ui.panels[name];
    panel.hidden = false;
    this.ui.buttons[name].setAttribute('aria-pressed', 'true');
    this.root.classList.add('tv-panel-open');
    if (name === 'share') this.updateShare();
    if (name === 'search' && this.search) this.search.input.focus();
    else panel.focus();
  }

  private closePanel(restoreFocus = true): void {
    const name = this.openPanel;
    if (!name) return;
    this.openPanel = undefined;
    this.ui.panels[name].hidden = true;
    this.ui.buttons[name].setAttribute('aria-pressed', 'false');
    this.root.classList.remove('tv-panel-open');
    if (restoreFocus) {
      const b = this.ui.buttons[name];
      // On narrow screens the button may sit in the collapsed "more" group.
      if (b.offsetParent !== null) b.focus();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Controls

  private rtl(): boolean {
    return this.manifest.viewingDirection === 'right-to-left';
  }

  private toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => undefined);
    else if (this.root.requestFullscreen) void this.root.requestFullscreen().catch(() => undefined);
  }

  private wire(): void {
    const { ui } = this;
    const b = ui.buttons;
    b.prev.addEventListener('click', () => this.step(-1));
    b.next.addEventListener('click', () => this.step(1));
    b['zoom-in'].addEventListener('click', () => this.osd.zoomBy(1.5));
    b['zoom-out'].addEventListener('click', () => this.osd.zoomBy(1 / 1.5));
    b.home.addEventListener('click', () => this.osd.home());
    b['rotate-left'].addEventListener('click', () => this.osd.rotate(-90));
    b['rotate-right'].addEventListener('click', () => this.osd.rotate(90));
    b.fullscreen.addEventListener('click', () => this.toggleFullscreen());
    b.spread.addEventListener('click', () => this.toggleSpread());
    ui.logout.addEventListener('click', () => void this.signOut());
    for (const name of ['filters', 'info', 'share', 'search'] as const) b[name].addEventListener('click', () => this.togglePanel(name));
    b.more.addEventListener('click', () => {
      const open = !ui.toolbar.classList.contains('tv-more-open');
      ui.toolbar.classList.toggle('tv-more-open', open);
      b.more.setAttribute('aria-expanded', String(open));
    });
    for (const panel of Object.values(ui.panels)) {
      panel.querySelector('[data-action="close-panel"]')?.addEventListener('click', () => this.closePanel());
    }

    const commitPage = (): void => {
      const n = Number(ui.pageInput.value.trim());
      if (Number.isInteger(n) && n >= 1 && n <= this.manifest.canvases.length) this.goTo(n - 1);
      else ui.pageInput.value = String(this.firstPage() + 1);
    };
    ui.pageInput.addEventListener('change', commitPage);
    ui.pageInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        commitPage();
        ui.pageInput.select();
      }
    });
    ui.pageInput.addEventListener('focus', () => ui.pageInput.select());

    document.addEventListener('fullscreenchange', () => {
      const on = document.fullscreenElement === this.root;
      setLabel(b.fullscreen, t(this.lang, on ? 'exitFullscreen' : 'fullscreen'));
      b.fullscreen.setAttribute('aria-pressed', String(on));
      this.root.classList.toggle('tv-fullscreen', on);
    });

    const actions: ViewerActions = {
      step: (delta) => this.step(delta),
      first: () => this.goTo(0),
      last: () => this.goTo(this.manifest.canvases.length - 1),
      zoomBy: (factor) => this.osd.zoomBy(factor),
      home: () => this.osd.home(),
      rotate: (degrees) => this.osd.rotate(degrees),
      fullscreen: () => this.toggleFullscreen(),
      closePanel: () => {
        if (!this.openPanel) return false;
        this.closePanel();
        return true;
      },
      rightToLeft: () => this.rtl(),
      atHome: () => this.osd.atHome(),
    };
    bindKeys(this.root, actions);
    bindSwipe(ui.osd, actions);
  }


  // ---------------------------------------------------------------------------------------
  // Size

  /** Fills the window below whatever the page puts above the viewer (header, breadcrumbs). */
  private fitHeight(): void {
    const apply = (): void => {
      const top = this.root.getBoundingClientRect().top + window.scrollY;
      this.root.style.setProperty('--tv-offset', `${Math.max(0, Math.round(top))}px`);
    };
    apply();
    window.addEventListener('resize', apply);
  }
}

function boot(): void {
  const root = document.getElementById('thukho-viewer');
  if (!root) return;
  const url = readUrlState(new URLSearchParams(location.search));
  const dataLang = root.dataset.lang;
  const lang: Lang = isLang(dataLang) ? dataLang : (url.lang ?? (document.documentElement.lang === 'en' ? 'en' : 'vi'));

  // Language is the server's choice (cookie, ?lang): switching reloads the same view in the other language.
  document.addEventListener('click', (e) => {
    const link = (e.target as Element | null)?.closest?.('a[data-lang-switch]');
    if (!(link instanceof HTMLAnchorElement) || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const next = link.dataset.langSwitch;
    if (!isLang(next)) return;
    e.preventDefault();
    location.assign(withLang(location.href, next));
  });

  const room = new ReadingRoom(root, lang, url);
  room.start().catch(() => {
    // Every expected failure is handled inside; this is the last guard against a blank viewer.
    root.dataset.state = 'error';
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
else boot();

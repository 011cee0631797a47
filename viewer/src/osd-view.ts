import OpenSeadragon from 'openseadragon';
import type { Region } from './region.ts';

/**
 * The OpenSeadragon side of the viewer: one view (a page, or two for a spread) at a time,
 * positioned by the caller in world units. Everything else (pages, URL, panels) lives in main.ts.
 */

// OpenSeadragon reports tile failures and the like with console.error; we show notices for
// those, so its console goes to a quiet sink (tests fail on console errors).
const quiet = (): void => {};
(OpenSeadragon as unknown as { console: Record<string, () => void> }).console = {
  log: quiet,
  debug: quiet,
  info: quiet,
  warn: quiet,
  error: quiet,
  assert: quiet,
};

export interface ViewItem {
  info: object;
  x: number;
  y: number;
  width: number;
}

export interface OsdCallbacks {
  /** First tile of the current view drawn. */
  onFirstTile(): void;
  /** Some tile failed after all retries. */
  onTilesFailed(): void;
  /** The view finished moving (pan, zoom, rotate). */
  onViewChange(): void;
  onOpen(): void;
  onOpenFailed(): void;
}

/**
 * OpenSeadragon adds an inline <style data-openseadragon-mobile-css> unless the page has one;
 * our pages' CSP allows no inline style with content (see src/http/security-headers.ts).
 * So the page gets an empty one, which the CSP allows, and the rule is in viewer.css.
 */
function markOsdStyleInstalled(): void {
  if (document.querySelector('style[data-openseadragon-mobile-css]')) return;
  const marker = document.createElement('style');
  marker.setAttribute('data-openseadragon-mobile-css', 'true');
  document.head.append(marker);
}

export class OsdView {
  readonly viewer: OpenSeadragon.Viewer;
  private drawnSinceOpen = false;
  private failedSinceOpen = false;
  private pendingBounds: Region | undefined;
  private filter = '';
  /** Whether the reader left the view at the whole-page position: a resize then keeps the whole page in view. */
  private homeAtRest = true;
  private rehome = false;

  constructor(element: HTMLElement, private readonly cb: OsdCallbacks) {
    markOsdStyleInstalled();
    this.viewer = OpenSeadragon({
      element,
      drawer: 'canvas',
      showNavigator: true,
      navigatorPosition: 'BOTTOM_RIGHT',
      navigatorSizeRatio: 0.14,
      navigatorAutoFade: false,
      navigatorBorderColor: 'transparent',
      navigatorDisplayRegionColor: '#e3b55b',
      viewportMargins: { top: 16, bottom: 16, left: 16, right: 16 },
      showNavigationControl: false,
      crossOriginPolicy: 'Anonymous',
      tileRetryMax: 2,
      tileRetryDelay: 400,
      gestureSettingsTouch: { pinchToZoom: true, flickEnabled: true, clickToZoom: false, dblClickToZoom: true },
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true, scrollToZoom: true },
      preserveViewport: false,
      visibilityRatio: 0.5,
      animationTime: 0.6,
      immediateRender: false,
      keyboardNavEnabled: false,
      maxZoomPixelRatio: 2,
      minZoomImageRatio: 0.8,
      homeFillsViewer: false,
      placeholderFillStyle: 'rgba(255,255,255,0.04)',
    });

    this.viewer.addHandler('tile-drawn', () => {
      if (this.drawnSinceOpen) return;
      this.drawnSinceOpen = true;
      this.cb.onFirstTile();
    });
    this.viewer.addHandler('tile-load-failed', (event) => {
      const e = event as unknown as { maxReached?: boolean };
      if (e.maxReached === false || this.failedSinceOpen) return;
      this.failedSinceOpen = true;
      this.cb.onTilesFailed();
    });
    this.viewer.addHandler('open', () => {
      const bounds = this.pendingBounds;
      this.pendingBounds = undefined;
      this.homeAtRest = !bounds;
      if (bounds) this.fit(bounds, true);
      this.applyFilter();
      this.cb.onOpen();
    });
    this.viewer.addHandler('open-failed', () => this.cb.onOpenFailed());
    this.viewer.addHandler('animation-finish', () => {
      this.homeAtRest = this.atHome();
      this.cb.onViewChange();
    });
    // OpenSeadragon keeps the zoom on resize; a page shown whole should stay whole when a
    // panel opens, the thumbnails hide or the phone turns.
    // 'resize' comes before OpenSeadragon re-applies its own zoom, so the re-homing waits for the frame's update.
    this.viewer.addHandler('resize', () => {
      if (this.homeAtRest && this.isOpen()) this.rehome = true;
    });
    this.viewer.addHandler('update-viewport', () => {
      if (!this.rehome) return;
      this.rehome = false;
      this.viewer.viewport.goHome(true);
    });
  }

  /** Shows these images; `bounds` (world units) is the region to fit, else the whole view. */
  open(items: ViewItem[], bounds?: Region): void {
    this.drawnSinceOpen = false;
    this.failedSinceOpen = false;
    this.pendingBounds = bounds;
    this.viewer.clearOverlays();
    if (items.length === 0) {
      this.viewer.close();
      return;
    }
    this.viewer.open(items.map((item) => ({ tileSource: item.info, x: item.x, y: item.y, width: item.width })));
  }

  close(): void {
    this.viewer.close();
  }

  isOpen(): boolean {
    return this.viewer.isOpen() && this.viewer.world.getItemCount() > 0;
  }

  fit(r: Region, immediately = false): void {
    this.viewer.viewport.fitBounds(new OpenSeadragon.Rect(r.x, r.y, r.w, r.h), immediately);
  }

  /** The visible world rectangle (ignoring rotation), or null before anything is open. */
  bounds(): Region | null {
    if (!this.isOpen()) return null;
    const b = this.viewer.viewport.getBoundsNoRotate(true);
    return { x: b.x, y: b.y, w: b.width, h: b.height };
  }

  /** Zoom relative to the whole-view home position (1 = home, 2 = twice as close). */
  zoom(): number {
    if (!this.isOpen()) return 0;
    const vp = this.viewer.viewport;
    return vp.getZoom(true) / vp.getHomeZoom();
  }

  /** True when the view is (about) the whole-view home position: swipes turn pages only then. */
  atHome(): boolean {
    if (!this.isOpen()) return true;
    const vp = this.viewer.viewport;
    return vp.getZoom(true) <= vp.getHomeZoom() * 1.05;
  }

  zoomBy(factor: number): void {
    this.viewer.viewport.zoomBy(factor);
    this.viewer.viewport.applyConstraints();
  }

  home(): void {
    this.viewer.viewport.goHome();
  }

  /** Degrees, normalised to 0–359. */
  rotation(): number {
    return ((this.viewer.viewport.getRotation() % 360) + 360) % 360;
  }

  rotate(delta: number): void {
    const vp = this.viewer.viewport;
    vp.setRotation(vp.getRotation() + delta);
  }

  setFilter(css: string): void {
    this.filter = css;
    this.applyFilter();
  }

  /** CSS filter on the main drawer's canvas only: the navigator keeps the true colours. */
  private applyFilter(): void {
    this.viewer.drawer.canvas.style.filter = this.filter;
  }

  setOverlays(rects: { region: Region; id: string; label: string; current: boolean }[]): void {
    this.viewer.clearOverlays();
    for (const r of rects) {
      const el = document.createElement('div');
      el.className = r.current ? 'tv-hit tv-hit--current' : 'tv-hit';
      el.dataset.hit = r.id;
      el.title = r.label;
      this.viewer.addOverlay({
        element: el,
        location: new OpenSeadragon.Rect(r.region.x, r.region.y, r.region.w, r.region.h),
      } as unknown as OpenSeadragon.OverlayOptions);
    }
  }

  /** Worlds coordinates of a client (window) point. */
  pointAt(clientX: number, clientY: number): { x: number; y: number } {
    const p = this.viewer.viewport.windowToViewportCoordinates(new OpenSeadragon.Point(clientX, clientY));
    return { x: p.x, y: p.y };
  }
}

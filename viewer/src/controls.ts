import { isTyping } from './dom.ts';

/** Keyboard and swipe input of the reading room, mapped to what the viewer can do. */
export interface ViewerActions {
  /** +1 = next view in reading order, −1 = previous. */
  step(delta: number): void;
  first(): void;
  last(): void;
  zoomBy(factor: number): void;
  home(): void;
  rotate(degrees: number): void;
  fullscreen(): void;
  /** Closes the open panel; false when none was open. */
  closePanel(): boolean;
  rightToLeft(): boolean;
  atHome(): boolean;
}

/**
 * Keys act when focus is in the viewer or nowhere in particular (the body), never while
 * typing, and leave Space to a focused button.
 */
export function bindKeys(root: HTMLElement, act: ViewerActions): void {
  document.addEventListener('keydown', (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape') {
      if (act.closePanel()) e.preventDefault();
      return;
    }
    if (isTyping(e.target)) return;
    const target = e.target as Node | null;
    if (target && target !== document.body && target !== document.documentElement && !root.contains(target)) return;
    const onControl = target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement;
    // Arrows follow the screen: in a right-to-left book the next page lies to the left.
    const forward = act.rightToLeft() ? -1 : 1;
    switch (e.key) {
      case 'ArrowRight':
        act.step(forward);
        break;
      case 'ArrowLeft':
        act.step(-forward);
        break;
      case 'PageDown':
        act.step(1);
        break;
      case 'PageUp':
        act.step(-1);
        break;
      case ' ':
        if (onControl) return;
        act.step(e.shiftKey ? -1 : 1);
        break;
      case 'Home':
        act.first();
        break;
      case 'End':
        act.last();
        break;
      case '+':
      case '=':
        act.zoomBy(1.5);
        break;
      case '-':
      case '_':
        act.zoomBy(1 / 1.5);
        break;
      case '0':
        act.home();
        break;
      case 'r':
        act.rotate(90);
        break;
      case 'R':
        act.rotate(-90);
        break;
      case 'f':
      case 'F':
        act.fullscreen();
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}

/**
 * A quick horizontal touch or pen swipe turns the page, only at the whole-page view: zoomed
 * in, the same gesture pans. Listened to in the capture phase, before OpenSeadragon's tracker.
 */
export function bindSwipe(el: HTMLElement, act: ViewerActions): void {
  let start: { x: number; y: number; time: number; id: number; home: boolean } | undefined;
  el.addEventListener(
    'pointerdown',
    (e) => {
      if (e.pointerType === 'mouse' || !e.isPrimary) return;
      start = { x: e.clientX, y: e.clientY, time: performance.now(), id: e.pointerId, home: act.atHome() };
    },
    { capture: true },
  );
  el.addEventListener(
    'pointerup',
    (e) => {
      const s = start;
      start = undefined;
      if (!s || e.pointerId !== s.id || !s.home) return;
      const dx = e.clientX - s.x;
      const dy = e.clientY - s.y;
      if (Math.abs(dx) < 50 || Math.abs(dy) > Math.abs(dx) * 0.7 || performance.now() - s.time > 600) return;
      // A finger moving left brings in the page on the right: the next one in a left-to-right book.
      const towardRight = dx < 0 ? 1 : -1;
      act.step(act.rightToLeft() ? -towardRight : towardRight);
    },
    { capture: true },
  );
  el.addEventListener('pointercancel', () => (start = undefined), { capture: true });
}

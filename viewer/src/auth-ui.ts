import type { AccessService, AccessUi, Failure } from './auth.ts';
import { h } from './dom.ts';
import { pickText, t, type Lang, type LanguageMap } from './language.ts';

/**
 * The IIIF Auth prompt over the view: the access service's heading, note and button in the
 * page's language (our own vi/en text where the service gives none), then what is happening
 * while the reader signs in, and why it did not work with a retry. One prompt at a time:
 * every page of the work waits on the same one.
 *
 * `data-auth` on the prompt and the viewer root says which step it is at (prompt, failed,
 * waiting, checking, refused): the Chromium tests and the CSS read it.
 */
export type AuthStep = 'prompt' | 'failed' | 'waiting' | 'checking' | 'refused';

export class AuthPrompt implements AccessUi {
  readonly el: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly note: HTMLElement;
  private readonly label: HTMLElement;
  private readonly button: HTMLButtonElement;
  private readonly status: HTMLElement;
  private pending: { resolve: (win: Window | null) => void; open: () => Window | null } | undefined;

  constructor(
    stage: HTMLElement,
    private readonly root: HTMLElement,
    private readonly lang: Lang,
    /** Called whenever the prompt comes up: the viewer clears the view behind it. */
    private readonly onShow: () => void,
  ) {
    const headingId = `tv-auth-${Math.random().toString(36).slice(2, 8)}`;
    this.heading = h('h2', { class: 'tv-auth-heading', id: headingId, 'data-role': 'auth-heading' });
    this.note = h('p', { class: 'tv-auth-note', 'data-role': 'auth-note' });
    this.label = h('p', { class: 'tv-auth-label', 'data-role': 'auth-label' });
    this.button = h('button', { type: 'button', class: 'tv-auth-confirm', 'data-action': 'auth-confirm' });
    this.status = h('p', { class: 'tv-auth-status', 'data-role': 'auth-status', role: 'status', 'aria-live': 'polite' });
    const card = h('div', { class: 'tv-auth-card' }, this.heading, this.note, this.label, this.button, this.status);
    this.el = h('section', { class: 'tv-auth', 'data-role': 'auth', hidden: true, 'aria-labelledby': headingId }, card);
    stage.append(this.el);
    this.button.addEventListener('click', () => {
      const pending = this.pending;
      if (!pending) return;
      this.pending = undefined;
      // Opened here, inside the click: a window opened later would be a blocked pop-up.
      pending.resolve(pending.open());
    });
  }

  ask(service: AccessService, failure: Failure | undefined, open: () => Window | null): Promise<Window | null> {
    const pick = (map: LanguageMap): string => pickText(map, this.lang);
    let step: AuthStep = 'prompt';
    let heading = pick(service.heading) || t(this.lang, 'authHeading');
    let note = pick(service.note) || t(this.lang, 'authNote');
    let action = pick(service.confirmLabel) || pick(service.label) || t(this.lang, 'authConfirm');
    if (failure?.reason === 'blocked') {
      note = t(this.lang, 'authBlocked');
      action = t(this.lang, 'authRetry');
    } else if (failure) {
      step = 'failed';
      heading = pick(failure.heading) || t(this.lang, 'authFailedHeading');
      note = pick(failure.note) || t(this.lang, 'authFailedNote');
      action = t(this.lang, 'authRetry');
    }
    this.heading.textContent = heading;
    this.note.textContent = note;
    // The label names who the reader signs in with (the spec requires it to); shown unless it is the button's own text.
    const label = pick(service.label);
    this.label.textContent = label && label !== action ? label : '';
    this.label.hidden = !this.label.textContent;
    this.button.textContent = action;
    this.button.hidden = false;
    this.button.disabled = false;
    this.status.textContent = '';
    this.setStep(step);
    this.reveal();
    if (failure) this.button.focus();
    return new Promise((resolve) => {
      this.pending = { resolve, open };
    });
  }

  show(): void {
    if (this.pending || this.el.dataset.auth === 'waiting' || this.el.dataset.auth === 'checking') this.reveal();
  }

  progress(_service: AccessService, step: 'waiting' | 'checking'): void {
    this.button.disabled = true;
    this.status.textContent = t(this.lang, step === 'waiting' ? 'authWaiting' : 'authChecking');
    this.setStep(step);
  }

  done(): void {
    this.pending = undefined;
    this.el.hidden = true;
    delete this.el.dataset.auth;
    delete this.root.dataset.auth;
  }

  /** The item cannot be shown and no sign-in changes that (withdrawn, or no way in offered). */
  refused(heading: LanguageMap, note: LanguageMap): void {
    this.pending = undefined;
    this.heading.textContent = pickText(heading, this.lang) || t(this.lang, 'authRefused');
    this.note.textContent = pickText(note, this.lang);
    this.label.hidden = true;
    this.button.hidden = true;
    this.status.textContent = '';
    this.setStep('refused');
    this.reveal();
  }

  /** Out of the way while a page that needs no sign-in is shown; a pending prompt keeps waiting. */
  park(): void {
    this.el.hidden = true;
    delete this.root.dataset.auth;
  }

  private setStep(step: AuthStep): void {
    this.el.dataset.auth = step;
    this.root.dataset.auth = step;
  }

  private reveal(): void {
    if (this.el.dataset.auth) this.root.dataset.auth = this.el.dataset.auth;
    this.el.hidden = false;
    this.onShow();
  }
}

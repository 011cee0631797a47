import { ApiError, type Bilingual } from './api.ts';
import { announce, pageLang, t } from './page.ts';

/**
 * The staff record forms in the browser: reading the Dublin Core inputs back into API values
 * (by each input's `data-kind`, set by the server), and putting the server's refusal next to
 * the field it names (problem `errors[].field`). The browser checks nothing the server does
 * not check again: this is a convenience, not the validation.
 */
export type FieldValue = string | number | string[] | undefined;

type Input = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

export function fieldInputs(form: HTMLFormElement): Input[] {
  return [...form.querySelectorAll<Input>('[data-kind]')];
}

export function readInput(el: Input): FieldValue {
  const raw = el.value;
  switch (el.dataset.kind) {
    case 'lines': {
      const lines = raw.split('\n').map((s) => s.trim()).filter(Boolean);
      return lines.length ? lines : undefined;
    }
    case 'list': {
      const items = raw.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean);
      return items.length ? items : undefined;
    }
    case 'number': {
      const s = raw.trim();
      if (!s) return undefined;
      const n = Number(s);
      // Not a number: sent as typed, so the server's message says what is wrong.
      return Number.isFinite(n) ? n : s;
    }
    default: {
      const s = raw.trim();
      return s ? s : undefined;
    }
  }
}

/** Every filled field of the form, by name. */
export function readForm(form: HTMLFormElement): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const el of fieldInputs(form)) {
    const v = readInput(el);
    if (v !== undefined) out[el.name] = v;
  }
  return out;
}

/** Puts a value (as the API has it) into its input. */
export function writeInput(el: Input, value: unknown): void {
  if (value === undefined || value === null) el.value = '';
  else if (Array.isArray(value)) el.value = value.join(el.dataset.kind === 'lines' ? '\n' : ', ');
  else el.value = String(value);
}

export function sameValue(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) ? '' : JSON.stringify(v));
  return norm(a) === norm(b);
}

/** How a value reads in a diff or a conflict table. */
export function showValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return '—';
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') : '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function clearErrors(form: HTMLFormElement): void {
  for (const p of form.querySelectorAll<HTMLElement>('.field-error')) {
    p.hidden = true;
    p.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Shows a refusal: each `errors[]` entry beside its field (the first segment of its path,
 * `language.0` → `language`), and the whole message in the page's status line. The first
 * field in error gets the focus.
 */
export function showProblem(form: HTMLFormElement, err: unknown, fieldPrefix = 'f-'): void {
  if (!(err instanceof ApiError)) {
    announce(String(err), 'error');
    return;
  }
  const errors = Array.isArray(err.body.errors) ? (err.body.errors as Array<{ field?: unknown; message?: unknown; messages?: Partial<Bilingual> }>) : [];
  let first: HTMLElement | undefined;
  for (const e of errors) {
    const name = typeof e.field === 'string' ? e.field.split('.')[0] ?? '' : '';
    const box = document.getElementById(`${fieldPrefix}${name}-error`);
    const input = document.getElementById(`${fieldPrefix}${name}`);
    if (!box) continue;
    // The page's language (`messages`); the one-string "vi / en" form from an older server.
    const own = e.messages?.[pageLang()];
    const text = typeof own === 'string' ? own : typeof e.message === 'string' ? e.message : '';
    box.hidden = false;
    // Two items of one list (language.0, language.1) may say the same: once is enough.
    if (!box.textContent?.includes(text)) box.textContent = [box.textContent, text].filter(Boolean).join(' ');
    input?.setAttribute('aria-invalid', 'true');
    first ??= input ?? undefined;
  }
  announce(err.messages, 'error');
  first?.focus();
}

/** A field's error shown by the browser's own check (before anything is sent). */
export function fieldError(id: string, text: { vi: string; en: string }): void {
  const box = document.getElementById(`${id}-error`);
  if (box) {
    box.hidden = false;
    box.textContent = t(text);
  }
  const input = document.getElementById(id);
  input?.setAttribute('aria-invalid', 'true');
  input?.focus();
}

/** A v4 UUID (crypto.randomUUID needs a secure context; a plain-http intranet server is not one). */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function' && window.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Makes an element with text (never HTML: catalogue values are text). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

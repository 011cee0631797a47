import type { Bilingual } from './api.ts';

/** What every staff page's script shares: the page language, its embedded data, messages. */
export type Lang = 'vi' | 'en';

export function pageLang(): Lang {
  return document.body.dataset.lang === 'en' ? 'en' : 'vi';
}

export function t(text: Bilingual): string {
  return text[pageLang()];
}

/** The JSON the server embedded for the page's script (`StaffShell.data`). */
export function pageData<T>(): T | undefined {
  const el = document.getElementById('staff-data');
  if (!el?.textContent) return undefined;
  return JSON.parse(el.textContent) as T;
}

/**
 * Shows a message in the page's live region (made on first use), so that screen readers
 * announce it too; `error` messages stay until the next one.
 */
export function announce(text: Bilingual | string, kind: 'ok' | 'error' | 'info' = 'info'): void {
  let region = document.getElementById('staff-status');
  if (!region) {
    region = document.createElement('div');
    region.id = 'staff-status';
    region.setAttribute('role', 'status');
    region.setAttribute('aria-live', 'polite');
    document.getElementById('main')?.prepend(region);
  }
  region.className = `notice notice-${kind === 'error' ? 'error' : kind === 'ok' ? 'ok' : 'info'}`;
  region.textContent = typeof text === 'string' ? text : t(text);
}

import { api, ApiError, type Bilingual } from './api.ts';
import { announce } from './page.ts';

/**
 * The libraries page: register and edit through /api/libraries (administrators). After a
 * change the page is loaded again (the server renders the list) and the outcome announced.
 * An edit sends the revision the page showed (If-Match): a change made meanwhile is a 409.
 */
const NEXT_MESSAGE = 'thukho-staff-message';

const TEXT = {
  created: { vi: 'Đã đăng ký thư viện.', en: 'Library registered.' },
  saved: { vi: 'Đã lưu thư viện.', en: 'Library saved.' },
} as const satisfies Record<string, Bilingual>;

function reloadWith(message: Bilingual): void {
  sessionStorage.setItem(NEXT_MESSAGE, JSON.stringify(message));
  location.reload();
}

function fail(err: unknown, button: HTMLButtonElement | null): void {
  if (button) button.disabled = false;
  announce(err instanceof ApiError ? err.messages : String(err), 'error');
}

const text = (data: FormData, name: string) => String(data.get(name) ?? '').trim();

/** The record as the form has it; `edit`: empty fields are sent as null (cleared). */
function record(data: FormData, edit: boolean): Record<string, unknown> {
  const optional = (name: string) => {
    const v = text(data, name);
    return v ? v : edit ? null : undefined;
  };
  const en = text(data, 'nameEn');
  const contact = { email: text(data, 'email'), phone: text(data, 'phone'), url: text(data, 'url') };
  const body: Record<string, unknown> = {
    name: { vi: text(data, 'nameVi'), ...(en ? { en } : {}) },
    code: optional('code'),
    address: optional('address'),
    // Empty parts are dropped by the server; all empty clears the contact.
    contact: edit || contact.email || contact.phone || contact.url ? contact : undefined,
    logo: optional('logo'),
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

export function start(): void {
  const pending = sessionStorage.getItem(NEXT_MESSAGE);
  if (pending) {
    sessionStorage.removeItem(NEXT_MESSAGE);
    announce(JSON.parse(pending) as Bilingual, 'ok');
  }
  document.addEventListener('submit', (event) => {
    const form = event.target as HTMLFormElement;
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (form.id === 'add-library-form') {
      event.preventDefault();
      const data = new FormData(form);
      if (button) button.disabled = true;
      api('POST', '/api/libraries', { json: { id: text(data, 'id'), ...record(data, false) } }).then(() => reloadWith(TEXT.created), (err: unknown) => fail(err, button));
    } else if (form.classList.contains('library-edit') && form.dataset.libraryId) {
      event.preventDefault();
      const data = new FormData(form);
      if (button) button.disabled = true;
      api('PATCH', `/api/libraries/${encodeURIComponent(form.dataset.libraryId)}`, {
        json: record(data, true),
        headers: { 'If-Match': `"${form.dataset.revision ?? ''}"` },
      }).then(() => reloadWith(TEXT.saved), (err: unknown) => fail(err, button));
    }
  });
}

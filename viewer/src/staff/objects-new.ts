import { api } from './api.ts';
import { clearErrors, readForm, showProblem, uuid } from './objects-form.ts';
import { announce } from './page.ts';

/**
 * The new-object form: one POST /api/objects with an Idempotency-Key made once when the page
 * loads, and the button disabled while the request is in flight, so a double click (or a
 * resend after a dropped connection) makes one object, not two.
 */
export function start(): void {
  const form = document.getElementById('object-form') as HTMLFormElement | null;
  const button = document.getElementById('create-object') as HTMLButtonElement | null;
  if (!form || !button) return;
  const key = uuid();
  let inFlight = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (inFlight) return;
    clearErrors(form);
    // Sent even without a title: the server checks every field at once, so that the person
    // sees all that is wrong (a missing title and a bad language code) in one go, not one by one.
    const body = readForm(form);
    inFlight = true;
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    announce({ vi: 'Đang tạo tài liệu…', en: 'Creating the object…' });
    api<{ id: string }>('POST', '/api/objects', { json: body, headers: { 'Idempotency-Key': key } })
      .then((res) => {
        announce({ vi: 'Đã tạo tài liệu.', en: 'Object created.' }, 'ok');
        window.location.assign(`/staff/objects/${encodeURIComponent(res.data.id)}`);
      })
      .catch((err: unknown) => {
        inFlight = false;
        button.disabled = false;
        form.removeAttribute('aria-busy');
        showProblem(form, err);
      });
  });
}

import { api, ApiError } from './api.ts';
import { startHistory } from './history.ts';
import { clearErrors, el, fieldError, fieldInputs, readInput, sameValue, showProblem, showValue, writeInput } from './objects-form.ts';
import { currentObject, ifMatch, type ObjectPageData, onObjectChange, reloadObject, setObject, type StaffObject } from './objects-state.ts';
import { announce, pageData, t } from './page.ts';
import { startPages } from './pages.ts';
import { startUpload } from './upload.ts';

/**
 * One object's screen: the record form (PATCH with If-Match and a reason), the conflict panel
 * when someone else saved first (both versions, field by field, the person chooses; nothing is
 * overwritten silently), the access level with its required reason, withdrawal with a
 * confirmation, and the panels for upload, pages and history.
 */
let labels: Record<string, string> = {};

/** The record as the form was filled from it: what "your changes" are measured against. */
let base: StaffObject;

const isConflict = (err: unknown): err is ApiError =>
  err instanceof ApiError && (err.status === 409 || err.status === 412) && /revision-conflict|precondition|conflict/.test(err.code);

function changesOf(form: HTMLFormElement, from: StaffObject): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const input of fieldInputs(form)) {
    const mine = readInput(input);
    if (sameValue(mine, from[input.name])) continue;
    // An emptied field is cleared (null); the title cannot be, and the server says so.
    changes[input.name] = mine === undefined ? (input.name === 'title' ? '' : null) : mine;
  }
  return changes;
}

function fillForm(form: HTMLFormElement, o: StaffObject): void {
  for (const input of fieldInputs(form)) writeInput(input, o[input.name]);
}

function showHeader(o: StaffObject): void {
  const h1 = document.getElementById('object-title');
  if (h1) h1.textContent = o.title;
  const rev = document.getElementById('object-revision');
  if (rev) rev.textContent = String(o.revision);
  document.title = `${o.title} — ${document.title.split(' — ').slice(1).join(' — ')}`;
}

async function patch(changes: Record<string, unknown>, reason: string, revisionOf: StaffObject): Promise<StaffObject> {
  const json = { ...changes, ...(reason ? { reason } : {}) };
  const res = await api<StaffObject>('PATCH', `/api/objects/${encodeURIComponent(revisionOf.id)}`, { json, headers: ifMatch(revisionOf) });
  return res.data;
}

/** The version saved by someone else: from the 412's `current`, else read again. */
async function currentVersion(err: ApiError): Promise<StaffObject> {
  const c = err.body.current;
  if (c && typeof c === 'object' && typeof (c as StaffObject).revision === 'number') return c as StaffObject;
  const res = await api<StaffObject>('GET', `/api/objects/${encodeURIComponent(base.id)}`, { headers: { 'Cache-Control': 'no-cache' } });
  return res.data;
}

function saved(form: HTMLFormElement, o: StaffObject): void {
  base = o;
  setObject(o);
  fillForm(form, o);
  const reason = document.getElementById('f-reason') as HTMLInputElement | null;
  if (reason) reason.value = '';
  const panel = document.getElementById('conflict');
  if (panel) {
    panel.hidden = true;
    panel.replaceChildren();
  }
  announce({ vi: `Đã lưu (phiên bản ${o.revision}).`, en: `Saved (revision ${o.revision}).` }, 'ok');
}

/**
 * Someone saved the record after this form was filled. Fields only they changed are theirs;
 * fields only you changed are yours; where both changed, the person picks. If they changed
 * none of the described fields (they added files, say) your edit is applied to their version.
 */
function showConflict(form: HTMLFormElement, mine: Record<string, unknown>, reason: string, theirs: StaffObject): boolean {
  const names = fieldInputs(form).map((i) => i.name);
  const theyChanged = names.filter((n) => !sameValue(base[n], theirs[n]));
  const clash = Object.keys(mine).filter((n) => theyChanged.includes(n) && !sameValue(mine[n], theirs[n]));
  if (theyChanged.length === 0) return false;
  const panel = document.getElementById('conflict') as HTMLElement;
  const rows = [...new Set([...Object.keys(mine), ...theyChanged])];
  const table = el('table', { class: 'conflict-table' },
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t({ vi: 'Trường', en: 'Field' })),
      el('th', { scope: 'col' }, t({ vi: 'Khi bạn mở', en: 'When you opened it' })),
      el('th', { scope: 'col' }, t({ vi: 'Bản của bạn', en: 'Your version' })),
      el('th', { scope: 'col' }, t({ vi: `Bản hiện tại (phiên bản ${theirs.revision})`, en: `Current version (revision ${theirs.revision})` })),
      el('th', { scope: 'col' }, t({ vi: 'Giữ bản nào', en: 'Keep' })))),
  );
  const body = el('tbody');
  for (const n of rows) {
    const inMine = n in mine;
    const choice = el('td');
    if (inMine) {
      const group = `keep-${n}`;
      const mineRadio = el('input', { type: 'radio', name: group, value: 'mine', id: `${group}-mine` });
      const theirsRadio = el('input', { type: 'radio', name: group, value: 'theirs', id: `${group}-theirs` });
      // Where only you changed the field, yours is kept unless you say otherwise; where both
      // did, nothing is preselected: the person must choose.
      if (!clash.includes(n)) mineRadio.checked = true;
      choice.append(el('label', {}, mineRadio, ' ', t({ vi: 'của bạn', en: 'yours' })), ' ', el('label', {}, theirsRadio, ' ', t({ vi: 'hiện tại', en: 'current' })));
    } else {
      choice.append(t({ vi: 'hiện tại (bạn không sửa)', en: 'current (you did not change it)' }));
    }
    body.append(el('tr', { 'data-field': n, ...(clash.includes(n) ? { class: 'conflict-clash' } : {}) },
      el('th', { scope: 'row' }, labels[n] ?? n),
      el('td', {}, showValue(base[n])),
      el('td', {}, inMine ? showValue(mine[n]) : '—'),
      el('td', {}, showValue(theirs[n])),
      choice));
  }
  table.append(body);
  const keepMine = el('button', { type: 'button', id: 'conflict-save' }, t({ vi: 'Lưu theo lựa chọn', en: 'Save my choices' }));
  const takeTheirs = el('button', { type: 'button', id: 'conflict-discard', class: 'button-secondary' }, t({ vi: 'Bỏ sửa đổi của tôi, dùng bản hiện tại', en: 'Discard my edit, use the current version' }));
  panel.replaceChildren(
    el('h3', {}, t({ vi: 'Bản ghi đã được người khác sửa', en: 'Someone else changed this record' })),
    el('p', {}, t({
      vi: `Trong lúc bạn sửa, bản ghi đã được lưu thành phiên bản ${theirs.revision}. Chưa có gì bị ghi đè. Hãy so sánh và chọn giữ bản nào cho từng trường.`,
      en: `While you were editing, the record was saved as revision ${theirs.revision}. Nothing has been overwritten. Compare and choose which to keep for each field.`,
    })),
    table,
    el('p', { class: 'actions' }, keepMine, ' ', takeTheirs),
  );
  panel.hidden = false;
  panel.setAttribute('role', 'region');
  panel.setAttribute('aria-label', t({ vi: 'Xung đột khi sửa', en: 'Edit conflict' }));
  keepMine.addEventListener('click', () => {
    const chosen: Record<string, unknown> = {};
    for (const n of Object.keys(mine)) {
      const pick = panel.querySelector<HTMLInputElement>(`input[name="keep-${n}"]:checked`)?.value;
      if (!pick) {
        announce({ vi: `Hãy chọn giữ bản nào cho "${labels[n] ?? n}".`, en: `Choose which "${labels[n] ?? n}" to keep.` }, 'error');
        return;
      }
      if (pick === 'mine') chosen[n] = mine[n];
    }
    keepMine.disabled = true;
    base = theirs;
    patch(chosen, reason, theirs)
      .then((o) => saved(form, o))
      .catch((err: unknown) => {
        keepMine.disabled = false;
        void handleSaveError(form, chosen, reason, err);
      });
  });
  takeTheirs.addEventListener('click', () => {
    base = theirs;
    setObject(theirs);
    fillForm(form, theirs);
    panel.hidden = true;
    panel.replaceChildren();
    announce({ vi: 'Đã tải bản hiện tại; sửa đổi của bạn đã bỏ.', en: 'The current version is loaded; your edit was discarded.' }, 'info');
  });
  panel.scrollIntoView({ block: 'start' });
  announce({ vi: 'Bản ghi đã được người khác sửa: hãy chọn giữ bản nào.', en: 'Someone else changed the record: choose what to keep.' }, 'error');
  return true;
}

async function handleSaveError(form: HTMLFormElement, changes: Record<string, unknown>, reason: string, err: unknown): Promise<void> {
  if (!isConflict(err)) {
    showProblem(form, err);
    return;
  }
  const theirs = await currentVersion(err);
  if (showConflict(form, changes, reason, theirs)) return;
  // Nobody touched the description (files were added or reordered meanwhile): apply the edit
  // to the current revision.
  base = theirs;
  try {
    saved(form, await patch(changes, reason, theirs));
  } catch (again) {
    await handleSaveError(form, changes, reason, again);
  }
}

function startRecordForm(): void {
  const form = document.getElementById('object-form') as HTMLFormElement | null;
  const button = document.getElementById('save-record') as HTMLButtonElement | null;
  if (!form || !button) return;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (button.disabled) return;
    clearErrors(form);
    const changes = changesOf(form, base);
    if (Object.keys(changes).length === 0) {
      announce({ vi: 'Không có gì thay đổi.', en: 'Nothing changed.' }, 'info');
      return;
    }
    if (changes.title === '') {
      fieldError('f-title', { vi: 'Nhan đề không được để trống.', en: 'The title cannot be empty.' });
      return;
    }
    const reason = (document.getElementById('f-reason') as HTMLInputElement | null)?.value.trim() ?? '';
    button.disabled = true;
    patch(changes, reason, base)
      .then((o) => saved(form, o))
      .catch((err: unknown) => handleSaveError(form, changes, reason, err))
      .finally(() => {
        button.disabled = false;
      });
  });
}

function startAccessForm(): void {
  const form = document.getElementById('access-form') as HTMLFormElement | null;
  if (!form) return;
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const level = (form.querySelector('select[name="accessLevel"]') as HTMLSelectElement).value;
    const reason = (document.getElementById('f-access-reason') as HTMLInputElement).value.trim();
    if (!reason) {
      fieldError('f-access-reason', { vi: 'Hãy ghi lý do đổi mức truy cập.', en: 'Say why the access level changes.' });
      return;
    }
    if (button) button.disabled = true;
    const o = currentObject();
    api<StaffObject>('PUT', `/api/objects/${encodeURIComponent(o.id)}/access`, { json: { accessLevel: level, reason } })
      .then((res) => {
        base = { ...base, accessLevel: res.data.accessLevel, revision: res.data.revision };
        setObject(res.data);
        (document.getElementById('f-access-reason') as HTMLInputElement).value = '';
        announce({ vi: 'Đã đổi mức truy cập.', en: 'The access level was changed.' }, 'ok');
      })
      .catch((err: unknown) => showProblem(form, err, 'f-access-'))
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}

function startWithdrawForm(): void {
  const form = document.getElementById('withdraw-form') as HTMLFormElement | null;
  const confirmBox = document.getElementById('withdraw-confirm');
  if (!form || !confirmBox) return;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const reason = (document.getElementById('f-withdraw-reason') as HTMLInputElement).value.trim();
    if (!reason) {
      fieldError('f-withdraw-reason', { vi: 'Hãy ghi lý do rút tài liệu.', en: 'Say why the object is withdrawn.' });
      return;
    }
    // A second, explicit step: withdrawal hides the work from every reader.
    const yes = el('button', { type: 'button', id: 'withdraw-yes', class: 'button-danger' }, t({ vi: 'Có, rút tài liệu này', en: 'Yes, withdraw this object' }));
    const no = el('button', { type: 'button', id: 'withdraw-no', class: 'button-secondary' }, t({ vi: 'Không, giữ lại', en: 'No, keep it' }));
    confirmBox.replaceChildren(
      el('p', { role: 'alert' }, t({ vi: `Rút "${currentObject().title}" khỏi kho với lý do: "${reason}"?`, en: `Withdraw "${currentObject().title}" with the reason: "${reason}"?` })),
      el('p', { class: 'actions' }, yes, ' ', no),
    );
    confirmBox.hidden = false;
    yes.focus();
    no.addEventListener('click', () => {
      confirmBox.hidden = true;
      confirmBox.replaceChildren();
    });
    yes.addEventListener('click', () => {
      yes.disabled = true;
      const o = currentObject();
      api<StaffObject>('POST', `/api/objects/${encodeURIComponent(o.id)}/withdraw`, { json: { reason } })
        .then(() => window.location.reload())
        .catch((err: unknown) => {
          yes.disabled = false;
          showProblem(form, err, 'f-withdraw-');
        });
    });
  });
}

export function start(): void {
  const data = pageData<ObjectPageData>();
  if (!data) return;
  labels = data.labels;
  base = data.object;
  setObject(data.object);
  onObjectChange(showHeader);
  startRecordForm();
  startAccessForm();
  startWithdrawForm();
  startHistory(data.labels);
  startPages(data.canWrite);
  if (data.canWrite) startUpload(() => reloadObject());
}

import { api } from './api.ts';
import { el } from './objects-form.ts';
import { currentObject, ifMatch, onObjectChange, type PageEntry, pagesOf, reloadObject, type RangeEntry, setObject, type StaffFile, type StaffObject, thumbnailUrl } from './objects-state.ts';
import { announce, t } from './page.ts';

/**
 * The pages panel: thumbnails in reading order, reordered by drag and drop or with the
 * Up/Down buttons (keyboard), saved with PUT …/files/order; page labels edited one by one or
 * generated from a pattern (PUT …/page-labels); a table of contents (PUT …/structure); and
 * each file's ingest status, read again every few seconds while work is pending.
 */
let editable = false;
/** The order on screen (file ids), which may differ from the saved one until "Save order". */
let order: string[] = [];
let dirtyLabels = new Map<string, string>();
let pollTimer: ReturnType<typeof setTimeout> | undefined;
const POLL_MS = 3000;

const pageKey = (p: { fileId: string; page?: number }) => (p.page && p.page > 1 ? `${p.fileId}~${p.page}` : p.fileId);

function savedOrder(o: StaffObject): string[] {
  return [...o.files].sort((a, b) => a.sequence - b.sequence).map((f) => f.fileId);
}

type StatusWord = 'done' | 'pending' | 'failed' | 'none';

/** A file's ingest status: the API's `status`, or what the file's own facts say. */
function statusOf(f: StaffFile): { derivative: StatusWord; ocr: StatusWord | undefined; replicated?: string } {
  if (f.status) return { derivative: f.status.derivative, ocr: f.status.ocr, replicated: `${f.status.replicated}/${f.status.replicas}` };
  const isImage = f.image !== undefined || f.pdf !== undefined;
  return { derivative: !isImage ? 'none' : f.derivative ? 'done' : f.derivativeFailure ? 'failed' : 'pending', ocr: undefined };
}

const WORD: Record<StatusWord, { vi: string; en: string }> = {
  done: { vi: 'xong', en: 'done' },
  pending: { vi: 'đang làm', en: 'pending' },
  failed: { vi: 'lỗi', en: 'failed' },
  none: { vi: 'không có', en: 'none' },
};

function badges(f: StaffFile): HTMLElement {
  const s = statusOf(f);
  const b = (kind: string, text: string) => el('span', { class: `badge badge-${kind}` }, text);
  const kindOf = (w: StatusWord) => (w === 'done' ? 'ok' : w === 'failed' ? 'failed' : w === 'pending' ? 'overdue' : 'none');
  const box = el('span', { class: 'file-status', 'data-derivative': s.derivative, ...(s.ocr ? { 'data-ocr': s.ocr } : {}) },
    b('ok', t({ vi: 'đã lưu', en: 'stored' })), ' ',
    b(kindOf(s.derivative), `${t({ vi: 'ảnh xem', en: 'derivative' })}: ${t(WORD[s.derivative])}`));
  if (s.ocr) box.append(' ', b(kindOf(s.ocr), `OCR: ${t(WORD[s.ocr])}`));
  if (s.replicated) box.append(' ', b('none', `${t({ vi: 'bản sao', en: 'replicas' })}: ${s.replicated}`));
  return box;
}

const isPending = (o: StaffObject) => o.files.some((f) => {
  const s = statusOf(f);
  return s.derivative === 'pending' || s.ocr === 'pending';
});

function move(fileId: string, to: number): void {
  const from = order.indexOf(fileId);
  if (from < 0 || to < 0 || to >= order.length || from === to) return;
  order.splice(from, 1);
  order.splice(to, 0, fileId);
  render(currentObject(), fileId);
}

function render(o: StaffObject, focusFile?: string): void {
  const grid = document.getElementById('page-grid');
  if (!grid) return;
  const pages = pagesOf(o);
  const byFile = new Map<string, PageEntry[]>();
  for (const p of pages) byFile.set(p.fileId, [...(byFile.get(p.fileId) ?? []), p]);
  const saved = savedOrder(o);
  if (order.length !== saved.length || !saved.every((id) => order.includes(id))) order = saved;
  const files = new Map(o.files.map((f) => [f.fileId, f]));
  const items: HTMLElement[] = [];
  let pageNumber = 0;
  order.forEach((fileId, index) => {
    const f = files.get(fileId);
    if (!f) return;
    const filePages = byFile.get(fileId) ?? [];
    const li = el('li', { class: 'page-card', 'data-file': fileId, draggable: editable ? 'true' : 'false' });
    for (const p of filePages.length ? filePages : [undefined]) {
      pageNumber++;
      const figure = el('figure', { class: 'page-thumb' });
      if (p) {
        const img = el('img', { src: thumbnailUrl(o, p), alt: `${t({ vi: 'Trang', en: 'Page' })} ${pageNumber}`, loading: 'lazy', draggable: 'false' });
        figure.append(img);
      } else figure.append(el('div', { class: 'no-thumb' }, f.name));
      const caption = el('figcaption', {}, `${pageNumber}. `);
      if (p && editable) {
        const key = pageKey(p);
        const input = el('input', { type: 'text', class: 'page-label', 'data-page': key, 'aria-label': `${t({ vi: 'Nhãn trang', en: 'Page label' })} ${pageNumber}`, maxlength: '200' });
        input.value = dirtyLabels.get(key) ?? p.label;
        input.addEventListener('input', () => {
          dirtyLabels.set(key, input.value);
          (document.getElementById('save-labels') as HTMLButtonElement | null)?.removeAttribute('disabled');
        });
        caption.append(input);
      } else if (p) caption.append(el('span', { class: 'page-label' }, p.label));
      figure.append(caption);
      li.append(figure);
    }
    li.append(el('p', { class: 'file-name' }, f.name), badges(f));
    if (editable) {
      const up = el('button', { type: 'button', class: 'move-up', 'aria-label': `${t({ vi: 'Chuyển lên', en: 'Move up' })}: ${f.name}` }, '↑');
      const down = el('button', { type: 'button', class: 'move-down', 'aria-label': `${t({ vi: 'Chuyển xuống', en: 'Move down' })}: ${f.name}` }, '↓');
      up.disabled = index === 0;
      down.disabled = index === order.length - 1;
      up.addEventListener('click', () => move(fileId, index - 1));
      down.addEventListener('click', () => move(fileId, index + 1));
      li.append(el('p', { class: 'actions' }, up, ' ', down));
    }
    items.push(li);
  });
  grid.replaceChildren(...items);
  const changed = order.some((id, n) => id !== saved[n]);
  const saveOrder = document.getElementById('save-order') as HTMLButtonElement | null;
  if (saveOrder) saveOrder.disabled = !changed;
  grid.dataset.order = order.join(',');
  if (focusFile) grid.querySelector<HTMLButtonElement>(`li[data-file="${CSS.escape(focusFile)}"] button.move-up:not([disabled]), li[data-file="${CSS.escape(focusFile)}"] button.move-down`)?.focus();
  renderToc(o);
}

function startDragAndDrop(grid: HTMLElement): void {
  let dragged: string | undefined;
  grid.addEventListener('dragstart', (e) => {
    const li = (e.target as HTMLElement).closest<HTMLElement>('li.page-card');
    if (!li || !e.dataTransfer) return;
    dragged = li.dataset.file;
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', dragged ?? '');
    li.classList.add('dragging');
  });
  grid.addEventListener('dragover', (e) => {
    if (!dragged) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'move';
  });
  grid.addEventListener('drop', (e) => {
    if (!dragged) return;
    e.preventDefault();
    const target = (e.target as HTMLElement).closest<HTMLElement>('li.page-card');
    const id = dragged;
    dragged = undefined;
    if (!target?.dataset.file || target.dataset.file === id) {
      render(currentObject());
      return;
    }
    // Dropped on the first half of a card: before it; on the second half: after it.
    const box = target.getBoundingClientRect();
    const after = e.clientX > box.left + box.width / 2;
    const without = order.filter((x) => x !== id);
    const at = without.indexOf(target.dataset.file) + (after ? 1 : 0);
    order = [...without.slice(0, at), id, ...without.slice(at)];
    render(currentObject());
  });
  grid.addEventListener('dragend', () => {
    dragged = undefined;
    for (const li of grid.querySelectorAll('.dragging')) li.classList.remove('dragging');
  });
}

async function put(path: string, json: unknown, done: { vi: string; en: string }): Promise<boolean> {
  const o = currentObject();
  try {
    const res = await api<StaffObject>('PUT', `/api/objects/${encodeURIComponent(o.id)}${path}`, { json, headers: ifMatch(o) });
    setObject(res.data);
    announce(done, 'ok');
    return true;
  } catch (err) {
    const e = err as { status?: number; messages?: { vi: string; en: string } };
    if (e.status === 409 || e.status === 412) {
      // Someone changed the object meanwhile: show theirs; the person does it again on top.
      await reloadObject();
      announce({ vi: 'Tài liệu vừa được người khác thay đổi; đã tải lại, hãy làm lại thao tác.', en: 'Someone else just changed the object; it was reloaded: please do it again.' }, 'error');
      return false;
    }
    announce(e.messages ?? String(err), 'error');
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Table of contents

let toc: RangeEntry[] | undefined;

function pageOptions(o: StaffObject): Array<{ value: string; text: string }> {
  const pages = pagesOf(o);
  return pages.map((p, n) => ({ value: pageKey(p), text: `${n + 1}${p.label ? ` (${p.label})` : ''}` }));
}

function renderToc(o: StaffObject): void {
  const body = document.querySelector('#toc-editor tbody');
  if (!body) return;
  toc ??= Array.isArray(o.structure) ? o.structure.map((r) => ({ ...r })) : [];
  const options = pageOptions(o);
  const rows = toc.map((r, n) => {
    if (!editable) {
      const at = options.find((x) => x.value === pageKey(r));
      return el('tr', {}, el('td', {}, r.label), el('td', {}, at ? at.text : '—'));
    }
    const label = el('input', { type: 'text', class: 'toc-label', 'aria-label': `${t({ vi: 'Tên mục', en: 'Entry label' })} ${n + 1}`, maxlength: '500' });
    label.value = r.label;
    label.addEventListener('input', () => {
      r.label = label.value;
    });
    const select = el('select', { class: 'toc-page', 'aria-label': `${t({ vi: 'Bắt đầu ở trang', en: 'Starts at page' })} ${n + 1}` });
    for (const opt of options) {
      const option = el('option', { value: opt.value }, opt.text);
      if (opt.value === pageKey(r)) option.selected = true;
      select.append(option);
    }
    select.addEventListener('change', () => {
      const [fileId, page] = select.value.split('~');
      r.fileId = fileId ?? '';
      if (page) r.page = Number(page);
      else delete r.page;
    });
    const remove = el('button', { type: 'button', class: 'toc-remove', 'aria-label': `${t({ vi: 'Xoá mục', en: 'Remove entry' })} ${n + 1}` }, '×');
    remove.addEventListener('click', () => {
      toc?.splice(n, 1);
      renderToc(currentObject());
    });
    return el('tr', {}, el('td', {}, label), el('td', {}, select), el('td', {}, remove));
  });
  body.replaceChildren(...rows);
}

function startToc(): void {
  document.getElementById('toc-add')?.addEventListener('click', () => {
    const o = currentObject();
    const first = pagesOf(o)[0];
    if (!first) {
      announce({ vi: 'Chưa có trang nào: hãy tải ảnh lên trước.', en: 'There are no pages yet: upload images first.' }, 'error');
      return;
    }
    toc = [...(toc ?? []), { label: '', fileId: first.fileId, ...(first.page && first.page > 1 ? { page: first.page } : {}) }];
    renderToc(o);
    document.querySelector<HTMLInputElement>('#toc-editor tr:last-child .toc-label')?.focus();
  });
  document.getElementById('toc-save')?.addEventListener('click', () => {
    const ranges = (toc ?? []).map((r) => ({ label: r.label.trim(), fileId: r.fileId, ...(r.page && r.page > 1 ? { page: r.page } : {}) }));
    if (ranges.some((r) => !r.label)) {
      announce({ vi: 'Mỗi mục cần có tên.', en: 'Every entry needs a label.' }, 'error');
      return;
    }
    void put('/structure', { ranges }, { vi: 'Đã lưu mục lục.', en: 'Table of contents saved.' }).then((ok) => {
      if (!ok) return;
      toc = undefined;
      renderToc(currentObject());
    });
  });
}

// ---------------------------------------------------------------------------------------

function schedulePoll(o: StaffObject): void {
  if (pollTimer !== undefined) clearTimeout(pollTimer);
  pollTimer = undefined;
  if (!isPending(o)) return;
  pollTimer = setTimeout(() => {
    pollTimer = undefined;
    void reloadObject().catch(() => schedulePoll(currentObject()));
  }, POLL_MS);
}

export function startPages(canEdit: boolean): void {
  editable = canEdit;
  const grid = document.getElementById('page-grid');
  if (!grid) return;
  if (editable) startDragAndDrop(grid);
  render(currentObject());
  schedulePoll(currentObject());
  let lastSaved = savedOrder(currentObject());
  onObjectChange((o) => {
    // The status poll reads the object again every few seconds while work is pending: an order
    // the person has dragged but not saved yet stays on screen unless the saved order itself
    // changed meanwhile (their own save, someone else's, or new files).
    const saved = savedOrder(o);
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((id, n) => id === b[n]);
    if (same(order, lastSaved) || !same(saved, lastSaved)) order = saved;
    lastSaved = saved;
    render(o);
    schedulePoll(o);
  });
  if (!editable) return;
  document.getElementById('save-order')?.addEventListener('click', () => {
    void put('/files/order', { order }, { vi: 'Đã lưu thứ tự trang.', en: 'Page order saved.' });
  });
  document.getElementById('save-labels')?.addEventListener('click', () => {
    const labels = [...dirtyLabels].map(([key, label]) => {
      const [fileId, page] = key.split('~');
      return { fileId: fileId ?? '', ...(page ? { page: Number(page) } : {}), label: label.trim() };
    });
    if (labels.length === 0) return;
    void put('/page-labels', { labels }, { vi: 'Đã lưu nhãn trang.', en: 'Page labels saved.' }).then((ok) => {
      if (!ok) return;
      dirtyLabels = new Map();
      (document.getElementById('save-labels') as HTMLButtonElement | null)?.setAttribute('disabled', '');
    });
  });
  document.getElementById('label-pattern-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    const pattern = (document.getElementById('label-pattern') as HTMLInputElement).value.trim();
    const start = Number((document.getElementById('label-start') as HTMLInputElement).value || '1');
    if (!pattern) {
      announce({ vi: 'Hãy nhập mẫu nhãn, ví dụ "tờ {f}".', en: 'Enter a pattern, e.g. "tờ {f}".' }, 'error');
      return;
    }
    void put('/page-labels', { pattern, start }, { vi: 'Đã đặt nhãn cho mọi trang.', en: 'Every page is labelled.' }).then((ok) => {
      if (ok) dirtyLabels = new Map();
    });
  });
  startToc();
}

import { api, ApiError, type Bilingual, csrfToken, problemError } from './api.ts';
import { el } from './objects-form.ts';
import { currentObject, ifMatch, reloadObject, type StaffObject } from './objects-state.ts';
import { announce, t } from './page.ts';
import { sha256OfFile, toBase64, toHex } from './upload-sha256.ts';

/**
 * Uploading files into an object from the browser: files or whole folders (a folder input,
 * or folders dropped: DataTransferItem.webkitGetAsEntry), SHA-256 computed here, a pre-check
 * (POST …/files/check) that refuses unsupported or oversized files and names those already
 * stored before any bytes are sent, then each file as a raw body with Content-Digest through
 * XMLHttpRequest (for upload progress), two at a time. A file that fails on the way (network
 * drop, server restart) is sent again with backoff: uploads are idempotent by digest, so a
 * resend never makes a second copy. "Retry failed" does the same by hand.
 */
const PARALLEL = 2;
const MAX_ATTEMPTS = 5;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 16000];

type State = 'hashing' | 'checking' | 'queued' | 'sending' | 'done' | 'duplicate' | 'refused' | 'failed' | 'waiting';

interface Item {
  file: File;
  /** Path inside a chosen or dropped folder (for order and display). */
  path: string;
  sha256?: Uint8Array;
  state: State;
  sent: number;
  attempts: number;
  message?: string;
  fileId?: string;
  row: HTMLTableRowElement;
  bar: HTMLProgressElement;
  status: HTMLElement;
}

const STATE_TEXT: Record<State, Bilingual> = {
  hashing: { vi: 'Đang tính mã băm…', en: 'Computing the digest…' },
  checking: { vi: 'Đang kiểm tra trước…', en: 'Pre-checking…' },
  queued: { vi: 'Chờ gửi', en: 'Waiting to send' },
  sending: { vi: 'Đang gửi…', en: 'Sending…' },
  done: { vi: 'Đã lưu', en: 'Stored' },
  duplicate: { vi: 'Đã có sẵn trong kho (không gửi lại)', en: 'Already stored (not sent again)' },
  refused: { vi: 'Bị từ chối', en: 'Refused' },
  failed: { vi: 'Lỗi', en: 'Failed' },
  waiting: { vi: 'Mất kết nối, sẽ thử lại…', en: 'Connection lost, retrying…' },
};

const items: Item[] = [];
let onDone: () => Promise<unknown> = async () => undefined;
let running = 0;

function formatSize(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${n} B`;
}

/** Names sorted as people number scans: "trang-2" before "trang-10". */
const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Files a folder brings along that are not scans (desktop and scanner bookkeeping). */
const isJunk = (name: string) => name.startsWith('.') || /^(thumbs\.db|desktop\.ini)$/i.test(name);

function setState(item: Item, state: State, message?: string): void {
  item.state = state;
  item.row.dataset.state = state;
  const text = t(STATE_TEXT[state]);
  item.status.textContent = message ? `${text}: ${message}` : text;
  if (message) item.message = message;
  updateTotal();
}

function updateTotal(): void {
  const bar = document.getElementById('upload-total') as HTMLProgressElement | null;
  const label = document.getElementById('upload-total-text');
  const counted = items.filter((i) => i.state !== 'refused');
  const total = counted.reduce((n, i) => n + i.file.size, 0);
  const sent = counted.reduce((n, i) => n + (i.state === 'done' || i.state === 'duplicate' ? i.file.size : i.sent), 0);
  if (bar) {
    bar.max = Math.max(1, total);
    bar.value = sent;
  }
  const done = items.filter((i) => i.state === 'done' || i.state === 'duplicate').length;
  if (label) label.textContent = `${done}/${items.length} · ${formatSize(sent)} / ${formatSize(total)}`;
  const retry = document.getElementById('upload-retry');
  if (retry) retry.hidden = !items.some((i) => i.state === 'failed');
}

function addRow(file: File, path: string): Item {
  const tbody = document.querySelector('#upload-list tbody') as HTMLElement;
  (document.getElementById('upload-list') as HTMLElement).hidden = false;
  const bar = el('progress', { max: String(Math.max(1, file.size)), value: '0' });
  bar.setAttribute('aria-label', path);
  const status = el('span', { class: 'upload-status' });
  const row = el('tr', { 'data-name': file.name }, el('td', {}, path), el('td', {}, formatSize(file.size)), el('td', {}, bar), el('td', {}, status));
  tbody.append(row);
  const item: Item = { file, path, state: 'hashing', sent: 0, attempts: 0, row, bar, status };
  items.push(item);
  setState(item, 'hashing');
  return item;
}

interface CheckAnswer {
  files: Array<{ name: string; accepted: boolean; reason?: Bilingual | string; duplicate: boolean; fileId?: string }>;
}

const reasonText = (r: Bilingual | string | undefined): string => (r === undefined ? '' : typeof r === 'string' ? r : t(r));

/** Asks the server which files it will take, before sending any bytes; without the route, all go. */
async function precheck(batch: Item[]): Promise<void> {
  for (const i of batch) setState(i, 'checking');
  const o = currentObject();
  let answer: CheckAnswer | undefined;
  try {
    answer = (await api<CheckAnswer>('POST', `/api/objects/${encodeURIComponent(o.id)}/files/check`, {
      json: { files: batch.map((i) => ({ name: i.file.name, size: i.file.size, sha256: toHex(i.sha256!) })) },
    })).data;
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) {
      for (const i of batch) setState(i, 'failed', err instanceof ApiError ? t(err.messages) : String(err));
      return;
    }
  }
  batch.forEach((item, n) => {
    const a = answer?.files[n];
    if (a && !a.accepted) setState(item, 'refused', reasonText(a.reason));
    else if (a?.duplicate) {
      if (a.fileId) item.fileId = a.fileId;
      setState(item, 'duplicate');
    } else setState(item, 'queued');
  });
}

/** One raw upload through XHR (fetch has no upload progress); resolves with the server's answer. */
function send(item: Item): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const o = currentObject();
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/objects/${encodeURIComponent(o.id)}/files?name=${encodeURIComponent(item.file.name)}`);
    xhr.setRequestHeader('x-csrf-token', csrfToken());
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Content-Digest', `sha-256=:${toBase64(item.sha256!)}:`);
    xhr.withCredentials = true;
    xhr.upload.onprogress = (e) => {
      item.sent = e.loaded;
      item.bar.value = e.loaded;
      updateTotal();
    };
    xhr.onload = () => {
      let body: unknown = xhr.responseText;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: kept as text for the message
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('network'));
    xhr.onabort = () => reject(new Error('abort'));
    xhr.ontimeout = () => reject(new Error('timeout'));
    xhr.send(item.file);
  });
}

/** Whether a failed answer may succeed when sent again (the server or the network, not the file). */
const retryable = (status: number) => status === 0 || status === 408 || status === 429 || status >= 500;

async function upload(item: Item): Promise<void> {
  for (;;) {
    item.attempts++;
    setState(item, 'sending');
    item.sent = 0;
    try {
      const { status, body } = await send(item);
      if (status >= 200 && status < 300) {
        const b = body as { fileId?: string; duplicate?: boolean };
        if (b.fileId) item.fileId = b.fileId;
        item.bar.value = item.file.size;
        setState(item, b.duplicate ? 'duplicate' : 'done');
        return;
      }
      const problem = problemError(status, body);
      if (!retryable(status) || item.attempts >= MAX_ATTEMPTS) {
        setState(item, status === 413 || status === 415 ? 'refused' : 'failed', t(problem.messages));
        return;
      }
    } catch {
      if (item.attempts >= MAX_ATTEMPTS) {
        setState(item, 'failed', t({ vi: 'mất kết nối; bấm "Gửi lại các tệp lỗi" khi có mạng', en: 'connection lost; press "Retry failed files" when the network is back' }));
        return;
      }
    }
    setState(item, 'waiting');
    await new Promise((r) => setTimeout(r, BACKOFF_MS[Math.min(item.attempts - 1, BACKOFF_MS.length - 1)]));
  }
}

/**
 * Pages arrive in whatever order the two parallel uploads finish; the folder's order (by name)
 * is what the person meant, so the new files are put in that order after the ones already there.
 */
async function keepFolderOrder(batch: Item[]): Promise<void> {
  const o = await reloadObject();
  const wanted = batch.filter((i) => i.state === 'done' && i.fileId).sort((a, b) => natural.compare(a.path, b.path)).map((i) => i.fileId!);
  if (wanted.length < 2) return;
  const bySequence = [...o.files].sort((a, b) => a.sequence - b.sequence).map((f) => f.fileId);
  const others = bySequence.filter((id) => !wanted.includes(id));
  const order = [...others, ...wanted];
  if (order.every((id, n) => id === bySequence[n])) return;
  const res = await api<StaffObject>('PUT', `/api/objects/${encodeURIComponent(o.id)}/files/order`, { json: { order }, headers: ifMatch(o) });
  void res;
}

async function pump(batch: Item[]): Promise<void> {
  const queue = () => items.filter((i) => i.state === 'queued');
  const workers: Array<Promise<void>> = [];
  const worker = async () => {
    running++;
    try {
      for (let next = queue()[0]; next; next = queue()[0]) await upload(next);
    } finally {
      running--;
    }
  };
  for (let n = running; n < PARALLEL; n++) workers.push(worker());
  await Promise.all(workers);
  if (running > 0) return;
  try {
    await keepFolderOrder(batch);
  } catch {
    // The order can still be set by hand in the pages panel.
  }
  await onDone();
  const failed = items.filter((i) => i.state === 'failed' || i.state === 'refused').length;
  announce(
    failed
      ? { vi: `Tải lên xong; ${failed} tệp không được lưu (xem lý do trong danh sách).`, en: `Upload finished; ${failed} file(s) were not stored (see the reasons in the list).` }
      : { vi: 'Đã tải lên xong mọi tệp.', en: 'Every file is uploaded.' },
    failed ? 'error' : 'ok',
  );
}

async function addFiles(list: Array<{ file: File; path: string }>): Promise<void> {
  const files = list.filter((f) => !isJunk(f.file.name)).sort((a, b) => natural.compare(a.path, b.path));
  if (files.length === 0) return;
  const batch = files.map((f) => addRow(f.file, f.path));
  announce({ vi: `Đang chuẩn bị ${batch.length} tệp…`, en: `Preparing ${batch.length} file(s)…` });
  for (const item of batch) {
    try {
      // Measured (the staff bench reads it): reading the file and its digest in the browser.
      const t0 = performance.now();
      item.sha256 = await sha256OfFile(item.file);
      performance.measure('thukho:sha256', { start: t0, end: performance.now(), detail: { bytes: item.file.size } });
    } catch (err) {
      setState(item, 'failed', t({ vi: 'không đọc được tệp', en: 'the file could not be read' }) + ` (${String(err)})`);
    }
  }
  const ready = batch.filter((i) => i.sha256);
  if (ready.length) await precheck(ready);
  await pump(batch);
}

/** Every file under a dropped folder (readEntries answers in chunks: read until it is empty). */
async function walk(entry: FileSystemEntry, prefix: string, out: Array<{ file: File; path: string }>): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, path: `${prefix}${file.name}` });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (chunk.length === 0) break;
    for (const child of chunk) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

async function dropped(dt: DataTransfer): Promise<Array<{ file: File; path: string }>> {
  const entries = [...dt.items].map((i) => (i.kind === 'file' ? i.webkitGetAsEntry() : null)).filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return [...dt.files].map((file) => ({ file, path: file.name }));
  const out: Array<{ file: File; path: string }> = [];
  for (const e of entries) await walk(e, '', out);
  return out;
}

const fromInput = (input: HTMLInputElement) => [...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name }));

export function startUpload(done: () => Promise<unknown>): void {
  onDone = done;
  const drop = document.getElementById('upload-drop');
  const filesInput = document.getElementById('upload-files') as HTMLInputElement | null;
  const folderInput = document.getElementById('upload-folder') as HTMLInputElement | null;
  if (!drop || !filesInput || !folderInput) return;
  for (const input of [filesInput, folderInput]) {
    input.addEventListener('change', () => {
      const list = fromInput(input);
      input.value = '';
      void addFiles(list);
    });
  }
  drop.addEventListener('dragover', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    drop.classList.add('drag-over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('drag-over'));
  drop.addEventListener('drop', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    drop.classList.remove('drag-over');
    void dropped(e.dataTransfer).then(addFiles);
  });
  document.getElementById('upload-retry')?.addEventListener('click', () => {
    const failed = items.filter((i) => i.state === 'failed');
    for (const i of failed) i.attempts = 0;
    const hashed = failed.filter((i) => i.sha256);
    // The pre-check again: what reached the server before the drop is not sent twice.
    void (hashed.length ? precheck(hashed) : Promise.resolve()).then(() => pump(failed));
  });
}

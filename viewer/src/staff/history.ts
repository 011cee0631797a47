import { api, ApiError } from './api.ts';
import { el, showValue } from './objects-form.ts';
import { currentObject, onObjectChange, pagesOf, type StaffObject } from './objects-state.ts';
import { pageData, pageLang, t } from './page.ts';

/**
 * The change history of an object (GET /api/objects/:id/history): per decision, who, when,
 * why, and each field before → after. Redrawn whenever the object changes on this screen.
 */
interface Change {
  field: string;
  before?: unknown;
  after?: unknown;
}

interface HistoryEvent {
  revision: number;
  position?: string;
  type: string;
  at: string;
  actor: { id: string; role: string } | string;
  reason?: string;
  changes: Change[];
}

const EVENT_NAMES: Record<string, { vi: string; en: string }> = {
  ObjectRegistered: { vi: 'Đăng ký tài liệu', en: 'Object registered' },
  MetadataEdited: { vi: 'Sửa mô tả', en: 'Description edited' },
  AccessPolicyChanged: { vi: 'Đổi mức truy cập', en: 'Access level changed' },
  ObjectWithdrawn: { vi: 'Rút tài liệu', en: 'Object withdrawn' },
  FilesReordered: { vi: 'Đổi thứ tự trang', en: 'Pages reordered' },
  PageLabelsSet: { vi: 'Đặt nhãn trang', en: 'Page labels set' },
  StructureSet: { vi: 'Đặt mục lục', en: 'Table of contents set' },
};

/**
 * Before the server has the history route: the diff worked out from the object's own event
 * stream (GET /api/objects/:id/events), for registration, metadata edits, access and withdrawal.
 */
async function historyFromEvents(id: string): Promise<HistoryEvent[]> {
  const res = await api<{ events: Array<{ revision: number; type: string; data: Record<string, unknown>; metadata: { occurredAt: string; actor: { id: string; role: string }; reason?: string } }> }>(
    'GET', `/api/objects/${encodeURIComponent(id)}/events`,
  );
  const state: Record<string, unknown> = {};
  const out: HistoryEvent[] = [];
  for (const e of res.data.events) {
    const changes: Change[] = [];
    const set = (field: string, after: unknown) => {
      changes.push({ field, before: state[field], after });
      if (after === null || after === undefined) delete state[field];
      else state[field] = after;
    };
    if (e.type === 'ObjectRegistered') {
      for (const [k, v] of Object.entries((e.data.metadata as Record<string, unknown>) ?? {})) set(k, v);
      set('accessLevel', e.data.accessLevel);
    } else if (e.type === 'MetadataEdited') {
      for (const [k, v] of Object.entries((e.data.changes as Record<string, unknown>) ?? {})) set(k, v);
    } else if (e.type === 'AccessPolicyChanged') {
      set('accessLevel', e.data.to);
    } else if (e.type === 'ObjectWithdrawn') {
      set('status', 'withdrawn');
    } else if (e.type === 'FilesReordered') {
      set('order', e.data.order);
    } else continue;
    const reason = typeof e.data.reason === 'string' ? e.data.reason : e.metadata.reason;
    out.push({ revision: e.revision, type: e.type, at: e.metadata.occurredAt, actor: e.metadata.actor, ...(reason ? { reason } : {}), changes });
  }
  return out;
}

const STATUS_NAMES: Record<string, { vi: string; en: string }> = {
  active: { vi: 'đang lưu hành', en: 'active' },
  withdrawn: { vi: 'đã rút', en: 'withdrawn' },
};

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(pageLang() === 'vi' ? 'vi-VN' : 'en-GB');
}

/**
 * Page labels, the table of contents and the page order are recorded by file and image ids
 * (`pages.<imageId>.label`, ranges with a fileId): shown as people know them, by page number
 * and file name in the object's reading order as it is now.
 */
function describe(o: StaffObject): { field: (name: string) => string | undefined; value: (name: string, v: unknown) => string } {
  const pages = pagesOf(o);
  const pageNo = (fileId: unknown, page: unknown) => {
    const n = pages.findIndex((p) => p.fileId === fileId && (p.page ?? 1) === (typeof page === 'number' ? page : 1));
    return n < 0 ? undefined : n + 1;
  };
  const names = new Map(o.files.map((f) => [f.fileId, f.name]));
  const accessNames = pageData<{ accessNames?: Record<string, string> }>()?.accessNames ?? {};
  return {
    field: (name) => {
      const m = /^pages\.(.+)\.label$/.exec(name);
      if (!m) return undefined;
      const n = pages.findIndex((p) => p.imageId === m[1]);
      return `${t({ vi: 'Nhãn trang', en: 'Page label' })} ${n < 0 ? m[1] : n + 1}`;
    },
    value: (name, v) => {
      if (name === 'structure' && Array.isArray(v)) {
        if (v.length === 0) return '—';
        return v.map((r: { label?: unknown; fileId?: unknown; page?: unknown }) => {
          const n = pageNo(r.fileId, r.page);
          return `${String(r.label ?? '')} (${t({ vi: 'trang', en: 'page' })} ${n ?? '?'})`;
        }).join('; ');
      }
      if (name === 'order' && Array.isArray(v)) return v.map((id) => names.get(String(id)) ?? String(id)).join(', ');
      // Access levels and statuses in the words the screen uses for them, not their codes.
      if (name === 'accessLevel' && typeof v === 'string') return accessNames[v] ?? v;
      if (name === 'status' && typeof v === 'string') return STATUS_NAMES[v] ? t(STATUS_NAMES[v]) : v;
      return showValue(v);
    },
  };
}

function render(list: HTMLElement, events: HistoryEvent[], labels: Record<string, string>): void {
  const shown = describe(currentObject());
  if (events.length === 0) {
    list.replaceChildren(el('p', {}, t({ vi: 'Chưa có thay đổi nào.', en: 'No changes yet.' })));
    return;
  }
  const ol = el('ol', { class: 'history-list', reversed: '' });
  for (const e of [...events].reverse()) {
    const who = typeof e.actor === 'string' ? e.actor : `${e.actor.id} (${e.actor.role})`;
    const item = el('li', { class: 'history-event', 'data-type': e.type, 'data-revision': String(e.revision) },
      el('p', { class: 'history-head' },
        el('strong', {}, EVENT_NAMES[e.type] ? t(EVENT_NAMES[e.type]!) : e.type), ' · ',
        el('time', { datetime: e.at }, when(e.at)), ' · ', who,
        ` · ${t({ vi: 'phiên bản', en: 'revision' })} ${e.revision}`),
    );
    if (e.reason) item.append(el('p', { class: 'history-reason' }, `${t({ vi: 'Lý do', en: 'Why' })}: ${e.reason}`));
    if (e.changes.length) {
      const table = el('table', { class: 'history-diff' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t({ vi: 'Trường', en: 'Field' })), el('th', { scope: 'col' }, t({ vi: 'Trước', en: 'Before' })), el('th', { scope: 'col' }, t({ vi: 'Sau', en: 'After' })))));
      const body = el('tbody');
      for (const c of e.changes) {
        body.append(el('tr', { 'data-field': c.field },
          el('th', { scope: 'row' }, labels[c.field] ?? shown.field(c.field) ?? c.field),
          el('td', { class: 'diff-before' }, el('del', {}, shown.value(c.field, c.before))),
          el('td', { class: 'diff-after' }, el('ins', {}, shown.value(c.field, c.after)))));
      }
      table.append(body);
      item.append(table);
    }
    ol.append(item);
  }
  list.replaceChildren(ol);
}

export function startHistory(labels: Record<string, string>): void {
  const list = document.getElementById('history-list');
  if (!list) return;
  let shown = -1;
  const load = async () => {
    const o = currentObject();
    if (o.revision === shown) return;
    shown = o.revision;
    try {
      let events: HistoryEvent[];
      try {
        events = (await api<{ events: HistoryEvent[] }>('GET', `/api/objects/${encodeURIComponent(o.id)}/history`)).data.events;
      } catch (err) {
        if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
        events = await historyFromEvents(o.id);
      }
      render(list, events, labels);
    } catch (err) {
      list.replaceChildren(el('p', { class: 'notice notice-error' }, err instanceof ApiError ? t(err.messages) : String(err)));
    }
  };
  void load();
  onObjectChange(() => void load());
}

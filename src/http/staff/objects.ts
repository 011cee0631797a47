import type Router from '@koa/router';
import { z } from 'zod';
import { canWrite } from '../../domain/access-policy.ts';
import { ACCESS_LEVELS, Id } from '../../domain/metadata.ts';
import { type CollectionView, findObject, holdingLibraryOf, listCollections, listObjects, type ObjectView } from '../../projections/object-read-model.ts';
import { fixityClock, staffFor, staffObjectView, withFixity } from '../object-views.ts';
import type { AppServices } from '../services.ts';
import { pageImages } from '../../iiif/manifest.ts';
import { nameIn, type PublicLibrary, publicLibraries } from '../../projections/library-map.ts';
import { type SafeHtml, html, queryString } from '../site/html.ts';
import { type Bilingual, type Lang, formatCount, tr } from '../site/i18n.ts';
import { PageError } from '../site/site-route.ts';
import { BadRequest, validId } from '../site/request.ts';
import type { StaffKit, StaffSite } from './routes.ts';
import { ACCESS_FIELD, ACCESS_LEVEL_NAMES, DC_FIELDS, fieldLabels, formField } from './objects-form.ts';
import { pagesPanel, uploadPanel } from './upload.ts';

/**
 * The objects screens of the staff workspace: the list with its filters, the new-object
 * form and one object's record (edit, access, withdraw, history, upload, pages). The list
 * is rendered here from the same read-model function the API's GET /api/objects uses; every
 * change is made by the page's script through the documented /api routes, so the server
 * checks it exactly as it checks a script's.
 */

export const OBJECTS_TEXT = {
  listTitle: { vi: 'Tài liệu', en: 'Objects' },
  newObject: { vi: 'Thêm tài liệu mới', en: 'New object' },
  newTitle: { vi: 'Tài liệu mới', en: 'New object' },
  filters: { vi: 'Lọc danh sách', en: 'Filter the list' },
  q: { vi: 'Tìm theo nhan đề hoặc ký hiệu', en: 'Search title or identifier' },
  collection: { vi: 'Bộ sưu tập', en: 'Collection' },
  anyCollection: { vi: 'Mọi bộ sưu tập', en: 'Any collection' },
  library: { vi: 'Thư viện', en: 'Library' },
  anyLibrary: { vi: 'Mọi thư viện', en: 'Any library' },
  status: { vi: 'Trạng thái', en: 'Status' },
  statusActive: { vi: 'Đang lưu giữ', en: 'Active' },
  statusWithdrawn: { vi: 'Đã rút', en: 'Withdrawn' },
  statusAll: { vi: 'Tất cả', en: 'All' },
  accessLevel: { vi: 'Mức truy cập', en: 'Access level' },
  any: { vi: 'Bất kỳ', en: 'Any' },
  hasOcr: { vi: 'Có văn bản OCR', en: 'Has OCR text' },
  yes: { vi: 'Có', en: 'Yes' },
  no: { vi: 'Không', en: 'No' },
  fixity: { vi: 'Kiểm tra toàn vẹn', en: 'Fixity' },
  apply: { vi: 'Lọc', en: 'Apply' },
  clear: { vi: 'Bỏ lọc', en: 'Clear' },
  title: { vi: 'Nhan đề', en: 'Title' },
  identifier: { vi: 'Ký hiệu', en: 'Identifier' },
  pages: { vi: 'Số trang', en: 'Pages' },
  ocr: { vi: 'OCR', en: 'OCR' },
  updated: { vi: 'Cập nhật', en: 'Updated' },
  found: { vi: 'tài liệu', en: 'objects' },
  none: { vi: 'Không có tài liệu nào khớp bộ lọc.', en: 'No objects match these filters.' },
  next: { vi: 'Trang sau →', en: 'Next page →' },
  first: { vi: '← Về trang đầu', en: '← First page' },
  save: { vi: 'Lưu', en: 'Save' },
  create: { vi: 'Tạo tài liệu', en: 'Create object' },
  record: { vi: 'Bản ghi mô tả', en: 'Descriptive record' },
  reason: { vi: 'Lý do thay đổi (không bắt buộc)', en: 'Why (optional)' },
  reasonHelp: { vi: 'Ghi lại vì sao sửa, ví dụ "sửa lỗi chính tả theo bản gốc"; lưu cùng lịch sử thay đổi.', en: 'Why you change it, e.g. "typo corrected from the original"; kept with the change history.' },
  accessTitle: { vi: 'Mức truy cập', en: 'Access level' },
  accessReason: { vi: 'Lý do đổi mức truy cập (bắt buộc)', en: 'Why the access level changes (required)' },
  accessReasonHelp: { vi: 'Ví dụ "theo yêu cầu của gia đình hiến tặng". Lý do được lưu vĩnh viễn.', en: 'E.g. "at the donor family\'s request". The reason is kept for good.' },
  changeAccess: { vi: 'Đổi mức truy cập', en: 'Change access level' },
  withdrawTitle: { vi: 'Rút tài liệu khỏi kho', en: 'Withdraw the object' },
  withdrawHelp: { vi: 'Tài liệu đã rút không còn hiển thị cho bạn đọc; tệp và lịch sử vẫn được giữ. Không thể hoàn tác bằng màn hình này.', en: 'A withdrawn object is no longer shown to readers; its files and history are kept. This screen cannot undo it.' },
  withdrawReason: { vi: 'Lý do rút (bắt buộc)', en: 'Why it is withdrawn (required)' },
  withdraw: { vi: 'Rút tài liệu…', en: 'Withdraw…' },
  history: { vi: 'Lịch sử thay đổi', en: 'Change history' },
  historyLoading: { vi: 'Đang tải lịch sử…', en: 'Loading the history…' },
  publicPage: { vi: 'Trang công khai và phòng đọc', en: 'Public page and reading room' },
  manifest: { vi: 'IIIF manifest', en: 'IIIF manifest' },
  provenance: { vi: 'Dòng thời gian nguồn gốc (provenance)', en: 'Provenance timeline' },
  readOnly: { vi: 'Bạn chỉ xem được (vai trò kiểm soát viên); mọi thay đổi do cán bộ biên mục thực hiện.', en: 'You can only look (auditor role); curators make the changes.' },
  withdrawnNotice: { vi: 'Tài liệu này đã bị rút khỏi kho. Lý do:', en: 'This object has been withdrawn. Reason:' },
  revision: { vi: 'Phiên bản', en: 'Revision' },
  notFoundTitle: { vi: 'Không tìm thấy tài liệu', en: 'Object not found' },
  notFound: { vi: 'Không có tài liệu với mã này.', en: 'There is no object with this id.' },
  badFilter: { vi: 'Bộ lọc không hợp lệ: hãy chọn lại từ danh sách.', en: 'Invalid filter: choose again from the list.' },
} as const satisfies Record<string, Bilingual>;

const FIXITY_STATES = ['passed', 'failed', 'repaired', 'damaged', 'overdue', 'unchecked'] as const;
export const FIXITY_NAMES: Record<(typeof FIXITY_STATES)[number], Bilingual> = {
  passed: { vi: 'Đạt', en: 'Passed' },
  failed: { vi: 'Lỗi', en: 'Failed' },
  repaired: { vi: 'Đã sửa', en: 'Repaired' },
  damaged: { vi: 'Hỏng', en: 'Damaged' },
  overdue: { vi: 'Quá hạn', en: 'Overdue' },
  unchecked: { vi: 'Chưa kiểm tra', en: 'Never checked' },
};

/** The list screen's filters: the API's names (GET /api/objects), checked the same way. */
export const StaffListFilters = z.object({
  q: z.string().trim().max(500).optional(),
  collectionId: z.union([z.literal(''), Id]).optional(),
  library: z.union([z.literal(''), Id]).optional(),
  status: z.enum(['active', 'withdrawn', 'all', '']).optional(),
  accessLevel: z.enum([...ACCESS_LEVELS, '']).optional(),
  hasOcr: z.enum(['true', 'false', '']).optional(),
  fixity: z.enum([...FIXITY_STATES, '']).optional(),
  cursor: z.union([z.literal(''), z.coerce.number().int().positive()]).optional(),
  limit: z.union([z.literal(''), z.coerce.number().int().min(1).max(200)]).optional(),
  lang: z.string().optional(),
});
export type StaffListFilters = z.infer<typeof StaffListFilters>;

/** What a list item carries beyond ObjectView (the read model's page count and OCR flag, and the fixity state). */
type ListItem = ObjectView & { pageCount?: number; hasOcr?: boolean; fixity?: string };

/** The list the API's `GET /api/objects` gives for the same filters: the one list function, and the fixity state beside each item. */
export function staffListing(site: StaffSite, services: AppServices, f: StaffListFilters, limit: number): { items: ListItem[]; total: number; next: number | null } {
  const status = f.status || 'active';
  const clock = fixityClock(services);
  const page = listObjects(services.readDb, {
    viewer: site.viewer,
    limit,
    includeWithdrawn: status !== 'active',
    status,
    ...(typeof f.cursor === 'number' ? { before: f.cursor } : {}),
    ...(f.collectionId ? { collectionId: f.collectionId } : {}),
    ...(f.library ? { library: { id: f.library, home: services.config.libraryId } } : {}),
    ...(f.q ? { q: f.q } : {}),
    ...(f.accessLevel ? { accessLevel: f.accessLevel } : {}),
    ...(f.hasOcr ? { hasOcr: f.hasOcr === 'true' } : {}),
    ...(f.fixity ? { fixity: f.fixity, fixityAt: clock } : {}),
  });
  return { ...page, items: withFixity(services, site.viewer, page.items, clock) };
}

function selectFilter(lang: Lang, name: string, label: Bilingual, value: string, options: ReadonlyArray<{ value: string; label: Bilingual | string }>): SafeHtml {
  return html`<div class="field"><label for="filter-${name}">${tr(lang, label)}</label>
<select id="filter-${name}" name="${name}">
${options.map((o) => html`<option value="${o.value}"${o.value === value ? html` selected` : ''}>${typeof o.label === 'string' ? o.label : tr(lang, o.label)}</option>`)}
</select></div>`;
}

function badge(kind: string, text: string): SafeHtml {
  return html`<span class="badge badge-${kind}">${text}</span>`;
}

/** The libraries sharing the instance, and which holds each work (the row the library filter reads): shown only when there are several. */
interface ListLibraries {
  all: readonly PublicLibrary[];
  holder: (objectId: string) => string;
}

function listPage(lang: Lang, f: StaffListFilters, collections: readonly CollectionView[], libraries: ListLibraries, result: { items: ListItem[]; total: number; next: number | null }, writer: boolean): SafeHtml {
  const T = OBJECTS_TEXT;
  const several = libraries.all.length > 1;
  const libraryName = new Map(libraries.all.map((l) => [l.id, nameIn(lang, l)]));
  const keep = { q: f.q, collectionId: f.collectionId, library: f.library, status: f.status, accessLevel: f.accessLevel, hasOcr: f.hasOcr, fixity: f.fixity, limit: typeof f.limit === 'number' ? f.limit : undefined };
  const anyOpt = { value: '', label: T.any };
  const collectionName = new Map(collections.map((c) => [c.id, c.title]));
  return html`<div class="staff-heading"><h1>${tr(lang, T.listTitle)}</h1>
${writer ? html`<p><a class="button" href="/staff/objects/new" id="new-object">${tr(lang, T.newObject)}</a></p>` : ''}</div>
<form class="filters" method="get" action="/staff/objects" role="search" aria-label="${tr(lang, T.filters)}">
<div class="field"><label for="filter-q">${tr(lang, T.q)}</label><input type="search" id="filter-q" name="q" value="${f.q ?? ''}" maxlength="500"></div>
${selectFilter(lang, 'collectionId', T.collection, f.collectionId ?? '', [{ value: '', label: T.anyCollection }, ...collections.map((c) => ({ value: c.id, label: `${c.title} (${c.id})` }))])}
${several ? selectFilter(lang, 'library', T.library, f.library ?? '', [{ value: '', label: T.anyLibrary }, ...libraries.all.map((l) => ({ value: l.id, label: nameIn(lang, l) }))]) : ''}
${selectFilter(lang, 'status', T.status, f.status || 'active', [{ value: 'active', label: T.statusActive }, { value: 'withdrawn', label: T.statusWithdrawn }, { value: 'all', label: T.statusAll }])}
${selectFilter(lang, 'accessLevel', T.accessLevel, f.accessLevel ?? '', [anyOpt, ...ACCESS_LEVELS.map((l) => ({ value: l, label: ACCESS_LEVEL_NAMES[l] }))])}
${selectFilter(lang, 'hasOcr', T.hasOcr, f.hasOcr ?? '', [anyOpt, { value: 'true', label: T.yes }, { value: 'false', label: T.no }])}
${selectFilter(lang, 'fixity', T.fixity, f.fixity ?? '', [anyOpt, ...FIXITY_STATES.map((s) => ({ value: s, label: FIXITY_NAMES[s] }))])}
<div class="actions"><button type="submit">${tr(lang, T.apply)}</button> <a href="/staff/objects">${tr(lang, T.clear)}</a></div>
</form>
<p id="objects-total">${formatCount(lang, result.total)} ${tr(lang, T.found)}</p>
${result.items.length === 0
  ? html`<p class="notice notice-info">${tr(lang, T.none)}</p>`
  : html`<table class="objects-table">
<thead><tr><th scope="col">${tr(lang, T.title)}</th><th scope="col">${tr(lang, T.identifier)}</th><th scope="col">${tr(lang, T.collection)}</th>${several ? html`<th scope="col">${tr(lang, T.library)}</th>` : ''}<th scope="col">${tr(lang, T.accessLevel)}</th><th scope="col">${tr(lang, T.status)}</th><th scope="col">${tr(lang, T.pages)}</th><th scope="col">${tr(lang, T.ocr)}</th><th scope="col">${tr(lang, T.fixity)}</th><th scope="col">${tr(lang, T.updated)}</th></tr></thead>
<tbody>
${result.items.map((o) => {
  const fixity = (FIXITY_STATES as readonly string[]).includes(o.fixity ?? '') ? (o.fixity as (typeof FIXITY_STATES)[number]) : undefined;
  const holder = libraries.holder(o.id);
  return html`<tr data-object="${o.id}">
<td><a href="/staff/objects/${o.id}">${o.title}</a><br><small>${o.id}</small></td>
<td>${o.identifier ?? ''}</td>
<td>${o.collectionId ? collectionName.get(o.collectionId) ?? o.collectionId : ''}</td>
${several ? html`<td data-library="${holder}">${libraryName.get(holder) ?? holder}</td>` : ''}
<td>${badge(o.accessLevel, tr(lang, ACCESS_LEVEL_NAMES[o.accessLevel]).split(' (')[0] ?? o.accessLevel)}</td>
<td>${o.status === 'withdrawn' ? badge('failed', tr(lang, T.statusWithdrawn)) : tr(lang, T.statusActive)}</td>
<td>${formatCount(lang, o.pageCount ?? pageImages(o).length)}</td>
<td>${o.hasOcr === undefined ? '—' : tr(lang, o.hasOcr ? T.yes : T.no)}</td>
<td>${fixity ? badge(fixity, tr(lang, FIXITY_NAMES[fixity])) : '—'}</td>
<td><time datetime="${o.updatedAt}">${o.updatedAt.slice(0, 10)}</time></td>
</tr>`;
})}
</tbody></table>`}
<nav class="actions" aria-label="${lang === 'vi' ? 'Chuyển trang' : 'Pages'}">
${f.cursor ? html`<a href="/staff/objects${queryString(keep)}">${tr(lang, T.first)}</a>` : ''}
${result.next !== null ? html`<a rel="next" href="/staff/objects${queryString({ ...keep, cursor: result.next })}">${tr(lang, T.next)}</a>` : ''}
</nav>`;
}

/** The new-object form (the page's script submits it to POST /api/objects). */
function newObjectPage(lang: Lang, collections: readonly CollectionView[]): SafeHtml {
  const T = OBJECTS_TEXT;
  return html`<h1>${tr(lang, T.newTitle)}</h1>
<form class="staff-form" id="object-form" novalidate>
${DC_FIELDS.map((f) => formField(lang, f, undefined, { collections }))}
${formField(lang, ACCESS_FIELD, { accessLevel: 'open' })}
<div class="actions"><button type="submit" id="create-object">${tr(lang, T.create)}</button></div>
</form>`;
}

function objectPageMain(lang: Lang, o: ObjectView, collections: readonly CollectionView[], writer: boolean): SafeHtml {
  const T = OBJECTS_TEXT;
  const readOnly = !writer;
  const active = o.status === 'active';
  const editable = writer && active;
  return html`<h1 id="object-title">${o.title}</h1>
<p class="object-meta"><span>${o.id}</span> · ${badge(o.accessLevel, tr(lang, ACCESS_LEVEL_NAMES[o.accessLevel]))} · <span>${tr(lang, T.revision)} <span id="object-revision">${o.revision}</span></span></p>
<ul class="actions object-links">
<li><a href="/objects/${o.id}" id="link-public">${tr(lang, T.publicPage)}</a></li>
<li><a href="/iiif/manifest/${o.id}" id="link-manifest">${tr(lang, T.manifest)}</a></li>
<li><a href="/staff/objects/${o.id}/provenance" id="link-provenance">${tr(lang, T.provenance)}</a></li>
<li><a href="#history">${tr(lang, T.history)}</a></li>
</ul>
${readOnly ? html`<p class="notice notice-info" id="read-only-notice">${tr(lang, T.readOnly)}</p>` : ''}
${active ? '' : html`<p class="notice notice-warning">${tr(lang, T.withdrawnNotice)} ${o.withdrawnReason ?? ''}</p>`}
<section aria-labelledby="record-heading" class="staff-section">
<h2 id="record-heading">${tr(lang, T.record)}</h2>
<div id="conflict" class="conflict" hidden></div>
<form class="staff-form" id="object-form" novalidate${readOnly ? html` data-readonly="true"` : ''}>
${DC_FIELDS.map((f) => formField(lang, f, o, { readOnly: !editable, collections }))}
${editable
  ? html`<div class="field" data-field="reason"><label for="f-reason">${tr(lang, T.reason)}</label><input type="text" id="f-reason" name="reason" maxlength="2000" aria-describedby="f-reason-help f-reason-error"><p class="help" id="f-reason-help">${tr(lang, T.reasonHelp)}</p><p class="field-error" id="f-reason-error" role="alert" hidden></p></div>
<div class="actions"><button type="submit" id="save-record">${tr(lang, T.save)}</button></div>`
  : ''}
</form>
</section>
<section aria-labelledby="access-heading" class="staff-section">
<h2 id="access-heading">${tr(lang, T.accessTitle)}</h2>
<p>${tr(lang, ACCESS_LEVEL_NAMES[o.accessLevel])}</p>
${editable
  ? html`<form class="staff-form" id="access-form" novalidate>
${formField(lang, ACCESS_FIELD, o)}
<div class="field" data-field="access-reason"><label for="f-access-reason">${tr(lang, T.accessReason)}</label><input type="text" id="f-access-reason" name="reason" required maxlength="2000" aria-describedby="f-access-reason-help f-access-reason-error"><p class="help" id="f-access-reason-help">${tr(lang, T.accessReasonHelp)}</p><p class="field-error" id="f-access-reason-error" role="alert" hidden></p></div>
<div class="actions"><button type="submit" id="change-access">${tr(lang, T.changeAccess)}</button></div>
</form>`
  : ''}
</section>
${editable ? html`<section aria-labelledby="upload-heading" class="staff-section">${uploadPanel(lang)}</section>` : ''}
<section aria-labelledby="pages-heading" class="staff-section">${pagesPanel(lang, editable)}</section>
<section aria-labelledby="history-heading" class="staff-section" id="history">
<h2 id="history-heading">${tr(lang, T.history)}</h2>
<div id="history-list"><p>${tr(lang, T.historyLoading)}</p></div>
</section>
${editable
  ? html`<section aria-labelledby="withdraw-heading" class="staff-section danger-zone">
<h2 id="withdraw-heading">${tr(lang, T.withdrawTitle)}</h2>
<p>${tr(lang, T.withdrawHelp)}</p>
<form class="staff-form" id="withdraw-form" novalidate>
<div class="field" data-field="withdraw-reason"><label for="f-withdraw-reason">${tr(lang, T.withdrawReason)}</label><input type="text" id="f-withdraw-reason" name="reason" required maxlength="2000" aria-describedby="f-withdraw-reason-error"><p class="field-error" id="f-withdraw-reason-error" role="alert" hidden></p></div>
<div class="actions"><button type="submit" id="withdraw">${tr(lang, T.withdraw)}</button></div>
<div id="withdraw-confirm" hidden></div>
</form>
</section>`
  : ''}`;
}

/** What the object page's script needs: the object as the API shows it, and names to show. */
export interface ObjectPageData {
  object: ObjectView;
  canWrite: boolean;
  labels: Record<string, string>;
  accessNames: Record<string, string>;
}

const ListPageQuery = StaffListFilters;

export function registerObjectScreens(router: Router, staff: StaffKit): void {
  const { readDb } = staff.services;

  router.get('/staff/objects', staff.route((site) => {
    const parsed = ListPageQuery.safeParse(Object.fromEntries(site.params));
    if (!parsed.success) throw new BadRequest(OBJECTS_TEXT.badFilter);
    const f = parsed.data;
    const limit = typeof f.limit === 'number' ? f.limit : 50;
    const collections = listCollections(readDb);
    const result = staffListing(site, staff.services, f, limit);
    const { config } = staff.services;
    const libraries = { all: publicLibraries(readDb, config), holder: holdingLibraryOf(readDb, config.libraryId) };
    const { lang } = site.page;
    return site.render({ title: tr(lang, OBJECTS_TEXT.listTitle), section: 'objects', main: listPage(lang, f, collections, libraries, result, canWrite(site.viewer)) });
  }));

  router.get('/staff/objects/new', staff.route((site) => {
    const { lang } = site.page;
    return site.render({
      title: tr(lang, OBJECTS_TEXT.newTitle),
      section: 'objects',
      main: newObjectPage(lang, listCollections(readDb)),
      script: 'object-new',
      data: { labels: fieldLabels(lang) },
    });
  }, {
    allow: (viewer) => viewer.role === 'curator' || viewer.role === 'admin',
    refusal: { vi: 'Chỉ cán bộ biên mục và quản trị viên được tạo tài liệu mới.', en: 'Only curators and administrators may create objects.' },
  }));

  router.get('/staff/objects/:id', staff.route((site) => {
    const id = validId(site.ctx.params.id as string | undefined);
    const found = findObject(readDb, id, site.viewer, 'record');
    if (!found.found) throw new PageError(404, OBJECTS_TEXT.notFoundTitle, OBJECTS_TEXT.notFound);
    const { lang } = site.page;
    // A library's staff edit their library's works only (the API refuses the rest too).
    const writer = canWrite(site.viewer) && staffFor(readDb, site.viewer, id);
    const data: ObjectPageData = {
      // As GET /api/objects/:id answers staff: with each file's ingest status from the first paint.
      object: staffObjectView(staff.services, site.viewer, found.object),
      canWrite: writer && found.object.status === 'active',
      labels: fieldLabels(lang),
      accessNames: Object.fromEntries(ACCESS_LEVELS.map((l) => [l, tr(lang, ACCESS_LEVEL_NAMES[l])])),
    };
    return site.render({ title: found.object.title, section: 'objects', main: objectPageMain(lang, found.object, listCollections(readDb), writer), script: 'object', data });
  }));
}

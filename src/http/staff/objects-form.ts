import { ACCESS_LEVELS, type AccessLevel, FIELD_LABELS } from '../../domain/metadata.ts';
import type { CollectionView, ObjectView } from '../../projections/object-read-model.ts';
import { type SafeHtml, html } from '../site/html.ts';
import { type Bilingual, type Lang, tr } from '../site/i18n.ts';

/**
 * The Dublin Core form of the staff workspace, one description of every field (label, help,
 * how it is typed) behind the new-object form and the record form alike. The browser reads
 * the inputs back by `name` and `data-kind`; the server checks everything again (the same
 * zod schemas as the API), and its `errors[].field` names these same inputs.
 */

/**
 * Labels the catalogue table (FIELD_LABELS) does not have yet: the IIIF reading direction and
 * behaviour, the year range and the access level. Kept here so the staff screens own them.
 */
export const EXTRA_LABELS = {
  yearFrom: { vi: 'Năm bắt đầu', en: 'Year from' },
  yearTo: { vi: 'Năm kết thúc', en: 'Year to' },
  viewingDirection: { vi: 'Hướng đọc', en: 'Reading direction' },
  behavior: { vi: 'Cách trình bày', en: 'Behaviour' },
  accessLevel: { vi: 'Mức truy cập', en: 'Access level' },
  collectionId: FIELD_LABELS.collection,
} as const satisfies Record<string, Bilingual>;

export type FieldKind = 'text' | 'textarea' | 'lines' | 'list' | 'number' | 'select' | 'collection';

export interface FormField {
  name: string;
  label: Bilingual;
  help: Bilingual;
  kind: FieldKind;
  required?: boolean;
  options?: ReadonlyArray<{ value: string; label: Bilingual }>;
}

export const ACCESS_LEVEL_NAMES: Record<AccessLevel, Bilingual> = {
  open: { vi: 'Mở (ai cũng xem được)', en: 'Open (anyone)' },
  restricted: { vi: 'Hạn chế (bạn đọc đã đăng nhập, phòng đọc)', en: 'Restricted (signed-in readers, reading room)' },
  confidential: { vi: 'Mật (chỉ cán bộ)', en: 'Confidential (staff only)' },
};

const DIRECTIONS: FormField['options'] = [
  { value: '', label: { vi: 'Tự động theo ngôn ngữ (Hán văn, Nôm: phải sang trái)', en: 'Automatic from the language (Literary Chinese, Nôm: right to left)' } },
  { value: 'left-to-right', label: { vi: 'Trái sang phải', en: 'Left to right' } },
  { value: 'right-to-left', label: { vi: 'Phải sang trái (sách Hán Nôm)', en: 'Right to left (Han-Nôm books)' } },
  { value: 'top-to-bottom', label: { vi: 'Trên xuống dưới', en: 'Top to bottom' } },
  { value: 'bottom-to-top', label: { vi: 'Dưới lên trên', en: 'Bottom to top' } },
];

const BEHAVIORS: FormField['options'] = [
  { value: '', label: { vi: 'Không đặt', en: 'Not set' } },
  { value: 'paged', label: { vi: 'Sách đóng tập (lật từng trang đôi)', en: 'Bound book (paged)' } },
  { value: 'individuals', label: { vi: 'Tờ rời (từng tờ riêng)', en: 'Loose leaves (individuals)' } },
  { value: 'continuous', label: { vi: 'Cuộn liền (như tranh cuộn)', en: 'Continuous (a scroll)' } },
  { value: 'unordered', label: { vi: 'Không theo thứ tự', en: 'Unordered' } },
];

export const DC_FIELDS: readonly FormField[] = [
  { name: 'title', label: FIELD_LABELS.title, kind: 'text', required: true, help: { vi: 'Tên tài liệu như ghi trên tài liệu hoặc do thư viện đặt. Bắt buộc.', en: 'The name of the work as written on it or given by the library. Required.' } },
  { name: 'alternativeTitle', label: FIELD_LABELS.alternativeTitle, kind: 'lines', help: { vi: 'Tên khác, phiên âm hoặc nhan đề chữ Hán; mỗi dòng một nhan đề.', en: 'Other names, transcriptions or the title in Chinese characters; one per line.' } },
  { name: 'creator', label: FIELD_LABELS.creator, kind: 'text', help: { vi: 'Người hoặc cơ quan làm ra tài liệu.', en: 'The person or body who made the work.' } },
  { name: 'date', label: FIELD_LABELS.date, kind: 'text', help: { vi: 'Niên đại như ghi, ví dụ "Tự Đức năm thứ 3 (1850)".', en: 'The date as written, e.g. "Tự Đức năm thứ 3 (1850)".' } },
  { name: 'yearFrom', label: EXTRA_LABELS.yearFrom, kind: 'number', help: { vi: 'Năm dương lịch sớm nhất (để lọc và sắp xếp).', en: 'The earliest Gregorian year (for filters and sorting).' } },
  { name: 'yearTo', label: EXTRA_LABELS.yearTo, kind: 'number', help: { vi: 'Năm dương lịch muộn nhất; để trống nếu chỉ một năm.', en: 'The latest Gregorian year; leave empty for a single year.' } },
  { name: 'language', label: FIELD_LABELS.language, kind: 'list', help: { vi: 'Mã ISO 639-3, cách nhau bằng dấu phẩy: vie (tiếng Việt), lzh (Hán văn), fra, eng.', en: 'ISO 639-3 codes separated by commas: vie (Vietnamese), lzh (Literary Chinese), fra, eng.' } },
  { name: 'subject', label: FIELD_LABELS.subject, kind: 'text', help: { vi: 'Chủ đề hoặc từ khoá, ví dụ "địa bạ; ruộng đất".', en: 'Subjects or keywords, e.g. "land register; land".' } },
  { name: 'description', label: FIELD_LABELS.description, kind: 'textarea', help: { vi: 'Mô tả nội dung, tình trạng, ghi chú của người biên mục.', en: 'What the work contains, its condition, the cataloguer\'s notes.' } },
  { name: 'type', label: FIELD_LABELS.type, kind: 'text', help: { vi: 'Loại tài liệu, ví dụ "Sắc phong", "Gia phả".', en: 'The kind of document, e.g. "Royal decree", "Genealogy".' } },
  { name: 'format', label: FIELD_LABELS.format, kind: 'text', help: { vi: 'Khổ, chất liệu, ví dụ "27 × 16 cm, giấy dó".', en: 'Size and material, e.g. "27 × 16 cm, dó paper".' } },
  { name: 'extent', label: FIELD_LABELS.extent, kind: 'text', help: { vi: 'Số tờ, số trang, ví dụ "45 tờ".', en: 'Number of leaves or pages, e.g. "45 leaves".' } },
  { name: 'identifier', label: FIELD_LABELS.identifier, kind: 'text', help: { vi: 'Ký hiệu kho của thư viện, ví dụ "HN.123".', en: 'The library\'s shelf mark, e.g. "HN.123".' } },
  { name: 'source', label: FIELD_LABELS.source, kind: 'text', help: { vi: 'Nơi tài liệu gốc được lưu giữ hoặc đến từ đâu.', en: 'Where the original is kept or came from.' } },
  { name: 'rights', label: FIELD_LABELS.rights, kind: 'text', help: { vi: 'Một địa chỉ URI, ví dụ http://rightsstatements.org/vocab/NoC-US/1.0/', en: 'A URI, e.g. http://rightsstatements.org/vocab/NoC-US/1.0/' } },
  { name: 'collectionId', label: EXTRA_LABELS.collectionId, kind: 'collection', help: { vi: 'Bộ sưu tập chứa tài liệu này.', en: 'The collection this work belongs to.' } },
  { name: 'viewingDirection', label: EXTRA_LABELS.viewingDirection, kind: 'select', options: DIRECTIONS, help: { vi: 'Thứ tự lật trang trong phòng đọc.', en: 'The order pages turn in the reading room.' } },
  { name: 'behavior', label: EXTRA_LABELS.behavior, kind: 'select', options: BEHAVIORS, help: { vi: 'Phòng đọc hiển thị tài liệu thế nào.', en: 'How the reading room presents the work.' } },
];

export const ACCESS_FIELD: FormField = {
  name: 'accessLevel',
  label: EXTRA_LABELS.accessLevel,
  kind: 'select',
  options: ACCESS_LEVELS.map((l) => ({ value: l, label: ACCESS_LEVEL_NAMES[l] })),
  help: { vi: 'Ai được xem tài liệu và hình ảnh của nó.', en: 'Who may see the work and its images.' },
};

/** A field's current value as the input shows it. */
function valueOf(object: Partial<ObjectView> | undefined, field: FormField): string {
  const v = (object as Record<string, unknown> | undefined)?.[field.name];
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.join(field.kind === 'lines' ? '\n' : ', ');
  return String(v);
}

function control(lang: Lang, field: FormField, value: string, readOnly: boolean, collections: readonly CollectionView[]): SafeHtml {
  const id = `f-${field.name}`;
  const described = `${id}-help ${id}-error`;
  const common = { id, name: field.name, kind: field.kind };
  if (field.kind === 'textarea' || field.kind === 'lines') {
    return html`<textarea id="${common.id}" name="${common.name}" data-kind="${common.kind}" rows="${field.kind === 'lines' ? 2 : 5}" aria-describedby="${described}"${readOnly ? html` readonly` : ''}>${value}</textarea>`;
  }
  if (field.kind === 'select' || field.kind === 'collection') {
    const options = field.kind === 'collection'
      ? [{ value: '', label: { vi: '(không thuộc bộ sưu tập nào)', en: '(no collection)' } }, ...collections.map((c) => ({ value: c.id, label: { vi: `${c.title} (${c.id})`, en: `${c.title} (${c.id})` } }))]
      : field.options ?? [];
    return html`<select id="${common.id}" name="${common.name}" data-kind="${common.kind}" aria-describedby="${described}"${readOnly ? html` disabled` : ''}>
${options.map((o) => html`<option value="${o.value}"${o.value === value ? html` selected` : ''}>${tr(lang, o.label)}</option>`)}
</select>`;
  }
  const type = field.kind === 'number' ? 'number' : 'text';
  return html`<input type="${type}" id="${common.id}" name="${common.name}" data-kind="${common.kind}" value="${value}" aria-describedby="${described}"${field.required ? html` required` : ''}${readOnly ? html` readonly` : ''}${field.kind === 'number' ? html` step="1" min="-3000" max="2200"` : ''}>`;
}

/** One labelled field with its help text and the place its error message goes. */
export function formField(lang: Lang, field: FormField, object: Partial<ObjectView> | undefined, options: { readOnly?: boolean; collections?: readonly CollectionView[] } = {}): SafeHtml {
  const id = `f-${field.name}`;
  return html`<div class="field" data-field="${field.name}">
<label for="${id}">${tr(lang, field.label)}${field.required ? html` <span aria-hidden="true">*</span>` : ''}</label>
${control(lang, field, valueOf(object, field), options.readOnly ?? false, options.collections ?? [])}
<p class="help" id="${id}-help">${tr(lang, field.help)}</p>
<p class="field-error" id="${id}-error" role="alert" hidden></p>
</div>`;
}

/** The label of any field the history or conflict panel names, for the page's script. */
export function fieldLabels(lang: Lang): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of DC_FIELDS) out[f.name] = tr(lang, f.label);
  out.accessLevel = tr(lang, EXTRA_LABELS.accessLevel);
  out.status = lang === 'vi' ? 'Trạng thái' : 'Status';
  out.order = lang === 'vi' ? 'Thứ tự trang' : 'Page order';
  out.pageLabels = lang === 'vi' ? 'Nhãn trang' : 'Page labels';
  out.structure = lang === 'vi' ? 'Mục lục' : 'Table of contents';
  out.withdrawnReason = lang === 'vi' ? 'Lý do rút' : 'Withdrawal reason';
  return out;
}

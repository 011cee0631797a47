import { z } from 'zod';
import { AccessLevel, Id, Metadata, metadataFields } from '../domain/metadata.ts';
import { foldVietnamese } from '../domain/vietnamese-fold.ts';
import { wellFormedText } from '../domain/well-formed-text.ts';
import { parseCsv } from './csv.ts';

/**
 * Batch metadata for `thukho ingest`: a `metadata.csv` for the whole batch, whose columns
 * may be headed in Vietnamese or English (with or without diacritics), or a
 * `metadata.json` inside each object folder. Multi-valued columns (alternative titles,
 * languages) separate values with `;` or `|`. Every field of the staff form has a column,
 * so that a batch can say all that one work's form can.
 */
const fold = (s: string) =>
  foldVietnamese(s.normalize('NFC'))
    .replace(/[\s_\-.]+/g, ' ')
    .trim();

export type SheetField =
  | 'folder'
  | 'id'
  | 'title'
  | 'alternativeTitle'
  | 'creator'
  | 'date'
  | 'yearFrom'
  | 'yearTo'
  | 'language'
  | 'subject'
  | 'description'
  | 'type'
  | 'format'
  | 'identifier'
  | 'source'
  | 'rights'
  | 'extent'
  | 'collectionId'
  | 'viewingDirection'
  | 'behavior'
  | 'accessLevel'
  | 'pageLabelPattern';

export interface SheetColumn {
  field: SheetField;
  /** The header as a Vietnamese cataloguer writes it (shown in messages and the README). */
  vi: string;
  /** The English header: the JSON name of the field. */
  en: string;
  /** What the cells hold, for the message that lists the columns. */
  values: { vi: string; en: string };
  /** Other headers accepted (compared folded: no diacritics, any case, `_`/`-`/`.` as spaces). */
  aliases: string[];
}

/** The accepted columns, in the order the README and the error message list them. */
export const SHEET_COLUMNS: readonly SheetColumn[] = [
  { field: 'folder', vi: 'Thư mục', en: 'folder', values: { vi: 'tên thư mục của tác phẩm (bắt buộc)', en: "the work's folder name (required)" }, aliases: ['ten thu muc'] },
  { field: 'id', vi: 'Mã tài liệu', en: 'id', values: { vi: 'mã; mặc định lấy từ tên thư mục', en: 'id; default: from the folder name' }, aliases: ['object id'] },
  { field: 'title', vi: 'Nhan đề', en: 'title', values: { vi: 'văn bản (bắt buộc)', en: 'text (required)' }, aliases: ['tieu de', 'ten tai lieu', 'nhan de chinh'] },
  { field: 'alternativeTitle', vi: 'Nhan đề khác', en: 'alternativeTitle', values: { vi: 'danh sách, cách nhau bởi ; hoặc |', en: 'list, separated by ; or |' }, aliases: ['alternative title', 'ten khac', 'nhan de song song', 'nhan de han nom'] },
  { field: 'creator', vi: 'Tác giả', en: 'creator', values: { vi: 'văn bản', en: 'text' }, aliases: ['nguoi bien soan'] },
  { field: 'date', vi: 'Niên đại', en: 'date', values: { vi: 'văn bản, ví dụ "Tự Đức thứ 24"', en: 'text, e.g. "Tự Đức thứ 24"' }, aliases: ['nam', 'ngay', 'thoi gian', 'nam xuat ban'] },
  { field: 'yearFrom', vi: 'Từ năm', en: 'yearFrom', values: { vi: 'số năm; mặc định lấy từ Niên đại', en: 'a year; default: from date' }, aliases: ['year from'] },
  { field: 'yearTo', vi: 'Đến năm', en: 'yearTo', values: { vi: 'số năm; mặc định lấy từ Niên đại', en: 'a year; default: from date' }, aliases: ['year to'] },
  { field: 'language', vi: 'Ngôn ngữ', en: 'language', values: { vi: 'mã ISO 639-3, ví dụ vie;lzh', en: 'ISO 639-3 codes, e.g. vie;lzh' }, aliases: [] },
  { field: 'subject', vi: 'Chủ đề', en: 'subject', values: { vi: 'văn bản', en: 'text' }, aliases: ['tu khoa'] },
  { field: 'description', vi: 'Mô tả', en: 'description', values: { vi: 'văn bản', en: 'text' }, aliases: ['tom tat', 'ghi chu'] },
  { field: 'type', vi: 'Loại hình', en: 'type', values: { vi: 'văn bản', en: 'text' }, aliases: ['loai'] },
  // "Khổ" has always meant extent in these sheets (a sheet written for an earlier version keeps its meaning).
  { field: 'format', vi: 'Định dạng', en: 'format', values: { vi: 'văn bản', en: 'text' }, aliases: ['hinh thuc'] },
  { field: 'identifier', vi: 'Ký hiệu', en: 'identifier', values: { vi: 'văn bản', en: 'text' }, aliases: ['so hieu', 'ki hieu', 'ma xep gia'] },
  { field: 'source', vi: 'Nguồn', en: 'source', values: { vi: 'văn bản', en: 'text' }, aliases: ['xuat xu'] },
  { field: 'rights', vi: 'Quyền sử dụng', en: 'rights', values: { vi: 'một URI', en: 'a URI' }, aliases: ['ban quyen', 'quyen'] },
  { field: 'extent', vi: 'Quy mô', en: 'extent', values: { vi: 'văn bản', en: 'text' }, aliases: ['kho', 'so trang', 'so to'] },
  { field: 'collectionId', vi: 'Bộ sưu tập', en: 'collectionId', values: { vi: 'mã bộ sưu tập; mặc định --collection', en: 'a collection id; default: --collection' }, aliases: ['collection', 'ma bo suu tap'] },
  {
    field: 'viewingDirection',
    vi: 'Hướng đọc',
    en: 'viewingDirection',
    values: {
      vi: 'phải sang trái, trái sang phải, trên xuống dưới, dưới lên trên',
      en: 'right-to-left, left-to-right, top-to-bottom, bottom-to-top',
    },
    aliases: ['viewing direction', 'chieu doc', 'huong'],
  },
  {
    field: 'behavior',
    vi: 'Cách trình bày',
    en: 'behavior',
    values: { vi: 'sách (đóng tập), tờ rời, cuộn, không thứ tự', en: 'paged, individuals, continuous, unordered' },
    aliases: ['behaviour', 'kieu trinh bay', 'trinh bay'],
  },
  {
    field: 'accessLevel',
    vi: 'Mức truy cập',
    en: 'accessLevel',
    values: { vi: 'mở (công khai), hạn chế, mật', en: 'open, restricted, confidential' },
    aliases: ['access level', 'access', 'quyen truy cap'],
  },
  {
    field: 'pageLabelPattern',
    vi: 'Mẫu nhãn trang',
    en: 'pageLabelPattern',
    values: { vi: 'mẫu có {n} (số trang) hoặc {f} (tờ 1a, 1b…), ví dụ "tờ {f}"', en: 'a pattern with {n} (page number) or {f} (folio 1a, 1b…), e.g. "tờ {f}"' },
    aliases: ['page label pattern', 'page labels', 'nhan trang'],
  },
];

const COLUMN_BY_FIELD = new Map(SHEET_COLUMNS.map((c) => [c.field, c]));
/** The header of a field as both languages write it, e.g. `Hướng đọc/viewingDirection`. */
export function headerOf(field: string): string {
  const c = COLUMN_BY_FIELD.get(field as SheetField);
  return c ? `${c.vi}/${c.en}` : field;
}

const LOOKUP = new Map<string, SheetField>();
for (const c of SHEET_COLUMNS) {
  for (const n of [c.vi, c.en, ...c.aliases]) {
    const other = LOOKUP.get(fold(n));
    // Two fields under one header would make a sheet mean something else than its author wrote.
    if (other && other !== c.field) throw new Error(`metadata sheet: header "${n}" names both ${other} and ${c.field}`);
    LOOKUP.set(fold(n), c.field);
  }
}

/** The field a header names, or undefined. */
export function fieldOfHeader(header: string): SheetField | undefined {
  return LOOKUP.get(fold(header));
}

/**
 * Words a cataloguer may write for the enumerated fields, folded like headers. The English
 * values are the IIIF / API words; the Vietnamese ones are how the reading room and the
 * staff form say them.
 */
const VALUE_WORDS = {
  viewingDirection: {
    'left-to-right': ['left-to-right', 'ltr', 'trai sang phai', 'tu trai sang phai'],
    'right-to-left': ['right-to-left', 'rtl', 'phai sang trai', 'tu phai sang trai'],
    'top-to-bottom': ['top-to-bottom', 'ttb', 'tren xuong duoi', 'tu tren xuong duoi', 'doc tu tren xuong'],
    'bottom-to-top': ['bottom-to-top', 'btt', 'duoi len tren', 'tu duoi len tren'],
  },
  behavior: {
    paged: ['paged', 'sach', 'dong tap', 'dong quyen', 'tap', 'quyen'],
    individuals: ['individuals', 'to roi', 'roi', 'anh roi', 'trang roi'],
    continuous: ['continuous', 'cuon', 'lien tuc', 'cuon lien'],
    unordered: ['unordered', 'khong thu tu', 'khong theo thu tu'],
  },
  accessLevel: {
    open: ['open', 'mo', 'cong khai'],
    restricted: ['restricted', 'han che'],
    confidential: ['confidential', 'mat', 'bao mat', 'toi mat'],
  },
} as const;

type EnumField = keyof typeof VALUE_WORDS;
const VALUE_LOOKUP = new Map<EnumField, Map<string, string>>();
for (const [field, values] of Object.entries(VALUE_WORDS) as Array<[EnumField, Record<string, readonly string[]>]>) {
  const m = new Map<string, string>();
  for (const [value, words] of Object.entries(values)) for (const w of words) m.set(fold(w), value);
  VALUE_LOOKUP.set(field, m);
}

/** The API value a cell names (`phải sang trái` → `right-to-left`), or undefined. */
export function enumValue(field: EnumField, cell: string): string | undefined {
  return VALUE_LOOKUP.get(field)?.get(fold(cell));
}

/**
 * A page-label pattern as the page-labels command takes it (contract item 7): `{n}` is the
 * page number, `{f}` the folio with its side (1a, 1b, 2a…); any other `{…}` is a typing
 * mistake, refused rather than printed on every page.
 */
export const PageLabelPattern = z
  .string()
  .max(200)
  .superRefine(wellFormedText)
  .transform((s) => s.normalize('NFC').trim())
  .superRefine((s, ctx) => {
    if (!/\{[nf]\}/.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'mẫu phải có {n} hoặc {f}, ví dụ "tờ {f}" / the pattern needs {n} or {f}, e.g. "tờ {f}"' });
    }
    const other = s.match(/\{(?![nf]\})[^}]*\}/);
    if (other) {
      ctx.addIssue({ code: 'custom', message: `chỉ dùng {n} và {f}, không có ${other[0]} / only {n} and {f} are placeholders, not ${other[0]}` });
    }
  });

/** One work's description from the batch: the form's fields, plus its id and page labels. */
export const SheetEntry = Metadata.extend({
  id: Id.optional(),
  accessLevel: AccessLevel.optional(),
  pageLabelPattern: PageLabelPattern.optional(),
}).strict();
export type SheetEntry = z.infer<typeof SheetEntry>;

const MULTI = new Set<SheetField>(['alternativeTitle', 'language']);
const NUMERIC = new Set<SheetField>(['yearFrom', 'yearTo']);

export class SheetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SheetError';
  }
}

const ENUM_FIELDS = Object.keys(VALUE_WORDS) as EnumField[];

/**
 * Validates one work's raw description (a CSV row or a metadata.json): Vietnamese words of the
 * enumerated fields become their API values, and each problem is one bilingual line naming the
 * column, e.g. `Hướng đọc/viewingDirection: "ngang" ...; dùng / use: …`.
 */
export function parseSheetEntry(raw: Record<string, unknown>): { ok: true; entry: SheetEntry } | { ok: false; reason: string } {
  const input: Record<string, unknown> = { ...raw };
  const problems: string[] = [];
  for (const field of ENUM_FIELDS) {
    const v = input[field];
    if (typeof v !== 'string') continue;
    const value = enumValue(field, v);
    if (value) input[field] = value;
    else {
      const c = COLUMN_BY_FIELD.get(field);
      problems.push(`${headerOf(field)}: "${v}" không hợp lệ; dùng ${c?.values.vi} / is not valid; use ${c?.values.en}`);
      delete input[field];
    }
  }
  const parsed = SheetEntry.safeParse(input);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const field = i.path[0];
      problems.push(`${field === undefined ? '(metadata)' : headerOf(String(field))}: ${i.code === 'unrecognized_keys' ? `không có trường / no such field: ${i.keys.join(', ')}` : i.message}`);
    }
  }
  if (problems.length || !parsed.success) return { ok: false, reason: problems.join('; ') };
  return { ok: true, entry: parsed.data };
}

/** The accepted headers, for the message that refuses an unknown one. */
function acceptedHeaders(): string {
  return SHEET_COLUMNS.map((c) => `"${c.vi}"/"${c.en}"`).join(', ');
}

/** Rows of metadata.csv keyed by folder name (raw values; validated per object by parseSheetEntry). */
export function readMetadataCsv(text: string): Map<string, Record<string, unknown>> {
  const rows = parseCsv(text);
  const header = rows[0];
  if (!header) throw new SheetError('metadata.csv trống / metadata.csv is empty');
  const fields = header.map((h) => fieldOfHeader(h));
  const unknown = header.filter((_, i) => fields[i] === undefined);
  if (unknown.length) {
    const names = unknown.map((u) => JSON.stringify(u)).join(', ');
    throw new SheetError(
      `metadata.csv: không nhận cột ${names} / unknown column(s) ${names}. ` +
        `Các cột được nhận (tiếng Việt, có hoặc không dấu, hoặc tiếng Anh) / accepted columns (Vietnamese, with or without diacritics, or English): ${acceptedHeaders()}`,
    );
  }
  const seen = new Map<SheetField, string>();
  header.forEach((h, i) => {
    const f = fields[i] as SheetField;
    const before = seen.get(f);
    if (before !== undefined) throw new SheetError(`metadata.csv: cột "${before}" và "${h}" cùng là ${headerOf(f)} / columns "${before}" and "${h}" both name ${headerOf(f)}`);
    seen.set(f, h);
  });
  if (!fields.includes('folder')) throw new SheetError('metadata.csv cần cột "Thư mục" / needs a "folder" column naming each object folder');
  const out = new Map<string, Record<string, unknown>>();
  rows.slice(1).forEach((row, r) => {
    if (row.every((v) => v.trim() === '')) return;
    const entry: Record<string, unknown> = {};
    let folder = '';
    row.forEach((value, i) => {
      const field = fields[i];
      const v = value.trim();
      if (!field || v === '') return;
      if (field === 'folder') folder = v.normalize('NFC');
      else if (MULTI.has(field)) entry[field] = v.split(/[;|]/).map((x) => x.trim()).filter(Boolean);
      else if (NUMERIC.has(field)) entry[field] = /^-?\d+$/.test(v) ? Number(v) : v;
      else entry[field] = v;
    });
    if (!folder) throw new SheetError(`metadata.csv dòng ${r + 2}: cột Thư mục trống / row ${r + 2}: the folder column is empty`);
    if (out.has(folder)) throw new SheetError(`metadata.csv: thư mục "${folder}" xuất hiện hai lần / folder "${folder}" appears twice`);
    out.set(folder, entry);
  });
  return out;
}

/** The metadata fields a sheet entry sets (what a re-run compares with the work as it is). */
export const SHEET_METADATA_FIELDS = Object.keys(metadataFields) as Array<keyof typeof metadataFields>;

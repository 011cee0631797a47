import { z } from 'zod';
import { AccessLevel, Id, Metadata } from '../domain/metadata.ts';
import { foldVietnamese } from '../domain/vietnamese-fold.ts';
import { parseCsv } from './csv.ts';

/**
 * Batch metadata for `thukho ingest`: a `metadata.csv` for the whole batch, whose columns
 * may be headed in Vietnamese or English (with or without diacritics), or a
 * `metadata.json` inside each object folder. Multi-valued columns (alternative titles,
 * languages) separate values with `;` or `|`.
 */
const fold = (s: string) =>
  foldVietnamese(s)
    .replace(/[\s_\-.]+/g, ' ')
    .trim();

const COLUMN_NAMES: Record<string, string[]> = {
  folder: ['folder', 'thu muc', 'ten thu muc'],
  id: ['id', 'ma tai lieu', 'object id'],
  title: ['title', 'nhan de', 'tieu de', 'ten tai lieu', 'nhan de chinh'],
  alternativeTitle: ['alternativetitle', 'alternative title', 'nhan de khac', 'ten khac', 'nhan de song song', 'nhan de han nom'],
  creator: ['creator', 'tac gia', 'nguoi bien soan'],
  date: ['date', 'nam', 'ngay', 'thoi gian', 'nien dai', 'nam xuat ban'],
  yearFrom: ['yearfrom', 'year from', 'tu nam'],
  yearTo: ['yearto', 'year to', 'den nam'],
  language: ['language', 'ngon ngu'],
  subject: ['subject', 'chu de', 'tu khoa'],
  description: ['description', 'mo ta', 'tom tat', 'ghi chu'],
  type: ['type', 'loai hinh', 'loai'],
  format: ['format', 'dinh dang', 'hinh thuc'],
  identifier: ['identifier', 'ky hieu', 'so hieu', 'ki hieu', 'ma xep gia'],
  source: ['source', 'nguon', 'xuat xu'],
  rights: ['rights', 'ban quyen', 'quyen'],
  extent: ['extent', 'kho', 'so trang', 'quy mo', 'so to'],
  accessLevel: ['accesslevel', 'access level', 'muc truy cap', 'quyen truy cap'],
};

const LOOKUP = new Map<string, string>();
for (const [field, names] of Object.entries(COLUMN_NAMES)) for (const n of names) LOOKUP.set(n, field);

export const SheetEntry = Metadata.omit({ collectionId: true }).extend({
  id: Id.optional(),
  accessLevel: AccessLevel.optional(),
});
export type SheetEntry = z.infer<typeof SheetEntry>;

const MULTI = new Set(['alternativeTitle', 'language']);
const NUMERIC = new Set(['yearFrom', 'yearTo']);

export class SheetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SheetError';
  }
}

/** Rows of metadata.csv keyed by folder name (raw values; validated per object later). */
export function readMetadataCsv(text: string): Map<string, Record<string, unknown>> {
  const rows = parseCsv(text);
  const header = rows[0];
  if (!header) throw new SheetError('metadata.csv is empty');
  const fields = header.map((h) => LOOKUP.get(fold(h)));
  const unknown = header.filter((_, i) => fields[i] === undefined);
  if (unknown.length) {
    throw new SheetError(
      `metadata.csv: unknown column(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${Object.keys(COLUMN_NAMES).join(', ')} (or their Vietnamese names, e.g. "Nhan đề", "Tác giả", "Ngôn ngữ")`,
    );
  }
  if (!fields.includes('folder')) throw new SheetError('metadata.csv needs a "folder" / "Thư mục" column naming each object folder');
  const out = new Map<string, Record<string, unknown>>();
  rows.slice(1).forEach((row, r) => {
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
    if (!folder) throw new SheetError(`metadata.csv row ${r + 2}: the folder column is empty`);
    if (out.has(folder)) throw new SheetError(`metadata.csv: folder "${folder}" appears twice`);
    out.set(folder, entry);
  });
  return out;
}

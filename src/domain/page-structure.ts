import { DomainError } from './errors.ts';
import type { StoredFile } from './object.ts';
import { pageImageId } from './page-image.ts';
import { textFault } from './well-formed-text.ts';

/**
 * Page labels and the table of contents of a work: pure functions over its files.
 *
 * Han-Nôm books are cited by folio ("tờ 1a", "tờ 1b": the recto and verso of a leaf), not by
 * the scan's page number, so a page may carry a label of its own; a table of contents is a
 * list of entries, each starting at a page and running to the next entry's start. Both name a
 * page as the file and the page of a multi-page master (absent for page 1), as canvases are.
 */
export const PAGE_LABEL_MAX_CHARS = 200;
/** A table of contents longer than this is a catalogue, not a table of contents. */
export const STRUCTURE_MAX_RANGES = 2000;

/** One page of a work in reading order. */
export interface PageRef {
  fileId: string;
  /** 1-based page of the file. */
  page: number;
  /** The canvas's image id (see page-image.ts). */
  imageId: string;
}

/** How a page is named in commands and events: `page` only for pages ≥ 2. */
export interface PageAddress {
  fileId: string;
  page?: number | undefined;
}

export interface PageLabel extends PageAddress {
  label: string;
}

export interface StructureRange extends PageAddress {
  label: string;
}

/** Pages a file has as far as ingest and its derivatives tell: a TIFF's IFDs, a PDF's page count. */
export function pagesOfFile(file: StoredFile): number {
  if (!file.image && !file.pdf) return 0;
  const declared = file.image?.pages ?? file.pdf?.pages ?? 1;
  const seen = Math.max(0, ...(file.laterPages ?? []).map((p) => p.page));
  return Math.max(declared, seen, 1);
}

/** Every page of every image master and PDF of a work, in reading order (file sequence, then page). */
export function readingPages(files: readonly StoredFile[]): PageRef[] {
  return [...files]
    .sort((a, b) => a.sequence - b.sequence)
    .flatMap((f) => Array.from({ length: pagesOfFile(f) }, (_, i) => ({ fileId: f.fileId, page: i + 1, imageId: pageImageId(f.fileId, i + 1) })));
}

/** A folio number with its side: page 1 → "1a" (recto), 2 → "1b" (verso), 3 → "2a". */
export function folio(page: number): string {
  return `${Math.ceil(page / 2)}${page % 2 === 1 ? 'a' : 'b'}`;
}

function invalid(vi: string, en: string, detail: Record<string, unknown> = {}): DomainError {
  return new DomainError('invalid-input', { vi, en }, detail);
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * `count` labels from a pattern: `{n}` is the page number counted from `start`, `{f}` the
 * folio with its side counted from `start` (pattern "tờ {f}" → "tờ 1a", "tờ 1b", "tờ 2a", …).
 */
export function labelsFromPattern(pattern: string, count: number, start = 1): string[] {
  const text = pattern.trim();
  if (!text) throw invalid('Mẫu nhãn trang đang trống.', 'The page label pattern is empty.', { field: 'pattern' });
  const fault = textFault(text);
  if (fault) throw invalid(`Mẫu nhãn trang không hợp lệ: ${fault}`, `The page label pattern is not valid text: ${fault}`, { field: 'pattern' });
  const names = [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
  const unknown = names.filter((n) => n !== 'n' && n !== 'f');
  if (unknown.length > 0) {
    throw invalid(
      `Mẫu nhãn trang có chỗ thay không biết: {${unknown[0]}}; chỉ dùng {n} (số trang) hoặc {f} (tờ: 1a, 1b, 2a…).`,
      `The page label pattern has an unknown placeholder {${unknown[0]}}; use {n} (page number) or {f} (folio: 1a, 1b, 2a…).`,
      { field: 'pattern' },
    );
  }
  if (names.length === 0) {
    throw invalid(
      'Mẫu nhãn trang cần có {n} (số trang) hoặc {f} (tờ: 1a, 1b, 2a…), nếu không mọi trang sẽ cùng một nhãn.',
      'The page label pattern needs {n} (page number) or {f} (folio: 1a, 1b, 2a…); otherwise every page would get the same label.',
      { field: 'pattern' },
    );
  }
  if (!Number.isInteger(start) || start < 1 || start > 1_000_000) {
    throw invalid('Số bắt đầu phải là số nguyên từ 1 đến 1.000.000.', 'start must be a whole number from 1 to 1,000,000.', { field: 'start' });
  }
  const labels = Array.from({ length: count }, (_, i) =>
    text.replace(PLACEHOLDER, (_m, name: string) => (name === 'n' ? String(start + i) : folio(start + i))),
  );
  const long = labels.find((l) => l.length > PAGE_LABEL_MAX_CHARS);
  if (long !== undefined) {
    throw invalid(
      `Nhãn trang dài quá ${PAGE_LABEL_MAX_CHARS} ký tự: ${long.slice(0, 40)}…`,
      `A page label is longer than ${PAGE_LABEL_MAX_CHARS} characters: ${long.slice(0, 40)}…`,
      { field: 'pattern' },
    );
  }
  return labels;
}

/** The page an address names, or a bilingual error saying which one does not exist. */
export function findPage(pages: readonly PageRef[], address: PageAddress, field: string): PageRef {
  const page = address.page ?? 1;
  const found = pages.find((p) => p.fileId === address.fileId && p.page === page);
  if (found) return found;
  const where = page === 1 ? `"${address.fileId}"` : `"${address.fileId}" trang ${page}`;
  const whereEn = page === 1 ? `"${address.fileId}"` : `"${address.fileId}" page ${page}`;
  throw invalid(
    `Tài liệu không có trang ${where}; nhãn và mục lục chỉ gắn được vào trang đã có (tệp ảnh hoặc PDF của tài liệu).`,
    `The object has no page ${whereEn}; labels and table-of-contents entries can name only existing pages (the object's image or PDF files).`,
    { field, fileId: address.fileId, page },
  );
}

/** A label or entry title as typed: trimmed, well-formed, not too long (empty allowed where `mayBeEmpty`). */
export function checkLabel(raw: string, field: string, mayBeEmpty: boolean): string {
  const label = raw.normalize('NFC').trim();
  if (!label && !mayBeEmpty) throw invalid('Tên mục lục không được để trống.', 'A table-of-contents entry needs a title.', { field });
  if (label.length > PAGE_LABEL_MAX_CHARS) {
    throw invalid(`Nhãn dài quá ${PAGE_LABEL_MAX_CHARS} ký tự.`, `The label is longer than ${PAGE_LABEL_MAX_CHARS} characters.`, { field });
  }
  const fault = textFault(label);
  if (fault) throw invalid(`Nhãn không hợp lệ: ${fault}`, `The label is not valid text: ${fault}`, { field });
  return label;
}

/** An address as events store it: `page` only for pages ≥ 2. */
export function addressOf(p: PageRef): PageAddress {
  return p.page === 1 ? { fileId: p.fileId } : { fileId: p.fileId, page: p.page };
}

/**
 * The canvases of each table-of-contents entry: from its start page to the page before the
 * next entry's start (the last runs to the end), in the current reading order. `canvases` are
 * the image ids that have a canvas now; an entry whose pages have none yet is left out.
 */
export function rangeCanvases(
  ranges: readonly StructureRange[],
  pages: readonly PageRef[],
  canvases: readonly string[],
): Array<{ label: string; imageIds: string[] }> {
  const position = new Map(pages.map((p, i) => [p.imageId, i]));
  const starts = ranges
    .map((r) => ({ label: r.label, at: position.get(pageImageId(r.fileId, r.page ?? 1)) }))
    .filter((r): r is { label: string; at: number } => r.at !== undefined)
    .sort((a, b) => a.at - b.at);
  const have = canvases.filter((id) => position.has(id));
  return starts.flatMap((r, i) => {
    const end = starts[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const imageIds = have.filter((id) => {
      const at = position.get(id) as number;
      return at >= r.at && at < end;
    });
    return imageIds.length > 0 ? [{ label: r.label, imageIds }] : [];
  });
}

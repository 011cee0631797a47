import { ID_PATTERN } from './metadata.ts';

/**
 * Ids of the page images of a multi-page master (a TIFF's pages; next, a PDF's). Page 1 is
 * addressed by the file id itself, so the canvases and Image API URLs published before
 * masters had pages never move. Page n ≥ 2 is `<fileId>~p<n>`: `~` is unreserved in URLs
 * (RFC 3986 §2.3, so IIIF clients send it as is) and never in an Id, so a page id can not
 * be any file's id.
 */
export const MAX_PAGES = 100_000;

export function pageImageId(fileId: string, page: number): string {
  return page === 1 ? fileId : `${fileId}~p${page}`;
}

/** The page image a recorded page text belongs to. */
export function textImageId(text: { fileId: string; page?: number | undefined }): string {
  return pageImageId(text.fileId, text.page ?? 1);
}

/** The file and page an image id names; undefined for anything that is not one. */
export function parsePageImageId(imageId: string): { fileId: string; page: number } | undefined {
  if (ID_PATTERN.test(imageId)) return { fileId: imageId, page: 1 };
  const m = /^(.+)~p([1-9]\d{0,5})$/.exec(imageId);
  if (!m || !ID_PATTERN.test(m[1]!)) return undefined;
  const page = Number(m[2]);
  // Page 1 has one address only, the file id.
  return page >= 2 && page <= MAX_PAGES ? { fileId: m[1]!, page } : undefined;
}

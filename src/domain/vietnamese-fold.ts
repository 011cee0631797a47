/**
 * Vietnamese text folded for matching: diacritics removed and `đ` → `d` (đ does not
 * decompose in NFD, so stripping marks alone leaves it), lower-cased. "Nhan đề" and
 * "nhan de" fold alike, as do "Tự Đức" and "tu duc".
 */
export function foldVietnamese(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase();
}

/** An id from a name: "Truyện Kiều 1871" → "truyen-kieu-1871" (at most 64 characters). */
export function idFromName(name: string): string {
  return foldVietnamese(name)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

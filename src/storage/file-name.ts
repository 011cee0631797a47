import type { Bilingual } from '../domain/errors.ts';

/**
 * File names as clients send them (multipart `filename`, `?name=`, a folder on a librarian's
 * laptop), made safe to keep: one path segment, NFC (macOS sends NFD, so "Nguyễn" typed
 * on a Mac and on Windows would otherwise be two different names), and short enough for
 * every file system (255 bytes of UTF-8, not 255 characters: Vietnamese letters take two or
 * three bytes each). What cannot be made safe without changing its meaning is refused.
 */

export type FileNameErrorCode = 'empty-name' | 'dot-name' | 'control-character' | 'name-too-long';

export class FileNameError extends Error {
  readonly code: FileNameErrorCode;
  readonly messages: Bilingual;
  readonly detail: Record<string, unknown>;

  constructor(code: FileNameErrorCode, messages: Bilingual, detail: Record<string, unknown> = {}) {
    super(messages.en);
    this.name = 'FileNameError';
    this.code = code;
    this.messages = messages;
    this.detail = detail;
  }
}

/** Longest name, in UTF-8 bytes, that ext4, XFS, ZFS, NTFS (as UTF-16 units) and S3 keys all take. */
export const MAX_FILE_NAME_BYTES = 255;

/**
 * C0 and C1 control characters and DEL, and the bidirectional overrides/isolates that make
 * "tài_liệu\u202Efit.exe" display as "tài_liệuexe.tif".
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

export function safeFileName(raw: string): string {
  const nfc = raw.normalize('NFC');
  const bad = FORBIDDEN.exec(nfc);
  if (bad) {
    const code = `U+${(bad[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
    throw new FileNameError(
      'control-character',
      {
        vi: `Tên tệp chứa ký tự điều khiển không được phép (${code}).`,
        en: `The file name contains a forbidden control character (${code}).`,
      },
      { character: code, position: bad.index },
    );
  }
  // Keep only the last path segment, whichever separator the client's system uses, and
  // drop a Windows drive prefix ("C:tệp.tif").
  const segments = nfc.split(/[/\\]/);
  const name = (segments[segments.length - 1] ?? '').replace(/^[A-Za-z]:/, '').trim();
  if (name === '') {
    throw new FileNameError('empty-name', { vi: 'Tên tệp trống.', en: 'The file name is empty.' }, { raw });
  }
  if (name === '.' || name === '..') {
    throw new FileNameError(
      'dot-name',
      { vi: `Tên tệp "${name}" không hợp lệ.`, en: `"${name}" is not a valid file name.` },
      { raw },
    );
  }
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_FILE_NAME_BYTES) {
    const chars = [...name].length;
    throw new FileNameError(
      'name-too-long',
      {
        vi: `Tên tệp quá dài: ${chars} ký tự chiếm ${bytes} byte UTF-8, tối đa ${MAX_FILE_NAME_BYTES} byte (chữ có dấu tốn 2–3 byte mỗi chữ). Hãy đặt tên ngắn hơn.`,
        en: `The file name is too long: ${chars} characters take ${bytes} bytes of UTF-8, at most ${MAX_FILE_NAME_BYTES} bytes are allowed (accented Vietnamese letters take 2–3 bytes each). Use a shorter name.`,
      },
      { bytes, characters: chars, maxBytes: MAX_FILE_NAME_BYTES },
    );
  }
  return name;
}

const collator = new Intl.Collator('vi', { numeric: true });

/**
 * Natural order for file and folder names: runs of digits compare as numbers (`page_2`
 * before `page_10`), letters in Vietnamese alphabetical order (a ă â b c d đ e ê …), so a
 * folder of scans sorts the way a librarian numbered it. Names the collator finds equal
 * (`trang_02` / `trang_2`, NFC / NFD) fall back to code-point order, so sorting is total
 * and the same on every machine.
 */
export function naturalCompare(a: string, b: string): number {
  const c = collator.compare(a, b);
  if (c !== 0) return c;
  return a < b ? -1 : a > b ? 1 : 0;
}

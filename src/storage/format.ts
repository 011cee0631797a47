import { open, type FileHandle } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import type { Bilingual } from '../domain/errors.ts';
import { openImage } from '../image-input.ts';
import { openPdf, PdfError, type PdfDocument } from './pdf-pages.ts';

/**
 * What an uploaded file really is, decided from its bytes — never from its name or the
 * Content-Type the client sent.
 *
 * Order of work, which matters for safety:
 *  1. magic bytes pick the format (or refuse it);
 *  2. for images, the dimensions are parsed HERE from the container header (TIFF IFDs,
 *     JPEG SOF, PNG IHDR, JP2 ihdr + codestream SIZ) and every frame/page is checked against
 *     `maxPixels` before any library sees the file, so a decompression bomb (a 2 KB file whose
 *     header claims 100,000 × 100,000 px) is refused in microseconds;
 *  3. only then sharp reads the header (`metadata()`, documented as "fast access to image
 *     metadata without decoding any compressed image data"), with `limitInputPixels` as a
 *     second fence;
 *  4. finally (unless `verifyDecode: false`) every page is decoded once, streamed into a
 *     throw-away 64 px thumbnail, so a truncated or corrupt image is refused now rather
 *     than discovered when a derivative is made years later.
 */

export type FileFormat = 'tiff' | 'jpeg' | 'jp2' | 'png' | 'pdf';

export interface ImageFacts {
  width: number;
  height: number;
  /** Bits per sample: from the container header where it says (1-bit bitonal TIFF, 12-bit JPEG), else from sharp's pixel format. */
  bitDepth?: number;
  /** Description of the embedded ICC profile ('embedded' when it has no readable description). */
  iccProfile?: string;
  /** Resolution in dots per inch, when the file records one. */
  dpi?: number;
  /** Number of pages (IFDs) of a TIFF. */
  pages?: number;
}

export interface PdfFacts {
  /** Version from the header, e.g. '1.7'. */
  version: string;
  /** Page count when cheaply found (counting page objects); a hint, absent when unknown. */
  pages?: number;
}

export interface FileFacts {
  mediaType: string;
  format: FileFormat;
  /** Size in bytes. */
  size: number;
  image?: ImageFacts;
  /**
   * Images only: whether every page was fully decoded without error. False when decoding was
   * skipped (`verifyDecode: false`) or when this sharp build cannot decode the format (JPEG
   * 2000 with the prebuilt libvips, which has no OpenJPEG): the facts then come from the
   * header alone. Kept outside `image` so that `image` can be recorded as it is.
   */
  decoded?: boolean;
  pdf?: PdfFacts;
}

export interface IdentifyOptions {
  /** Largest width × height accepted for any single page/frame. */
  maxPixels: number;
  /** Decode every page once to prove it is complete (default true). */
  verifyDecode?: boolean;
}

export type FormatErrorCode =
  | 'empty-file'
  | 'unknown-format'
  | 'too-many-pixels'
  | 'unreadable-image'
  | 'unreadable-pdf'
  | 'encrypted-pdf';

export class FormatError extends Error {
  readonly code: FormatErrorCode;
  readonly messages: Bilingual;
  readonly detail: Record<string, unknown>;

  constructor(code: FormatErrorCode, messages: Bilingual, detail: Record<string, unknown> = {}) {
    super(messages.en);
    this.name = 'FormatError';
    this.code = code;
    this.messages = messages;
    this.detail = detail;
  }
}

export const ACCEPTED_FORMATS = 'TIFF, JPEG, JPEG 2000, PNG, PDF';
/**
 * File name extensions of the accepted formats. Only a hint, for refusing an upload before
 * its bytes are sent: what a file is is still decided from its bytes.
 */
export const ACCEPTED_EXTENSIONS: readonly string[] = ['tif', 'tiff', 'jpg', 'jpeg', 'jpe', 'jp2', 'j2k', 'jpf', 'jpx', 'png', 'pdf'];

/** Whether a file name's extension is one of an accepted format (case-insensitive). */
export function acceptedExtension(name: string): boolean {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name.trim());
  return m !== null && ACCEPTED_EXTENSIONS.includes((m[1] as string).toLowerCase());
}

const FORMAT_LABEL: Record<FileFormat, string> = {
  tiff: 'TIFF',
  jpeg: 'JPEG',
  jp2: 'JPEG 2000',
  png: 'PNG',
  pdf: 'PDF',
};

/** Most IFDs we follow in a TIFF (pages); also bounds a crafted IFD loop. */
const MAX_TIFF_PAGES = 100_000;
/** How far into a JPEG we look for the SOF marker (APPn segments are ≤ 64 KiB each). */
const MAX_JPEG_HEADER_SCAN = 32 * 1024 * 1024;
/** How many top-level / jp2h boxes we walk in a JP2. */
const MAX_JP2_BOXES = 4096;
/** Edge of the throw-away thumbnail that decode verification renders. */
const VERIFY_SIZE = 64;
/** PDFs up to this size are scanned for page objects; larger ones get no page count. */
const PDF_PAGE_SCAN_LIMIT = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Byte access
// ---------------------------------------------------------------------------------------

/** Positional reads with a small block cache: header walks do many tiny sequential reads. */
class ByteSource {
  private cacheStart = -1;
  private cache: Buffer = Buffer.alloc(0);
  private static readonly BLOCK = 64 * 1024;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /** Up to `length` bytes at `position`; shorter at end of file. */
  async read(position: number, length: number): Promise<Buffer> {
    if (position < 0 || position >= this.size || length <= 0) return Buffer.alloc(0);
    const want = Math.min(length, this.size - position);
    if (
      this.cacheStart >= 0 &&
      position >= this.cacheStart &&
      position + want <= this.cacheStart + this.cache.length
    ) {
      const from = position - this.cacheStart;
      return this.cache.subarray(from, from + want);
    }
    if (want <= ByteSource.BLOCK) {
      const block = Buffer.alloc(Math.min(ByteSource.BLOCK, this.size - position));
      const { bytesRead } = await this.fh.read(block, 0, block.length, position);
      this.cacheStart = position;
      this.cache = block.subarray(0, bytesRead);
      return this.cache.subarray(0, Math.min(want, bytesRead));
    }
    const buf = Buffer.alloc(want);
    const { bytesRead } = await this.fh.read(buf, 0, want, position);
    return buf.subarray(0, bytesRead);
  }

  /** Exactly `length` bytes or an 'unreadable-image' refusal (the header runs past the end). */
  async need(position: number, length: number, format: FileFormat, what: string): Promise<Buffer> {
    const buf = await this.read(position, length);
    if (buf.length < length) {
      throw unreadable(format, `${what} runs past the end of the file (truncated?)`);
    }
    return buf;
  }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

function unreadable(format: FileFormat, reason: string): FormatError {
  const label = FORMAT_LABEL[format];
  return new FormatError(
    'unreadable-image',
    {
      vi: `Không đọc được ảnh ${label} (tệp bị cắt cụt hoặc hỏng): ${reason}`,
      en: `Cannot read the ${label} image (truncated or corrupt file): ${reason}`,
    },
    { format, reason },
  );
}

/** A staged upload's name: `.staging-` and a UUID, inside a per-process folder of the staging dir. */
const STAGED_PATH = /(?:\/[^\s/"':]+)*\/\.staging-[0-9a-f-]{36}/g;

/**
 * What a decoder said, fit to show the client. libvips names the file in some messages
 * ("/srv/thukho/staging/4711-ab12/.staging-…: bad seek to 30984"), which would tell anyone the
 * data directory, the server's process id and the staging layout: the path goes, the fault
 * stays. libvips also repeats a line once per retry; each is said once.
 */
function decoderReason(err: unknown, path: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message
    .split('\n')
    .map((line) => line.split(`${path}: `).join('').split(path).join('(tệp / file)').replace(STAGED_PATH, '(tệp / file)').trim())
    .filter((line) => line !== '');
  return [...new Set(lines)].join('; ');
}

function unknownFormat(looksLike?: 'html'): FormatError {
  if (looksLike === 'html') {
    return new FormatError(
      'unknown-format',
      {
        vi: `Tệp là một trang HTML (có thể là trang báo lỗi được tải về thay cho tài liệu), không phải tài liệu hay ảnh; chấp nhận ${ACCEPTED_FORMATS}.`,
        en: `The file is an HTML page (perhaps an error page downloaded in place of the document), not a document or image; accepted formats are ${ACCEPTED_FORMATS}.`,
      },
      { accepted: ['tiff', 'jpeg', 'jp2', 'png', 'pdf'], looksLike },
    );
  }
  return new FormatError(
    'unknown-format',
    {
      vi: `Không nhận dạng được định dạng tệp; chấp nhận ${ACCEPTED_FORMATS}.`,
      en: `Unrecognised file format; accepted formats are ${ACCEPTED_FORMATS}.`,
    },
    { accepted: ['tiff', 'jpeg', 'jp2', 'png', 'pdf'] },
  );
}

function tooManyPixels(
  format: FileFormat,
  width: number,
  height: number,
  maxPixels: number,
  page: number,
): FormatError {
  const vi = (n: number) => n.toLocaleString('vi-VN');
  const en = (n: number) => n.toLocaleString('en-US');
  const where = page > 0 ? { vi: ` (trang ${page + 1})`, en: ` (page ${page + 1})` } : { vi: '', en: '' };
  return new FormatError(
    'too-many-pixels',
    {
      vi: `Ảnh ${FORMAT_LABEL[format]} quá lớn${where.vi}: ${vi(width)} × ${vi(height)} điểm ảnh, vượt giới hạn ${vi(maxPixels)} điểm ảnh.`,
      en: `The ${FORMAT_LABEL[format]} image is too large${where.en}: ${en(width)} × ${en(height)} pixels, over the limit of ${en(maxPixels)} pixels.`,
    },
    { format, width, height, pixels: width * height, maxPixels, page: page + 1 },
  );
}

// ---------------------------------------------------------------------------------------
// Magic bytes
// ---------------------------------------------------------------------------------------

const JP2_SIGNATURE = Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]);
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Sniffed = 'tiff' | 'jpeg' | 'jp2' | 'j2c' | 'png' | 'pdf' | 'html' | undefined;

function sniff(head: Buffer): Sniffed {
  const at = (i: number) => head[i];
  if (head.length >= 4) {
    if (at(0) === 0x49 && at(1) === 0x49 && (at(2) === 0x2a || at(2) === 0x2b) && at(3) === 0x00) return 'tiff';
    if (at(0) === 0x4d && at(1) === 0x4d && at(2) === 0x00 && (at(3) === 0x2a || at(3) === 0x2b)) return 'tiff';
    if (at(0) === 0xff && at(1) === 0x4f && at(2) === 0xff && at(3) === 0x51) return 'j2c';
  }
  if (head.length >= 3 && at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if (head.length >= 12 && head.subarray(0, 12).equals(JP2_SIGNATURE)) return 'jp2';
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  // An HTML page (a login or error page saved as "x.pdf") is refused even if it mentions %PDF-.
  const text = head.subarray(0, 1024).toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart().toLowerCase();
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || /^<\?xml[^>]*>\s*<(!doctype )?html/.test(text)) return 'html';
  if (head.subarray(0, 1024).includes('%PDF-', 0, 'latin1')) return 'pdf';
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Header parsing (no decoding)
// ---------------------------------------------------------------------------------------

interface HeaderFacts {
  format: Exclude<FileFormat, 'pdf'>;
  mediaType: string;
  /** Dimensions of every page/frame that a decoder could be asked to allocate. */
  frames: Array<{ width: number; height: number }>;
  bitDepth?: number;
  dpi?: number;
  icc?: Buffer;
}

function checkFrames(h: HeaderFacts, maxPixels: number): void {
  h.frames.forEach(({ width, height }, page) => {
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0) {
      throw unreadable(h.format, `invalid dimensions ${width} × ${height} in the header`);
    }
    if (width * height > maxPixels) throw tooManyPixels(h.format, width, height, maxPixels, page);
  });
}

async function parseTiff(src: ByteSource): Promise<HeaderFacts> {
  const f = 'tiff' as const;
  const head = await src.read(0, 16);
  if (head.length < 8) throw unreadable(f, 'TIFF header runs past the end of the file (truncated?)');
  const le = head[0] === 0x49;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => {
    const v = le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable(f, 'BigTIFF offset out of range');
    return Number(v);
  };
  const big = u16(head, 2) === 43;
  if (big && head.length < 16) throw unreadable(f, 'BigTIFF header runs past the end of the file (truncated?)');
  let ifd = big ? u64(head, 8) : u32(head, 4);
  const entrySize = big ? 20 : 12;
  const countSize = big ? 8 : 2;
  const offsetSize = big ? 8 : 4;
  const typeSize: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };

  const frames: Array<{ width: number; height: number }> = [];
  const seen = new Set<number>();
  let bitDepth: number | undefined;

  while (ifd !== 0) {
    if (seen.has(ifd)) throw unreadable(f, 'the IFD chain loops back on itself');
    if (frames.length >= MAX_TIFF_PAGES) throw unreadable(f, `more than ${MAX_TIFF_PAGES} pages`);
    seen.add(ifd);
    if (ifd >= src.size) throw unreadable(f, `page ${frames.length + 1} lies past the end of the file (truncated?)`);
    const countBuf = await src.need(ifd, countSize, f, 'IFD');
    const count = big ? u64(countBuf, 0) : u16(countBuf, 0);
    if (count > 65_535) throw unreadable(f, `IFD with ${count} entries`);
    const entries = await src.need(ifd + countSize, count * entrySize + offsetSize, f, 'IFD');

    let width: number | undefined;
    let height: number | undefined;
    for (let i = 0; i < count; i++) {
      const e = i * entrySize;
      const tag = u16(entries, e);
      const type = u16(entries, e + 2);
      const n = big ? u64(entries, e + 4) : u32(entries, e + 4);
      const valueAt = e + (big ? 12 : 8);
      const scalar = (): number | undefined => {
        if (type === 3) return u16(entries, valueAt);
        if (type === 4) return u32(entries, valueAt);
        if (type === 16 && big) return u64(entries, valueAt);
        return undefined;
      };
      if (tag === 256) width = scalar();
      else if (tag === 257) height = scalar();
      else if (tag === 258 && frames.length === 0 && type === 3 && n >= 1) {
        const bytes = n * (typeSize[type] ?? 2);
        if (bytes <= offsetSize) bitDepth = u16(entries, valueAt);
        else {
          const at = big ? u64(entries, valueAt) : u32(entries, valueAt);
          const v = await src.read(at, 2);
          if (v.length === 2) bitDepth = u16(v, 0);
        }
      }
    }
    if (width === undefined || height === undefined) {
      throw unreadable(f, `page ${frames.length + 1} has no ImageWidth/ImageLength`);
    }
    frames.push({ width, height });
    const nextAt = count * entrySize;
    ifd = big ? u64(entries, nextAt) : u32(entries, nextAt);
  }
  if (frames.length === 0) throw unreadable(f, 'no image directory (IFD)');
  // BitsPerSample defaults to 1 (bitonal) when absent, per TIFF 6.0.
  return { format: f, mediaType: 'image/tiff', frames, bitDepth: bitDepth ?? 1 };
}

function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

async function parseJpeg(src: ByteSource): Promise<HeaderFacts> {
  const f = 'jpeg' as const;
  let pos = 2;
  const limit = Math.min(src.size, MAX_JPEG_HEADER_SCAN);
  while (pos < limit) {
    const b = await src.need(pos, 2, f, 'marker');
    if (b[0] !== 0xff) throw unreadable(f, `expected a marker at byte ${pos}`);
    const marker = b[1] as number;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) throw unreadable(f, 'no frame header (SOF) before the image data');
    const len = (await src.need(pos + 2, 2, f, 'segment')).readUInt16BE(0);
    if (len < 2) throw unreadable(f, `bad segment length at byte ${pos}`);
    if (isSof(marker)) {
      const sof = await src.need(pos + 4, 5, f, 'frame header (SOF)');
      const precision = sof.readUInt8(0);
      const height = sof.readUInt16BE(1);
      const width = sof.readUInt16BE(3);
      if (height === 0) throw unreadable(f, 'height defined by a DNL marker is not supported');
      return { format: f, mediaType: 'image/jpeg', frames: [{ width, height }], bitDepth: precision };
    }
    pos += 2 + len;
  }
  throw unreadable(f, 'no frame header (SOF) found');
}

async function parsePng(src: ByteSource): Promise<HeaderFacts> {
  const f = 'png' as const;
  const ihdr = await src.need(8, 8 + 13, f, 'IHDR chunk');
  if (ihdr.toString('latin1', 4, 8) !== 'IHDR') throw unreadable(f, 'the first chunk is not IHDR');
  const width = ihdr.readUInt32BE(8);
  const height = ihdr.readUInt32BE(12);
  const bitDepth = ihdr.readUInt8(16);
  return { format: f, mediaType: 'image/png', frames: [{ width, height }], bitDepth };
}

interface Box {
  type: string;
  /** Offset of the box contents. */
  data: number;
  /** Offset just past the box. */
  end: number;
}

async function readBoxes(src: ByteSource, from: number, to: number): Promise<Box[]> {
  const f = 'jp2' as const;
  const boxes: Box[] = [];
  let pos = from;
  while (pos + 8 <= to && boxes.length < MAX_JP2_BOXES) {
    const h = await src.need(pos, 8, f, 'box header');
    let len = h.readUInt32BE(0);
    const type = h.toString('latin1', 4, 8);
    let data = pos + 8;
    if (len === 1) {
      const xl = (await src.need(pos + 8, 8, f, 'box header')).readBigUInt64BE(0);
      if (xl > BigInt(Number.MAX_SAFE_INTEGER)) throw unreadable(f, `box '${type}' length out of range`);
      len = Number(xl);
      data = pos + 16;
    } else if (len === 0) {
      len = to - pos;
    }
    if (len < data - pos) throw unreadable(f, `box '${type}' has a bad length`);
    const end = pos + len;
    boxes.push({ type, data, end: Math.min(end, to) });
    if (end > to) break; // truncated box: keep what we have, the caller decides
    pos = end;
  }
  return boxes;
}

/** Parses a codestream's SIZ marker segment at `at` (which must hold SOC + SIZ). */
async function parseSiz(src: ByteSource, at: number): Promise<{ width: number; height: number; bitDepth: number }> {
  const f = 'jp2' as const;
  const b = await src.need(at, 4 + 2 + 2 + 32 + 2 + 1, f, 'codestream SIZ');
  if (b.readUInt16BE(0) !== 0xff4f || b.readUInt16BE(2) !== 0xff51) {
    throw unreadable(f, 'the codestream does not start with SOC + SIZ');
  }
  const xsiz = b.readUInt32BE(8);
  const ysiz = b.readUInt32BE(12);
  const xo = b.readUInt32BE(16);
  const yo = b.readUInt32BE(20);
  const ssiz = b.readUInt8(42);
  return { width: xsiz - xo, height: ysiz - yo, bitDepth: (ssiz & 0x7f) + 1 };
}

async function parseJp2(src: ByteSource, raw: boolean): Promise<HeaderFacts> {
  const f = 'jp2' as const;
  if (raw) {
    const siz = await parseSiz(src, 0);
    return {
      format: f,
      mediaType: 'image/j2c',
      frames: [{ width: siz.width, height: siz.height }],
      bitDepth: siz.bitDepth,
    };
  }
  const top = await readBoxes(src, 0, src.size);
  const ftyp = top.find((b) => b.type === 'ftyp');
  if (!ftyp) throw unreadable(f, "no file type box ('ftyp')");
  const ft = await src.need(ftyp.data, Math.max(8, Math.min(ftyp.end - ftyp.data, 256)), f, "'ftyp' box");
  const brand = ft.toString('latin1', 0, 4);
  const compat: string[] = [];
  for (let o = 8; o + 4 <= ft.length; o += 4) compat.push(ft.toString('latin1', o, o + 4));
  let mediaType: string;
  if (brand === 'jp2 ') mediaType = 'image/jp2';
  else if (brand === 'jpx ') mediaType = 'image/jpx';
  else if (compat.includes('jp2 ')) mediaType = 'image/jp2';
  else throw unknownFormat(); // e.g. JPM compound documents or Motion JPEG 2000

  const jp2h = top.find((b) => b.type === 'jp2h');
  if (!jp2h) throw unreadable(f, "no JP2 header box ('jp2h')");
  const inner = await readBoxes(src, jp2h.data, jp2h.end);
  const ihdrBox = inner.find((b) => b.type === 'ihdr');
  if (!ihdrBox) throw unreadable(f, "no image header box ('ihdr')");
  const ihdr = await src.need(ihdrBox.data, 14, f, "'ihdr' box");
  const frames = [{ width: ihdr.readUInt32BE(4), height: ihdr.readUInt32BE(0) }];
  const bpc = ihdr.readUInt8(10);
  const h: HeaderFacts = { format: f, mediaType, frames };
  if (bpc !== 0xff) h.bitDepth = (bpc & 0x7f) + 1;

  const colr = inner.find((b) => b.type === 'colr');
  if (colr && colr.end - colr.data > 3) {
    const meth = (await src.need(colr.data, 1, f, "'colr' box")).readUInt8(0);
    if ((meth === 2 || meth === 3) && colr.end - colr.data - 3 <= 4 * 1024 * 1024) {
      h.icc = Buffer.from(await src.need(colr.data + 3, colr.end - colr.data - 3, f, 'ICC profile'));
    }
  }
  const res = inner.find((b) => b.type === 'res ');
  if (res) {
    const sub = await readBoxes(src, res.data, res.end);
    const r = sub.find((b) => b.type === 'resc') ?? sub.find((b) => b.type === 'resd');
    if (r && r.end - r.data >= 10) {
      const rb = await src.need(r.data, 10, f, 'resolution box');
      const hrN = rb.readUInt16BE(4);
      const hrD = rb.readUInt16BE(6);
      const hrE = rb.readInt8(9);
      if (hrD > 0 && hrN > 0) h.dpi = roundDpi((hrN / hrD) * 10 ** hrE * 0.0254);
    }
  }
  // The decoder sizes its buffers from the codestream, not from 'ihdr': check both.
  const jp2c = top.find((b) => b.type === 'jp2c');
  if (!jp2c) throw unreadable(f, "no codestream box ('jp2c')");
  const siz = await parseSiz(src, jp2c.data);
  if (siz.width !== frames[0]?.width || siz.height !== frames[0]?.height) frames.push(siz);
  return h;
}

// ---------------------------------------------------------------------------------------
// ICC profile description
// ---------------------------------------------------------------------------------------

/** The 'desc' tag of an ICC profile (v2 textDescriptionType or v4 multiLocalizedUnicodeType). */
export function iccDescription(icc: Buffer): string | undefined {
  try {
    if (icc.length < 132) return undefined;
    const count = icc.readUInt32BE(128);
    for (let i = 0; i < count && 132 + (i + 1) * 12 <= icc.length; i++) {
      const e = 132 + i * 12;
      if (icc.toString('latin1', e, e + 4) !== 'desc') continue;
      const off = icc.readUInt32BE(e + 4);
      const size = icc.readUInt32BE(e + 8);
      if (off + size > icc.length || size < 12) return undefined;
      const tag = icc.subarray(off, off + size);
      const type = tag.toString('latin1', 0, 4);
      if (type === 'desc') {
        const n = tag.readUInt32BE(8);
        const text = tag.toString('latin1', 12, Math.min(12 + n, tag.length));
        return clean(text);
      }
      if (type === 'mluc') {
        const records = tag.readUInt32BE(8);
        const recSize = tag.readUInt32BE(12);
        let chosen: { len: number; off: number } | undefined;
        for (let r = 0; r < records && 16 + (r + 1) * recSize <= tag.length; r++) {
          const ro = 16 + r * recSize;
          const lang = tag.toString('latin1', ro, ro + 2);
          const rec = { len: tag.readUInt32BE(ro + 4), off: tag.readUInt32BE(ro + 8) };
          if (!chosen || lang === 'en') chosen = rec;
          if (lang === 'en') break;
        }
        if (!chosen || chosen.off + chosen.len > tag.length) return undefined;
        const utf16be = Buffer.from(tag.subarray(chosen.off, chosen.off + chosen.len));
        utf16be.swap16();
        return clean(utf16be.toString('utf16le'));
      }
      return undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function clean(s: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return t === '' ? undefined : t;
}

function roundDpi(d: number): number {
  return Math.round(d * 100) / 100;
}

const DEPTH_BITS: Record<string, number> = {
  uchar: 8,
  char: 8,
  ushort: 16,
  short: 16,
  uint: 32,
  int: 32,
  float: 32,
  complex: 64,
  double: 64,
  dpcomplex: 128,
};

// ---------------------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------------------

async function identifyPdf(path: string, src: ByteSource, head: Buffer): Promise<FileFacts> {
  const at = head.subarray(0, 1024).indexOf('%PDF-', 0, 'latin1');
  const m = /^%PDF-(\d+\.\d+)/.exec(head.toString('latin1', at, at + 16));
  const version = m?.[1] ?? 'unknown';
  const tailStart = Math.max(0, src.size - 1024);
  const tail = await src.read(tailStart, src.size - tailStart);
  if (!tail.includes('%%EOF', 0, 'latin1')) {
    throw new FormatError(
      'unreadable-pdf',
      {
        vi: 'Tệp PDF không hoàn chỉnh: thiếu dấu kết thúc %%EOF ở cuối tệp (tệp có thể bị cắt cụt).',
        en: 'The PDF is incomplete: the %%EOF end marker is missing at the end of the file (it may be truncated).',
      },
      { version },
    );
  }
  if (await mayBeEncrypted(src)) await refuseUserPassword(path, version);
  const pdf: PdfFacts = { version };
  const pages = await countPdfPages(src);
  if (pages !== undefined) pdf.pages = pages;
  return { mediaType: 'application/pdf', format: 'pdf', size: src.size, pdf };
}

/** Where a trailer (or a cross-reference stream's dictionary) names /Encrypt: the file's two ends. */
const ENCRYPT_SCAN = 256 * 1024;

/**
 * Whether a trailer may name an encryption dictionary: it sits at the end of the file (and
 * also at the start of a linearized one). Only such files are opened with pdf.js here: a
 * damaged PDF's repair reads the whole file, which the upload request should not pay for.
 */
async function mayBeEncrypted(src: ByteSource): Promise<boolean> {
  const head = await src.read(0, ENCRYPT_SCAN);
  const tail = await src.read(Math.max(0, src.size - ENCRYPT_SCAN), ENCRYPT_SCAN);
  return head.includes('/Encrypt', 0, 'latin1') || tail.includes('/Encrypt', 0, 'latin1');
}

/**
 * A PDF locked with a user password is refused: no one can read it without the password, so
 * it can be neither shown nor checked nor migrated, and a preservation copy that depends on a
 * password kept elsewhere is lost with the password (PDF/A forbids encryption for this
 * reason). Refusing loses nothing: the depositor still has the file and the password. A PDF
 * with only an owner password (permissions) opens without one and is accepted; any other
 * trouble opening it is left to the derivatives worker, which reports it page by page, and
 * the file is kept as it came.
 */
async function refuseUserPassword(path: string, version: string): Promise<void> {
  let doc: PdfDocument;
  try {
    doc = await openPdf(path);
  } catch (error) {
    if (!(error instanceof PdfError && error.code === 'password-required')) return;
    throw new FormatError(
      'encrypted-pdf',
      {
        vi: 'Tệp PDF được mã hoá bằng mật khẩu người dùng: không có mật khẩu thì không ai mở được, hôm nay cũng như sau này, nên kho không nhận lưu. Hãy nộp bản không mã hoá.',
        en: 'The PDF is encrypted with a user password: without it no one can open it, now or later, so the repository does not take it. Ingest an unencrypted copy.',
      },
      { version },
    );
  }
  await doc.close();
}

/**
 * Counts `/Type /Page` (not `/Pages`) in a bounded read. Page objects inside compressed
 * object streams (PDF 1.5+) are invisible to this, and incremental updates can repeat a
 * page: the result is a hint, left out when nothing is found or the file is too big.
 */
async function countPdfPages(src: ByteSource): Promise<number | undefined> {
  if (src.size > PDF_PAGE_SCAN_LIMIT) return undefined;
  const CHUNK = 1024 * 1024;
  const re = /\/Type\s{0,16}\/Page(?![^\s/<>[\]()%{}])/g;
  let carry = '';
  let count = 0;
  for (let pos = 0; pos < src.size; pos += CHUNK) {
    const text = carry + (await src.read(pos, CHUNK)).toString('latin1');
    const final = pos + CHUNK >= src.size;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const end = m.index + m[0].length;
      // A match ending exactly at the chunk's end is decided next round, once the following
      // character (the lookahead) is known; one ending inside the carry was counted before.
      if (end >= carry.length && (end < text.length || final)) count++;
    }
    carry = text.slice(-64);
  }
  return count > 0 ? count : undefined;
}

// ---------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------

export async function identifyFile(path: string, options: IdentifyOptions): Promise<FileFacts> {
  const fh = await open(path, 'r');
  let header: HeaderFacts;
  let size: number;
  try {
    size = (await fh.stat()).size;
    if (size === 0) {
      throw new FormatError('empty-file', { vi: 'Tệp rỗng (0 byte).', en: 'The file is empty (0 bytes).' });
    }
    const src = new ByteSource(fh, size);
    const head = await src.read(0, 1024);
    const kind = sniff(head);
    switch (kind) {
      case 'pdf':
        return await identifyPdf(path, src, head);
      case 'tiff':
        header = await parseTiff(src);
        break;
      case 'jpeg':
        header = await parseJpeg(src);
        break;
      case 'png':
        header = await parsePng(src);
        break;
      case 'jp2':
      case 'j2c':
        header = await parseJp2(src, kind === 'j2c');
        break;
      case 'html':
        throw unknownFormat('html');
      default:
        throw unknownFormat();
    }
  } finally {
    await fh.close();
  }

  // Nothing has decoded a pixel yet: refuse bombs now.
  checkFrames(header, options.maxPixels);

  const { image, decoded } = await imageFacts(path, header, options);
  return { mediaType: header.mediaType, format: header.format, size, image, decoded };
}

async function imageFacts(
  path: string,
  header: HeaderFacts,
  options: IdentifyOptions,
): Promise<{ image: ImageFacts; decoded: boolean }> {
  const first = header.frames[0] as { width: number; height: number };
  const sharpReads = header.format !== 'jp2' || sharp.format.jp2.input.file;
  if (!sharpReads) {
    // This libvips has no JPEG 2000 decoder: report what the header says, undecoded.
    const image: ImageFacts = { width: first.width, height: first.height };
    if (header.bitDepth !== undefined) image.bitDepth = header.bitDepth;
    if (header.icc) image.iccProfile = describeIcc(header.icc);
    if (header.dpi !== undefined) image.dpi = header.dpi;
    return { image, decoded: false };
  }

  let meta: Metadata;
  try {
    meta = await openImage(path, { maxPixels: options.maxPixels, sequential: true }).metadata();
  } catch (err) {
    throw unreadable(header.format, decoderReason(err, path));
  }
  const pages = header.format === 'tiff' ? (meta.pages ?? header.frames.length) : 1;

  let decoded = false;
  if (options.verifyDecode !== false) {
    for (let page = 0; page < pages; page++) {
      try {
        // Pull every pixel through the decoder into a thumbnail-sized sink: memory stays
        // small (sequential read), and a truncated or corrupt page fails here. (Not stats():
        // with sharp 0.35 two concurrent stats() of one truncated JPEG may both "succeed".)
        // No shrink-on-load except for JPEG, whose DCT scaling still entropy-decodes the
        // whole scan: a TIFF pyramid level must not stand in for the full-resolution page.
        await openImage(path, { maxPixels: options.maxPixels, page, sequential: true })
          // Nearest-neighbour: the thumbnail is thrown away, and a filtering kernel would hold
          // hundreds of full-width lines (≈ 100 MB for a 2 GB scan) where this holds few.
          .resize(VERIFY_SIZE, VERIFY_SIZE, { fit: 'inside', kernel: 'nearest', fastShrinkOnLoad: header.format === 'jpeg' })
          .raw()
          .toBuffer();
      } catch (err) {
        const reason = decoderReason(err, path);
        throw unreadable(header.format, pages > 1 ? `page ${page + 1}: ${reason}` : reason);
      }
    }
    decoded = true;
  }

  const image: ImageFacts = { width: meta.width, height: meta.height };
  const bitDepth = header.bitDepth ?? DEPTH_BITS[meta.depth];
  if (bitDepth !== undefined) image.bitDepth = bitDepth;
  const icc = meta.icc ?? header.icc;
  if (icc) image.iccProfile = describeIcc(icc);
  const dpi = meta.density ?? header.dpi;
  if (dpi !== undefined && dpi > 0) image.dpi = roundDpi(dpi);
  if (header.format === 'tiff') image.pages = pages;
  return { image, decoded };
}

function describeIcc(icc: Buffer): string {
  return (iccDescription(icc) ?? 'embedded').slice(0, 200);
}

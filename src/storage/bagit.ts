/**
 * BagIt 1.0 (RFC 8493) bags: a writer for our exports and preservation copies, and a validator
 * for bags we write or receive.
 *
 * Writer: payload files are copied into `data/` while being hashed in the same pass (SHA-512
 * and SHA-256), then `bagit.txt`, the payload manifests, `bag-info.txt` and the tag manifests
 * are written. Everything is built in a sibling directory `<outDir>.partial-<random>`, fsynced,
 * and renamed to `outDir` only when complete, so a half-written bag never carries the final
 * name; on any failure the partial directory is removed.
 *
 * Validator: collects every problem instead of stopping at the first, each with a bilingual
 * message. It never follows symbolic links, never reads a file named by a manifest path (only
 * files found by walking the bag directory), so a hostile manifest cannot make it read outside
 * the bag. It does not fetch: a `fetch.txt` makes the bag incomplete for us.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Bilingual } from '../domain/errors.ts';
import { fsyncDir, writeNewFile } from './durable-file.ts';

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/** A payload file: copied from `source`, or written from `content` (a string is UTF-8). */
export type BagPayloadEntry =
  | { path: string /* relative to data/, forward slashes */; source: string /* absolute path */ }
  | { path: string; content: string | Buffer };

export interface BagInfoInput {
  sourceOrganization: string;
  externalIdentifier: string;
  externalDescription?: string;
  /** YYYY-MM-DD; today (local time) when absent. */
  baggingDate?: string;
  /** Further bag-info.txt elements, written in the given order after the standard ones. */
  other?: Record<string, string>;
}

export interface WriteBagResult {
  /** `<octets>.<files>` as written to bag-info.txt. */
  payloadOxum: string;
  files: number;
  bytes: number;
}

const BAGIT_TXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
const WRITE_ALGORITHMS = ['sha512', 'sha256'] as const;
const CHUNK = 1 << 20;

/** RFC 8493 §2.1.3: CR, LF and `%` in a manifest path are percent-encoded. */
export function encodeManifestPath(p: string): string {
  return p.replace(/[%\r\n]/g, (c) => (c === '%' ? '%25' : c === '\r' ? '%0D' : '%0A'));
}

/** The inverse of {@link encodeManifestPath}; other `%xx` sequences are left as they are. */
export function decodeManifestPath(p: string): string {
  return p.replace(/%(0D|0A|25)/gi, (_, hex: string) => (hex === '25' ? '%' : hex.toUpperCase() === '0D' ? '\r' : '\n'));
}

/** Human-readable size for Bag-Size, in decimal units as the RFC's examples ("42.6 GB"). */
export function formatBagSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1).replace(/\.0$/, '')} ${units[unit]}`;
}

function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const msg = err instanceof Error ? err.message : String(err);
    return msg.includes(err.code) ? msg : `${err.code}: ${msg}`;
  }
  return err instanceof Error ? err.message : String(err);
}

async function writeAll(fh: FileHandle, buf: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await fh.write(buf, offset, buf.length - offset);
    offset += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

export type BagWriteErrorCode =
  | 'out-dir-not-empty'
  | 'invalid-path'
  | 'duplicate-path'
  | 'invalid-info'
  | 'source-unreadable';

/** Why {@link writeBag} refused or failed; nothing is left at `outDir` when it throws. */
export class BagWriteError extends Error {
  readonly code: BagWriteErrorCode;
  readonly messages: Bilingual;

  constructor(code: BagWriteErrorCode, messages: Bilingual, options?: { cause?: unknown }) {
    super(messages.en, options);
    this.name = 'BagWriteError';
    this.code = code;
    this.messages = messages;
  }
}

function invalidPath(p: string, vi: string, en: string): BagWriteError {
  return new BagWriteError('invalid-path', {
    vi: `Đường dẫn tệp dữ liệu "${p}" không hợp lệ: ${vi}.`,
    en: `Invalid payload path "${p}": ${en}.`,
  });
}

/** NFC-normalises and checks payload paths; returns entries sorted by path. */
function checkPayload(payload: BagPayloadEntry[]): Array<BagPayloadEntry & { path: string }> {
  const seen = new Set<string>();
  const out: Array<BagPayloadEntry & { path: string }> = [];
  for (const entry of payload) {
    if (typeof entry.path !== 'string') throw invalidPath(String(entry.path), 'không phải chuỗi', 'not a string');
    const p = entry.path.normalize('NFC');
    if (p.length === 0) throw invalidPath(p, 'rỗng', 'empty');
    if (p.startsWith('/')) throw invalidPath(p, 'phải là đường dẫn tương đối trong data/', 'must be relative to data/');
    if (p.includes('\\')) throw invalidPath(p, 'phải dùng dấu "/" để phân cách thư mục', 'use "/" as the separator');
    if (p.includes('\0')) throw invalidPath(p, 'chứa ký tự NUL', 'contains a NUL character');
    const segments = p.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw invalidPath(p, 'có đoạn rỗng, "." hoặc ".."', 'has an empty, "." or ".." segment');
    }
    if (seen.has(p)) {
      throw new BagWriteError('duplicate-path', {
        vi: `Đường dẫn "${p}" xuất hiện hai lần trong dữ liệu.`,
        en: `The payload path "${p}" appears twice.`,
      });
    }
    seen.add(p);
    if ('source' in entry) {
      if (typeof entry.source !== 'string' || !path.isAbsolute(entry.source)) {
        throw invalidPath(p, 'tệp nguồn phải là đường dẫn tuyệt đối', 'the source must be an absolute path');
      }
    } else if (!('content' in entry) || (typeof entry.content !== 'string' && !Buffer.isBuffer(entry.content))) {
      throw invalidPath(p, 'thiếu "source" hoặc "content"', 'needs a "source" or a "content"');
    }
    out.push({ ...entry, path: p });
  }
  // A path cannot be both a file and a directory ("a" and "a/b").
  for (const p of seen) {
    const segments = p.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = segments.slice(0, i).join('/');
      if (seen.has(dir)) {
        throw invalidPath(dir, `vừa là tệp vừa là thư mục của "${p}"`, `it is both a file and the directory of "${p}"`);
      }
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One-line bag-info value: line breaks (we do not fold) become a single space; NFC. */
function infoValue(value: string): string {
  return value.normalize('NFC').replace(/[ \t]*(?:\r\n|\r|\n)[ \t\r\n]*/g, ' ').trim();
}

const WRITER_LABELS = [
  'source-organization',
  'bagging-date',
  'payload-oxum',
  'external-identifier',
  'bag-size',
  'external-description',
];

function invalidInfo(vi: string, en: string): BagWriteError {
  return new BagWriteError('invalid-info', { vi, en });
}

/** bag-info.txt elements before Payload-Oxum and Bag-Size are known. */
function checkInfo(info: BagInfoInput): { before: Array<[string, string]>; after: Array<[string, string]> } {
  const org = infoValue(info.sourceOrganization ?? '');
  if (!org) throw invalidInfo('Thiếu Source-Organization (tổ chức gửi).', 'Source-Organization is required.');
  const ext = infoValue(info.externalIdentifier ?? '');
  if (!ext) throw invalidInfo('Thiếu External-Identifier (mã định danh gói).', 'External-Identifier is required.');
  let date = info.baggingDate;
  if (date === undefined) {
    const now = new Date();
    date = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
  } else if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
    throw invalidInfo(`Bagging-Date "${date}" phải có dạng YYYY-MM-DD.`, `Bagging-Date "${date}" must be YYYY-MM-DD.`);
  }
  const after: Array<[string, string]> = [];
  if (info.externalDescription !== undefined) {
    const d = infoValue(info.externalDescription);
    if (d) after.push(['External-Description', d]);
  }
  for (const [label, value] of Object.entries(info.other ?? {})) {
    if (!label || label !== label.trim() || /[:\r\n]/.test(label)) {
      throw invalidInfo(
        `Nhãn bag-info "${label}" không hợp lệ: không được rỗng, chứa ":" hay xuống dòng, hoặc bắt đầu/kết thúc bằng khoảng trắng.`,
        `Invalid bag-info label "${label}": it must not be empty, contain ":" or a line break, or start or end with whitespace.`,
      );
    }
    if (WRITER_LABELS.includes(label.toLowerCase())) {
      throw invalidInfo(
        `Nhãn "${label}" do hệ thống tự ghi; không đặt nó trong "other".`,
        `"${label}" is written by the bagger itself; do not pass it in "other".`,
      );
    }
    if (typeof value !== 'string') {
      throw invalidInfo(`Giá trị của "${label}" phải là chuỗi.`, `The value of "${label}" must be a string.`);
    }
    after.push([label.normalize('NFC'), infoValue(value)]);
  }
  return {
    before: [
      ['Source-Organization', org],
      ['Bagging-Date', date],
    ],
    after: [['External-Identifier', ext], ...after],
  };
}

async function refuseNonEmpty(target: string): Promise<void> {
  let st;
  try {
    st = await stat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const empty = st.isDirectory() && (await readdir(target)).length === 0;
  if (!empty) {
    throw new BagWriteError('out-dir-not-empty', {
      vi: `Thư mục đích "${target}" đã tồn tại và không rỗng; không ghi đè lên nó.`,
      en: `The output "${target}" already exists and is not an empty directory; refusing to overwrite it.`,
    });
  }
}

/** Copies (or writes) one payload file, hashing as it goes; fsyncs it. */
async function writePayloadFile(
  entry: BagPayloadEntry & { path: string },
  dest: string,
): Promise<{ size: number; digests: Record<(typeof WRITE_ALGORITHMS)[number], string> }> {
  const hashes = WRITE_ALGORITHMS.map((a) => createHash(a));
  let size = 0;
  const out = await open(dest, 'wx');
  try {
    if ('content' in entry) {
      const buf = typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : entry.content;
      for (const h of hashes) h.update(buf);
      await writeAll(out, buf);
      size = buf.length;
    } else {
      try {
        for await (const chunk of createReadStream(entry.source, { highWaterMark: CHUNK })) {
          const buf = chunk as Buffer;
          for (const h of hashes) h.update(buf);
          await writeAll(out, buf);
          size += buf.length;
        }
      } catch (err) {
        throw new BagWriteError(
          'source-unreadable',
          {
            vi: `Không đọc được tệp nguồn "${entry.source}" (cho "data/${entry.path}"): ${errorText(err)}`,
            en: `Could not read the source "${entry.source}" (for "data/${entry.path}"): ${errorText(err)}`,
          },
          { cause: err },
        );
      }
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { size, digests: { sha512: hashes[0]!.digest('hex'), sha256: hashes[1]!.digest('hex') } };
}

async function writeTagFile(dir: string, name: string, text: string): Promise<Buffer> {
  const buf = Buffer.from(text, 'utf8');
  await writeNewFile(path.join(dir, name), buf);
  return buf;
}

/**
 * Writes a BagIt 1.0 bag at `outDir` (which must not exist, or be an empty directory).
 * Throws {@link BagWriteError} for bad input or an unreadable source; on any failure nothing is
 * left at `outDir` and the partial directory is removed.
 */
export async function writeBag(
  outDir: string,
  payload: BagPayloadEntry[],
  info: BagInfoInput,
): Promise<WriteBagResult> {
  const entries = checkPayload(payload);
  const infoParts = checkInfo(info);
  const target = path.resolve(outDir);
  await refuseNonEmpty(target);
  await mkdir(path.dirname(target), { recursive: true });

  const partial = `${target}.partial-${randomBytes(6).toString('hex')}`;
  await mkdir(partial);
  let bytes = 0;
  try {
    const dataDir = path.join(partial, 'data');
    await mkdir(dataDir);
    const dirs = new Set<string>([partial, dataDir]);
    const rows: Array<{ path: string; digests: Record<string, string> }> = [];
    for (const entry of entries) {
      const segments = entry.path.split('/');
      for (let i = 1; i < segments.length; i++) {
        const dir = path.join(dataDir, ...segments.slice(0, i));
        if (!dirs.has(dir)) {
          await mkdir(dir, { recursive: true });
          dirs.add(dir);
        }
      }
      const written = await writePayloadFile(entry, path.join(dataDir, ...segments));
      bytes += written.size;
      rows.push({ path: entry.path, digests: written.digests });
    }

    const payloadOxum = `${bytes}.${entries.length}`;
    const tagFiles = new Map<string, Buffer>();
    tagFiles.set('bagit.txt', await writeTagFile(partial, 'bagit.txt', BAGIT_TXT));
    for (const alg of WRITE_ALGORITHMS) {
      const text = rows.map((r) => `${r.digests[alg]} data/${encodeManifestPath(r.path)}\n`).join('');
      tagFiles.set(`manifest-${alg}.txt`, await writeTagFile(partial, `manifest-${alg}.txt`, text));
    }
    const infoLines: Array<[string, string]> = [
      ...infoParts.before,
      ['Payload-Oxum', payloadOxum],
      infoParts.after[0]!, // External-Identifier
      ['Bag-Size', formatBagSize(bytes)],
      ...infoParts.after.slice(1),
    ];
    const infoText = infoLines.map(([label, value]) => `${label}: ${value}\n`).join('');
    tagFiles.set('bag-info.txt', await writeTagFile(partial, 'bag-info.txt', infoText));

    const tagNames = [...tagFiles.keys()].sort();
    for (const alg of WRITE_ALGORITHMS) {
      const text = tagNames
        .map((name) => `${createHash(alg).update(tagFiles.get(name)!).digest('hex')} ${encodeManifestPath(name)}\n`)
        .join('');
      await writeTagFile(partial, `tagmanifest-${alg}.txt`, text);
    }

    // Deepest directories first, so each directory's entries are durable before its parent's.
    for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(dir);
    await refuseNonEmpty(target); // someone may have created it meanwhile
    try {
      await rename(partial, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw new BagWriteError(
          'out-dir-not-empty',
          {
            vi: `Thư mục đích "${target}" đã xuất hiện trong lúc ghi gói; không ghi đè lên nó.`,
            en: `The output "${target}" appeared while the bag was being written; refusing to overwrite it.`,
          },
          { cause: err },
        );
      }
      throw err;
    }
    await fsyncDir(path.dirname(target));
    return { payloadOxum, files: entries.length, bytes };
  } catch (err) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Validator
// ---------------------------------------------------------------------------------------------

export type BagProblemCode =
  | 'not-a-bag'
  | 'bad-bagit-txt'
  | 'unsupported-encoding'
  | 'no-payload-dir'
  | 'no-manifest'
  | 'unsupported-algorithm'
  | 'bad-manifest-line'
  | 'duplicate-entry'
  | 'path-escape'
  | 'missing-file'
  | 'unlisted-file'
  | 'digest-mismatch'
  | 'tag-manifest-incomplete'
  | 'tag-digest-mismatch'
  | 'bad-bag-info'
  | 'oxum-mismatch'
  | 'fetch-unsupported'
  | 'not-regular-file'
  | 'read-error';

export interface BagProblem {
  code: BagProblemCode;
  message: Bilingual;
  /** Relative to the bag directory, e.g. `data/a.tif` or `bag-info.txt`. */
  path?: string;
}

export interface BagPayloadFile {
  /** Relative to `data/`, as given to {@link writeBag}. */
  path: string;
  size: number;
  /** Hex digest per payload-manifest algorithm, computed from the file. */
  digests: Record<string, string>;
}

export interface BagValidation {
  valid: boolean;
  problems: BagProblem[];
  /** bag-info.txt elements, label as written → values in file order. */
  info: Record<string, string[]>;
  /** Algorithms of the payload manifests that could be checked, sorted. */
  algorithms: string[];
  /** Algorithms of the tag manifests that could be checked, sorted. */
  tagAlgorithms: string[];
  /** BagIt-Version of bagit.txt (1.0 when it could not be read). */
  version: string;
  /** `<octets>.<files>` of data/ as found on disk. */
  payloadOxum: string;
  /**
   * Every regular file under data/, sorted by path. Its digests hold one entry per payload
   * manifest algorithm and always `sha512` (our storage digest), all from the same read.
   */
  payload: BagPayloadFile[];
}

export interface ValidateBagOptions {
  /** Called after each file hashed and every 16 MiB within a file (cumulative counts). */
  onProgress?: (p: { files: number; bytes: number }) => void;
}

/**
 * Manifest algorithm labels we can check, mapped to Node's hash and ranked by strength. RFC 8493
 * §2.4 registers md5, sha1, sha256 and sha512 and names any other algorithm by its IANA "Named
 * Information" name, lower-cased with the punctuation removed (sha3256, blake2b512, ...); the
 * hyphenated spellings and bagit-python's hashlib names (sha3_256, blake2b, blake2s) name the
 * same digests, so a bag written by either verifies here.
 */
/** Node's name for each digest, its rank, and every label a manifest may give it. */
const DIGEST_NAMES: ReadonlyArray<[node: string, strength: number, labels: string[]]> = [
  ['md5', 1, ['md5']],
  ['sha1', 2, ['sha1']],
  ['sha224', 3, ['sha224']],
  ['sha3-224', 3, ['sha3224', 'sha3-224', 'sha3_224']],
  ['sha256', 4, ['sha256']],
  ['sha3-256', 4, ['sha3256', 'sha3-256', 'sha3_256']],
  ['blake2s256', 4, ['blake2s256', 'blake2s']],
  ['sha384', 5, ['sha384']],
  ['sha3-384', 5, ['sha3384', 'sha3-384', 'sha3_384']],
  ['sha512', 6, ['sha512']],
  ['sha3-512', 6, ['sha3512', 'sha3-512', 'sha3_512']],
  ['blake2b512', 6, ['blake2b512', 'blake2b']],
];
const ALGORITHMS: Record<string, { node: string; hexLength: number; strength: number }> = Object.fromEntries(
  DIGEST_NAMES.flatMap(([node, strength, labels]) => {
    const hexLength = createHash(node).digest('hex').length;
    return labels.map((label) => [label, { node, hexLength, strength }]);
  }),
);

/** The manifest algorithm labels this validator checks (for messages and documentation). */
export const MANIFEST_ALGORITHMS: readonly string[] = Object.keys(ALGORITHMS);
const SUPPORTED_LIST = MANIFEST_ALGORITHMS.join(', ');

/** Strongest first; equal strength by name, so the order is stable. */
export function byStrength(algorithms: Iterable<string>): string[] {
  return [...new Set(algorithms)].sort((a, b) => (ALGORITHMS[b]?.strength ?? 0) - (ALGORITHMS[a]?.strength ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}

const PROGRESS_EVERY = 16 * CHUNK;

interface ManifestEntry {
  /** The decoded path as listed. */
  listed: string;
  /** The path exactly as in the file (for bags that did not percent-encode). */
  raw: string;
  expected: string;
  line: number;
}

interface Manifest {
  name: string;
  algorithm: string;
  entries: ManifestEntry[];
}

/** Why a manifest path is unusable, or undefined when it stays inside the bag. */
function pathProblem(p: string): 'escape' | 'malformed' | undefined {
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p) || p.startsWith('~')) return 'escape';
  const segments = p.split(/[\\/]/);
  if (segments.includes('..')) return 'escape';
  if (p.includes('\0') || segments.some((s) => s === '' || s === '.')) return 'malformed';
  return undefined;
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(buf: Buffer): string | undefined {
  try {
    const text = utf8.decode(buf);
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch {
    return undefined;
  }
}

/**
 * Validates the bag at `dir`. Never throws for anything wrong with the bag (or a missing
 * directory): every problem found is returned, and `valid` is true only when there are none.
 */
export async function validateBag(dir: string, options: ValidateBagOptions = {}): Promise<BagValidation> {
  const problems: BagProblem[] = [];
  const add = (code: BagProblemCode, vi: string, en: string, p?: string) => {
    problems.push(p === undefined ? { code, message: { vi, en } } : { code, message: { vi, en }, path: p });
  };
  const result: BagValidation = { valid: false, problems, info: {}, algorithms: [], tagAlgorithms: [], version: '1.0', payloadOxum: '0.0', payload: [] };
  const root = path.resolve(dir);
  const abs = (rel: string) => path.join(root, ...rel.split('/'));

  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch {
    add(
      'not-a-bag',
      `Không tìm thấy thư mục gói "${dir}", hoặc đó không phải là thư mục.`,
      `The bag directory "${dir}" does not exist or is not a directory.`,
    );
    return result;
  }

  // --- the files actually there (never following links) -------------------------------------
  const files = new Map<string, number>(); // bag-relative path → size
  const irregular = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    let dirents;
    try {
      dirents = await readdir(rel ? abs(rel) : root, { withFileTypes: true });
    } catch (err) {
      add(
        'read-error',
        `Không đọc được thư mục "${rel}": ${errorText(err)}`,
        `Could not read the directory "${rel}": ${errorText(err)}`,
        rel,
      );
      return;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of dirents) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(p);
      else if (d.isFile()) {
        try {
          files.set(p, (await lstat(abs(p))).size);
        } catch (err) {
          add('read-error', `Không đọc được "${p}": ${errorText(err)}`, `Could not read "${p}": ${errorText(err)}`, p);
        }
      } else {
        irregular.add(p);
        add(
          'not-regular-file',
          `"${p}" là liên kết tượng trưng (symlink) hoặc tệp đặc biệt; không được theo và không được kiểm tra.`,
          `"${p}" is a symbolic link or a special file; it was neither followed nor checked.`,
          p,
        );
      }
    }
  };
  await walk('');

  const byNfc = new Map<string, string[]>();
  for (const p of files.keys()) {
    const key = p.normalize('NFC');
    byNfc.set(key, [...(byNfc.get(key) ?? []), p]);
  }
  /** The file on disk a manifest entry names: exact, else the same name in another Unicode form. */
  const resolve = (e: ManifestEntry): string | undefined => {
    if (files.has(e.listed)) return e.listed;
    const same = byNfc.get(e.listed.normalize('NFC'));
    if (same?.length === 1) return same[0];
    if (e.raw !== e.listed && files.has(e.raw)) return e.raw;
    return undefined;
  };

  const readSmall = async (rel: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(abs(rel));
    } catch (err) {
      add('read-error', `Không đọc được "${rel}": ${errorText(err)}`, `Could not read "${rel}": ${errorText(err)}`, rel);
      return undefined;
    }
  };

  // --- bagit.txt ----------------------------------------------------------------------------
  let version = '1.0';
  if (!files.has('bagit.txt')) {
    add(
      'bad-bagit-txt',
      'Thiếu tệp bagit.txt (tệp khai báo bắt buộc của gói BagIt).',
      'bagit.txt, the required bag declaration, is missing.',
      'bagit.txt',
    );
  } else {
    const buf = await readSmall('bagit.txt');
    if (buf) {
      const text = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? undefined : decodeUtf8(buf);
      if (text === undefined) {
        add(
          'bad-bagit-txt',
          'bagit.txt phải là văn bản UTF-8 và không được bắt đầu bằng dấu thứ tự byte (BOM).',
          'bagit.txt must be UTF-8 text without a byte-order mark (BOM).',
          'bagit.txt',
        );
      } else {
        const lines = splitLines(text);
        const v = /^BagIt-Version[ \t]*:[ \t]*(\S+)[ \t]*$/i.exec(lines[0] ?? '');
        const enc = /^Tag-File-Character-Encoding[ \t]*:[ \t]*(\S+)[ \t]*$/i.exec(lines[1] ?? '');
        if (lines.length !== 2 || !v || !enc) {
          add(
            'bad-bagit-txt',
            'bagit.txt phải gồm đúng hai dòng theo thứ tự: "BagIt-Version: M.N" và "Tag-File-Character-Encoding: UTF-8".',
            'bagit.txt must consist of exactly two lines, in order: "BagIt-Version: M.N" and "Tag-File-Character-Encoding: UTF-8".',
            'bagit.txt',
          );
        }
        if (v) {
          if (v[1] === '1.0' || v[1] === '0.97') version = result.version = v[1];
          else {
            add(
              'bad-bagit-txt',
              `Phiên bản BagIt "${v[1]}" không được hỗ trợ (chỉ hỗ trợ 1.0 và 0.97).`,
              `BagIt version "${v[1]}" is not supported (only 1.0 and 0.97 are).`,
              'bagit.txt',
            );
          }
        }
        if (enc && !/^utf-?8$/i.test(enc[1]!)) {
          add(
            'unsupported-encoding',
            `Bảng mã của các tệp thẻ "${enc[1]}" không được hỗ trợ; chỉ hỗ trợ UTF-8.`,
            `Tag file character encoding "${enc[1]}" is not supported; only UTF-8 is.`,
            'bagit.txt',
          );
        }
      }
    }
  }

  if (files.has('fetch.txt')) {
    add(
      'fetch-unsupported',
      'Gói có tệp fetch.txt (danh sách tệp cần tải về thêm); hệ thống không tải tệp từ xa nên gói được coi là chưa đầy đủ.',
      'The bag has a fetch.txt (files to be downloaded into it); we do not fetch remote files, so the bag is treated as incomplete.',
      'fetch.txt',
    );
  }

  try {
    if (!(await lstat(abs('data'))).isDirectory()) throw new Error('not a directory');
  } catch {
    if (!irregular.has('data')) {
      add('no-payload-dir', 'Thiếu thư mục dữ liệu "data/".', 'The payload directory "data/" is missing.', 'data');
    }
  }

  // --- manifests ----------------------------------------------------------------------------
  const rootFiles = [...files.keys()].filter((p) => !p.includes('/'));
  const payloadManifestNames = rootFiles.filter((p) => /^manifest-.+\.txt$/.test(p));
  const tagManifestNames = rootFiles.filter((p) => /^tagmanifest-.+\.txt$/.test(p));
  if (payloadManifestNames.length === 0) {
    add(
      'no-manifest',
      'Gói không có tệp kê khai dữ liệu nào (manifest-<thuật toán>.txt).',
      'The bag has no payload manifest (manifest-<algorithm>.txt).',
    );
  }

  const parseManifest = async (name: string, kind: 'payload' | 'tag'): Promise<Manifest | undefined> => {
    const algorithm = /^(?:tag)?manifest-(.+)\.txt$/.exec(name)![1]!;
    const alg = ALGORITHMS[algorithm];
    if (!alg) {
      add(
        'unsupported-algorithm',
        `Thuật toán băm "${algorithm}" của ${name} không được hỗ trợ nên tệp kê khai này không kiểm tra được; RFC 8493 đòi mọi tệp kê khai phải khớp, vì vậy gói bị từ chối. Các thuật toán được hỗ trợ: ${SUPPORTED_LIST}.`,
        `Checksum algorithm "${algorithm}" of ${name} is not supported, so that manifest cannot be checked; RFC 8493 requires every manifest to verify, so the bag is refused. Supported algorithms: ${SUPPORTED_LIST}.`,
        name,
      );
      return undefined;
    }
    const buf = await readSmall(name);
    if (!buf) return undefined;
    const text = decodeUtf8(buf);
    if (text === undefined) {
      add('bad-manifest-line', `${name} không phải văn bản UTF-8 hợp lệ.`, `${name} is not valid UTF-8 text.`, name);
      return undefined;
    }
    const entries: ManifestEntry[] = [];
    const seen = new Map<string, number>();
    splitLines(text).forEach((line, i) => {
      const n = i + 1;
      if (line.trim() === '') return;
      const m = /^([0-9A-Fa-f]+)[ \t]+(.+)$/.exec(line);
      if (!m) {
        add(
          'bad-manifest-line',
          `${name}, dòng ${n}: không đúng dạng "<mã băm> <đường dẫn>".`,
          `${name}, line ${n}: not of the form "<checksum> <path>".`,
          name,
        );
        return;
      }
      const raw = m[2]!;
      const listed = version === '0.97' ? raw : decodeManifestPath(raw);
      const bad = pathProblem(listed);
      if (bad === 'escape') {
        add(
          'path-escape',
          `${name}, dòng ${n}: đường dẫn "${listed}" trỏ ra ngoài gói; dòng này bị bỏ qua và không tệp nào ngoài gói bị đọc.`,
          `${name}, line ${n}: the path "${listed}" points outside the bag; the line was ignored and nothing outside the bag was read.`,
          name,
        );
        return;
      }
      if (bad === 'malformed') {
        add(
          'bad-manifest-line',
          `${name}, dòng ${n}: đường dẫn "${listed}" không hợp lệ (có đoạn rỗng, "." hoặc ký tự NUL).`,
          `${name}, line ${n}: the path "${listed}" is malformed (an empty or "." segment, or a NUL character).`,
          name,
        );
        return;
      }
      if (m[1]!.length !== alg.hexLength) {
        add(
          'bad-manifest-line',
          `${name}, dòng ${n}: mã băm không có độ dài của ${algorithm} (${alg.hexLength} chữ số thập lục phân).`,
          `${name}, line ${n}: the checksum is not the length of a ${algorithm} digest (${alg.hexLength} hex digits).`,
          name,
        );
        return;
      }
      if (kind === 'payload' && !listed.startsWith('data/')) {
        add(
          'bad-manifest-line',
          `${name}, dòng ${n}: tệp kê khai dữ liệu chỉ được liệt kê tệp trong "data/", nhưng lại có "${listed}".`,
          `${name}, line ${n}: a payload manifest may only list files under "data/", but it lists "${listed}".`,
          name,
        );
        return;
      }
      if (kind === 'tag' && listed.startsWith('data/')) {
        add(
          'bad-manifest-line',
          `${name}, dòng ${n}: tệp kê khai thẻ không được liệt kê tệp dữ liệu "${listed}".`,
          `${name}, line ${n}: a tag manifest must not list the payload file "${listed}".`,
          name,
        );
        return;
      }
      if (kind === 'tag' && /^tagmanifest-[^/]+\.txt$/.test(listed)) {
        add(
          'bad-manifest-line',
          `${name}, dòng ${n}: tệp kê khai thẻ không được liệt kê tệp kê khai thẻ "${listed}".`,
          `${name}, line ${n}: a tag manifest must not list the tag manifest "${listed}".`,
          name,
        );
        return;
      }
      const key = listed.normalize('NFC');
      const first = seen.get(key);
      if (first !== undefined) {
        add(
          'duplicate-entry',
          `${name}, dòng ${n}: "${listed}" đã được liệt kê ở dòng ${first}.`,
          `${name}, line ${n}: "${listed}" is already listed on line ${first}.`,
          name,
        );
        return;
      }
      seen.set(key, n);
      entries.push({ listed, raw, expected: m[1]!.toLowerCase(), line: n });
    });
    return { name, algorithm, entries };
  };

  const payloadManifests: Manifest[] = [];
  for (const name of payloadManifestNames) {
    const m = await parseManifest(name, 'payload');
    if (m) payloadManifests.push(m);
  }
  const tagManifests: Manifest[] = [];
  for (const name of tagManifestNames) {
    const m = await parseManifest(name, 'tag');
    if (m) tagManifests.push(m);
  }
  result.algorithms = [...new Set(payloadManifests.map((m) => m.algorithm))].sort();

  // --- completeness: payload ------------------------------------------------------------------
  const payloadFiles = [...files.keys()].filter((p) => p.startsWith('data/'));
  result.payloadOxum = `${payloadFiles.reduce((sum, p) => sum + files.get(p)!, 0)}.${payloadFiles.length}`;
  /** disk path → manifest name → expected digest */
  const expectedPayload = new Map<string, Map<string, string>>();
  for (const m of payloadManifests) {
    for (const e of m.entries) {
      const onDisk = resolve(e);
      if (onDisk === undefined) {
        if (!irregular.has(e.listed)) {
          add(
            'missing-file',
            `Thiếu tệp "${e.listed}" (được liệt kê trong ${m.name}, dòng ${e.line}).`,
            `"${e.listed}" is missing (listed in ${m.name}, line ${e.line}).`,
            e.listed,
          );
        }
        continue;
      }
      const forFile = expectedPayload.get(onDisk) ?? new Map<string, string>();
      forFile.set(m.name, e.expected);
      expectedPayload.set(onDisk, forFile);
    }
  }
  for (const p of payloadFiles) {
    const listedIn = expectedPayload.get(p);
    const notIn = payloadManifests.filter((m) => !listedIn?.has(m.name)).map((m) => m.name);
    if (notIn.length > 0) {
      add(
        'unlisted-file',
        `Tệp "${p}" có trong thư mục data/ nhưng không được liệt kê trong ${notIn.join(', ')}.`,
        `"${p}" is in data/ but is not listed in ${notIn.join(', ')}.`,
        p,
      );
    }
  }

  // --- bag-info.txt and Payload-Oxum (cheap; before hashing) ----------------------------------
  if (files.has('bag-info.txt')) {
    const buf = await readSmall('bag-info.txt');
    const text = buf && decodeUtf8(buf);
    if (buf && text === undefined) {
      add('bad-bag-info', 'bag-info.txt không phải văn bản UTF-8 hợp lệ.', 'bag-info.txt is not valid UTF-8 text.', 'bag-info.txt');
    }
    if (text !== undefined) {
      const elements: Array<[string, string]> = [];
      splitLines(text).forEach((line, i) => {
        const n = i + 1;
        if (/^[ \t]/.test(line)) {
          const last = elements[elements.length - 1];
          if (line.trim() === '') return;
          if (last) last[1] = last[1] ? `${last[1]} ${line.trim()}` : line.trim();
          else {
            add(
              'bad-bag-info',
              `bag-info.txt, dòng ${n}: dòng tiếp nối nhưng không có nhãn nào phía trước.`,
              `bag-info.txt, line ${n}: a continuation line with no element before it.`,
              'bag-info.txt',
            );
          }
          return;
        }
        if (line === '') return;
        const colon = line.indexOf(':');
        const label = colon > 0 ? line.slice(0, colon).trim() : '';
        if (!label) {
          add(
            'bad-bag-info',
            `bag-info.txt, dòng ${n}: không đúng dạng "Nhãn: giá trị".`,
            `bag-info.txt, line ${n}: not of the form "Label: value".`,
            'bag-info.txt',
          );
          return;
        }
        elements.push([label, line.slice(colon + 1).trim()]);
      });
      for (const [label, value] of elements) (result.info[label] ??= []).push(value);

      const oxums = elements.filter(([label]) => label.toLowerCase() === 'payload-oxum').map(([, v]) => v);
      if (oxums.length > 1) {
        add(
          'bad-bag-info',
          'Payload-Oxum xuất hiện nhiều lần trong bag-info.txt.',
          'Payload-Oxum appears more than once in bag-info.txt.',
          'bag-info.txt',
        );
      }
      const oxum = oxums[0];
      if (oxum !== undefined) {
        const m = /^(\d+)\.(\d+)$/.exec(oxum);
        const bytes = payloadFiles.reduce((sum, p) => sum + files.get(p)!, 0);
        const actual = `${bytes}.${payloadFiles.length}`;
        if (!m) {
          add(
            'bad-bag-info',
            `Payload-Oxum "${oxum}" không đúng dạng "<số byte>.<số tệp>".`,
            `Payload-Oxum "${oxum}" is not of the form "<octets>.<files>".`,
            'bag-info.txt',
          );
        } else if (BigInt(m[1]!) !== BigInt(bytes) || BigInt(m[2]!) !== BigInt(payloadFiles.length)) {
          add(
            'oxum-mismatch',
            `Payload-Oxum ghi ${oxum} nhưng thư mục data/ có ${bytes} byte trong ${payloadFiles.length} tệp (${actual}).`,
            `Payload-Oxum says ${oxum} but data/ holds ${bytes} bytes in ${payloadFiles.length} files (${actual}).`,
            'bag-info.txt',
          );
        }
      }
    }
  }

  // --- completeness: tag files ----------------------------------------------------------------
  /** disk path → manifest name → expected digest */
  const expectedTag = new Map<string, Map<string, string>>();
  for (const m of tagManifests) {
    const listed = new Set<string>();
    for (const e of m.entries) {
      const onDisk = resolve(e);
      if (onDisk === undefined) {
        if (!irregular.has(e.listed)) {
          add(
            'missing-file',
            `Thiếu tệp thẻ "${e.listed}" (được liệt kê trong ${m.name}, dòng ${e.line}).`,
            `The tag file "${e.listed}" is missing (listed in ${m.name}, line ${e.line}).`,
            e.listed,
          );
        }
        continue;
      }
      listed.add(onDisk);
      const forFile = expectedTag.get(onDisk) ?? new Map<string, string>();
      forFile.set(m.name, e.expected);
      expectedTag.set(onDisk, forFile);
    }
    for (const pm of payloadManifestNames) {
      if (!listed.has(pm)) {
        add(
          'tag-manifest-incomplete',
          `${m.name} không liệt kê tệp kê khai dữ liệu ${pm} (RFC 8493 yêu cầu).`,
          `${m.name} does not list the payload manifest ${pm}, as RFC 8493 requires.`,
          m.name,
        );
      }
    }
  }

  // --- fixity: every file read once, all algorithms together ---------------------------------
  const progress = { files: 0, bytes: 0 };
  const hashFile = async (
    rel: string,
    algorithms: string[],
  ): Promise<{ size: number; digests: Record<string, string> } | undefined> => {
    const hashes: Array<[string, Hash]> = algorithms.map((a) => [a, createHash(ALGORITHMS[a]!.node)]);
    let size = 0;
    let sinceReport = 0;
    try {
      for await (const chunk of createReadStream(abs(rel), { highWaterMark: CHUNK })) {
        const buf = chunk as Buffer;
        for (const [, h] of hashes) h.update(buf);
        size += buf.length;
        progress.bytes += buf.length;
        sinceReport += buf.length;
        if (sinceReport >= PROGRESS_EVERY) {
          sinceReport = 0;
          options.onProgress?.({ ...progress });
        }
      }
    } catch (err) {
      add('read-error', `Không đọc được "${rel}": ${errorText(err)}`, `Could not read "${rel}": ${errorText(err)}`, rel);
      return undefined;
    }
    progress.files++;
    options.onProgress?.({ ...progress });
    return { size, digests: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')])) };
  };

  const algorithmOf = new Map([...payloadManifests, ...tagManifests].map((m) => [m.name, m.algorithm]));
  const mismatches = (expected: Map<string, string> | undefined, digests: Record<string, string>): string[] =>
    [...(expected ?? [])].filter(([name, hex]) => digests[algorithmOf.get(name)!] !== hex).map(([name]) => name);

  for (const p of payloadFiles) {
    const hashed = await hashFile(p, [...new Set([...result.algorithms, 'sha512'])]);
    if (!hashed) continue;
    result.payload.push({ path: p.slice('data/'.length), size: hashed.size, digests: hashed.digests });
    const bad = mismatches(expectedPayload.get(p), hashed.digests);
    if (bad.length > 0) {
      add(
        'digest-mismatch',
        `Mã băm của "${p}" không khớp với ${bad.join(', ')}: tệp đã bị thay đổi hoặc bị hỏng.`,
        `The checksum of "${p}" does not match ${bad.join(', ')}: the file was changed or is corrupt.`,
        p,
      );
    }
  }

  const tagAlgorithms = [...new Set(tagManifests.map((m) => m.algorithm))].sort();
  result.tagAlgorithms = tagAlgorithms;
  for (const [p, expected] of [...expectedTag].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const hashed = await hashFile(p, tagAlgorithms);
    if (!hashed) continue;
    const bad = mismatches(expected, hashed.digests);
    if (bad.length > 0) {
      add(
        'tag-digest-mismatch',
        `Mã băm của tệp thẻ "${p}" không khớp với ${bad.join(', ')}: tệp đã bị sửa sau khi đóng gói.`,
        `The checksum of the tag file "${p}" does not match ${bad.join(', ')}: it was changed after bagging.`,
        p,
      );
    }
  }

  result.valid = problems.length === 0;
  return result;
}

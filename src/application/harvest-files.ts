import { appendFile, open, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Bilingual } from '../domain/errors.ts';
import type { DcFields } from '../formats/oai-pmh-read.ts';
import { DigestHeaderError, type HeaderDigest, parseDigestHeader } from '../storage/digest.ts';
import { FileNameError } from '../storage/file-name.ts';
import { FormatError } from '../storage/format.ts';
import { type IngestServices, IngestError, type StagedUpload, stageUpload } from './ingest.ts';

/**
 * The files a harvested record links to (issue 21 part 4): which of its URLs are files, the
 * digests the source gives for them, and fetching one into staging with those digests checked.
 *
 * A record links its files the DSpace way: http(s) URLs in dc:identifier or dc:relation (MODS
 * location/url is read into dc:identifier), such as DSpace 6's
 * `/bitstream/handle/123456789/11/page-1.jpg?sequence=1` or DSpace 7's
 * `/server/api/core/bitstreams/<uuid>/content`. The record's own landing page (a handle, an
 * item page) is not a file: a URL is a file only by its path (a bitstream path, or a file
 * extension of a kind we keep), and then only if the server does not answer with a web page.
 * A IIIF manifest is recognised and reported, not fetched (`thukho import-iiif` imports those).
 */

const FILE_EXTENSIONS = /\.(jpe?g|png|tiff?|jp2|jpx|gif|webp|pdf)$/i;
const BITSTREAM_PATH = /\/bitstreams?\//i;
/** `…/manifest`, `…/manifest.json` (DSpace 7, most IIIF servers), `/iiif/manifest/<id>` (thukho's own). */
const MANIFEST_PATH = /(^|\/)manifest(\.json)?\/?$|\/iiif\/manifests?\/[^/]+\/?$/i;

export interface FileLink {
  url: string;
  /** The file's name from its URL (replaced by the server's Content-Disposition name when it gives one). */
  name: string;
  /** Digests the record gives for this file. */
  digests: HeaderDigest[];
}

export interface RecordLinks {
  files: FileLink[];
  manifests: string[];
}

const isHttpUrl = (s: string) => /^https?:\/\/\S+$/i.test(s);

function lastSegment(url: URL): string {
  const segments = url.pathname.split('/').filter(Boolean);
  let last = segments.at(-1) ?? url.hostname;
  // DSpace 7: /bitstreams/<uuid>/content; the uuid names it until the server says better.
  if (last === 'content' && segments.length > 1) last = segments.at(-2) ?? last;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

const ALGORITHMS: Record<string, HeaderDigest['algorithm']> = { md5: 'md5', sha256: 'sha-256', 'sha-256': 'sha-256', sha512: 'sha-512', 'sha-512': 'sha-512' };
const HEX_LENGTH: Record<HeaderDigest['algorithm'], number> = { md5: 32, 'sha-256': 64, 'sha-512': 128 };

/**
 * A digest written as a value of its own: `md5:HEX`, `sha-256:HEX` (or sha256, sha-512, sha512),
 * or an RFC 6920 named-information URI `ni:///sha-256;BASE64URL`.
 */
export function digestValue(value: string): HeaderDigest | undefined {
  const v = value.trim();
  const ni = /^ni:\/\/[^/]*\/(sha-256|sha-512);([A-Za-z0-9_-]+)$/i.exec(v);
  if (ni) {
    const algorithm = ALGORITHMS[ni[1]!.toLowerCase()]!;
    const hex = Buffer.from(ni[2]!, 'base64url').toString('hex');
    return hex.length === HEX_LENGTH[algorithm] ? { algorithm, hex } : undefined;
  }
  const plain = /^(md5|sha-?256|sha-?512)[:=]([0-9a-f]+)$/i.exec(v);
  if (!plain) return undefined;
  const algorithm = ALGORITHMS[plain[1]!.toLowerCase()]!;
  return plain[2]!.length === HEX_LENGTH[algorithm] ? { algorithm, hex: plain[2]!.toLowerCase() } : undefined;
}

/**
 * DSpace's provenance statement (dc.description.provenance, when a repository exposes it):
 * `page-1.jpg: 52731 bytes, checksum: 0a1b… (MD5)`, one per bitstream.
 */
const PROVENANCE_CHECKSUM = /([^\s:;,]+): \d+ bytes, checksum: ([0-9a-f]{32,128}) \((MD5|SHA-?256|SHA-?512)\)/gi;

export function linksOf(fields: DcFields): RecordLinks {
  const files: FileLink[] = [];
  const manifests: string[] = [];
  const byName = new Map<string, HeaderDigest[]>();
  for (const d of fields.description ?? []) {
    for (const m of d.matchAll(PROVENANCE_CHECKSUM)) {
      const algorithm = ALGORITHMS[m[3]!.toLowerCase()]!;
      if (m[2]!.length !== HEX_LENGTH[algorithm]) continue;
      const list = byName.get(m[1]!) ?? [];
      list.push({ algorithm, hex: m[2]!.toLowerCase() });
      byName.set(m[1]!, list);
    }
  }
  const seen = new Set<string>();
  for (const element of ['identifier', 'relation'] as const) {
    let previous: FileLink | undefined;
    for (const value of fields[element] ?? []) {
      const digest = digestValue(value);
      if (digest) {
        // A digest value applies to the file URL just before it in the same element.
        if (previous) previous.digests.push(digest);
        continue;
      }
      previous = undefined;
      if (!isHttpUrl(value) || seen.has(value)) continue;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        continue;
      }
      seen.add(value);
      if (MANIFEST_PATH.test(url.pathname)) {
        manifests.push(value);
        continue;
      }
      if (!BITSTREAM_PATH.test(url.pathname) && !FILE_EXTENSIONS.test(url.pathname)) continue;
      const name = lastSegment(url);
      previous = { url: value, name, digests: [...(byName.get(name) ?? [])] };
      files.push(previous);
    }
  }
  return { files, manifests };
}

// ---------------------------------------------------------------------------------------------
// Fetching

/** Why a linked file could not be kept: the whole record is refused with it. */
export class FileRefused extends Error {
  constructor(readonly reason: Bilingual) {
    super(reason.en);
    this.name = 'FileRefused';
  }
}

/** The link is a web page or a file of a kind the repository does not keep (a DSpace license.txt): noted, not a refusal. */
export interface NotKept {
  notKept: Bilingual;
}

/** Digests the server gives in its response headers: Digest (RFC 3230), Repr-Digest / Content-Digest (RFC 9530), Content-MD5. */
export function responseDigests(headers: Headers): HeaderDigest[] {
  const get = (k: string) => headers.get(k) ?? undefined;
  const out = parseDigestHeader({
    ...(get('digest') !== undefined ? { digest: get('digest') } : {}),
    ...(get('repr-digest') !== undefined ? { 'repr-digest': get('repr-digest') } : {}),
    ...(get('content-digest') !== undefined ? { 'content-digest': get('content-digest') } : {}),
  });
  const md5 = get('content-md5')?.trim();
  if (md5) {
    const bytes = Buffer.from(md5, 'base64');
    if (bytes.length !== 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(md5)) throw new DigestHeaderError('Content-MD5', `"${md5}" is not the base64 of an MD5 digest`);
    out.push({ algorithm: 'md5', hex: bytes.toString('hex') });
  }
  return out;
}

/** RFC 6266 filename (filename* first), or undefined. */
function dispositionName(header: string | null): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;\s]+)/.exec(header);
  return plain?.[1] ?? plain?.[2];
}

/** The body, aborted when no byte arrives for `idleMs` (a stalled server), not when a big file takes long. */
async function* idleGuarded(body: ReadableStream<Uint8Array>, controller: AbortController, idleMs: number): AsyncGenerator<Uint8Array> {
  let timer = setTimeout(() => controller.abort(new DOMException('idle', 'TimeoutError')), idleMs);
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new DOMException('idle', 'TimeoutError')), idleMs);
      yield chunk;
    }
  } finally {
    clearTimeout(timer);
  }
}

const both = (vi: string, en: string): Bilingual => ({ vi, en });

/**
 * Fetches one linked file into staging, its digests (the record's and the response's) checked
 * by the staging itself. Retries a timeout, a network error, 429 and 5xx like a page; a 404 or
 * another 4xx is final. Throws FileRefused; keeps nothing on failure.
 */
export async function fetchFile(
  services: IngestServices,
  link: FileLink,
  o: { timeoutMs: number; retries: number; retryDelayMs: number },
): Promise<StagedUpload | NotKept> {
  let lastWhy = both('', '');
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(o.retryDelayMs * 2 ** (attempt - 1), 60_000));
    const controller = new AbortController();
    const headersTimer = setTimeout(() => controller.abort(new DOMException('headers', 'TimeoutError')), o.timeoutMs);
    let res: Response;
    try {
      // identity: a digest header is of the bytes as sent, and fetch() would silently gunzip them.
      res = await fetch(link.url, { signal: controller.signal, headers: { 'accept-encoding': 'identity' } });
    } catch (err) {
      clearTimeout(headersTimer);
      lastWhy = timeoutOrNetwork(err, link.url, o.timeoutMs);
      continue;
    }
    clearTimeout(headersTimer);
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel().catch(() => {});
      lastWhy = both(`${link.url} trả lời HTTP ${res.status}`, `${link.url} answered HTTP ${res.status}`);
      continue;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new FileRefused(both(`không tải được tệp ${link.url}: HTTP ${res.status}`, `could not fetch the file ${link.url}: HTTP ${res.status}`));
    }
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType === 'text/html' || contentType === 'application/xhtml+xml') {
      await res.body.cancel().catch(() => {});
      return { notKept: both(`${link.url} là trang web (${contentType}), không phải tệp; không lưu`, `${link.url} is a web page (${contentType}), not a file; not kept`) };
    }
    let expected: HeaderDigest[];
    try {
      expected = [...link.digests, ...responseDigests(res.headers)];
    } catch (err) {
      await res.body.cancel().catch(() => {});
      if (!(err instanceof DigestHeaderError)) throw err;
      throw new FileRefused(both(`${link.url}: máy chủ gửi tiêu đề băm hỏng (${err.message})`, `${link.url}: the server sent a malformed digest header (${err.message})`));
    }
    const name = dispositionName(res.headers.get('content-disposition')) ?? link.name;
    try {
      return await stageUpload(services, {
        source: idleGuarded(res.body, controller, o.timeoutMs),
        name,
        role: 'master',
        ...(expected.length ? { expectedDigests: expected } : {}),
      });
    } catch (err) {
      if (err instanceof FormatError && err.code === 'unknown-format') {
        return { notKept: both(`${link.url}: ${err.messages.vi} Không lưu tệp này.`, `${link.url}: ${err.messages.en} This file is not kept.`) };
      }
      if (err instanceof IngestError && err.code === 'digest-mismatch') {
        const d = err.detail as { algorithm?: string; expected?: string; actual?: string };
        throw new FileRefused(both(
          `${link.url}: giá trị băm ${d.algorithm} không khớp với giá trị nguồn cho (nguồn ${d.expected}, nhận được ${d.actual}); tệp không được lưu`,
          `${link.url}: the ${d.algorithm} digest does not match the one the source gives (source ${d.expected}, received ${d.actual}); the file is not kept`,
        ));
      }
      if (err instanceof IngestError || err instanceof FileNameError || err instanceof FormatError) {
        throw new FileRefused(both(`${link.url}: ${err.messages.vi}`, `${link.url}: ${err.messages.en}`));
      }
      if (controller.signal.aborted || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))) {
        lastWhy = timeoutOrNetwork(controller.signal.reason ?? err, link.url, o.timeoutMs);
        continue;
      }
      const text = err instanceof Error ? err.message : String(err);
      throw new FileRefused(both(`${link.url}: ${text}`, `${link.url}: ${text}`));
    }
  }
  throw new FileRefused(both(`${lastWhy.vi} (đã thử ${o.retries + 1} lần)`, `${lastWhy.en} (tried ${o.retries + 1} times)`));
}

function timeoutOrNetwork(err: unknown, url: string, timeoutMs: number): Bilingual {
  const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
  return timedOut
    ? both(`${url} không trả lời trong ${timeoutMs / 1000} giây`, `${url} did not answer within ${timeoutMs / 1000} s`)
    : both(`không kết nối được tới ${url} (${(err as Error).message})`, `could not reach ${url} (${(err as Error).message})`);
}

// ---------------------------------------------------------------------------------------------
// Files already fetched, per source

/**
 * `<source>.files`: one JSON line per linked file kept (URL, work, SHA-512; null for a link
 * that is not a file we keep), appended after its OCFL commit and event, so that a re-harvest of the record does not fetch it again. Losing
 * it costs only a refetch: the bytes are then recognised as the work's own (a duplicate).
 */
const FetchedLine = z.object({ url: z.string(), objectId: z.string(), sha512: z.string().nullable() });
export type FetchedFile = z.infer<typeof FetchedLine>;

/** A harvest list file's text; none yet (a first run) reads as empty. */
export async function readLinesFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return '';
  }
}

export async function loadFetched(path: string): Promise<Map<string, FetchedFile>> {
  const out = new Map<string, FetchedFile>();
  const text = await readLinesFile(path);
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const parsed = FetchedLine.safeParse(JSON.parse(line));
      // A torn last line (a crash mid-append) is skipped: that file is fetched again, a duplicate.
      if (parsed.success) out.set(`${parsed.data.objectId}\u0000${parsed.data.url}`, parsed.data);
    } catch {
      /* torn line */
    }
  }
  return out;
}

export async function appendFetched(path: string, lines: FetchedFile[]): Promise<void> {
  if (lines.length === 0) return;
  await appendFile(path, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

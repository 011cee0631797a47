import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bilingual } from '../domain/errors.ts';
import { type ImportAccession, ImportAccession as ImportAccessionSchema } from '../domain/events.ts';
import { type AccessLevel, FIELD_LABELS, type Metadata, type MetadataChanges, effectiveChanges } from '../domain/metadata.ts';
import { IiifReadError, type LanguageMap, type ReadManifest, readIiifDocument, valuesOf } from '../formats/iiif-manifest-read.ts';
import { languageOfName } from '../iiif/manifest.ts';
import { streamExists } from './command-handler.ts';
import { languageCode } from './harvest.ts';
import { editFromImport, fingerprintOf, fitMetadata, registeredImport } from './import-common.ts';
import {
  type BulkIngestSummary,
  type ImportProgressFactory,
  type Rejection,
  type WorkReport,
  both,
  countCommitted,
  emptyFiles,
  reasonOf,
  refuseWork,
  silentProgress,
  startingSummary,
} from './import-report.ts';
import { type IngestServices, type StagedUpload, commitStaged, stageUpload } from './ingest.ts';
import { collectionStream, executeObjectCommand, loadObject } from './object-commands.ts';
import { Describer } from './self-description.ts';

/**
 * `thukho import-iiif URL…`: a work whose record and page images come from another
 * institution's IIIF Presentation 3 (or 2.x) manifest; a IIIF Collection imports each of its
 * manifests.
 *
 * - The manifest URL is the work's identity: its id is `iiif-` + 16 hex of the URL's SHA-256,
 *   and its registration keeps the URL, the manifest's id, every label/summary/metadata value
 *   as the source wrote it (language keys included) and every image URL in canvas order
 *   (ObjectRegistered.imported, format `iiif`), so the provenance names the source.
 * - Each canvas's image is fetched whole: `full/max` from an Image API 3 service, `full/full`
 *   from a 2.x one, else the painting body's id; it is streamed to staging, digested and fully
 *   decoded (verifyDecode) before anything is written.
 * - All pages of a work are staged before the work is registered, and registered then committed
 *   as one OCFL version: an image that 404s, times out or does not decode refuses the whole work
 *   with its URL and reason, and nothing of it is stored.
 * - A re-run finds its own work by id and registration: a changed record is an edit, pages
 *   already held (by their page name, `page-0001.jpg`…) are not fetched again, pages the
 *   work lacks (an interrupted run, a page added at the source) are added; otherwise
 *   "unchanged".
 */
export interface IiifImportOptions {
  urls: string[];
  collectionId?: string;
  accessLevel: AccessLevel;
  dryRun: boolean;
  actor: { id: string; role: string };
  /** Per request: how long a source may stay silent (no answer, no bytes); default 60 s. */
  timeoutMs?: number;
  /** Retries of one request after a timeout, a network error, 429 or 5xx; default 2. */
  retries?: number;
  retryDelayMs?: number;
  /** The CLI's progress line; without it the run is silent. */
  progress?: ImportProgressFactory;
}

export const IIIF_FORMAT = 'iiif';
/** A manifest larger than this is refused (the largest real ones are a few MB). */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;
/** Nested collections followed at most this deep. */
const MAX_COLLECTION_DEPTH = 4;
/**
 * Image requests of one work under way at once: the wait for a remote server overlaps with
 * digesting and decoding the page before, without hammering another institution's server.
 */
const FETCHES_AT_ONCE = 3;
/** ImportAccession.record allows 200 values a key: image URLs go in keys of 200. */
const URLS_PER_KEY = 200;

/** An error's reason in both languages (the same text twice when it has only one). */
function messagesOf(err: unknown): Bilingual {
  const messages = (err as { messages?: { vi?: unknown; en?: unknown } }).messages;
  if (messages && typeof messages.vi === 'string' && typeof messages.en === 'string') return { vi: messages.vi, en: messages.en };
  const text = reasonOf(err);
  return { vi: text, en: text };
}

class ItemRefused extends Error {
  /** `messages`: the reason in each language, when it was made in both; `status`: the source's HTTP answer, when it refused. */
  constructor(
    readonly reason: string,
    readonly messages?: Bilingual,
    readonly status?: number,
  ) {
    super(reason);
  }
}
/** Why a manifest or its pages could not be brought in (bilingual, `vi / en`). */
export { ItemRefused as IiifPagesRefused };

/** The work an import of this manifest URL makes: the URL alone decides it. */
export function iiifWorkId(manifestUrl: string): string {
  return `iiif-${createHash('sha256').update(manifestUrl).digest('hex').slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface RequestOptions {
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

class RequestFailure extends Error {
  /** `status`: the source's HTTP answer, when it answered and refused. */
  constructor(
    readonly reason: Bilingual,
    readonly status?: number,
  ) {
    super(reason.en);
  }
}

/**
 * GET with retries. The timeout is of silence, not of the whole transfer: a large master on a
 * slow link is fine as long as bytes keep coming. The body is handed out as an iterable whose
 * every chunk restarts the clock.
 */
async function get(url: string, o: RequestOptions, accept: string): Promise<{ res: Response; body: AsyncIterable<Uint8Array> }> {
  let lastWhy: Bilingual = { vi: '', en: '' };
  const silent = { vi: `nguồn không trả lời trong ${o.timeoutMs / 1000} giây`, en: `the source did not answer within ${o.timeoutMs / 1000} s` };
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(o.retryDelayMs * 2 ** (attempt - 1), 60_000));
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(), o.timeoutMs);
    const restart = () => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(), o.timeoutMs);
    };
    let res: Response;
    try {
      res = await fetch(url, { signal: abort.signal, headers: { accept }, redirect: 'follow' });
    } catch (err) {
      clearTimeout(timer);
      // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a TLS error) is its cause.
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail = String(cause?.code ?? cause?.message ?? (err as Error).message);
      lastWhy = abort.signal.aborted ? silent : { vi: `không kết nối được (${detail})`, en: `could not connect (${detail})` };
      continue;
    }
    if (res.status === 429 || res.status >= 500) {
      clearTimeout(timer);
      await res.body?.cancel().catch(() => {});
      lastWhy = { vi: `nguồn trả lời HTTP ${res.status}`, en: `the source answered HTTP ${res.status}` };
      continue;
    }
    const stream = res.body;
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        if (!stream) return;
        for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
          restart();
          yield chunk;
        }
      } catch (err) {
        throw abort.signal.aborted ? new RequestFailure(silent) : err;
      } finally {
        clearTimeout(timer);
      }
    }
    return { res, body: body() };
  }
  throw new RequestFailure({ vi: `${lastWhy.vi} (đã thử ${o.retries + 1} lần)`, en: `${lastWhy.en} (tried ${o.retries + 1} times)` });
}

async function readJson(url: string, o: RequestOptions): Promise<unknown> {
  const { res, body } = await get(url, o, 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json", application/json;q=0.9');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_MANIFEST_BYTES) {
      throw new RequestFailure({ vi: `manifest lớn hơn ${MAX_MANIFEST_BYTES / 1024 ** 2} MB`, en: `the manifest is larger than ${MAX_MANIFEST_BYTES / 1024 ** 2} MB` });
    }
    chunks.push(Buffer.from(chunk));
  }
  if (!res.ok) throw new RequestFailure({ vi: `${url}: HTTP ${res.status}`, en: `${url}: HTTP ${res.status}` }, res.status);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new RequestFailure({ vi: `không phải JSON: ${(err as Error).message}`, en: `not JSON: ${(err as Error).message}` });
  }
}

// ---------------------------------------------------------------------------------------------
// Record

/** A language as a record names it: as our own manifests name it (src/iiif/manifest.ts), else as repositories write it. */
function languageFromName(value: string): string | undefined {
  return languageOfName(value) ?? languageCode(value);
}

type LabelledField = keyof typeof FIELD_LABELS;
const LABEL_FIELDS: Array<[string, LabelledField]> = Object.entries(FIELD_LABELS).flatMap(([field, l]): Array<[string, LabelledField]> => [
  [l.vi.toLowerCase(), field as LabelledField],
  [l.en.toLowerCase(), field as LabelledField],
]);
/** Labels other producers commonly use for Dublin Core fields. */
const OTHER_LABELS: Record<string, LabelledField> = {
  author: 'creator', 'tác giả': 'creator', contributor: 'creator', 'date created': 'date', 'date issued': 'date', subjects: 'subject', topic: 'subject',
  'alternative title': 'alternativeTitle', 'other title': 'alternativeTitle', languages: 'language', license: 'rights', licence: 'rights',
  'call number': 'identifier', 'shelfmark': 'identifier', 'physical description': 'extent', 'dimensions': 'format', 'genre': 'type',
};

function fieldOfLabel(label: LanguageMap): LabelledField | undefined {
  for (const v of valuesOf(label)) {
    const key = v.trim().replace(/:$/, '').toLowerCase();
    const found = LABEL_FIELDS.find(([l]) => l === key)?.[1] ?? OTHER_LABELS[key];
    if (found) return found;
  }
  return undefined;
}

const isUrl = (s: string) => /^https?:\/\/\S+$/i.test(s);
const unique = (xs: string[]) => [...new Set(xs)];

/** The manifest's record as ours; fields our record refuses are dropped and said. */
export function metadataOfManifest(m: ReadManifest, collectionId: string | undefined): { metadata?: Metadata; notApplied: WorkReport['notApplied']; refusal?: string } {
  const notApplied: WorkReport['notApplied'] = [];
  const [title, ...otherTitles] = unique(valuesOf(m.label));
  if (!title) return { notApplied, refusal: both({ vi: 'manifest không có nhãn (label)', en: 'the manifest has no label' }) };
  const pairs = new Map<LabelledField, string[]>();
  for (const p of m.metadata) {
    const field = fieldOfLabel(p.label);
    if (field) pairs.set(field, [...(pairs.get(field) ?? []), ...valuesOf(p.value)]);
  }
  const text = (f: LabelledField) => {
    const vs = unique(pairs.get(f) ?? []);
    return vs.length ? vs.join('; ') : undefined;
  };
  const candidate: Record<string, unknown> = { title };
  const alternative = unique([...otherTitles, ...(pairs.get('alternativeTitle') ?? [])]).filter((t) => t !== title);
  if (alternative.length) candidate.alternativeTitle = alternative;
  for (const f of ['creator', 'date', 'subject', 'type', 'format', 'extent', 'identifier'] as const) {
    const v = text(f);
    if (v) candidate[f] = v;
  }
  const summary = valuesOf(m.summary);
  const description = summary.length ? unique(summary).join('\n\n') : text('description');
  if (description) candidate.description = description;
  const languages = unique((pairs.get('language') ?? []).flatMap((v) => v.split(/[;,]/)).map((v) => v.trim()).filter(Boolean));
  const codes = unique(languages.map((l) => languageFromName(l)).filter((c): c is string => !!c));
  for (const l of languages) {
    if (!languageFromName(l)) notApplied.push({ field: 'language', reason: both({ vi: `"${l}" không phải tên ngôn ngữ đã biết`, en: `"${l}" is not a known language name` }) });
  }
  if (codes.length) candidate.language = codes;
  const rights = m.rights ?? (pairs.get('rights') ?? []).find(isUrl);
  if (rights) candidate.rights = rights;
  const source = text('source') ?? valuesOf(m.requiredStatement?.value).join('; ');
  if (source) candidate.source = source;
  if (m.viewingDirection) candidate.viewingDirection = m.viewingDirection;
  const behavior = m.behavior.find((b) => ['paged', 'individuals', 'continuous', 'unordered'].includes(b));
  if (behavior) candidate.behavior = behavior;
  if (collectionId) candidate.collectionId = collectionId;

  const fitted = fitMetadata(candidate, notApplied);
  return 'metadata' in fitted ? { metadata: fitted.metadata, notApplied } : { notApplied, refusal: fitted.refusal };
}

/** The source's record as it wrote it, for provenance: `label[vi]`, `metadata:Tác giả[none]`, `images`… */
export function recordOf(m: ReadManifest, url: string): ImportAccession['record'] {
  const record: Record<string, string[]> = { manifest: [url], ...(m.id !== url ? { 'manifest.id': [m.id] } : {}), presentation: [String(m.version)] };
  const cut = (s: string) => s.slice(0, 20_000);
  const put = (prefix: string, map: LanguageMap | undefined) => {
    for (const [lang, values] of Object.entries(map ?? {})) {
      const key = `${prefix}[${lang}]`.slice(0, 200);
      record[key] = [...(record[key] ?? []), ...values.map(cut)].slice(0, 200);
    }
  };
  put('label', m.label);
  put('summary', m.summary);
  if (m.rights) record.rights = [m.rights];
  if (m.requiredStatement) put(`requiredStatement:${valuesOf(m.requiredStatement.label)[0] ?? ''}`, m.requiredStatement.value);
  const images = m.canvases.map((c) => c.image?.url ?? '');
  for (let i = 0; i * URLS_PER_KEY < images.length; i++) record[i === 0 ? 'images' : `images.${i + 1}`] = images.slice(i * URLS_PER_KEY, (i + 1) * URLS_PER_KEY);
  // Metadata last: with hundreds of pairs the record's 300 keys are kept for the above.
  for (const p of m.metadata) {
    if (Object.keys(record).length >= 290) break;
    put(`metadata:${valuesOf(p.label)[0] ?? ''}`, p.value);
  }
  return record;
}

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/tiff': 'tif', 'image/jp2': 'jp2', 'image/webp': 'webp', 'image/gif': 'gif' };
const pageName = (n: number, ext: string) => `page-${String(n).padStart(4, '0')}.${ext}`;
const pageStem = (name: string) => name.replace(/\.[^.]+$/, '');

// ---------------------------------------------------------------------------------------------
// Pages

/** One canvas's image, staged, digested and decoded; nothing kept when it fails. */
async function fetchCanvasImage(services: IngestServices, manifest: ReadManifest, n: number, request: RequestOptions): Promise<StagedUpload> {
  const canvas = manifest.canvases[n - 1];
  const where = `canvas ${n} (${canvas?.id ?? '?'})`;
  const refused = (m: Bilingual, status?: number) => new ItemRefused(both(m), m, status);
  if (!canvas?.image) {
    throw refused({ vi: `${where}: không có ảnh (không có dịch vụ ảnh hay body ảnh)`, en: `${where}: no image (no image service and no image body)` });
  }
  const imageUrl = canvas.image.url;
  try {
    const { res, body } = await get(imageUrl, request, 'image/*');
    if (!res.ok) {
      for await (const _ of body) break;
      throw refused({ vi: `${where}: ảnh ${imageUrl} trả lời HTTP ${res.status}`, en: `${where}: the image ${imageUrl} answered HTTP ${res.status}` }, res.status);
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const ext = EXTENSIONS[type] ?? /\.([a-z0-9]{2,4})$/i.exec(new URL(imageUrl).pathname)?.[1]?.toLowerCase() ?? 'jpg';
    const upload = await stageUpload(services, { source: body, name: pageName(n, ext), role: 'master', sequence: n });
    if (!upload.facts.image) {
      await rm(upload.path, { force: true });
      throw refused({ vi: `${where}: ${imageUrl} không phải ảnh (${upload.facts.mediaType})`, en: `${where}: ${imageUrl} is not an image (${upload.facts.mediaType})` });
    }
    return upload;
  } catch (err) {
    if (err instanceof ItemRefused) throw err;
    const m = err instanceof RequestFailure ? err.reason : messagesOf(err);
    throw refused({ vi: `${where}: ${imageUrl}: ${m.vi}`, en: `${where}: ${imageUrl}: ${m.en}` });
  }
}

/**
 * The listed canvases' images (1-based page numbers) at full size, FETCHES_AT_ONCE at a time,
 * staged (digested, fully decoded) and returned in page order: what `import-iiif` and a harvest
 * of a record that links a manifest both bring in. All or nothing: the first failure throws
 * IiifPagesRefused (with the canvas, the URL and the reason) once the requests under way have
 * ended, and everything staged for these pages is removed. `onPage` is told of each page done.
 */
export async function fetchManifestPages(
  services: IngestServices,
  manifest: ReadManifest,
  pages: number[],
  request: RequestOptions,
  onPage?: (n: number) => void,
): Promise<StagedUpload[]> {
  const queue = [...pages];
  const done = new Map<number, StagedUpload>();
  let failure: unknown;
  const fetcher = async () => {
    for (let n = queue.shift(); n !== undefined && failure === undefined; n = queue.shift()) {
      try {
        done.set(n, await fetchCanvasImage(services, manifest, n, request));
      } catch (err) {
        failure ??= err;
      } finally {
        onPage?.(n);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCHES_AT_ONCE, pages.length) }, fetcher));
  if (failure !== undefined) {
    for (const u of done.values()) await rm(u.path, { force: true });
    throw failure;
  }
  return pages.map((n) => done.get(n)!);
}

/**
 * A manifest (not a collection) read from its URL; throws IiifPagesRefused with the reason, and
 * with `status` when the source did answer (4xx, or 200 with something not a manifest): a
 * request that failed for good is told from one a rerun may cure (no status).
 */
export async function readManifestAt(url: string, request: RequestOptions): Promise<ReadManifest> {
  let doc: ReturnType<typeof readIiifDocument>;
  try {
    doc = readIiifDocument(await readJson(url, request));
  } catch (err) {
    if (err instanceof RequestFailure) {
      const m = err.status !== undefined ? err.reason : { vi: `${url}: ${err.reason.vi}`, en: `${url}: ${err.reason.en}` };
      throw new ItemRefused(both(m), m, err.status);
    }
    if (err instanceof IiifReadError) {
      const m = { vi: `${url}: ${err.messages.vi}`, en: `${url}: ${err.messages.en}` };
      throw new ItemRefused(both(m), m, 200);
    }
    throw err;
  }
  if (doc.kind !== 'manifest') {
    const m = { vi: `${url} là IIIF Collection, không phải manifest`, en: `${url} is a IIIF Collection, not a manifest` };
    throw new ItemRefused(both(m), m, 200);
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// The run

interface PlannedWork {
  url: string;
  manifest: ReadManifest;
}

export async function importIiif(services: IngestServices, options: IiifImportOptions): Promise<BulkIngestSummary> {
  const started = Date.now();
  const request: RequestOptions = { timeoutMs: options.timeoutMs ?? 60_000, retries: options.retries ?? 2, retryDelayMs: options.retryDelayMs ?? 1000 };
  if (options.collectionId && !(await streamExists(services.store, collectionStream(options.collectionId)))) {
    throw new Error(`không có bộ sưu tập "${options.collectionId}" / there is no collection "${options.collectionId}": create it first (POST /api/collections)`);
  }
  const rejected: Rejection[] = [];
  const works: WorkReport[] = [];
  const refuse = (url: string, reason: string, objectId?: string, title?: string) => refuseWork(rejected, works, { folder: url, reason, objectId, title });

  // Manifests first (collections expanded), so that the progress line knows the pages to come.
  const planned: PlannedWork[] = [];
  const seen = new Set<string>();
  const visit = async (url: string, depth: number): Promise<void> => {
    if (seen.has(url)) return;
    seen.add(url);
    let doc: ReturnType<typeof readIiifDocument>;
    try {
      doc = readIiifDocument(await readJson(url, request));
    } catch (err) {
      if (err instanceof RequestFailure || err instanceof IiifReadError) {
        return refuse(url, both(err instanceof RequestFailure ? err.reason : err.messages), iiifWorkId(url));
      }
      throw err;
    }
    if (doc.kind === 'manifest') {
      planned.push({ url, manifest: doc });
      return;
    }
    if (depth >= MAX_COLLECTION_DEPTH) {
      return refuse(url, both({ vi: `Collection lồng sâu quá ${MAX_COLLECTION_DEPTH} cấp, không đọc tiếp`, en: `collections nested deeper than ${MAX_COLLECTION_DEPTH}, not followed` }));
    }
    for (const m of doc.manifests) await visit(m, depth + 1);
    for (const c of doc.collections) await visit(c, depth + 1);
  };
  for (const url of options.urls) await visit(url, 0);

  const summary = startingSummary(
    planned.map((p) => ({ files: p.manifest.canvases.map(() => ({ size: 0 })) })),
    options.dryRun,
    rejected,
    works,
  );
  const describer = new Describer(services);
  const bar = (options.progress ?? silentProgress)(options.dryRun ? 'kiểm tra IIIF / checking IIIF' : 'nhập IIIF / IIIF import', 'tệp/files');
  let filesDone = 0;
  const context = { actor: options.actor };

  for (const { url, manifest } of planned) {
    const objectId = iiifWorkId(url);
    const mapped = metadataOfManifest(manifest, options.collectionId);
    if (!mapped.metadata) {
      refuse(url, mapped.refusal ?? '', objectId);
      filesDone += manifest.canvases.length;
      continue;
    }
    const metadata = mapped.metadata;
    const report: WorkReport = { folder: url, objectId, title: metadata.title, outcome: 'unchanged', changed: [], files: emptyFiles(), notApplied: [...mapped.notApplied] };
    const staged: StagedUpload[] = [];
    const sizes: number[] = [];
    const fetchPages = async (pages: number[]) => {
      const got = await fetchManifestPages(services, manifest, pages, request, (n) => {
        filesDone++;
        bar.update(filesDone, summary.files.total, `${objectId} ${n}/${manifest.canvases.length}`);
      });
      staged.push(...got); // staged files are removed when the work is done, refused or not
      sizes.push(...got.map((u) => u.size));
    };
    const allPages = manifest.canvases.map((_, i) => i + 1);
    try {
      const { state, revision } = await loadObject(services.store, objectId);
      if (state.status === 'absent') {
        if (!manifest.canvases.length) throw new ItemRefused(both({ vi: 'manifest không có trang (canvas) nào', en: 'the manifest has no canvases' }));
        await fetchPages(allPages);
        const imported = ImportAccessionSchema.parse({
          format: IIIF_FORMAT,
          location: url,
          identifier: manifest.id.slice(0, 500),
          fingerprint: fingerprintOf(staged),
          record: recordOf(manifest, url),
        });
        report.outcome = 'created';
        summary.bytes.total += sizes.reduce((a, b) => a + b, 0);
        if (options.dryRun) report.files.ingested = staged.length;
        else {
          await executeObjectCommand(services.store, { type: 'RegisterObject', objectId, metadata, accessLevel: options.accessLevel, imported }, context);
          summary.objects.registered++;
          try {
            countCommitted(summary, report, await commitStaged(services, objectId, staged.splice(0).map(({ sequence: _s, ...u }) => u), context), sizes);
          } catch (err) {
            throw new ItemRefused(
              `${reasonOf(err)}; ${both({
                vi: `tài liệu "${objectId}" đã đăng ký nhưng chưa lưu được trang; chạy lại lệnh để hoàn tất`,
                en: `the work "${objectId}" is registered but its pages were not stored; run the command again to finish`,
              })}`,
            );
          }
        }
      } else {
        const origin = await registeredImport(services, objectId);
        if (origin?.format !== IIIF_FORMAT || origin.location !== url) {
          throw new ItemRefused(
            both({
              vi: `kho đã có tài liệu "${objectId}" không nhập từ manifest này; không ghi đè`,
              en: `the repository already has a work "${objectId}" that did not come from this manifest; not overwritten`,
            }),
          );
        }
        summary.objects.existing++;
        const held = new Set(state.files.map((f) => pageStem(f.name)));
        const missing = allPages.filter((n) => !held.has(pageStem(pageName(n, 'x'))));
        const { collectionId: _c, ...given } = metadata;
        const changes: MetadataChanges = effectiveChanges(state.metadata, given);
        if (state.status === 'withdrawn') {
          report.withdrawn = true;
          if (Object.keys(changes).length || missing.length) {
            throw new ItemRefused(both({ vi: `tài liệu "${objectId}" đã bị rút khỏi kho; không áp dụng thay đổi từ manifest`, en: `the work "${objectId}" has been withdrawn; the manifest's changes are not applied` }));
          }
        } else {
          // Pages first: a page that fails refuses the additions before the record is touched.
          await fetchPages(missing);
          report.files.skipped = allPages.length - missing.length;
          summary.files.skipped += report.files.skipped;
          filesDone += report.files.skipped;
          await editFromImport(services, report, { objectId, changes, reason: `thukho import-iiif: ${url}` }, context, revision, options.dryRun);
          if (options.dryRun) report.files.ingested = staged.length;
          else if (staged.length) {
            // Each page at its canvas position: pages before it are held, the ones after not yet.
            countCommitted(summary, report, await commitStaged(services, objectId, staged.splice(0), context), sizes);
          }
          report.outcome = report.changed.length || report.files.ingested ? 'changed' : 'unchanged';
        }
      }
    } catch (err) {
      const reason = err instanceof ItemRefused ? err.reason : reasonOf(err);
      rejected.push({ folder: url, reason });
      report.outcome = 'refused';
      report.reason = reason;
      report.changed = [];
      report.files = emptyFiles();
    } finally {
      for (const s of staged) await rm(s.path, { force: true });
    }
    works.push(report);
    if (!options.dryRun && report.outcome !== 'refused' && report.outcome !== 'unchanged') {
      await describer.describe({ kind: 'object', id: objectId }).catch(() => {});
    }
  }
  summary.seconds = (Date.now() - started) / 1000;
  bar.finish(
    `${options.dryRun ? 'Kiểm tra xong / checked' : 'Xong / done'}: ${planned.length} manifest, ${filesDone} tệp/files, ${(summary.bytes.ingested / 1e6).toFixed(1)} MB in ${summary.seconds.toFixed(1)} s`,
  );
  return summary;
}

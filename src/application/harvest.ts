import { createHash } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { z } from 'zod';
import type { Bilingual } from '../domain/errors.ts';
import { DomainError } from '../domain/errors.ts';
import { type HarvestSource, ImportAccession } from '../domain/events.ts';
import { Metadata, type MetadataChanges, effectiveChanges } from '../domain/metadata.ts';
import type { EventStore } from '../eventstore/port.ts';
import { type DcFields, type HarvestedHeader, type OaiPage, OaiResponseError, readOaiResponse } from '../formats/oai-pmh-read.ts';
import { writeFileDurable } from '../storage/durable-file.ts';
import { streamExists } from './command-handler.ts';
import { FileRefused, type FetchedFile, appendFetched, fetchFile, linksOf, loadFetched, readLinesFile } from './harvest-files.ts';
import { IIIF_FORMAT, IiifPagesRefused, fetchManifestPages, readManifestAt, recordOf } from './iiif-import.ts';
import { fingerprintOf } from './import-common.ts';
import { type IngestServices, type StagedUpload, commitStaged } from './ingest.ts';
import { executeObjectCommand, loadObject, objectStream } from './object-commands.ts';
import { collectionStream } from './streams.ts';

/**
 * `thukho harvest URL`: ListRecords from another repository's OAI-PMH provider, each record
 * becoming (or updating, or withdrawing) one work here, with the files the record links to
 * (harvest-files.ts) when `ingest` is given.
 *
 * - The work's id is derived from the record's OAI identifier (`oai-` + 16 characters of its
 *   SHA-256), so a re-harvest finds the same work without an index, and the registration keeps
 *   the identifier, base URL, prefix and set (ObjectRegistered.harvest) for provenance.
 * - A changed record is a MetadataEdited through the ordinary EditMetadata command (only the
 *   fields that differ); a deleted one (status="deleted") is withdrawn with WithdrawObject,
 *   the reason naming the source. Each record is one command: a work is never half-written.
 * - Incremental and resumable: per source (base URL + set + prefix) a small state file under
 *   the data dir holds the responseDate of the last complete harvest (the next one asks
 *   `from` it) and, during a harvest, the resumption token of the next page, written durably
 *   after each page's records are on the log. A rerun after an interruption continues from that
 *   token; records of a page fetched twice are recognised and change nothing.
 */

export const HARVEST_PREFIXES = ['oai_dc', 'mods'] as const;
export type HarvestPrefix = (typeof HARVEST_PREFIXES)[number];

export interface HarvestOptions {
  baseUrl: string;
  metadataPrefix: HarvestPrefix;
  set?: string;
  collectionId?: string;
  /** Overrides the remembered date of the last harvest (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ). */
  from?: string;
  /** Where the per-source state files live (the CLI: THUKHO_DATA_DIR/harvest). */
  stateDir: string;
  actor: { id: string; role: string };
  /** Per request; default 60 s. */
  timeoutMs?: number;
  /** Retries of one request after a timeout, a network error, 429 or 5xx; default 3. */
  retries?: number;
  /** First backoff; doubled each retry; default 1 s. */
  retryDelayMs?: number;
  onProgress?: (p: { records: number; pages: number; total?: number }) => void;
  /**
   * Fetch and keep the files records link to (DSpace bitstreams), through the ordinary ingest
   * path; absent: metadata only.
   */
  ingest?: IngestServices;
}

export interface HarvestItem {
  objectId: string;
  identifier: string;
  title?: string;
  /** Fields changed (for a changed work). */
  fields?: string[];
  /** Names of the linked files added to the work in this run. */
  files?: string[];
  /** What of the source record could not be kept. */
  notes?: Bilingual[];
}
export interface HarvestManifest {
  objectId: string;
  identifier: string;
  url: string;
  imported: boolean;
  pages?: number;
  already?: boolean;
  why?: Bilingual;
}
export interface HarvestRefusal {
  identifier?: string;
  objectId?: string;
  reason: Bilingual;
}

export interface HarvestReport {
  baseUrl: string;
  metadataPrefix: HarvestPrefix;
  set?: string;
  /** The `from` asked for (absent: the whole list). */
  from?: string;
  resumed: boolean;
  /** True when the list was read to its end (or the source said there was nothing to harvest). */
  complete: boolean;
  /** Why the run stopped before the end of the list; a rerun continues from where it stopped. */
  stopped?: Bilingual;
  pages: number;
  records: number;
  created: HarvestItem[];
  changed: HarvestItem[];
  deleted: HarvestItem[];
  unchanged: number;
  refused: HarvestRefusal[];
  /** Linked files: fetched and kept, already here from an earlier run (not fetched again), and their bytes. */
  files: { added: number; skipped: number; bytes: number };
  /**
   * IIIF manifests records link to. `imported`: its pages are the work's (`pages` fetched in this
   * run; `already` when an earlier run brought them); otherwise `why` they were not brought.
   */
  manifests: HarvestManifest[];
  /** Records refused earlier for a reason a rerun may cure (a file that could not be fetched), asked for again with GetRecord. */
  retried: number;
}

// ---------------------------------------------------------------------------------------------
// State per source

const HarvestState = z.object({
  baseUrl: z.string(),
  metadataPrefix: z.enum(HARVEST_PREFIXES),
  set: z.string().optional(),
  /** responseDate of the first page of the last complete harvest: the next one's `from`. */
  lastResponseDate: z.string().optional(),
  /** A harvest under way: the token of the next page to fetch. */
  inProgress: z
    .object({
      from: z.string().optional(),
      responseDate: z.string(),
      token: z.string().min(1),
      pages: z.number().int().nonnegative(),
    })
    .optional(),
  /**
   * Identifiers refused for a reason a rerun may cure (a linked file 404, timed out, or did not
   * match its digest): an incremental harvest would not see them again, so the next complete
   * run asks for each with GetRecord.
   */
  retry: z.array(z.string()).max(1_000_000).optional(),
});
type HarvestState = z.infer<typeof HarvestState>;

export function harvestSourceId(baseUrl: string, set: string | undefined, prefix: string): string {
  return createHash('sha256').update(`${baseUrl}\0${set ?? ''}\0${prefix}`).digest('hex').slice(0, 24);
}

async function loadState(dir: string, name: string, fresh: HarvestState): Promise<HarvestState> {
  let text: string;
  try {
    text = await readFile(join(dir, name), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fresh;
    throw err;
  }
  const parsed = HarvestState.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new HarvestError({
      vi: `Tệp trạng thái thu hoạch ${join(dir, name)} hỏng (${parsed.error.issues[0]?.message}); xoá nó thì lần sau thu hoạch lại từ đầu (không mất gì).`,
      en: `The harvest state file ${join(dir, name)} is damaged (${parsed.error.issues[0]?.message}); delete it and the next run harvests from the start (nothing is lost).`,
    });
  }
  return parsed.data;
}

/**
 * The identifiers of the pages already applied in the harvest under way, one `page<TAB>identifier`
 * line each, so that a resumed run still recognises an identifier the source repeats on a later
 * page. Lines of a page the saved token does not yet count (the run stopped between writing
 * them and saving the token) are ignored: that page is fetched again.
 */
async function loadSeen(path: string, pages: number): Promise<Set<string>> {
  const seen = new Set<string>();
  const text = await readLinesFile(path);
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0 && Number(line.slice(0, tab)) <= pages) seen.add(line.slice(tab + 1));
  }
  return seen;
}

async function appendSeen(path: string, page: number, identifiers: string[]): Promise<void> {
  if (identifiers.length === 0) return;
  await appendFile(path, identifiers.map((i) => `${page}\t${i.replace(/[\t\n]/g, ' ')}\n`).join(''));
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const saveState = (dir: string, name: string, state: HarvestState) => writeFileDurable(dir, name, `${JSON.stringify(state, null, 2)}\n`);

/** A failure of the whole run before any record could be read (bad options, unreadable state). */
export class HarvestError extends Error {
  constructor(readonly messages: Bilingual) {
    super(`${messages.vi} / ${messages.en}`);
    this.name = 'HarvestError';
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

class PageFailure extends Error {
  constructor(readonly reason: Bilingual) {
    super(reason.en);
  }
}

async function fetchPage(url: URL, o: Required<Pick<HarvestOptions, 'timeoutMs' | 'retries' | 'retryDelayMs'>>): Promise<OaiPage> {
  let lastWhy: Bilingual = { vi: '', en: '' };
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(o.retryDelayMs * 2 ** (attempt - 1), 60_000));
    let res: Response;
    let body: string;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(o.timeoutMs), headers: { accept: 'text/xml, application/xml' } });
      body = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      lastWhy = timedOut
        ? { vi: `nguồn không trả lời trong ${o.timeoutMs / 1000} giây`, en: `the source did not answer within ${o.timeoutMs / 1000} s` }
        : { vi: `không kết nối được tới nguồn (${(err as Error).message})`, en: `could not reach the source (${(err as Error).message})` };
      continue;
    }
    if (res.status === 429 || res.status >= 500) {
      lastWhy = { vi: `nguồn trả lời HTTP ${res.status}`, en: `the source answered HTTP ${res.status}` };
      continue;
    }
    try {
      return readOaiResponse(body);
    } catch (err) {
      if (!(err instanceof OaiResponseError)) throw err;
      const status = res.status === 200 ? '' : ` (HTTP ${res.status})`;
      throw new PageFailure(
        err.kind === 'invalid-xml'
          ? { vi: `nguồn gửi XML không hợp lệ${status}: ${err.message}`, en: `the source sent invalid XML${status}: ${err.message}` }
          : { vi: `câu trả lời không phải OAI-PMH${status}: ${err.message}`, en: `the answer is not OAI-PMH${status}: ${err.message}` },
      );
    }
  }
  throw new PageFailure({
    vi: `${lastWhy.vi} (đã thử ${o.retries + 1} lần)`,
    en: `${lastWhy.en} (tried ${o.retries + 1} times)`,
  });
}

// ---------------------------------------------------------------------------------------------
// Memory

/**
 * Keeps a long harvest's memory flat. Measured (10,000 records, heap snapshots at 1,000 and
 * 3,000 records): nothing is retained, the live heap stays ~90 MB, but each page's response
 * text, XML tree and field strings live for the whole page (about a second of appends), so
 * they survive two scavenges and are promoted, ~1.8 MB a page; V8 then lets the old space grow
 * to ~2.5 times the live heap before a full collection, and RSS climbs by 150-300 MB in
 * steps. A full collection when the heap has grown by HEADROOM since the last one bounds it, at
 * ~100-200 ms every ~20 pages. `gc` comes from a fresh context once --expose-gc is set, so the
 * harvester needs no node flag; where it cannot be had, nothing changes but the memory curve.
 */
const HEADROOM = 48 * 1024 * 1024;
function pageCollector(): () => void {
  let gc: (() => void) | undefined;
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === 'function') gc = exposed as () => void;
    else {
      setFlagsFromString('--expose-gc');
      const fromContext = runInNewContext('gc') as unknown;
      if (typeof fromContext === 'function') gc = fromContext as () => void;
    }
  } catch {
    gc = undefined;
  }
  let floor = getHeapStatistics().used_heap_size;
  return () => {
    if (!gc) return;
    const used = getHeapStatistics().used_heap_size;
    if (used < floor) floor = used; // V8 collected on its own
    if (used - floor < HEADROOM) return;
    gc();
    floor = getHeapStatistics().used_heap_size;
  };
}

// ---------------------------------------------------------------------------------------------
// Mapping a record to our metadata

/** The fields a harvest owns: set from the source, cleared when the source no longer has them. */
const HARVESTED_FIELDS = ['title', 'alternativeTitle', 'creator', 'subject', 'description', 'date', 'type', 'format', 'identifier', 'source', 'language', 'rights'] as const;

const LANGUAGE_NAMES: Record<string, string> = {
  vi: 'vie', en: 'eng', fr: 'fra', zh: 'zho', ja: 'jpn', ko: 'kor', de: 'deu', ru: 'rus', la: 'lat', km: 'khm', lo: 'lao', th: 'tha',
  vietnamese: 'vie', 'tiếng việt': 'vie', english: 'eng', french: 'fra', chinese: 'zho',
};

/** ISO 639-3 for a language as repositories write it ("vie", "vi", "vi_VN", "en-US", "Vietnamese"), or undefined. */
export function languageCode(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  if (/^[a-z]{3}$/.test(v)) return v;
  return LANGUAGE_NAMES[v] ?? LANGUAGE_NAMES[v.split(/[-_]/)[0] ?? ''];
}

const isUrl = (s: string) => /^https?:\/\/\S+$/i.test(s);

interface Mapped {
  metadata?: Metadata;
  notes: Bilingual[];
  refusal?: Bilingual;
}

function zodReason(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(gốc / root)'}: ${i.message}`).join('; ');
}

/** Dublin Core (or MODS reduced to it) → our record. See README-harvest.md for the table. */
export function metadataFromDc(fields: DcFields, collectionId: string | undefined): Mapped {
  const notes: Bilingual[] = [];
  const [title, ...alternativeTitle] = fields.title ?? [];
  if (!title) {
    return { notes, refusal: { vi: 'bản ghi không có nhan đề (dc:title)', en: 'the record has no title (dc:title)' } };
  }
  const join = (k: keyof DcFields, sep = '; ') => (fields[k]?.length ? fields[k]!.join(sep) : undefined);
  const ids = fields.identifier ?? [];
  const plainIds = ids.filter((i) => !isUrl(i));
  let identifier = plainIds.length ? plainIds.join('; ') : ids[0];
  if (identifier && identifier.length > 200) identifier = plainIds[0] ?? ids[0];
  const languages: string[] = [];
  for (const l of fields.language ?? []) {
    const code = languageCode(l);
    if (code) {
      if (!languages.includes(code)) languages.push(code);
    } else notes.push({ vi: `bỏ ngôn ngữ "${l}" (không phải mã ISO 639)`, en: `language "${l}" dropped (not an ISO 639 code)` });
  }
  const rights = (fields.rights ?? []).find(isUrl);
  // DSpace lists dc.date.accessioned and .available (full timestamps of its own) before
  // dc.date.issued: the work's date is the first one that is not such a timestamp.
  const date = (fields.date ?? []).find((d) => !/^\d{4}-\d{2}-\d{2}T/.test(d)) ?? fields.date?.[0];
  for (const r of fields.rights ?? []) {
    if (!isUrl(r)) notes.push({ vi: `bỏ dc:rights "${r.slice(0, 80)}" (kho chỉ giữ URI quyền)`, en: `dc:rights "${r.slice(0, 80)}" dropped (only a rights URI is kept)` });
  }
  const candidate = {
    title,
    ...(alternativeTitle.length ? { alternativeTitle } : {}),
    ...(join('creator') ? { creator: join('creator') } : {}),
    ...(join('subject') ? { subject: join('subject') } : {}),
    ...(join('description', '\n\n') ? { description: join('description', '\n\n') } : {}),
    ...(date ? { date } : {}),
    ...(join('type') ? { type: join('type') } : {}),
    ...(join('format') ? { format: join('format') } : {}),
    ...(identifier ? { identifier } : {}),
    ...(join('source') ? { source: join('source') } : {}),
    ...(languages.length ? { language: languages.slice(0, 20) } : {}),
    ...(rights ? { rights } : {}),
    ...(collectionId ? { collectionId } : {}),
  };
  const parsed = Metadata.safeParse(candidate);
  if (!parsed.success) {
    return { notes, refusal: { vi: `bản ghi không thành được bản mô tả: ${zodReason(parsed.error)}`, en: `the record does not make a valid description: ${zodReason(parsed.error)}` } };
  }
  return { metadata: parsed.data, notes };
}

/** The changes that make `current` say what the source says now (fields it dropped are cleared). */
function changesFrom(current: Metadata, next: Metadata, collectionId: string | undefined): MetadataChanges {
  const changes: Record<string, unknown> = {};
  for (const f of HARVESTED_FIELDS) changes[f] = next[f] ?? (f === 'title' ? undefined : null);
  if (collectionId) changes.collectionId = collectionId;
  return effectiveChanges(current, changes as MetadataChanges);
}

const BASE32 = 'abcdefghijkmnpqrstuvwxyz23456789';
/** The work a record becomes: `oai-` and 16 characters of the SHA-256 of its OAI identifier. */
export function workIdFor(identifier: string): string {
  const digest = createHash('sha256').update(identifier).digest();
  let id = 'oai-';
  for (let i = 0; i < 16; i++) id += BASE32[digest[i]! % 32];
  return id;
}

const RegisteredHarvest = z.object({ harvest: z.object({ identifier: z.string() }).optional() });

async function registeredIdentifier(store: EventStore, objectId: string): Promise<string | undefined> {
  for await (const e of store.readStream(objectStream(objectId), { maxCount: 1 })) {
    const data = RegisteredHarvest.safeParse(e.data);
    return e.type === 'ObjectRegistered' && data.success ? data.data.harvest?.identifier : undefined;
  }
  return undefined;
}

function messagesOf(err: unknown): Bilingual {
  if (err instanceof DomainError) return err.messages;
  const text = err instanceof Error ? err.message : String(err);
  return { vi: text, en: text };
}

// ---------------------------------------------------------------------------------------------

function listUrl(baseUrl: string, params: Record<string, string>, verb = 'ListRecords'): URL {
  const url = new URL(baseUrl);
  url.searchParams.set('verb', verb);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/** A responseDate as a `from` argument: seconds granularity (milliseconds dropped). */
const asFrom = (date: string) => date.replace(/\.\d+Z$/, 'Z');

export async function harvest(store: EventStore, options: HarvestOptions): Promise<HarvestReport> {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new HarvestError({ vi: `"${options.baseUrl}" không phải địa chỉ http(s) của một nguồn OAI-PMH.`, en: `"${options.baseUrl}" is not the http(s) address of an OAI-PMH provider.` });
  }
  if (options.from !== undefined && !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$/.test(options.from)) {
    throw new HarvestError({ vi: `--from "${options.from}" phải có dạng YYYY-MM-DD hoặc YYYY-MM-DDThh:mm:ssZ.`, en: `--from "${options.from}" must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.` });
  }
  if (options.collectionId && !(await streamExists(store, collectionStream(options.collectionId)))) {
    throw new HarvestError({ vi: `Không có bộ sưu tập "${options.collectionId}"; hãy tạo nó trước.`, en: `There is no collection "${options.collectionId}"; create it first.` });
  }
  const baseUrl = base.toString();
  const request = { timeoutMs: options.timeoutMs ?? 60_000, retries: options.retries ?? 3, retryDelayMs: options.retryDelayMs ?? 1000 };
  const set = options.set;
  await mkdir(options.stateDir, { recursive: true });
  const stateName = `${harvestSourceId(baseUrl, set, options.metadataPrefix)}.json`;
  let state = await loadState(options.stateDir, stateName, { baseUrl, metadataPrefix: options.metadataPrefix, ...(set !== undefined ? { set } : {}) });

  const report: HarvestReport = {
    baseUrl,
    metadataPrefix: options.metadataPrefix,
    ...(set !== undefined ? { set } : {}),
    resumed: false,
    complete: false,
    pages: 0,
    records: 0,
    created: [],
    changed: [],
    deleted: [],
    unchanged: 0,
    refused: [],
    files: { added: 0, skipped: 0, bytes: 0 },
    manifests: [],
    retried: 0,
  };
  const source = (h: HarvestedHeader): HarvestSource => ({
    baseUrl,
    identifier: h.identifier,
    datestamp: h.datestamp,
    metadataPrefix: options.metadataPrefix,
    ...(set !== undefined ? { set } : {}),
  });
  const context = { actor: options.actor };
  const seenPath = join(options.stateDir, `${stateName.replace(/\.json$/, '')}.seen`);
  let seen = state.inProgress && options.from === undefined ? await loadSeen(seenPath, state.inProgress.pages) : new Set<string>();
  if (seen.size === 0) await writeFileDurable(options.stateDir, `${stateName.replace(/\.json$/, '')}.seen`, '');
  const where = `${baseUrl}`;

  const filesPath = join(options.stateDir, `${stateName.replace(/\.json$/, '')}.files`);
  const fetched = options.ingest ? await loadFetched(filesPath) : new Map<string, FetchedFile>();
  /** Refused in this run for a reason a rerun may cure; applied records leave it. */
  const retry = new Set(state.retry ?? []);
  const unstage = async (staged: StagedUpload[]) => {
    for (const s of staged) await rm(s.path, { force: true });
  };

  /**
   * The record's linked files not yet kept for this work, fetched into staging with their
   * digests checked. All or nothing: a file that cannot be fetched or does not match refuses
   * the record, and what was staged for it is dropped.
   */
  const stageLinkedFiles = async (objectId: string, identifier: string, fields: DcFields, notes: Bilingual[]) => {
    const staged: Array<{ upload: StagedUpload; url: string }> = [];
    const ingest = options.ingest;
    if (!ingest) return { staged, notKept: [], ...(await stageManifestPages(objectId, identifier, fields, staged)) };
    const notKept: string[] = [];
    try {
      for (const link of linksOf(fields).files) {
        if (fetched.has(`${objectId}\u0000${link.url}`)) {
          report.files.skipped++;
          continue;
        }
        const got = await fetchFile(ingest, link, request);
        if ('notKept' in got) {
          notes.push(got.notKept);
          notKept.push(link.url);
        } else staged.push({ upload: got, url: link.url });
      }
      return { staged, notKept, ...(await stageManifestPages(objectId, identifier, fields, staged)) };
    } catch (err) {
      await unstage(staged.map((s) => s.upload));
      throw err;
    }
  };

  /**
   * A record that links a IIIF manifest (our own provider puts each work's there) and took no
   * file from its links: the manifest's pages at full size, through import-iiif's own fetching,
   * staged in canvas order. The first manifest only; the others, and every manifest in a
   * metadata-only run, are listed as not imported. A manifest whose pages are all here already
   * (its URL is in `.files`) is not fetched again; one with no pages brings nothing. A page that
   * cannot be had refuses the record (FileRefused), nothing of it kept.
   */
  const stageManifestPages = async (
    objectId: string,
    identifier: string,
    fields: DcFields,
    staged: Array<{ upload: StagedUpload; url: string }>,
  ): Promise<{ imported?: ImportAccession; manifestUrl?: string }> => {
    const links = linksOf(fields);
    const ingest = options.ingest;
    const tookFiles = staged.length > 0 || links.files.some((l) => fetched.get(`${objectId}\u0000${l.url}`)?.sha512);
    const listed = (url: string, why: Bilingual) => report.manifests.push({ objectId, identifier, url, imported: false, why });
    let taken: string | undefined;
    for (const url of links.manifests) {
      if (!ingest) listed(url, { vi: 'chỉ thu hoạch bản ghi (--no-files)', en: 'metadata only (--no-files)' });
      else if (tookFiles) listed(url, { vi: 'bản ghi đã có tệp từ các liên kết tệp', en: 'the record brought files from its file links' });
      else if (taken) listed(url, { vi: `đã lấy trang từ manifest ${taken}`, en: `pages taken from the manifest ${taken}` });
      else taken = url;
    }
    if (!ingest || !taken) return {};
    if (fetched.has(`${objectId}\u0000${taken}`)) {
      report.manifests.push({ objectId, identifier, url: taken, imported: true, already: true });
      return {};
    }
    let manifest: Awaited<ReturnType<typeof readManifestAt>>;
    try {
      manifest = await readManifestAt(taken, request);
    } catch (err) {
      if (!(err instanceof IiifPagesRefused)) throw err;
      const m = err.messages ?? { vi: err.reason, en: err.reason };
      // The source answered (thukho answers 404 for a work without pages): the record without pages.
      if (err.status !== undefined) {
        listed(taken, { vi: `không đọc được manifest (${m.vi})`, en: `the manifest could not be read (${m.en})` });
        return {};
      }
      throw new FileRefused({ vi: `IIIF manifest: ${m.vi}`, en: `IIIF manifest: ${m.en}` });
    }
    let pages: StagedUpload[];
    try {
      pages = await fetchManifestPages(ingest, manifest, manifest.canvases.map((_, i) => i + 1), request);
    } catch (err) {
      if (!(err instanceof IiifPagesRefused)) throw err;
      const m = err.messages ?? { vi: err.reason, en: err.reason };
      if (err.status === 401 || err.status === 403) {
        // A restricted work's pages are for the source's own readers: its record is still harvested.
        listed(taken, { vi: `nguồn yêu cầu đăng nhập để xem ảnh (${m.vi})`, en: `the source requires signing in for the images (${m.en})` });
        return {};
      }
      throw new FileRefused({ vi: `IIIF manifest ${taken}: ${m.vi}`, en: `IIIF manifest ${taken}: ${m.en}` });
    }
    if (pages.length === 0) {
      listed(taken, { vi: 'manifest không có trang nào', en: 'the manifest has no pages' });
      return {};
    }
    pages.forEach((upload, i) => staged.push({ upload, url: manifest.canvases[i]?.image?.url ?? `${taken}#${i + 1}` }));
    report.manifests.push({ objectId, identifier, url: taken, imported: true, pages: pages.length });
    const imported = ImportAccession.parse({
      format: IIIF_FORMAT,
      location: taken,
      identifier: manifest.id.slice(0, 500),
      fingerprint: fingerprintOf(pages),
      record: recordOf(manifest, taken),
    });
    return { imported, manifestUrl: taken };
  };

  /** One OCFL version with the staged files; remembers their URLs so that a re-harvest does not fetch them again. */
  const commitFiles = async (objectId: string, staged: Array<{ upload: StagedUpload; url: string }>, notKept: string[], manifestUrl?: string): Promise<string[]> => {
    if (!options.ingest) return [];
    // A web page or a kind of file we do not keep (a DSpace license.txt) is not asked for again either;
    // a manifest whose pages are all committed (its images' own lines follow) is not read again.
    const lines: FetchedFile[] = [...notKept, ...(manifestUrl ? [manifestUrl] : [])].map((url) => ({ url, objectId, sha512: null }));
    const outcomes = staged.length ? await commitStaged(options.ingest, objectId, staged.map((s) => s.upload), context) : [];
    const added: string[] = [];
    outcomes.forEach((o, i) => {
      lines.push({ url: staged[i]!.url, objectId, sha512: o.file.digests.sha512 });
      if (o.status === 'created') {
        added.push(o.file.name);
        report.files.added++;
        report.files.bytes += o.file.size;
      } else report.files.skipped++;
    });
    await appendFetched(filesPath, lines);
    for (const l of lines) fetched.set(`${objectId}\u0000${l.url}`, l);
    return added;
  };

  const applyRecord = async (header: HarvestedHeader, fields: DcFields | undefined): Promise<void> => {
    const identifier = header.identifier;
    const objectId = workIdFor(identifier);
    if (seen.has(identifier)) {
      report.refused.push({ identifier, objectId, reason: { vi: 'định danh này đã gặp ở trước trong cùng lần thu hoạch; bỏ bản sau', en: 'this identifier came earlier in the same harvest; the later copy is ignored' } });
      return;
    }
    seen.add(identifier);
    retry.delete(identifier);
    const { state: work } = await loadObject(store, objectId);
    if (work.status !== 'absent' && (await registeredIdentifier(store, objectId)) !== identifier) {
      report.refused.push({ identifier, objectId, reason: { vi: `mã tài liệu ${objectId} đã dùng cho một tài liệu khác`, en: `the work id ${objectId} is taken by another work` } });
      return;
    }
    if (header.deleted) {
      if (work.status === 'active') {
        await executeObjectCommand(store, {
          type: 'WithdrawObject',
          objectId,
          reason: `Bản ghi đã bị xoá ở nguồn ${where} (${identifier}, ${header.datestamp}) / deleted at the source ${where} (${identifier}, ${header.datestamp})`,
        }, context);
        report.deleted.push({ objectId, identifier, title: work.metadata.title });
      } else report.unchanged++; // never harvested, or withdrawn already
      return;
    }
    const mapped = metadataFromDc(fields ?? {}, options.collectionId);
    if (!mapped.metadata) {
      report.refused.push({ identifier, ...(work.status !== 'absent' ? { objectId } : {}), reason: mapped.refusal! });
      return;
    }
    if (work.status === 'withdrawn') {
      report.refused.push({
        identifier,
        objectId,
        reason: { vi: 'tài liệu đã bị rút khỏi kho ở đây; thu hoạch không khôi phục nó', en: 'the work has been withdrawn here; a harvest does not reinstate it' },
      });
      return;
    }
    const notes = mapped.notes;
    let staged: Array<{ upload: StagedUpload; url: string }>;
    let notKept: string[];
    let imported: ImportAccession | undefined;
    let manifestUrl: string | undefined;
    try {
      ({ staged, notKept, imported, manifestUrl } = await stageLinkedFiles(objectId, identifier, fields ?? {}, notes));
    } catch (err) {
      if (!(err instanceof FileRefused)) throw err;
      retry.add(identifier);
      report.refused.push({ identifier, ...(work.status !== 'absent' ? { objectId } : {}), reason: err.reason });
      return;
    }
    const withNotes = () => (notes.length ? { notes } : {});
    try {
      if (work.status === 'absent') {
        // A manifest's pages: the registration names it (with its record and image URLs) beside the OAI record.
        await executeObjectCommand(store, { type: 'RegisterObject', objectId, metadata: mapped.metadata, accessLevel: 'open', harvest: source(header), ...(imported ? { imported } : {}) }, context);
        // Should the commit fail, the work is on record without its files: the next run asks for the record again and adds them.
        const files = await commitFiles(objectId, staged.splice(0), notKept, manifestUrl);
        report.created.push({ objectId, identifier, title: mapped.metadata.title, ...(files.length ? { files } : {}), ...withNotes() });
        return;
      }
      const changes = changesFrom(work.metadata, mapped.metadata, options.collectionId);
      if (Object.keys(changes).length === 0 && staged.length === 0) {
        await commitFiles(objectId, [], notKept, manifestUrl);
        report.unchanged++;
        return;
      }
      if (Object.keys(changes).length) {
        await executeObjectCommand(store, {
          type: 'EditMetadata',
          objectId,
          changes,
          reason: `Thu hoạch lại từ ${where} (${identifier}, ${header.datestamp}) / re-harvested from ${where} (${identifier}, ${header.datestamp})`,
        }, context);
      }
      const files = await commitFiles(objectId, staged.splice(0), notKept, manifestUrl);
      if (Object.keys(changes).length === 0 && files.length === 0) {
        report.unchanged++; // the bytes were already the work's own (a lost .files list)
        return;
      }
      report.changed.push({ objectId, identifier, title: mapped.metadata.title, fields: Object.keys(changes), ...(files.length ? { files } : {}), ...withNotes() });
    } catch (err) {
      // E.g. the files' commit failed on a full disk after the edit: the next run asks for the record again.
      retry.add(identifier);
      throw err;
    } finally {
      await unstage(staged.map((s) => s.upload));
    }
  };

  const applyOne = async (r: OaiPage['records'][number]) => {
    if (!r.ok) {
      report.refused.push({ ...(r.identifier ? { identifier: r.identifier, objectId: workIdFor(r.identifier) } : {}), reason: { vi: `bản ghi hỏng: ${r.reason}`, en: `malformed record: ${r.reason}` } });
      return;
    }
    try {
      await applyRecord(r.header, r.fields);
    } catch (err) {
      report.refused.push({ identifier: r.header.identifier, objectId: workIdFor(r.header.identifier), reason: messagesOf(err) });
    }
  };
  const retryState = () => ({ retry: [...retry] });

  /**
   * The list is read to its end: records refused before for a reason a rerun may cure, and not
   * in this run's list, are asked for one by one (GetRecord); then the state remembers this
   * harvest's start as the next one's `from`.
   */
  const finish = async (startedAt: string): Promise<HarvestReport> => {
    for (const identifier of [...retry]) {
      if (seen.has(identifier)) continue;
      report.retried++;
      let page: OaiPage;
      try {
        page = await fetchPage(listUrl(baseUrl, { identifier, metadataPrefix: options.metadataPrefix }, 'GetRecord'), request);
      } catch (err) {
        if (!(err instanceof PageFailure)) throw err;
        report.refused.push({ identifier, objectId: workIdFor(identifier), reason: err.reason });
        continue;
      }
      if (page.errors.some((e) => e.code === 'idDoesNotExist')) {
        retry.delete(identifier); // gone from the source without a trace: nothing left to try
        continue;
      }
      for (const r of page.records) await applyOne(r);
    }
    report.complete = true;
    state = { ...state, lastResponseDate: startedAt, inProgress: undefined, ...retryState() };
    if (retry.size === 0) delete state.retry;
    await saveState(options.stateDir, stateName, state);
    return report;
  };

  const collect = pageCollector();
  const listArgs = (from: string | undefined): Record<string, string> => ({
    metadataPrefix: options.metadataPrefix,
    ...(set !== undefined ? { set } : {}),
    ...(from !== undefined ? { from } : {}),
  });

  let from = state.inProgress ? state.inProgress.from : (options.from ?? (state.lastResponseDate ? asFrom(state.lastResponseDate) : undefined));
  if (from !== undefined) report.from = from;
  let url: URL;
  let startedAt: string | undefined;
  let pagesBefore = 0;
  if (state.inProgress && options.from === undefined) {
    report.resumed = true;
    startedAt = state.inProgress.responseDate;
    pagesBefore = state.inProgress.pages;
    url = listUrl(baseUrl, { resumptionToken: state.inProgress.token });
  } else {
    if (state.inProgress) state = { ...state, inProgress: undefined }; // an explicit --from starts a new list
    url = listUrl(baseUrl, listArgs(from));
  }

  for (;;) {
    let page: OaiPage;
    try {
      page = await fetchPage(url, request);
    } catch (err) {
      if (!(err instanceof PageFailure)) throw err;
      report.stopped = {
        vi: `Dừng ở trang ${pagesBefore + report.pages + 1}: ${err.reason.vi}. Chạy lại lệnh sẽ tiếp tục từ trang này.`,
        en: `Stopped at page ${pagesBefore + report.pages + 1}: ${err.reason.en}. Running the command again continues from this page.`,
      };
      return report;
    }
    const codes = page.errors.map((e) => e.code);
    if (codes.includes('badResumptionToken') && report.resumed && report.pages === 0) {
      // The saved token expired while we were away: the list starts over (records already here change nothing).
      report.resumed = false;
      state = { ...state, inProgress: undefined };
      seen = new Set();
      await writeFileDurable(options.stateDir, `${stateName.replace(/\.json$/, '')}.seen`, '');
      await saveState(options.stateDir, stateName, state);
      url = listUrl(baseUrl, listArgs(from));
      continue;
    }
    if (codes.includes('badArgument') && from !== undefined && from.includes('T') && report.pages === 0 && url.searchParams.has('from')) {
      // A provider with day granularity refuses seconds: ask again by day (a day's records repeat and change nothing).
      from = from.slice(0, 10);
      report.from = from;
      url = listUrl(baseUrl, listArgs(from));
      continue;
    }
    startedAt ??= page.responseDate;
    if (codes.includes('noRecordsMatch')) return finish(startedAt);
    if (page.errors.length > 0) {
      const list = page.errors.map((e) => `${e.code}${e.message ? ` (${e.message})` : ''}`).join('; ');
      report.stopped = { vi: `Nguồn báo lỗi OAI-PMH: ${list}.`, en: `The source answered with an OAI-PMH error: ${list}.` };
      return report;
    }
    for (const r of page.records) {
      report.records++;
      await applyOne(r);
    }
    collect();
    report.pages++;
    const token = page.resumption?.token;
    if (token) await appendSeen(seenPath, pagesBefore + report.pages, page.records.flatMap((r) => (r.ok ? [r.header.identifier] : [])));
    options.onProgress?.({ records: report.records, pages: pagesBefore + report.pages, ...(page.resumption?.completeListSize !== undefined ? { total: page.resumption.completeListSize } : {}) });
    if (!token) return finish(startedAt);
    state = { ...state, inProgress: { ...(from !== undefined ? { from } : {}), responseDate: startedAt, token, pages: pagesBefore + report.pages }, ...retryState() };
    await saveState(options.stateDir, stateName, state);
    url = listUrl(baseUrl, { resumptionToken: token });
  }
}

/** Whether the run changed anything here. */
export const changedAnything = (r: HarvestReport) => r.created.length + r.changed.length + r.deleted.length > 0;

import { createHash } from 'node:crypto';
import { type AccessAllowed, type AccessRefusal, type AccessSubject, allowedLevels, decideAccess } from '../domain/access-decision.ts';
import type { Viewer } from '../domain/access-policy.ts';
import { type CollectionState, evolveCollection } from '../domain/collection.ts';
import { type CollectionEvent, parseEventData } from '../domain/events.ts';
import type { AccessLevel } from '../domain/metadata.ts';
import { textImageId } from '../domain/page-image.ts';
import type { ObjectState, StoredFile } from '../domain/object.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import {
  type CollectionItemRef,
  DEFAULT_PAGE_SIZE,
  buildCollectionDocument,
  isPaged,
  pageCount,
  pageWindow,
  type ImageResource,
  type LanguageMap,
  type PresentableObject,
  TOP_COLLECTION_LABEL,
  bilingual,
  buildManifest,
  heldByStatement,
  type ManifestHolder,
  pageImages,
  pdfOriginals,
  providerOf,
  textMap,
  thumbnailFor,
  thumbnailSize,
} from '../iiif/manifest.ts';
import { getLibrary, holdingLibraryOf } from './object-read-model.ts';
import type { Projection } from './projection.ts';
import { type ReadModelDb, statement } from './read-model-db.ts';
import { WORK_EVENT_TYPES } from '../domain/events.ts';
import { COLLECTION_EVENT_TYPES, decodeCollectionEvent, WORK_STREAM_PREFIXES, workStream } from './decode.ts';
import { applyWorkEvent, mayChangeWork } from './work-fold.ts';

/**
 * IIIF Presentation 3 manifests, built by this projection and served as stored text. While a
 * work's derivatives arrive (a 500-page book: 500 events, often one batch each) its manifest
 * is only marked stale (stale_pos); the batch that brings the last one builds it, and so do a
 * request finding it stale and the background builder (manifest-builder.ts), all with the same
 * function of the same tables, so when it is built never changes what it is.
 *
 * The projection folds object and collection streams itself (with the domain's evolve
 * functions) instead of reading the object read model, because projections run and rebuild
 * independently: nothing guarantees the other one is at the same position.
 *
 * Stored documents carry placeholders instead of the public base URL and the institution
 * name, which come from configuration and the request; `renderStoredJson` puts them in at
 * serve time with a plain string replace.
 */
export const BASE_PLACEHOLDER = 'urn:thukho:base';
export const INSTITUTION_PLACEHOLDER = 'urn:thukho:institution';


interface ObjectStateRow {
  object_id: string;
  revision: number;
  seq: number;
  /** Position of the last event folded into the state: equal stamps, equal states. */
  stamp: number;
}

interface CollectionRow {
  collection_id: string;
  revision: number;
  seq: number;
  parent_id: string | null;
  title: string;
  state: string;
}

interface ManifestRow {
  object_id: string;
  revision: number;
  status: 'active' | 'withdrawn';
  access_level: AccessLevel;
  collection_id: string | null;
  seq: number;
  label: string;
  thumbnail: string | null;
  canvases: number;
  manifest: string | null;
  etag: string | null;
  input_hash: string | null;
  withdrawn_reason: string | null;
  stale_pos: number | null;
}

interface Loaded<S> {
  state: S;
  revision: number;
  seq: number;
  stamp?: number;
}

/**
 * The states this connection last wrote, by work: while a 500-page book's derivatives arrive
 * one batch each, parsing its stored state again for every page would cost as much as all
 * the rest of the batch. Used only when the row's stamp is the one written with it (a
 * rolled-back batch or another runner's write leaves another stamp), so the tables stay the
 * truth; the states are never mutated (evolveObject makes new ones).
 */
const STATE_CACHE_SIZE = 32;
const stateCache = new WeakMap<ReadModelDb, Map<string, { stamp: number; state: ObjectState }>>();

/**
 * A work's state as stored: its files one row each (a derivative rewrites one row, not the
 * whole book's), the rest in iiif_object_state. Undefined for an unknown work.
 */
function loadState(db: ReadModelDb, id: string): ObjectState | undefined {
  const row = statement<[string], { state: string }>(db, 'SELECT state FROM iiif_object_state WHERE object_id = ?').get(id);
  if (!row) return undefined;
  const state = JSON.parse(row.state) as ObjectState;
  if (state.status === 'absent') return state;
  const files = statement<[string], { file: string }>(db, 'SELECT file FROM iiif_object_files WHERE object_id = ? ORDER BY idx').all(id);
  return { ...state, files: files.map((f) => JSON.parse(f.file) as StoredFile) };
}

function cachedState(db: ReadModelDb, id: string, stamp: number): ObjectState | undefined {
  const hit = stateCache.get(db)?.get(id);
  return hit && hit.stamp === stamp ? hit.state : undefined;
}

function rememberState(db: ReadModelDb, id: string, stamp: number, state: ObjectState): void {
  let cache = stateCache.get(db);
  if (!cache) stateCache.set(db, (cache = new Map()));
  cache.delete(id);
  cache.set(id, { stamp, state });
  if (cache.size > STATE_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

type ActiveCollection = Extract<CollectionState, { status: 'active' }>;

/** One batch's view of the tables: rows loaded once, changes kept in memory, written at the end. */
class Batch {
  readonly objects = new Map<string, Loaded<ObjectState>>();
  readonly collections = new Map<string, Loaded<CollectionState>>();
  /** Objects whose manifest changes in this batch. */
  readonly changedObjects = new Set<string>();
  /** Objects whose state changed in this batch (not only the text of a page). */
  readonly changedStates = new Set<string>();
  /** The files of each object as loaded, as stored (by index): what is written is what differs. */
  readonly loadedFiles = new Map<string, readonly StoredFile[]>();
  readonly changedCollections = new Set<string>();
  /** Collections whose title is new or different: their objects' partOf and metadata change. */
  readonly retitled = new Set<string>();
  /** The last event of the batch: what a manifest left stale was changed by, at the latest. */
  lastPosition = 0;

  constructor(readonly db: ReadModelDb) {}

  object(id: string, position: bigint): Loaded<ObjectState> {
    let cur = this.objects.get(id);
    if (!cur) {
      const row = statement<[string], ObjectStateRow>(this.db, 'SELECT object_id, revision, seq, stamp FROM iiif_object_state WHERE object_id = ?').get(id);
      const state = row ? (cachedState(this.db, id, row.stamp) ?? loadState(this.db, id)) : undefined;
      cur = row && state
        ? { state, revision: row.revision, seq: row.seq, stamp: row.stamp }
        : { state: { status: 'absent' }, revision: -1, seq: Number(position) };
      this.loadedFiles.set(id, cur.state.status === 'absent' ? [] : cur.state.files);
      this.objects.set(id, cur);
    }
    return cur;
  }

  collection(id: string, position: bigint): Loaded<CollectionState> {
    let cur = this.collections.get(id);
    if (!cur) {
      const row = this.db.prepare<[string], CollectionRow>('SELECT * FROM iiif_collections WHERE collection_id = ?').get(id);
      cur = row
        ? { state: JSON.parse(row.state) as CollectionState, revision: row.revision, seq: row.seq }
        : { state: { status: 'absent' }, revision: -1, seq: Number(position) };
      this.collections.set(id, cur);
    }
    return cur;
  }

  applyWork(objectId: string, e: RecordedEvent): void {
    const cur = this.object(objectId, e.position);
    const applied = applyWorkEvent(cur, e);
    if (!applied) return;
    if (applied.event?.type === 'ObjectRegistered') cur.seq = Number(e.position);
    cur.stamp = Number(e.position);
    this.changedObjects.add(objectId);
    this.changedStates.add(objectId);
  }

  /** A page's text or OCR reading appeared or went: the manifest is rebuilt, the state is as it was. */
  textChanged(objectId: string, position: bigint): void {
    if (this.object(objectId, position).state.status !== 'absent') this.changedObjects.add(objectId);
  }

  applyCollection(e: RecordedEvent, event: CollectionEvent): void {
    const id = e.streamId.slice('collection-'.length);
    const cur = this.collection(id, e.position);
    if (Number(e.revision) <= cur.revision) return;
    const before = cur.state.status === 'active' ? cur.state.title : undefined;
    cur.state = evolveCollection(cur.state, event);
    cur.revision = Number(e.revision);
    if (event.type === 'CollectionCreated') cur.seq = Number(e.position);
    this.changedCollections.add(id);
    if (cur.state.status === 'active' && cur.state.title !== before) this.retitled.add(id);
  }

  /** Objects in retitled collections, not already changed here, loaded for a rebuild. */
  objectsOfRetitled(): string[] {
    if (this.retitled.size === 0) return [];
    const ids = [...this.retitled];
    const rows = this.db
      .prepare<string[], { object_id: string }>(
        `SELECT object_id FROM iiif_manifests WHERE status = 'active' AND collection_id IN (${ids.map(() => '?').join(', ')})`,
      )
      .all(...ids);
    return rows.map((r) => r.object_id).filter((id) => !this.changedObjects.has(id));
  }
}

/** What a manifest is made from; equal inputs make equal manifests, so the build is skipped. */
function buildInputs(state: PresentableObject, collection: { id: string; title: string } | undefined, pages: PageLinks): string {
  const files = pageImages(state).map((p) => [p.imageId, p.width, p.height, thumbnailSize(p), pages.textPages.has(p.imageId), pages.ocrPages.has(p.imageId)]);
  // Downloads are offered on open objects only, so that part of the access level is an input.
  const download = state.accessLevel === 'open';
  const originals = pdfOriginals(state).map((f) => [f.fileId, f.name]);
  // Page labels and the table of contents only when set, so that manifests built before they existed keep their hash.
  const described = {
    ...(state.pageLabels ? { labels: state.pageLabels } : {}),
    ...(state.structure ? { structure: state.structure, order: state.files.map((f) => [f.fileId, f.sequence]) } : {}),
  };
  return sha256(JSON.stringify({ metadata: state.metadata, files, collection: collection ?? null, download, originals, ...described }));
}

/**
 * Which pages of a work have text (a canvas then links its text annotations): kept here
 * rather than read from the page-text projection, which may be at another position. The
 * latest record of a file decides, so a re-delivered older one changes nothing; a blank page
 * has no text to link.
 */
function recordPageText(db: ReadModelDb, batch: Batch, objectId: string, e: RecordedEvent): void {
  const data = parseEventData('PageTextRecorded', e.metadata.schemaVersion, e.data);
  const hasText = data.text.trim() ? 1 : 0;
  const row = db
    .prepare<[string, string], { position: number; has_text: number }>('SELECT position, has_text FROM iiif_text_pages WHERE object_id = ? AND image_id = ?')
    .get(objectId, textImageId(data));
  if (row && row.position >= Number(e.position)) return;
  db.prepare(
    `INSERT INTO iiif_text_pages (object_id, image_id, position, has_text) VALUES (?, ?, ?, ?)
     ON CONFLICT (object_id, image_id) DO UPDATE SET position = excluded.position, has_text = excluded.has_text`,
  ).run(objectId, textImageId(data), Number(e.position), hasText);
  if ((row?.has_text ?? 0) !== hasText) batch.textChanged(objectId, e.position);
}

/**
 * Which pages have an OCR reading (a canvas then links its ALTO). Only whether one exists
 * matters here: the link names the page, and a later reading is served under it.
 */
function recordOcrReading(db: ReadModelDb, batch: Batch, objectId: string, e: RecordedEvent): void {
  const data = parseEventData('OcrCompleted', e.metadata.schemaVersion, e.data);
  const added = db.prepare('INSERT OR IGNORE INTO iiif_ocr_pages (object_id, image_id) VALUES (?, ?)').run(objectId, textImageId(data));
  if (added.changes > 0) batch.textChanged(objectId, e.position);
}

interface PageLinks {
  textPages: Set<string>;
  ocrPages: Set<string>;
}

function pageLinksOf(db: ReadModelDb, objectId: string): PageLinks {
  const texts = db.prepare<[string], { image_id: string }>('SELECT image_id FROM iiif_text_pages WHERE object_id = ? AND has_text = 1').all(objectId);
  const readings = db.prepare<[string], { image_id: string }>('SELECT image_id FROM iiif_ocr_pages WHERE object_id = ?').all(objectId);
  return { textPages: new Set(texts.map((r) => r.image_id)), ocrPages: new Set(readings.map((r) => r.image_id)) };
}

/** Columns of a manifest row cheap enough to keep current in every batch: the listings read them. */
interface ListingColumns {
  canvases: number;
  label: string;
  thumbnail: string | null;
}

interface ManifestColumns {
  manifest: string | null;
  etag: string | null;
  inputHash: string;
}

function listingColumns(state: PresentableObject): ListingColumns {
  const files = pageImages(state);
  const first = files[0];
  return {
    canvases: files.length,
    label: JSON.stringify(textMap(state.metadata.title, state.metadata.language)),
    thumbnail: first ? JSON.stringify([thumbnailFor(BASE_PLACEHOLDER, first)]) : null,
  };
}

/**
 * Pages whose derivative has neither been made nor failed yet. While a work has any, its
 * derivatives are still arriving (a 500-page book: one event each) and the manifest is only
 * marked stale; the batch that brings the last one builds it.
 */
export function pendingPages(state: PresentableObject): number {
  let pending = 0;
  for (const f of state.files) {
    if (f.image === undefined && f.pdf === undefined) continue;
    if (!f.derivative && !f.derivativeFailure) pending++;
    if (f.pdf) pending += Math.max(0, (f.pdf.pages ?? 1) - 1 - (f.laterPages?.length ?? 0));
  }
  return pending;
}

/** Full builds of a manifest document since the process started (tests and benches count them). */
export const manifestBuilds = { count: 0, ms: 0 };

/**
 * The document, from the projection's own tables (the work's state, its collection's title,
 * its pages with text or OCR): the same whether built in a batch, by the background builder
 * or for a request, so when it is built never changes what it is.
 */
function manifestDocument(db: ReadModelDb, objectId: string, state: PresentableObject, previous: Pick<ManifestRow, 'manifest' | 'etag' | 'input_hash'> | undefined): ManifestColumns {
  const collectionId = state.metadata.collectionId;
  const title = collectionId
    ? statement<[string], { title: string }>(db, 'SELECT title FROM iiif_collections WHERE collection_id = ?').get(collectionId)?.title
    : undefined;
  const collection = collectionId && title !== undefined ? { id: collectionId, title } : undefined;
  const pages = pageLinksOf(db, objectId);
  const inputHash = buildInputs(state, collection, pages);
  if (previous?.manifest && previous.etag && previous.input_hash === inputHash) {
    // Failed derivatives, re-deliveries and access changes that keep downloads as they were
    // (restricted ↔ confidential) do not change the document.
    return { manifest: previous.manifest, etag: previous.etag, inputHash };
  }
  const started = performance.now();
  const manifest = JSON.stringify(
    buildManifest({ base: BASE_PLACEHOLDER, objectId, state, institution: INSTITUTION_PLACEHOLDER, ...pages, ...(collection ? { collection } : {}) }),
  );
  const etag = sha256(manifest);
  manifestBuilds.count++;
  manifestBuilds.ms += performance.now() - started;
  return { manifest, etag, inputHash };
}

/**
 * Builds a stale manifest and stores it, in one transaction that reads the state it is built
 * from, so it never stores a document older than the row says. Returns the row as it is
 * then (undefined for an unknown work).
 */
export function buildStaleManifest(db: ReadModelDb, objectId: string): ManifestRow | undefined {
  return db
    .transaction((): ManifestRow | undefined => {
      const row = statement<[string], ManifestRow>(db, 'SELECT * FROM iiif_manifests WHERE object_id = ?').get(objectId);
      if (!row || row.stale_pos === null) return row;
      const state = loadState(db, objectId);
      if (!state || state.status === 'absent') return row;
      const c = manifestDocument(db, objectId, state, row);
      statement(db, 'UPDATE iiif_manifests SET manifest = ?, etag = ?, input_hash = ?, stale_pos = NULL WHERE object_id = ?').run(
        c.manifest, c.etag, c.inputHash, objectId,
      );
      return { ...row, manifest: c.manifest, etag: c.etag, input_hash: c.inputHash, stale_pos: null };
    })
    .immediate();
}

/** Works whose manifest is stale, with the position of the change that made it so. */
export function staleManifests(db: ReadModelDb, limit: number): Array<{ objectId: string; stalePos: number }> {
  return statement<[number], { object_id: string; stale_pos: number }>(
    db,
    'SELECT object_id, stale_pos FROM iiif_manifests WHERE stale_pos IS NOT NULL ORDER BY stale_pos LIMIT ?',
  )
    .all(limit)
    .map((r) => ({ objectId: r.object_id, stalePos: r.stale_pos }));
}

function writeCollections(db: ReadModelDb, batch: Batch): void {
  const upsert = db.prepare(
    `INSERT INTO iiif_collections (collection_id, revision, seq, parent_id, title, state) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (collection_id) DO UPDATE SET revision = excluded.revision, parent_id = excluded.parent_id,
       title = excluded.title, state = excluded.state`,
  );
  for (const id of batch.changedCollections) {
    const cur = batch.collections.get(id);
    if (!cur || cur.state.status !== 'active') continue;
    upsert.run(id, cur.revision, cur.seq, cur.state.parentId ?? null, cur.state.title, JSON.stringify(cur.state));
  }
}

function writeObjects(db: ReadModelDb, batch: Batch): void {
  const upsertState = db.prepare(
    `INSERT INTO iiif_object_state (object_id, revision, seq, stamp, state) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (object_id) DO UPDATE SET revision = excluded.revision, stamp = excluded.stamp, state = excluded.state`,
  );
  const upsertFile = db.prepare('INSERT INTO iiif_object_files (object_id, idx, file) VALUES (?, ?, ?) ON CONFLICT (object_id, idx) DO UPDATE SET file = excluded.file');
  const dropFiles = db.prepare('DELETE FROM iiif_object_files WHERE object_id = ? AND idx >= ?');
  const getManifest = db.prepare<[string], ManifestRow>('SELECT * FROM iiif_manifests WHERE object_id = ?');
  // A stale row keeps its last document (never served while stale: findManifest builds it first).
  const upsertManifest = db.prepare(
    `INSERT INTO iiif_manifests (object_id, revision, status, access_level, collection_id, seq, label, thumbnail, canvases, manifest, etag, input_hash, withdrawn_reason, stale_pos)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (object_id) DO UPDATE SET revision = excluded.revision, status = excluded.status,
       access_level = excluded.access_level, collection_id = excluded.collection_id, label = excluded.label,
       thumbnail = excluded.thumbnail, canvases = excluded.canvases,
       manifest = CASE WHEN excluded.stale_pos IS NULL THEN excluded.manifest ELSE manifest END,
       etag = CASE WHEN excluded.stale_pos IS NULL THEN excluded.etag ELSE etag END,
       input_hash = CASE WHEN excluded.stale_pos IS NULL THEN excluded.input_hash ELSE input_hash END,
       withdrawn_reason = excluded.withdrawn_reason, stale_pos = excluded.stale_pos`,
  );
  for (const id of [...batch.changedObjects, ...batch.objectsOfRetitled()]) {
    const cur = batch.object(id, 0n);
    const s = cur.state;
    if (s.status === 'absent') continue;
    if (batch.changedStates.has(id) && cur.stamp !== undefined) {
      const { files, ...rest } = s;
      upsertState.run(id, cur.revision, cur.seq, cur.stamp, JSON.stringify(rest));
      // Only the files that are not the very objects loaded: evolveObject makes new ones for what it changes.
      const loaded = batch.loadedFiles.get(id) ?? [];
      files.forEach((f, i) => {
        if (loaded[i] !== f) upsertFile.run(id, i, JSON.stringify(f));
      });
      if (loaded.length > files.length) dropFiles.run(id, files.length);
      rememberState(db, id, cur.stamp, s);
    }
    const l = listingColumns(s);
    // Built now once no derivative is awaited (an edit, the last page's derivative); while
    // they arrive, only marked stale: one build per book instead of one per page.
    const c = pendingPages(s) === 0 ? manifestDocument(db, id, s, getManifest.get(id)) : undefined;
    upsertManifest.run(
      id, cur.revision, s.status, s.accessLevel, s.metadata.collectionId ?? null, cur.seq,
      l.label, l.thumbnail, l.canvases, c?.manifest ?? null, c?.etag ?? null, c?.inputHash ?? null, s.withdrawnReason ?? null,
      c ? null : batch.lastPosition,
    );
  }
}

export const manifestReadModel: Projection = {
  name: 'manifests',
  // 2: downloads (rendering) on open objects' canvases; 3: revisions count every event of
  // the object stream, derivatives come from the preservation stream; 4: page text linked
  // from canvases, Content Search declared. (Canvases of later pages of a multi-page master
  // needed no rebuild: no log before them has a derivative of a later page.) 5: canvases
  // with an OCR reading link its ALTO (seeAlso). 6: a withdrawn work's manifest is kept, for
  // the staff, who still see all of it. 7: a restricted work's image services declare the IIIF
  // authorization services. 8: Han-script values tagged lzh / vi-Hani, and alternative titles in
  // two scripts as one metadata pair per language, so every viewer shows both. 9: while a
  // work's derivatives arrive its manifest is marked stale (stale_pos) instead of rebuilt per
  // page; the last one, a request or the background builder (manifest-builder.ts) builds it.
  version: 9,
  filter: { streamPrefixes: [...WORK_STREAM_PREFIXES, 'collection-'], eventTypes: [...WORK_EVENT_TYPES, ...COLLECTION_EVENT_TYPES] },

  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS iiif_object_state (
        object_id TEXT PRIMARY KEY,
        revision  INTEGER NOT NULL,
        seq       INTEGER NOT NULL,
        stamp     INTEGER NOT NULL,
        state     TEXT NOT NULL   -- without its files: iiif_object_files
      );
      CREATE TABLE IF NOT EXISTS iiif_object_files (
        object_id TEXT NOT NULL,
        idx       INTEGER NOT NULL,  -- the file's place in the state's files
        file      TEXT NOT NULL,
        PRIMARY KEY (object_id, idx)
      );
      CREATE TABLE IF NOT EXISTS iiif_collections (
        collection_id TEXT PRIMARY KEY,
        revision      INTEGER NOT NULL,
        seq           INTEGER NOT NULL,
        parent_id     TEXT,
        title         TEXT NOT NULL,
        state         TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS iiif_collections_by_parent ON iiif_collections (parent_id, seq);
      CREATE TABLE IF NOT EXISTS iiif_manifests (
        object_id        TEXT PRIMARY KEY,
        revision         INTEGER NOT NULL,
        status           TEXT NOT NULL,
        access_level     TEXT NOT NULL,
        collection_id    TEXT,
        seq              INTEGER NOT NULL,
        label            TEXT NOT NULL,   -- language map (JSON)
        thumbnail        TEXT,            -- [Image] (JSON, placeholder base) or NULL
        canvases         INTEGER NOT NULL,
        manifest         TEXT,            -- the document (JSON, placeholders), NULL without pages
        etag             TEXT,
        input_hash       TEXT,
        withdrawn_reason TEXT,
        stale_pos        INTEGER          -- set while the document is older than the row: the change's position
      );
      CREATE INDEX IF NOT EXISTS iiif_manifests_stale ON iiif_manifests (stale_pos) WHERE stale_pos IS NOT NULL;
      CREATE INDEX IF NOT EXISTS iiif_manifests_by_collection ON iiif_manifests (collection_id, seq);
      CREATE INDEX IF NOT EXISTS iiif_manifests_by_seq ON iiif_manifests (seq);
      CREATE TABLE IF NOT EXISTS iiif_text_pages (
        object_id TEXT NOT NULL,
        image_id  TEXT NOT NULL,
        position  INTEGER NOT NULL,
        has_text  INTEGER NOT NULL,
        PRIMARY KEY (object_id, image_id)
      );
      CREATE TABLE IF NOT EXISTS iiif_ocr_pages (
        object_id TEXT NOT NULL,
        image_id  TEXT NOT NULL,
        PRIMARY KEY (object_id, image_id)
      );
    `);
  },

  reset(db) {
    db.exec(
      'DROP TABLE IF EXISTS iiif_manifests; DROP TABLE IF EXISTS iiif_object_state; DROP TABLE IF EXISTS iiif_object_files; DROP TABLE IF EXISTS iiif_collections; DROP TABLE IF EXISTS iiif_text_pages; DROP TABLE IF EXISTS iiif_ocr_pages;',
    );
  },

  apply(db, events) {
    const batch = new Batch(db);
    batch.lastPosition = Number(events[events.length - 1]?.position ?? 0n);
    for (const e of events) {
      const work = workStream(e);
      if (work) {
        if (e.type === 'PageTextRecorded') recordPageText(db, batch, work.objectId, e);
        if (e.type === 'OcrCompleted') recordOcrReading(db, batch, work.objectId, e);
        if (mayChangeWork(e)) batch.applyWork(work.objectId, e);
      } else if (e.streamId.startsWith('collection-')) {
        const event = decodeCollectionEvent(e);
        if (event) batch.applyCollection(e, event);
      }
    }
    // Collections first: the manifests written next read their titles.
    writeCollections(db, batch);
    writeObjects(db, batch);
  },
};

// ---------------------------------------------------------------------------------------
// Serving

/** JSON string content for `text` (what goes between the quotes). */
function jsonStringContent(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * A stored document with the real base URL and institution name put in. Both are escaped
 * as JSON string content, so a strange Host header cannot break out of the JSON.
 */
export function renderStoredJson(stored: string, values: { base: string; institution: string; holder?: ManifestHolder }): string {
  return (values.holder ? withHolder(stored, values.holder) : stored)
    .split(BASE_PLACEHOLDER)
    .join(jsonStringContent(values.base))
    .split(INSTITUTION_PLACEHOLDER)
    .join(jsonStringContent(values.institution));
}

/** How a stored manifest names its holder: the institution placeholder, as buildManifest writes it. */
const STORED_PROVIDER = `"provider":${JSON.stringify(providerOf(BASE_PLACEHOLDER, INSTITUTION_PLACEHOLDER))}`;
const STORED_HELD_BY = `"requiredStatement":${JSON.stringify(heldByStatement(INSTITUTION_PLACEHOLDER))}`;

/**
 * A stored manifest naming `holder` (a registered library) instead of the institution. The
 * stored document is the same for every library, so that a library's edit or a collection
 * moving library needs no rebuild: the two members are swapped at serve time, as text when
 * they are as buildManifest writes them (always, unless a later builder orders them
 * otherwise: then through a parse).
 */
function withHolder(stored: string, holder: ManifestHolder): string {
  const provider = `"provider":${JSON.stringify(providerOf(BASE_PLACEHOLDER, holder))}`;
  const heldBy = `"requiredStatement":${JSON.stringify(heldByStatement(holder))}`;
  if (stored.includes(STORED_PROVIDER) && stored.includes(STORED_HELD_BY)) {
    return stored.replace(STORED_PROVIDER, () => provider).replace(STORED_HELD_BY, () => heldBy);
  }
  const doc = JSON.parse(stored) as Record<string, unknown>;
  if (doc.provider !== undefined) doc.provider = providerOf(BASE_PLACEHOLDER, holder);
  if (doc.requiredStatement !== undefined) doc.requiredStatement = heldByStatement(holder);
  return JSON.stringify(doc);
}

/**
 * The holder a work's manifest names: the registered record of the library holding it, or
 * undefined (the institution, as before libraries) for the home library without a record.
 */
export function manifestHolderFor(db: ReadModelDb, objectId: string, homeLibraryId: string): ManifestHolder | undefined {
  const library = getLibrary(db, holdingLibraryOf(db, homeLibraryId)(objectId));
  if (!library) return undefined;
  const logo = library.logo?.startsWith('/') ? `${BASE_PLACEHOLDER}${library.logo}` : library.logo;
  return {
    id: library.id,
    name: library.name,
    ...(library.code ? { code: library.code } : {}),
    ...(library.contact?.url ? { homepage: library.contact.url } : {}),
    ...(logo ? { logo } : {}),
  };
}

export type ManifestLookup =
  | { status: 'ok'; json: string; etag: string; revision: number; access: AccessAllowed; accessLevel: AccessLevel }
  /** Registered, allowed, but without any image yet: there is no valid manifest to give. */
  | { status: 'empty'; access: AccessAllowed }
  | { status: 'refused'; refusal: AccessRefusal; withdrawnReason?: string };

/**
 * The stored manifest (with placeholders: see renderStoredJson) as the access decision lets
 * `viewer` have `what` of the work: the manifest itself is the record (its images answer for
 * themselves); page text, OCR files and Content Search are content. An unknown work is absent.
 */
export function findManifest(db: ReadModelDb, objectId: string, viewer: Viewer, what: AccessSubject): ManifestLookup {
  let row = statement<[string], ManifestRow>(db, 'SELECT * FROM iiif_manifests WHERE object_id = ?').get(objectId);
  if (!row) return { status: 'refused', refusal: 'absent' };
  const access = decideAccess(row.access_level, row.status, viewer, what);
  if (access.outcome !== 'allow') {
    return { status: 'refused', refusal: access.outcome, ...(access.outcome === 'gone' && row.withdrawn_reason ? { withdrawnReason: row.withdrawn_reason } : {}) };
  }
  if (row.stale_pos !== null && row.canvases > 0) {
    // Its derivatives are still arriving: this reader gets the document as the log is now.
    row = buildStaleManifest(db, objectId) ?? row;
  }
  if (row.canvases === 0 || !row.manifest || !row.etag) return { status: 'empty', access };
  return { status: 'ok', json: row.manifest, etag: row.etag, revision: row.revision, access, accessLevel: row.access_level };
}

/** The page image behind each canvas of a work's manifest, in canvas order. */
export function canvasImageIds(db: ReadModelDb, objectId: string): string[] {
  const state = loadState(db, objectId);
  if (!state || state.status === 'absent') return [];
  return pageImages(state).map((p) => p.imageId);
}

// ---------------------------------------------------------------------------------------
// Collections

export const TOP = 'top';

export interface CollectionHeader {
  id: string;
  label: LanguageMap;
  summary?: LanguageMap;
  /** The enclosing collection; the top collection has none. */
  parent?: { id: string; label: LanguageMap };
}

const TOP_SUMMARY: LanguageMap = bilingual(
  `Tài liệu số hoá của ${INSTITUTION_PLACEHOLDER}`,
  `Digitised documents of ${INSTITUTION_PLACEHOLDER}`,
);

function collectionRow(db: ReadModelDb, id: string): CollectionRow | undefined {
  return statement<[string], CollectionRow>(db, 'SELECT * FROM iiif_collections WHERE collection_id = ?').get(id);
}

/**
 * Label, summary and parent of 'top' or a collection; undefined for an unknown id. A
 * collection whose parent is unknown (or itself) hangs under 'top', so none is unreachable.
 */
export function findCollectionHeader(db: ReadModelDb, id: string): CollectionHeader | undefined {
  if (id === TOP) return { id: TOP, label: TOP_COLLECTION_LABEL, summary: TOP_SUMMARY };
  const row = collectionRow(db, id);
  if (!row) return undefined;
  const state = JSON.parse(row.state) as ActiveCollection;
  const parentRow = row.parent_id && row.parent_id !== id ? collectionRow(db, row.parent_id) : undefined;
  return {
    id,
    label: textMap(row.title),
    ...(state.description ? { summary: textMap(state.description) } : {}),
    parent: parentRow ? { id: parentRow.collection_id, label: textMap(parentRow.title) } : { id: TOP, label: TOP_COLLECTION_LABEL },
  };
}

/** SQL conditions (and parameters) for the members of 'top' or of one collection. */
function memberFilters(id: string): { collections: [string, string[]]; manifests: [string, string[]] } {
  if (id === TOP) {
    return {
      collections: ['(c.parent_id IS NULL OR c.parent_id = c.collection_id OR c.parent_id NOT IN (SELECT collection_id FROM iiif_collections))', []],
      manifests: ['(m.collection_id IS NULL OR m.collection_id NOT IN (SELECT collection_id FROM iiif_collections))', []],
    };
  }
  return {
    collections: ['c.parent_id = ? AND c.collection_id <> ?', [id, id]],
    manifests: ['m.collection_id = ?', [id]],
  };
}

/**
 * Manifests listed for a viewer: active, with at least one canvas, at a level whose records
 * (a manifest is one) the viewer may have.
 */
function visibleManifests(viewer: Viewer, id: string): { where: string; params: string[] } {
  const levels = allowedLevels(viewer, 'record');
  const [members, params] = memberFilters(id).manifests;
  return {
    where: `m.status = 'active' AND m.canvases > 0 AND m.access_level IN (${levels.map(() => '?').join(', ')}) AND ${members}`,
    params: [...levels, ...params],
  };
}

function countChildCollections(db: ReadModelDb, id: string): number {
  const [where, params] = memberFilters(id).collections;
  return db.prepare<string[], { n: number }>(`SELECT COUNT(*) AS n FROM iiif_collections c WHERE ${where}`).get(...params)?.n ?? 0;
}

/** Items of 'top' or a collection as `viewer` may see them: child collections, then manifests. */
export function countCollectionItems(db: ReadModelDb, id: string, viewer: Viewer): number {
  const m = visibleManifests(viewer, id);
  const manifests = db.prepare<string[], { n: number }>(`SELECT COUNT(*) AS n FROM iiif_manifests m WHERE ${m.where}`).get(...m.params)?.n ?? 0;
  return countChildCollections(db, id) + manifests;
}

/**
 * One window of a collection's items: child collections first (in creation order), then the
 * viewer's visible manifests in registration order. Thumbnails carry BASE_PLACEHOLDER.
 */
export function listCollectionItems(db: ReadModelDb, id: string, viewer: Viewer, offset: number, limit: number): CollectionItemRef[] {
  const items: CollectionItemRef[] = [];
  const collectionCount = countChildCollections(db, id);
  if (offset < collectionCount && limit > 0) {
    const [where, params] = memberFilters(id).collections;
    const rows = db
      .prepare<Array<string | number>, { collection_id: string; title: string }>(
        `SELECT c.collection_id, c.title FROM iiif_collections c WHERE ${where} ORDER BY c.seq LIMIT ? OFFSET ?`,
      )
      .all(...params, limit, offset);
    for (const r of rows) items.push({ kind: 'Collection', id: r.collection_id, label: textMap(r.title) });
  }
  const remaining = limit - items.length;
  if (remaining <= 0) return items;
  const m = visibleManifests(viewer, id);
  const rows = db
    .prepare<Array<string | number>, { object_id: string; label: string; thumbnail: string | null; access_level: AccessLevel }>(
      `SELECT m.object_id, m.label, m.thumbnail, m.access_level FROM iiif_manifests m WHERE ${m.where} ORDER BY m.seq LIMIT ? OFFSET ?`,
    )
    .all(...m.params, remaining, Math.max(0, offset - collectionCount));
  // A thumbnail is the work's content: listed only where the viewer may see it.
  const pictured = allowedLevels(viewer, 'content');
  for (const r of rows) {
    items.push({
      kind: 'Manifest',
      id: r.object_id,
      label: JSON.parse(r.label) as LanguageMap,
      ...(r.thumbnail && pictured.includes(r.access_level) ? { thumbnail: JSON.parse(r.thumbnail) as ImageResource[] } : {}),
    });
  }
  return items;
}

export type CollectionDocument = { status: 'absent' } | { status: 'no-page'; pages: number } | { status: 'ok'; json: string };

/**
 * A collection as `viewer` may see it, as a Presentation 3 document with the base
 * placeholder (see renderStoredJson): the whole collection, the list of its pages when it is
 * large, or one page.
 */
export function collectionDocument(db: ReadModelDb, id: string, viewer: Viewer, page?: number, pageSize = DEFAULT_PAGE_SIZE): CollectionDocument {
  const header = findCollectionHeader(db, id);
  if (!header) return { status: 'absent' };
  const total = countCollectionItems(db, id, viewer);
  if (page !== undefined && (page > pageCount(total, pageSize) || (page > 1 && !isPaged(total, pageSize)))) {
    return { status: 'no-page', pages: pageCount(total, pageSize) };
  }
  const window = pageWindow(total, page, pageSize);
  const doc = buildCollectionDocument({
    base: BASE_PLACEHOLDER,
    id,
    label: header.label,
    ...(header.summary ? { summary: header.summary } : {}),
    ...(header.parent ? { parent: header.parent } : {}),
    total,
    items: window.limit > 0 ? listCollectionItems(db, id, viewer, window.offset, window.limit) : [],
    pageSize,
    ...(page !== undefined ? { page } : {}),
  });
  return { status: 'ok', json: JSON.stringify(doc) };
}

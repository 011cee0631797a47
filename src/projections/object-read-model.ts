import { type AccessAllowed, type AccessDecision, type AccessRefusal, type AccessSubject, decideAccess, type ListScope, listScope } from '../domain/access-decision.ts';
import { holdingLibrary, scopedLibrary } from '../domain/access-policy.ts';
import type { Viewer } from '../domain/access-policy.ts';
import { evolveCollection, type CollectionState } from '../domain/collection.ts';
import { DEFAULT_LIBRARY_ID, evolveLibrary, type LibraryFields, type LibraryState } from '../domain/library.ts';
export type { LibraryName } from '../domain/library.ts';
import type { AccessLevel, Metadata } from '../domain/metadata.ts';
import type { ObjectState, StoredFile } from '../domain/object.ts';
import { parsePageImageId } from '../domain/page-image.ts';
import type { Projection } from './projection.ts';
import { type ReadModelDb, statement } from './read-model-db.ts';
import { LIBRARY_EVENT_TYPES, WORK_EVENT_TYPES } from '../domain/events.ts';
import { COLLECTION_EVENT_TYPES, decodeCollectionEvent, decodeLibraryEvent, WORK_STREAM_PREFIXES, workStream } from './decode.ts';
import { applyWorkEvent, mayChangeWork } from './work-fold.ts';
import { foldVietnamese } from '../domain/vietnamese-fold.ts';
import { addressOf, readingPages } from '../domain/page-structure.ts';
import type { StructureRange } from '../domain/page-structure.ts';

/** What the staff list's `q` matches: titles and identifier, folded. */
function searchText(m: Metadata): string {
  return foldVietnamese([m.title, ...(m.alternativeTitle ?? []), m.identifier ?? ''].join('\n'));
}

/**
 * The object read model: current metadata, files in order, revision and access level of
 * every object and collection, folded with the same `evolve` functions the domain uses,
 * so that the read model can never disagree with what a command would see.
 */

interface ObjectRow {
  id: string;
  revision: number;
  seq: number;
  status: string;
  access_level: AccessLevel;
  /** The holding library (null: the home library). */
  library_id: string | null;
  page_count: number;
  has_ocr: number;
  state: string;
  created_at: string;
  updated_at: string;
}

interface CollectionRow {
  id: string;
  revision: number;
  state: string;
  /** The library holding its works (its own, else its parent's); NULL: the home library. */
  library_id: string | null;
  created_at: string;
  updated_at: string;
}

interface LibraryRow {
  id: string;
  revision: number;
  state: string;
  created_at: string;
  updated_at: string;
}

type Loaded<S> = { state: S; revision: number; seq: number; createdAt: string; updatedAt: string; filesChanged: boolean };

/** The records of a batch folded by foldRecord, written back (absent ones never had a row). */
function writeRecords<S extends { status: string }>(db: ReadModelDb, table: 'libraries' | 'collections', batch: Map<string, Loaded<S>>): void {
  const upsert = db.prepare(
    `INSERT INTO ${table} (id, revision, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, state = excluded.state, updated_at = excluded.updated_at`,
  );
  for (const [id, cur] of batch) {
    if (cur.state.status === 'absent') continue;
    upsert.run(id, cur.revision, JSON.stringify(cur.state), cur.createdAt, cur.updatedAt);
  }
}

/**
 * One event of a record kept whole as JSON (a collection, a library): its state is read from
 * its row the first time a batch meets it, and an event at or below the revision held is skipped.
 */
function foldRecord<S>(
  batch: Map<string, Loaded<S | { status: 'absent' }>>,
  id: string,
  getRow: { get(id: string): { state: string; revision: number; created_at: string; updated_at: string } | undefined },
  revision: number,
  at: string,
  evolve: (state: S | { status: 'absent' }) => S | { status: 'absent' },
): void {
  let cur = batch.get(id);
  if (!cur) {
    const row = getRow.get(id);
    cur = row
      ? { state: JSON.parse(row.state) as S, revision: row.revision, seq: 0, createdAt: row.created_at, updatedAt: row.updated_at, filesChanged: false }
      : { state: { status: 'absent' }, revision: -1, seq: 0, createdAt: at, updatedAt: at, filesChanged: false };
    batch.set(id, cur);
  }
  if (revision <= cur.revision) return;
  cur.state = evolve(cur.state);
  cur.revision = revision;
  cur.updatedAt = at;
}

export const objectReadModel: Projection = {
  name: 'objects',
  // 4: the revision counts every event of the object stream (machine facts that older logs
  // keep there included), and derivatives come from the preservation stream. (file_pages needs
  // no rebuild: no log before it has a derivative of a later page.)
  // 5: page count, OCR and folded title/identifier columns for the staff list's filters.
  // 6: libraries; the holding library of collections and works (objects.library_id).
  version: 6,
  filter: {
    streamPrefixes: [...WORK_STREAM_PREFIXES, 'collection-', 'library-'],
    eventTypes: [...WORK_EVENT_TYPES, ...COLLECTION_EVENT_TYPES, ...LIBRARY_EVENT_TYPES],
  },

  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        id           TEXT PRIMARY KEY,
        revision     INTEGER NOT NULL,
        seq          INTEGER NOT NULL,
        status       TEXT NOT NULL,
        access_level TEXT NOT NULL,
        collection_id TEXT,
        -- The holding library: its collection's (see collections.library_id); NULL is the home
        -- library (THUKHO_LIBRARY_ID), so that renaming the home id needs no rebuild.
        library_id   TEXT,
        title        TEXT NOT NULL,
        -- Title, other titles and identifier folded (see foldVietnamese), for the staff list's search.
        search_text  TEXT NOT NULL DEFAULT '',
        page_count   INTEGER NOT NULL DEFAULT 0,
        -- 1 once any page has an OCR reading (OcrCompleted, on either stream).
        has_ocr      INTEGER NOT NULL DEFAULT 0,
        state        TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL
      );
      -- Every list (staff list, API, collection pages) is newest first with filters on these
      -- columns: one index in that order carrying all of them, so that a page reads the index
      -- until it has its rows and fetches only those rows (each carries the whole state, some
      -- 20 KB for a 20-page work), and a count reads the index alone. Narrower indexes on one
      -- filter (as before) led SQLite to read and sort every matching row for one page.
      DROP INDEX IF EXISTS objects_by_seq;
      DROP INDEX IF EXISTS objects_by_collection;
      DROP INDEX IF EXISTS objects_by_access;
      DROP INDEX IF EXISTS objects_by_ocr;
      CREATE INDEX IF NOT EXISTS objects_listing ON objects (seq, status, access_level, collection_id, has_ocr, search_text, id);
      -- A collection moving to another library moves its works: found by collection.
      CREATE INDEX IF NOT EXISTS objects_by_collection_library ON objects (collection_id, library_id);
      -- A lookup index only (file id → object): the file's facts live once, in objects.state.
      -- File ids are minted by ingest and unique across the repository (IIIF addresses images by them).
      -- Image columns serve the Image API, which looks up a file per tile and must not parse
      -- the whole object to do it.
      CREATE TABLE IF NOT EXISTS files (
        file_id   TEXT PRIMARY KEY,
        object_id TEXT NOT NULL,
        sequence  INTEGER NOT NULL,
        sha512    TEXT NOT NULL,
        media_type TEXT NOT NULL,
        width     INTEGER,
        height    INTEGER,
        ocfl_object_id TEXT NOT NULL,
        content_path TEXT NOT NULL,
        derivative INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS files_by_object ON files (object_id, sequence);
      -- Pages 2… of multi-page masters whose derivatives exist: their size is known only from those.
      CREATE TABLE IF NOT EXISTS file_pages (
        file_id TEXT NOT NULL,
        page    INTEGER NOT NULL,
        width   INTEGER NOT NULL,
        height  INTEGER NOT NULL,
        PRIMARY KEY (file_id, page)
      );
      CREATE TABLE IF NOT EXISTS collections (
        id         TEXT PRIMARY KEY,
        revision   INTEGER NOT NULL,
        state      TEXT NOT NULL,
        -- Its own libraryId, else its parent's (recursively); NULL is the home library.
        library_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS libraries (
        id         TEXT PRIMARY KEY,
        revision   INTEGER NOT NULL,
        state      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `);
  },

  reset(db) {
    db.exec('DROP TABLE IF EXISTS file_pages; DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS objects; DROP TABLE IF EXISTS collections; DROP TABLE IF EXISTS libraries;');
  },

  apply(db, events) {
    const getObject = db.prepare<[string], ObjectRow>('SELECT * FROM objects WHERE id = ?');
    const getCollection = db.prepare<[string], CollectionRow>('SELECT * FROM collections WHERE id = ?');
    const objects = new Map<string, Loaded<ObjectState>>();
    const collections = new Map<string, Loaded<CollectionState>>();
    const getLibraryRow = db.prepare<[string], LibraryRow>('SELECT * FROM libraries WHERE id = ?');
    const libraries = new Map<string, Loaded<LibraryState>>();
    const read = new Set<string>();

    for (const e of events) {
      const at = e.metadata.occurredAt;
      const work = workStream(e);
      if (work) {
        if (e.type === 'OcrCompleted') read.add(work.objectId);
        if (!mayChangeWork(e)) continue;
        let cur = objects.get(work.objectId);
        if (!cur) {
          const row = getObject.get(work.objectId);
          cur = row
            ? { state: JSON.parse(row.state) as ObjectState, revision: row.revision, seq: row.seq, createdAt: row.created_at, updatedAt: row.updated_at, filesChanged: false }
            : { state: { status: 'absent' }, revision: -1, seq: Number(e.position), createdAt: at, updatedAt: at, filesChanged: false };
          objects.set(work.objectId, cur);
        }
        const applied = applyWorkEvent(cur, e);
        if (!applied) continue;
        if (work.stream === 'object') cur.updatedAt = at;
        const event = applied.event;
        if (event?.type === 'ObjectRegistered') {
          cur.seq = Number(e.position);
          cur.createdAt = at;
        }
        if (event?.type === 'FileIngested' || event?.type === 'FilesReordered' || event?.type === 'DerivativeCreated') cur.filesChanged = true;
      } else if (e.streamId.startsWith('collection-')) {
        const event = decodeCollectionEvent(e);
        if (!event) continue;
        foldRecord(collections, e.streamId.slice('collection-'.length), getCollection, Number(e.revision), at, (state) => evolveCollection(state, event));
      } else if (e.streamId.startsWith('library-')) {
        const event = decodeLibraryEvent(e);
        if (!event) continue;
        foldRecord(libraries, e.streamId.slice('library-'.length), getLibraryRow, Number(e.revision), at, (state) => evolveLibrary(state, event));
      }
    }

    writeRecords(db, 'libraries', libraries);
    // Collections before works: a work takes its collection's library as it stands after this batch.
    writeRecords(db, 'collections', collections);
    if (collections.size > 0) settleCollectionLibraries(db);
    const collectionLibrary = db.prepare<[string], { library_id: string | null }>('SELECT library_id FROM collections WHERE id = ?');

    const upsertObject = db.prepare(
      `INSERT INTO objects (id, revision, seq, status, access_level, collection_id, library_id, title, search_text, page_count, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, status = excluded.status,
         access_level = excluded.access_level, collection_id = excluded.collection_id, library_id = excluded.library_id, title = excluded.title,
         search_text = excluded.search_text, page_count = excluded.page_count,
         state = excluded.state, updated_at = excluded.updated_at`,
    );
    const deleteFiles = db.prepare('DELETE FROM files WHERE object_id = ?');
    const deletePages = db.prepare('DELETE FROM file_pages WHERE file_id IN (SELECT file_id FROM files WHERE object_id = ?)');
    const insertPage = db.prepare('INSERT OR REPLACE INTO file_pages (file_id, page, width, height) VALUES (?, ?, ?, ?)');
    const insertFile = db.prepare(
      `INSERT OR REPLACE INTO files (file_id, object_id, sequence, sha512, media_type, width, height, ocfl_object_id, content_path, derivative)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const [id, cur] of objects) {
      const s = cur.state;
      if (s.status === 'absent') continue;
      const collectionId = s.metadata.collectionId ?? null;
      upsertObject.run(
        id, cur.revision, cur.seq, s.status, s.accessLevel, collectionId,
        collectionId === null ? null : (collectionLibrary.get(collectionId)?.library_id ?? null), s.metadata.title,
        searchText(s.metadata), readingPages(s.files).length, JSON.stringify(s), cur.createdAt, cur.updatedAt,
      );
      if (cur.filesChanged) {
        deletePages.run(id);
        deleteFiles.run(id);
        for (const f of s.files) {
          // A PDF's page 1 has a size once it is drawn: its derivative's.
          const size = f.image ?? (f.pdf ? f.derivative : undefined);
          insertFile.run(f.fileId, id, f.sequence, f.digests.sha512, f.mediaType, size?.width ?? null, size?.height ?? null, f.storage.ocflObjectId, f.storage.path, f.derivative ? 1 : 0);
          for (const p of f.laterPages ?? []) if (p.derivative) insertPage.run(f.fileId, p.page, p.derivative.width, p.derivative.height);
        }
      }
    }
    // The object stream comes first in the log, so the row exists by the time its OCR does.
    const markRead = db.prepare('UPDATE objects SET has_ocr = 1 WHERE id = ? AND has_ocr = 0');
    for (const id of read) markRead.run(id);
  },
};

/**
 * Each collection's holding library (its own libraryId, else its parent's, up the tree) and
 * its works' with it, wherever one changed. Collections are few (hundreds), so the whole tree
 * is read again whenever a batch touches any: simpler than following edits down subtrees, and
 * a parent created after its child is handled the same way.
 */
function settleCollectionLibraries(db: ReadModelDb): void {
  const rows = db.prepare<[], { id: string; state: string; library_id: string | null }>('SELECT id, state, library_id FROM collections').all();
  const byId = new Map(rows.map((r) => [r.id, { row: r, state: JSON.parse(r.state) as CollectionState }]));
  const resolved = new Map<string, string | null>();
  const resolve = (id: string, depth: number): string | null => {
    const known = resolved.get(id);
    if (known !== undefined) return known;
    const c = byId.get(id);
    // A parent that is not (yet) in the log, or a loop no command can make: the home library.
    if (!c || c.state.status !== 'active' || depth > 64) return null;
    const library = c.state.libraryId ?? (c.state.parentId ? resolve(c.state.parentId, depth + 1) : null);
    resolved.set(id, library);
    return library;
  };
  const setCollection = db.prepare('UPDATE collections SET library_id = ? WHERE id = ?');
  const moveWorks = db.prepare('UPDATE objects SET library_id = ? WHERE collection_id = ? AND library_id IS NOT ?');
  for (const [id, c] of byId) {
    const library = resolve(id, 0);
    if (library === c.row.library_id) continue;
    setCollection.run(library, id);
    moveWorks.run(library, id, library);
  }
}

/** An object as the API shows it: metadata flattened beside id, revision and files. */
export interface ObjectView extends Metadata {
  id: string;
  revision: number;
  status: 'active' | 'withdrawn';
  accessLevel: AccessLevel;
  files: StoredFile[];
  withdrawnReason?: string;
  /** Every page in reading order with its label ('' when it has none and shows its number). */
  pages: PageView[];
  pageCount: number;
  /** Whether any page has an OCR reading. */
  hasOcr: boolean;
  /** The table of contents. */
  structure: StructureRange[];
  createdAt: string;
  updatedAt: string;
}

export interface PageView {
  fileId: string;
  /** The page of a multi-page master; absent for page 1. */
  page?: number;
  /** The page's IIIF image id (and canvas name). */
  imageId: string;
  label: string;
}

function toView(row: ObjectRow): ObjectView {
  const state = JSON.parse(row.state) as Exclude<ObjectState, { status: 'absent' }>;
  const pages = readingPages(state.files).map((p) => ({ ...addressOf(p), imageId: p.imageId, label: state.pageLabels?.[p.imageId] ?? '' }));
  return {
    id: row.id,
    revision: row.revision,
    ...state.metadata,
    status: state.status,
    accessLevel: state.accessLevel,
    files: state.files,
    ...(state.withdrawnReason ? { withdrawnReason: state.withdrawnReason } : {}),
    pages,
    pageCount: pages.length,
    hasOcr: row.has_ocr === 1,
    structure: state.structure ?? [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type ObjectLookup =
  | { found: true; object: ObjectView; access: AccessAllowed }
  /** `withdrawnReason` with `gone`: what the library said when it withdrew the work. */
  | { found: false; objectId: string; refusal: AccessRefusal; withdrawnReason?: string };

/** One object's record or content, as the access decision lets `viewer` have it; an unknown id is `absent`. */
export function findObject(db: ReadModelDb, id: string, viewer: Viewer, what: AccessSubject): ObjectLookup {
  const row = statement<[string], ObjectRow>(db, 'SELECT * FROM objects WHERE id = ?').get(id);
  if (!row) return { found: false, objectId: id, refusal: 'absent' };
  const view = toView(row);
  const access = decideAccess(view.accessLevel, view.status, viewer, what, holdingLibrary(viewer, row.library_id));
  if (access.outcome !== 'allow') {
    return { found: false, objectId: id, refusal: access.outcome, ...(access.outcome === 'gone' && view.withdrawnReason ? { withdrawnReason: view.withdrawnReason } : {}) };
  }
  return { found: true, object: view, access };
}

export interface ListQuery {
  viewer: Viewer;
  collectionId?: string;
  /** Works held by library `id`; `home` is the home library (THUKHO_LIBRARY_ID), whose works have no library in their rows. */
  library?: { id: string; home: string };
  /** Withdrawn works too, for a viewer the access decision lets see them. */
  includeWithdrawn?: boolean;
  limit: number;
  /** Objects registered before this sequence number (from the previous page's `next`). */
  before?: number;
  /** Skip this many (numbered pages of a listing; the API's cursor is `before`). */
  offset?: number;
  /** Folded text that the title, another title or the identifier contains. */
  q?: string;
  /** Which works by status; `all` and `withdrawn` only for a viewer who sees withdrawn works. Overrides includeWithdrawn. */
  status?: 'active' | 'withdrawn' | 'all';
  accessLevel?: AccessLevel;
  hasOcr?: boolean;
  /** Works whose fixity state (see FIXITY_STATES) is this one; needs `fixityAt`. */
  fixity?: FixityState;
  /** The clock and cycle the fixity state is judged by (overdue = not verified within a cycle). */
  fixityAt?: { nowMs: number; cycleMs: number };
}

/** A work's fixity in one word: the worst of its stored copies', worst first. */
export const FIXITY_STATES = ['damaged', 'failed', 'repaired', 'overdue', 'unchecked', 'passed'] as const;
export type FixityState = (typeof FIXITY_STATES)[number];

/**
 * The rank (index in FIXITY_STATES) of a work's fixity state, from the fixity read model's
 * summary of its copies (fixity_work_states, one row per work, by primary key); the first `?`
 * is the overdue threshold (ms). A work with no copies yet is unchecked.
 */
const FIXITY_RANK_SQL = `COALESCE((SELECT CASE WHEN w.worst <= 2 THEN w.worst WHEN w.oldest_ms < ? THEN 3 ELSE w.worst END
  FROM fixity_work_states w WHERE w.object_id = objects.id), 4)`;

/**
 * The works in one fixity state as `id IN (…)` / `id NOT IN (…)` over the summary's index on
 * (worst, oldest_ms): the set is read once per query, not once per listed work.
 */
function fixityCondition(state: FixityState, overdueBeforeMs: number): { sql: string; params: unknown[] } {
  switch (state) {
    case 'damaged':
    case 'failed':
    case 'repaired':
      return { sql: 'id IN (SELECT object_id FROM fixity_work_states WHERE worst = ?)', params: [FIXITY_STATES.indexOf(state)] };
    case 'overdue':
      return { sql: 'id IN (SELECT object_id FROM fixity_work_states WHERE worst > 2 AND oldest_ms < ?)', params: [overdueBeforeMs] };
    case 'passed':
      return { sql: 'id IN (SELECT object_id FROM fixity_work_states WHERE worst = 5 AND oldest_ms >= ?)', params: [overdueBeforeMs] };
    case 'unchecked':
      // Works without a row (no copy recorded yet) are unchecked too.
      return { sql: 'id NOT IN (SELECT object_id FROM fixity_work_states WHERE worst <> 4 OR oldest_ms < ?)', params: [overdueBeforeMs] };
  }
}

function hasTable(db: ReadModelDb, name: string): boolean {
  return statement<[string], { n: number }>(db, "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)?.n === 1;
}

/** The fixity state of each listed work (one indexed lookup per work). */
export function fixityStates(db: ReadModelDb, ids: readonly string[], at: { nowMs: number; cycleMs: number }): Map<string, FixityState> {
  const out = new Map<string, FixityState>();
  if (!hasTable(db, 'fixity_work_states')) {
    for (const id of ids) out.set(id, 'unchecked');
    return out;
  }
  const stmt = statement<[number, string], { rank: number }>(db, `SELECT ${FIXITY_RANK_SQL} AS rank FROM objects WHERE id = ?`);
  for (const id of ids) out.set(id, FIXITY_STATES[stmt.get(at.nowMs - at.cycleMs, id)?.rank ?? 4] ?? 'unchecked');
  return out;
}

/**
 * The SQL condition on `objects` for what a list may show (see listScope): one query, with a
 * library's staff seeing their own library's works as staff and every other one as a reader.
 * `status`: which works by status were asked for.
 */
export function scopeCondition(scope: ListScope, status: 'active' | 'withdrawn' | 'all', home: string | undefined, table = ''): { sql: string; params: unknown[] } {
  const part = (levels: readonly string[], withdrawn: boolean) => {
    const conditions = [`${table}access_level IN (${levels.map(() => '?').join(', ') || 'NULL'})`];
    if (status === 'active' || !withdrawn) conditions.push(`${table}status = 'active'`);
    else if (status === 'withdrawn') conditions.push(`${table}status = 'withdrawn'`);
    return { sql: conditions.join(' AND '), params: [...levels] };
  };
  const elsewhere = part(scope.levels, scope.withdrawn);
  if (!scope.own) return elsewhere;
  const own = part(scope.own.levels, scope.own.withdrawn);
  const held = heldByLibrarySql(scope.own.library, home, `${table}library_id`);
  return { sql: `((${held.sql} AND ${own.sql}) OR (${elsewhere.sql}))`, params: [...held.params, ...own.params, ...elsewhere.params] };
}

/**
 * The access decision for a work already read (a list's row, a view): its holding library is
 * looked up only for a library's staff, for whom it changes the answer.
 */
export function decideWorkAccess(db: ReadModelDb, work: { id: string; accessLevel: AccessLevel; status: 'active' | 'withdrawn' }, viewer: Viewer, what: AccessSubject): AccessDecision {
  const library = scopedLibrary(viewer) === undefined ? null : (statement<[string], { library_id: string | null }>(db, 'SELECT library_id FROM objects WHERE id = ?').get(work.id)?.library_id ?? null);
  return decideAccess(work.accessLevel, work.status, viewer, what, holdingLibrary(viewer, library));
}

/** A work's level and holding library as the row names it (null: home), for scoping a change to it; undefined: no such work. */
export function workScope(db: ReadModelDb, id: string): { accessLevel: AccessLevel; libraryId: string | null } | undefined {
  const row = statement<[string], { access_level: AccessLevel; library_id: string | null }>(db, 'SELECT access_level, library_id FROM objects WHERE id = ?').get(id);
  return row ? { accessLevel: row.access_level, libraryId: row.library_id } : undefined;
}

/** A collection's holding library as its row names it (null: home); undefined: no such collection. */
export function collectionScope(db: ReadModelDb, id: string): { libraryId: string | null } | undefined {
  const row = statement<[string], { library_id: string | null }>(db, 'SELECT library_id FROM collections WHERE id = ?').get(id);
  return row ? { libraryId: row.library_id } : undefined;
}

export function listObjects(db: ReadModelDb, q: ListQuery): { items: ObjectView[]; total: number; next: number | null } {
  // Records: a list shows what a viewer may find, not only what they may open.
  const status = q.status ?? (q.includeWithdrawn ? 'all' : 'active');
  const visible = scopeCondition(listScope(q.viewer, 'record'), status, q.viewer.homeLibrary);
  const where = [visible.sql];
  const params: unknown[] = [...visible.params];
  if (q.collectionId) {
    where.push('collection_id = ?');
    params.push(q.collectionId);
  }
  if (q.library) {
    const held = heldByLibrarySql(q.library.id, q.library.home);
    where.push(held.sql);
    params.push(...held.params);
  }
  if (q.accessLevel) {
    where.push('access_level = ?');
    params.push(q.accessLevel);
  }
  if (q.hasOcr !== undefined) {
    where.push('has_ocr = ?');
    params.push(q.hasOcr ? 1 : 0);
  }
  const text = q.q ? foldVietnamese(q.q.trim()) : '';
  if (text) {
    // instr, not LIKE: no wildcard in what a person typed means anything but itself.
    where.push('instr(search_text, ?) > 0');
    params.push(text);
  }
  if (q.fixity && q.fixityAt) {
    if (!hasTable(db, 'fixity_work_states')) {
      if (q.fixity !== 'unchecked') where.push('0');
    } else {
      const condition = fixityCondition(q.fixity, q.fixityAt.nowMs - q.fixityAt.cycleMs);
      where.push(condition.sql);
      params.push(...condition.params);
    }
  }
  // The filters make a handful of distinct texts: each prepared once (see statement).
  const total = statement<unknown[], { n: number }>(db, `SELECT COUNT(*) AS n FROM objects WHERE ${where.join(' AND ')}`).get(...params)?.n ?? 0;
  if (q.before !== undefined) {
    where.push('seq < ?');
    params.push(q.before);
  }
  const rows = statement<unknown[], ObjectRow>(db, `SELECT * FROM objects WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ? OFFSET ?`).all(...params, q.limit + 1, q.offset ?? 0);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { items: page.map(toView), total, next: rows.length > q.limit && last ? last.seq : null };
}

export interface CollectionView {
  id: string;
  revision: number;
  title: string;
  description?: string;
  parentId?: string;
  /** The library set on this collection itself; absent: its parent's, else the home library. */
  libraryId?: string;
  createdAt: string;
  updatedAt: string;
}

function toCollectionView(row: CollectionRow): CollectionView {
  const s = JSON.parse(row.state) as Extract<CollectionState, { status: 'active' }>;
  const { status: _status, collectionId: _cid, ...rest } = s;
  return { id: row.id, revision: row.revision, ...rest, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function findCollection(db: ReadModelDb, id: string): CollectionView | undefined {
  const row = db.prepare<[string], CollectionRow>('SELECT * FROM collections WHERE id = ?').get(id);
  return row ? toCollectionView(row) : undefined;
}

export function listCollections(db: ReadModelDb): CollectionView[] {
  return db.prepare<[], CollectionRow>('SELECT * FROM collections ORDER BY id').all().map(toCollectionView);
}

/** What the Image API needs of one file, with its object's access level and status. */
export interface ImageFile {
  /** What the Image API calls it: the file id for page 1, `<fileId>~p<n>` for page n (see page-image.ts). */
  imageId: string;
  fileId: string;
  /** Page of the master (1-based). */
  page: number;
  objectId: string;
  accessLevel: AccessLevel;
  status: 'active' | 'withdrawn';
  /** The holding library as the row names it (null: the home library's). */
  libraryId: string | null;
  sha512: string;
  mediaType: string;
  /** Absent for files that are not images (text), and for a PDF's page 1 until it is drawn. */
  width: number | null;
  height: number | null;
  ocflObjectId: string;
  contentPath: string;
  hasDerivative: boolean;
}

interface ImageFileRow {
  file_id: string;
  object_id: string;
  access_level: AccessLevel;
  status: 'active' | 'withdrawn';
  library_id: string | null;
  sha512: string;
  media_type: string;
  width: number | null;
  height: number | null;
  ocfl_object_id: string;
  content_path: string;
  derivative: number;
}

/**
 * A prepared lookup of one page image by its image id (one indexed join; called for every
 * tile). A later page is known once its derivative exists, and is served from it.
 */
export function imageFileLookup(db: ReadModelDb): (imageId: string) => ImageFile | undefined {
  const stmt = db.prepare<[string], ImageFileRow>(
    `SELECT f.file_id, f.object_id, o.access_level, o.status, o.library_id, f.sha512, f.media_type, f.width, f.height,
            f.ocfl_object_id, f.content_path, f.derivative
       FROM files f JOIN objects o ON o.id = f.object_id WHERE f.file_id = ?`,
  );
  const pageStmt = db.prepare<[string, number], { width: number; height: number }>('SELECT width, height FROM file_pages WHERE file_id = ? AND page = ?');
  return (imageId) => {
    const id = parsePageImageId(imageId);
    if (!id) return undefined;
    const r = stmt.get(id.fileId);
    if (!r) return undefined;
    const later = id.page > 1 ? pageStmt.get(id.fileId, id.page) : undefined;
    if (id.page > 1 && !later) return undefined;
    return {
      imageId,
      page: id.page,
      fileId: r.file_id,
      objectId: r.object_id,
      accessLevel: r.access_level,
      status: r.status,
      libraryId: r.library_id,
      sha512: r.sha512,
      mediaType: r.media_type,
      width: later ? later.width : r.width,
      height: later ? later.height : r.height,
      ocflObjectId: r.ocfl_object_id,
      contentPath: r.content_path,
      hasDerivative: later !== undefined || r.derivative === 1,
    };
  };
}

/** A prepared lookup of the collection a work is in now (one indexed read; called for each access event). */
export function workCollectionLookup(db: ReadModelDb): (objectId: string) => string | undefined {
  const stmt = db.prepare<[string], { collection_id: string | null }>('SELECT collection_id FROM objects WHERE id = ?');
  return (objectId) => stmt.get(objectId)?.collection_id ?? undefined;
}

/** Where each file of a work stands on its way in: what the staff see beside it. */
export interface FileStatus {
  stored: true;
  /** Access copies: made, still to make, or failed ('none' for a file that has none, e.g. a text supplement). */
  derivative: 'done' | 'pending' | 'failed' | 'none';
  /** OCR of its pages: read, queued, failed, or not done at all (OCR off, or not a page image). */
  ocr: 'done' | 'pending' | 'failed' | 'none';
  /** Replica roots holding a verified copy of it. */
  replicated: number;
  /** Replica roots configured. */
  replicas: number;
}

/**
 * Each file's status from the read models of the facts (OCR readings, the dispatcher's
 * outbox, the fixity items): one indexed lookup per page. A table a smaller deployment has
 * not set up reads as nothing known.
 */
export function fileStatuses(db: ReadModelDb, view: Pick<ObjectView, 'id' | 'files' | 'pages' | 'status'>, options: { ocr: boolean; replicas: number; ocrQueue: string }): Map<string, FileStatus> {
  const readings = hasTable(db, 'ocr_readings') ? statement<[string, string], { n: number }>(db, 'SELECT COUNT(*) AS n FROM ocr_readings WHERE object_id = ? AND image_id = ?') : undefined;
  const texts = hasTable(db, 'iiif_page_texts') ? statement<[string, string], { n: number }>(db, 'SELECT COUNT(*) AS n FROM iiif_page_texts WHERE object_id = ? AND image_id = ?') : undefined;
  const outbox = hasTable(db, 'dispatch_outbox')
    ? statement<[string, string], { state: string }>(db, 'SELECT state FROM dispatch_outbox WHERE subject = ? AND queue = ? ORDER BY created_at DESC LIMIT 1')
    : undefined;
  const copies = hasTable(db, 'fixity_items')
    ? statement<[string, string], { n: number }>(db, "SELECT COUNT(*) AS n FROM fixity_items WHERE object_id = ? AND file_id = ? AND target = 'master' AND root <> 'primary'")
    : undefined;
  const out = new Map<string, FileStatus>();
  for (const f of view.files) {
    const isPage = f.image !== undefined || f.pdf !== undefined;
    const failed = f.derivativeFailure !== undefined || (f.laterPages ?? []).some((p) => p.derivativeFailure);
    const derivative: FileStatus['derivative'] = !isPage ? 'none' : failed ? 'failed' : f.derivative ? 'done' : 'pending';
    let ocr: FileStatus['ocr'] = 'none';
    if (isPage) {
      const pageStates = view.pages
        .filter((p) => p.fileId === f.fileId)
        .map((p): FileStatus['ocr'] => {
          if ((readings?.get(view.id, p.imageId)?.n ?? 0) > 0 || (texts?.get(view.id, p.imageId)?.n ?? 0) > 0) return 'done';
          // The OCR worker passes over a withdrawn work's pages: nothing to read, nothing failed.
          if (view.status === 'withdrawn') return 'none';
          const job = outbox?.get(`${view.id}/${p.imageId}`, options.ocrQueue);
          if (job) return job.state === 'done' ? 'failed' : 'pending';
          return options.ocr && derivative !== 'failed' ? 'pending' : 'none';
        });
      ocr = pageStates.includes('failed') ? 'failed' : pageStates.includes('pending') ? 'pending' : pageStates.includes('done') ? 'done' : 'none';
    }
    out.set(f.fileId, { stored: true, derivative, ocr, replicated: copies?.get(view.id, f.fileId)?.n ?? 0, replicas: options.replicas });
  }
  return out;
}

/** A work's public page as a sitemap names it. */
export interface PublicRecordRow {
  id: string;
  seq: number;
  updatedAt: string;
}

/**
 * Active works at `levels` (what an anonymous reader may find: allowedLevels of the public),
 * oldest first: `count` of them, and a page of them from a position (`offset` to find where a
 * sitemap file starts, then `afterSeq` for the rest of it: an offset is read off the listing
 * index once per file, not once per chunk). New works come last, so the files a crawler has
 * read keep their contents. The listing index (seq, status, access_level, …) serves both.
 */
export function countPublicRecords(db: ReadModelDb, levels: readonly AccessLevel[]): number {
  if (levels.length === 0) return 0;
  return statement<unknown[], { n: number }>(db, `SELECT COUNT(*) AS n FROM objects WHERE status = 'active' AND access_level IN (${levels.map(() => '?').join(', ')})`).get(...levels)?.n ?? 0;
}

export function publicRecords(db: ReadModelDb, levels: readonly AccessLevel[], from: { offset: number } | { afterSeq: number }, limit: number): PublicRecordRow[] {
  if (levels.length === 0 || limit <= 0) return [];
  const inLevels = `access_level IN (${levels.map(() => '?').join(', ')})`;
  const rows =
    'offset' in from
      ? statement<unknown[], { id: string; seq: number; updated_at: string }>(db, `SELECT id, seq, updated_at FROM objects WHERE status = 'active' AND ${inLevels} ORDER BY seq LIMIT ? OFFSET ?`).all(...levels, limit, from.offset)
      : statement<unknown[], { id: string; seq: number; updated_at: string }>(db, `SELECT id, seq, updated_at FROM objects WHERE status = 'active' AND ${inLevels} AND seq > ? ORDER BY seq LIMIT ?`).all(...levels, from.afterSeq, limit);
  return rows.map((r) => ({ id: r.id, seq: r.seq, updatedAt: r.updated_at }));
}

/** The home library as config names it (THUKHO_LIBRARY_ID, THUKHO_INSTITUTION). */
export interface HomeLibrary {
  id: string;
  /** THUKHO_INSTITUTION: its Vietnamese name unless the library is registered with a record of its own. */
  name: string;
}

/** A library as the API, the staff and the site show it. */
export interface LibraryView extends LibraryFields {
  id: string;
  /** Stream revision (the ETag); -1 for the home library while it has no record of its own. */
  revision: number;
  /** Whether this is the home library (config THUKHO_LIBRARY_ID). */
  home: boolean;
  createdAt?: string;
  updatedAt?: string;
}

function toLibraryView(row: LibraryRow, home: HomeLibrary | undefined): LibraryView {
  const s = JSON.parse(row.state) as Extract<LibraryState, { status: 'active' }>;
  const { status: _status, libraryId: _lid, ...fields } = s;
  return { id: row.id, revision: row.revision, ...fields, home: row.id === (home?.id ?? DEFAULT_LIBRARY_ID), createdAt: row.created_at, updatedAt: row.updated_at };
}

function implicitHome(home: HomeLibrary): LibraryView {
  return { id: home.id, revision: -1, name: { vi: home.name }, home: true };
}

/**
 * One library by id. With `home`, the home library is found even unregistered (named by
 * THUKHO_INSTITUTION); a registered record of the home id takes its place.
 */
export function getLibrary(db: ReadModelDb, id: string, home?: HomeLibrary): LibraryView | undefined {
  const row = statement<[string], LibraryRow>(db, 'SELECT * FROM libraries WHERE id = ?').get(id);
  if (row) return toLibraryView(row, home);
  return home && id === home.id ? implicitHome(home) : undefined;
}

/** Every library, the home library first (with `home`, also when unregistered), then by id. */
export function listLibraries(db: ReadModelDb, home?: HomeLibrary): LibraryView[] {
  const rows = statement<[], LibraryRow>(db, 'SELECT * FROM libraries ORDER BY id').all().map((r) => toLibraryView(r, home));
  const homeId = home?.id ?? DEFAULT_LIBRARY_ID;
  const first = rows.find((l) => l.id === homeId) ?? (home ? implicitHome(home) : undefined);
  return [...(first ? [first] : []), ...rows.filter((l) => l.id !== homeId)];
}

/**
 * A prepared lookup of the library holding a work now (one indexed read): its collection's
 * library, else the home library (`home`, the config's THUKHO_LIBRARY_ID). An unknown work: home.
 */
export function holdingLibraryOf(db: ReadModelDb, home: string = DEFAULT_LIBRARY_ID): (objectId: string) => string {
  const stmt = statement<[string], { library_id: string | null }>(db, 'SELECT library_id FROM objects WHERE id = ?');
  return (objectId) => stmt.get(objectId)?.library_id ?? home;
}

/** A prepared lookup of the library holding a collection's works (its own, else up its parents, else home). */
export function collectionLibraryOf(db: ReadModelDb, home: string = DEFAULT_LIBRARY_ID): (collectionId: string) => string {
  const stmt = statement<[string], { library_id: string | null }>(db, 'SELECT library_id FROM collections WHERE id = ?');
  return (collectionId) => stmt.get(collectionId)?.library_id ?? home;
}

/**
 * The SQL condition "held by library `libraryId`" on a table with a `library_id` column
 * (objects, collections), where NULL is the home library: use this rather than
 * `library_id = ?`, which misses every home-library row.
 */
export function heldByLibrarySql(libraryId: string, home: string = DEFAULT_LIBRARY_ID, column = 'library_id'): { sql: string; params: string[] } {
  return libraryId === home ? { sql: `(${column} IS NULL OR ${column} = ?)`, params: [libraryId] } : { sql: `${column} = ?`, params: [libraryId] };
}

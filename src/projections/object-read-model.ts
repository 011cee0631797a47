import { type AccessAllowed, type AccessRefusal, type AccessSubject, allowedLevels, decideAccess, seesWithdrawn } from '../domain/access-decision.ts';
import type { Viewer } from '../domain/access-policy.ts';
import { evolveCollection, type CollectionState } from '../domain/collection.ts';
import type { AccessLevel, Metadata } from '../domain/metadata.ts';
import type { ObjectState, StoredFile } from '../domain/object.ts';
import { parsePageImageId } from '../domain/page-image.ts';
import type { Projection } from './projection.ts';
import { type ReadModelDb, statement } from './read-model-db.ts';
import { WORK_EVENT_TYPES } from '../domain/events.ts';
import { COLLECTION_EVENT_TYPES, decodeCollectionEvent, WORK_STREAM_PREFIXES, workStream } from './decode.ts';
import { applyWorkEvent, mayChangeWork } from './work-fold.ts';

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
  state: string;
  created_at: string;
  updated_at: string;
}

interface CollectionRow {
  id: string;
  revision: number;
  state: string;
  created_at: string;
  updated_at: string;
}

type Loaded<S> = { state: S; revision: number; seq: number; createdAt: string; updatedAt: string; filesChanged: boolean };

export const objectReadModel: Projection = {
  name: 'objects',
  // 4: the revision counts every event of the object stream (machine facts that older logs
  // keep there included), and derivatives come from the preservation stream. (file_pages needs
  // no rebuild: no log before it has a derivative of a later page.)
  version: 4,
  filter: { streamPrefixes: [...WORK_STREAM_PREFIXES, 'collection-'], eventTypes: [...WORK_EVENT_TYPES, ...COLLECTION_EVENT_TYPES] },

  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS objects (
        id           TEXT PRIMARY KEY,
        revision     INTEGER NOT NULL,
        seq          INTEGER NOT NULL,
        status       TEXT NOT NULL,
        access_level TEXT NOT NULL,
        collection_id TEXT,
        title        TEXT NOT NULL,
        state        TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS objects_by_seq ON objects (seq);
      CREATE INDEX IF NOT EXISTS objects_by_collection ON objects (collection_id, seq);
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
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `);
  },

  reset(db) {
    db.exec('DROP TABLE IF EXISTS file_pages; DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS objects; DROP TABLE IF EXISTS collections;');
  },

  apply(db, events) {
    const getObject = db.prepare<[string], ObjectRow>('SELECT * FROM objects WHERE id = ?');
    const getCollection = db.prepare<[string], CollectionRow>('SELECT * FROM collections WHERE id = ?');
    const objects = new Map<string, Loaded<ObjectState>>();
    const collections = new Map<string, Loaded<CollectionState>>();

    for (const e of events) {
      const at = e.metadata.occurredAt;
      const work = workStream(e);
      if (work) {
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
        const id = e.streamId.slice('collection-'.length);
        let cur = collections.get(id);
        if (!cur) {
          const row = getCollection.get(id);
          cur = row
            ? { state: JSON.parse(row.state) as CollectionState, revision: row.revision, seq: 0, createdAt: row.created_at, updatedAt: row.updated_at, filesChanged: false }
            : { state: { status: 'absent' }, revision: -1, seq: 0, createdAt: at, updatedAt: at, filesChanged: false };
          collections.set(id, cur);
        }
        if (Number(e.revision) <= cur.revision) continue;
        cur.state = evolveCollection(cur.state, event);
        cur.revision = Number(e.revision);
        cur.updatedAt = at;
      }
    }

    const upsertObject = db.prepare(
      `INSERT INTO objects (id, revision, seq, status, access_level, collection_id, title, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, status = excluded.status,
         access_level = excluded.access_level, collection_id = excluded.collection_id, title = excluded.title,
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
      upsertObject.run(id, cur.revision, cur.seq, s.status, s.accessLevel, s.metadata.collectionId ?? null, s.metadata.title, JSON.stringify(s), cur.createdAt, cur.updatedAt);
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
    const upsertCollection = db.prepare(
      `INSERT INTO collections (id, revision, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, state = excluded.state, updated_at = excluded.updated_at`,
    );
    for (const [id, cur] of collections) {
      if (cur.state.status === 'absent') continue;
      upsertCollection.run(id, cur.revision, JSON.stringify(cur.state), cur.createdAt, cur.updatedAt);
    }
  },
};

/** An object as the API shows it: metadata flattened beside id, revision and files. */
export interface ObjectView extends Metadata {
  id: string;
  revision: number;
  status: 'active' | 'withdrawn';
  accessLevel: AccessLevel;
  files: StoredFile[];
  withdrawnReason?: string;
  createdAt: string;
  updatedAt: string;
}

function toView(row: ObjectRow): ObjectView {
  const state = JSON.parse(row.state) as Exclude<ObjectState, { status: 'absent' }>;
  return {
    id: row.id,
    revision: row.revision,
    ...state.metadata,
    status: state.status,
    accessLevel: state.accessLevel,
    files: state.files,
    ...(state.withdrawnReason ? { withdrawnReason: state.withdrawnReason } : {}),
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
  const access = decideAccess(view.accessLevel, view.status, viewer, what);
  if (access.outcome !== 'allow') {
    return { found: false, objectId: id, refusal: access.outcome, ...(access.outcome === 'gone' && view.withdrawnReason ? { withdrawnReason: view.withdrawnReason } : {}) };
  }
  return { found: true, object: view, access };
}

export interface ListQuery {
  viewer: Viewer;
  collectionId?: string;
  /** Withdrawn works too, for a viewer the access decision lets see them. */
  includeWithdrawn?: boolean;
  limit: number;
  /** Objects registered before this sequence number (from the previous page's `next`). */
  before?: number;
  /** Skip this many (numbered pages of a listing; the API's cursor is `before`). */
  offset?: number;
}

export function listObjects(db: ReadModelDb, q: ListQuery): { items: ObjectView[]; total: number; next: number | null } {
  // Records: a list shows what a viewer may find, not only what they may open.
  const levels = allowedLevels(q.viewer, 'record');
  const where = [`access_level IN (${levels.map(() => '?').join(', ')})`];
  const params: unknown[] = [...levels];
  if (!(q.includeWithdrawn && seesWithdrawn(q.viewer))) where.push("status = 'active'");
  if (q.collectionId) {
    where.push('collection_id = ?');
    params.push(q.collectionId);
  }
  const total = (db.prepare(`SELECT COUNT(*) AS n FROM objects WHERE ${where.join(' AND ')}`).get(...params) as { n: number }).n;
  if (q.before !== undefined) {
    where.push('seq < ?');
    params.push(q.before);
  }
  const rows = db
    .prepare<unknown[], ObjectRow>(`SELECT * FROM objects WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ? OFFSET ?`)
    .all(...params, q.limit + 1, q.offset ?? 0);
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
    `SELECT f.file_id, f.object_id, o.access_level, o.status, f.sha512, f.media_type, f.width, f.height,
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

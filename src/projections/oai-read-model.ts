import { ANOTHER_LIBRARY, decideAccess, isAllowed, type AccessSubject } from '../domain/access-decision.ts';
import type { Viewer } from '../domain/access-policy.ts';
import { evolveCollection, type CollectionState } from '../domain/collection.ts';
import type { ObjectHistoryEvent } from '../domain/events.ts';
import type { AccessLevel, Metadata } from '../domain/metadata.ts';
import { evolveObject, type ObjectState } from '../domain/object.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { COLLECTION_EVENT_TYPES, decodeCollectionEvent, decodeWorkEvent } from './decode.ts';
import type { Projection } from './projection.ts';
import { type LibraryMap, libraryCollections, libraryOfCollection } from '../search/port.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * The OAI-PMH read model: one row per work that was ever registered, and what a harvester
 * sees of it.
 *
 * - `seq` is the stable order of a harvest: the log position of the event that first made the
 *   work visible to OAI (never reused, never changed, so a work that appears during a harvest
 *   sorts after every cursor already handed out). NULL while a work has never been visible:
 *   such a work never appears, not even as deleted.
 * - `visible`: visible now under the configured policy (see `oaiVisible`). A row with a `seq`
 *   that is not visible is a deleted record (withdrawn, or made confidential/hidden after it was
 *   harvestable): harvesters must drop it, and it stays deleted (deletedRecord: persistent).
 * - `datestamp` (UTC, seconds): the last change of what is harvested (metadata edit, access
 *   change, withdrawal, moving to another collection), or the moment it became deleted.
 *   Changes while a work is hidden leave it alone.
 * - `set_spec`: the work's collection while visible; kept as it was when the work became deleted.
 * - Each library is a set too, `library:<id>`: its works are those of its collections (see
 *   libraryMap), read at request time, so a header names the library the work is in now. A
 *   collection moved to another library changes the set of its works: their datestamps move
 *   (and those of its sub-collections, which follow it), so an incremental harvest of either
 *   library's set sees them arrive or leave.
 *
 * Only the four events that change a work's record are read; a work is folded with the
 * domain's evolveObject over those (its files never matter here).
 */
export type OaiRestrictedPolicy = 'hidden' | 'metadata';

const ANONYMOUS: Viewer = { role: 'public' };

/** Whether a work at this level and status is harvestable: the one access decision, asked for an anonymous visitor. */
export function oaiVisible(level: AccessLevel, status: 'active' | 'withdrawn', policy: OaiRestrictedPolicy): boolean {
  // `hidden`: what anyone may open; `metadata`: what anyone may find (a restricted work's record).
  const what: AccessSubject = policy === 'metadata' ? 'record' : 'content';
  return isAllowed(decideAccess(level, status, ANONYMOUS, what, ANOTHER_LIBRARY));
}

const RECORD_EVENT_TYPES = ['ObjectRegistered', 'MetadataEdited', 'AccessPolicyChanged', 'ObjectWithdrawn'] as const;

/** An event time as an OAI datestamp: UTC, seconds. */
export function toDatestamp(iso: string): string {
  return new Date(iso).toISOString().slice(0, 19) + 'Z';
}

/**
 * A change is stamped when it happened, or when this read model learnt of it if that was later
 * (an event stamped before its commit and applied after a harvester's responseDate must not
 * fall before it: the harvester's next `from` would miss it). Only for live events: a rebuild
 * of old history keeps the times the events carry.
 */
const LIVE_WINDOW_MS = 5 * 60_000;
function changeStamp(occurredAt: string, now: number): string {
  const t = Date.parse(occurredAt);
  return toDatestamp(new Date(now > t && now - t < LIVE_WINDOW_MS ? now : t).toISOString());
}

interface OaiRow {
  object_id: string;
  revision: number;
  seq: number | null;
  visible: number;
  status: 'active' | 'withdrawn';
  access_level: AccessLevel;
  set_spec: string | null;
  datestamp: string;
  metadata: string;
}

export function oaiReadModel(options: { restricted: OaiRestrictedPolicy }): Projection {
  const policy = options.restricted;
  return {
    name: 'oai',
    // Odd with the `metadata` policy: changing THUKHO_OAI_RESTRICTED changes the version and so
    // rebuilds the table under the new rule (which works were ever visible depends on it).
    // 4: oai_sets.parent_id (a library move reaches sub-collections).
    version: 4 + (policy === 'metadata' ? 1 : 0),
    filter: { streamPrefixes: ['object-', 'collection-'], eventTypes: [...RECORD_EVENT_TYPES, ...COLLECTION_EVENT_TYPES] },

    setup(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS oai_records (
          object_id    TEXT PRIMARY KEY,
          revision     INTEGER NOT NULL,
          seq          INTEGER UNIQUE,
          visible      INTEGER NOT NULL,
          status       TEXT NOT NULL,
          access_level TEXT NOT NULL,
          set_spec     TEXT,
          datestamp    TEXT NOT NULL,
          metadata     TEXT NOT NULL
        );
        -- A harvest page: rows after the cursor in seq order, optionally of one set.
        CREATE INDEX IF NOT EXISTS oai_records_by_seq ON oai_records (seq) WHERE seq IS NOT NULL;
        CREATE INDEX IF NOT EXISTS oai_records_by_set ON oai_records (set_spec, seq) WHERE seq IS NOT NULL;
        CREATE TABLE IF NOT EXISTS oai_sets (
          set_spec  TEXT PRIMARY KEY,
          revision  INTEGER NOT NULL,
          title     TEXT NOT NULL,
          parent_id TEXT
        );
      `);
    },

    reset(db) {
      db.exec('DROP TABLE IF EXISTS oai_records; DROP TABLE IF EXISTS oai_sets;');
    },

    apply(db, events) {
      const now = Date.now();
      const get = db.prepare<[string], OaiRow>('SELECT * FROM oai_records WHERE object_id = ?');
      const upsert = db.prepare(
        `INSERT INTO oai_records (object_id, revision, seq, visible, status, access_level, set_spec, datestamp, metadata)
         VALUES (@object_id, @revision, @seq, @visible, @status, @access_level, @set_spec, @datestamp, @metadata)
         ON CONFLICT (object_id) DO UPDATE SET revision = excluded.revision, seq = excluded.seq, visible = excluded.visible,
           status = excluded.status, access_level = excluded.access_level, set_spec = excluded.set_spec,
           datestamp = excluded.datestamp, metadata = excluded.metadata`,
      );
      const getSet = db.prepare<[string], { revision: number; title: string }>('SELECT revision, title FROM oai_sets WHERE set_spec = ?');
      const getParent = db.prepare<[string], { parent_id: string | null }>('SELECT parent_id FROM oai_sets WHERE set_spec = ?');
      const upsertSet = db.prepare(
        `INSERT INTO oai_sets (set_spec, revision, title, parent_id) VALUES (?, ?, ?, ?)
         ON CONFLICT (set_spec) DO UPDATE SET revision = excluded.revision, title = excluded.title, parent_id = excluded.parent_id`,
      );
      // The collection and every sub-collection below it (a cycle in old data stops at UNION).
      const restampTree = db.prepare<[string, string]>(
        `WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT s.set_spec FROM oai_sets s JOIN tree ON s.parent_id = tree.id)
         UPDATE oai_records SET datestamp = ? WHERE visible = 1 AND seq IS NOT NULL AND set_spec IN (SELECT id FROM tree)`,
      );

      for (const e of events) {
        if (e.streamId.startsWith('object-')) applyWork(e);
        else if (e.streamId.startsWith('collection-')) applyCollection(e);
      }

      function applyWork(e: RecordedEvent): void {
        const objectId = e.streamId.slice('object-'.length);
        const row = get.get(objectId);
        const revision = Number(e.revision);
        // At-least-once delivery: an event already folded in is skipped.
        if (row && revision <= row.revision) return;
        if (!(RECORD_EVENT_TYPES as readonly string[]).includes(e.type)) {
          if (row) upsert.run({ ...row, revision });
          return;
        }
        const event = decodeWorkEvent(e) as ObjectHistoryEvent | undefined;
        if (!event) return;
        const before: ObjectState = row
          ? { status: row.status, objectId, metadata: JSON.parse(row.metadata) as Metadata, accessLevel: row.access_level, files: [] }
          : { status: 'absent' };
        const after = evolveObject(before, event);
        if (after.status === 'absent') return;
        const wasVisible = row?.visible === 1;
        const visible = oaiVisible(after.accessLevel, after.status, policy);
        const seq = row?.seq ?? (visible ? Number(e.position) : null);
        // What a harvester sees changes when the work is visible now or was until this event.
        const touched = visible || wasVisible;
        upsert.run({
          object_id: objectId,
          revision,
          seq,
          visible: visible ? 1 : 0,
          status: after.status,
          access_level: after.accessLevel,
          set_spec: visible ? (after.metadata.collectionId ?? null) : (row?.set_spec ?? null),
          datestamp: touched || !row ? changeStamp(e.metadata.occurredAt, now) : row.datestamp,
          metadata: JSON.stringify(after.metadata),
        });
      }

      function applyCollection(e: RecordedEvent): void {
        const event = decodeCollectionEvent(e);
        if (!event) return;
        const setSpec = e.streamId.slice('collection-'.length);
        const row = getSet.get(setSpec);
        const revision = Number(e.revision);
        if (row && revision <= row.revision) return;
        const parent = row ? getParent.get(setSpec)?.parent_id ?? undefined : undefined;
        const before: CollectionState = row ? { status: 'active', collectionId: setSpec, title: row.title, ...(parent ? { parentId: parent } : {}) } : { status: 'absent' };
        const after = evolveCollection(before, event);
        if (after.status === 'absent') return;
        upsertSet.run(setSpec, revision, after.title, after.parentId ?? null);
        // Another library: the works' library set changed, which is a change a harvester must see.
        if (event.type === 'CollectionEdited' && event.data.libraryId !== undefined) restampTree.run(setSpec, changeStamp(e.metadata.occurredAt, now));
      }
    },
  };
}

/** Read back: a table a fresh database has not set up yet reads as empty. */
export function oaiTablesExist(db: ReadModelDb): boolean {
  return db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'oai_records'").get()?.n === 1;
}

/** One harvested row: what a header and a record are written from. */
export interface OaiRecordRow {
  seq: number;
  objectId: string;
  datestamp: string;
  setSpec: string | null;
  deleted: boolean;
  /** The work's descriptive metadata (JSON), for the metadata formats' writers. */
  metadata: string;
}

interface RawRecordRow {
  seq: number;
  object_id: string;
  datestamp: string;
  set_spec: string | null;
  visible: number;
  metadata: string;
}

const toRecord = (r: RawRecordRow): OaiRecordRow => ({
  seq: r.seq,
  objectId: r.object_id,
  datestamp: r.datestamp,
  setSpec: r.set_spec,
  deleted: r.visible === 0,
  metadata: r.metadata,
});

export interface OaiListFilter {
  set?: string;
  from?: string;
  until?: string;
  /** Each collection's library, for the `library:<id>` sets. */
  libraries?: LibraryMap;
}

export const LIBRARY_SET_PREFIX = 'library:';

/** The library a `library:<id>` set names, or undefined for a collection's set. */
export function librarySetId(set: string): string | undefined {
  return set.startsWith(LIBRARY_SET_PREFIX) ? set.slice(LIBRARY_SET_PREFIX.length) : undefined;
}

const NO_LIBRARIES: LibraryMap = { home: 'home', byCollection: new Map() };

function listWhere(f: OaiListFilter): { sql: string; params: string[] } {
  const where = ['seq IS NOT NULL'];
  const params: string[] = [];
  const library = f.set === undefined ? undefined : librarySetId(f.set);
  if (library !== undefined) {
    const { mode, collections } = libraryCollections(f.libraries ?? NO_LIBRARIES, [library]);
    const marks = collections.map(() => '?').join(', ');
    if (mode === 'in') where.push(collections.length ? `set_spec IN (${marks})` : '0');
    else if (collections.length) where.push(`(set_spec IS NULL OR set_spec NOT IN (${marks}))`);
    params.push(...collections);
  } else if (f.set !== undefined) {
    // Collection ids have no ":", so no collection set has sub-sets to include.
    where.push('set_spec = ?');
    params.push(f.set);
  }
  if (f.from !== undefined) {
    where.push('datestamp >= ?');
    params.push(f.from);
  }
  if (f.until !== undefined) {
    where.push('datestamp <= ?');
    params.push(f.until);
  }
  return { sql: where.join(' AND '), params };
}

/** How many records a list has (for completeListSize, once at the start of a harvest). */
export function countOaiRecords(db: ReadModelDb, f: OaiListFilter): number {
  if (!oaiTablesExist(db)) return 0;
  const w = listWhere(f);
  return db.prepare<unknown[], { n: number }>(`SELECT COUNT(*) AS n FROM oai_records WHERE ${w.sql}`).get(...w.params)?.n ?? 0;
}

/**
 * The records after `after` in harvest order, at most `limit`, read one at a time (the caller
 * streams them out): a statement of its own, since several harvests may be read at once.
 */
export function* iterateOaiRecords(db: ReadModelDb, f: OaiListFilter, after: number, limit: number): Generator<OaiRecordRow> {
  if (!oaiTablesExist(db)) return;
  const w = listWhere(f);
  const stmt = db.prepare<unknown[], RawRecordRow>(
    `SELECT seq, object_id, datestamp, set_spec, visible, metadata FROM oai_records WHERE ${w.sql} AND seq > ? ORDER BY seq LIMIT ?`,
  );
  for (const r of stmt.iterate(...w.params, after, limit)) yield toRecord(r);
}

/** One work's record, if it was ever harvestable. */
export function findOaiRecord(db: ReadModelDb, objectId: string): OaiRecordRow | undefined {
  if (!oaiTablesExist(db)) return undefined;
  const r = db
    .prepare<[string], RawRecordRow>('SELECT seq, object_id, datestamp, set_spec, visible, metadata FROM oai_records WHERE object_id = ? AND seq IS NOT NULL')
    .get(objectId);
  return r ? toRecord(r) : undefined;
}

/**
 * The sets with at least one visible record (the others, confidential or empty ones, never
 * show): each collection's, then, with `libraryNames`, each library's (`library:<id>`).
 */
export function listOaiSets(
  db: ReadModelDb,
  libraries: LibraryMap = NO_LIBRARIES,
  libraryNames?: ReadonlyMap<string, string>,
): Array<{ spec: string; name: string }> {
  if (!oaiTablesExist(db)) return [];
  const collections = db
    .prepare<[], { set_spec: string; title: string }>(
      `SELECT s.set_spec, s.title FROM oai_sets s
        WHERE EXISTS (SELECT 1 FROM oai_records r WHERE r.set_spec = s.set_spec AND r.visible = 1 AND r.seq IS NOT NULL)
        ORDER BY s.set_spec`,
    )
    .all()
    .map((r) => ({ spec: r.set_spec, name: r.title }));
  if (!libraryNames) return collections;
  const held = new Set(
    db
      .prepare<[], { set_spec: string | null }>('SELECT DISTINCT set_spec FROM oai_records WHERE visible = 1 AND seq IS NOT NULL')
      .all()
      .map((r) => libraryOfCollection(libraries, r.set_spec)),
  );
  const librarySets = [...held].sort().map((id) => ({ spec: `${LIBRARY_SET_PREFIX}${id}`, name: libraryNames.get(id) ?? id }));
  return [...collections, ...librarySets];
}

/** The oldest datestamp a harvester can be given (undefined while nothing was ever harvestable). */
export function earliestOaiDatestamp(db: ReadModelDb): string | undefined {
  if (!oaiTablesExist(db)) return undefined;
  return db.prepare<[], { d: string | null }>('SELECT MIN(datestamp) AS d FROM oai_records WHERE seq IS NOT NULL').get()?.d ?? undefined;
}

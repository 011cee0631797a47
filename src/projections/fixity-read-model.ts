import { createHash } from 'node:crypto';
import { type LibraryMap, libraryOfCollection } from '../search/port.ts';
import { z } from 'zod';
import { type EventType, type FixityFailure, type FixityTarget, isEventType, parseEventData } from '../domain/events.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { WORK_STREAM_PREFIXES, workStream } from './decode.ts';
import type { Projection } from './projection.ts';
import { csvDocument } from './report-csv.ts';
import type { ReadModelDb } from './read-model-db.ts';
import { heldByLibrarySql } from './object-read-model.ts';

/**
 * The fixity read model: every stored copy that fixity checking looks after, and what the log
 * says happened to it. A copy ("item") is one master on one storage root, one derivative
 * pyramid, or one object's OCFL inventory on one storage root. Masters appear on "primary"
 * when ingested and on a replica when FileReplicated says their version reached it; pyramids
 * live beside the primary root, under the label "derivatives".
 *
 * The projection knows nothing of the configuration (which replicas exist, how long a cycle
 * is): those are arguments of the queries, so the tables never need a rebuild when they change.
 */
export const DERIVATIVES_ROOT = 'derivatives';

const TYPES: EventType[] = [
  'ObjectRegistered',
  'MetadataEdited',
  'FileIngested',
  'DerivativeCreated',
  'FixityChecked',
  'FileRepaired',
  'FileDamaged',
  'ObjectWithdrawn',
  'FileReplicated',
];

const DAY_MS = 86_400_000;

export type ItemState = 'unchecked' | 'ok' | 'failed' | 'repaired' | 'damaged';

interface ItemRow {
  item_id: number;
  object_id: string;
  file_id: string;
  target: FixityTarget;
  root: string;
  ocfl_object_id: string;
  content_path: string | null;
  ocfl_version: string | null;
  size: number | null;
  sha512: string | null;
  sha256: string | null;
  since_ms: number;
  spread: number;
  last_checked_ms: number | null;
  last_outcome: 'pass' | 'fail' | null;
  last_failure: FixityFailure | null;
  state: ItemState;
  state_ms: number | null;
}

/**
 * Where in its first cycle a copy's first check falls, as a fraction in [0, 1). A hash, not
 * a random number: a rebuild of the read model gives every copy the same date again.
 */
export function spreadOf(objectId: string, fileId: string, target: FixityTarget, root: string): number {
  return createHash('sha256').update(`${objectId}\0${fileId}\0${target}\0${root}`).digest().readUInt32BE(0) / 2 ** 32;
}

const versionNumber = (v: string | null) => Number(/^v(\d+)$/.exec(v ?? '')?.[1] ?? Number.NaN);

export const fixityReadModel: Projection = {
  name: 'fixity',
  // 2: machine facts from the preservation stream, each stream's revision kept apart.
  // 3: fixity_work_states, each work's copies summed up for the staff list's fixity filter.
  version: 3,
  filter: { streamPrefixes: [...WORK_STREAM_PREFIXES], eventTypes: TYPES },

  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS fixity_objects (
        object_id     TEXT PRIMARY KEY,
        collection_id TEXT,
        withdrawn     INTEGER NOT NULL DEFAULT 0,
        ocfl_object_id TEXT,
        -- Last revision applied of the object stream and of the preservation stream:
        -- delivery is at-least-once.
        revision      INTEGER NOT NULL,
        facts_revision INTEGER NOT NULL DEFAULT -1
      );
      CREATE INDEX IF NOT EXISTS fixity_objects_by_collection ON fixity_objects (collection_id);
      CREATE TABLE IF NOT EXISTS fixity_items (
        item_id         INTEGER PRIMARY KEY,
        object_id       TEXT NOT NULL,
        file_id         TEXT NOT NULL,          -- '' for an inventory
        target          TEXT NOT NULL,          -- master | derivative | inventory
        root            TEXT NOT NULL,          -- storage root label
        ocfl_object_id  TEXT NOT NULL,
        content_path    TEXT,                   -- masters: the OCFL content path
        ocfl_version    TEXT,                   -- masters: the version that stored them
        size            INTEGER,                -- expected bytes (inventories: last read)
        sha512          TEXT,                   -- masters: theirs; derivatives: their master's
        sha256          TEXT,                   -- masters: theirs; derivatives: the pyramid's
        since_ms        INTEGER NOT NULL,       -- when the copy came to be
        spread          REAL NOT NULL,
        last_checked_ms INTEGER,
        last_outcome    TEXT,
        last_failure    TEXT,
        state           TEXT NOT NULL DEFAULT 'unchecked',
        state_ms        INTEGER,
        UNIQUE (object_id, file_id, target, root)
      );
      CREATE INDEX IF NOT EXISTS fixity_items_by_state ON fixity_items (state);
      CREATE TABLE IF NOT EXISTS fixity_log (
        event_id    TEXT PRIMARY KEY,
        position    INTEGER NOT NULL,
        item_id     INTEGER NOT NULL,
        kind        TEXT NOT NULL,              -- check | repair | damage
        outcome     TEXT,                       -- checks: pass | fail
        failure     TEXT,
        bytes       INTEGER NOT NULL DEFAULT 0,
        occurred_ms INTEGER NOT NULL,
        occurred_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS fixity_log_by_time ON fixity_log (occurred_ms);
      CREATE INDEX IF NOT EXISTS fixity_log_by_item ON fixity_log (item_id, position);
      -- Each work's copies in two numbers, so that a list of 10,000 works filters and counts by
      -- fixity state with one indexed read per work instead of reading its ~40 items each time.
      -- worst: the work's worst state that no clock changes (see FIXITY_WORST); oldest_ms: the
      -- oldest time one of its copies was verified or came to be (overdue once a cycle is past).
      CREATE TABLE IF NOT EXISTS fixity_work_states (
        object_id TEXT PRIMARY KEY,
        worst     INTEGER NOT NULL,
        oldest_ms INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS fixity_work_states_by_worst ON fixity_work_states (worst, oldest_ms);
    `);
  },

  reset(db) {
    db.exec('DROP TABLE IF EXISTS fixity_work_states; DROP TABLE IF EXISTS fixity_log; DROP TABLE IF EXISTS fixity_items; DROP TABLE IF EXISTS fixity_objects;');
  },

  apply(db, events) {
    const s = statements(db);
    const touched = new Set<string>();
    for (const e of events) {
      const work = workStream(e);
      if (!work || !isEventType(e.type) || !TYPES.includes(e.type)) continue;
      const { objectId } = work;
      const known = s.getObject.get(objectId);
      const revision = Number(e.revision);
      if (work.stream === 'object') {
        if (known && revision <= known.revision) continue;
        if (known) s.setRevision.run(revision, objectId);
        else s.insertObject.run(objectId, revision);
      } else {
        // The object stream comes first in the log: a fact about an unknown work is not ours to invent.
        if (!known || revision <= known.facts_revision) continue;
        s.setFactsRevision.run(revision, objectId);
      }
      applyOne(s, e, objectId);
      touched.add(objectId);
    }
    for (const objectId of touched) s.workState.run(objectId);
  },
};

/**
 * A work's worst state that no clock changes, as fixity_work_states.worst holds it: the
 * rank of its worst copy in FIXITY_STATES order (damaged 0, failed 1, repaired 2, some copy
 * never checked 4, every copy passed 5). Rank 3 (overdue) depends on the time: a work whose
 * worst is 4 or 5 is overdue when its oldest_ms is more than a cycle ago.
 */
export const FIXITY_WORST_SQL = `MIN(CASE state WHEN 'damaged' THEN 0 WHEN 'failed' THEN 1 WHEN 'repaired' THEN 2 WHEN 'unchecked' THEN 4 ELSE 5 END)`;

type Statements = ReturnType<typeof statements>;

function statements(db: ReadModelDb) {
  return {
    getObject: db.prepare<[string], { revision: number; facts_revision: number; ocfl_object_id: string | null }>(
      'SELECT revision, facts_revision, ocfl_object_id FROM fixity_objects WHERE object_id = ?',
    ),
    insertObject: db.prepare<[string, number]>('INSERT INTO fixity_objects (object_id, revision) VALUES (?, ?)'),
    setRevision: db.prepare<[number, string]>('UPDATE fixity_objects SET revision = ? WHERE object_id = ?'),
    setFactsRevision: db.prepare<[number, string]>('UPDATE fixity_objects SET facts_revision = ? WHERE object_id = ?'),
    setCollection: db.prepare<[string | null, string]>('UPDATE fixity_objects SET collection_id = ? WHERE object_id = ?'),
    setOcflId: db.prepare<[string, string]>('UPDATE fixity_objects SET ocfl_object_id = ? WHERE object_id = ?'),
    setWithdrawn: db.prepare<[string]>('UPDATE fixity_objects SET withdrawn = 1 WHERE object_id = ?'),
    insertItem: db.prepare(
      `INSERT OR IGNORE INTO fixity_items
         (object_id, file_id, target, root, ocfl_object_id, content_path, ocfl_version, size, sha512, sha256, since_ms, spread)
       VALUES (@objectId, @fileId, @target, @root, @ocflObjectId, @contentPath, @ocflVersion, @size, @sha512, @sha256, @sinceMs, @spread)`,
    ),
    getItem: db.prepare<[string, string, string, string], ItemRow>('SELECT * FROM fixity_items WHERE object_id = ? AND file_id = ? AND target = ? AND root = ?'),
    primaryMasters: db.prepare<[string], ItemRow>("SELECT * FROM fixity_items WHERE object_id = ? AND target = 'master' AND root = 'primary'"),
    newPyramid: db.prepare<[string, number, number, number]>(
      "UPDATE fixity_items SET sha256 = ?, size = ?, since_ms = ?, last_checked_ms = NULL, last_outcome = NULL, last_failure = NULL, state = 'unchecked', state_ms = NULL WHERE item_id = ?",
    ),
    checked: db.prepare<[number, string, string | null, ItemState, number, number | null, number]>(
      'UPDATE fixity_items SET last_checked_ms = ?, last_outcome = ?, last_failure = ?, state = ?, state_ms = ?, size = COALESCE(?, size) WHERE item_id = ?',
    ),
    setState: db.prepare<[ItemState, number, number]>('UPDATE fixity_items SET state = ?, state_ms = ? WHERE item_id = ?'),
    workState: db.prepare<[string]>(
      `INSERT OR REPLACE INTO fixity_work_states (object_id, worst, oldest_ms)
       SELECT object_id, ${FIXITY_WORST_SQL}, MIN(COALESCE(last_checked_ms, since_ms)) FROM fixity_items WHERE object_id = ? GROUP BY object_id`,
    ),
    log: db.prepare(
      `INSERT OR IGNORE INTO fixity_log (event_id, position, item_id, kind, outcome, failure, bytes, occurred_ms, occurred_at)
       VALUES (@eventId, @position, @itemId, @kind, @outcome, @failure, @bytes, @occurredMs, @occurredAt)`,
    ),
  };
}

interface NewItem {
  objectId: string;
  fileId: string;
  target: FixityTarget;
  root: string;
  ocflObjectId: string;
  contentPath?: string | null;
  ocflVersion?: string | null;
  size?: number | null;
  sha512?: string | null;
  sha256?: string | null;
  sinceMs: number;
}

function ensureItem(s: Statements, item: NewItem): ItemRow {
  s.insertItem.run({
    contentPath: null,
    ocflVersion: null,
    size: null,
    sha512: null,
    sha256: null,
    ...item,
    spread: spreadOf(item.objectId, item.fileId, item.target, item.root),
  });
  return s.getItem.get(item.objectId, item.fileId, item.target, item.root) as ItemRow;
}

/** The item a preservation event is about, made if the log mentions a copy not seen before. */
function itemOf(s: Statements, objectId: string, data: { fileId?: string; target: FixityTarget; storageRoot: { label: string } }, atMs: number): ItemRow {
  const fileId = data.target === 'inventory' ? '' : (data.fileId ?? '');
  const existing = s.getItem.get(objectId, fileId, data.target, data.storageRoot.label);
  if (existing) return existing;
  // A copy checked before the log said it was there (a replica checked by hand): take the
  // facts of its primary master, which are the same bytes.
  const master = data.target === 'master' ? s.getItem.get(objectId, fileId, 'master', 'primary') : undefined;
  return ensureItem(s, {
    objectId,
    fileId,
    target: data.target,
    root: data.storageRoot.label,
    ocflObjectId: master?.ocfl_object_id ?? s.getObject.get(objectId)?.ocfl_object_id ?? '',
    contentPath: master?.content_path ?? null,
    ocflVersion: master?.ocfl_version ?? null,
    size: master?.size ?? null,
    sha512: master?.sha512 ?? null,
    sha256: master?.sha256 ?? null,
    sinceMs: atMs,
  });
}

function applyOne(s: Statements, e: RecordedEvent, objectId: string): void {
  const at = e.metadata.occurredAt;
  const atMs = Date.parse(at);
  const schemaVersion = e.metadata.schemaVersion;
  const log = (itemId: number, kind: 'check' | 'repair' | 'damage', extra: { outcome?: string; failure?: string; bytes?: number } = {}) =>
    s.log.run({ eventId: e.id, position: Number(e.position), itemId, kind, outcome: extra.outcome ?? null, failure: extra.failure ?? null, bytes: extra.bytes ?? 0, occurredMs: atMs, occurredAt: at });

  switch (e.type) {
    case 'ObjectRegistered': {
      const d = parseEventData('ObjectRegistered', schemaVersion, e.data);
      s.setCollection.run(d.metadata.collectionId ?? null, objectId);
      return;
    }
    case 'MetadataEdited': {
      const d = parseEventData('MetadataEdited', schemaVersion, e.data);
      if ('collectionId' in d.changes) s.setCollection.run(d.changes.collectionId ?? null, objectId);
      return;
    }
    case 'ObjectWithdrawn':
      // Still checked: a withdrawn object is kept, only no longer shown.
      s.setWithdrawn.run(objectId);
      return;
    case 'FileIngested': {
      const d = parseEventData('FileIngested', schemaVersion, e.data);
      s.setOcflId.run(d.storage.ocflObjectId, objectId);
      ensureItem(s, {
        objectId,
        fileId: d.fileId,
        target: 'master',
        root: 'primary',
        ocflObjectId: d.storage.ocflObjectId,
        contentPath: d.storage.path,
        ocflVersion: d.storage.version,
        size: d.size,
        sha512: d.digests.sha512,
        sha256: d.digests.sha256,
        sinceMs: atMs,
      });
      ensureItem(s, { objectId, fileId: '', target: 'inventory', root: 'primary', ocflObjectId: d.storage.ocflObjectId, sinceMs: atMs });
      return;
    }
    case 'FileReplicated': {
      const d = parseEventData('FileReplicated', schemaVersion, e.data);
      const upTo = versionNumber(d.version);
      let ocflObjectId: string | undefined;
      for (const m of s.primaryMasters.all(objectId)) {
        ocflObjectId = m.ocfl_object_id;
        if (!(versionNumber(m.ocfl_version) <= upTo)) continue;
        ensureItem(s, {
          objectId,
          fileId: m.file_id,
          target: 'master',
          root: d.replica.label,
          ocflObjectId: m.ocfl_object_id,
          contentPath: m.content_path,
          ocflVersion: m.ocfl_version,
          size: m.size,
          sha512: m.sha512,
          sha256: m.sha256,
          sinceMs: atMs,
        });
      }
      ocflObjectId ??= s.getObject.get(objectId)?.ocfl_object_id ?? undefined;
      if (ocflObjectId) ensureItem(s, { objectId, fileId: '', target: 'inventory', root: d.replica.label, ocflObjectId, sinceMs: atMs });
      return;
    }
    case 'DerivativeCreated': {
      const d = parseEventData('DerivativeCreated', schemaVersion, e.data);
      // The fixity items of derivatives are one per file, page 1's pyramid; later pages' are
      // reproducible from the master and not (yet) checked: taking theirs would check page 1's
      // file against page 2's digest.
      if (d.page !== undefined) return;
      const item = ensureItem(s, {
        objectId,
        fileId: d.fileId,
        target: 'derivative',
        root: DERIVATIVES_ROOT,
        ocflObjectId: s.getObject.get(objectId)?.ocfl_object_id ?? '',
        size: d.pyramid.size,
        sha512: d.masterSha512,
        sha256: d.pyramid.sha256,
        sinceMs: atMs,
      });
      // A pyramid made again with other bytes is a new copy, its digest just computed: it
      // starts a first cycle of its own (its old checks stay in the log).
      if (item.sha256 !== d.pyramid.sha256) s.newPyramid.run(d.pyramid.sha256, d.pyramid.size, atMs, item.item_id);
      return;
    }
    case 'FixityChecked': {
      const d = parseEventData('FixityChecked', schemaVersion, e.data);
      const item = itemOf(s, objectId, d, atMs);
      const state: ItemState = d.outcome === 'pass' ? 'ok' : 'failed';
      // An inventory's size is whatever was read last; a file's is the recorded one.
      s.checked.run(atMs, d.outcome, d.failure ?? null, state, atMs, d.target === 'inventory' ? d.bytes : null, item.item_id);
      log(item.item_id, 'check', { outcome: d.outcome, ...(d.failure ? { failure: d.failure } : {}), bytes: d.bytes });
      return;
    }
    case 'FileRepaired': {
      const d = parseEventData('FileRepaired', schemaVersion, e.data);
      const item = itemOf(s, objectId, d, atMs);
      s.setState.run('repaired', atMs, item.item_id);
      log(item.item_id, 'repair', { failure: d.failure });
      return;
    }
    case 'FileDamaged': {
      const d = parseEventData('FileDamaged', schemaVersion, e.data);
      const item = itemOf(s, objectId, d, atMs);
      s.setState.run('damaged', atMs, item.item_id);
      log(item.item_id, 'damage', { failure: d.failure });
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Queries

export interface CyclePolicy {
  /** Every copy is re-verified once per cycle. */
  cycleDays: number;
  /** Per-collection cycles (collection id → days). */
  collectionCycleDays: Record<string, number>;
}

export interface DueCheckOptions extends CyclePolicy {
  /** Storage root labels to check (configured roots); pyramids come with "primary". */
  roots: string[];
  limit: number;
}

/** One copy to check. */
export interface DueCheck {
  objectId: string;
  /** Absent for an inventory. */
  fileId?: string;
  target: FixityTarget;
  root: string;
  collectionId: string | null;
  ocflObjectId: string;
  /** Masters: the OCFL content path. */
  contentPath?: string;
  /** Masters: sha512, sha256, size; derivatives: the pyramid's sha256 and size, and the master's sha512. */
  expected: { sha512?: string; sha256?: string; size?: number };
  dueAt: Date;
  lastCheckedAt: Date | null;
  state: ItemState;
}

interface DueRow extends ItemRow {
  collection_id: string | null;
  due_ms: number;
}

/** A copy whose latest state is not sound is looked at again after a day, however long its cycle. */
export const RECHECK_AFTER_FAILURE_MS = DAY_MS;

const CYCLE_SQL = `CAST(COALESCE(c.value, @cycleDays) * ${DAY_MS} AS INTEGER)`;
const DUE_SQL = `CASE
    WHEN i.last_checked_ms IS NULL THEN i.since_ms + CAST(i.spread * ${CYCLE_SQL} AS INTEGER)
    WHEN i.state IN ('failed', 'damaged') THEN i.last_checked_ms + MIN(${CYCLE_SQL}, ${RECHECK_AFTER_FAILURE_MS})
    ELSE i.last_checked_ms + ${CYCLE_SQL}
  END`;

/**
 * The copies to check next, most overdue first. A copy never checked is due at its arrival
 * plus its spread × its cycle, so that a bulk ingest of 100,000 files comes due evenly over
 * one cycle instead of all on one day; a checked one is due a cycle after its last check.
 */
export function dueChecks(db: ReadModelDb, now: Date, options: DueCheckOptions): DueCheck[] {
  const roots = [...options.roots];
  if (roots.includes('primary')) roots.push(DERIVATIVES_ROOT);
  if (roots.length === 0 || options.limit <= 0) return [];
  const rows = db
    .prepare<Record<string, unknown>, DueRow>(
      `SELECT * FROM (
         SELECT i.*, o.collection_id, ${DUE_SQL} AS due_ms
           FROM fixity_items i
           JOIN fixity_objects o ON o.object_id = i.object_id
           LEFT JOIN json_each(@cycles) c ON c.key = o.collection_id
          WHERE i.root IN (SELECT value FROM json_each(@roots))
       ) WHERE due_ms <= @now ORDER BY due_ms, item_id LIMIT @limit`,
    )
    .all({ cycles: JSON.stringify(options.collectionCycleDays), cycleDays: options.cycleDays, roots: JSON.stringify(roots), now: now.getTime(), limit: options.limit });
  return rows.map(toDueCheck);
}

function toDueCheck(r: DueRow): DueCheck {
  const expected: DueCheck['expected'] = {};
  if (r.target === 'master') {
    if (r.sha512) expected.sha512 = r.sha512;
    if (r.sha256) expected.sha256 = r.sha256;
    if (r.size !== null) expected.size = r.size;
  } else if (r.target === 'derivative') {
    if (r.sha512) expected.sha512 = r.sha512;
    if (r.sha256) expected.sha256 = r.sha256;
    if (r.size !== null) expected.size = r.size;
  }
  return {
    objectId: r.object_id,
    ...(r.file_id ? { fileId: r.file_id } : {}),
    target: r.target,
    root: r.root,
    collectionId: r.collection_id,
    ocflObjectId: r.ocfl_object_id,
    ...(r.content_path ? { contentPath: r.content_path } : {}),
    expected,
    dueAt: new Date(r.due_ms),
    lastCheckedAt: r.last_checked_ms === null ? null : new Date(r.last_checked_ms),
    state: r.state,
  };
}

export interface DamagedFile {
  objectId: string;
  fileId?: string;
  target: FixityTarget;
  root: string;
  collectionId: string | null;
  failure: FixityFailure | null;
  /** When it was declared damaged. */
  since: string;
}

/** Copies whose latest state is "damaged beyond repair", oldest first (none before the projection has run). */
export function damagedFiles(db: ReadModelDb): DamagedFile[] {
  if (!hasFixityTables(db)) return [];
  return db
    .prepare<[], ItemRow & { collection_id: string | null }>(
      `SELECT i.*, o.collection_id FROM fixity_items i JOIN fixity_objects o ON o.object_id = i.object_id
        WHERE i.state = 'damaged' ORDER BY i.state_ms, i.item_id`,
    )
    .all()
    .map((r) => ({
      objectId: r.object_id,
      ...(r.file_id ? { fileId: r.file_id } : {}),
      target: r.target,
      root: r.root,
      collectionId: r.collection_id,
      failure: r.last_failure,
      since: new Date(r.state_ms ?? 0).toISOString(),
    }));
}

/** Whether the fixity tables exist (the projection has been set up in this database). */
export function hasFixityTables(db: ReadModelDb): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fixity_items'").get() !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Audit report

export interface AuditReportOptions extends Partial<CyclePolicy> {
  from: Date;
  to: Date;
  /** Only the works this library holds (a library's staff see their library's figures alone). */
  heldBy?: HeldBy | undefined;
}

/** A library, and the instance's home library (whose works the read model stores with no library). */
export interface HeldBy {
  libraryId: string;
  home: string;
}

/**
 * "The work of fixity_objects row `alias` is held by the library" (always true without one), as
 * the object read model keeps the holding library: through heldByLibrarySql, never
 * `library_id = ?`, which would miss every home-library work.
 */
export function heldBySql(heldBy: HeldBy | undefined, alias = 'o'): { sql: string; params: string[] } {
  if (!heldBy) return { sql: '1', params: [] };
  const held = heldByLibrarySql(heldBy.libraryId, heldBy.home, 'ob.library_id');
  return { sql: `EXISTS (SELECT 1 FROM objects ob WHERE ob.id = ${alias}.object_id AND ${held.sql})`, params: held.params };
}

/**
 * One line of the report. Units are copies (see the module comment). The numbers partition:
 *   files   = checked + checkedBefore + neverChecked
 *   checked = passed + failed + repaired + damaged   (by each copy's latest state in the period)
 * and `overdue` (as of `to`) is a subset of `files`; `checks` and `bytesVerified` count the
 * check events of the period.
 */
export interface AuditRow {
  /** null: objects in no collection. */
  collectionId: string | null;
  files: number;
  checked: number;
  passed: number;
  failed: number;
  repaired: number;
  damaged: number;
  /** Checked before the period, not in it. */
  checkedBefore: number;
  neverChecked: number;
  overdue: number;
  checks: number;
  bytesVerified: number;
}

export interface AuditReport {
  from: string;
  to: string;
  cycleDays: number;
  collections: AuditRow[];
  total: Omit<AuditRow, 'collectionId'>;
  /** The same figures per holding library (see withLibraryRows), when asked for. */
  libraries?: AuditLibraryRow[];
}

export interface AuditLibraryRow extends Omit<AuditRow, 'collectionId'> {
  libraryId: string;
  name: string | null;
}

/**
 * The report's collection rows summed per library holding the collection now (a work in no
 * collection is the home library's): a district library's line in the province's report.
 */
export function withLibraryRows<R extends AuditReport>(report: R, libraries: { map: LibraryMap; names?: ReadonlyMap<string, string> }): R {
  const rows = new Map<string, AuditLibraryRow>();
  for (const c of report.collections) {
    const libraryId = libraryOfCollection(libraries.map, c.collectionId);
    let row = rows.get(libraryId);
    if (!row) {
      const { collectionId: _none, ...zero } = emptyRow(null);
      row = { libraryId, name: libraries.names?.get(libraryId) ?? null, ...zero };
      rows.set(libraryId, row);
    }
    for (const k of COUNTS) row[k] += c[k];
  }
  return { ...report, libraries: [...rows.values()].sort((a, b) => (a.libraryId < b.libraryId ? -1 : a.libraryId > b.libraryId ? 1 : 0)) };
}

const COUNTS = ['files', 'checked', 'passed', 'failed', 'repaired', 'damaged', 'checkedBefore', 'neverChecked', 'overdue', 'checks', 'bytesVerified'] as const;

function emptyRow(collectionId: string | null): AuditRow {
  return { collectionId, files: 0, checked: 0, passed: 0, failed: 0, repaired: 0, damaged: 0, checkedBefore: 0, neverChecked: 0, overdue: 0, checks: 0, bytesVerified: 0 };
}

interface ReportItemRow {
  item_id: number;
  collection_id: string | null;
  since_ms: number;
  spread: number;
  last_check_ms: number | null;
  checks_in_period: number;
  bytes_in_period: number;
  last_kind: 'check' | 'repair' | 'damage' | null;
  last_outcome: 'pass' | 'fail' | null;
}

export function auditReport(db: ReadModelDb, options: AuditReportOptions): AuditReport {
  const from = options.from.getTime();
  const to = options.to.getTime();
  if (!(from <= to)) throw new RangeError('the report period must not end before it begins');
  const cycleDays = options.cycleDays ?? 90;
  const cycles = options.collectionCycleDays ?? {};
  // Every copy that existed by the end of the period, with the facts of the period: one
  // scan of the items, three grouped lookups in the log.
  const held = heldBySql(options.heldBy);
  const rows = db
    .prepare<[...string[], { from: number; to: number }], ReportItemRow>(
      `WITH period AS (
         SELECT item_id, kind, outcome, bytes, position FROM fixity_log WHERE occurred_ms >= @from AND occurred_ms <= @to
       ),
       period_checks AS (
         SELECT item_id, COUNT(*) AS n, SUM(bytes) AS bytes FROM period WHERE kind = 'check' GROUP BY item_id
       ),
       period_last AS (
         SELECT item_id, kind, outcome FROM (
           SELECT item_id, kind, outcome, ROW_NUMBER() OVER (PARTITION BY item_id ORDER BY position DESC) AS rn FROM period
         ) WHERE rn = 1
       ),
       checked_by_end AS (
         SELECT item_id, MAX(occurred_ms) AS last_ms FROM fixity_log WHERE kind = 'check' AND occurred_ms <= @to GROUP BY item_id
       )
       SELECT i.item_id, o.collection_id, i.since_ms, i.spread,
              e.last_ms AS last_check_ms,
              COALESCE(pc.n, 0) AS checks_in_period, COALESCE(pc.bytes, 0) AS bytes_in_period,
              pl.kind AS last_kind, pl.outcome AS last_outcome
         FROM fixity_items i
         JOIN fixity_objects o ON o.object_id = i.object_id
         LEFT JOIN checked_by_end e ON e.item_id = i.item_id
         LEFT JOIN period_checks pc ON pc.item_id = i.item_id
         LEFT JOIN period_last pl ON pl.item_id = i.item_id
        WHERE (i.since_ms <= @to OR e.item_id IS NOT NULL) AND ${held.sql}`,
    )
    .all(...held.params, { from, to });

  const byCollection = new Map<string | null, AuditRow>();
  for (const r of rows) {
    let row = byCollection.get(r.collection_id);
    if (!row) {
      row = emptyRow(r.collection_id);
      byCollection.set(r.collection_id, row);
    }
    row.files++;
    row.checks += r.checks_in_period;
    row.bytesVerified += r.bytes_in_period;
    if (r.checks_in_period > 0) {
      row.checked++;
      if (r.last_kind === 'repair') row.repaired++;
      else if (r.last_kind === 'damage') row.damaged++;
      else if (r.last_outcome === 'pass') row.passed++;
      else row.failed++;
    } else if (r.last_check_ms !== null) row.checkedBefore++;
    else row.neverChecked++;
    const cycleMs = (r.collection_id !== null && cycles[r.collection_id] !== undefined ? (cycles[r.collection_id] as number) : cycleDays) * DAY_MS;
    const due = r.last_check_ms === null ? r.since_ms + Math.floor(r.spread * cycleMs) : r.last_check_ms + cycleMs;
    if (due < to) row.overdue++;
  }

  const collections = [...byCollection.values()].sort((a, b) =>
    a.collectionId === b.collectionId ? 0 : a.collectionId === null ? 1 : b.collectionId === null ? -1 : a.collectionId < b.collectionId ? -1 : 1,
  );
  const total = emptyRow(null);
  for (const row of collections) for (const k of COUNTS) total[k] += row[k];
  const { collectionId: _none, ...totals } = total;
  return { from: options.from.toISOString(), to: options.to.toISOString(), cycleDays, collections, total: totals };
}

// ---------------------------------------------------------------------------------------------
// Report input and CSV (shared by `thukho audit-report` and GET /api/audit/report)

/**
 * A day (`2024-01-31`, the whole day in the server's time zone: `from` at its start, `to` at
 * its end) or an ISO 8601 date-time with a zone (`2024-01-31T17:00:00+07:00`).
 */
function parseReportDate(text: string, end: boolean): Date | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const start = new Date(y, m - 1, d);
    // No rolling over: 2024-02-30 is not a day.
    if (start.getFullYear() !== y || start.getMonth() !== m - 1 || start.getDate() !== d) return null;
    return end ? new Date(new Date(y, m - 1, d + 1).getTime() - 1) : start;
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t);
}

const ReportDate = (end: boolean) =>
  z.string().transform((text, ctx) => {
    const date = parseReportDate(text.trim(), end);
    if (!date) {
      ctx.addIssue({ code: 'custom', message: `ngày không hợp lệ / not a date: "${text}" (YYYY-MM-DD or an ISO 8601 date-time with a zone)` });
      return z.NEVER;
    }
    return date;
  });

/** The report's period as it arrives (query string, command line): from ≤ to. */
export const AuditPeriod = z
  .object({ from: ReportDate(false), to: ReportDate(true) })
  .refine((p) => p.from.getTime() <= p.to.getTime(), { message: '"from" phải trước "to" / "from" must not be after "to"', path: ['from'] });

const CSV_COLUMNS: Array<[keyof Omit<AuditRow, 'collectionId'>, string]> = [
  ['files', 'Số bản lưu / Copies'],
  ['checked', 'Đã kiểm tra trong kỳ / Checked in period'],
  ['passed', 'Đạt / Passed'],
  ['failed', 'Lỗi chưa xử lý / Failed, unresolved'],
  ['repaired', 'Đã sửa / Repaired'],
  ['damaged', 'Hỏng không sửa được / Damaged'],
  ['checkedBefore', 'Kiểm tra trước kỳ / Checked before the period'],
  ['neverChecked', 'Chưa từng kiểm tra / Never checked'],
  ['overdue', 'Quá hạn / Overdue'],
  ['checks', 'Số lần kiểm tra / Checks'],
  ['bytesVerified', 'Số byte đã xác minh / Bytes verified'],
];

/**
 * The report as CSV: a header row, one row per collection, the total last. UTF-8 with a BOM
 * and CRLF line ends, so that a spreadsheet opened by double-click shows the diacritics.
 */
/** The log's latest seal, quoted in the report so that a later reader can check the log against it. */
export interface ReportSeal {
  merkleRoot: string;
  position: string;
  sealedAt: string;
}

/** `by`: one row per collection (the default), or per library (the rows of withLibraryRows); either way the rows add up to the total. */
export function auditReportCsv(report: AuditReport & { seal?: ReportSeal | null }, by: 'collection' | 'library' = 'collection'): string {
  const lines: Array<Array<string | number>> = [[by === 'library' ? 'Thư viện / Library' : 'Bộ sưu tập / Collection', ...CSV_COLUMNS.map(([, title]) => title)]];
  if (by === 'library') {
    for (const row of report.libraries ?? []) lines.push([`${row.libraryId}${row.name ? ` (${row.name})` : ''}`, ...CSV_COLUMNS.map(([k]) => row[k])]);
  } else {
    for (const row of report.collections) lines.push([row.collectionId ?? '(không thuộc bộ sưu tập / none)', ...CSV_COLUMNS.map(([k]) => row[k])]);
  }
  lines.push(['Tổng cộng / Total', ...CSV_COLUMNS.map(([k]) => report.total[k])]);
  if (report.seal) lines.push(['Niêm phong nhật ký / Log seal', report.seal.merkleRoot, `position ${report.seal.position}`, report.seal.sealedAt]);
  return csvDocument(lines);
}

import type { FixityFailure, FixityTarget } from '../domain/events.ts';
import { type CyclePolicy, hasFixityTables, type HeldBy, heldBySql } from './fixity-read-model.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * The repository's fixity at a glance, for the preservation dashboard and
 * GET /api/preservation/summary: how many stored copies (a master on one root, a pyramid, an
 * inventory: the units of the audit report) are in each state now, and the copies that need
 * a person, failures first. Read from the fixity read model's tables, one grouped scan.
 */
export const FIXITY_STATES = ['passed', 'failed', 'repaired', 'damaged', 'overdue', 'unchecked'] as const;
export type FixityStateWord = (typeof FIXITY_STATES)[number];

export interface FixityProblemItem {
  objectId: string;
  title: string | null;
  /** Absent for an inventory. */
  fileId?: string;
  target: FixityTarget;
  root: string;
  /** The OCFL content path of a master (absent for pyramids and inventories). */
  path: string | null;
  state: Exclude<FixityStateWord, 'passed' | 'unchecked'>;
  failure: FixityFailure | null;
  /** When it came to this state: the failure, repair or damage; for an overdue copy, when it was due. */
  at: string;
}

export interface FixitySummary {
  /** Copies by their latest state; `overdue` counts copies of any state whose next check is past. */
  counts: Record<FixityStateWord, number>;
  copies: number;
  objects: number;
  /** Damaged first, then failed, overdue, recently repaired; at most `limit`. */
  problems: FixityProblemItem[];
  /** More problem copies than listed. */
  moreProblems: number;
}

const DAY_MS = 86_400_000;
/** A repair stays on the dashboard this long: staff should see that it happened. */
export const REPAIRED_SHOWN_MS = 30 * DAY_MS;

interface Row {
  object_id: string;
  title: string | null;
  file_id: string;
  target: FixityTarget;
  root: string;
  content_path: string | null;
  state: 'unchecked' | 'ok' | 'failed' | 'repaired' | 'damaged';
  state_ms: number | null;
  last_failure: FixityFailure | null;
  due_ms: number;
  rank: number;
}

/** `heldBy`: only the works one library holds (a library's staff see their library's figures alone). */
export function fixitySummary(db: ReadModelDb, now: Date, policy: CyclePolicy & { limit: number; heldBy?: HeldBy | undefined }): FixitySummary {
  const counts: Record<FixityStateWord, number> = { passed: 0, failed: 0, repaired: 0, damaged: 0, overdue: 0, unchecked: 0 };
  if (!hasFixityTables(db)) return { counts, copies: 0, objects: 0, problems: [], moreProblems: 0 };
  const held = heldBySql(policy.heldBy);
  const params = { cycles: JSON.stringify(policy.collectionCycleDays), cycleDays: policy.cycleDays, now: now.getTime(), repairedSince: now.getTime() - REPAIRED_SHOWN_MS };
  // The same due date as dueChecks, less the day's re-look after a failure (a failed copy is a
  // failure here whatever its due date).
  const items = `SELECT i.*, o.collection_id,
        CASE WHEN i.last_checked_ms IS NULL
             THEN i.since_ms + CAST(i.spread * COALESCE(c.value, @cycleDays) * ${DAY_MS} AS INTEGER)
             ELSE i.last_checked_ms + CAST(COALESCE(c.value, @cycleDays) * ${DAY_MS} AS INTEGER) END AS due_ms
      FROM fixity_items i
      JOIN fixity_objects o ON o.object_id = i.object_id
      LEFT JOIN json_each(@cycles) c ON c.key = o.collection_id
     WHERE ${held.sql}`;
  const grouped = db
    .prepare<[...string[], typeof params], { state: Row['state']; n: number; overdue: number }>(
      `SELECT state, COUNT(*) AS n, SUM(due_ms < @now) AS overdue FROM (${items}) GROUP BY state`,
    )
    .all(...held.params, params);
  let copies = 0;
  for (const g of grouped) {
    copies += g.n;
    counts[g.state === 'ok' ? 'passed' : g.state] += g.n;
    counts.overdue += g.overdue ?? 0;
  }
  const objects = db.prepare<string[], { n: number }>(`SELECT COUNT(*) AS n FROM fixity_objects o WHERE ${held.sql}`).get(...held.params)?.n ?? 0;
  const hasObjects = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'objects'").get() !== undefined;
  const problemSql = `FROM (
        SELECT x.*, CASE WHEN x.state = 'damaged' THEN 0 WHEN x.state = 'failed' THEN 1 WHEN x.due_ms < @now THEN 2 ELSE 3 END AS rank
          FROM (${items}) x
         WHERE x.state IN ('damaged', 'failed') OR x.due_ms < @now OR (x.state = 'repaired' AND x.state_ms >= @repairedSince)
      ) p ${hasObjects ? 'LEFT JOIN objects ob ON ob.id = p.object_id' : ''}`;
  const total = db.prepare<[...string[], typeof params], { n: number }>(`SELECT COUNT(*) AS n ${problemSql}`).get(...held.params, params)?.n ?? 0;
  const rows = db
    .prepare<[...string[], typeof params & { limit: number }], Row>(
      `SELECT p.object_id, ${hasObjects ? 'ob.title' : 'NULL'} AS title, p.file_id, p.target, p.root, p.content_path, p.state, p.state_ms, p.last_failure, p.due_ms, p.rank
       ${problemSql} ORDER BY p.rank, COALESCE(p.state_ms, p.due_ms), p.item_id LIMIT @limit`,
    )
    .all(...held.params, { ...params, limit: policy.limit });
  const problems = rows.map((r): FixityProblemItem => {
    const state = r.rank === 0 ? 'damaged' : r.rank === 1 ? 'failed' : r.rank === 2 ? 'overdue' : 'repaired';
    const at = state === 'overdue' ? r.due_ms : (r.state_ms ?? r.due_ms);
    return {
      objectId: r.object_id,
      title: r.title,
      ...(r.file_id ? { fileId: r.file_id } : {}),
      target: r.target,
      root: r.root,
      path: r.content_path,
      state,
      failure: r.last_failure,
      at: new Date(at).toISOString(),
    };
  });
  return { counts, copies, objects, problems, moreProblems: Math.max(0, total - problems.length) };
}

/** Whether a work is known to fixity checking (it has been registered). */
export function fixityKnows(db: ReadModelDb, objectId: string): boolean {
  if (!hasFixityTables(db)) return false;
  return db.prepare<[string]>('SELECT 1 FROM fixity_objects WHERE object_id = ?').get(objectId) !== undefined;
}

import { SEAL_STREAM } from '../eventstore/seal.ts';
import type { Projection } from './projection.ts';
import { type ReadModelDb, statement } from './read-model-db.ts';

/**
 * Which OCFL objects owe a description version (application/self-description.ts), kept from
 * the log so that a crash, a restart or a change made by another process (a CLI ingest) is
 * never left undescribed. One row per subject, however many events arrive: a burst of edits
 * to a work, or a batch edit of 500 works, is one version per work.
 *
 * A person's change (the object and collection streams, seals) is due at once. A machine
 * fact (fixity, derivatives, OCR) is due `factsDelayMs` after it happened, so that the facts
 * of one run on a work share a version; that delay is the most that a storage root alone can
 * be missing after a disaster. FileReplicated is not a reason to write: a version's own
 * replication would otherwise ask for another version, for ever. It is carried by the next one.
 */
export interface DescriptionQueueOptions {
  factsDelayMs: number;
}

const DUE_NOW = 0;

function subjectOf(streamId: string, type: string, occurredAt: string, factsDelayMs: number): { key: string; due: number } | null {
  if (streamId.startsWith('object-')) return { key: `object:${streamId.slice('object-'.length)}`, due: DUE_NOW };
  if (streamId.startsWith('collection-')) return { key: `collection:${streamId.slice('collection-'.length)}`, due: DUE_NOW };
  if (streamId === SEAL_STREAM) return { key: 'seals', due: DUE_NOW };
  const fact = streamId.startsWith('preservation-') ? 'preservation-' : streamId.startsWith('facts-summary-') ? 'facts-summary-' : null;
  if (fact === null || type === 'FileReplicated') return null;
  const at = Date.parse(occurredAt);
  return { key: `object:${streamId.slice(fact.length)}`, due: (Number.isFinite(at) ? at : 0) + factsDelayMs };
}

export function descriptionQueue(options: DescriptionQueueOptions): Projection {
  return {
    name: 'description-queue',
    version: 1,
    filter: { streamPrefixes: ['object-', 'collection-', 'preservation-', 'facts-summary-', SEAL_STREAM] },
    setup(db) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS description_pending (
          subject TEXT PRIMARY KEY,
          due_at  INTEGER NOT NULL,
          seq     INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS description_pending_by_due ON description_pending (due_at);
      `);
    },
    reset(db) {
      db.exec('DROP TABLE IF EXISTS description_pending;');
    },
    apply(db, events) {
      const upsert = db.prepare(
        `INSERT INTO description_pending (subject, due_at, seq) VALUES (?, ?, 1)
         ON CONFLICT (subject) DO UPDATE SET due_at = MIN(due_at, excluded.due_at), seq = seq + 1`,
      );
      for (const e of events) {
        // `seal` is a prefix of nothing else we write, but the filter matches by prefix.
        if (e.streamId.startsWith(SEAL_STREAM) && e.streamId !== SEAL_STREAM) continue;
        const s = subjectOf(e.streamId, e.type, e.metadata.occurredAt, options.factsDelayMs);
        if (s) upsert.run(s.key, s.due);
      }
    },
  };
}

export interface PendingDescription {
  subject: string;
  dueAt: number;
  seq: number;
}

export function dueDescriptions(db: ReadModelDb, nowMs: number, limit: number): PendingDescription[] {
  return statement<[number, number], { subject: string; due_at: number; seq: number }>(
    db,
    'SELECT subject, due_at, seq FROM description_pending WHERE due_at <= ? ORDER BY due_at, subject LIMIT ?',
  )
    .all(nowMs, limit)
    .map((r) => ({ subject: r.subject, dueAt: r.due_at, seq: r.seq }));
}

/** Done, unless an event arrived meanwhile (then the row stays for the next round). */
export function markDescribed(db: ReadModelDb, row: PendingDescription): void {
  statement(db, 'DELETE FROM description_pending WHERE subject = ? AND seq = ?').run(row.subject, row.seq);
}

export function postponeDescription(db: ReadModelDb, row: PendingDescription, untilMs: number): void {
  statement(db, 'UPDATE description_pending SET due_at = MAX(due_at, ?) WHERE subject = ?').run(untilMs, row.subject);
}

export function pendingDescriptionCount(db: ReadModelDb): { total: number; due: number } {
  const r = statement<[number], { total: number; due: number }>(
    db,
    'SELECT COUNT(*) AS total, COALESCE(SUM(due_at <= ?), 0) AS due FROM description_pending',
  ).get(Date.now());
  return { total: r?.total ?? 0, due: r?.due ?? 0 };
}

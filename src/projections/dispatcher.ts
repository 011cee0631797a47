import { isEventType } from '../domain/events.ts';
import { pageImageId } from '../domain/page-image.ts';
import { type DerivativeJob, type OcrJob, QUEUES, type ReplicationJob } from '../queue/queues.ts';
import { eventData, WORK_STREAM_PREFIXES } from './decode.ts';
import type { Projection } from './projection.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * The dispatcher: the log is the outbox. Events that call for background work become rows
 * of `dispatch_outbox` (jobId = the causing event's id) in the same transaction as the
 * checkpoint, so no job is ever lost or invented; the dispatch pump moves pending rows to
 * BullMQ. A row closes when the log shows the work's outcome (DerivativeCreated or
 * DerivativeFailed), so if Redis loses its data the pump can re-enqueue every row still open.
 *
 * A page's derivative asks for its OCR, unless the page has a text already: one recorded
 * before the derivative (a born-digital PDF text, a transcription, an earlier reading) is
 * remembered in `dispatch_page_text`, and one recorded later (in the same append as the
 * derivative, or by the OCR worker) closes the row. A rebuild replays the same, so it reads
 * no page that has a text; an OcrFailed closes the row, and a page's next derivative asks again.
 */
const TYPES = ['FileIngested', 'DerivativeCreated', 'DerivativeFailed', 'FileReplicated', 'ObjectWithdrawn', 'PageTextRecorded', 'OcrCompleted', 'OcrFailed'];

export type OutboxState = 'pending' | 'enqueued' | 'done';

export interface OutboxRow {
  job_id: string;
  queue: string;
  name: string;
  payload: string;
  subject: string;
  state: OutboxState;
  created_at: string;
}

export interface DispatcherOptions {
  /** Replica roots are configured: every new OCFL version is copied to them. */
  replicate: boolean;
}

/**
 * Replicas added later are caught up by the replication worker's sweep at start, not by
 * this projection, so its output does not depend on when replicas were configured.
 */
export const dispatcher = (options: DispatcherOptions): Projection => ({
  name: 'dispatcher',
  version: 3,
  filter: { streamPrefixes: [...WORK_STREAM_PREFIXES], eventTypes: TYPES },

  setup(db) {
    db.exec(`
      -- One event may cause jobs on several queues: the job id is the event id on each.
      CREATE TABLE IF NOT EXISTS dispatch_outbox (
        job_id     TEXT NOT NULL,
        queue      TEXT NOT NULL,
        name       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        subject    TEXT NOT NULL,
        state      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (job_id, queue)
      );
      CREATE INDEX IF NOT EXISTS dispatch_outbox_by_state ON dispatch_outbox (state, created_at);
      CREATE INDEX IF NOT EXISTS dispatch_outbox_by_subject ON dispatch_outbox (subject);
      -- Pages ("objectId/imageId") that have a text: no OCR is asked for them.
      CREATE TABLE IF NOT EXISTS dispatch_page_text (subject TEXT PRIMARY KEY) WITHOUT ROWID;
    `);
  },

  reset(db) {
    db.exec('DROP TABLE IF EXISTS dispatch_outbox; DROP TABLE IF EXISTS dispatch_page_text;');
  },

  apply(db, events) {
    const insert = db.prepare(
      `INSERT OR IGNORE INTO dispatch_outbox (job_id, queue, name, payload, subject, state, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?)`,
    );
    const close = db.prepare("UPDATE dispatch_outbox SET state = 'done' WHERE subject = ? AND queue = ?");
    const hasText = db.prepare<[string], { subject: string }>('SELECT subject FROM dispatch_page_text WHERE subject = ?');
    const markText = db.prepare('INSERT OR IGNORE INTO dispatch_page_text (subject) VALUES (?)');
    // Derivatives of a withdrawn object are pointless; its replication is not (it is still kept).
    const closeObject = db.prepare("UPDATE dispatch_outbox SET state = 'done' WHERE subject >= ? AND subject < ? AND queue = ?");
    for (const e of events) {
      if (!isEventType(e.type)) continue;
      switch (e.type) {
        case 'FileIngested': {
          const f = eventData('FileIngested', e);
          if (options.replicate) {
            const job: ReplicationJob = { objectId: f.objectId, ocflObjectId: f.storage.ocflObjectId, version: f.storage.version, cause: e.id };
            insert.run(e.id, QUEUES.replication, 'replicate', JSON.stringify(job), `${f.objectId}/${f.storage.version}`, e.metadata.occurredAt);
          }
          const pages = (f.image !== undefined && f.mediaType.startsWith('image/')) || f.mediaType === 'application/pdf';
          if (!pages) break;
          const job: DerivativeJob = { objectId: f.objectId, fileId: f.fileId, masterSha512: f.digests.sha512, cause: e.id };
          insert.run(e.id, QUEUES.derivatives, 'derive', JSON.stringify(job), `${f.objectId}/${f.fileId}`, e.metadata.occurredAt);
          break;
        }
        case 'DerivativeFailed': {
          const d = eventData('DerivativeFailed', e);
          close.run(`${d.objectId}/${d.fileId}`, QUEUES.derivatives);
          break;
        }
        case 'DerivativeCreated': {
          const d = eventData('DerivativeCreated', e);
          close.run(`${d.objectId}/${d.fileId}`, QUEUES.derivatives);
          const page = d.page ?? 1;
          const subject = `${d.objectId}/${pageImageId(d.fileId, page)}`;
          if (hasText.get(subject)) break;
          const job: OcrJob = { objectId: d.objectId, fileId: d.fileId, page, masterSha512: d.masterSha512, cause: e.id };
          insert.run(e.id, QUEUES.ocr, 'read', JSON.stringify(job), subject, e.metadata.occurredAt);
          break;
        }
        case 'PageTextRecorded':
        case 'OcrCompleted': {
          const p = eventData(e.type, e);
          const subject = `${p.objectId}/${pageImageId(p.fileId, p.page ?? 1)}`;
          markText.run(subject);
          close.run(subject, QUEUES.ocr);
          break;
        }
        case 'OcrFailed': {
          const f = eventData('OcrFailed', e);
          close.run(`${f.objectId}/${pageImageId(f.fileId, f.page ?? 1)}`, QUEUES.ocr);
          break;
        }
        case 'FileReplicated': {
          // One per replica; the job copies to every replica at once, so the first one closes it.
          const r = eventData('FileReplicated', e);
          close.run(`${r.objectId}/${r.version}`, QUEUES.replication);
          break;
        }
        case 'ObjectWithdrawn': {
          const w = eventData('ObjectWithdrawn', e);
          // Every subject of the object: "id/" up to (not including) "id0" ('0' follows '/').
          closeObject.run(`${w.objectId}/`, `${w.objectId}0`, QUEUES.derivatives);
          closeObject.run(`${w.objectId}/`, `${w.objectId}0`, QUEUES.ocr);
          break;
        }
      }
    }
  },
});

export function pendingOutbox(db: ReadModelDb, limit: number): OutboxRow[] {
  return db.prepare<[number], OutboxRow>("SELECT * FROM dispatch_outbox WHERE state = 'pending' ORDER BY created_at LIMIT ?").all(limit);
}

/** Rows by state, of every queue or of one. */
export function outboxCounts(db: ReadModelDb, queue?: string): Record<OutboxState, number> {
  const counts: Record<OutboxState, number> = { pending: 0, enqueued: 0, done: 0 };
  const rows = queue === undefined
    ? db.prepare<[], { state: OutboxState; n: number }>('SELECT state, COUNT(*) AS n FROM dispatch_outbox GROUP BY state').all()
    : db.prepare<[string], { state: OutboxState; n: number }>('SELECT state, COUNT(*) AS n FROM dispatch_outbox WHERE queue = ? GROUP BY state').all(queue);
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}

/**
 * The pump's bookkeeping: only the state column, which the projection sets to 'pending'
 * and 'done' and the pump moves between 'pending' and 'enqueued'. A rebuild starts over
 * and may enqueue again; the jobs are idempotent.
 */
export function markOutbox(db: ReadModelDb, jobId: string, from: OutboxState, to: OutboxState): void {
  db.prepare(MARK_OUTBOX).run(to, jobId, from);
}

/**
 * By the primary key: `+state` keeps SQLite from choosing the state index, which it would
 * otherwise pick and then walk every pending row to find one job (a bulk ingest of 200,000
 * pages made each mark cost a scan of the outbox, and the pump crawled).
 */
export const MARK_OUTBOX = 'UPDATE dispatch_outbox SET state = ? WHERE job_id = ? AND +state = ?';

/** Rows handed to BullMQ whose outcome is not in the log yet, a page at a time in key order. */
export function enqueuedOutbox(db: ReadModelDb, after: { jobId: string; queue: string } | null, limit: number): OutboxRow[] {
  return db
    .prepare<[string, string, number], OutboxRow>(
      "SELECT * FROM dispatch_outbox WHERE state = 'enqueued' AND (job_id, queue) > (?, ?) ORDER BY job_id, queue LIMIT ?",
    )
    .all(after?.jobId ?? '', after?.queue ?? '', limit);
}

export function requeueEnqueued(db: ReadModelDb): number {
  return db.prepare("UPDATE dispatch_outbox SET state = 'pending' WHERE state = 'enqueued'").run().changes;
}

import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { freeBytes, NEARLY_FULL_BYTES } from '../storage/disk-space.ts';
import { parseEventMetadata } from './envelope.ts';
import { chainEvents, genesisHash } from './hash-chain.ts';
import {
  type AppendResult,
  type EventFilter,
  type EventStore,
  EventStoreFullError,
  type ExpectedRevision,
  IdempotencyConflictError,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamHead,
  type SubscribeOptions,
  type Subscription,
  WrongExpectedVersionError,
} from './port.ts';
import { checkStreamId, subscriptionFromPolling } from './subscription.ts';

/**
 * The embedded event log: one SQLite file in WAL mode.
 *
 * Durability: `synchronous=FULL`. In WAL mode NORMAL only syncs at checkpoints, so a power
 * cut can lose the last commits, and an event that a caller was told is stored must never
 * vanish (the OCFL bytes it names are already on disk). FULL syncs the WAL on every commit.
 *
 * Group commit: appends are queued and flushed together on the next turn of the event loop,
 * one transaction (one fsync) for everything that arrived meanwhile, each append inside its
 * own savepoint so that one caller's concurrency error does not fail the others. Every
 * caller is answered only after the commit that holds its events has returned.
 */
const PAGE = 1000;

interface Row {
  position: number;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
  created_at: number;
}

interface PendingAppend {
  streamId: string;
  events: NewEvent[];
  expected: ExpectedRevision;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

export interface SqliteEventStoreOptions {
  /** How often a subscription looks for events written by other processes (ms). */
  pollIntervalMs?: number;
}

export class SqliteEventStore implements EventStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly appended = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly pollIntervalMs: number;
  private readonly stmts;
  /**
   * The transaction wrappers, built once: better-sqlite3's `db.transaction()` allocates four
   * wrapper variants per call, which cost as much as a small insert on every append.
   * `appendInSavepoint` always runs inside `commitBatch`, so it uses a savepoint.
   */
  private readonly appendInSavepoint: (req: PendingAppend, now: number) => AppendResult;
  private readonly commitBatch: (batch: PendingAppend[], now: number, outcomes: Array<{ ok: AppendResult } | { err: unknown }>) => void;

  constructor(
    private readonly path: string,
    options: SqliteEventStoreOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    this.appended.setMaxListeners(0);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position   INTEGER PRIMARY KEY AUTOINCREMENT,
        stream_id  TEXT    NOT NULL,
        revision   INTEGER NOT NULL,
        event_id   TEXT    NOT NULL UNIQUE,
        type       TEXT    NOT NULL,
        data       TEXT    NOT NULL,
        metadata   TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (stream_id, revision)
      );
      CREATE TABLE IF NOT EXISTS streams (
        stream_id TEXT PRIMARY KEY,
        revision  INTEGER NOT NULL,
        position  INTEGER NOT NULL,
        head_hash TEXT    NOT NULL
      ) WITHOUT ROWID;
      -- The log is append-only. These triggers stop accidental edits; they are no defence
      -- against someone who drops them, which is what the hash chain and seals are for.
      CREATE TRIGGER IF NOT EXISTS events_are_immutable BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are immutable: append a correcting event instead'); END;
      CREATE TRIGGER IF NOT EXISTS events_are_permanent BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are permanent: append a correcting event instead'); END;
    `);
    this.stmts = {
      byEventId: this.db.prepare<[string], { stream_id: string; revision: number; position: number }>(
        'SELECT stream_id, revision, position FROM events WHERE event_id = ?',
      ),
      head: this.db.prepare<[string], { revision: number; position: number; head_hash: string }>(
        'SELECT revision, position, head_hash FROM streams WHERE stream_id = ?',
      ),
      insert: this.db.prepare(
        'INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      upsertHead: this.db.prepare(
        `INSERT INTO streams (stream_id, revision, position, head_hash) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, position = excluded.position, head_hash = excluded.head_hash`,
      ),
      streamForward: this.db.prepare<[string, number, number], Row>(
        'SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?',
      ),
      streamBackward: this.db.prepare<[string, number, number], Row>(
        'SELECT * FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?',
      ),
      maxPosition: this.db.prepare<[], { p: number | null }>('SELECT MAX(position) AS p FROM events'),
      streamsPage: this.db.prepare<[string, number], { stream_id: string; revision: number; head_hash: string }>(
        'SELECT stream_id, revision, head_hash FROM streams WHERE stream_id > ? ORDER BY stream_id LIMIT ?',
      ),
    };
    this.appendInSavepoint = this.db.transaction((req: PendingAppend, now: number) => this.appendOne(req, now));
    this.commitBatch = this.db.transaction(
      (batch: PendingAppend[], now: number, outcomes: Array<{ ok: AppendResult } | { err: unknown }>) => {
        for (const req of batch) {
          try {
            outcomes.push({ ok: this.appendInSavepoint(req, now) });
          } catch (err) {
            outcomes.push({ err });
          }
        }
      },
    ).immediate;
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    checkStreamId(streamId);
    return new Promise((resolve, reject) => {
      this.queue.push({ streamId, events, expected, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: AppendResult } | { err: unknown }> = [];
    const now = Date.now();
    try {
      this.commitBatch(batch, now, outcomes);
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is stored.
      const failure = this.storageError(err);
      for (const req of batch) req.reject(failure);
      return;
    }
    batch.forEach((req, i) => {
      const outcome = outcomes[i];
      if (outcome && 'ok' in outcome) req.resolve(outcome.ok);
      else req.reject(this.storageError(outcome?.err));
    });
    this.appended.emit('appended');
  }

  /**
   * SQLite answers SQLITE_FULL when a write finds no space; a failed sync or WAL-index growth
   * is only an I/O error, which is the full disk too when the log's disk has (almost) no space left.
   */
  private storageError(err: unknown): unknown {
    const code = (err as { code?: unknown } | undefined)?.code;
    if (typeof code !== 'string') return err;
    const ioOnFullDisk = code.startsWith('SQLITE_IOERR') && this.path !== ':memory:' && (freeBytes(dirname(this.path)) ?? Infinity) < NEARLY_FULL_BYTES;
    if (code !== 'SQLITE_FULL' && !ioOnFullDisk) return err;
    return new EventStoreFullError(`the event log's disk is full (${code}): nothing was written`, { cause: err });
  }

  private appendOne(req: PendingAppend, now: number): AppendResult {
    const { streamId, events, expected } = req;
    const first = events[0];
    if (first) {
      const existing = this.stmts.byEventId.get(first.id);
      if (existing) return this.idempotentResult(streamId, events, existing);
    }
    const head = this.stmts.head.get(streamId);
    const actual = head ? BigInt(head.revision) : 'no_stream';
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && !head) ||
      (expected === 'stream_exists' && head !== undefined) ||
      (typeof expected === 'bigint' && head !== undefined && BigInt(head.revision) === expected);
    if (!ok) throw new WrongExpectedVersionError(streamId, expected, actual);
    if (events.length === 0) {
      return { nextExpectedRevision: head ? BigInt(head.revision) : -1n, position: BigInt(head?.position ?? 0) };
    }
    const chained = chainEvents(head?.head_hash ?? genesisHash(streamId), events);
    let revision = head ? head.revision : -1;
    let position = 0;
    for (const e of chained) {
      revision++;
      const info = this.stmts.insert.run(
        streamId,
        revision,
        e.id,
        e.type,
        e.dataJson,
        JSON.stringify(e.metadata),
        now,
      );
      position = Number(info.lastInsertRowid);
    }
    const last = chained[chained.length - 1];
    this.stmts.upsertHead.run(streamId, revision, position, last?.metadata.hash);
    return { nextExpectedRevision: BigInt(revision), position: BigInt(position) };
  }

  /**
   * Writes a whole stream as it was in another log, at the global positions it had there
   * (`thukho recover`): the positions are what seals name, so a log rebuilt from a storage
   * root verifies against the seals on that root. Every event is chained again here exactly
   * as an append chains it; an event whose hash does not come out as recorded is refused,
   * and with it the whole stream (one transaction). The stream must not exist yet, and no
   * position may be taken: recovery writes into an empty log.
   */
  restoreStream(streamId: string, events: ReadonlyArray<Pick<RecordedEvent, 'id' | 'type' | 'data' | 'metadata' | 'position' | 'created'>>): void {
    if (this.closed) throw new Error('event store is closed');
    checkStreamId(streamId);
    if (events.length === 0) return;
    this.restoreTx(streamId, events);
  }

  private readonly restoreTx = (streamId: string, events: ReadonlyArray<Pick<RecordedEvent, 'id' | 'type' | 'data' | 'metadata' | 'position' | 'created'>>) =>
    this.db.transaction(() => {
      if (this.stmts.head.get(streamId)) throw new WrongExpectedVersionError(streamId, 'no_stream', BigInt(this.stmts.head.get(streamId)?.revision ?? 0));
      const insert = this.db.prepare('INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      const chained = chainEvents(
        genesisHash(streamId),
        events.map((e) => {
          const { prevHash: _p, hash: _h, ...metadata } = e.metadata;
          return { id: e.id, type: e.type, data: e.data, metadata };
        }),
      );
      chained.forEach((e, revision) => {
        const original = events[revision] as (typeof events)[number];
        if (e.metadata.hash !== original.metadata.hash || e.metadata.prevHash !== original.metadata.prevHash) {
          throw new Error(`${streamId} revision ${revision} (event ${e.id}): its hash does not come out as recorded; the stream is not restored`);
        }
        insert.run(Number(original.position), streamId, revision, e.id, e.type, e.dataJson, JSON.stringify(e.metadata), original.created.getTime());
      });
      const last = chained.at(-1) as (typeof chained)[number];
      this.stmts.upsertHead.run(streamId, chained.length - 1, Number((events.at(-1) as (typeof events)[number]).position), last.metadata.hash);
    }).immediate();

  /** A re-sent append: every id must already be in this stream, consecutively. */
  private idempotentResult(
    streamId: string,
    events: NewEvent[],
    first: { stream_id: string; revision: number; position: number },
  ): AppendResult {
    let last = first;
    for (let i = 0; i < events.length; i++) {
      const found = i === 0 ? first : this.stmts.byEventId.get((events[i] as NewEvent).id);
      if (!found || found.stream_id !== streamId || found.revision !== first.revision + i) {
        throw new IdempotencyConflictError(streamId, (events[i] as NewEvent).id);
      }
      last = found;
    }
    return { nextExpectedRevision: BigInt(last.revision), position: BigInt(last.position) };
  }

  private toRecorded(row: Row): RecordedEvent {
    const revision = BigInt(row.revision);
    return {
      id: row.event_id,
      streamId: row.stream_id,
      revision,
      position: BigInt(row.position),
      type: row.type,
      data: JSON.parse(row.data) as unknown,
      metadata: parseEventMetadata(row.stream_id, revision, JSON.parse(row.metadata)),
      created: new Date(row.created_at),
    };
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const backwards = options.direction === 'backwards';
    let limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    let cursor =
      from === 'start' ? 0 : from === 'end' ? Number.MAX_SAFE_INTEGER : Number(from);
    while (limit > 0) {
      const n = Math.min(PAGE, limit);
      const rows = backwards
        ? this.stmts.streamBackward.all(streamId, cursor, n)
        : this.stmts.streamForward.all(streamId, cursor, n);
      for (const row of rows) yield this.toRecorded(row);
      if (rows.length < n) return;
      limit -= rows.length;
      const lastRow = rows[rows.length - 1] as Row;
      cursor = backwards ? lastRow.revision - 1 : lastRow.revision + 1;
    }
  }

  private readonly filteredStmts = new Map<string, Database.Statement<unknown[], Row>>();

  /** One page of $all strictly after `after`, filtered in SQL. */
  readPage(after: number, limit: number, filter?: EventFilter): RecordedEvent[] {
    const prefixes = filter?.streamPrefixes ?? [];
    const types = filter?.eventTypes ?? [];
    const key = `${prefixes.length}:${types.length}`;
    let stmt = this.filteredStmts.get(key);
    if (!stmt) {
      const where = ['position > ?'];
      if (prefixes.length) where.push(`(${prefixes.map(() => 'substr(stream_id, 1, ?) = ?').join(' OR ')})`);
      if (types.length) where.push(`type IN (${types.map(() => '?').join(', ')})`);
      stmt = this.db.prepare<unknown[], Row>(
        `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY position ASC LIMIT ?`,
      );
      this.filteredStmts.set(key, stmt);
    }
    const params: unknown[] = [after];
    for (const p of prefixes) params.push(p.length, p);
    params.push(...types, limit);
    return stmt.all(...params).map((row) => this.toRecorded(row));
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    let after = options.after === undefined ? 0 : Number(options.after);
    let limit = options.maxCount ?? Number.POSITIVE_INFINITY;
    while (limit > 0) {
      const n = Math.min(PAGE, limit);
      const page = this.readPage(after, n, options.filter);
      for (const e of page) yield e;
      if (page.length < n) return;
      limit -= page.length;
      after = Number((page[page.length - 1] as RecordedEvent).position);
    }
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return subscriptionFromPolling({
      fromPosition: options.fromPosition,
      readPage: (after, limit) => this.readPage(Number(after), limit, options.filter),
      // One writer at a time: a position is committed only after every lower one is.
      committedHead: () => {
        const p = this.stmts.maxPosition.get()?.p;
        return p === null || p === undefined ? null : BigInt(p);
      },
      // Wakes at once on appends from this process; polls for appends by worker processes.
      waitForMore: (signal) =>
        new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.appended.off('appended', done);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, this.pollIntervalMs);
          this.appended.once('appended', done);
          signal.addEventListener('abort', done, { once: true });
        }),
    });
  }

  async *listStreams(): AsyncIterable<StreamHead> {
    let after = '';
    for (;;) {
      const rows = this.stmts.streamsPage.all(after, PAGE);
      for (const r of rows) yield { streamId: r.stream_id, revision: BigInt(r.revision), hash: r.head_hash };
      if (rows.length < PAGE) return;
      after = (rows[rows.length - 1] as { stream_id: string }).stream_id;
    }
  }

  async headPosition(): Promise<bigint | null> {
    const p = this.stmts.maxPosition.get()?.p;
    return p === null || p === undefined ? null : BigInt(p);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued appends commit before the handle goes away.
    if (this.queue.length) this.flush();
    this.closed = true;
    this.appended.emit('appended');
    this.db.close();
  }
}

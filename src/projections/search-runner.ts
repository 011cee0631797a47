import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { EventStore, RecordedEvent, Subscription } from '../eventstore/port.ts';
import { type SearchIndex, SearchUnavailableError } from '../search/port.ts';
import type { CatchUpProgress, ProjectionStatus } from './runtime.ts';
import { applySearchBatch, SEARCH_PROJECTION } from './search.ts';

/**
 * Runs the search projection: like `ProjectionRunner`, catch up from the checkpoint and
 * follow the log live in batches, but the checkpoint is the index's own (the index is in
 * another file, or another server) and applying is asynchronous.
 */

/**
 * Creates or migrates the index and clears it when it was made by another version of the
 * projection. Returns whether it starts empty.
 */
export async function prepareSearchIndex(index: SearchIndex, logger?: Logger): Promise<boolean> {
  const schema = await index.ensureSchema();
  const cp = await index.readCheckpoint();
  if (schema === 'migrated' || (cp && cp.version !== SEARCH_PROJECTION.version)) {
    logger?.warn({ projection: SEARCH_PROJECTION.name, schema, from: cp?.version, to: SEARCH_PROJECTION.version }, 'search index changed: rebuilding from the start');
    await index.clear();
    return true;
  }
  return cp === undefined || cp.position === null;
}

const IDLE = Symbol('idle');

export class SearchProjectionRunner {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private subscription: Subscription | undefined;
  private applied: bigint | null = null;
  private idle = false;
  private prepared = false;
  private readonly waiters = new Set<{ position: bigint; resolve: (ok: boolean) => void }>();
  private readonly stopSignal = new AbortController();
  private readonly current: ProjectionStatus = { name: SEARCH_PROJECTION.name, state: 'starting', position: null, retries: 0, lastError: null, lastErrorAt: null };
  private readonly batchSize: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly store: EventStore,
    readonly index: SearchIndex,
    private readonly logger: Logger,
    options: { batchSize?: number; maxBackoffMs?: number } = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  /**
   * An embedded index is ready before the server answers; a Typesense cluster that is down
   * does not stop the server from starting: search answers 503 and the schema is made once
   * the cluster answers.
   */
  async start(): Promise<void> {
    try {
      await this.prepare();
    } catch (err) {
      if (!(err instanceof SearchUnavailableError)) throw err;
      this.recordError(err);
    }
    this.loop = this.run();
  }

  private async prepare(): Promise<void> {
    if (this.prepared) return;
    await prepareSearchIndex(this.index, this.logger);
    this.prepared = true;
  }

  status(): ProjectionStatus {
    return { ...this.current, position: this.applied === null ? null : String(this.applied) };
  }

  lagBehind(head: bigint): number {
    if (this.idle && this.current.state === 'live') return 0;
    return Number(head - (this.applied ?? 0n));
  }

  /** Resolves true once events up to `position` are in the index. */
  waitForPosition(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.applied !== null && this.applied >= position) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = {
        position,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal.abort();
    await this.subscription?.close();
    await this.loop;
    this.current.state = 'stopped';
    for (const w of [...this.waiters]) w.resolve(false);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let sub: Subscription | undefined;
      try {
        await this.prepare();
        this.applied = (await this.index.readCheckpoint())?.position ?? null;
        this.current.state = 'catching-up';
        sub = this.store.subscribeToAll({ fromPosition: this.applied ?? 'start', filter: SEARCH_PROJECTION.filter });
        this.subscription = sub;
        const live = sub;
        void live.caughtUp.then(() => {
          if (this.subscription === live && this.current.state === 'catching-up') this.current.state = 'live';
        });
        await this.consume(sub);
        failures = 0;
      } catch (err) {
        // The store or the index failed (unreachable, unreadable event): back off, resubscribe
        // from the index's checkpoint, which moved only with what was applied.
        failures++;
        this.recordError(err);
        await this.backoff(failures);
      } finally {
        await sub?.close();
      }
    }
  }

  private async consume(sub: Subscription): Promise<void> {
    const it = sub[Symbol.asyncIterator]();
    let batch: RecordedEvent[] = [];
    let pending = it.next();
    // As in ProjectionRunner: a batch goes when the subscription has nothing more buffered.
    let tick: Promise<typeof IDLE> | undefined;
    while (!this.stopped) {
      let r: IteratorResult<RecordedEvent> | typeof IDLE;
      if (batch.length === 0) {
        this.idle = true;
        r = await pending;
        this.idle = false;
      } else {
        tick ??= new Promise((resolve) => setImmediate(() => resolve(IDLE)));
        r = await Promise.race([pending, tick]);
      }
      if (this.stopped) return;
      if (r !== IDLE) {
        if (r.done) return;
        batch.push(r.value);
        pending = it.next();
        if (batch.length < this.batchSize) continue;
      }
      tick = undefined;
      const fresh = this.applied === null ? batch : batch.filter((e) => e.position > (this.applied as bigint));
      batch = [];
      if (fresh.length === 0) continue;
      // A failure goes to run(), which resubscribes from the checkpoint: the batch is read again.
      this.applied = await applySearchBatch(this.store, this.index, fresh);
      if (this.current.state === 'retrying') this.current.state = 'catching-up';
      this.current.retries = 0;
      for (const w of [...this.waiters]) if (this.applied !== null && this.applied >= w.position) w.resolve(true);
    }
  }

  private recordError(err: unknown): void {
    this.current.state = 'retrying';
    this.current.retries++;
    this.current.lastError = err instanceof Error ? err.message : String(err);
    this.current.lastErrorAt = new Date().toISOString();
    this.logger.error({ projection: SEARCH_PROJECTION.name, err, retries: this.current.retries }, 'projection failed; will retry');
  }

  private async backoff(attempt: number): Promise<void> {
    const ms = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(attempt, 20));
    await sleep(ms, undefined, { signal: this.stopSignal.signal }).catch(() => {});
  }
}

/**
 * Clears the index and replays the log into it, up to the head as it is when this starts.
 * A server running meanwhile keeps writing documents from the works' current state, which
 * are the documents the replay writes too; its checkpoint is re-read when it resubscribes.
 */
export async function rebuildSearchIndex(
  store: EventStore,
  index: SearchIndex,
  onProgress?: (p: CatchUpProgress) => void,
  batchSize = 1000,
): Promise<{ events: number }> {
  await prepareSearchIndex(index);
  await index.clear();
  const head = await store.headPosition();
  let events = 0;
  if (head === null) return { events };
  let batch: RecordedEvent[] = [];
  const flush = async () => {
    const position = await applySearchBatch(store, index, batch);
    events += batch.length;
    batch = [];
    onProgress?.({ position: position ?? 0n, head, events });
  };
  for await (const e of store.readAll({ filter: SEARCH_PROJECTION.filter })) {
    if (e.position > head) break;
    batch.push(e);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length) await flush();
  // Nothing for this projection after the last event it read: say it is at the head.
  await index.upsert([], { version: SEARCH_PROJECTION.version, position: head });
  onProgress?.({ position: head, head, events });
  return { events };
}

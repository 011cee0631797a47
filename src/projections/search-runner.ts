import type { Logger } from 'pino';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { type SearchIndex, SearchUnavailableError } from '../search/port.ts';
import { type ApplyOutcome, type CatchUpProgress, LogFollower, type RunnerOptions } from './runtime.ts';
import { applySearchBatch, SEARCH_PROJECTION } from './search.ts';

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

/** Runs the search projection; the checkpoint is the index's own, moved with each batch's documents. */
export class SearchProjectionRunner extends LogFollower {
  constructor(
    store: EventStore,
    readonly index: SearchIndex,
    logger: Logger,
    options: RunnerOptions = {},
  ) {
    super(store, SEARCH_PROJECTION.name, SEARCH_PROJECTION.filter, logger, { ...options, batchSize: options.batchSize ?? 500 });
  }

  protected async prepare(): Promise<void> {
    await prepareSearchIndex(this.index, this.logger);
  }

  /**
   * An embedded index is ready before the server answers; a Typesense cluster that is down
   * does not stop the server from starting: search answers 503 and the schema is made once
   * the cluster answers.
   */
  protected override mayStartUnprepared(err: unknown): boolean {
    return err instanceof SearchUnavailableError;
  }

  protected async checkpoint(): Promise<bigint | null> {
    return (await this.index.readCheckpoint())?.position ?? null;
  }

  /**
   * One searcher writes the index: the index has no compare-and-set on its checkpoint, and
   * needs none, as its documents are made from each work's current state (see search.ts).
   */
  protected async apply(expected: bigint | null, events: RecordedEvent[]): Promise<ApplyOutcome> {
    const fresh = expected === null ? events : events.filter((e) => e.position > expected);
    if (fresh.length === 0) return { kind: 'applied', position: expected };
    return { kind: 'applied', position: await applySearchBatch(this.store, this.index, fresh) };
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

import { type DomainEvent, isEventType, parseEventData } from '../domain/events.ts';
import type { EventStore } from '../eventstore/port.ts';

/**
 * A stream's state folded from its events, remembered per store so that the next command
 * on the same stream reads only what was appended since (by this process or any other):
 * streams only grow, so a state at revision r plus the events after r is the state now.
 * Without it, a bulk ingest of a 1,000-page book would replay the stream once per page.
 *
 * States must be immutable (every `evolve` here returns a new object): a cached state is
 * handed to several callers.
 */
export interface Fold<S, E extends DomainEvent> {
  initial: S;
  evolve: (state: S, event: E) => S;
}

export interface Folded<S> {
  state: S;
  /** Revision of the last event folded; -1 when the stream does not exist. */
  revision: bigint;
}

const MAX_STREAMS = 256;

/** store → fold → stream → state; a Map keeps insertion order, which makes it an LRU. */
const caches = new WeakMap<EventStore, WeakMap<object, Map<string, Folded<unknown>>>>();

function cacheOf(store: EventStore, fold: object): Map<string, Folded<unknown>> {
  let byFold = caches.get(store);
  if (!byFold) caches.set(store, (byFold = new WeakMap()));
  let byStream = byFold.get(fold);
  if (!byStream) byFold.set(fold, (byStream = new Map()));
  return byStream;
}

function remember<S>(cache: Map<string, Folded<unknown>>, streamId: string, folded: Folded<S>): void {
  cache.delete(streamId);
  cache.set(streamId, folded);
  if (cache.size > MAX_STREAMS) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
}

/** Whether this process has a folded state of the stream to continue from. */
export function isFolded(store: EventStore, streamId: string, fold: object): boolean {
  return cacheOf(store, fold).has(streamId);
}

/** `start`: a state known to hold at a revision, to fold on from when nothing is cached. */
export async function foldStream<S, E extends DomainEvent>(store: EventStore, streamId: string, fold: Fold<S, E>, start?: Folded<S>): Promise<Folded<S>> {
  const cache = cacheOf(store, fold);
  const cached = cache.get(streamId) as Folded<S> | undefined;
  let { state, revision } = cached ?? start ?? { state: fold.initial, revision: -1n };
  const options = revision >= 0n ? { fromRevision: revision + 1n } : {};
  for await (const recorded of store.readStream(streamId, options)) {
    if (isEventType(recorded.type)) {
      const data = parseEventData(recorded.type, recorded.metadata.schemaVersion, recorded.data);
      state = fold.evolve(state, { type: recorded.type, data } as E);
    }
    revision = recorded.revision;
  }
  if (revision >= 0n) remember(cache, streamId, { state, revision });
  return { state, revision };
}

/** After a successful append at `revision`, the caller knows the state: no need to read it back. */
export function foldedAfterAppend<S, E extends DomainEvent>(store: EventStore, streamId: string, fold: Fold<S, E>, folded: Folded<S>): void {
  remember(cacheOf(store, fold), streamId, folded);
}

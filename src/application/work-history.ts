import { CorruptEventError } from '../eventstore/envelope.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { objectStream, preservationStream } from './streams.ts';

/**
 * A work's whole history: its two streams, each read whole, and their events in log order.
 * A record whose envelope cannot be parsed ends that stream's read there and is handed back
 * as `corrupt`, for the caller to report or refuse.
 */
export interface StreamRead {
  events: RecordedEvent[];
  corrupt?: CorruptEventError;
}

/** A stream read whole (or from a revision on), stopping at a record that cannot be parsed. */
export async function readWholeStream(store: EventStore, streamId: string, fromRevision?: bigint): Promise<StreamRead> {
  const events: RecordedEvent[] = [];
  try {
    for await (const e of store.readStream(streamId, fromRevision === undefined ? undefined : { fromRevision })) events.push(e);
  } catch (err) {
    if (err instanceof CorruptEventError) return { events, corrupt: err };
    throw err;
  }
  return { events };
}

/** Log order of events read from several streams. */
export const byPosition = (a: RecordedEvent, b: RecordedEvent): number => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0);

/**
 * `objectSoFar`: the object stream's events the caller has read already (from its start);
 * only those after them are read again.
 */
export async function readWork(
  store: EventStore,
  objectId: string,
  objectSoFar: readonly RecordedEvent[] = [],
): Promise<{ object: StreamRead; facts: StreamRead; merged: RecordedEvent[] }> {
  // Facts first: every fact read then is about files already ingested, so the object stream
  // read after it holds them, even while both streams grow.
  const facts = await readWholeStream(store, preservationStream(objectId));
  const last = objectSoFar.at(-1);
  const rest = await readWholeStream(store, objectStream(objectId), last === undefined ? undefined : last.revision + 1n);
  const object: StreamRead = { ...rest, events: [...objectSoFar, ...rest.events] };
  return { object, facts, merged: [...object.events, ...facts.events].sort(byPosition) };
}

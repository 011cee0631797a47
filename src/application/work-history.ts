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

async function readAllOf(store: EventStore, streamId: string): Promise<StreamRead> {
  const events: RecordedEvent[] = [];
  try {
    for await (const e of store.readStream(streamId)) events.push(e);
  } catch (err) {
    if (err instanceof CorruptEventError) return { events, corrupt: err };
    throw err;
  }
  return { events };
}

/** Log order of events read from several streams. */
export const byPosition = (a: RecordedEvent, b: RecordedEvent): number => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0);

export async function readWork(store: EventStore, objectId: string): Promise<{ object: StreamRead; facts: StreamRead; merged: RecordedEvent[] }> {
  // Facts first: every fact read then is about files already ingested, so the object stream
  // read after it holds them, even while both streams grow.
  const facts = await readAllOf(store, preservationStream(objectId));
  const object = await readAllOf(store, objectStream(objectId));
  return { object, facts, merged: [...object.events, ...facts.events].sort(byPosition) };
}

import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import type { NewEvent, RecordedEvent } from '../../src/eventstore/port.ts';

/** A well-formed event for store-level tests (the store does not care about domain types). */
export function testEvent(type: string, data: unknown, id: string = randomUUID()): NewEvent {
  return {
    id,
    type,
    data,
    metadata: {
      eventId: id,
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      actor: { id: 'test', role: 'staff' },
      correlationId: id,
      causationId: null,
    },
  };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

/** A RecordedEvent as a store would hand it to a projection (no hash chain: projections do not read it). */
export function recordedEvent(streamId: string, revision: bigint, position: bigint, type: string, data: unknown): RecordedEvent {
  const e = testEvent(type, data);
  return { id: e.id, streamId, revision, position, type, data, metadata: { ...e.metadata, prevHash: '', hash: '' }, created: new Date() };
}

/** Opens a data directory's event log (events.sqlite) for `f`, and closes it again. */
export async function withEventLog<T>(dataDir: string, f: (store: SqliteEventStore) => Promise<T>): Promise<T> {
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** How many events a data directory's log holds (0 before it has one). */
export const countEvents = (dataDir: string): Promise<number> =>
  existsSync(join(dataDir, 'events.sqlite')) ? withEventLog(dataDir, async (s) => Number((await s.headPosition()) ?? 0n)) : Promise.resolve(0);

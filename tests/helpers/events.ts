import { randomUUID } from 'node:crypto';
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

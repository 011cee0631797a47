import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../../src/eventstore/port.ts';

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

import { randomBytes } from 'node:crypto';

/**
 * Event ids are UUIDv7 (RFC 9562): time-ordered, so that the log's unique index on event
 * ids grows at its right edge instead of touching a random page per event (random v4 ids
 * cost about twice the WAL bytes per append), and still valid UUIDs for EventStoreDB.
 */
export function newEventId(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | ((b[6] as number) & 0x0f);
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

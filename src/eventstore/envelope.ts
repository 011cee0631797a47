import { z } from 'zod';
import type { EventMetadata } from './port.ts';

/**
 * The envelope every stored event carries, validated whenever an event is read back.
 * Loose on purpose: unknown keys are kept, so that what the hash chain verifies is exactly
 * what was stored, and a key added by tampering changes the hash instead of vanishing.
 */
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const EventMetadataSchema = z.looseObject({
  eventId: z.string().min(1),
  schemaVersion: z.number().int().positive(),
  occurredAt: z.string().min(1),
  actor: z.looseObject({ id: z.string().min(1), role: z.string().min(1) }),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).nullable(),
  prevHash: Hex64,
  hash: Hex64,
});

export class CorruptEventError extends Error {
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly reason: string,
  ) {
    super(`event ${streamId}@${revision} cannot be read: ${reason}`);
    this.name = 'CorruptEventError';
  }
}

/**
 * The same rules as EventMetadataSchema, by hand: every event read back (a replay reads
 * millions) passes through here, and zod's walk cost as much as parsing the row's JSON.
 * Only an envelope this accepts skips zod; anything it doubts goes to the schema, which stays
 * the judge and words the error (tests/unit/envelope-fast-check.test.ts holds the two together).
 */
const HEX64 = /^[0-9a-f]{64}$/;
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function plainlyValid(raw: unknown): raw is EventMetadata {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false;
  const m = raw as Record<string, unknown>;
  const actor = m.actor as Record<string, unknown> | null | undefined;
  return (
    nonEmpty(m.eventId) &&
    typeof m.schemaVersion === 'number' && Number.isSafeInteger(m.schemaVersion) && m.schemaVersion > 0 &&
    nonEmpty(m.occurredAt) &&
    actor !== null && typeof actor === 'object' && !Array.isArray(actor) && nonEmpty(actor.id) && nonEmpty(actor.role) &&
    nonEmpty(m.correlationId) &&
    (m.causationId === null || nonEmpty(m.causationId)) &&
    typeof m.prevHash === 'string' && HEX64.test(m.prevHash) &&
    typeof m.hash === 'string' && HEX64.test(m.hash)
  );
}

export function parseEventMetadata(streamId: string, revision: bigint, raw: unknown): EventMetadata {
  if (plainlyValid(raw)) return raw;
  const parsed = EventMetadataSchema.safeParse(raw);
  if (!parsed.success) throw new CorruptEventError(streamId, revision, `metadata: ${parsed.error.message}`);
  return parsed.data as EventMetadata;
}

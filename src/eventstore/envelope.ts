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

export function parseEventMetadata(streamId: string, revision: bigint, raw: unknown): EventMetadata {
  const parsed = EventMetadataSchema.safeParse(raw);
  if (!parsed.success) throw new CorruptEventError(streamId, revision, `metadata: ${parsed.error.message}`);
  return parsed.data as EventMetadata;
}

import { Redis } from 'ioredis';
import { z } from 'zod';
import { redisConnectionOptions } from './redis.ts';

/** Queue names and job payloads: the contract between whoever enqueues and the workers. */
export const QUEUES = {
  audit: 'thukho-audit',
} as const;

export const AuditJob = z.object({ kind: z.literal('verify-chain') }).strict();
export type AuditJob = z.infer<typeof AuditJob>;

/** Where the last chain audit's result is kept, for /health. */
export const LAST_AUDIT_KEY = 'thukho:audit:last';

export const AuditResult = z.object({
  finishedAt: z.string(),
  streams: z.number().int(),
  events: z.number().int(),
  broken: z.array(z.object({ streamId: z.string(), revision: z.number(), reason: z.string() })),
});
export type AuditResult = z.infer<typeof AuditResult>;

/**
 * BullMQ wants an ioredis instance (its ESM build cannot load ioredis from bare options),
 * and a blocking worker wants one of its own.
 */
export function queueConnection(url: string): Redis {
  return new Redis(redisConnectionOptions(url));
}

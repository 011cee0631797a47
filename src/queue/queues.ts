import { Redis } from 'ioredis';
import { z } from 'zod';
import { redisConnectionOptions } from './redis.ts';

/** Queue names and job payloads: the contract between whoever enqueues and the workers. */
export const QUEUES = {
  audit: 'thukho-audit',
  derivatives: 'thukho-derivatives',
  replication: 'thukho-replication',
  ocr: 'thukho-ocr',
  /** Scheduled by their workers (workers/fixity.ts, workers/seal.ts), named here so /health and `thukho jobs` see every queue. */
  fixity: 'thukho-fixity',
  seal: 'thukho-seal',
} as const;
export type QueueKey = keyof typeof QUEUES;

/** Copy a new OCFL version to every replica root; made by the dispatcher from FileIngested. */
export const ReplicationJob = z
  .object({
    objectId: z.string().min(1).max(64),
    ocflObjectId: z.string().min(1).max(200),
    version: z.string().regex(/^v\d+$/),
    cause: z.string().min(1).max(64),
  })
  .strict();
export type ReplicationJob = z.infer<typeof ReplicationJob>;

/** Made by the dispatcher from a FileIngested event; jobId = that event's id. */
export const DerivativeJob = z
  .object({
    objectId: z.string().min(1).max(64),
    fileId: z.string().min(1).max(64),
    masterSha512: z.string().regex(/^[0-9a-f]{128}$/),
    /** The event that caused the job (FileIngested), or "missing" when the image server found the derivative gone. */
    cause: z.string().min(1).max(64),
  })
  .strict();
export type DerivativeJob = z.infer<typeof DerivativeJob>;

/**
 * Read one page by OCR: made by the dispatcher from the page's DerivativeCreated (jobId = that
 * event's id), or on demand by `thukho ocr` (which re-reads pages that have text already).
 */
export const OcrJob = z
  .object({
    objectId: z.string().min(1).max(64),
    fileId: z.string().min(1).max(64),
    page: z.number().int().min(1).max(100_000),
    masterSha512: z.string().regex(/^[0-9a-f]{128}$/),
    cause: z.string().min(1).max(64),
    /** On demand: read the page again even if it has text (new models make a new current reading). */
    again: z.boolean().optional(),
  })
  .strict();
export type OcrJob = z.infer<typeof OcrJob>;

/** Retries and retention per queue: completed jobs are kept a while so a re-offered jobId stays one job. */
export const JOB_OPTIONS = {
  [QUEUES.replication]: {
    attempts: 10,
    backoff: { type: 'exponential', delay: 30_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  },
  [QUEUES.derivatives]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 10_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  },
  [QUEUES.ocr]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 15_000 },
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  },
} as const;

/**
 * The fixity queue's jobs: the scheduled run over what is due (workers/fixity.ts), or every copy
 * of one work checked now, asked for by staff (POST /api/objects/:id/fixity-check). One job per
 * work at a time (jobId `check-object-<id>`): asking again while it waits adds nothing.
 */
export const FixityJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('check-due') }).strict(),
  z
    .object({
      kind: z.literal('check-object'),
      objectId: z.string().min(1).max(64),
      /** Who asked (the actor's id), for the log line and the correlation id. */
      requestedBy: z.string().min(1).max(200),
    })
    .strict(),
]);
export type FixityJob = z.infer<typeof FixityJob>;
export const fixityObjectJobId = (objectId: string) => `check-object-${objectId}`;

export const AuditJob = z.object({ kind: z.literal('verify-chain') }).strict();
export type AuditJob = z.infer<typeof AuditJob>;

/** Where the last chain audit's result is kept, for /health (under the installation's queue prefix). */
export const lastAuditKey = (queuePrefix: string) => `${queuePrefix}:audit:last`;

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

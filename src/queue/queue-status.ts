import type { Queue } from 'bullmq';
import { pageImageId } from '../domain/page-image.ts';
import { OcrJob, QUEUES, type QueueKey } from './queues.ts';

/**
 * What the queues hold, for /health and `thukho jobs`: how many jobs wait, run, wait for a
 * retry or have failed for good on each queue, and which failed and why. Failed jobs are kept
 * for 30 days (JOB_OPTIONS), so a page that fails again and again is seen here.
 */
export interface QueueDepth {
  /** Waiting for a worker (prioritised ones included). */
  waiting: number;
  active: number;
  /** Waiting for their next attempt (backoff). */
  delayed: number;
  /** Out of attempts. */
  failed: number;
}

export async function queueDepth(queue: Queue): Promise<QueueDepth> {
  const c = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
  return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
}

export interface FailedJob {
  queue: string;
  jobId: string;
  name: string;
  /** The job's payload as it was enqueued. */
  data: unknown;
  reason: string;
  attempts: number;
  failedAt: string | null;
}

/** The most recently failed jobs of a queue, newest first. */
export async function failedJobs(queue: Queue, limit: number): Promise<FailedJob[]> {
  if (limit <= 0) return [];
  const jobs = await queue.getFailed(0, limit - 1);
  return jobs.map((job) => ({
    queue: queue.name,
    jobId: job.id ?? '',
    name: job.name,
    data: job.data as unknown,
    reason: job.failedReason ?? '',
    attempts: job.attemptsMade,
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  }));
}

/** A failed OCR job as staff read it: which work and page, why, after how many attempts. */
export interface FailedOcrPage {
  objectId: string;
  imageId: string;
  page: number;
  reason: string;
  attempts: number;
  failedAt: string | null;
  jobId: string;
}

export function failedOcrPage(job: FailedJob): FailedOcrPage | undefined {
  const parsed = OcrJob.safeParse(job.data);
  if (!parsed.success) return undefined;
  const { objectId, fileId, page } = parsed.data;
  return { objectId, imageId: pageImageId(fileId, page), page, reason: job.reason, attempts: job.attempts, failedAt: job.failedAt, jobId: job.jobId };
}

export interface QueueStatus {
  depths: Record<QueueKey, QueueDepth>;
  /** The most recent OCR jobs out of attempts, newest first. */
  failedOcr: FailedOcrPage[];
}

/** Each queue's depth, and the last `failedLimit` OCR jobs out of attempts. */
export async function readQueueStatus(queues: Record<QueueKey, Queue>, failedLimit: number): Promise<QueueStatus> {
  const keys = Object.keys(QUEUES) as QueueKey[];
  const [depths, failed] = await Promise.all([
    Promise.all(keys.map(async (key) => [key, await queueDepth(queues[key])] as const)),
    failedJobs(queues.ocr, failedLimit),
  ]);
  return {
    depths: Object.fromEntries(depths) as Record<QueueKey, QueueDepth>,
    failedOcr: failed.flatMap((job) => failedOcrPage(job) ?? []),
  };
}

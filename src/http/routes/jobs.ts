import Router from '@koa/router';
import type { Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { failedJobs, type FailedJob, queueDepth, type QueueDepth } from '../../queue/queue-status.ts';
import { QUEUES, type QueueKey } from '../../queue/queues.ts';
import { requireStaff } from '../auth.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';

/**
 * GET /api/jobs (staff): every background queue's depth, the jobs running now and the last
 * jobs out of attempts, with the reason each failed. Retrying a failed job is the admins'
 * queue board (/staff/queues, bull-board); this is what everyone on staff may read.
 */
export const JobsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }).strict();

export interface RunningJob {
  queue: string;
  jobId: string;
  name: string;
  data: unknown;
  startedAt: string | null;
  progress: unknown;
}

export interface JobsReport {
  queues: Array<{ key: QueueKey; name: string } & QueueDepth>;
  running: RunningJob[];
  failed: FailedJob[];
}

async function running(queue: Queue, limit: number): Promise<RunningJob[]> {
  const jobs = await queue.getActive(0, limit - 1);
  return jobs.map((job) => ({
    queue: queue.name,
    jobId: job.id ?? '',
    name: job.name,
    data: job.data as unknown,
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    progress: job.progress as unknown,
  }));
}

const REDIS_WAIT_MS = 3000;

export async function jobsReport(queues: Readonly<Record<QueueKey, Queue>>, limit: number): Promise<JobsReport> {
  const keys = Object.keys(QUEUES) as QueueKey[];
  const work = Promise.all(
    keys.map(async (key) => {
      const queue = queues[key];
      const [depth, active, failed] = await Promise.all([queueDepth(queue), running(queue, limit), failedJobs(queue, limit)]);
      return { key, depth, active, failed };
    }),
  );
  const answered = await Promise.race([work, sleep(REDIS_WAIT_MS, null, { ref: false })]);
  if (answered === null) {
    throw new Problem(503, 'queue-unavailable', {
      vi: 'Hàng đợi công việc (Redis) không trả lời; hãy thử lại sau.',
      en: 'The job queue (Redis) does not answer; try again later.',
    });
  }
  return {
    queues: answered.map((q) => ({ key: q.key, name: QUEUES[q.key], ...q.depth })),
    running: answered.flatMap((q) => q.active),
    failed: answered.flatMap((q) => q.failed).sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? '')),
  };
}

export function jobRoutes(services: AppServices): Router {
  const router = new Router();
  router.get('/api/jobs', async (ctx) => {
    requireStaff(ctx);
    const { limit } = JobsQuery.parse(ctx.query);
    ctx.set('Cache-Control', 'private, no-store');
    ctx.body = await jobsReport(services.queues, limit);
  });
  return router;
}

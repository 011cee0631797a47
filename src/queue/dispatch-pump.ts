import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions, Queue } from 'bullmq';
import { type Redis, ReplyError } from 'ioredis';
import type { Logger } from 'pino';
import { enqueuedOutbox, markOutbox, type OutboxRow, pendingOutbox, requeueEnqueued } from '../projections/dispatcher.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';

/**
 * Moves the dispatcher's pending outbox rows into BullMQ, with jobId = the causing event's
 * id so that a row offered twice is one job. Redis is not the record: a marker key names
 * the Redis instance (its run_id) that holds what we enqueued. When the key is gone (flushed,
 * replaced) or names another instance (restarted: its AOF may lack the last second), every
 * row still open is offered again; a job Redis still has is not added twice. A row stays open
 * until the log shows the outcome, so a job BullMQ gave up on (or lost) without one (the
 * worker could not record it: the log's disk was full) is enqueued again too, at start and
 * every minute.
 */
export interface DispatchPumpOptions {
  db: ReadModelDb;
  /** Queues by name, as the outbox rows name them. */
  queues: Record<string, Queue>;
  jobOptions: Record<string, JobsOptions>;
  redis: Redis;
  markerKey: string;
  logger: Logger;
  intervalMs?: number;
  /** How often open rows are checked against BullMQ for failed or lost jobs. */
  redriveEveryMs?: number;
  /**
   * How long a failed job waits before it is enqueued again: a worker records the outcome
   * before the job fails, and the dispatcher needs a moment to close the row.
   */
  redriveAfterMs?: number;
}

export class DispatchPump {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private failures = 0;
  enqueued = 0;
  redriven = 0;

  constructor(private readonly options: DispatchPumpOptions) {}

  start(): void {
    this.loop = this.run();
  }

  /**
   * Stops the loop. A command waiting for a redis that has gone (stopped with us by systemd)
   * would wait for ever: after a moment the caller's disconnect fails it instead.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.race([this.loop, sleep(2000)]);
  }

  /** One pass: returns how many jobs were enqueued. */
  async pumpOnce(): Promise<number> {
    const { db, queues, redis, markerKey, logger } = this.options;
    const instance = await redisInstance(redis);
    if ((await redis.get(markerKey)) !== instance) {
      const reopened = requeueEnqueued(db);
      if (reopened) logger.warn({ jobs: reopened }, 'redis restarted or lost its queues: offering open jobs from the log again');
      await redis.set(markerKey, instance);
    }
    let n = 0;
    for (;;) {
      const rows = pendingOutbox(db, 200);
      if (rows.length === 0) break;
      for (const row of rows) {
        const queue = queues[row.queue];
        if (!queue) {
          logger.error({ queue: row.queue, jobId: row.job_id }, 'outbox row names an unknown queue');
          markOutbox(db, row.job_id, 'pending', 'done');
          continue;
        }
        await queue.add(row.name, JSON.parse(row.payload) as unknown, { ...this.options.jobOptions[row.queue], jobId: row.job_id });
        markOutbox(db, row.job_id, 'pending', 'enqueued');
        n++;
      }
      if (this.stopped) break;
    }
    this.enqueued += n;
    return n;
  }

  /** One pass over the open rows: enqueues again each whose job failed or is gone; returns how many. */
  async redriveStranded(): Promise<number> {
    const { db } = this.options;
    let after: { jobId: string; queue: string } | null = null;
    let n = 0;
    while (!this.stopped) {
      const rows = enqueuedOutbox(db, after, 200);
      if (rows.length === 0) break;
      const redriven = await Promise.all(rows.map((row) => this.redrive(row)));
      n += redriven.filter(Boolean).length;
      const last = rows[rows.length - 1] as OutboxRow;
      after = { jobId: last.job_id, queue: last.queue };
    }
    if (n) this.options.logger.warn({ jobs: n }, 'dispatch: jobs that ended with no outcome in the log are enqueued again');
    this.redriven += n;
    return n;
  }

  private async redrive(row: OutboxRow): Promise<boolean> {
    const queue = this.options.queues[row.queue];
    if (!queue) return false;
    const job = await queue.getJob(row.job_id);
    if (job) {
      if ((await job.getState()) !== 'failed') return false;
      if (Date.now() - (job.finishedOn ?? 0) < (this.options.redriveAfterMs ?? 60_000)) return false;
      await job.remove();
    }
    await queue.add(row.name, JSON.parse(row.payload) as unknown, { ...this.options.jobOptions[row.queue], jobId: row.job_id });
    return true;
  }

  private async run(): Promise<void> {
    const interval = this.options.intervalMs ?? 500;
    const redriveEvery = this.options.redriveEveryMs ?? 60_000;
    let redriveDue = 0;
    while (!this.stopped) {
      try {
        await this.pumpOnce();
        if (Date.now() >= redriveDue) {
          await this.redriveStranded();
          redriveDue = Date.now() + redriveEvery;
        }
        this.failures = 0;
      } catch (err) {
        if (this.stopped) break;
        // Redis down: the rows stay pending and go when it is back.
        this.failures++;
        if (this.failures === 1 || this.failures % 60 === 0) this.options.logger.warn({ err: (err as Error).message }, 'dispatch: cannot enqueue jobs yet');
      }
      await sleep(interval, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }
}

/** The run_id of the Redis server (new at each start); a constant where INFO is refused (a managed Redis). */
async function redisInstance(redis: Redis): Promise<string> {
  const info = await redis.info('server').catch((err: unknown) => {
    if (err instanceof ReplyError) return '';
    throw err;
  });
  return /^run_id:(\w+)/m.exec(info)?.[1] ?? 'unknown';
}

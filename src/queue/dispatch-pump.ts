import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { markOutbox, pendingOutbox, requeueEnqueued } from '../projections/dispatcher.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';

/**
 * Moves the dispatcher's pending outbox rows into BullMQ, with jobId = the causing event's
 * id so that a row offered twice is one job. Redis is not the record: a marker key says
 * whether this Redis still holds what we enqueued; when it is gone (Redis restarted empty,
 * flushed, replaced), every row still open is enqueued again.
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
}

export class DispatchPump {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private failures = 0;
  enqueued = 0;

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
    if (!(await redis.exists(markerKey))) {
      const reopened = requeueEnqueued(db);
      if (reopened) logger.warn({ jobs: reopened }, 'redis lost its queues: re-enqueueing open jobs from the log');
      await redis.set(markerKey, new Date().toISOString());
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

  private async run(): Promise<void> {
    const interval = this.options.intervalMs ?? 500;
    while (!this.stopped) {
      try {
        await this.pumpOnce();
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

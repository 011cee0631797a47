import { Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { verifyLog } from '../src/eventstore/verify.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { AuditJob, type AuditResult, QUEUES, lastAuditKey, queueConnection } from '../src/queue/queues.ts';

/**
 * The chain-audit worker: re-verifies every stream's hash chain on a schedule (BullMQ job
 * scheduler, so exactly one run per period however many workers are up) and keeps the
 * last result in Redis for /health. A broken chain is logged at error level.
 */
export interface AuditWorker {
  queue: Queue;
  close(): Promise<void>;
}

export async function startAuditWorker(options: {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  queuePrefix: string;
  everyMs?: number;
}): Promise<AuditWorker> {
  const { store, logger } = options;
  const queueRedis = queueConnection(options.redisUrl);
  const workerRedis = queueConnection(options.redisUrl);
  const queue = new Queue(QUEUES.audit, { connection: queueRedis, prefix: options.queuePrefix });
  await queue.upsertJobScheduler(
    'verify-chain',
    { every: options.everyMs ?? 24 * 3600 * 1000 },
    { name: 'verify-chain', data: { kind: 'verify-chain' }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 } } },
  );
  const worker = new Worker(
    QUEUES.audit,
    async (job): Promise<AuditResult> => {
      AuditJob.parse(job.data);
      const report = await verifyLog(store, (p) => void job.updateProgress(p));
      const result: AuditResult = {
        finishedAt: new Date().toISOString(),
        streams: report.streams,
        events: report.events,
        broken: report.broken.map((b) => ({ streamId: b.streamId, revision: Number(b.revision), reason: b.reason })),
      };
      await queueRedis.set(lastAuditKey(options.queuePrefix), JSON.stringify(result));
      if (result.broken.length) logger.error({ broken: result.broken }, 'hash chain broken: the event log was altered');
      else logger.info({ streams: result.streams, events: result.events }, 'hash chains verified');
      return result;
    },
    { connection: workerRedis, concurrency: 1, prefix: options.queuePrefix },
  );
  worker.on('failed', (job, err) => logger.error({ job: job?.id, err }, 'audit job failed'));
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
      queueRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}

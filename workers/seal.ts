import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../src/config.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { SealRefusedError, sealNow } from '../src/eventstore/seal.ts';
import { QUEUES, queueConnection } from '../src/queue/queues.ts';

/**
 * The seal worker: every `config.sealEveryMinutes` (a BullMQ job scheduler, so one run per
 * period however many workers are up) it seals the log and copies the seal onto every
 * replica root (see src/eventstore/seal.ts). The outcome of the last run is kept in Redis
 * for /health and the audit report. A log that no longer matches the previous seal is not
 * sealed again: that is logged at error level on every run until a person has looked.
 */
const ACTOR = { id: 'worker:seal', role: 'admin' };

/** Where the last seal run's outcome is kept (under the installation's queue prefix). */
export const lastSealKey = (queuePrefix: string) => `${queuePrefix}:seal:last`;

export const SealRunResult = z.object({
  finishedAt: z.string(),
  status: z.enum(['sealed', 'unchanged', 'refused']),
  merkleRoot: z.string().nullable(),
  /** The sealed global position, in decimal. */
  position: z.string().nullable(),
  streams: z.number().int().nullable(),
  eventId: z.string().nullable(),
  writtenTo: z.array(z.object({ label: z.string(), path: z.string(), file: z.string() })),
  failed: z.array(z.object({ label: z.string(), path: z.string(), reason: z.string() })),
  /** Streams that no longer match the previous seal (status 'refused'). */
  changedStreams: z.array(z.string()),
  detail: z.string().optional(),
});
export type SealRunResult = z.infer<typeof SealRunResult>;

export interface SealWorker {
  queue: Queue;
  close(): Promise<void>;
}

export async function startSealWorker(options: {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Pick<Config, 'replicas' | 'sealEveryMinutes' | 'queuePrefix'>;
}): Promise<SealWorker> {
  const { store, logger, config } = options;
  const replicas = config.replicas;
  if (replicas.length === 0) {
    logger.warn(
      'no replicas configured (THUKHO_REPLICAS): seals are kept only in the event log on this disk, and are only as safe as this disk — someone who can rewrite the log can rewrite them too',
    );
  }
  const queueRedis = queueConnection(options.redisUrl);
  const workerRedis = queueConnection(options.redisUrl);
  const queue = new Queue(QUEUES.seal, { connection: queueRedis, prefix: config.queuePrefix });
  await queue.upsertJobScheduler(
    'seal',
    { every: Math.round(config.sealEveryMinutes * 60_000) },
    { name: 'seal', data: { kind: 'seal' }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: 100, removeOnFail: 1000 } },
  );

  const record = (result: SealRunResult) => queueRedis.set(lastSealKey(config.queuePrefix), JSON.stringify(result));

  const worker = new Worker(
    QUEUES.seal,
    async (): Promise<SealRunResult> => {
      const finishedAt = () => new Date().toISOString();
      try {
        const outcome = await sealNow(store, replicas, ACTOR);
        if (outcome.status === 'unchanged') {
          const s = outcome.lastSeal;
          const result: SealRunResult = {
            finishedAt: finishedAt(),
            status: 'unchanged',
            merkleRoot: s.merkleRoot,
            position: s.position.toString(),
            streams: s.streams,
            eventId: s.eventId,
            writtenTo: [],
            failed: [],
            changedStreams: [],
          };
          await record(result);
          logger.debug({ position: result.position }, 'nothing appended since the last seal');
          return result;
        }
        const result: SealRunResult = {
          finishedAt: finishedAt(),
          status: 'sealed',
          merkleRoot: outcome.seal.merkleRoot,
          position: outcome.seal.position.toString(),
          streams: outcome.seal.streams,
          eventId: outcome.event.id,
          writtenTo: outcome.writtenTo,
          failed: outcome.failed,
          changedStreams: [],
        };
        await record(result);
        const fields = { merkleRoot: result.merkleRoot, position: result.position, streams: result.streams, writtenTo: outcome.writtenTo.map((w) => w.label) };
        if (outcome.failed.length) logger.error({ ...fields, failed: outcome.failed }, 'seal made, but some replicas could not be written');
        else if (replicas.length === 0) logger.warn(fields, 'seal made in the event log only (no replicas): it is only as safe as this disk');
        else logger.info(fields, 'log sealed');
        return result;
      } catch (err) {
        if (!(err instanceof SealRefusedError)) throw err;
        const result: SealRunResult = {
          finishedAt: finishedAt(),
          status: 'refused',
          merkleRoot: null,
          position: err.position.toString(),
          streams: null,
          eventId: null,
          writtenTo: [],
          failed: [],
          changedStreams: err.changed.map((c) => c.streamId),
          detail: err.message,
        };
        await record(result);
        logger.error(
          { sealedPosition: result.position, changedStreams: result.changedStreams, reason: err.reason },
          'the event log no longer matches its last seal: history was rewritten; no new seal was made (run `thukho verify`)',
        );
        // Retrying within this period cannot help; the next period tries (and complains) again.
        throw new UnrecoverableError(err.message);
      }
    },
    { connection: workerRedis, concurrency: 1, prefix: config.queuePrefix, lockDuration: 5 * 60_000 },
  );
  worker.on('failed', (job, err) => {
    if (!(err instanceof UnrecoverableError)) logger.error({ job: job?.id, err }, 'seal job failed');
  });
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

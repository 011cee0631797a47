import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { type OcrOutcome, readPageByOcr, recordOcrFailure } from '../src/application/ocr.ts';
import type { Config } from '../src/config.ts';
import { DomainError } from '../src/domain/errors.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { DerivativeStore } from '../src/iiif/derivative-store.ts';
import type { Engines } from '../src/ocr/choose-engine.ts';
import { OcrPool } from '../src/ocr/pool.ts';
import { TesseractEngine } from '../src/ocr/tesseract-engine.ts';
import { OcrJob, QUEUES, queueConnection } from '../src/queue/queues.ts';
import { isNoSpace } from '../src/storage/disk-space.ts';
import { OcrOutputStore } from '../src/storage/ocr-outputs.ts';

/**
 * The OCR worker: reads one page per job (see readPageByOcr) on a pool of engine sets, one
 * per core by default (THUKHO_OCR_CONCURRENCY), and takes as many jobs at once as the pool
 * has sets. A fault of the page (an unknown language, a sliver, a damaged derivative) is an
 * OcrFailed at once and a failed job, never retried; anything else is retried with backoff
 * and recorded as OcrFailed only when the attempts run out. A full disk is never recorded:
 * the job stays open in the dispatcher's outbox, which offers it again once there is room.
 * The engines are loaded by the first page, not at start, and let go after
 * THUKHO_OCR_IDLE_SECONDS without a page (see OcrPool): an idle worker holds no model.
 */
export interface OcrWorker {
  queue: Queue;
  worker: Worker;
  pool: OcrPool;
  close(): Promise<void>;
}

export async function startOcrWorker(options: {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Config;
  /** Engine sets (and jobs at once); THUKHO_OCR_CONCURRENCY, else one per core. */
  concurrency?: number;
}): Promise<OcrWorker> {
  const { store, logger, config } = options;
  let hanUnavailable = false;
  const size = options.concurrency ?? config.ocr.concurrency;
  const pool = new OcrPool({
    ...(size ? { size } : {}),
    idleMs: config.ocr.idleSeconds * 1000,
    createEngines: async (): Promise<Engines> => {
      const tesseract = await TesseractEngine.create();
      try {
        // Imported with the first engine set: ONNX Runtime's native library is tens of MB that
        // a worker which never reads a page (or only Vietnamese ones) need not map.
        const { HanEngine } = await import('../src/ocr/han-engine.ts');
        return { tesseract, han: await HanEngine.create() };
      } catch (err) {
        // Han pages are then read by tesseract's chi_tra_vert, the fallback (said once per process).
        if (!hanUnavailable) logger.warn({ err: (err as Error).message }, 'the Han OCR engine cannot run here; Han pages are read by tesseract');
        hanUnavailable = true;
        return { tesseract };
      }
    },
  });
  const services = {
    store,
    derivatives: new DerivativeStore(config.derivativesDir),
    outputs: new OcrOutputStore(config.derivativesDir),
    reader: pool,
    defaultLanguages: config.ocr.defaultLanguages,
    maxPixels: config.maxPixels,
  };

  const process = async (job: Job): Promise<OcrOutcome> => {
    const parsed = OcrJob.safeParse(job.data);
    // A malformed payload will never get better: fail it without retries.
    if (!parsed.success) throw new UnrecoverableError(`bad OCR job payload: ${parsed.error.message}`);
    const data = parsed.data;
    const started = Date.now();
    try {
      const outcome = await readPageByOcr(services, data);
      const ms = Date.now() - started;
      const where = { objectId: data.objectId, fileId: data.fileId, page: data.page, ms };
      if (outcome.outcome === 'failed') {
        logger.warn({ ...where, reason: outcome.reason }, 'page cannot be read by OCR');
        throw new UnrecoverableError(outcome.reason);
      }
      if (outcome.outcome === 'read') logger.info({ ...where, words: outcome.words, engine: outcome.engine, fellBack: outcome.fellBack }, 'page read');
      else logger.info({ ...where, reason: outcome.reason }, 'page not read');
      return outcome;
    } catch (err) {
      if (err instanceof UnrecoverableError) throw err;
      if (err instanceof DomainError && (err.code === 'withdrawn' || err.code === 'not-found')) return { outcome: 'skipped', reason: err.messages.en };
      // The outputs' disk or the log is full: nothing about the page, and no outcome can be recorded.
      if (isNoSpace(err)) throw err;
      const attempts = job.attemptsMade + 1;
      if (attempts >= (job.opts.attempts ?? 1)) {
        try {
          await recordOcrFailure(store, data, (err as Error).message, attempts);
        } catch (recordErr) {
          logger.error({ err: recordErr, objectId: data.objectId, fileId: data.fileId, page: data.page }, 'could not record the OCR failure');
        }
      }
      throw err;
    }
  };

  const queueRedis = queueConnection(options.redisUrl);
  const workerRedis = queueConnection(options.redisUrl);
  const queue = new Queue(QUEUES.ocr, { connection: queueRedis, prefix: config.queuePrefix });
  const worker = new Worker(QUEUES.ocr, process, {
    connection: workerRedis,
    prefix: config.queuePrefix,
    // A job waits for a free engine set, then reads: as many at once as there are sets.
    concurrency: pool.size,
    // A dense page, waiting behind others for an engine set and read upside down once more,
    // takes minutes on a busy machine; a lost lock would have a second worker read it again.
    lockDuration: 10 * 60_000,
  });
  worker.on('failed', (job, err) => logger.error({ job: job?.id, err: err.message }, 'OCR job failed'));
  return {
    queue,
    worker,
    pool,
    async close() {
      await worker.close();
      await queue.close();
      await pool.close();
      queueRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}

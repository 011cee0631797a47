import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { type PageDerivativeOutcome, recordPageDerivatives } from '../src/application/machine-facts.ts';
import { loadObject } from '../src/application/object-commands.ts';
import type { Config } from '../src/config.ts';
import { DomainError } from '../src/domain/errors.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { DerivativeError, DerivativeStore } from '../src/iiif/derivative-store.ts';
import { DerivativeJob, QUEUES, queueConnection } from '../src/queue/queues.ts';
import { isNoSpace } from '../src/storage/disk-space.ts';
import { OcflStorageRoot } from '../src/storage/ocfl.ts';
import { redactPaths } from '../src/storage/redact-paths.ts';
import { derivePdfPages, type PdfPagesResult, PdfUnusableError } from './pdf-page-derivatives.ts';

/**
 * The derivatives worker: for each page of each ingested image, a pyramidal TIFF and the
 * pre-cut IIIF tile grid (see DerivativeStore), then `DerivativeCreated` on the work's
 * preservation stream (with `page` for pages 2… of a multi-page master). A PDF's pages are
 * drawn first (see pdf-page-derivatives.ts); an encrypted or unreadable PDF fails at once.
 * Idempotent: the folder is keyed by the master's digest, and nothing is appended when the
 * same pyramid is already recorded. A master sharp cannot decode fails at once
 * (`DerivativeFailed`, no retries); I/O trouble is retried with backoff and recorded as a
 * failure only when the attempts run out. A full disk is never recorded as a failure: the job
 * stays open in the dispatcher's outbox, which enqueues it again until space is freed.
 */
const ACTOR = { actor: { id: 'worker:derivatives', role: 'admin' } };

export type DerivativeOutcome = { outcome: 'created' | 'recorded-already'; tiles: number; ms: number } | { outcome: 'skipped'; reason: string };

export interface DerivativesWorker {
  queue: Queue;
  worker: Worker;
  close(): Promise<void>;
}

export async function startDerivativesWorker(options: {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Config;
  concurrency?: number;
}): Promise<DerivativesWorker> {
  const { store, logger, config } = options;
  const ocfl = await OcflStorageRoot.open(config.ocflRoot);
  const derivatives = new DerivativeStore(config.derivativesDir);
  const swept = await derivatives.sweepTemporary();
  if (swept) logger.warn({ folders: swept }, 'removed derivative builds left by a crash');

  /** The whole master failed: for a reason other than its pixels (I/O) after the last attempt, or a PDF that cannot be opened. */
  const recordFailure = async (job: DerivativeJob, reason: string, attempts: number) => {
    try {
      const failure = { masterSha512: job.masterSha512, reason: redactPaths(reason).slice(0, 2000), attempts };
      await recordPageDerivatives(store, job.objectId, job.fileId, [{ page: 1, failure }], { ...ACTOR, causationId: job.cause });
    } catch (err) {
      logger.error({ err, objectId: job.objectId, fileId: job.fileId }, 'could not record the derivative failure');
    }
  };

  const process = async (job: Job): Promise<DerivativeOutcome> => {
    const parsed = DerivativeJob.safeParse(job.data);
    // A malformed payload will never get better: fail it without retries.
    if (!parsed.success) throw new UnrecoverableError(`bad derivative job payload: ${parsed.error.message}`);
    const data = parsed.data;
    const { state } = await loadObject(store, data.objectId);
    if (state.status !== 'active') return { outcome: 'skipped', reason: `object is ${state.status}` };
    const file = state.files.find((f) => f.fileId === data.fileId);
    if (!file || file.digests.sha512 !== data.masterSha512) return { outcome: 'skipped', reason: 'no such master in the object' };
    const started = Date.now();
    const master = ocfl.contentPathOnDisk(file.storage.ocflObjectId, file.storage.path);
    const pages = file.image?.pages ?? 1;
    try {
      if (file.mediaType === 'application/pdf') {
        const pdfJob = { objectId: data.objectId, fileId: data.fileId, masterSha512: data.masterSha512, attempts: job.attemptsMade + 1, ingestPages: file.pdf?.pages };
        let made: PdfPagesResult;
        try {
          made = await derivePdfPages({ store, derivatives, config, logger, facts: { ...ACTOR, causationId: data.cause } }, pdfJob, master);
        } catch (err) {
          if (!(err instanceof PdfUnusableError)) throw err;
          await recordFailure(data, err.reason, pdfJob.attempts);
          throw new UnrecoverableError(err.reason);
        }
        const { pages: pdfPages, failed, texts, tiles, msPerPage } = made;
        logger.info({ objectId: data.objectId, fileId: data.fileId, pages: pdfPages, failed, texts, tiles, msPerPage, ms: Date.now() - started }, 'PDF pages made');
        if (made.made === 0) throw new UnrecoverableError(`no page of the PDF could be made (${failed} of ${pdfPages} failed)`);
        return { outcome: made.recorded > 0 ? 'created' : 'recorded-already', tiles, ms: Date.now() - started };
      }
      // Every page is built before anything is recorded, and all are recorded in one append:
      // the job is closed only with every page accounted for. A page that cannot be decoded
      // (a corrupt second IFD) is a failure of that page only; the others still become canvases.
      const outcomes: PageDerivativeOutcome[] = [];
      for (let page = 1; page <= pages; page++) {
        try {
          outcomes.push({ page, info: await derivatives.build(master, data.masterSha512, { tileSize: config.iiif.tileSize, maxPixels: config.maxPixels, page }) });
        } catch (err) {
          if (!(err instanceof DerivativeError && err.kind === 'undecodable')) throw err;
          const reason = pages > 1 ? `page ${page} of ${pages}: ${err.message}` : err.message;
          outcomes.push({ page, failure: { masterSha512: data.masterSha512, reason: redactPaths(reason).slice(0, 2000), attempts: job.attemptsMade + 1 } });
        }
      }
      const recorded = await recordPageDerivatives(store, data.objectId, data.fileId, outcomes, { ...ACTOR, causationId: data.cause });
      const ms = Date.now() - started;
      const tiles = outcomes.reduce((n, o) => n + ('info' in o ? o.info.tiles : 0), 0);
      const failed = outcomes.filter((o) => 'failure' in o);
      logger.info({ objectId: data.objectId, fileId: data.fileId, pages, failed: failed.length, tiles, ms }, 'derivatives made');
      // Nothing could be made at all: the master is undecodable, and retrying will not change that.
      if (failed.length === pages) throw new UnrecoverableError(failed.map((o) => ('failure' in o ? o.failure.reason : '')).join('; '));
      return { outcome: recorded > 0 ? 'created' : 'recorded-already', tiles, ms };
    } catch (err) {
      if (err instanceof UnrecoverableError) throw err;
      if (err instanceof DomainError && (err.code === 'withdrawn' || err.code === 'not-found')) return { outcome: 'skipped', reason: err.messages.en };
      // The derivatives' disk or the log is full: nothing about the master, and no outcome can be recorded.
      if (isNoSpace(err)) throw err;
      const attempts = job.attemptsMade + 1;
      if (attempts >= (job.opts.attempts ?? 1)) await recordFailure(data, (err as Error).message, attempts);
      throw err;
    }
  };

  const queueRedis = queueConnection(options.redisUrl);
  const workerRedis = queueConnection(options.redisUrl);
  const queue = new Queue(QUEUES.derivatives, { connection: queueRedis, prefix: config.queuePrefix });
  const worker = new Worker(QUEUES.derivatives, process, {
    connection: workerRedis,
    prefix: config.queuePrefix,
    // libvips already uses every core for one image; two at once only thrash memory.
    concurrency: options.concurrency ?? 1,
    // A 140-megapixel master takes tens of seconds; keep the lock well beyond that.
    lockDuration: 5 * 60_000,
  });
  worker.on('failed', (job, err) => logger.error({ job: job?.id, err: err.message }, 'derivative job failed'));
  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.close();
      queueRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}

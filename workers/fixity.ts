import Database from 'better-sqlite3';
import { type Job, Queue, Worker } from 'bullmq';
import type { Logger } from 'pino';
import {
  type CheckResult,
  checkKey,
  checkObjectFixity,
  type DamagedEvent,
  type FixityRoot,
  type FixityServices,
  openFixityRoots,
  type RemakeDerivative,
  remakeDerivativeInProcess,
  type RepairFn,
} from '../src/application/fixity.ts';
import type { Config } from '../src/config.ts';
import { DomainError } from '../src/domain/errors.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { DerivativeStore } from '../src/iiif/derivative-store.ts';
import { type DueCheck, dueChecks, hasFixityTables } from '../src/projections/fixity-read-model.ts';
import type { ReadModelDb } from '../src/projections/read-model-db.ts';
import { FixityJob, QUEUES, queueConnection } from '../src/queue/queues.ts';
import { sharedRateLimiter } from '../src/storage/fixity.ts';
import { FixityPool } from '../src/storage/fixity-pool.ts';
import { inLanes } from '../src/work-lanes.ts';

/**
 * The scheduled fixity worker. Every period (a BullMQ job scheduler: one run per period
 * however many workers are up) it takes the copies that are due from the fixity read model,
 * as many as the read budget of one period allows (THUKHO_FIXITY_MB_PER_S × the period), and
 * checks them on a thread pool, paced by one process-wide rate limiter so that the reading
 * room stays responsive. Outcomes go to the log (see src/application/fixity.ts); the read model
 * catches up from there, and the next run sees what is due next.
 */

export const FIXITY_PERIOD_MS = 10 * 60_000;
/** Copies looked at per run at most, whatever the budget (an unlimited budget included). */
const MAX_PER_RUN = 20_000;
/** Objects checked at once: enough to keep the pool busy when objects have few files. */
const OBJECTS_AT_ONCE = 4;

export { FixityJob };

export interface FixityRunSummary {
  due: number;
  checked: number;
  bytes: number;
  passed: number;
  failed: number;
  repaired: number;
  damaged: number;
  skipped: number;
  /** Derivative pyramids that were not there, made again from their masters (not failures). */
  remadeAbsent: number;
  /** Configured roots that could not be read (not mounted). */
  unavailableRoots: string[];
  /** Why nothing was done, when nothing could be. */
  idle?: string;
}

/** Counts each checked copy into a run's summary (a scheduled run and a check staff asked for alike). */
function tallyInto(summary: FixityRunSummary): (r: CheckResult) => void {
  return (r) => {
    if (r.outcome === 'absent') {
      if (r.remade) summary.remadeAbsent++;
      return;
    }
    summary.checked++;
    summary.bytes += r.bytes;
    if (r.outcome === 'pass') summary.passed++;
    else summary.failed++;
    if (r.repaired) summary.repaired++;
    if (r.damaged) summary.damaged++;
  };
}

export interface FixityWorker {
  queue: Queue;
  worker: Worker;
  /** The body of one scheduled run, callable directly (a manual trigger, tests). */
  runOnce(now?: Date): Promise<FixityRunSummary>;
  close(): Promise<void>;
}

export interface FixityWorkerOptions {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Config;
  repair: RepairFn;
  remakeDerivative?: RemakeDerivative;
  onDamaged?: (event: DamagedEvent) => void | Promise<void>;
  everyMs?: number;
  poolSize?: number;
}

/** Picks due copies in order until the budget is spent (at least one, so a huge file is not stuck). */
export function withinBudget(due: DueCheck[], budgetBytes: number): DueCheck[] {
  const chosen: DueCheck[] = [];
  let bytes = 0;
  for (const d of due) {
    const size = d.expected.size ?? 0;
    if (chosen.length > 0 && bytes + size > budgetBytes) break;
    chosen.push(d);
    bytes += size;
  }
  return chosen;
}

export async function startFixityWorker(options: FixityWorkerOptions): Promise<FixityWorker> {
  const { store, logger, config } = options;
  const everyMs = options.everyMs ?? FIXITY_PERIOD_MS;
  const pool = new FixityPool(options.poolSize);
  const derivatives = new DerivativeStore(config.derivativesDir);
  const limiter = sharedRateLimiter(config.fixity.mbPerSecond);

  let readDb: ReadModelDb | null = null;
  const openReadModel = (): ReadModelDb | null => {
    if (readDb) return readDb;
    try {
      // Read-only: the server's projection runner owns this file and keeps it current.
      const db = new Database(config.readModelPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      readDb = db;
      return db;
    } catch (err) {
      logger.warn({ err: (err as Error).message, path: config.readModelPath }, 'fixity: the read model cannot be opened yet');
      return null;
    }
  };

  /** What checking needs, over the roots that could be opened for this run. */
  const fixityServices = (roots: FixityRoot[]): FixityServices => ({
    store,
    roots,
    derivatives,
    hasher: pool,
    repair: options.repair,
    remakeDerivative:
      options.remakeDerivative ??
      remakeDerivativeInProcess({
        store,
        derivatives,
        masterPath: (ocflObjectId, contentPath) => (roots[0] as FixityRoot).storage.contentPathOnDisk(ocflObjectId, contentPath),
        tileSize: config.iiif.tileSize,
        maxPixels: config.maxPixels,
      }),
    onDamaged: options.onDamaged ?? (() => {}),
    logger,
  });

  const runOnce = async (now: Date = new Date(), job?: Job): Promise<FixityRunSummary> => {
    const summary: FixityRunSummary = { due: 0, checked: 0, bytes: 0, passed: 0, failed: 0, repaired: 0, damaged: 0, skipped: 0, remadeAbsent: 0, unavailableRoots: [] };
    const db = openReadModel();
    if (!db) return { ...summary, idle: 'no read model' };
    if (!hasFixityTables(db)) {
      logger.warn('fixity: the fixity projection has not run in this read model; nothing is known to be due');
      return { ...summary, idle: 'no fixity projection' };
    }
    const { roots, unavailable } = await openFixityRoots(config);
    summary.unavailableRoots = unavailable.map((u) => u.label);
    for (const u of unavailable) logger.error({ root: u.label, path: u.path, reason: u.reason }, 'fixity: a storage root cannot be read; its copies are not checked');

    const budget = config.fixity.mbPerSecond > 0 ? config.fixity.mbPerSecond * 1e6 * (everyMs / 1000) : Number.POSITIVE_INFINITY;
    const due = withinBudget(
      dueChecks(db, now, { cycleDays: config.fixity.cycleDays, collectionCycleDays: config.fixity.collectionCycleDays, roots: roots.map((r) => r.label), limit: MAX_PER_RUN }),
      budget,
    );
    summary.due = due.length;
    if (due.length === 0) return summary;

    const services = fixityServices(roots);
    // Due copies by object, most overdue object first.
    const byObject = new Map<string, Set<string>>();
    for (const d of due) {
      let keys = byObject.get(d.objectId);
      if (!keys) byObject.set(d.objectId, (keys = new Set()));
      keys.add(checkKey(d.objectId, d.fileId, d.target, d.root));
    }
    const tally = tallyInto(summary);
    await inLanes([...byObject], OBJECTS_AT_ONCE, async ([objectId, keys]) => {
      try {
        const result = await checkObjectFixity(services, objectId, {
          limiter,
          only: (c) => keys.has(c.key),
          onResult: tally,
          ...(job?.id ? { correlationId: `fixity-${job.id}` } : {}),
        });
        summary.skipped += result.skipped.length;
      } catch (err) {
        if (err instanceof DomainError && err.code === 'not-found') logger.warn({ objectId }, 'fixity: a due object is not in the log');
        else logger.error({ err, objectId }, 'fixity: checking an object failed');
      }
      if (job) await job.updateProgress({ checked: summary.checked, due: summary.due }).catch(() => {});
    });
    const level = summary.damaged > 0 ? 'error' : summary.failed > 0 ? 'warn' : 'info';
    logger[level]({ ...summary }, 'fixity: scheduled checks done');
    return summary;
  };

  const queueRedis = queueConnection(options.redisUrl);
  const workerRedis = queueConnection(options.redisUrl);
  const queue = new Queue(QUEUES.fixity, { connection: queueRedis, prefix: config.queuePrefix });
  await queue.upsertJobScheduler(
    'fixity-due',
    { every: everyMs },
    { name: 'check-due', data: { kind: 'check-due' }, opts: { attempts: 1, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } } },
  );
  /**
   * Every copy of one work, now (staff asked: POST /api/objects/:id/fixity-check), on every root
   * that can be read, without the read budget: one work is small next to a scheduled run.
   */
  const checkOne = async (objectId: string, requestedBy: string, job: Job): Promise<FixityRunSummary> => {
    const summary: FixityRunSummary = { due: 0, checked: 0, bytes: 0, passed: 0, failed: 0, repaired: 0, damaged: 0, skipped: 0, remadeAbsent: 0, unavailableRoots: [] };
    const { roots, unavailable } = await openFixityRoots(config);
    summary.unavailableRoots = unavailable.map((u) => u.label);
    const result = await checkObjectFixity(fixityServices(roots), objectId, {
      limiter,
      onResult: tallyInto(summary),
      correlationId: `fixity-${job.id ?? objectId}`,
    });
    summary.due = summary.checked;
    summary.skipped = result.skipped.length;
    logger[summary.damaged > 0 ? 'error' : summary.failed > 0 ? 'warn' : 'info']({ ...summary, objectId, requestedBy }, 'fixity: a check asked for by staff is done');
    return summary;
  };

  const worker = new Worker(
    QUEUES.fixity,
    async (job) => {
      const data = FixityJob.parse(job.data);
      if (data.kind === 'check-object') return checkOne(data.objectId, data.requestedBy, job);
      return runOnce(new Date(), job);
    },
    // One run at a time: a run that outlasts its period delays the next instead of doubling the reads.
    { connection: workerRedis, concurrency: 1, prefix: config.queuePrefix, lockDuration: 5 * 60_000 },
  );
  worker.on('failed', (job, err) => logger.error({ job: job?.id, err }, 'fixity job failed'));
  return {
    queue,
    worker,
    runOnce: (now) => runOnce(now),
    async close() {
      await worker.close();
      await queue.close();
      await pool.close();
      readDb?.close();
      queueRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}

import type { Logger } from 'pino';
import sharp from 'sharp';
import type { Config } from '../src/config.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { startAuditWorker } from './audit.ts';
import { startDerivativesWorker } from './derivatives.ts';
import { startReplicationWorker } from './replication.ts';
import { startSealWorker } from './seal.ts';
import { startFixityWorker } from './fixity.ts';
import { damageAlert, repairWith } from '../src/application/preservation.ts';
import { raiseNiceness } from '../src/queue/priority.ts';

/** Every worker `thukho worker NAME` can run, and that `thukho serve` starts as children. */
export interface WorkerContext {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Config;
}

type StartWorker = (ctx: WorkerContext) => Promise<{ close(): Promise<void> }>;

/**
 * Readers come first: a worker lowers its own priority (every thread, THUKHO_WORKER_NICE)
 * before it takes a job, whoever started it (`thukho serve`, systemd, a shell).
 */
const yieldingToReaders =
  (start: StartWorker): StartWorker =>
  (ctx) => {
    const r = raiseNiceness(process.pid, ctx.config.workers.nice);
    if (r.failed > 0) ctx.logger.warn({ nice: ctx.config.workers.nice, ...r }, 'could not lower the priority of every thread; this worker competes with readers');
    return start(ctx);
  };

const STARTS: Record<string, StartWorker> = {
  audit: (ctx) => startAuditWorker({ ...ctx, queuePrefix: ctx.config.queuePrefix }),
  derivatives: (ctx) => {
    // libvips would use every core for one pyramid (sharp's default): leave the server one.
    sharp.concurrency(ctx.config.workers.derivativeThreads);
    return startDerivativesWorker({ ...ctx, concurrency: ctx.config.workers.derivativesConcurrency });
  },
  // Imported only where it runs: every thukho command loads this registry, and the OCR engines
  // (ONNX Runtime's native library, tesseract.js) take seconds to load.
  ocr: async (ctx) => (await import('./ocr.ts')).startOcrWorker(ctx),
  seal: (ctx) => startSealWorker(ctx),
  replication: (ctx) => startReplicationWorker({ ...ctx, concurrency: ctx.config.workers.replicationConcurrency }),
  fixity: (ctx) => startFixityWorker({ ...ctx, repair: repairWith(ctx.config), onDamaged: damageAlert(ctx.config, ctx.logger) }),
};

export const WORKERS: Record<string, StartWorker> = Object.fromEntries(Object.entries(STARTS).map(([name, start]) => [name, yieldingToReaders(start)]));

/** The workers `thukho serve` starts on this machine: all of them, but OCR only where THUKHO_OCR is on. */
export function workersToRun(config: Pick<Config, 'ocr'>): string[] {
  return Object.keys(WORKERS).filter((name) => name !== 'ocr' || config.ocr.enabled);
}

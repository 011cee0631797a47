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

const SINGLE: Record<string, StartWorker> = Object.fromEntries(Object.entries(STARTS).map(([name, start]) => [name, yieldingToReaders(start)]));

/** Several workers in one process: `a+b+c`. */
const SEPARATOR = '+';

/**
 * Starts each named worker in this process, one after another; if one cannot start, those
 * already started are closed again and the error is the caller's. Closing closes them all.
 */
function together(names: string[]): StartWorker {
  return async (ctx) => {
    const started: Array<{ close(): Promise<void> }> = [];
    try {
      for (const name of names) started.push(await SINGLE[name]!(ctx));
    } catch (err) {
      await Promise.allSettled(started.map((w) => w.close()));
      throw err;
    }
    return { close: async () => void (await Promise.all(started.map((w) => w.close()))) };
  };
}

/**
 * Every worker `thukho worker NAME` can run. Listing it (Object.keys) gives each worker once;
 * looking up `a+b+c` (workers joined by "+") gives one start for all of them in one process,
 * which is how `thukho serve` keeps the embedded profile small (THUKHO_WORKER_PROCESSES), and
 * how a sysadmin can run several in one process (`thukho worker seal+fixity`).
 */
export const WORKERS: Record<string, StartWorker> = new Proxy(SINGLE, {
  get(target, key) {
    if (typeof key !== 'string' || !key.includes(SEPARATOR)) return Reflect.get(target, key);
    const names = key.split(SEPARATOR);
    // Each at most once, and each one we know: anything else is "no such worker".
    if (new Set(names).size !== names.length || !names.every((n) => Object.hasOwn(target, n))) return undefined;
    return together(names);
  },
});

/** The workers that run on this machine: all of them, but OCR only where THUKHO_OCR is on. */
function enabledWorkers(config: Pick<Config, 'ocr'>): string[] {
  return Object.keys(SINGLE).filter((name) => name !== 'ocr' || config.ocr.enabled);
}

/**
 * The child processes `thukho serve` starts, each named as `thukho worker NAME` takes it:
 * - `one` (the default): every worker in one process. Each Node process with thukho's modules
 *   loaded holds about 180 MB however little it does, so six of them were most of the
 *   embedded profile's memory (bench:memory). A crash in one worker (a hostile image in
 *   libvips) restarts them all; their jobs are retried, as after any crash.
 * - `split`: derivatives and OCR, which use native code on untrusted images and the most
 *   memory, each alone; the light ones (audit, seal, replication, fixity) share one.
 * - `each`: one process per worker, as before issue 20.
 */
export function workersToRun(config: Pick<Config, 'ocr'> & { workers: Pick<Config['workers'], 'processes'> }): string[] {
  const names = enabledWorkers(config);
  switch (config.workers.processes) {
    case 'each':
      return names;
    case 'split': {
      const apart: string[] = names.filter((n) => n === 'derivatives' || n === 'ocr');
      const light = names.filter((n) => !apart.includes(n));
      return [...apart, ...(light.length ? [light.join(SEPARATOR)] : [])];
    }
    case 'one':
      return [names.join(SEPARATOR)];
  }
}

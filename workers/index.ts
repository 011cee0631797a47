import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { startAuditWorker } from './audit.ts';
import { startDerivativesWorker } from './derivatives.ts';
import { startReplicationWorker } from './replication.ts';
import { startSealWorker } from './seal.ts';
import { startFixityWorker } from './fixity.ts';
import { damageAlert, repairWith } from '../src/application/preservation.ts';

/** Every worker `thukho worker NAME` can run, and that `thukho serve` starts as children. */
export interface WorkerContext {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Config;
}

export const WORKERS: Record<string, (ctx: WorkerContext) => Promise<{ close(): Promise<void> }>> = {
  audit: (ctx) => startAuditWorker({ ...ctx, queuePrefix: ctx.config.queuePrefix }),
  derivatives: (ctx) => startDerivativesWorker(ctx),
  // Imported only where it runs: every thukho command loads this registry, and the OCR engines
  // (ONNX Runtime's native library, tesseract.js) take seconds to load.
  ocr: async (ctx) => (await import('./ocr.ts')).startOcrWorker(ctx),
  seal: (ctx) => startSealWorker(ctx),
  replication: (ctx) => startReplicationWorker(ctx),
  fixity: (ctx) => startFixityWorker({ ...ctx, repair: repairWith(ctx.config), onDamaged: damageAlert(ctx.config, ctx.logger) }),
};

/** The workers `thukho serve` starts on this machine: all of them, but OCR only where THUKHO_OCR is on. */
export function workersToRun(config: Pick<Config, 'ocr'>): string[] {
  return Object.keys(WORKERS).filter((name) => name !== 'ocr' || config.ocr.enabled);
}

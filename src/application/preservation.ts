import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { openStorageRoots, repairFile, type StorageRootSet } from '../storage/replicas.ts';
import type { DamagedEvent, RepairFn } from './fixity.ts';

/**
 * What the fixity checker is given to act on a failure, the same for the scheduled worker
 * and `thukho fixity`: verified repair from the other storage roots, and the alarm when no
 * good copy is left anywhere.
 */
export function repairWith(config: Pick<Config, 'ocflRoot' | 'replicas'>): RepairFn {
  let roots: Promise<StorageRootSet> | undefined;
  return async (damaged, what) => {
    roots ??= openStorageRoots(config);
    return repairFile(await roots, damaged, what);
  };
}

/**
 * A file damaged on every copy: an error-level log line (the metric and /health read the
 * fixity read model) and, when configured, a webhook. The webhook must never stop the
 * checker: it gets 10 s and its failure is only logged.
 */
export function damageAlert(config: Pick<Config, 'webhookUrl'>, logger: Logger): (event: DamagedEvent) => Promise<void> {
  return async (event) => {
    logger.error({ event }, 'file damaged on every copy: no good copy left to repair from');
    if (!config.webhookUrl) return;
    try {
      const res = await fetch(config.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'FileDamaged',
          message: {
            vi: `Tệp hỏng trên mọi bản sao, không thể sửa: ${event.objectId}/${event.fileId ?? event.path} (${event.failure}).`,
            en: `File damaged on every copy, cannot be repaired: ${event.objectId}/${event.fileId ?? event.path} (${event.failure}).`,
          },
          event,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) logger.warn({ status: res.status }, 'damage webhook answered with an error');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'damage webhook could not be called');
    }
  };
}

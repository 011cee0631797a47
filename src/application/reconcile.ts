import type { Logger } from 'pino';
import { completeIntent } from './complete-ingest.ts';
import type { IngestServices } from './ingest.ts';
import { loadObject } from './object-commands.ts';
import { objectOcflId } from './ocfl-ids.ts';

/**
 * Start-up repair of interrupted ingests, from the journal's leftover intents:
 *  - an OCFL version that was being written (no root inventory names it) is removed: it
 *    was never committed, and the client never got a 201, so it will send again;
 *  - a committed version whose event is missing is COMPLETED, not rolled back: the bytes
 *    are durable and verified, OCFL forbids changing a written version, and for a bulk
 *    ingest of hundreds of gigabytes finishing the work beats redoing it;
 *  - an intent whose event is already in the log is simply dropped.
 */
export interface ReconcileReport {
  completed: number;
  discarded: number;
  alreadyDone: number;
}

export async function reconcileIngests(services: IngestServices, logger?: Logger): Promise<ReconcileReport> {
  const report: ReconcileReport = { completed: 0, discarded: 0, alreadyDone: 0 };
  for (const intent of await services.journal.pending()) {
    await services.locks.run(intent.objectId, async () => {
      report[await reconcileOne(services, intent, logger)]++;
    });
  }
  return report;
}

/**
 * The same for one object, for a caller that already holds its lock (ingest does, so that
 * an object left half-written by a killed `thukho ingest` heals on the next upload rather
 * than at the next restart).
 */
export async function reconcileObject(services: IngestServices, objectId: string, logger?: Logger): Promise<void> {
  for (const intent of await services.journal.pending()) {
    if (intent.objectId === objectId) await reconcileOne(services, intent, logger);
  }
  const ocflObjectId = objectOcflId(objectId, (await loadObject(services.store, objectId)).state);
  if (await services.ocfl.incompleteVersion(ocflObjectId)) await services.ocfl.discardIncompleteVersion(ocflObjectId);
}

async function reconcileOne(
  services: IngestServices,
  intent: Awaited<ReturnType<IngestServices['journal']['pending']>>[number],
  logger: Logger | undefined,
): Promise<keyof ReconcileReport> {
  const { objectId } = intent;
  const ocflObjectId = intent.ocflObjectId ?? objectId;
  if (await services.ocfl.incompleteVersion(ocflObjectId)) await services.ocfl.discardIncompleteVersion(ocflObjectId);
  const { state } = await loadObject(services.store, objectId);
  const inEvents = state.status !== 'absent' && state.files.some((f) => f.fileId === intent.file.fileId);
  if (inEvents) {
    await services.journal.done(intent, intent.owner);
    return 'alreadyDone';
  }
  const committed = await findCommitted(services, ocflObjectId, intent.logicalPath, intent.file.digests.sha512);
  if (!committed) {
    logger?.info({ objectId, fileId: intent.file.fileId }, 'reconcile: ingest interrupted before its OCFL version was committed; discarded');
    await services.journal.done(intent, intent.owner);
    return 'discarded';
  }
  await completeIntent(services, intent, committed.version, committed.contentPath);
  logger?.warn({ objectId, fileId: intent.file.fileId, version: committed.version }, 'reconcile: OCFL version had no event; event appended');
  await services.journal.done(intent, intent.owner);
  return 'completed';
}

async function findCommitted(services: IngestServices, ocflObjectId: string, logicalPath: string, sha512: string) {
  const inventory = await services.ocfl.readInventory(ocflObjectId);
  if (!inventory) return undefined;
  const contentPath = inventory.manifest[sha512]?.[0];
  if (!contentPath) return undefined;
  const versions = Object.keys(inventory.versions).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  for (const v of versions) {
    const paths = inventory.versions[v]?.state[sha512] ?? [];
    if (paths.includes(logicalPath)) return { version: v, contentPath };
  }
  return undefined;
}

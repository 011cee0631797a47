import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { openEventStore } from '../eventstore/open.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { Projection } from '../projections/projection.ts';
import { openReadModelDb, type ReadModelDb } from '../projections/read-model-db.ts';
import { catchUpProjection, prepareProjection } from '../projections/runtime.ts';
import { isStorageRoot, ROOT_NAMASTE } from '../storage/ocfl.ts';

/**
 * Whether a repository exists where the configuration points: its event log (the SQLite
 * file of the embedded profile; an EventStoreDB is a server and answers for itself when
 * connected) and its OCFL storage root's declaration. The one place that decides it.
 *
 * `serve`, `demo`, `ingest`, `ingest-bag` and `users add` may create a repository; every
 * other command refuses to run without one. Opening the log or the storage root creates
 * them, so `verify` pointed at a wrong directory (the default `./data` is relative to where
 * cron runs it) would otherwise check a new empty repository and report it intact.
 */
export async function missingRepositoryParts(config: Pick<Config, 'eventStore' | 'ocflRoot'>): Promise<string[]> {
  const missing: string[] = [];
  if (config.eventStore.kind === 'sqlite' && !existsSync(config.eventStore.path)) missing.push(config.eventStore.path);
  if (!(await isStorageRoot(config.ocflRoot))) missing.push(join(config.ocflRoot, ROOT_NAMASTE));
  return missing;
}

/**
 * For a command that must not create a repository: where none exists, exit 2 with one line
 * naming where we looked, what is missing, and how to point elsewhere.
 */
export async function requireRepository(config: Pick<Config, 'dataDir' | 'eventStore' | 'ocflRoot'>, command: string): Promise<void> {
  const missing = await missingRepositoryParts(config);
  if (missing.length === 0) return;
  process.stderr.write(
    `thukho ${command}: không có kho lưu trữ tại ${config.dataDir} (thiếu / missing: ${missing.join(', ')}); ` +
    `đặt THUKHO_DATA_DIR (và THUKHO_STORAGE_DIR nếu có) trỏ tới kho, ví dụ THUKHO_DATA_DIR=/var/lib/thukho / ` +
    `no repository at ${config.dataDir}: set THUKHO_DATA_DIR (and THUKHO_STORAGE_DIR if used) to the repository, e.g. THUKHO_DATA_DIR=/var/lib/thukho\n`,
  );
  process.exit(2);
}

/**
 * Read models brought up to date from the log before a command reads them: right after a
 * change, or before the server has ever run, a table may be behind or not exist yet.
 */
export async function withCaughtUpReadModels<T>(
  config: Pick<Config, 'eventStore' | 'readModelPath'>,
  projections: readonly Projection[],
  read: (db: ReadModelDb, store: EventStore) => T | Promise<T>,
): Promise<T> {
  const store = await openEventStore(config.eventStore);
  const db = openReadModelDb(config.readModelPath);
  try {
    for (const projection of projections) {
      prepareProjection(db, projection);
      await catchUpProjection(store, db, projection);
    }
    return await read(db, store);
  } finally {
    db.close();
    await store.close();
  }
}

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { EventStore } from '../eventstore/port.ts';
import { OcflStorageRoot } from '../storage/ocfl.ts';
import { type IngestServices, processStagingDir } from './ingest.ts';
import { IngestJournal } from './ingest-journal.ts';
import { KeyedLock } from './keyed-lock.ts';

/** The ingest path as `serve` and `thukho ingest` both use it, over one data directory. */
export async function openIngest(config: Config, store: EventStore): Promise<IngestServices> {
  return {
    store,
    ocfl: await OcflStorageRoot.open(config.ocflRoot),
    journal: new IngestJournal(join(config.dataDir, 'ingest-journal')),
    stagingDir: await processStagingDir(config.storageDir),
    maxPixels: config.maxPixels,
    maxFileBytes: config.maxUploadBytes,
    md5: config.md5,
    locks: new KeyedLock(join(config.storageDir, 'locks')),
  };
}

/** Remove this process's staging folder (what is in it was never committed). */
export async function closeIngest(services: IngestServices): Promise<void> {
  await rm(services.stagingDir, { recursive: true, force: true });
}

/**
 * What-if probes for the bulk-ingest path, in this process over fresh data dirs, driving the
 * real `stageUpload` + `commitStaged` (src/application/ingest.ts) the way src/cli/bulk-ingest.ts
 * does — one OCFL version per object — with changes that would live in bulk-ingest.ts, which
 * this bench does not touch:
 *   sequential-64K   what `thukho ingest` does today: one file at a time, createReadStream(path)
 *                    (64 KiB chunks), then one commit per object
 *   sequential-1M    the same with createReadStream(path, { highWaterMark: 1 MiB })
 *   pipelined-1M     1 MiB chunks and two files in flight, staggered: file N+1 starts once file
 *                    N has been read to the end, so it is staged and hashed on the main thread
 *                    while file N is identified / decode-checked by sharp (libvips threads) and
 *                    while the previous object is committed. Page order is kept (uploads are
 *                    committed in file order).
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { commitStaged, type StagedUpload, stageUpload } from '../../src/application/ingest.ts';
import { openIngest } from '../../src/application/open-ingest.ts';
import { executeCollectionCommand, executeObjectCommand } from '../../src/application/object-commands.ts';
import { idFromName } from '../../src/domain/vietnamese-fold.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatasetFile } from './dataset.ts';

export type Variant = 'sequential-64K' | 'sequential-1M' | 'pipelined-1M';
export const VARIANTS: Variant[] = ['sequential-64K', 'sequential-1M', 'pipelined-1M'];

export interface VariantResult {
  variant: Variant;
  wall: number;
  /** user + sys of this process (all threads) during the run. */
  cpu: number;
}

export async function runVariant(variant: Variant, files: DatasetFile[], dataDir: string): Promise<VariantResult> {
  await mkdir(dataDir, { recursive: true });
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  const actor = { id: 'bench', role: 'admin' };
  // The same wiring as `thukho ingest`, over this data dir with the default limits.
  const services = await openIngest(loadConfig({ THUKHO_DATA_DIR: dataDir }), store);
  try {
    await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'bench', title: 'Bench' }, { actor });
    for (const objectId of new Set(files.map((f) => idFromName(f.folder)))) {
      await executeObjectCommand(store, { type: 'RegisterObject', objectId, metadata: { title: objectId, collectionId: 'bench' }, accessLevel: 'open' }, { actor });
    }
    const highWaterMark = variant === 'sequential-64K' ? 64 * 1024 : 1 << 20;
    /** Stages `f`; `read` resolves when its source has been read to the end (hashing done). */
    const stage = (f: DatasetFile): { read: Promise<void>; upload: Promise<StagedUpload> } => {
      const source = createReadStream(f.path, { highWaterMark });
      const read = new Promise<void>((resolveRead) => {
        source.once('end', () => resolveRead());
        source.once('close', () => resolveRead());
      });
      return { read, upload: stageUpload(services, { source, name: f.name, role: 'master' }) };
    };
    const commit = async (objectId: string, uploads: StagedUpload[]) => {
      const outcomes = await commitStaged(services, objectId, uploads, { actor });
      if (outcomes.some((o) => o.status !== 'created')) throw new Error(`${objectId}: not every file was created`);
    };
    const objects = new Map<string, DatasetFile[]>();
    for (const f of files) objects.set(idFromName(f.folder), [...(objects.get(idFromName(f.folder)) ?? []), f]);

    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    if (variant === 'pipelined-1M') {
      // At most two files in flight; commits run beside the next object's staging.
      const commits: Array<Promise<void>> = [];
      let previous: Promise<unknown> = Promise.resolve();
      for (const [objectId, list] of objects) {
        const uploads: Array<Promise<StagedUpload>> = [];
        for (const f of list) {
          const { read, upload } = stage(f);
          upload.catch(() => {});
          await Promise.race([read, upload]);
          await previous;
          previous = upload;
          uploads.push(upload);
        }
        const commitP = Promise.all(uploads).then((u) => commit(objectId, u));
        commitP.catch(() => {});
        commits.push(commitP);
      }
      await Promise.all(commits);
    } else {
      for (const [objectId, list] of objects) {
        const uploads: StagedUpload[] = [];
        for (const f of list) uploads.push(await stage(f).upload);
        await commit(objectId, uploads);
      }
    }
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    return { variant, wall, cpu: (c.user + c.system) / 1e6 };
  } finally {
    await store.close();
  }
}

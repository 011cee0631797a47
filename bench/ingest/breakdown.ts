/**
 * Where the time of one ingest goes: the steps of `ingestFile` (src/application/ingest.ts) run
 * one by one in this process over a fresh data dir, each timed, on a warm page cache (one OCFL
 * version per file here; bulk ingest commits one per object, so its journal/ocfl/event steps
 * cost even less than shown):
 *   stage      stageStream: read the source once, sha512 + sha256, write + fsync to staging
 *   identify   identifyFile without decoding (magic bytes, TIFF IFDs, sharp metadata())
 *   decode     identifyFile's verifyDecode pass (every pixel through sharp into a 64 px sink),
 *              measured as identify(verifyDecode) − identify(no decode)
 *   journal    the fsynced ingest intent
 *   ocfl       OcflStorageRoot.addVersion (rename into vN/content, fsyncs, inventories)
 *   event      completeIntent (RecordFileIngested into SQLite) + journal.done
 * and, for scale, the parts of `stage` on their own: hashing alone (sha512 + sha256 in one
 * thread over the bytes in memory) and writing alone (the same batched writes + fsync, no hash);
 * and a candidate cheaper decode check (sequential read of every row, keeping only the last).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { completeIntent } from '../../src/application/complete-ingest.ts';
import { openIngest } from '../../src/application/open-ingest.ts';
import { executeCollectionCommand, executeObjectCommand, newId } from '../../src/application/object-commands.ts';
import { idFromName } from '../../src/domain/vietnamese-fold.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { stageStream } from '../../src/storage/digest.ts';
import { identifyFile } from '../../src/storage/format.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatasetFile } from './dataset.ts';

/** Wall seconds and CPU seconds (user + sys of the whole process, all threads) of one step. */
export interface Took {
  wall: number;
  cpu: number;
}

export interface StepTimes {
  stage: Took;
  identify: Took;
  decode: Took;
  journal: Took;
  ocfl: Took;
  event: Took;
  /** Not part of the pipeline: the parts of `stage` measured alone. */
  hashOnly: Took;
  writeOnly: Took;
  /**
   * Not part of the pipeline: a cheaper full decode for strip/scanline images — sequential read,
   * keep only the last row (every earlier row must still be decoded to reach it).
   */
  decodeLastRow: Took;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const cpuNow = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

async function timeIt<T>(fn: () => Promise<T> | T): Promise<[T, Took]> {
  const t = now();
  const c = cpuNow();
  const value = await fn();
  return [value, { wall: now() - t, cpu: cpuNow() - c }];
}

const minus = (a: Took, b: Took): Took => ({ wall: Math.max(0, a.wall - b.wall), cpu: Math.max(0, a.cpu - b.cpu) });

/** sha512 + sha256 of bytes already in memory, 64 KiB updates (the chunk size of a file stream). */
function hashOnly(bytes: Buffer): void {
  const a = createHash('sha512');
  const b = createHash('sha256');
  for (let i = 0; i < bytes.length; i += 65536) {
    const chunk = bytes.subarray(i, i + 65536);
    a.update(chunk);
    b.update(chunk);
  }
  a.digest();
  b.digest();
}

/** 1 MiB writes of bytes in memory to a new file, then fsync (stageStream's write side, without its periodic datasync). */
async function writeOnly(bytes: Buffer, path: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for (let i = 0; i < bytes.length; i += 1 << 20) await handle.write(bytes, i, Math.min(1 << 20, bytes.length - i), i);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function breakdown(files: DatasetFile[], dataDir: string, sync: () => void): Promise<StepTimes[]> {
  await mkdir(dataDir, { recursive: true });
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  const actor = { id: 'bench', role: 'admin' };
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'bench', title: 'Bench' }, { actor });
  // The same wiring as `thukho ingest`, over this data dir with the default limits.
  const services = await openIngest(loadConfig({ THUKHO_DATA_DIR: dataDir }), store);
  const { stagingDir } = services;
  const registered = new Set<string>();
  const out: StepTimes[] = [];
  try {
    for (const f of files) {
      const objectId = idFromName(f.folder);
      if (!registered.has(objectId)) {
        await executeObjectCommand(store, { type: 'RegisterObject', objectId, metadata: { title: f.folder, collectionId: 'bench' }, accessLevel: 'open' }, { actor });
        registered.add(objectId);
      }
      const bytes = readFileSync(f.path); // also warms the page cache for the source
      const [, hashOnlyT] = await timeIt(() => hashOnly(bytes));
      sync();
      const [, writeOnlyT] = await timeIt(() => writeOnly(bytes, join(stagingDir, 'write-only.tmp')));
      await rm(join(stagingDir, 'write-only.tmp'), { force: true });
      sync();

      const [staged, stage] = await timeIt(() => stageStream(createReadStream(f.path), stagingDir, { md5: false, maxBytes: services.maxFileBytes }));
      const [, identify] = await timeIt(() => identifyFile(staged.path, { maxPixels: services.maxPixels, verifyDecode: false }));
      const [facts, identifyFull] = await timeIt(() => identifyFile(staged.path, { maxPixels: services.maxPixels }));
      const [, decodeLastRow] = await timeIt(async () => {
        const o = { limitInputPixels: services.maxPixels, failOn: 'error' as const, sequentialRead: true };
        const { width, height } = facts.image ?? { width: 0, height: 0 };
        await sharp(staged.path, o).extract({ left: 0, top: height - 1, width, height: 1 }).raw().toBuffer();
      });
      const fileId = newId();
      const logicalPath = `${fileId}/${f.name}`;
      const [intent, journal] = await timeIt(() =>
        services.journal.record({
          objectId,
          file: { fileId, name: f.name, role: 'master', size: staged.size, mediaType: facts.mediaType, digests: staged.digests, ...(facts.image ? { image: facts.image } : {}) },
          logicalPath,
          actor,
          correlationId: newId(),
        }),
      );
      const [written, ocfl] = await timeIt(() =>
        services.ocfl.addVersion(objectId, [{ logicalPath, stagedPath: staged.path, size: staged.size, digests: staged.digests }], {
          created: new Date().toISOString(),
          message: `bench ${fileId}`,
          user: { name: actor.id },
        }),
      );
      const [, event] = await timeIt(async () => {
        await completeIntent(services, intent, written.version, written.contentPaths[logicalPath] as string);
        await services.journal.done(intent);
      });
      out.push({ stage, identify, decode: minus(identifyFull, identify), journal, ocfl, event, hashOnly: hashOnlyT, writeOnly: writeOnlyT, decodeLastRow });
    }
  } finally {
    await store.close();
  }
  return out;
}

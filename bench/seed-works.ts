/**
 * The benches' one way to fill a repository with many works fast: events only, appended
 * straight to the log (a work's ObjectRegistered + FileIngested per page in its object
 * stream, its derivatives and the bench's other facts in its preservation stream), then read
 * in by the real projections with their own code (the `thukho rebuild` path), and kept in a
 * cache under /var/tmp keyed by the seed and every projection's version, so that a second run
 * of the same size only copies files. Used by bench/search, bench/staff and bench/oai.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { envelope } from '../src/application/command-handler.ts';
import { type Config, loadConfig } from '../src/config.ts';
import type { DomainEvent, IngestedFile } from '../src/domain/events.ts';
import type { AccessLevel } from '../src/domain/metadata.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { SqliteEventStore } from '../src/eventstore/sqlite.ts';
import { projectionsFor } from '../src/projections/all.ts';
import { outboxCounts } from '../src/projections/dispatcher.ts';
import { openReadModelDb } from '../src/projections/read-model-db.ts';
import { rebuildProjection } from '../src/projections/runtime.ts';
import { rebuildSearchIndex } from '../src/projections/search-runner.ts';
import { SEARCH_PROJECTION } from '../src/projections/search.ts';
import { openSearchIndex } from '../src/search/open.ts';
import { derivativeFact } from '../tests/helpers/work-history.ts';

export const BENCH_CONTEXT = { actor: { id: 'bench', role: 'admin' } } as const;

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0').slice(-len);

export interface WorkSeed {
  /** As ObjectRegistered carries it (checked by the event's own schema on append). */
  metadata: Record<string, unknown> & { title: string };
  accessLevel: AccessLevel;
}

export interface SeedWorksOptions {
  works: number;
  pagesPerWork: number;
  /** Created first, in this order. */
  collections?: ReadonlyArray<{ id: string; title: string }>;
  /** Each page's master: its size in bytes and pixels (the files themselves are never written). */
  master: { size: number; width: number; height: number };
  /** Work `w`'s id (default `w{w}`). */
  objectId?: (w: number) => string;
  describe: (w: number, objectId: string) => WorkSeed;
  /** Facts about page `p` after its derivative (OCR, page text); `n` = w × 1000 + p, unique per page. */
  pageFacts?: (w: number, objectId: string, file: IngestedFile, p: number, n: number) => DomainEvent[];
  /** Facts about the whole work after its pages' (fixity checks). */
  workFacts?: (w: number, objectId: string, files: IngestedFile[]) => DomainEvent[];
}

/**
 * Appends the works to `store`; returns the number of events. Every page's derivative is in
 * the log already, so that a server started on the result has no job to hand out; OCR is
 * the bench's to settle (pageFacts), or the dispatcher asks for it.
 */
export async function seedWorks(store: EventStore, o: SeedWorksOptions): Promise<number> {
  let events = 0;
  for (const c of o.collections ?? []) {
    await store.append(`collection-${c.id}`, envelope([{ type: 'CollectionCreated', data: { collectionId: c.id, title: c.title } }] as never[], BENCH_CONTEXT).newEvents, 'no_stream');
    events++;
  }
  for (let w = 0; w < o.works; w++) {
    const objectId = o.objectId?.(w) ?? `w${w}`;
    const { metadata, accessLevel } = o.describe(w, objectId);
    const decided: DomainEvent[] = [{ type: 'ObjectRegistered', data: { objectId, metadata, accessLevel } } as DomainEvent];
    const facts: DomainEvent[] = [];
    const files: IngestedFile[] = [];
    for (let p = 0; p < o.pagesPerWork; p++) {
      const fileId = `${objectId}-p${p}`;
      const n = w * 1000 + p;
      const file: IngestedFile = {
        fileId,
        name: `${fileId}.tif`,
        role: 'master',
        size: o.master.size,
        mediaType: 'image/tiff',
        digests: { sha512: hex(n, 128).padStart(128, 'a'), sha256: hex(n, 64).padStart(64, 'b') },
        image: { width: o.master.width, height: o.master.height },
        storage: { ocflObjectId: objectId, version: 'v1', path: `v1/content/${fileId}.tif` },
      };
      files.push(file);
      decided.push({ type: 'FileIngested', data: { objectId, sequence: p, ...file } });
      facts.push(derivativeFact(objectId, file));
      if (o.pageFacts) facts.push(...o.pageFacts(w, objectId, file, p, n));
    }
    if (o.workFacts) facts.push(...o.workFacts(w, objectId, files));
    await store.append(`object-${objectId}`, envelope(decided as never[], BENCH_CONTEXT).newEvents, 'no_stream');
    if (facts.length) await store.append(`preservation-${objectId}`, envelope(facts as never[], BENCH_CONTEXT).newEvents, 'no_stream');
    events += decided.length + facts.length;
  }
  return events;
}

/**
 * The cache key of a seeded repository: `label`, then a hash of what the bench says its seed
 * depends on (sizes, seed version) and of every projection's version, so that a projection
 * change rebuilds it.
 */
export function repositoryKey(config: Config, label: string, seedParams: Record<string, unknown>): string {
  const versions = Object.values(projectionsFor(config)).map((p) => `${p.name}@${p.version}`).sort();
  const key = JSON.stringify({ ...seedParams, versions, search: SEARCH_PROJECTION.version });
  return `${label}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * Seeds the log and runs every projection over it, offline, with the projections' own code
 * (larger batches than a live server, one projection at a time), into `dir`. The one thing
 * not left as the log says: the description queue, which would have the server write an OCFL
 * description version per work while it is measured; in a running repository each was
 * written when its work was ingested. (The seeded works have no bytes.)
 */
export async function buildRepository(
  dir: string,
  config: Config,
  seed: (store: EventStore) => Promise<number>,
  redisUrl: string,
): Promise<{ events: number; seedS: number; projectS: number }> {
  mkdirSync(dir, { recursive: true });
  const paths = loadConfig({ THUKHO_DATA_DIR: dir, REDIS_URL: redisUrl, THUKHO_LOG_LEVEL: 'silent' });
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  let t0 = performance.now();
  const events = await seed(store);
  const seedS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const db = openReadModelDb(paths.readModelPath);
  for (const projection of Object.values(projectionsFor(config))) {
    const t = performance.now();
    const { events: n } = await rebuildProjection(store, db, projection);
    console.log(`  projection ${projection.name}: ${n} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  db.exec('DELETE FROM description_pending');
  const pending = outboxCounts(db).pending;
  if (pending > 0) console.log(`  (${pending} jobs left pending in the outbox: the server will hand them to the queue when it starts)`);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const index = openSearchIndex(paths);
  const t = performance.now();
  const { events: n } = await rebuildSearchIndex(store, index);
  console.log(`  search index: ${n} events in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await index.close();
  await store.close();
  return { events, seedS, projectS: (performance.now() - t0) / 1000 };
}

export interface ProvideOptions {
  /** This run's data directory: receives a copy of the repository's files. */
  dataDir: string;
  config: Config;
  /** Where built repositories are kept, e.g. /var/tmp/thukho-bench-oai. */
  cacheRoot: string;
  /** From repositoryKey. */
  key: string;
  /** Build in the run's own directory and keep nothing. */
  noCache: boolean;
  /** What is being built, for the log line ("10000 works × 20 pages"). */
  description: string;
  seed: (store: EventStore) => Promise<number>;
  redisUrl: string;
}

/** The seeded repository's files in `dataDir`: from the cache, or built (and cached) now. */
export async function provideRepository(o: ProvideOptions): Promise<void> {
  const cached = join(o.cacheRoot, o.key);
  if (!o.noCache && existsSync(join(cached, 'complete'))) {
    console.log(`repository: cached, ${cached} (built by an earlier run with the same sizes, seed and projection versions; --no-cache builds it anew)`);
  } else {
    const building = o.noCache ? join(o.dataDir, 'building') : `${cached}.building-${process.pid}`;
    console.log(`repository: building ${o.description} into ${o.noCache ? 'the data directory' : cached} (once for these sizes)…`);
    rmSync(building, { recursive: true, force: true });
    const built = await buildRepository(building, o.config, o.seed, o.redisUrl);
    console.log(`  ${built.events} events seeded in ${built.seedS.toFixed(1)} s; projections and search index in ${built.projectS.toFixed(1)} s`);
    if (o.noCache) {
      for (const name of readdirSync(building)) renameSync(join(building, name), join(o.dataDir, name));
      rmSync(building, { recursive: true, force: true });
      return;
    }
    writeFileSync(join(building, 'complete'), `${new Date().toISOString()}\n`);
    rmSync(cached, { recursive: true, force: true });
    renameSync(building, cached);
  }
  // A copy for this run: the server writes to it (users, access events, its checkpoints).
  for (const name of readdirSync(cached)) if (name !== 'complete') copyFileSync(join(cached, name), join(o.dataDir, name), fsConstants.COPYFILE_FICLONE);
}

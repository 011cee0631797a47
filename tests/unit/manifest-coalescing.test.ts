import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import type { Viewer } from '../../src/domain/access-policy.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import type { NewEvent } from '../../src/eventstore/port.ts';
import { ManifestBuilder } from '../../src/projections/manifest-builder.ts';
import { canvasImageIds, findManifest, manifestBuilds, manifestReadModel, renderStoredJson } from '../../src/projections/manifest-read-model.ts';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.ts';
import { catchUpProjection, ProjectionRunner, rebuildProjection } from '../../src/projections/runtime.ts';
import { poll } from '../helpers/api.ts';
import { testEvent } from '../helpers/events.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';

/**
 * Big books: while a work's derivatives arrive one event at a time, the manifests projection
 * marks its manifest stale instead of building it per page; the batch bringing the last one
 * builds it, a request finds it current whenever it asks, and a rebuild from the log gives
 * the same bytes. Real SQLite log and read model, the real runner delivering live batches.
 */
const logger = pino({ level: 'silent' });
const STAFF: Viewer = { role: 'curator' };
const root = mkdtempSync(join(tmpdir(), 'thukho-bigbook-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
let cases = 0;

const hex = (seed: string, algorithm: 'sha512' | 'sha256') => createHash(algorithm).update(seed).digest('hex');
const fileIdOf = (objectId: string, page: number) => `${objectId}-p${page}`;

function registered(objectId: string, pages: number): NewEvent[] {
  const events = [testEvent('ObjectRegistered', { objectId, metadata: { title: `Sách ${objectId}`, language: ['vie'] }, accessLevel: 'open' })];
  for (let i = 0; i < pages; i++) {
    const fileId = fileIdOf(objectId, i + 1);
    events.push(
      testEvent('FileIngested', {
        objectId,
        sequence: i,
        fileId,
        name: `${fileId}.tif`,
        role: 'master',
        size: 1000,
        mediaType: 'image/tiff',
        digests: { sha512: hex(fileId, 'sha512'), sha256: hex(fileId, 'sha256') },
        image: { width: 4000, height: 6000 },
        storage: { ocflObjectId: objectId, version: 'v1', path: `${fileId}.tif` },
      }),
    );
  }
  return events;
}

function derivativeCreated(objectId: string, page: number): NewEvent {
  const fileId = fileIdOf(objectId, page);
  return testEvent('DerivativeCreated', {
    objectId,
    fileId,
    masterSha512: hex(fileId, 'sha512'),
    width: 4000,
    height: 6000,
    pyramid: { sha256: hex(`${fileId}-pyramid`, 'sha256'), size: 1000, levels: 6 },
    tileSize: 256,
    scaleFactors: [1, 2, 4, 8, 16, 32],
    tiles: 400,
    sizes: [[125, 188], [250, 375], [500, 750]].map(([width, height]) => ({ width, height })),
    software: 'test',
  });
}

/** A thumbnail cut from a derivative (250×375) rather than fitted from the master's size. */
const hasDerivative = (manifest: string, objectId: string, page: number) => manifest.includes(`/iiif/3/${fileIdOf(objectId, page)}/full/250,375/0/default.jpg`);

async function setup() {
  const dir = join(root, `case-${cases++}`);
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const db = openReadModelDb(join(dir, 'readmodel.sqlite'));
  const runner = new ProjectionRunner(store, db, manifestReadModel, logger);
  await runner.start();
  /** Appends, and waits until the runner applied it: each append is a batch of its own. */
  const append = async (streamId: string, events: NewEvent[]) => {
    const { position } = await store.append(streamId, events, 'any');
    if (!(await runner.waitForPosition(position, 600_000))) throw new Error('the runner stopped');
  };
  const close = async () => {
    await runner.stop();
    db.close();
    await store.close();
  };
  return { dir, store, db, runner, append, close };
}

function storedRow(db: ReadModelDb, objectId: string) {
  return db.prepare<[string], { manifest: string | null; etag: string | null; stale_pos: number | null }>(
    'SELECT manifest, etag, stale_pos FROM iiif_manifests WHERE object_id = ?',
  ).get(objectId);
}

function served(db: ReadModelDb, objectId: string) {
  const found = findManifest(db, objectId, STAFF, 'record');
  if (found.status !== 'ok') throw new Error(`manifest of ${objectId}: ${found.status}`);
  return { json: found.json, etag: found.etag };
}

test.serial('a 500-page book whose derivatives arrive one event per batch is built a few times, not 500, and is current after the last one without any request', async (t) => {
  const PAGES = 500;
  const { db, append, close } = await setup();
  t.teardown(close);
  await append('object-big', registered('big', PAGES));
  const before = manifestBuilds.count;
  const msBefore = manifestBuilds.ms;
  for (let page = 1; page <= PAGES; page++) await append('preservation-big', [derivativeCreated('big', page)]);
  const builds = manifestBuilds.count - before;
  t.log(`${PAGES} derivatives, one batch each: ${builds} full builds, ${Math.round(manifestBuilds.ms - msBefore)} ms of building (before coalescing: ${PAGES} builds)`);
  t.true(builds <= 3, `${builds} builds`);

  // No request: the stored document itself is current.
  const row = await poll('the stored manifest with the last page\'s derivative', 120_000, async () => {
    const r = storedRow(db, 'big');
    return r?.manifest && r.stale_pos === null && hasDerivative(r.manifest, 'big', PAGES) ? r : undefined;
  });
  const manifest = JSON.parse(renderStoredJson(row.manifest!, { base: 'https://thukho.example.vn', institution: 'Thư viện' })) as { items: unknown[] };
  t.is(manifest.items.length, PAGES);
  t.deepEqual(validatePresentation3(manifest), []);
  for (const page of [1, 250, PAGES]) t.true(hasDerivative(row.manifest!, 'big', page), `page ${page}`);
});

test.serial('a request while the manifest is stale gets it as the log is now, with a new ETag; the background builder builds it once quiet', async (t) => {
  const { db, append, close } = await setup();
  t.teardown(close);
  await append('object-half', registered('half', 20));
  for (let page = 1; page <= 5; page++) await append('preservation-half', [derivativeCreated('half', page)]);
  const first = served(db, 'half');
  t.true(hasDerivative(first.json, 'half', 5));
  t.false(hasDerivative(first.json, 'half', 6));

  await append('preservation-half', [derivativeCreated('half', 6)]);
  t.not(storedRow(db, 'half')?.stale_pos ?? null, null, 'pages still awaited: only marked stale');
  const second = served(db, 'half');
  t.true(hasDerivative(second.json, 'half', 6));
  t.not(second.etag, first.etag);
  t.is(storedRow(db, 'half')?.stale_pos, null, 'the request stored what it built');
  // Asked again: the stored document, no build.
  const builds = manifestBuilds.count;
  t.deepEqual(served(db, 'half'), second);
  t.is(manifestBuilds.count, builds);

  // Nobody asks: the builder builds it once nothing changed it for `quietMs`, then waits
  // twice as long before building the same work again while its pages keep coming.
  const builder = new ManifestBuilder({ db, logger, quietMs: 1000 });
  await append('preservation-half', [derivativeCreated('half', 7)]);
  const now = Date.now();
  t.is(builder.once(now), 0);
  t.is(builder.once(now + 999), 0);
  t.is(builder.once(now + 1000), 1);
  t.true(hasDerivative(storedRow(db, 'half')!.manifest!, 'half', 7));
  await append('preservation-half', [derivativeCreated('half', 8)]);
  t.is(builder.once(now + 2000), 0);
  t.is(builder.once(now + 3000), 0, 'the second build waits 2 × quietMs');
  t.is(builder.once(now + 4000), 1);
  t.true(hasDerivative(storedRow(db, 'half')!.manifest!, 'half', 8));
});

test.serial('a rebuild from the log gives byte-identical manifests and ETags, for finished and half-derived works', async (t) => {
  const { dir, store, db, runner, append, close } = await setup();
  t.teardown(close);
  await append('object-done', registered('done', 30));
  for (let page = 1; page <= 30; page++) await append('preservation-done', [derivativeCreated('done', page)]);
  await append('object-done', [testEvent('MetadataEdited', { objectId: 'done', changes: { title: 'Sách đã sửa' } })]);
  await append('object-part', registered('part', 12));
  for (let page = 1; page <= 7; page++) await append('preservation-part', [derivativeCreated('part', page)]);
  const live = { done: served(db, 'done'), part: served(db, 'part') };
  t.true(live.done.json.includes('Sách đã sửa'));

  await rebuildProjection(store, db, manifestReadModel);
  t.deepEqual(served(db, 'done'), live.done);
  t.deepEqual(served(db, 'part'), live.part);
  // Rebuilt in one batch: the finished work is stored built, byte for byte as it was served.
  t.is(storedRow(db, 'done')?.manifest, live.done.json);

  // Another connection (an online `thukho rebuild`, another process) has none of the first
  // one's remembered states: it reads them from the tables, files one row each.
  await runner.stop();
  const other = openReadModelDb(join(dir, 'readmodel.sqlite'));
  t.teardown(() => other.close());
  await store.append('preservation-part', [derivativeCreated('part', 8)], 'any');
  await catchUpProjection(store, other, manifestReadModel);
  const after = served(other, 'part').json;
  for (const page of [1, 7, 8]) t.true(hasDerivative(after, 'part', page), `page ${page}`);
  t.false(hasDerivative(after, 'part', 9));
  t.deepEqual(canvasImageIds(other, 'part'), Array.from({ length: 12 }, (_, i) => fileIdOf('part', i + 1)));
  t.deepEqual(served(db, 'part').json, after, 'the first connection reads what the other wrote');
});

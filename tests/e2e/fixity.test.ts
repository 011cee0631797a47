import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdtemp, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import sharp from 'sharp';
import {
  checkObjectFixity,
  type FixityRoot,
  type FixityServices,
  openFixityRoots,
  remakeDerivativeInProcess,
  type RepairFn,
  type RootRef,
} from '../../src/application/fixity.ts';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { parseCsv } from '../../src/cli/csv.ts';
import type { EventData } from '../../src/domain/events.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { sealNow } from '../../src/eventstore/seal.ts';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import { damagedFiles, fixityReadModel } from '../../src/projections/fixity-read-model.ts';
import { ProjectionRunner } from '../../src/projections/runtime.ts';
import { checkFile } from '../../src/storage/fixity.ts';
import { FixityPool } from '../../src/storage/fixity-pool.ts';
import { stageStream } from '../../src/storage/digest.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { startFixityWorker } from '../../workers/fixity.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { mulberry32 } from '../helpers/prng.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { recordDerivative, recordFact } from '../../src/application/machine-facts.ts';
import { flipByte } from '../helpers/damage.ts';
import { scaledTimeout, timeScale } from '../helpers/time-scale.ts';

/**
 * Fixity end to end: a real server ingests real files into its OCFL root; checkObjectFixity,
 * the scheduled worker and the `thukho fixity` command check them, find flipped bytes, call
 * the repair, and everything they find is in the object's stream.
 */
const test = testWithServer();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const logger = pino({ level: 'silent' });
const pool = new FixityPool(2);
const cleanup: string[] = [];
test.after.always(async () => {
  await pool.close();
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

async function newObject(s: TestServer, title: string, collectionId?: string): Promise<string> {
  const o = await staffCall(s, 'POST', '/api/objects', { title, ...(collectionId ? { collectionId } : {}) });
  if (typeof o.id !== 'string') throw new Error(`object not created: ${JSON.stringify(o)}`);
  return o.id;
}

/** Incompressible scan-sized pages (uncompressed noise), distinct per seed. */
function noisePage(seed: number, side = 256): Promise<Buffer> {
  const next = mulberry32(seed);
  const pixels = Buffer.alloc(side * side * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(next() * 256);
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).tiff({ compression: 'none' }).toBuffer();
}

/**
 * The read budget (MB/s) of a run that a test interrupts after its first few checks: slow enough
 * that the run is still going when the interruption lands, which on a busy machine comes late
 * (this process waits its turn for the CPU while the run reads on at its budget).
 */
function slowBudget(): string {
  return (0.5 / timeScale()).toFixed(3);
}

async function collectStream(s: TestServer, streamId: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of s.store.readStream(streamId)) out.push(e);
  return out;
}

/** Both of the work's streams, in log order: ingest on the object stream, every finding on the preservation stream. */
async function events(s: TestServer, objectId: string): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (const streamId of [`object-${objectId}`, `preservation-${objectId}`]) {
    for await (const e of s.store.readStream(streamId)) out.push(e);
  }
  return out.sort((a, b) => Number(a.position - b.position));
}
const ofType = <K extends 'FixityChecked' | 'FileRepaired' | 'FileDamaged' | 'FileIngested'>(list: RecordedEvent[], type: K) =>
  list.filter((e) => e.type === type).map((e) => ({ ...(e.data as EventData<K>), meta: e.metadata, position: e.position }));

interface StoredFileJson {
  fileId: string;
  size: number;
  digests: { sha512: string; sha256: string };
  storage: { ocflObjectId: string; version: string; path: string };
}
async function filesOf(s: TestServer, objectId: string): Promise<StoredFileJson[]> {
  return (await staffCall(s, 'GET', `/api/objects/${objectId}`)).files as StoredFileJson[];
}


function fakeRepair(outcome: Awaited<ReturnType<RepairFn>>) {
  const calls: Array<Parameters<RepairFn>> = [];
  const repair: RepairFn = async (...args) => {
    calls.push(args);
    return outcome;
  };
  return { repair, calls };
}

async function services(s: TestServer, extra: Partial<FixityServices> & Pick<FixityServices, 'repair'>): Promise<FixityServices> {
  const { roots } = await openFixityRoots(s.config);
  return { store: s.store, roots, derivatives: new DerivativeStore(s.config.derivativesDir), hasher: pool, logger, ...extra };
}

/** Replaces `to` with `from`'s bytes the way a careful repair does: temp file, fsync, rename. */
async function replaceWith(from: string, to: string): Promise<void> {
  const tmp = `${to}.repair-${process.pid}.tmp`;
  await copyFile(from, tmp);
  const handle = await open(tmp, 'r');
  await handle.sync();
  await handle.close();
  await rename(tmp, to);
}

/** A real repair for the test: take the first other root whose copy verifies, and copy it over. */
function copyFromOtherRoots(roots: FixityRoot[]): RepairFn {
  return async (damaged, what) => {
    const target = roots.find((r) => r.label === damaged.label) as FixityRoot;
    const tried: Array<{ root: RootRef; reason: string }> = [];
    for (const source of roots) {
      if (source.label === damaged.label) continue;
      const ref = { label: source.label, path: source.path };
      if (what.target === 'master') {
        const from = source.storage.contentPathOnDisk(what.ocflObjectId, what.contentPath as string);
        const check = await checkFile(from, what.expected ?? {});
        if (check.outcome !== 'pass') {
          tried.push({ root: ref, reason: `${check.failure}` });
          continue;
        }
        await replaceWith(from, target.storage.contentPathOnDisk(what.ocflObjectId, what.contentPath as string));
        return { repaired: true, from: ref };
      }
      const fromDir = join(source.path, source.storage.objectRoot(what.ocflObjectId));
      const toDir = join(target.path, target.storage.objectRoot(what.ocflObjectId));
      const sidecar = (await readFile(join(fromDir, 'inventory.json.sha512'), 'utf8')).split(/\s/)[0];
      const check = await checkFile(join(fromDir, 'inventory.json'), { sha512: sidecar as string });
      if (check.outcome !== 'pass') {
        tried.push({ root: ref, reason: 'its inventory does not match its sidecar either' });
        continue;
      }
      await replaceWith(join(fromDir, 'inventory.json'), join(toDir, 'inventory.json'));
      await replaceWith(join(fromDir, 'inventory.json.sha512'), join(toDir, 'inventory.json.sha512'));
      return { repaired: true, from: ref };
    }
    return { repaired: false, tried };
  };
}

// ---------------------------------------------------------------------------------------------
// checkObjectFixity against the real OCFL root

test.serial('a freshly ingested object passes: one FixityChecked per master and one for its inventory', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Đại Nam thực lục');
  for (const [i, text] of ['Quyển nhất', 'Quyển nhị', 'Quyển tam'].entries()) await uploadFile(s, objectId, await page(text), `trang_${i + 1}.tif`);
  const files = await filesOf(s, objectId);
  const { repair, calls } = fakeRepair({ repaired: false, tried: [] });
  const result = await checkObjectFixity(await services(s, { repair }), objectId);

  t.is(calls.length, 0, 'nothing to repair');
  t.is(result.results.length, 4);
  t.true(result.results.every((r) => r.outcome === 'pass'));
  const checks = ofType(await events(s, objectId), 'FixityChecked');
  t.is(checks.length, 4);
  for (const f of files) {
    const c = checks.find((e) => e.fileId === f.fileId);
    t.truthy(c, f.fileId);
    t.like(c, { target: 'master', outcome: 'pass', algorithm: 'sha512', bytes: f.size, storageRoot: { label: 'primary', path: s.config.ocflRoot } });
    t.is(c?.expected.sha512, f.digests.sha512);
    t.is(c?.actual.sha512, f.digests.sha512);
    t.true(c!.path.endsWith(`/${f.storage.path}`));
    t.is(c?.meta.actor.id, 'worker:fixity');
  }
  const inventory = checks.find((e) => e.target === 'inventory');
  t.like(inventory, { outcome: 'pass', fileId: undefined });
  t.true(inventory!.path.endsWith('/inventory.json'));
  t.true(inventory!.bytes > 0);
});

test.serial('one flipped byte: FixityChecked "changed", the repair is called, FileDamaged when it cannot repair', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Lĩnh Nam chích quái');
  await uploadFile(s, objectId, await page('Truyện Hồng Bàng'), 'trang_1.tif');
  await uploadFile(s, objectId, await page('Truyện Ngư Tinh'), 'trang_2.tif');
  await s.describeNow(); // the work's description versions, written after the uploads, are in
  const [first, second] = await filesOf(s, objectId);
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  await flipByte(ocfl.contentPathOnDisk(second!.storage.ocflObjectId, second!.storage.path), 1000);

  const tried = [{ root: { label: 'nas', path: '/mnt/nas' }, reason: 'không có bản sao / no copy there' }];
  const { repair, calls } = fakeRepair({ repaired: false, tried });
  const damaged: Array<EventData<'FileDamaged'>> = [];
  await checkObjectFixity(await services(s, { repair, onDamaged: (e) => void damaged.push(e) }), objectId);

  t.is(calls.length, 1);
  const [root, what] = calls[0]!;
  t.deepEqual(root, { label: 'primary', path: s.config.ocflRoot });
  t.deepEqual(what, { target: 'master', ocflObjectId: second!.storage.ocflObjectId, contentPath: second!.storage.path, expected: { sha512: second!.digests.sha512, size: second!.size } });

  const log = await events(s, objectId);
  const checks = ofType(log, 'FixityChecked');
  t.like(checks.find((c) => c.fileId === first!.fileId), { outcome: 'pass' });
  const failed = checks.find((c) => c.fileId === second!.fileId);
  t.like(failed, { outcome: 'fail', failure: 'changed', bytes: second!.size });
  t.not(failed?.actual.sha512, second!.digests.sha512);
  const [damage] = ofType(log, 'FileDamaged');
  t.like(damage, { fileId: second!.fileId, target: 'master', failure: 'changed', storageRoot: { label: 'primary' } });
  t.deepEqual(damage?.tried, tried);
  t.is(damaged.length, 1, 'onDamaged was told');
  t.is(damaged[0]?.fileId, second!.fileId);
  t.true(damage!.position > failed!.position, 'the damage is recorded after the check that found it');
});

test.serial('a damaged master and inventory are repaired from a second storage root', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Hồng Đức quốc âm thi tập');
  await uploadFile(s, objectId, await page('Bài một'), 'trang_1.tif');
  await uploadFile(s, objectId, await page('Bài hai'), 'trang_2.tif');
  await s.describeNow(); // the work's description versions, written after the uploads, are in
  const files = await filesOf(s, objectId);
  const ocflId = files[0]!.storage.ocflObjectId;

  // The second root: a verified copy of the object, as the replication worker would leave it.
  const replicaPath = await mkdtemp(join(tmpdir(), 'thukho-replica-'));
  cleanup.push(replicaPath);
  const primary = await OcflStorageRoot.open(s.config.ocflRoot);
  const replica = await OcflStorageRoot.open(replicaPath);
  await cp(join(s.config.ocflRoot, primary.objectRoot(ocflId)), join(replicaPath, replica.objectRoot(ocflId)), { recursive: true });
  const nas = { label: 'nas', path: replicaPath };
  const head = files.map((f) => f.storage.version).sort().at(-1) as string;
  await recordFact(s.store, objectId, { type: 'FileReplicated', data: { objectId, version: head, replica: nas, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) } }, { actor: { id: 'worker:replication', role: 'admin' } });
  const roots: FixityRoot[] = [
    { label: 'primary', path: s.config.ocflRoot, storage: primary },
    { ...nas, storage: replica },
  ];

  const masterPath = primary.contentPathOnDisk(ocflId, files[1]!.storage.path);
  const original = await readFile(masterPath);
  await flipByte(masterPath, 500);
  const inventoryPath = join(s.config.ocflRoot, primary.objectRoot(ocflId), 'inventory.json');
  await writeFile(inventoryPath, `${await readFile(inventoryPath, 'utf8')} `);

  const svc = await services(s, { repair: copyFromOtherRoots(roots), roots });
  const result = await checkObjectFixity(svc, objectId);
  // Two masters and an inventory on each root.
  t.is(result.results.length, 6);
  const failedNow = result.results.filter((r) => r.outcome === 'fail');
  t.deepEqual(failedNow.map((r) => [r.target, r.root.label, r.failure, r.repaired]).sort(), [
    ['inventory', 'primary', 'invalid-inventory', true],
    ['master', 'primary', 'changed', true],
  ]);
  t.true((await readFile(masterPath)).equals(original), 'the master has its bytes back');

  const log = await events(s, objectId);
  const repairs = ofType(log, 'FileRepaired');
  t.is(repairs.length, 2);
  const master = repairs.find((r) => r.target === 'master');
  t.like(master, { fileId: files[1]!.fileId, failure: 'changed', storageRoot: { label: 'primary' }, from: nas, sha512: files[1]!.digests.sha512 });
  const inventory = repairs.find((r) => r.target === 'inventory');
  t.like(inventory, { failure: 'invalid-inventory', from: nas });
  t.is(inventory?.sha512, createHash('sha512').update(await readFile(inventoryPath)).digest('hex'));
  t.deepEqual(ofType(log, 'FileDamaged'), []);
  const onNas = ofType(log, 'FixityChecked').filter((c) => c.storageRoot.label === 'nas');
  t.is(onNas.length, 3);
  t.true(onNas.every((c) => c.outcome === 'pass'));

  // Checked again: everything passes on both roots.
  const again = await checkObjectFixity(svc, objectId);
  t.true(again.results.every((r) => r.outcome === 'pass'));
});

test.serial('a changed derivative pyramid is made again from its master, not repaired from a replica', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Đại Việt sử ký toàn thư');
  await uploadFile(s, objectId, await page('Ngoại kỷ', { width: 700, height: 500 }), 'trang_1.tif');
  const [file] = await filesOf(s, objectId);
  const primary = await OcflStorageRoot.open(s.config.ocflRoot);
  const derivatives = new DerivativeStore(s.config.derivativesDir);
  const masterPath = (ocflObjectId: string, contentPath: string) => primary.contentPathOnDisk(ocflObjectId, contentPath);
  const info = await derivatives.build(masterPath(file!.storage.ocflObjectId, file!.storage.path), file!.digests.sha512, { tileSize: 256, maxPixels: 1e9 });
  await recordDerivative(s.store, objectId, file!.fileId, info, { actor: { id: 'worker:derivatives', role: 'admin' } });
  const pyramid = derivatives.pyramidPath(file!.digests.sha512);
  await flipByte(pyramid, 2000);

  const { repair, calls } = fakeRepair({ repaired: false, tried: [] });
  const remade: string[] = [];
  const remake = remakeDerivativeInProcess({ store: s.store, derivatives, masterPath, tileSize: 256, maxPixels: 1e9 });
  const result = await checkObjectFixity(await services(s, { repair, remakeDerivative: async (f) => {
    remade.push(f.fileId);
    await remake(f);
  } }), objectId);

  t.is(calls.length, 0, 'pyramids are never repaired from other roots');
  t.deepEqual(remade, [file!.fileId]);
  const d = result.results.find((r) => r.target === 'derivative');
  t.like(d, { outcome: 'fail', failure: 'changed', remade: true, repaired: false, damaged: false, root: { label: 'derivatives', path: s.config.derivativesDir } });
  const check = ofType(await events(s, objectId), 'FixityChecked').find((c) => c.target === 'derivative');
  t.like(check, { algorithm: 'sha256', expected: { sha256: info.pyramid.sha256 }, failure: 'changed' });
  t.is(check?.path, `${file!.digests.sha512.slice(0, 2)}/${file!.digests.sha512.slice(2, 4)}/${file!.digests.sha512}/pyramid.tif`);
  // Made again, it matches what the log pinned.
  const now = await checkFile(pyramid, { sha256: info.pyramid.sha256, size: info.pyramid.size });
  t.is(now.outcome, 'pass');
});

test.serial('an inventory checked while a writer is between the two renames of its commit passes once the commit ends: no repair, no damage', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Lĩnh Nam chích quái');
  await uploadFile(s, objectId, await page('Truyện họ Hồng Bàng'), 'trang_1.tif');
  await s.describeNow(); // no description version of the server's own in the way
  const [file] = await filesOf(s, objectId);
  const ocflId = file!.storage.ocflObjectId;

  // A second writer of the object, held after it renamed the new inventory.json into place and
  // before the sidecar follows: the root's inventory and its sidecar disagree meanwhile. Held
  // well past the check's start, as a busy machine can hold a real writer.
  let reached!: () => void;
  const atCommit = new Promise<void>((r) => (reached = r));
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const writer = await OcflStorageRoot.open(s.config.ocflRoot, {
    faults: async ({ step, path }) => {
      if (step === 'rename' && path === join(s.config.ocflRoot, writer.objectRoot(ocflId), 'inventory.json.sha512')) {
        reached();
        await held;
      }
    },
  });
  const staging = await mkdtemp(join(s.config.ocflRoot, '..', 'staging-'));
  cleanup.push(staging);
  const staged = await stageStream(Readable.from([Buffer.from('ghi chú của người số hoá')]), staging, {});
  const writing = writer.addVersion(ocflId, [{ logicalPath: 'ghi-chu.txt', stagedPath: staged.path, size: staged.size, digests: staged.digests }], {
    created: new Date().toISOString(),
    message: 'ghi chú',
    user: { name: 'thủ thư' },
  });
  await atCommit;
  const { repair, calls } = fakeRepair({ repaired: false, tried: [] });
  const checking = checkObjectFixity(await services(s, { repair }), objectId);
  await new Promise((r) => setTimeout(r, 1500));
  release();
  await writing;
  const result = await checking;

  t.is(calls.length, 0, 'a commit in progress is not damage');
  const inventory = result.results.find((r) => r.target === 'inventory');
  t.like(inventory, { outcome: 'pass' });
  const log = await events(s, objectId);
  t.deepEqual(ofType(log, 'FileDamaged'), []);
  t.deepEqual(ofType(log, 'FixityChecked').filter((c) => c.outcome !== 'pass'), []);
});

// ---------------------------------------------------------------------------------------------
// the read model, the audit route, the scheduled worker

test.serial('the scheduled worker checks what the read model says is due; the audit route reports it', async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'chau-ban', title: 'Châu bản triều Nguyễn' });
  const objectId = await newObject(s, 'Châu bản Minh Mạng', 'chau-ban');
  await uploadFile(s, objectId, await page('Minh Mạng năm thứ nhất'), 'trang_1.tif');
  await uploadFile(s, objectId, await page('Minh Mạng năm thứ hai'), 'trang_2.tif');

  // A runner of the test's own, so that the test can wait for the read model to have the new
  // events (a server that runs the projection too shares its checkpoint: no batch twice).
  const runner = new ProjectionRunner(s.store, s.readDb, fixityReadModel, logger);
  runner.start();
  t.teardown(() => runner.stop());
  const caughtUp = async () => {
    const head = (await s.store.headPosition()) as bigint;
    await poll('the fixity projection to catch up', 10_000, async () => (runner.lagBehind(head) === 0 ? true : undefined), 20);
  };
  await caughtUp();

  // A cycle of ~1 s: everything is due, so the scheduler's first run checks it all.
  const config = { ...s.config, fixity: { ...s.config.fixity, cycleDays: 1e-5, mbPerSecond: 0 } };
  const { repair } = fakeRepair({ repaired: false, tried: [] });
  const before = (await s.store.headPosition()) as bigint;
  await new Promise((r) => setTimeout(r, 1000));
  const worker = await startFixityWorker({ store: s.store, redisUrl: s.config.redisUrl ?? 'redis://127.0.0.1:6379', logger, config, repair, everyMs: 60 * 60_000, poolSize: 2 });
  t.teardown(async () => {
    await worker.queue.removeJobScheduler('fixity-due');
    await worker.close();
  });
  const checks = await poll('the worker to check the object', 60_000, async () => {
    const found = ofType(await events(s, objectId), 'FixityChecked').filter((c) => c.position > before);
    return found.length >= 3 ? found : undefined;
  });
  t.true(checks.every((c) => c.meta.actor.id === 'worker:fixity' && c.outcome === 'pass'));
  t.deepEqual(checks.map((c) => c.fileId ?? 'inventory').sort(), [...(await filesOf(s, objectId)).map((f) => f.fileId), 'inventory'].sort());
  t.true(checks.every((c) => c.meta.correlationId.startsWith('fixity-')), 'the job id is the correlation id');

  // The documented edit workflow still works on a work the worker has checked: its findings
  // never move the revision people edit against (GET → If-Match → PATCH).
  const got = await fetch(`${s.url}/api/objects/${objectId}`, { headers: { authorization: `Bearer ${s.staffToken}` } });
  const etag = got.headers.get('etag') as string;
  t.is(etag, `"${(await collectStream(s, `object-${objectId}`)).length - 1}"`, 'the ETag is the object stream’s revision');
  const edited = await fetch(`${s.url}/api/objects/${objectId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': etag },
    body: JSON.stringify({ subject: 'Châu bản' }),
  });
  t.is(edited.status, 200, await edited.clone().text());

  // The read model sees the checks; the audit route counts them for the collection.
  await caughtUp();
  // A seal in the log is quoted by the report.
  const sealed = await sealNow(s.store, [], { id: 'test', role: 'admin' });
  const base = s.url;
  const today = new Date();
  const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  const get = (query: string, token: string | null = s.staffToken) =>
    fetch(`${base}/api/audit/report?${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  const res = await get(`from=${day}&to=${day}`);
  t.is(res.status, 200);
  const report = (await res.json()) as { collections: Array<Json & { collectionId: string | null }>; total: Json };
  const row = report.collections.find((r) => r.collectionId === 'chau-ban');
  t.like(row, { files: 3, checked: 3, passed: 3, failed: 0, neverChecked: 0 });
  t.true((row?.bytesVerified as number) > 0);
  t.is(report.total.files, report.collections.reduce((n, r) => n + (r.files as number), 0));
  t.is((report as { seal?: { merkleRoot: string } }).seal?.merkleRoot, sealed.status === 'sealed' ? sealed.seal.merkleRoot : 'no seal made');

  const csv = await get(`from=${day}&to=${day}&format=csv`);
  t.is(csv.status, 200);
  t.regex(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const rows = parseCsv(await csv.text());
  t.regex(rows[0]?.[0] ?? '', /Bộ sưu tập \/ Collection/);
  t.deepEqual(rows.find((r) => r[0] === 'chau-ban')?.slice(1, 4), ['3', '3', '3']);
  t.regex(rows.at(-2)?.[0] ?? '', /Total/);
  t.regex(rows.at(-1)?.[0] ?? '', /seal/);

  t.is((await get(`from=${day}&to=${day}`, null)).status, 401, 'staff only');
  t.is((await get(`from=${day}&to=${day}`, s.readerToken)).status, 403);
  t.is((await get('from=2024-02-30&to=2024-03-01')).status, 400, 'no such day');
  t.is((await get('from=2024-03-02&to=2024-03-01')).status, 400, 'from after to');
  t.is((await get('from=2024-03-01')).status, 400, 'to is required');
  t.deepEqual(damagedFiles(s.readDb).filter((d) => d.objectId === objectId), []);
});

// ---------------------------------------------------------------------------------------------
// `thukho fixity` as an operator runs it

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cliEnv(s: TestServer): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('THUKHO_')) delete env[key];
  return { ...env, THUKHO_DATA_DIR: s.dataDir, THUKHO_LOG_LEVEL: 'silent', REDIS_URL: s.config.redisUrl ?? 'redis://127.0.0.1:6379' };
}

function thukho(s: TestServer, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'bin/thukho.js'), ...args], { cwd: ROOT, env: cliEnv(s), timeout: scaledTimeout(90_000), killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number' && !(err as { signal?: unknown }).signal) return reject(err);
      const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}
const show = (r: Run) => `exit ${r.code} signal ${r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

test.serial('thukho fixity --object checks now and prints a summary; exit 1 when a copy is damaged', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Nam quốc sơn hà');
  for (let i = 0; i < 3; i++) await uploadFile(s, objectId, await noisePage(i), `trang_${i + 1}.tif`);
  const files = await filesOf(s, objectId);
  const bytes = files.reduce((n, f) => n + f.size, 0);

  const ok = await thukho(s, ['fixity', '--object', objectId]);
  t.is(ok.code, 0, show(ok));
  t.regex(ok.stdout, /copies checked: 4\b/);
  t.regex(ok.stdout, /passed: 4\b/);
  t.regex(ok.stdout, /damaged: 0\b/);
  t.regex(ok.stdout, /MB\/s/);
  const checks = ofType(await events(s, objectId), 'FixityChecked');
  t.is(checks.length, 4);
  t.is(new Set(checks.map((c) => c.meta.correlationId)).size, 1, 'one run, one correlation id');
  t.regex(checks[0]!.meta.actor.id, /^cli:/);
  t.is(checks.filter((c) => c.target === 'master').reduce((n, c) => n + c.bytes, 0), bytes);
  t.deepEqual(await readdir(join(s.dataDir, 'fixity-runs')), [], 'a finished run leaves no journal');

  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  await flipByte(ocfl.contentPathOnDisk(files[2]!.storage.ocflObjectId, files[2]!.storage.path), 1000);
  const bad = await thukho(s, ['fixity', '--object', objectId, '--json']);
  t.is(bad.code, 1, show(bad));
  const summary = JSON.parse(bad.stdout) as Json;
  t.like(summary, { files: 4, passed: 3, failed: 1, repaired: 0, damaged: 1 });
  t.regex(bad.stderr, /DAMAGED/);
  const damage = ofType(await events(s, objectId), 'FileDamaged');
  t.is(damage.length, 1);
  t.is(damage[0]?.fileId, files[2]!.fileId);

  const nothing = await thukho(s, ['fixity']);
  t.is(nothing.code, 2, show(nothing));
  t.regex(nothing.stderr, /--all, --collection ID or --object ID/);
});

test.serial('derivatives deleted (as after a restore from backup): fixity reports no failure, records no failed check, and makes them again', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Lĩnh Nam chích quái');
  await uploadFile(s, objectId, await page('Hồng Bàng thị truyện', { width: 640, height: 480 }), 'trang_1.tif');
  await uploadFile(s, objectId, await page('Ngư tinh truyện', { width: 640, height: 480 }), 'trang_2.tif');
  const files = await filesOf(s, objectId);
  const primary = await OcflStorageRoot.open(s.config.ocflRoot);
  const derivatives = new DerivativeStore(s.config.derivativesDir);
  const pinned = new Map<string, string>();
  for (const f of files) {
    const info = await derivatives.build(primary.contentPathOnDisk(f.storage.ocflObjectId, f.storage.path), f.digests.sha512, { tileSize: 256, maxPixels: 1e9 });
    await recordDerivative(s.store, objectId, f.fileId, info, { actor: { id: 'worker:derivatives', role: 'admin' } });
    pinned.set(f.fileId, info.pyramid.sha256);
  }
  // What a restore leaves: no derivative directory at all.
  await rm(s.config.derivativesDir, { recursive: true, force: true });

  const run = await thukho(s, ['fixity', '--object', objectId, '--json']);
  t.is(run.code, 0, show(run));
  const summary = JSON.parse(run.stdout) as Json;
  t.like(summary, { failed: 0, damaged: 0, passed: files.length + 1, absentDerivatives: files.length, remadeDerivatives: files.length });
  const failedChecks = ofType(await events(s, objectId), 'FixityChecked').filter((c) => c.outcome !== 'pass');
  t.deepEqual(failedChecks, [], 'an absent derivative is work to do, not a failed fixity check');
  for (const f of files) {
    const now = await checkFile(derivatives.pyramidPath(f.digests.sha512), {});
    t.is(now.outcome, 'pass', `the pyramid of ${f.fileId} is there again`);
  }

  // The next run checks the pyramids made again, and they pass.
  const again = await thukho(s, ['fixity', '--object', objectId, '--json']);
  t.is(again.code, 0, show(again));
  t.like(JSON.parse(again.stdout) as Json, { failed: 0, absentDerivatives: 0, passed: 2 * files.length + 1 });
  const derivativeChecks = ofType(await events(s, objectId), 'FixityChecked').filter((c) => c.target === 'derivative');
  t.true(derivativeChecks.length >= files.length && derivativeChecks.every((c) => c.outcome === 'pass'));
  t.true(files.every((f) => typeof pinned.get(f.fileId) === 'string'));

  // Present with other bytes is still a failure (something changed a disk's bytes), and made again.
  await flipByte(derivatives.pyramidPath(files[0]!.digests.sha512), 1500);
  const changed = await thukho(s, ['fixity', '--object', objectId, '--json']);
  t.like(JSON.parse(changed.stdout) as Json, { failed: 1, damaged: 0, absentDerivatives: 0 });
});

test.serial('kill -9 mid-run, run again: it resumes, and every copy is checked exactly once over both runs', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Ô châu cận lục');
  const pages = 24;
  for (let i = 0; i < pages; i++) await uploadFile(s, objectId, await noisePage(100 + i), `trang_${String(i + 1).padStart(3, '0')}.tif`);
  const files = await filesOf(s, objectId);
  const total = files.length + 1; // and the inventory
  const startedAt = (await s.store.headPosition()) as bigint;

  // A slow budget (0.5 MB/s over ~4.7 MB: about 9 s) so that the kill lands mid-run. The kill
  // waits for this process to see four checks; on a busy machine that can take seconds while the
  // run goes on at its budget, so the budget shrinks as the machine gets busier (as limits stretch).
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/thukho.js'), 'fixity', '--object', objectId, '--mb-per-second', slowBudget(), '--threads', '2'], {
    cwd: ROOT,
    env: cliEnv(s),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let firstStderr = '';
  child.stderr?.on('data', (b: Buffer) => (firstStderr += b.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  const checkedSoFar = async () => ofType(await events(s, objectId), 'FixityChecked').filter((c) => c.position > startedAt);
  await poll('the first run to check a few copies', 60_000, async () => ((await checkedSoFar()).length >= 4 ? true : undefined), 50);
  child.kill('SIGKILL');
  t.is(await exited, 'SIGKILL', firstStderr);
  const first = await checkedSoFar();
  t.true(first.length > 0 && first.length < total, `the first run checked ${first.length} of ${total} before it was killed`);
  t.true(existsSync(join(s.dataDir, 'fixity-runs')), 'the run journal is there');

  const second = await thukho(s, ['fixity', '--object', objectId, '--json']);
  t.is(second.code, 0, show(second));
  t.regex(second.stderr, /resuming the interrupted run/);
  t.regex(second.stderr, /tiếp tục/);
  const summary = JSON.parse(second.stdout) as Json;
  t.like(summary, { resumed: true, files: total, filesNow: total - first.length, passed: total, damaged: 0 });

  const all = await checkedSoFar();
  const byCopy = new Map<string, number>();
  for (const c of all) {
    const key = `${c.target}/${c.fileId ?? ''}/${c.storageRoot.label}`;
    byCopy.set(key, (byCopy.get(key) ?? 0) + 1);
  }
  t.is(byCopy.size, total, 'every copy was checked');
  t.deepEqual([...byCopy.values()].filter((n) => n !== 1), [], 'and none twice');
  t.is(new Set(all.map((c) => c.meta.correlationId)).size, 1, 'both parts are one run');
  t.is(all.length - first.length, total - first.length, 'the second run checked only what the first had not');
  t.deepEqual(await readdir(join(s.dataDir, 'fixity-runs')), []);
});

test.serial('Ctrl-C stops a run cleanly (exit 130, "run it again"); --restart starts over instead of resuming', async (t) => {
  const s = t.context.server;
  const objectId = await newObject(s, 'Gia Định thành thông chí');
  for (let i = 0; i < 12; i++) await uploadFile(s, objectId, await noisePage(200 + i), `trang_${i + 1}.tif`);
  const startedAt = (await s.store.headPosition()) as bigint;
  // About 5 s for the 13 copies at an idle machine's budget: the Ctrl-C must land before the end (see slowBudget).
  const child = spawn(process.execPath, [join(ROOT, 'bin/thukho.js'), 'fixity', '--object', objectId, '--mb-per-second', slowBudget()], { cwd: ROOT, env: cliEnv(s), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const checked = async () => ofType(await events(s, objectId), 'FixityChecked').filter((c) => c.position > startedAt).length;
  await poll('the run to check a copy or two', 60_000, async () => ((await checked()) >= 2 ? true : undefined), 50);
  child.kill('SIGINT');
  t.is(await exited, 130, stderr);
  t.regex(stderr, /run the same command again to continue/);
  const before = await checked();
  t.true(before >= 2 && before < 13, `${before} of 13 checked before Ctrl-C`);
  t.is((await readdir(join(s.dataDir, 'fixity-runs'))).length, 2, 'the journal is kept for resuming');
  const fresh = await thukho(s, ['fixity', '--object', objectId, '--restart', '--json']);
  t.is(fresh.code, 0, show(fresh));
  t.like(JSON.parse(fresh.stdout) as Json, { resumed: false, files: 13, filesNow: 13 });
  t.notRegex(fresh.stderr, /resuming/);
  t.is(await checked(), before + 13);
  t.deepEqual(await readdir(join(s.dataDir, 'fixity-runs')), []);
});

test.serial('thukho audit-report prints CSV with a header row and a total that adds up', async (t) => {
  const s = t.context.server;
  const today = new Date();
  const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  const r = await thukho(s, ['audit-report', '--from', day, '--to', day, '--format', 'csv']);
  t.is(r.code, 0, show(r));
  // The last row quotes the log's latest seal (an earlier test sealed this log).
  const all = parseCsv(r.stdout);
  t.regex(all.at(-1)?.[0] ?? '', /seal/, r.stdout);
  const rows = all.slice(0, -1);
  t.is(rows[0]?.length, 12);
  t.regex(rows[0]?.[1] ?? '', /Copies/);
  const body = rows.slice(1, -1);
  const totalRow = rows.at(-1)!;
  t.regex(totalRow[0] ?? '', /Total/);
  for (let col = 1; col < 12; col++) t.is(Number(totalRow[col]), body.reduce((n, row) => n + Number(row[col]), 0), `column ${rows[0]?.[col]}`);
  t.true(Number(totalRow[2]) > 0, 'copies were checked today');

  const json = await thukho(s, ['audit-report', '--from', day, '--to', day, '--format', 'json']);
  t.is(json.code, 0, show(json));
  const report = JSON.parse(json.stdout) as { total: Json };
  t.is(report.total.files, Number(totalRow[1]));

  const bad = await thukho(s, ['audit-report', '--from', '2024-13-01', '--to', day]);
  t.is(bad.code, 2, show(bad));
  t.regex(bad.stderr, /not a date/);
});

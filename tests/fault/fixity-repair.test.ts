import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { checkObjectFixity, type DamagedEvent, type ObjectFixityResult, openFixityRoots } from '../../src/application/fixity.ts';
import { initReplicaRoot, openStorageRoots, repairFile, type StorageFaultHook, type StorageRootSet } from '../../src/storage/replicas.ts';
import { type ReplicationWorker, startReplicationWorker } from '../../workers/replication.ts';
import { flipByte } from '../helpers/damage.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Fault injection for fixity and repair, end to end on real files: a real server ingests
 * scans over HTTP, the dispatcher sends each new OCFL version to the replication worker,
 * which copies it to two replica roots and records FileReplicated. Then a copy is damaged
 * (one byte flipped, truncated, deleted, unreadable, on every root, an inventory, a disk
 * that fills during the repair, the checker killed -9 in the middle of a repair) and the
 * next fixity check must find it, append the right events, repair it from a good copy when
 * there is one, change nothing else, and go on with every other copy.
 */

const REPLICA_DIR = mkdtempSync(join(tmpdir(), 'thukho-fault-replicas-'));
const REPLICAS = `r1=${join(REPLICA_DIR, 'r1')},r2=${join(REPLICA_DIR, 'r2')}`;
const test = testWithServer({ THUKHO_REPLICAS: REPLICAS });
type Ctx = ExecutionContext<{ server: TestServer }>;

const IS_ROOT = process.getuid?.() === 0;
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest('hex');

let worker: ReplicationWorker | undefined;
let roots: StorageRootSet;

let started: Promise<void> | undefined;
/** ava runs `before` hooks at the same time, so the worker starts with the first test, once the server is up. */
function startWorker(s: TestServer): Promise<void> {
  started ??= (async () => {
    // THUKHO_TEST_LOG=info shows the worker's log on stderr when a run needs looking into.
    const logger = pino({ level: process.env.THUKHO_TEST_LOG ?? 'silent' }, pino.destination(2));
    for (const r of s.config.replicas) await initReplicaRoot(s.config, r.label);
    worker = await startReplicationWorker({ store: s.store, redisUrl: s.config.redisUrl as string, logger, config: s.config });
    roots = await openStorageRoots(s.config);
  })();
  return started;
}

test.after.always(async () => {
  await worker?.close();
  rmSync(REPLICA_DIR, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Ingested {
  objectId: string;
  files: Array<{ fileId: string; sha512: string; size: number; ocflObjectId: string; contentPath: string }>;
}

/** The work's machine facts (its preservation stream), from a revision on. */
async function streamEvents(s: TestServer, objectId: string, fromRevision = 0n) {
  const out: Array<{ revision: bigint; type: string; data: Json }> = [];
  for await (const e of s.store.readStream(`preservation-${objectId}`)) if (e.revision >= fromRevision) out.push({ revision: e.revision, type: e.type, data: e.data as Json });
  return out;
}

async function nextRevision(s: TestServer, objectId: string): Promise<bigint> {
  const all = await streamEvents(s, objectId);
  return (all.at(-1)?.revision ?? -1n) + 1n;
}

/** An object of two scanned pages (v1, v2), replicated to both replicas by the worker. */
async function ingestObject(t: Ctx, title: string): Promise<Ingested> {
  const s = t.context.server;
  await startWorker(s);
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title, accessLevel: 'open' })).id as string;
  const files: Ingested['files'] = [];
  for (const [i, text] of ['Trang một — 第一頁', 'Trang hai — 第二頁'].entries()) {
    const f = await uploadFile(s, objectId, await page(`${title}: ${text}`, { width: 400 + i, height: 300 }), `trang_${i + 1}.tif`);
    const storage = f.storage as { ocflObjectId: string; path: string };
    files.push({ fileId: f.fileId as string, sha512: (f.digests as { sha512: string }).sha512, size: f.size as number, ocflObjectId: storage.ocflObjectId, contentPath: storage.path });
  }
  // The work's description versions too (written after each upload): then every version up to
  // the primary's head is on both replicas, and recorded.
  await s.describeNow();
  const ocflId = files[0]?.ocflObjectId as string;
  const head = (await roots.primary.root.readInventory(ocflId))?.head as string;
  await poll(`${head} replicated to both replicas`, 60_000, async () => {
    const copies = (await streamEvents(s, objectId)).filter((e) => e.type === 'FileReplicated' && e.data.version === head);
    return copies.length === 2 ? true : undefined;
  });
  return { objectId, files };
}

const labelPath = (label: string) => (roots.all().find((r) => r.label === label) as { path: string }).path;
const objectDirOn = (label: string, ocflObjectId: string) => join(labelPath(label), roots.primary.root.objectRoot(ocflObjectId));
const masterOn = (label: string, f: Ingested['files'][number]) => join(objectDirOn(label, f.ocflObjectId), f.contentPath);

/** Every file and directory of the object on every root: what "nothing else changed" compares. */
async function snapshot(o: Ingested): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const r of roots.all()) {
    const base = objectDirOn(r.label, o.files[0]?.ocflObjectId as string);
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        const key = `${r.label}/${relative(base, p)}`;
        if (e.isDirectory()) {
          out[key] = 'dir';
          await walk(p);
        } else out[key] = sha512(await readFile(p));
      }
    };
    await walk(base);
  }
  return out;
}

function services(s: TestServer, damaged: DamagedEvent[], faults?: StorageFaultHook) {
  return openFixityRoots(s.config).then(({ roots: fixityRoots, unavailable }) => {
    if (unavailable.length) throw new Error(`replica roots unavailable: ${JSON.stringify(unavailable)}`);
    return {
      store: s.store,
      roots: fixityRoots,
      repair: (root: { label: string; path: string }, what: Parameters<typeof repairFile>[2]) => repairFile(roots, root, what, faults ? { faults } : {}),
      onDamaged: (e: DamagedEvent) => void damaged.push(e),
    };
  });
}

/** One fixity check of the object; the events it appended, summed up. */
async function check(t: Ctx, o: Ingested, faults?: StorageFaultHook) {
  const s = t.context.server;
  const from = await nextRevision(s, o.objectId);
  const damaged: DamagedEvent[] = [];
  const result: ObjectFixityResult = await checkObjectFixity(await services(s, damaged, faults), o.objectId);
  const events = await streamEvents(s, o.objectId, from);
  const checked = events.filter((e) => e.type === 'FixityChecked');
  return {
    result,
    damaged,
    types: [...new Set(events.map((e) => e.type))].sort(),
    checked: checked.length,
    failed: checked.filter((e) => e.data.outcome === 'fail').map((e) => `${(e.data.storageRoot as Json).label}:${e.data.target}:${e.data.fileId ?? ''}:${e.data.failure}`).sort(),
    repaired: events.filter((e) => e.type === 'FileRepaired').map((e) => e.data),
    damagedEvents: events.filter((e) => e.type === 'FileDamaged').map((e) => e.data),
  };
}

/** 2 masters and 1 inventory on each of 3 roots. */
const COPIES = 9;


/** As root, chmod 000 does not stop reads: a directory takes the master's place (reads fail with EISDIR). */
async function makeUnreadable(path: string) {
  if (IS_ROOT) {
    await unlink(path);
    await mkdir(path);
  } else {
    const { chmod } = await import('node:fs/promises');
    await chmod(path, 0o000);
  }
}

/** A baseline check (all pass), then the damage, then the check that must find and repair it. */
async function damageAndCheck(t: Ctx, title: string, damage: (o: Ingested) => Promise<void>, faults?: StorageFaultHook) {
  const o = await ingestObject(t, title);
  const baseline = await check(t, o);
  t.is(baseline.checked, COPIES, 'every copy on every root is checked');
  t.deepEqual(baseline.failed, []);
  t.deepEqual(baseline.types, ['FixityChecked']);
  const pristine = await snapshot(o);
  await damage(o);
  const damagedState = await snapshot(o);
  t.notDeepEqual(damagedState, pristine);
  const found = await check(t, o, faults);
  t.is(found.checked, COPIES, 'the check went on with every other copy');
  return { o, pristine, damagedState, found };
}

// ---------------------------------------------------------------------------------------------
// One copy damaged: found, repaired from a good copy, nothing else changed

for (const [kind, failure, label, damage] of [
  ['one byte flipped in a master', 'changed', 'primary', (p: string) => flipByte(p, 200)],
  ['a master truncated', 'truncated', 'r1', (p: string) => truncate(p, 100)],
  ['a master deleted', 'missing', 'r2', (p: string) => unlink(p)],
  [IS_ROOT ? 'a master unreadable (a directory in its place: root reads through chmod 000)' : 'a master unreadable (chmod 000)', 'unreadable', 'primary', makeUnreadable],
] as Array<[string, string, string, (p: string) => Promise<void>]>) {
  test(`${kind} on ${label}: found, FileRepaired, nothing else changed`, async (t) => {
    t.timeout(scaledTimeout(5 * 60_000));
    const { o, pristine, found } = await damageAndCheck(t, `Sách ${failure}`, (o) => damage(masterOn(label, o.files[0] as Ingested['files'][number])));
    const f = o.files[0] as Ingested['files'][number];
    t.deepEqual(found.failed, [`${label}:master:${f.fileId}:${failure}`]);
    t.deepEqual(found.types, ['FileRepaired', 'FixityChecked']);
    t.is(found.repaired.length, 1);
    t.like(found.repaired[0] as Json, {
      objectId: o.objectId,
      fileId: f.fileId,
      target: 'master',
      storageRoot: { label, path: labelPath(label) },
      from: label === 'primary' ? { label: 'r1', path: labelPath('r1') } : { label: 'primary', path: labelPath('primary') },
      sha512: f.sha512,
      failure,
    });
    t.deepEqual(found.damaged, []);
    t.deepEqual(await snapshot(o), pristine, 'the master is back, byte for byte, and nothing else changed');
    const after = await check(t, o);
    t.deepEqual(after.failed, []);
    t.deepEqual(after.types, ['FixityChecked']);
  });
}

test('the same master damaged on every root: found on each, FileDamaged with every root tried, nothing written', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const { o, damagedState, found } = await damageAndCheck(t, 'Sách hỏng khắp nơi', async (o) => {
    const f = o.files[1] as Ingested['files'][number];
    await flipByte(masterOn('primary', f), 200);
    await truncate(masterOn('r1', f), 10);
    // Flipped, not deleted: a deleted content file also fails the root's inventory check
    // (validateObject reports it), a separate finding of src/application/fixity.ts.
    await flipByte(masterOn('r2', f), 300);
  });
  const f = o.files[1] as Ingested['files'][number];
  t.deepEqual(found.failed, [`primary:master:${f.fileId}:changed`, `r1:master:${f.fileId}:truncated`, `r2:master:${f.fileId}:changed`]);
  t.deepEqual(found.types, ['FileDamaged', 'FixityChecked']);
  t.deepEqual(
    found.damagedEvents.map((d) => [(d.storageRoot as Json).label, (d.tried as Array<{ root: { label: string } }>).map((x) => x.root.label)]),
    [['primary', ['r1', 'r2']], ['r1', ['primary', 'r2']], ['r2', ['primary', 'r1']]],
  );
  t.is(found.damaged.length, 3, 'onDamaged heard of each');
  t.deepEqual(await snapshot(o), damagedState, 'no copy was written or removed');
  // /health turns degraded and names the file to staff, once the fixity read model has the events.
  const health = await poll('degraded health', 15_000, async () => {
    const h = (await (await fetch(`${t.context.server.url}/health`, { headers: { authorization: `Bearer ${t.context.server.staffToken}` } })).json()) as { status: string; preservation: { damaged: { count: number; files: Json[] } } };
    return h.status === 'degraded' && h.preservation.damaged.count > 0 ? h : undefined;
  });
  t.true(health.preservation.damaged.files.some((d) => JSON.stringify(d).includes(f.fileId)), JSON.stringify(health.preservation));
  const metrics = await (await fetch(`${t.context.server.url}/metrics`)).text();
  t.regex(metrics, /thukho_fixity_damaged_files\S* [1-9]/);
  // The next check finds it again and goes on; the other page is still fine.
  const again = await check(t, o);
  t.is(again.failed.length, 3);
  t.is(again.checked, COPIES);
  t.false(again.failed.some((x) => x.includes(o.files[0]?.fileId as string)));
});

test('a damaged inventory.json: found as invalid-inventory, repaired from a replica, nothing else changed', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const { o, pristine, found } = await damageAndCheck(t, 'Sách mục lục hỏng', (o) => flipByte(join(objectDirOn('primary', o.files[0]?.ocflObjectId as string), 'inventory.json'), 300));
  t.deepEqual(found.failed, ['primary:inventory::invalid-inventory']);
  t.deepEqual(found.types, ['FileRepaired', 'FixityChecked']);
  t.like(found.repaired[0] as Json, { target: 'inventory', storageRoot: { label: 'primary' }, from: { label: 'r1' }, failure: 'invalid-inventory' });
  const inventory = await readFile(join(objectDirOn('primary', o.files[0]?.ocflObjectId as string), 'inventory.json'));
  t.is((found.repaired[0] as Json).sha512, sha512(inventory));
  t.deepEqual(await snapshot(o), pristine);
  t.deepEqual((await check(t, o)).failed, []);
});

test('the disk fills during a repair: the damaged file stays as it was, good copies untouched; repaired once there is space', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  let writes = 0;
  const diskFull: StorageFaultHook = (step) => {
    // The first call comes before the temp file is opened, the second before its first bytes.
    if (step === 'write' && ++writes === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  const { o, pristine, damagedState, found } = await damageAndCheck(t, 'Sách đĩa đầy', (o) => flipByte(masterOn('primary', o.files[0] as Ingested['files'][number]), 200), diskFull);
  const f = o.files[0] as Ingested['files'][number];
  t.true(writes >= 2, 'the failure was injected');
  t.deepEqual(found.failed, [`primary:master:${f.fileId}:changed`]);
  // The checker records a repair that broke as damage that needs a person (src/application/fixity.ts).
  t.deepEqual(found.types, ['FileDamaged', 'FixityChecked']);
  t.regex(String((found.damagedEvents[0]?.tried as Array<{ reason: string }>)[0]?.reason), /ENOSPC/);
  t.deepEqual(await snapshot(o), damagedState, 'no temp file left, damaged file as it was, good copies untouched');

  const later = await check(t, o);
  t.deepEqual(later.failed, [`primary:master:${f.fileId}:changed`]);
  t.deepEqual(later.types, ['FileRepaired', 'FixityChecked']);
  t.deepEqual(await snapshot(o), pristine);
});

test('kill -9 of the checker in the middle of a repair: the next check repairs it exactly once, nothing else changed', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const s = t.context.server;
  const o = await ingestObject(t, 'Sách bị ngắt giữa chừng');
  const f = o.files[0] as Ingested['files'][number];
  t.deepEqual((await check(t, o)).failed, []);
  const pristine = await snapshot(o);
  await flipByte(masterOn('primary', f), 200);
  const damagedBytes = await readFile(masterOn('primary', f));
  const from = await nextRevision(s, o.objectId);

  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fault/fixtures/fixity-repair-until-killed.ts', o.objectId], {
    env: { ...process.env, THUKHO_DATA_DIR: s.dataDir, THUKHO_REPLICAS: REPLICAS, THUKHO_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const temp = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^written (.+)\n/m.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the checker exited (${code}) before writing its copy: ${out} ${err}`)));
  });
  child.kill('SIGKILL');
  await exited;

  // What the kill left: the damaged file as it was, the verified temp copy beside it, no repair event.
  t.deepEqual(await readFile(masterOn('primary', f)), damagedBytes);
  t.is(dirname(temp), dirname(masterOn('primary', f)));
  t.is(sha512(await readFile(temp)), f.sha512);
  const afterKill = await streamEvents(s, o.objectId, from);
  // The child recorded its checks up to the failed one (others may have passed first), then died repairing.
  t.deepEqual([...new Set(afterKill.map((e) => e.type))], ['FixityChecked']);
  t.deepEqual(
    afterKill.filter((e) => e.data.outcome === 'fail').map((e) => `${(e.data.storageRoot as Json).label}:${e.data.fileId}:${e.data.failure}`),
    [`primary:${f.fileId}:changed`],
  );

  const next = await check(t, o);
  t.deepEqual(next.failed, [`primary:master:${f.fileId}:changed`]);
  t.deepEqual(next.types, ['FileRepaired', 'FixityChecked']);
  await t.throwsAsync(lstat(temp), undefined, 'the temp file the kill left was removed');
  t.deepEqual(await snapshot(o), pristine, 'repaired, and nothing else changed');
  const all = await streamEvents(s, o.objectId);
  t.is(all.filter((e) => e.type === 'FileRepaired').length, 1, 'repaired exactly once');
  t.is(all.filter((e) => e.type === 'FileDamaged').length, 0);
  t.deepEqual((await check(t, o)).failed, []);
});

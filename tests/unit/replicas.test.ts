import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { loadConfig } from '../../src/config.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { ReplicationJob } from '../../src/queue/queues.ts';
import { objectLockPath, OcflError, OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { digestFile, stageStream } from '../../src/storage/digest.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import {
  initReplicaRoot,
  openStorageRoots,
  ReplicaError,
  ReplicationError,
  type RepairResult,
  type StorageFaultHook,
  type StorageRootSet,
  replicateObject,
  repairFile,
  replicationLag,
} from '../../src/storage/replicas.ts';
import { readReplicationLag, recordReplications, startReplicationWorker } from '../../workers/replication.ts';
import { flipByte } from '../helpers/damage.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

const ID = 'sach-han-nom';
const PAGE = 'Truyện Kiều/trang 001.tif'.normalize('NFC');
const info = (message: string) => ({ created: '2024-05-01T08:30:00.000Z', message, user: { name: 'thủ thư' } });
const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex');
const IS_ROOT = process.getuid?.() === 0;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function setup(t: ExecutionContext, replicas = ['r1', 'r2']) {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-replicas-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const staging = join(dir, 'staging');
  await mkdir(staging);
  const config = { ocflRoot: join(dir, 'primary'), replicas: replicas.map((label) => ({ label, path: join(dir, label) })) };
  for (const label of replicas) await initReplicaRoot(config, label);
  const roots = await openStorageRoots(config);
  const stage = async (logicalPath: string, bytes: Buffer | string) => {
    const staged = await stageStream(Readable.from([Buffer.from(bytes)]), staging, {});
    return { logicalPath, stagedPath: staged.path, size: staged.size, digests: staged.digests };
  };
  const pageBytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 251));
  await roots.primary.root.addVersion(ID, [await stage(PAGE, pageBytes), await stage('bìa.jpg', 'bìa sách')], info('v1'));
  await roots.primary.root.addVersion(ID, [await stage('mục lục.txt', 'mục lục'), await stage('bìa.jpg', 'bìa mới')], info('v2'));
  const addV3 = async () => roots.primary.root.addVersion(ID, [await stage('phụ lục.txt', 'phụ lục')], info('v3'));
  return { dir, roots, stage, addV3, pageBytes };
}

/** Every file and directory under `dir`: sha512 of files, "dir" for directories (lock files are transient). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name.startsWith('.lock-')) continue;
      if (e.isDirectory()) {
        out[relative(dir, p)] = 'dir';
        await walk(p);
      } else {
        out[relative(dir, p)] = sha512(await readFile(p).catch(() => Buffer.from('unreadable')));
      }
    }
  };
  await walk(dir);
  return out;
}

/** Inode and mtime of every file: what "never touched" means. */
async function identities(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await stat(p, { bigint: true });
        out[relative(dir, p)] = `${s.ino}:${s.mtimeNs}`;
      }
    }
  };
  await walk(dir);
  return out;
}

const objectDir = (roots: StorageRootSet, label: string) => {
  const r = roots.all().find((x) => x.label === label);
  if (!r) throw new Error(label);
  return join(r.path, r.root.objectRoot(ID));
};

async function primaryContentPath(roots: StorageRootSet, logicalPath: string, version?: string) {
  const inv = await roots.primary.root.readInventory(ID);
  const state = inv?.versions[version ?? inv.head]?.state ?? {};
  const digest = Object.entries(state).find(([, paths]) => paths.includes(logicalPath))?.[0] as string;
  return { contentPath: inv?.manifest[digest]?.[0] as string, sha512: digest };
}

// ---------------------------------------------------------------------------------------------
// Opening

test('initReplicaRoot makes replica roots; openStorageRoots refuses overlapping roots or a taken label', async (t) => {
  const { dir, roots } = await setup(t);
  t.deepEqual(roots.all().map((r) => r.label), ['primary', 'r1', 'r2']);
  t.deepEqual(roots.unavailable, []);
  t.is(await readFile(join(dir, 'r1', '0=ocfl_1.1'), 'utf8'), 'ocfl_1.1\n');
  t.deepEqual(await validateStorageRoot(join(dir, 'r2')), []);
  const overlap = await t.throwsAsync(openStorageRoots({ ocflRoot: join(dir, 'primary'), replicas: [{ label: 'r', path: join(dir, 'primary', 'copy') }] }));
  t.true(overlap instanceof ReplicaError && overlap.code === 'invalid-roots');
  const taken = await t.throwsAsync(openStorageRoots({ ocflRoot: join(dir, 'primary'), replicas: [{ label: 'primary', path: join(dir, 'x') }] }));
  t.true(taken instanceof ReplicaError && taken.code === 'invalid-roots');
});

test('openStorageRoots never creates a replica: a missing or empty directory (an unmounted disk) is listed unavailable and left untouched', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-replicas-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'mount-point'));
  const roots = await openStorageRoots({
    ocflRoot: join(dir, 'primary'),
    replicas: [
      { label: 'nas', path: join(dir, 'mount-point') },
      { label: 'usb', path: join(dir, 'missing') },
    ],
  });
  t.deepEqual(roots.replicas, []);
  t.deepEqual(roots.unavailable.map((u) => u.label), ['nas', 'usb']);
  t.regex(roots.unavailable[0]?.reason ?? '', /is not an OCFL storage root \(no 0=ocfl_1\.1\)/);
  t.deepEqual(await readdir(join(dir, 'mount-point')), []);
  await t.throwsAsync(stat(join(dir, 'missing')));
});

test('replicateObject writes nothing to a replica unmounted after it was opened', async (t) => {
  const { dir, roots } = await setup(t, ['r1']);
  await rm(join(dir, 'r1'), { recursive: true });
  await mkdir(join(dir, 'r1')); // what is left of a mount point once its disk is gone
  const err = await t.throwsAsync(replicateObject(roots, ID));
  t.true(err instanceof ReplicationError, String(err));
  t.regex(err?.message ?? '', /no longer an OCFL storage root \(not mounted\?\): nothing was written/);
  t.deepEqual(await readdir(join(dir, 'r1')), []);
});

// ---------------------------------------------------------------------------------------------
// Replication

test('replicateObject copies both versions to each replica, verified and byte for byte', async (t) => {
  const { dir, roots, pageBytes } = await setup(t);
  const before = await replicationLag(roots);
  t.is(before.objects, 1);
  t.deepEqual(before.replicas.map((r) => [r.label, r.behind, r.inSync]), [['r1', [ID], 0], ['r2', [ID], 0]]);

  const done = await replicateObject(roots, ID);
  t.deepEqual(
    done.map((d) => [d.replica.label, d.version, d.files, d.bytes]),
    [
      ['r1', 'v1', 2, pageBytes.length + Buffer.byteLength('bìa sách')],
      ['r1', 'v2', 2, Buffer.byteLength('mục lục') + Buffer.byteLength('bìa mới')],
      ['r2', 'v1', 2, pageBytes.length + Buffer.byteLength('bìa sách')],
      ['r2', 'v2', 2, Buffer.byteLength('mục lục') + Buffer.byteLength('bìa mới')],
    ],
  );
  t.deepEqual(done[0]?.replica, { label: 'r1', path: join(dir, 'r1') });
  const primary = await snapshot(objectDir(roots, 'primary'));
  for (const label of ['r1', 'r2']) {
    t.deepEqual(await snapshot(objectDir(roots, label)), primary, `${label} holds exactly the primary's files`);
    t.deepEqual(await validateStorageRoot(join(dir, label)), [], `${label} is a valid OCFL root`);
  }
  const replica = roots.replicas[0]?.root;
  t.deepEqual(await readFile((await replica?.contentFile(ID, PAGE)) as string), pageBytes);
  const after = await replicationLag(roots);
  t.deepEqual(after.replicas.map((r) => [r.label, r.behind, r.inSync, r.differs]), [['r1', [], 1, []], ['r2', [], 1, []]]);
  t.deepEqual((await replicationLag(roots, [ID])).replicas.map((r) => r.inSync), [1, 1]);
});

test('re-running replication is a no-op that touches nothing; a new version is copied alone', async (t) => {
  const { dir, roots, addV3 } = await setup(t);
  await replicateObject(roots, ID);
  const ids = await identities(join(dir, 'r1'));
  t.deepEqual(await replicateObject(roots, ID), []);
  t.deepEqual(await identities(join(dir, 'r1')), ids);

  await addV3();
  t.deepEqual((await replicationLag(roots)).replicas.map((r) => r.behind), [[ID], [ID]]);
  const done = await replicateObject(roots, ID);
  t.deepEqual(done.map((d) => `${d.replica.label}:${d.version}:${d.files}`), ['r1:v3:1', 'r2:v3:1']);
  const now = await identities(join(dir, 'r1'));
  // Every file of v1 and v2 is the same inode with the same mtime: committed versions are never rewritten.
  for (const [path, id] of Object.entries(ids)) if (/\/v[12]\//.test(path)) t.is(now[path], id, path);
  t.deepEqual(await snapshot(objectDir(roots, 'r1')), await snapshot(objectDir(roots, 'primary')));
  t.deepEqual(await validateStorageRoot(join(dir, 'r1')), []);
});

test('a version committed on the primary during a run goes to no replica in that run, so replicas never end at different heads', async (t) => {
  const { dir, roots, addV3 } = await setup(t);
  let added = false;
  // While r1 is being brought to v2, the primary gets v3 (an ingest running beside the job).
  const ingestMeanwhile: StorageFaultHook = async (step, path) => {
    if (!added && step === 'commit' && path.startsWith(join(dir, 'r1'))) {
      added = true;
      await addV3();
    }
  };
  const done = await replicateObject(roots, ID, { faults: ingestMeanwhile });
  t.true(added);
  t.deepEqual(done.map((d) => `${d.replica.label}:${d.version}`), ['r1:v1', 'r1:v2', 'r2:v1', 'r2:v2']);
  t.deepEqual(await Promise.all(roots.replicas.map(async (r) => (await r.root.readInventory(ID))?.head)), ['v2', 'v2']);
  t.deepEqual((await replicateObject(roots, ID)).map((d) => `${d.replica.label}:${d.version}`), ['r1:v3', 'r2:v3']);
});

test('concurrent replications of one object copy each version once', async (t) => {
  const { dir, roots } = await setup(t);
  const results = await Promise.all([replicateObject(roots, ID), replicateObject(roots, ID), replicateObject(roots, ID)]);
  t.deepEqual(results.flat().map((d) => `${d.replica.label}:${d.version}`).sort(), ['r1:v1', 'r1:v2', 'r2:v1', 'r2:v2']);
  t.deepEqual(await validateStorageRoot(join(dir, 'r1')), []);
  t.deepEqual(await validateStorageRoot(join(dir, 'r2')), []);
});

/** Throws once at the `nth` call of `step` (on paths under `under`), like a crash at that point. */
function crashAt(step: string, nth: number, under: string, marker = ''): StorageFaultHook & { fired: () => boolean } {
  let calls = 0;
  let fired = false;
  const hook = (s: string, path: string) => {
    if (fired || s !== step || !path.startsWith(under) || !path.includes(marker)) return;
    if (++calls === nth) {
      fired = true;
      throw Object.assign(new Error(`injected failure at ${step} ${path}`), { code: 'EIO' });
    }
  };
  return Object.assign(hook, { fired: () => fired });
}

for (const [step, nth, committed, marker] of [
  ['copy', 3, 'v1'], // the first file of v2
  ['write', 3, 'v1', `${sep}v2${sep}`], // in the middle of v2's content
  ['verify', 4, 'v1'], // v2's content all written, the last one not yet verified
  ['inventory', 3, 'v1'], // v2's own inventory
  ['commit', 2, 'v1'], // everything of v2 written, root inventory not yet replaced
  ['sidecar', 2, 'v2'], // root inventory replaced (committed), sidecar still v1's
] as Array<[string, number, string, string?]>) {
  test(`a replication that fails at "${step}" #${nth} leaves ${committed} committed, and a re-run completes`, async (t) => {
    const { dir, roots } = await setup(t, ['r1']);
    const hook = crashAt(step, nth, join(dir, 'r1'), marker);
    const err = await t.throwsAsync(replicateObject(roots, ID, { faults: hook }));
    t.true(hook.fired());
    t.true(err instanceof ReplicationError);
    // Even when the crash came after the commit, v2 is not reported: the caller records it from the log's gap.
    t.deepEqual((err as ReplicationError).replicated.map((d) => d.version), ['v1']);
    t.is((await roots.replicas[0]?.root.readInventory(ID))?.head, committed);

    const again = await replicateObject(roots, ID);
    t.deepEqual(again.map((d) => d.version), committed === 'v1' ? ['v2'] : []);
    t.deepEqual(await snapshot(objectDir(roots, 'r1')), await snapshot(objectDir(roots, 'primary')));
    t.deepEqual(await validateStorageRoot(join(dir, 'r1')), []);
    t.deepEqual(await replicateObject(roots, ID), []);
  });
}

/** Runs the fixture until it reports the step, then kill -9; returns the line it printed. */
async function replicateUntilKilled(args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/fault/fixtures/replicate-until-killed.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const reached = await new Promise<boolean>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.startsWith('at '));
    });
    child.once('exit', () => resolve(false));
  });
  if (!reached) throw new Error(`the fixture did not stop at the step: ${out} ${err}`);
  child.kill('SIGKILL');
  await exited;
  return out.trim();
}

for (const [step, nth, marker, committed] of [
  ['write', 3, `${sep}v2${sep}`, 'v1'], // half of v2's content on disk
  ['commit', 2, '', 'v1'], // v2 complete in its directory, root inventory temp written, not renamed
  ['sidecar', 2, '', 'v2'], // root inventory renamed (committed), the old sidecar still there
  ['copy', 2, '', null], // the first version of a new object, half copied
] as Array<[string, number, string, string | null]>) {
  test(`kill -9 of a replication at "${step}" #${nth}: a re-run cleans up and completes`, async (t) => {
    t.timeout(scaledTimeout(5 * 60_000));
    const { dir, roots } = await setup(t, ['r1']);
    const line = await replicateUntilKilled([join(dir, 'primary'), join(dir, 'r1'), ID, step, String(nth), marker]);
    t.regex(line, new RegExp(`^at ${step} `));
    const r1 = roots.replicas[0];
    if (!r1) throw new Error('no replica');
    // What the kill left: an uncommitted version, a stale sidecar, temp files, or an object without inventory.
    t.not(await r1.root.incompleteVersion(ID), null);
    t.not((await validateStorageRoot(join(dir, 'r1'))).length, 0);
    t.is((await r1.root.readInventory(ID).catch(() => null))?.head ?? null, committed);

    const again = await replicateObject(roots, ID);
    t.deepEqual(again.map((d) => d.version), committed === 'v2' ? [] : committed === 'v1' ? ['v2'] : ['v1', 'v2']);
    t.deepEqual(await snapshot(objectDir(roots, 'r1')), await snapshot(objectDir(roots, 'primary')));
    t.deepEqual(await validateStorageRoot(join(dir, 'r1')), []);
    t.deepEqual(await readdir(join(dir, 'r1')).then((e) => e.filter((n) => n.startsWith('.lock-'))), [], 'the dead process\'s lock is gone');
  });
}

test('the object lock: a dead holder\'s lock is taken over', async (t) => {
  const { dir, roots } = await setup(t, ['r1']);
  const lock = join(dir, 'r1', `.lock-${createHash('sha256').update(ID).digest('hex')}`);
  // A process that no longer exists (pids are below 2^22 on Linux).
  await writeFile(lock, '4194304\n');
  t.is((await replicateObject(roots, ID)).length, 2);
  await t.throwsAsync(lstat(lock));
});

test('a damaged primary copy is never replicated: the replica stops at the last good version', async (t) => {
  const { dir, roots } = await setup(t, ['r1']);
  const { contentPath } = await primaryContentPath(roots, 'mục lục.txt');
  await writeFile(join(objectDir(roots, 'primary'), contentPath), 'mục lục bị hỏng');
  const err = await t.throwsAsync(replicateObject(roots, ID));
  const failure = (err as ReplicationError).failures[0]?.error;
  t.true(failure instanceof ReplicaError && failure.code === 'damaged-source', String(failure));
  t.is((await roots.replicas[0]?.root.readInventory(ID))?.head, 'v1');
  t.deepEqual(await validateStorageRoot(join(dir, 'r1')), []);
});

test('a replica whose copy diverged from the primary is left alone', async (t) => {
  const { dir, roots, stage } = await setup(t, ['r1']);
  const r1 = roots.replicas[0]?.root;
  await r1?.addVersion(ID, [await stage('khác.txt', 'một bản khác')], info('v1 khác'));
  const before = await identities(join(dir, 'r1'));
  const err = await t.throwsAsync(replicateObject(roots, ID));
  const failure = (err as ReplicationError).failures[0]?.error;
  t.true(failure instanceof ReplicaError && failure.code === 'diverged', String(failure));
  t.deepEqual(await identities(join(dir, 'r1')), before);
  t.deepEqual((await replicationLag(roots)).replicas[0]?.differs, [ID]);
});

test('a disk full on one replica does not stop the others, and what was copied is reported', async (t) => {
  const { dir, roots } = await setup(t);
  const enospc: StorageFaultHook = (step, path) => {
    if (step === 'write' && path.startsWith(join(dir, 'r1')) && path.includes(`${join('v2', 'content')}`)) {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    }
  };
  const err = (await t.throwsAsync(replicateObject(roots, ID, { faults: enospc }))) as ReplicationError;
  t.deepEqual(err.failures.map((f) => [f.replica.label, (f.error as { code?: string }).code]), [['r1', 'ENOSPC']]);
  t.deepEqual(err.replicated.map((d) => `${d.replica.label}:${d.version}`), ['r1:v1', 'r2:v1', 'r2:v2']);
  t.deepEqual(await validateStorageRoot(join(dir, 'r1')), []);
  t.deepEqual(await replicateObject(roots, ID).then((d) => d.map((x) => `${x.replica.label}:${x.version}`)), ['r1:v2']);
});

// ---------------------------------------------------------------------------------------------
// Repair

async function replicated(t: ExecutionContext, replicas = ['r1', 'r2']) {
  const s = await setup(t, replicas);
  await replicateObject(s.roots, ID);
  const page = await primaryContentPath(s.roots, PAGE);
  const pagePath = (label: string) => join(objectDir(s.roots, label), page.contentPath);
  const expected = { sha512: page.sha512, size: s.pageBytes.length };
  const repairPage = (label: string, options = {}) =>
    repairFile(s.roots, { label, path: join(s.dir, label) }, { target: 'master', ocflObjectId: ID, contentPath: page.contentPath, expected }, options);
  return { ...s, page, pagePath, expected, repairPage, pristine: await snapshot(s.dir) };
}


/**
 * Unreadable: chmod 000 when not root. Root reads through chmod 000, so there the master is
 * replaced by a directory of the same name (opening it for reading fails with EISDIR).
 */
async function makeUnreadable(path: string) {
  if (IS_ROOT) {
    await unlink(path);
    await mkdir(path);
    await writeFile(join(path, 'rác'), 'x');
  } else {
    await chmod(path, 0o000);
  }
}

const DAMAGES: Array<[string, (path: string) => Promise<void>]> = [
  ['one byte flipped', (p) => flipByte(p, 1000, 0x01)],
  ['truncated', (p) => truncate(p, 4096)],
  ['deleted', (p) => unlink(p)],
  [IS_ROOT ? 'unreadable (a directory in its place: tests run as root)' : 'unreadable (chmod 000)', makeUnreadable],
];

for (const [kind, damage] of DAMAGES) {
  for (const label of ['primary', 'r2']) {
    test(`repair of a master on ${label}: ${kind}`, async (t) => {
      const s = await replicated(t);
      await damage(s.pagePath(label));
      // The damage is real: the file does not verify.
      const check = await digestFile(s.pagePath(label)).then((d) => d.digests.sha512, (e: NodeJS.ErrnoException) => e.code);
      t.not(check, s.expected.sha512);

      const result = await s.repairPage(label);
      t.deepEqual(result, { repaired: true, from: label === 'primary' ? { label: 'r1', path: join(s.dir, 'r1') } : { label: 'primary', path: join(s.dir, 'primary') } });
      t.deepEqual(await snapshot(s.dir), s.pristine, 'every file is as before the damage, nothing else changed');
      t.is((await stat(s.pagePath(label))).mode & 0o777, 0o644);
      t.deepEqual(await validateStorageRoot(join(s.dir, label)), []);
    });
  }
}

/** A fault hook that stops at the first `step` until `go()`; `reached` resolves when it got there. */
function pauseAt(step: string) {
  let arrive = () => {};
  let go = () => {};
  const reached = new Promise<void>((r) => (arrive = r));
  const gate = new Promise<void>((r) => (go = r));
  let paused = false;
  const hook = async (s: string) => {
    if (s !== step || paused) return;
    paused = true;
    arrive();
    await gate;
  };
  return { hook, reached, go };
}

test('a repair and an addVersion of one object in ONE process exclude each other, both ways', async (t) => {
  const s = await replicated(t);
  await flipByte(s.pagePath('primary'), 1000, 0x01);
  const damaged = await readFile(s.pagePath('primary'));

  // An addVersion of this process holds the object's lock: the repair waits for it.
  const adding = pauseAt('write');
  const writer = await OcflStorageRoot.open(join(s.dir, 'primary'), { faults: ({ step }) => adding.hook(step) });
  const added = writer.addVersion(ID, [await s.stage('phụ lục.txt', 'phụ lục')], info('v3'));
  await adding.reached;
  const err = await t.throwsAsync(s.repairPage('primary', { lockTimeoutMs: 300 }));
  t.true(err instanceof ReplicaError && err.code === 'locked', String(err));
  t.deepEqual(await readFile(s.pagePath('primary')), damaged);
  adding.go();
  t.is((await added).version, 'v3');

  // A repair of this process holds it: an addVersion waits for it (it used to take the lock as a dead namesake's).
  const repairing = pauseAt('verify');
  const repaired = s.repairPage('primary', { faults: repairing.hook });
  await repairing.reached;
  const impatient = await OcflStorageRoot.open(join(s.dir, 'primary'), { lockTimeoutMs: 300 });
  const locked = await t.throwsAsync(impatient.addVersion(ID, [await s.stage('phụ lục 2.txt', 'phụ lục 2')], info('v4')), { instanceOf: OcflError });
  t.is(locked?.code, 'locked');
  repairing.go();
  t.true((await repaired).repaired);
  t.deepEqual(await readFile(s.pagePath('primary')), s.pageBytes);
  t.is((await s.roots.primary.root.readInventory(ID))?.head, 'v3');
});

test('a lock with this process\'s pid that this process does not hold is a dead namesake\'s: taken over at once', async (t) => {
  const s = await replicated(t);
  await flipByte(s.pagePath('primary'), 1000, 0x01);
  await writeFile(objectLockPath(join(s.dir, 'primary'), ID), `${process.pid}\n`);
  t.true((await s.repairPage('primary', { lockTimeoutMs: 300 })).repaired);
  t.deepEqual(await snapshot(s.dir), s.pristine);
});

test('a master damaged on every root is not repaired; every root is tried and nothing is written', async (t) => {
  const s = await replicated(t);
  await flipByte(s.pagePath('primary'), 1000, 0x01);
  await truncate(s.pagePath('r1'), 10);
  await unlink(s.pagePath('r2'));
  const damaged = await snapshot(s.dir);
  const result = await s.repairPage('primary');
  t.false(result.repaired);
  const tried = (result as Extract<RepairResult, { repaired: false }>).tried;
  t.deepEqual(tried.map((x) => x.root.label), ['r1', 'r2']);
  t.regex(tried[0]?.reason ?? '', /10 bytes/);
  t.is(tried[1]?.reason, 'missing');
  t.deepEqual(await snapshot(s.dir), damaged);
});

test('a bad replica copy is never used and never modified', async (t) => {
  const s = await replicated(t);
  await flipByte(s.pagePath('primary'), 5, 0x01);
  await flipByte(s.pagePath('r1'), 6, 0x01); // r1 comes first, and is bad too
  const bad = await identities(join(s.dir, 'r1'));
  const badBytes = await readFile(s.pagePath('r1'));
  const result = await s.repairPage('primary');
  t.deepEqual(result, { repaired: true, from: { label: 'r2', path: join(s.dir, 'r2') } });
  t.deepEqual(await readFile(s.pagePath('primary')), s.pageBytes);
  t.deepEqual(await readFile(s.pagePath('r1')), badBytes);
  t.deepEqual(await identities(join(s.dir, 'r1')), bad);
});

test('disk full during a repair leaves the damaged file as it was and the good copies untouched', async (t) => {
  const s = await replicated(t);
  await flipByte(s.pagePath('primary'), 1000, 0x01);
  const damaged = await snapshot(s.dir);
  const goodCopies = { r1: await identities(join(s.dir, 'r1')), r2: await identities(join(s.dir, 'r2')) };
  let writes = 0;
  const enospc: StorageFaultHook = (step) => {
    // The first call is before the temp file is opened, the second before its first bytes.
    if (step === 'write' && ++writes === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };
  const err = await t.throwsAsync(s.repairPage('primary', { faults: enospc }));
  t.true(err instanceof ReplicaError && err.code === 'write-failed', String(err));
  t.deepEqual(await snapshot(s.dir), damaged, 'no temp file left, the damaged file unchanged, good copies unchanged');
  t.deepEqual({ r1: await identities(join(s.dir, 'r1')), r2: await identities(join(s.dir, 'r2')) }, goodCopies);
  // With space again, the next repair does it.
  t.true((await s.repairPage('primary')).repaired);
  t.deepEqual(await snapshot(s.dir), s.pristine);
});

test('a temp file that a killed repair left is removed by the next repair', async (t) => {
  const s = await replicated(t);
  await unlink(s.pagePath('primary'));
  const dir = dirname(s.pagePath('primary'));
  const leftover = join(dir, `.trang 001.tif.repair-00000000-0000-4000-8000-000000000000.tmp`);
  await writeFile(leftover, s.pageBytes.subarray(0, 100));
  t.true((await s.repairPage('primary')).repaired);
  t.deepEqual(await snapshot(s.dir), s.pristine);
  await t.throwsAsync(lstat(leftover));
});

test('a damaged inventory.json is repaired from a replica with the same head, never from one behind', async (t) => {
  const s = await setup(t);
  await s.addV3();
  await replicateObject(s.roots, ID);
  const pristine = await snapshot(s.dir);
  const inventory = join(objectDir(s.roots, 'primary'), 'inventory.json');
  const what = { target: 'inventory' as const, ocflObjectId: ID };

  await writeFile(inventory, (await readFile(inventory, 'utf8')).replace('"head": "v3"', '"head": "v2"'));
  t.true((await validateStorageRoot(join(s.dir, 'primary'))).some((i) => i.code === 'E060'), 'the sidecar no longer matches');
  const result = await repairFile(s.roots, { label: 'primary', path: join(s.dir, 'primary') }, what);
  t.deepEqual(result, { repaired: true, from: { label: 'r1', path: join(s.dir, 'r1') } });
  t.deepEqual(await snapshot(s.dir), pristine);
  t.is((await s.roots.primary.root.readInventory(ID))?.head, 'v3');
  t.deepEqual(await validateStorageRoot(join(s.dir, 'primary')), []);
});

test('an inventory is never repaired from a replica that is behind: that would drop versions', async (t) => {
  const s = await setup(t);
  await replicateObject(s.roots, ID, { replicas: ['r1'] });
  await s.addV3();
  await replicateObject(s.roots, ID, { replicas: ['r2'] }); // r1 stays at v2, r2 has v3
  const inventory = join(objectDir(s.roots, 'primary'), 'inventory.json');
  const good = await readFile(inventory);
  await unlink(inventory);
  const r1 = await identities(join(s.dir, 'r1'));
  const result = await repairFile(s.roots, { label: 'primary', path: join(s.dir, 'primary') }, { target: 'inventory', ocflObjectId: ID });
  t.deepEqual(result, { repaired: true, from: { label: 'r2', path: join(s.dir, 'r2') } });
  t.deepEqual(await readFile(inventory), good);
  t.deepEqual(await identities(join(s.dir, 'r1')), r1);

  // Now only the lagging replica is left to serve: refused, with the reason.
  await unlink(inventory);
  await flipByte(join(objectDir(s.roots, 'r2'), 'inventory.json'), 50, 0x01);
  const refused = await repairFile(s.roots, { label: 'primary', path: join(s.dir, 'primary') }, { target: 'inventory', ocflObjectId: ID });
  t.false(refused.repaired);
  const tried = (refused as Extract<RepairResult, { repaired: false }>).tried;
  t.deepEqual(tried.map((x) => x.root.label), ['r1', 'r2']);
  t.regex(tried[0]?.reason ?? '', /head v2.*head is v3/);
  t.regex(tried[1]?.reason ?? '', /sidecar/);
  await t.throwsAsync(lstat(inventory));
});

test('a damaged replica inventory is repaired from the primary; an unreadable one too', async (t) => {
  const s = await replicated(t);
  const inventory = join(objectDir(s.roots, 'r2'), 'inventory.json');
  await makeUnreadable(inventory);
  const result = await repairFile(s.roots, { label: 'r2', path: join(s.dir, 'r2') }, { target: 'inventory', ocflObjectId: ID });
  t.deepEqual(result, { repaired: true, from: { label: 'primary', path: join(s.dir, 'primary') } });
  t.deepEqual(await snapshot(s.dir), s.pristine);
  t.is((await stat(inventory)).mode & 0o777, 0o644);
});

test('a damaged version inventory (v1/inventory.json) is repaired from a replica too', async (t) => {
  const s = await replicated(t);
  const versionInventory = join(objectDir(s.roots, 'primary'), 'v1', 'inventory.json');
  await flipByte(versionInventory, 120, 0x01);
  t.true((await validateStorageRoot(join(s.dir, 'primary'))).length > 0);
  const result = await repairFile(s.roots, { label: 'primary', path: join(s.dir, 'primary') }, { target: 'inventory', ocflObjectId: ID });
  t.deepEqual(result, { repaired: true, from: { label: 'r1', path: join(s.dir, 'r1') } });
  t.deepEqual(await snapshot(s.dir), s.pristine);
  t.deepEqual(await validateStorageRoot(join(s.dir, 'primary')), []);
});

test('an inventory repair with nothing wrong in any inventory file writes nothing and says so', async (t) => {
  const s = await replicated(t);
  await unlink(s.pagePath('primary')); // a content file is missing: the inventories are fine
  const before = await identities(join(s.dir, 'primary'));
  const result = await repairFile(s.roots, { label: 'primary', path: join(s.dir, 'primary') }, { target: 'inventory', ocflObjectId: ID });
  t.false(result.repaired);
  const tried = (result as Extract<RepairResult, { repaired: false }>).tried;
  t.is(tried.length, 1);
  t.is(tried[0]?.root.label, 'primary');
  t.regex(tried[0]?.reason ?? '', /verifies/);
  t.deepEqual(await identities(join(s.dir, 'primary')), before);
});

test('repair refuses a root it does not know, or one that moved', async (t) => {
  const s = await replicated(t);
  const unknown = await t.throwsAsync(repairFile(s.roots, { label: 'r9', path: '/nowhere' }, { target: 'inventory', ocflObjectId: ID }));
  t.true(unknown instanceof ReplicaError && unknown.code === 'unknown-root');
  const moved = await t.throwsAsync(repairFile(s.roots, { label: 'r1', path: '/elsewhere' }, { target: 'inventory', ocflObjectId: ID }));
  t.true(moved instanceof ReplicaError && moved.code === 'unknown-root');
});

// ---------------------------------------------------------------------------------------------
// The replication worker (real redis, real SQLite log)

async function workerSetup(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-replication-worker-'));
  const prefix = `t-repl-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const redis = new Redis(REDIS_URL);
  t.teardown(async () => {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  const config = loadConfig({
    THUKHO_DATA_DIR: dir,
    REDIS_URL,
    THUKHO_QUEUE_PREFIX: prefix,
    THUKHO_REPLICAS: `r1=${join(dir, 'r1')},r2=${join(dir, 'r2')}`,
  });
  for (const r of config.replicas) await initReplicaRoot(config, r.label);
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  t.teardown(() => store.close());
  const ctx = { actor: { id: 'test', role: 'staff' } };
  const primary = await OcflStorageRoot.open(config.ocflRoot);
  await mkdir(join(dir, 'staging'), { recursive: true });
  await executeObjectCommand(store, { type: 'RegisterObject', objectId: ID, metadata: { title: 'Truyện Kiều' }, accessLevel: 'open' }, ctx);
  /** Stores a file as a new OCFL version and appends its FileIngested, as ingest does. */
  const ingest = async (name: string, bytes: string) => {
    const staged = await stageStream(Readable.from([Buffer.from(bytes)]), join(dir, 'staging'), {});
    const { version, contentPaths } = await primary.addVersion(ID, [{ logicalPath: name, stagedPath: staged.path, size: staged.size, digests: staged.digests }], info(name));
    const result = await executeObjectCommand(
      store,
      {
        type: 'RecordFileIngested',
        objectId: ID,
        file: {
          fileId: `f${version}`,
          name,
          role: 'supplement',
          size: staged.size,
          mediaType: 'text/plain',
          digests: { sha512: staged.digests.sha512, sha256: staged.digests.sha256 },
          storage: { ocflObjectId: ID, version, path: contentPaths[name] as string },
        },
      },
      ctx,
    );
    return { version, eventId: result.events[0]?.id as string, bytes: staged.size };
  };
  const replications = async () => {
    const out: string[] = [];
    for await (const e of store.readStream(`preservation-${ID}`)) {
      if (e.type !== 'FileReplicated') continue;
      const d = e.data as { replica: { label: string }; version: string; files: number; bytes: number };
      out.push(`${d.replica.label}:${d.version}:${d.files}:${d.bytes}`);
    }
    return out.sort();
  };
  const until = async (what: () => Promise<boolean>, label: string) => {
    const giveUpAt = Date.now() + scaledTimeout(60_000);
    while (Date.now() < giveUpAt) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${label}`);
  };
  return { dir, prefix, redis, config, store, ingest, replications, until };
}

test.serial('the replication worker catches up at start, records one FileReplicated per replica and version, and keeps the lag', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const s = await workerSetup(t);
  const v1 = await s.ingest('trang 1.txt', 'trang một');
  const v2 = await s.ingest('trang 2.txt', 'trang hai');
  const worker = await startReplicationWorker({ store: s.store, redisUrl: REDIS_URL, logger: pino({ level: 'silent' }), config: s.config });
  t.teardown(() => worker.close());
  // The sweep at start finds both versions missing on both replicas.
  await s.until(async () => (await s.replications()).length === 4, 'the start-up sweep');
  t.deepEqual(await s.replications(), [`r1:v1:1:${v1.bytes}`, `r1:v2:1:${v2.bytes}`, `r2:v1:1:${v1.bytes}`, `r2:v2:1:${v2.bytes}`]);
  await s.until(async () => (await readReplicationLag(s.redis, s.prefix)) !== null, 'the lag in redis');
  const lag = await readReplicationLag(s.redis, s.prefix);
  t.deepEqual(lag?.replicas.map((r) => [r.label, r.behind, r.differs]), [['r1', 0, 0], ['r2', 0, 0]]);
  t.is(lag?.objects, 1);

  // A new version: one job per FileIngested (jobId = event id), as the dispatcher makes it.
  const v3 = await s.ingest('trang 3.txt', 'trang ba');
  const job = { objectId: ID, ocflObjectId: ID, version: v3.version, cause: v3.eventId };
  t.true(ReplicationJob.safeParse(job).success);
  await worker.queue.add('replicate', job, { jobId: v3.eventId });
  await s.until(async () => (await s.replications()).length === 6, 'the job for v3');
  t.true((await s.replications()).includes(`r2:v3:1:${v3.bytes}`));
  const causes: Array<string | null> = [];
  for await (const e of s.store.readStream(`preservation-${ID}`)) if (e.type === 'FileReplicated') causes.push(e.metadata.causationId);
  t.deepEqual(causes.slice(4), [v3.eventId, v3.eventId]);

  // The same job again (Redis lost, the outbox re-sent it): nothing copied, nothing recorded twice.
  const again = await worker.queue.add('replicate', job, { jobId: `${v3.eventId}-again` });
  await s.until(async () => (await again.getState()) === 'completed', 'the repeated job');
  t.deepEqual((await worker.queue.getJob(again.id as string))?.returnvalue, { outcome: 'replicated', versions: [], recorded: 0 });
  t.is((await s.replications()).length, 6);

  // A job the worker cannot do fails; the worker keeps going with the next.
  const bad = await worker.queue.add('replicate', { ...job, ocflObjectId: 'khong-co' }, { jobId: 'bad', attempts: 1 });
  await s.until(async () => (await bad.getState()) === 'failed', 'the failing job');
  const v4 = await s.ingest('trang 4.txt', 'trang bốn');
  await worker.queue.add('replicate', { ...job, version: v4.version, cause: v4.eventId }, { jobId: v4.eventId });
  await s.until(async () => (await s.replications()).length === 8, 'the job after the failing one');
});

test.serial('a copy made but never recorded (crash before the append) is recorded by the next job, once', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const s = await workerSetup(t);
  const v1 = await s.ingest('trang 1.txt', 'trang một');
  const roots = await openStorageRoots(s.config);
  await replicateObject(roots, ID); // copied, as a killed worker would have, with no event
  t.deepEqual(await s.replications(), []);
  const recorded = await Promise.all([
    recordReplications(s.store, roots, ID, ID, []),
    recordReplications(s.store, roots, ID, ID, []),
  ]);
  t.is(recorded[0] + recorded[1], 2, 'two workers racing record each copy once');
  t.deepEqual(await s.replications(), [`r1:v1:1:${v1.bytes}`, `r2:v1:1:${v1.bytes}`]);
  t.is(await recordReplications(s.store, roots, 'khong-co', 'khong-co', []), 0, 'an object with no stream records nothing');
});

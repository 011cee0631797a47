import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { acquireProcessLock, ProcessLockQueue, ProcessLockTimeout, tryProcessLock } from '../../src/storage/process-lock.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

const FIXTURE = 'tests/fault/fixtures/hold-process-lock.ts';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-process-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function runFixture(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const printed = (line: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => out.includes(`${line}\n`) && resolve();
      child.stdout.on('data', look);
      child.once('exit', () => reject(new Error(`the fixture exited before printing "${line}": ${out} ${err}`)));
      look();
    });
  return { child, exited, printed, stderr: () => err };
}

/** A pid no process has: one that just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid as number;
}

test('two processes contending for one lock never hold it at once, and both get it every round', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  const log = join(dir, 'log');
  await writeFile(log, '');
  const rounds = 40;
  const a = runFixture([lock, log, String(rounds)]);
  const b = runFixture([lock, log, String(rounds)]);
  t.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0], `${a.stderr()} ${b.stderr()}`);
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  t.is(lines.length, 4 * rounds);
  for (let i = 0; i < lines.length; i += 2) {
    const pid = lines[i]?.slice(0, -1);
    t.is(lines[i], `${pid}+`);
    t.is(lines[i + 1], `${pid}-`, `line ${i + 2}: another process entered while ${pid} held the lock`);
  }
  t.deepEqual([...new Set(lines.map((l) => l.slice(0, -1)))].sort(), [String(a.child.pid), String(b.child.pid)].sort());
  t.false(existsSync(lock), 'released after the last round');
});

test('a live holder in another process keeps the lock; once it is killed (-9) its lock is stale and taken over', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  const holder = runFixture([lock, join(dir, 'log'), '0']);
  t.teardown(() => holder.child.kill('SIGKILL'));
  await holder.printed('held');
  const text = await readFile(lock, 'utf8');
  t.is(text, `${holder.child.pid}\nhost ${hostname()}\n${existsSync('/proc/sys/kernel/random/boot_id') ? `boot ${(await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()}\n` : ''}`);

  t.is(await tryProcessLock(lock), null);
  const err = await t.throwsAsync(acquireProcessLock(lock, { timeoutMs: 200 }), { instanceOf: ProcessLockTimeout });
  t.is(err?.holder, `pid ${holder.child.pid} on host ${hostname()}`);

  holder.child.kill('SIGKILL');
  await holder.exited;
  t.is(await readFile(lock, 'utf8'), text, 'a killed holder leaves its lock behind');
  const taken = await acquireProcessLock(lock, { timeoutMs: scaledTimeout(60_000) });
  t.regex(await readFile(lock, 'utf8'), new RegExp(`^${process.pid}\n`));
  await taken.release();
  t.false(existsSync(lock));
});

test('a lock file of only a pid (as written before hosts were recorded): a dead pid is stale, a live one is not', async (t) => {
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  await writeFile(lock, `${deadPid()}\n`);
  const taken = await tryProcessLock(lock);
  t.truthy(taken);
  await taken?.release();
  await writeFile(lock, '1\n'); // pid 1 is always alive
  t.is(await tryProcessLock(lock), null);
});

test('a lock written on another host is never taken for stale: its pid means nothing here', async (t) => {
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  await writeFile(lock, `${deadPid()}\nhost kho-khac.example\n`);
  const err = await t.throwsAsync(acquireProcessLock(lock, { timeoutMs: 100 }), { instanceOf: ProcessLockTimeout });
  t.regex(err?.holder ?? '', /on host kho-khac\.example$/);
  t.true(existsSync(lock));
});

const bootId = existsSync('/proc/sys/kernel/random/boot_id');
(bootId ? test : test.skip)('(Linux) a lock of this host written during an earlier boot is stale even when its pid is alive now', async (t) => {
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  await writeFile(lock, `1\nhost ${hostname()}\nboot 00000000-0000-4000-8000-000000000000\n`);
  const taken = await tryProcessLock(lock);
  t.truthy(taken, 'pid 1 of the earlier boot is not the pid 1 of this one');
  await taken?.release();
});

test('our own pid: a lock this process holds makes other calls here wait; one it does not hold is a dead namesake\'s', async (t) => {
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  const mine = await acquireProcessLock(lock);
  t.is(await tryProcessLock(lock), null, 'held by another call of this process');
  await mine.release();
  await writeFile(lock, `${process.pid}\nhost ${hostname()}\n`);
  const taken = await tryProcessLock(lock);
  t.truthy(taken);
  await taken?.release();
});

test('a lock file without a pid (its creator died before writing) is waited for, and stale once 5 s old', async (t) => {
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  await writeFile(lock, '');
  t.is(await tryProcessLock(lock), null, 'its creator may be writing it right now');
  const old = new Date(Date.now() - 6000);
  await utimes(lock, old, old);
  const taken = await tryProcessLock(lock);
  t.truthy(taken);
  t.true((await stat(lock)).size > 0);
  await taken?.release();
});

test('ProcessLockQueue: calls for one path run one at a time in call order, holding the lock file; an error releases it', async (t) => {
  const dir = await tempDir(t);
  const lock = join(dir, 'object.lock');
  const queue = new ProcessLockQueue();
  const log: string[] = [];
  const work = (name: string, fail = false) =>
    queue.run(lock, async () => {
      log.push(`${name}+`);
      t.true(existsSync(lock));
      await new Promise((r) => setTimeout(r, 10));
      log.push(`${name}-`);
      if (fail) throw new Error(`${name} hỏng`);
      return name;
    });
  const results = await Promise.allSettled([work('a'), work('b', true), work('c')]);
  t.deepEqual(log, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.false(existsSync(lock));
});

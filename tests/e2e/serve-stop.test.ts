import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { freePort, type Run, type Running, show, signalGroup, sleep, startThukho, thukho, waitForHealth } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * `thukho serve` as an operator starts and stops it, in the embedded profile (REDIS_URL unset:
 * its own redis-server child) with its workers: Ctrl-C (SIGINT to the whole process group, as
 * a terminal sends it) stops everything with nothing alarming in the output, and a start that
 * cannot succeed (port taken, data directory in use) says why in one line and exits 2.
 *
 * No wall-clock bound is asserted (the suite runs on a busy machine); a stop that never ends
 * fails the test after a minute.
 *
 * Serial: each test runs real `thukho` processes, and a busy 2-core machine starts them
 * faster one at a time than all at once.
 */
const tempDir = tempDirs(test, 'thk-serve-');

const EMBEDDED = { REDIS_URL: undefined, THUKHO_LOG_LEVEL: 'warn', THUKHO_HOST: '127.0.0.1' };

/** The exit, or null when it has not come within a minute (then the group is killed). */
async function exitOrKill(running: Running): Promise<Run | null> {
  const outcome = await Promise.race([running.exited, sleep(60_000).then(() => null)]);
  if (outcome === null) signalGroup(running, 'SIGKILL');
  return outcome;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Nothing an operator should have to read after Ctrl-C: stack traces, redis connection errors. */
function assertQuiet(t: import('ava').ExecutionContext, r: Run): void {
  const all = `${r.stdout}\n${r.stderr}`;
  t.notRegex(all, /^\s+at /m, `no stack trace\n${show(r)}`);
  t.notRegex(all, /ECONNREFUSED|ECONNRESET|ENOENT|Connection is closed/i, `no redis connection errors\n${show(r)}`);
  t.notRegex(all, /"level":(50|60)/, `no error-level log line\n${show(r)}`);
}

test.serial('Ctrl-C (SIGINT to the process group) stops serve, its workers and its embedded redis-server, quietly', async (t) => {
  const dir = tempDir();
  const port = await freePort();
  const running = startThukho(dir, ['serve'], { ...EMBEDDED, THUKHO_PORT: String(port) });
  await waitForHealth(running, port);
  const owner = JSON.parse(readFileSync(join(dir, 'redis', 'owner.json'), 'utf8')) as { ownerPid: number; redisPid: number };
  t.is(owner.ownerPid, running.child.pid ?? -1);
  // Give the workers time to connect and start their schedules: the stop must find them busy.
  await sleep(3000);

  signalGroup(running, 'SIGINT');
  const r = await exitOrKill(running);
  if (r === null) return t.fail(`serve did not stop within a minute after SIGINT:\n${running.stdout()}\n${running.stderr()}`);
  t.is(r.code, 0, show(r));
  assertQuiet(t, r);
  t.regex(r.stdout, /serving at http:\/\/127\.0\.0\.1:\d+/);
  t.false(isAlive(owner.redisPid), 'the embedded redis-server was stopped');
  t.false(existsSync(join(dir, 'redis', 'owner.json')));
  // The workers were in serve's process group: none is left running.
  let groupGone = false;
  for (let i = 0; i < 50 && !groupGone; i++) {
    groupGone = !isAlive(-(running.child.pid as number));
    if (!groupGone) await sleep(200);
  }
  t.true(groupGone, 'no worker outlived serve');
});

test.serial('a port already in use: one readable line, exit 2, no stack trace, nothing left running', async (t) => {
  const dir = tempDir();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => squatter.close());
  const port = (squatter.address() as { port: number }).port;

  const r = await thukho(dir, ['serve'], { ...EMBEDDED, THUKHO_PORT: String(port) });
  t.is(r.code, 2, show(r));
  const said = r.stderr.split('\n').filter((l) => l.length > 0);
  t.is(said.length, 1, show(r));
  t.regex(said[0] ?? '', new RegExp(`port 127\\.0\\.0\\.1:${port} is already in use: stop the other server, or set THUKHO_PORT`));
  t.regex(said[0] ?? '', /đang được một chương trình khác dùng/);
  assertQuiet(t, r);
  t.false(existsSync(join(dir, 'redis', 'owner.json')), 'the embedded redis-server was stopped');
});

test.serial('two serves on one data directory: the second says so in one line and exits 2; the first is undisturbed', async (t) => {
  const dir = tempDir();
  const port = await freePort();
  const first = startThukho(dir, ['serve', '--no-workers'], { ...EMBEDDED, THUKHO_PORT: String(port) });
  t.teardown(() => {
    if (first.child.exitCode === null) signalGroup(first, 'SIGKILL');
  });
  await waitForHealth(first, port);

  const second = await thukho(dir, ['serve', '--no-workers'], { ...EMBEDDED, THUKHO_PORT: String(await freePort()) });
  t.is(second.code, 2, show(second));
  const said = second.stderr.split('\n').filter((l) => l.length > 0);
  t.is(said.length, 1, show(second));
  t.regex(said[0] ?? '', new RegExp(`the data directory ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by another thukho \\(pid ${first.child.pid}\\)`));
  assertQuiet(t, second);

  t.is((await fetch(`http://127.0.0.1:${port}/health`)).status, 200, 'the first server still answers');
  signalGroup(first, 'SIGINT');
  const r = await exitOrKill(first);
  if (r === null) return t.fail('the first serve did not stop after SIGINT');
  t.is(r.code, 0, show(r));
  assertQuiet(t, r);
});

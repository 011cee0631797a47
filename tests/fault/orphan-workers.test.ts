import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { freePort, type Running, signalGroup, sleep, startThukho, waitForHealth } from '../helpers/cli.ts';
import { childrenOf, commandLine, isRunning, signalIfRunning } from '../helpers/processes.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';
import { loadConfig } from '../../src/config.ts';
import { workersToRun } from '../../workers/index.ts';

/**
 * Issue 12, item 3: `thukho serve` killed with kill -9 (or crashed) must leave no worker
 * behind. A worker notices that the server which started it is gone and exits; a worker that
 * could not notice (here: stopped with SIGSTOP until the next server has started) is found
 * and stopped by the next `thukho serve` on the same data directory, before it can join that
 * server's redis with the old configuration.
 *
 * No wall-clock bound is asserted: a worker that never exits fails the test at its timeout.
 */
const tempDir = tempDirs(test, 'thk-orphan-');

const WORKER_PROCESSES = workersToRun(loadConfig({ THUKHO_DATA_DIR: '/nonexistent' })).length;

const EMBEDDED = { REDIS_URL: undefined, THUKHO_LOG_LEVEL: 'warn', THUKHO_HOST: '127.0.0.1' };

/** serve's worker children, once all of them have started (they are `thukho worker NAME`). */
async function workersOf(running: Running): Promise<number[]> {
  const pid = running.child.pid as number;
  for (;;) {
    const workers = childrenOf(pid).filter((p) => commandLine(p).includes('worker'));
    // Every worker process serve starts by default (workers/index.ts workersToRun, THUKHO_WORKER_PROCESSES).
    if (workers.length >= WORKER_PROCESSES) return workers;
    await sleep(200);
  }
}

/** kill -9 of serve alone (its workers and redis-server stay), and its end. */
async function killServe(running: Running): Promise<void> {
  const exited = once(running.child, 'exit');
  process.kill(running.child.pid as number, 'SIGKILL');
  // Not `running.exited`: that waits for the output pipes, which the orphans still hold.
  await exited;
}

function redisPidOf(dir: string): number {
  return (JSON.parse(readFileSync(join(dir, 'redis', 'owner.json'), 'utf8')) as { redisPid: number }).redisPid;
}

/** Whatever this test started is killed at its end, whatever happened. */
function cleanUp(t: ExecutionContext, pids: () => number[]): void {
  t.teardown(() => {
    for (const pid of pids()) {
      signalIfRunning(pid, 'SIGKILL');
    }
  });
}

test.serial('kill -9 of serve: every worker it started exits by itself', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const dir = tempDir();
  const port = await freePort();
  const running = startThukho(dir, ['serve'], { ...EMBEDDED, THUKHO_PORT: String(port) });
  let workers: number[] = [];
  let redisPid = 0;
  cleanUp(t, () => [running.child.pid as number, ...workers, redisPid]);
  await waitForHealth(running, port);
  redisPid = redisPidOf(dir);
  workers = await workersOf(running);
  t.log(`workers ${workers.join(', ')}`);

  await killServe(running);
  // A hang detector, not a time limit: well within the test's timeout, so that the teardown
  // still runs and kills what is left.
  const giveUpAt = Date.now() + scaledTimeout(2 * 60_000);
  while (Date.now() < giveUpAt && workers.some(isRunning)) await sleep(200);
  const left = workers.filter(isRunning);
  t.deepEqual(left, [], `workers still running minutes after their server was killed: ${left.map((p) => commandLine(p).join(' ')).join('; ')}`);
});

test.serial('a worker that could not notice its server die is stopped by the next serve on the data directory', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const dir = tempDir();
  const firstPort = await freePort();
  const first = startThukho(dir, ['serve'], { ...EMBEDDED, THUKHO_PORT: String(firstPort) });
  let workers: number[] = [];
  let second: Running | undefined;
  const redisPids: number[] = [];
  cleanUp(t, () => [first.child.pid as number, ...workers, ...redisPids]);
  t.teardown(() => {
    if (second && second.child.exitCode === null) signalGroup(second, 'SIGKILL');
  });
  await waitForHealth(first, firstPort);
  redisPids.push(redisPidOf(dir));
  workers = await workersOf(first);

  // Stopped, a worker cannot see its parent go: it stands for one whose detection failed.
  for (const pid of workers) process.kill(pid, 'SIGSTOP');
  await killServe(first);
  t.true(workers.every(isRunning), 'the stopped workers outlived their server');

  const port = await freePort();
  second = startThukho(dir, ['serve'], { ...EMBEDDED, THUKHO_PORT: String(port) });
  await waitForHealth(second, port);
  redisPids.push(redisPidOf(dir));
  const left = workers.filter(isRunning);
  t.deepEqual(left, [], `orphaned workers still running after the next start: ${left.map((p) => `${p} ${commandLine(p).join(' ')}`).join('; ')}`);
  t.is((await workersOf(second)).length, WORKER_PROCESSES, 'the new server runs its own workers');

  signalGroup(second, 'SIGINT');
  const r = await second.exited;
  t.is(r.code, 0, r.stderr);
});

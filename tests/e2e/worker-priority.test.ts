import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { freePort, signalGroup, sleep, startThukho, waitForHealth } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { loadConfig } from '../../src/config.ts';
import { workersToRun } from '../../workers/index.ts';

/**
 * Readers while the library ingests (issue 20): `thukho serve` in the embedded profile starts
 * its workers below itself, every thread of every worker at THUKHO_WORKER_NICE (Linux keeps a
 * niceness per thread: a worker whose main thread alone was niced would still build pyramids on
 * libvips threads at full priority). Real processes; niceness read from /proc.
 */
const tempDir = tempDirs(test, 'thk-nice-');

/** Field N of /proc/PID/task/TID/stat (counted after the parenthesised name, which may hold spaces); NaN when the thread is gone. */
function statField(pid: number, tid: number, n: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]);
  } catch {
    return NaN;
  }
}
const niceOf = (pid: number, tid: number) => statField(pid, tid, 19);
/** Field 41: the scheduling policy (0 SCHED_OTHER, 5 SCHED_IDLE). */
const SCHED_IDLE = 5;
const policyOf = (pid: number, tid: number) => statField(pid, tid, 41);
const perThread = (pid: number, f: (pid: number, tid: number) => number): number[] => {
  try {
    return readdirSync(`/proc/${pid}/task`).map((tid) => f(pid, Number(tid))).filter((n) => !Number.isNaN(n));
  } catch {
    return [];
  }
};
const threadNices = (pid: number) => perThread(pid, niceOf);

test('the embedded profile runs every thread of every worker at THUKHO_WORKER_NICE and under SCHED_IDLE, and the server at its own', async (t) => {
  if (process.platform !== 'linux') {
    t.log('not Linux: no /proc to read niceness from; not checked here');
    t.pass();
    return;
  }
  const own = niceOf(process.pid, process.pid);
  const nice = Math.min(19, own + 4);
  const dir = tempDir();
  const port = await freePort();
  const running = startThukho(dir, ['serve'], { REDIS_URL: undefined, THUKHO_LOG_LEVEL: 'info', THUKHO_HOST: '127.0.0.1', THUKHO_PORT: String(port), THUKHO_OCR: 'off', THUKHO_WORKER_NICE: String(nice) });
  try {
    await waitForHealth(running, port);
    const records = () =>
      readdirSync(join(dir, 'workers'))
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(dir, 'workers', f), 'utf8')) as { name: string; pid: number });
    // Each worker lowers its own threads once it is running ("worker running" in serve's log,
    // which pino writes to stderr: waiting on stdout waited out the whole 120 s every run).
    // The worker processes serve starts with OCR off (workers/index.ts workersToRun: one by default).
    const expected = workersToRun(loadConfig({ THUKHO_DATA_DIR: dir, THUKHO_OCR: 'off' })).sort();
    for (let i = 0; i < 1200 && (running.stderr().match(/"msg":"worker running"/g) ?? []).length < expected.length; i++) {
      if (running.child.exitCode !== null) break;
      await sleep(100);
    }
    const workers = records();
    t.deepEqual(workers.map((w) => w.name).sort(), expected, `serve's output:\n${running.stdout().slice(-3000)}\n${running.stderr().slice(-3000)}`);
    for (const w of workers) {
      const nices = threadNices(w.pid);
      t.true(nices.length > 1, `${w.name}: several threads (${nices.length})`);
      t.deepEqual(nices, nices.map(() => nice), `${w.name} (pid ${w.pid}): every thread at ${nice}`);
      // THUKHO_WORKER_SCHEDULING=idle (the default): started under SCHED_IDLE, so every thread has it.
      const policies = perThread(w.pid, policyOf);
      t.deepEqual(policies, policies.map(() => SCHED_IDLE), `${w.name} (pid ${w.pid}): every thread under SCHED_IDLE`);
    }
    const serve = running.child.pid as number;
    t.is(niceOf(serve, serve), own, 'the server keeps the priority it was started with');
    t.deepEqual([...new Set(perThread(serve, policyOf))], [0], 'and the normal policy on every thread');
  } finally {
    signalGroup(running, 'SIGINT');
    if ((await Promise.race([running.exited, sleep(60_000).then(() => 'late' as const)])) === 'late') signalGroup(running, 'SIGKILL');
  }
});

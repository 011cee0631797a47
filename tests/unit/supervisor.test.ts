import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { markStopping, STOP_GRACE_MS } from '../../src/queue/stopping.ts';
import { superviseWorker } from '../../src/queue/supervisor.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/** A pino logger whose lines are kept for the test to read. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const tempDir = tempDirs(test, 'thk-supervisor-');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A worker that dies 50 ms after it starts, as a crashing one would. */
const DYING = ['-e', 'setTimeout(() => process.exit(3), 50)'];

// Serial: the second test sets this process's "stop requested" flag, which the first must not see.
test.serial('a worker that dies is restarted, and the death is logged as an error', async (t) => {
  const { logger, lines } = capture();
  const w = superviseWorker('dying', process.execPath, DYING, process.env, tempDir(), logger);
  const first = w.pid();
  try {
    // Hang guards only (a busy machine starts node slowly): scaled, see time-scale.ts.
    const giveUpAt = Date.now() + scaledTimeout(60_000);
    while (Date.now() < giveUpAt && w.restarts() < 1) await sleep(100);
    t.is(w.restarts(), 1);
    while (Date.now() < giveUpAt && (w.pid() === undefined || w.pid() === first)) await sleep(100);
    t.not(w.pid(), first, 'a new process');
    t.like(lines.find((l) => l.msg === 'worker exited; restarting'), { worker: 'dying', code: 3, level: 50 });
  } finally {
    await w.stop();
  }
});

test.serial('a worker that exits while this process is stopping (one Ctrl-C for the whole group) is neither restarted nor reported', async (t) => {
  const { logger, lines } = capture();
  markStopping();
  const w = superviseWorker('dying', process.execPath, DYING, process.env, tempDir(), logger);
  try {
    // First the worker's exit (slow on a busy machine), then past the moment a restart would be decided.
    const giveUpAt = Date.now() + scaledTimeout(60_000);
    while (Date.now() < giveUpAt && w.pid() !== undefined) await sleep(50);
    t.is(w.pid(), undefined, 'the worker exited');
    await sleep(STOP_GRACE_MS + 1000);
    t.is(w.restarts(), 0);
    t.is(w.pid(), undefined);
    t.false(lines.some((l) => l.msg === 'worker exited; restarting'), JSON.stringify(lines));
  } finally {
    await w.stop();
  }
});

/** Field 19 of /proc/PID/task/TID/stat: the thread's niceness (after the parenthesised name, which may hold spaces). */
function niceOf(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]);
}

test.serial('a supervised worker runs below its server from the moment it is spawned (issue 20)', async (t) => {
  if (process.platform !== 'linux') {
    t.log('not Linux: no /proc to read niceness from; not checked here');
    t.pass();
    return;
  }
  const { logger } = capture();
  const own = niceOf(process.pid, process.pid);
  const nice = Math.min(19, own + 3);
  const w = superviseWorker('nice', process.execPath, ['-e', 'setInterval(() => {}, 1000)'], process.env, tempDir(), logger, { nice });
  try {
    const pid = w.pid();
    if (pid === undefined) throw new Error('no worker process');
    t.is(niceOf(pid, pid), nice, 'the worker\'s main thread');
    t.is(niceOf(process.pid, process.pid), own, 'the server keeps its priority');
  } finally {
    await w.stop();
  }
});

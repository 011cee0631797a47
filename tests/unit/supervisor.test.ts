import { Writable } from 'node:stream';
import test from 'ava';
import { pino } from 'pino';
import { markStopping } from '../../src/queue/stopping.ts';
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
    await sleep(1500);
    t.is(w.restarts(), 0);
    t.is(w.pid(), undefined);
    t.false(lines.some((l) => l.msg === 'worker exited; restarting'), JSON.stringify(lines));
  } finally {
    await w.stop();
  }
});

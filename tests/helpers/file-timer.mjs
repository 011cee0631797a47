// Per-file wall time of an ava run, for finding where the suite's time goes.
// Loaded into every test process by ava.config.mjs only when THUKHO_TEST_TIMINGS names a file;
// each process appends one JSON line {file, ms, startedAt} to it when it exits. `ms` runs from
// the process's start (node + tsx start-up included) to its exit, which is what the file costs
// one of ava's `concurrency` slots; `cpuMs` is its CPU time (children waited for included). Summarise with: node scripts/test-timings.mjs FILE
import { appendFileSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';

const out = process.env.THUKHO_TEST_TIMINGS;
/**
 * CPU time of this process and of the children it has waited for (CLI runs, workers), from
 * /proc/self/stat: on a loaded machine wall time says more about the neighbours than the file.
 */
function cpuMs() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of stat(5); [0] here is field 3.
    const ticks = [11, 12, 13, 14].reduce((n, i) => n + Number(fields[i]), 0);
    return Math.round((ticks * 1000) / 100); // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

if (out) {
  let file = '?';
  // ava names the test file only in its 'options' message to the worker.
  process.on('message', (m) => {
    const f = m?.ava?.type === 'options' ? m.ava.options?.file : undefined;
    if (typeof f === 'string') file = relative(process.cwd(), f.startsWith('file:') ? new URL(f).pathname : f);
  });
  process.on('exit', () => {
    const ms = Math.round(performance.now());
    appendFileSync(out, `${JSON.stringify({ file, ms, cpuMs: cpuMs(), startedAt: new Date(performance.timeOrigin).toISOString() })}\n`);
  });
}

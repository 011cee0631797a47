import { availableParallelism, loadavg } from 'node:os';

/**
 * Time limits in tests exist only to turn a hang into a failure, never to judge speed: on a busy
 * machine (load 10 on 2 cores) everything is several times slower and still correct. Every limit
 * that remains in tests/ goes through `scaledTimeout`, which stretches it by how busy the machine is:
 * max(1, load average ÷ cores), taken when this process started and again when the limit is set
 * (whichever is higher, since a suite's own load arrives after it starts).
 *
 * THUKHO_TEST_TIME_SCALE=N replaces the measured factor (e.g. 4 on a slow CI runner whose load
 * average says nothing of its steal time; 1 to see the plain limits).
 *
 * Also loaded by ava.config.mjs for ava's own `timeout`, so keep it free of test-only imports.
 */

const CORES = Math.max(1, availableParallelism());

function loadFactor(): number {
  return Math.max(1, (loadavg()[0] ?? 0) / CORES);
}

const AT_START = loadFactor();

function override(): number | undefined {
  const raw = process.env.THUKHO_TEST_TIME_SCALE;
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`THUKHO_TEST_TIME_SCALE must be a positive number, not ${JSON.stringify(raw)}`);
  return n;
}

/** How many times slower than an idle machine limits should allow for, now. */
export function timeScale(): number {
  return override() ?? Math.max(AT_START, loadFactor());
}

/** `ms` (a limit chosen for an idle machine) stretched by `timeScale()`. */
export function scaledTimeout(ms: number): number {
  return Math.ceil(ms * timeScale());
}

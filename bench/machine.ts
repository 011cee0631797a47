import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** What every bench needs of the machine: its busy time, a quiet moment, a cold page cache. */
export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat). */
export function machineBusy(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/**
 * Waits (up to `maxSeconds`) for a second in which the machine is nearly idle, so that a
 * measurement does not start in the middle of somebody else's work; returns the busy
 * fraction of the last second sampled.
 */
export async function waitQuiet(maxSeconds = 15): Promise<number> {
  const cores = os.cpus().length;
  let busy = 1;
  for (let i = 0; i < maxSeconds; i++) {
    const b0 = machineBusy();
    await sleep(1000);
    busy = (machineBusy() - b0) / cores;
    if (busy < 0.15) break;
  }
  return busy;
}

/** sync, then drop the page cache, dentries and inodes; false when not permitted. */
export function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isAlive } from '../process-alive.ts';

/**
 * One record per worker child of `thukho serve`, `<dataDir>/workers/NAME.json`: which server
 * started it and its pid. A server killed with kill -9 cannot stop its workers; they notice
 * their parent go and exit (supervisor.ts), and the next start stops any that did not (a
 * wedged or stopped process), as it shuts down an orphaned embedded redis-server (redis.ts).
 */
const WorkerRecord = z.object({
  ownerPid: z.number().int().positive(),
  pid: z.number().int().positive(),
  name: z.string().min(1),
  startedAt: z.string(),
});
type WorkerRecord = z.infer<typeof WorkerRecord>;

/** How long an orphan has to stop on SIGTERM before SIGKILL. */
const ORPHAN_GRACE_MS = 5_000;

const recordPath = (dir: string, name: string) => join(dir, `${name}.json`);

export function writeWorkerRecord(dir: string, name: string, pid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const record: WorkerRecord = { ownerPid: process.pid, pid, name, startedAt: new Date().toISOString() };
  writeFileSync(recordPath(dir, name), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

/** Removes the record if it still names this worker (a restart may have written a newer one). */
export function removeWorkerRecord(dir: string, name: string, pid: number): void {
  const record = readRecord(recordPath(dir, name));
  if (record?.ownerPid === process.pid && record.pid === pid) rmSync(recordPath(dir, name), { force: true });
}

function readRecord(path: string): WorkerRecord | undefined {
  try {
    const parsed = WorkerRecord.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is still a `thukho worker NAME` process: a pid is reused once its process is
 * gone, and only a process whose command line says it is one of our workers may be killed.
 * Without /proc (not Linux) nothing can be verified and nothing is killed.
 */
function isWorkerProcess(pid: number, name: string): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const at = args.indexOf('worker');
  return at > 0 && args[at + 1] === name && args.slice(0, at).some((a) => /^thukho(\.js)?$/.test(basename(a)));
}

/**
 * Stops the workers an earlier server on this data directory left running (its records name
 * an owner that is gone). Records of a live owner are another server's: left alone.
 */
export async function stopOrphanWorkers(dir: string, logger: Logger): Promise<number> {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return 0;
  }
  let stopped = 0;
  for (const file of files) {
    const path = join(dir, file);
    const record = readRecord(path);
    if (record && record.ownerPid !== process.pid && isAlive(record.ownerPid)) continue;
    if (record && isWorkerProcess(record.pid, record.name)) {
      logger.warn({ worker: record.name, pid: record.pid, ownerPid: record.ownerPid }, 'a worker of an earlier server still runs (left by a crash); stopping it');
      await stopProcess(record.pid, () => isWorkerProcess(record.pid, record.name));
      stopped++;
    }
    rmSync(path, { force: true });
  }
  return stopped;
}

/** SIGTERM (and SIGCONT, for a stopped process), then SIGKILL after the grace. */
async function stopProcess(pid: number, stillThere: () => boolean): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  };
  signal('SIGTERM');
  signal('SIGCONT');
  const deadline = Date.now() + ORPHAN_GRACE_MS;
  while (stillThere() && Date.now() < deadline) await sleep(100);
  if (!stillThere()) return;
  signal('SIGKILL');
  // An orphan is not our child: its exit is seen through /proc, not a wait().
  while (stillThere()) await sleep(50);
}

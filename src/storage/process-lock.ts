import { readFileSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../process-alive.ts';

/**
 * A lock between processes: a file created exclusively (O_EXCL) that says who holds it, one
 * line each: the pid, `host <hostname>`, `boot <Linux boot id>`. Every writer of an OCFL
 * object and every ingest of a work takes one, so that `thukho serve`, its workers and a
 * `thukho ingest` beside them never write one object at once.
 *
 * One rule decides when a lock is stale (its holder is gone, and the lock is taken over):
 * - written on another host (a storage root on a network share): never. We cannot see that
 *   host's processes, and a pid there says nothing here; taking a live writer's lock would
 *   let two writers into one object. The wait ends with an error naming host and pid.
 * - this host, another boot: always. Every process of that boot is gone, and its pid may
 *   belong to anyone now (without this, a reused pid would hold the lock for good).
 * - our own pid: unless this process holds it, an earlier process with the same pid left it.
 * - any other pid: when kill(pid, 0) says there is no such process (ESRCH).
 * - no pid in it (the holder died between creating and writing it): once it is 5 s old.
 * A file holding only a pid (written before hosts were recorded) is judged as this host's.
 */

const TORN_AFTER_MS = 5000;
const HOST = hostname();
const BOOT = readBootId();
/** Lock files this process holds, to tell its own locks from those of a dead process that had its pid. */
const held = new Set<string>();

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null; // not Linux: the pid check alone
  }
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

interface Holder {
  pid: number | null;
  host: string | null;
  boot: string | null;
}

function parseHolder(text: string): Holder {
  const [first = '', ...rest] = text.split('\n');
  const field = (name: string) => rest.find((l) => l.startsWith(`${name} `))?.slice(name.length + 1).trim() || null;
  return { pid: /^\d+$/.test(first.trim()) ? Number(first.trim()) : null, host: field('host'), boot: field('boot') };
}

function describeHolder(text: string | null): string {
  if (text === null) return 'nobody any more';
  const h = parseHolder(text);
  if (h.pid === null) return 'a holder that has not written its pid';
  return `pid ${h.pid}${h.host === null ? '' : ` on host ${h.host}`}`;
}

async function isStale(path: string, text: string): Promise<boolean> {
  const h = parseHolder(text);
  if (h.pid === null) {
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    return age > TORN_AFTER_MS;
  }
  if (h.host !== null && h.host !== HOST) return false;
  if (h.boot !== null && BOOT !== null && h.boot !== BOOT) return true;
  if (h.pid === process.pid) return !held.has(path);
  return !isAlive(h.pid);
}

/** The holder's text, or null when there is no lock file (any more). */
async function readHolder(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return null;
    throw err;
  }
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

export class ProcessLockTimeout extends Error {
  constructor(
    readonly path: string,
    /** Who holds it, for a message: "pid 1234 on host kho-1". */
    readonly holder: string,
  ) {
    super(`${path} is held by ${holder}`);
    this.name = 'ProcessLockTimeout';
  }
}

/** One attempt: the lock, or null while a live process holds it. A stale lock is removed and taken. */
export async function tryProcessLock(path: string): Promise<HeldLock | null> {
  for (;;) {
    let handle;
    try {
      handle = await open(path, 'wx', 0o644);
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
      const text = await readHolder(path);
      if (text === null) continue; // released meanwhile
      if (!(await isStale(path, text))) return null;
      // Remove only the lock judged stale: another process may have taken it over meanwhile.
      if ((await readHolder(path)) === text) await rm(path, { force: true });
      continue;
    }
    // Marked ours before our pid is in it, so that a call of this process never takes it for a dead namesake's.
    held.add(path);
    try {
      await handle.writeFile(`${process.pid}\nhost ${HOST}\n${BOOT === null ? '' : `boot ${BOOT}\n`}`);
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(path, { force: true });
      held.delete(path);
      throw err;
    }
    await handle.close();
    return {
      path,
      release: async () => {
        // Removed before it stops being ours: until then, no call of this process judges it stale.
        await rm(path, { force: true });
        held.delete(path);
      },
    };
  }
}

export interface AcquireOptions {
  /** Give up after this long, with ProcessLockTimeout (default: wait as long as it takes). */
  timeoutMs?: number;
  /** Runs before each attempt (replication first cleans what a crashed writer left). */
  beforeEachTry?: () => Promise<unknown>;
}

/** Waits for the lock at `path` (short polls, up to 250 ms apart). */
export async function acquireProcessLock(path: string, options: AcquireOptions = {}): Promise<HeldLock> {
  const deadline = Date.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  let wait = 10;
  for (;;) {
    await options.beforeEachTry?.();
    const lock = await tryProcessLock(path);
    if (lock) return lock;
    if (Date.now() > deadline) throw new ProcessLockTimeout(path, describeHolder(await readHolder(path).catch(() => null)));
    await sleep(wait);
    wait = Math.min(wait * 2, 250);
  }
}

/**
 * Calls for one key run one at a time in this process, in call order; `run` also holds the
 * lock file while it works, for other processes. Separate queues for the same lock path
 * still exclude each other through the file (replication cleans an object through
 * OcflStorageRoot's queue from inside its own, so the two cannot share one).
 */
export class ProcessLockQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** `fn` once the earlier calls of this queue for `key` have settled. */
  async serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const current = (this.tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = current.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** `fn` after this queue's earlier calls for `path`, holding the lock file at `path`. */
  run<T>(path: string, fn: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    return this.serially(path, async () => {
      const lock = await acquireProcessLock(path, options);
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    });
  }
}

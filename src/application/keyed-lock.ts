import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Serialises work on one key (an object id) within this process, and, when given a lock
 * directory, across processes too: the server and a `thukho ingest` running beside it
 * must never write the same OCFL object at once, nor take each other's half-written
 * version for a crash leftover. The cross-process lock is a file created exclusively
 * (O_EXCL) holding the owner's pid; a lock whose owner is dead is stale and taken over.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly lockDir?: string) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const guarded = () => (this.lockDir ? this.withFileLock(key, fn) : fn());
    const current = previous.then(guarded, guarded);
    const tail = current.catch(() => {});
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  private async withFileLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const dir = this.lockDir as string;
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${encodeURIComponent(key)}.lock`);
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await open(path, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (owner > 0 && !isAlive(owner)) {
          // The owner died holding it (kill -9): nothing of its work is in flight any more.
          await rm(path, { force: true });
          continue;
        }
        await sleep(Math.min(1000, 20 * 2 ** Math.min(attempt, 6)));
      }
    }
    try {
      return await fn();
    } finally {
      await rm(path, { force: true });
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

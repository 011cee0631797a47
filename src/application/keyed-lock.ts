import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcessLockQueue } from '../storage/process-lock.ts';

/**
 * Serialises work on one key (an object id) within this process, and, when given a lock
 * directory, across processes too: the server and a `thukho ingest` running beside it
 * must never write the same OCFL object at once, nor take each other's half-written
 * version for a crash leftover. The cross-process lock is process-lock.ts's lock file.
 */
export class KeyedLock {
  private readonly queue = new ProcessLockQueue();

  constructor(private readonly lockDir?: string) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const dir = this.lockDir;
    if (dir === undefined) return this.queue.serially(key, fn);
    await mkdir(dir, { recursive: true });
    return this.queue.run(join(dir, `${encodeURIComponent(key)}.lock`), fn);
  }
}

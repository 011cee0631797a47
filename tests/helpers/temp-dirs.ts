import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestFn } from 'ava';

/** A maker of fresh temporary directories, all removed after the file's tests. */
export function tempDirs(test: TestFn<unknown>, prefix: string): () => string {
  const dirs: string[] = [];
  test.after.always(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

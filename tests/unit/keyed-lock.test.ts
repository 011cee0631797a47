import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { KeyedLock } from '../../src/application/keyed-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'thukho-lock-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('two lock holders on one directory (as two processes) never overlap on a key', async (t) => {
  const a = new KeyedLock(dir);
  const b = new KeyedLock(dir);
  const log: string[] = [];
  const work = (who: string, lock: KeyedLock) =>
    lock.run('sach-1', async () => {
      log.push(`${who}+`);
      await new Promise((r) => setTimeout(r, 50));
      log.push(`${who}-`);
    });
  await Promise.all([work('a', a), work('b', b), work('a2', a)]);
  for (let i = 0; i < log.length; i += 2) t.is(log[i]?.replace('+', ''), log[i + 1]?.replace('-', ''));
});

test('other keys do not wait', async (t) => {
  const lock = new KeyedLock(dir);
  let inside = 0;
  let most = 0;
  await Promise.all(
    ['x', 'y', 'z'].map((k) =>
      lock.run(k, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 30));
        inside--;
      }),
    ),
  );
  t.is(most, 3);
});

test('a lock left by a dead process is taken over', async (t) => {
  writeFileSync(join(dir, 'sach-2.lock'), '999999999');
  const lock = new KeyedLock(dir);
  // A live holder is waited for as long as it takes, so a dead one not recognised hangs here and
  // fails at the test's timeout; no clock is read (a busy machine is slow, not wrong).
  t.is(await lock.run('sach-2', async () => 'ok'), 'ok');
  t.false(existsSync(join(dir, 'sach-2.lock')), 'the taken-over lock is released after the work');
});

test('an error inside releases the lock', async (t) => {
  const lock = new KeyedLock(dir);
  await t.throwsAsync(lock.run('sach-3', async () => {
    throw new Error('hỏng');
  }));
  t.is(await lock.run('sach-3', async () => 'again'), 'again');
});

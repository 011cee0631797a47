import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { stageStream, StagingError } from '../../src/storage/digest.ts';
import { FixityPool } from '../../src/storage/fixity-pool.ts';
import { poll } from '../helpers/api.ts';

/** Bulk ingest digests staged files in pool threads (read back after fsync): same digests, same clean-up. */
test('stageStream with a pool: the digests of the inline path, and nothing left when it is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-digest-pool-'));
  const pool = new FixityPool(2);
  try {
    const bytes = randomBytes(3 * (1 << 20) + 17);
    async function* source() {
      for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
    }
    const inline = await stageStream(source(), dir);
    const pooled = await stageStream(source(), dir, { pool });
    t.deepEqual(pooled.digests, inline.digests);
    t.is(pooled.size, bytes.length);
    // md5 asked for: the pool has none, so the inline path answers.
    const withMd5 = await stageStream(source(), dir, { pool, md5: true });
    t.truthy(withMd5.digests.md5);
    t.is(withMd5.digests.sha512, inline.digests.sha512);
    const before = readdirSync(dir).length;
    const err = await t.throwsAsync(stageStream(source(), dir, { pool, maxBytes: 1 << 20 }));
    t.true(err instanceof StagingError);
    t.is(readdirSync(dir).length, before);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Linux: each thread's niceness, from /proc (field 19 of stat, after the command name). */
function threadNiceness(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The server digests uploads in a pool whose threads yield to readers: only they are reniced. */
test('a pool with nice: its thread lowers its own priority, the thread that called it keeps its own', async (t) => {
  if (!existsSync('/proc/self/task')) {
    t.log('no /proc/self/task (not Linux): per-thread niceness not checked');
    t.pass();
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'thukho-digest-pool-'));
  const pool = new FixityPool(1, { nice: 13 });
  try {
    const mine = getPriority(0);
    const before = [...threadNiceness().values()].filter((n) => n === 13).length;
    const bytes = randomBytes(1 << 20);
    async function* source() {
      for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
    }
    const pooled = await stageStream(source(), dir, { pool });
    const inline = await stageStream(source(), dir);
    t.deepEqual(pooled.digests, inline.digests);
    t.is(getPriority(0), mine);
    t.is([...threadNiceness().values()].filter((n) => n === 13).length, before + 1);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The server's pool ends its thread when no upload came for a while (memory), and starts it again for the next. */
test('a pool with idleMs ends an idle thread, and the next check starts one again with the same digests', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-digest-pool-'));
  const pool = new FixityPool(1, { idleMs: 100 });
  try {
    const bytes = randomBytes((1 << 20) + 5);
    async function* source() {
      for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
    }
    const inline = await stageStream(source(), dir);
    t.deepEqual((await stageStream(source(), dir, { pool })).digests, inline.digests);
    t.is(pool.threads, 1);
    await poll('the idle thread ended', 30_000, async () => (pool.threads === 0 ? true : undefined));
    t.deepEqual((await stageStream(source(), dir, { pool })).digests, inline.digests);
    t.is(pool.threads, 1);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

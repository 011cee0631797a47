import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { stageStream, StagingError } from '../../src/storage/digest.ts';
import { FixityPool } from '../../src/storage/fixity-pool.ts';

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

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readlinkSync, truncateSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CHUNK_BYTES, checkFile, type FileCheck, type RateLimiter, rateLimiter } from '../../src/storage/fixity.ts';
import { FixityPool } from '../../src/storage/fixity-pool.ts';

/**
 * checkFile on real files (every failure kind), the read budget measured in elapsed time
 * (the one place a duration is the behaviour under test), and the thread pool against
 * node:crypto. ava runs this file in a child process (workerThreads: false): the pool's
 * threads are real worker_threads started from there.
 */
async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-fixity-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const hex = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest('hex');

async function stored(dir: string, name: string, data: Buffer) {
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, expected: { sha512: hex('sha512', data), sha256: hex('sha256', data), size: data.length } };
}

test('a file that is as recorded passes, with both digests from one read', async (t) => {
  const dir = await tempDir(t);
  // Larger than one chunk and not a multiple of it: the last, short read is hashed too.
  const data = randomBytes(CHUNK_BYTES * 2 + 12345);
  const { path, expected } = await stored(dir, 'trang_001.tif', data);
  const r = await checkFile(path, expected);
  t.is(r.outcome, 'pass');
  t.is(r.failure, undefined);
  t.is(r.bytes, data.length);
  t.deepEqual(r.actual, { sha512: expected.sha512, sha256: expected.sha256 });
  t.true(r.durationMs >= 0);
});

test('only the digests that are expected are computed; none expected means both', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(1000);
  const { path, expected } = await stored(dir, 'a.bin', data);
  t.deepEqual((await checkFile(path, { sha512: expected.sha512 })).actual, { sha512: expected.sha512 });
  t.deepEqual((await checkFile(path, { sha256: expected.sha256 })).actual, { sha256: expected.sha256 });
  const both = await checkFile(path, {});
  t.is(both.outcome, 'pass');
  t.deepEqual(both.actual, { sha512: expected.sha512, sha256: expected.sha256 });
  t.deepEqual((await checkFile(path, { sha256: expected.sha256 }, { algorithms: ['sha512', 'sha256'] })).actual, { sha512: expected.sha512, sha256: expected.sha256 });
});

test('an empty file passes against the digests of nothing', async (t) => {
  const dir = await tempDir(t);
  const { path, expected } = await stored(dir, 'empty', Buffer.alloc(0));
  const r = await checkFile(path, expected);
  t.is(r.outcome, 'pass');
  t.is(r.bytes, 0);
});

test('one flipped byte is "changed"', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(300_000);
  const { path, expected } = await stored(dir, 'trang.tif', data);
  const handle = await open(path, 'r+');
  await handle.write(Buffer.from([data[150_000]! ^ 0x01]), 0, 1, 150_000);
  await handle.close();
  const r = await checkFile(path, expected);
  t.is(r.outcome, 'fail');
  t.is(r.failure, 'changed');
  t.is(r.bytes, data.length);
  t.not(r.actual.sha512, expected.sha512);
  t.regex(r.detail ?? '', /sha512/);
});

test('a changed sha256 alone is caught when only sha256 is expected (derivative pyramids)', async (t) => {
  const dir = await tempDir(t);
  const { path } = await stored(dir, 'pyramid.tif', randomBytes(5000));
  const r = await checkFile(path, { sha256: hex('sha256', Buffer.from('something else')) });
  t.is(r.failure, 'changed');
});

test('a shorter file is "truncated", a longer one "changed"', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(100_000);
  const { path, expected } = await stored(dir, 'a.tif', data);
  await truncate(path, 60_000);
  const short = await checkFile(path, expected);
  t.is(short.outcome, 'fail');
  t.is(short.failure, 'truncated');
  t.is(short.bytes, 60_000);
  t.regex(short.detail ?? '', /60000 bytes, expected 100000/);

  await writeFile(path, Buffer.concat([data, Buffer.from('x')]));
  const long = await checkFile(path, expected);
  t.is(long.failure, 'changed');
  t.is(long.bytes, 100_001);
});

test('a file that is not there is "missing"; one that cannot be read is "unreadable"', async (t) => {
  const dir = await tempDir(t);
  const gone = await checkFile(join(dir, 'nowhere.tif'), { sha512: 'a'.repeat(128), size: 10 });
  t.is(gone.outcome, 'fail');
  t.is(gone.failure, 'missing');
  t.is(gone.bytes, 0);
  t.regex(gone.detail ?? '', /ENOENT/);
  // A missing folder on the way is missing too, not unreadable.
  t.is((await checkFile(join(dir, 'no', 'such', 'file'), {})).failure, 'missing');

  // Opening a directory succeeds on Linux; reading it fails (EISDIR): the bytes are not readable.
  await mkdir(join(dir, 'a-directory'));
  const dirCheck = await checkFile(join(dir, 'a-directory'), { sha512: 'a'.repeat(128) });
  t.is(dirCheck.failure, 'unreadable');
  t.regex(dirCheck.detail ?? '', /EISDIR/);
  t.is((await checkFile(join(dir, 'a-directory'), {}, { syncReads: true })).failure, 'unreadable', 'read synchronously too');
});

test('synchronous reads (syncReads: read and hash in turn) find the same', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(CHUNK_BYTES * 17 + 5); // past the point where a sync loop yields
  const { path, expected } = await stored(dir, 'big.bin', data);
  const r = await checkFile(path, expected, { syncReads: true });
  t.is(r.outcome, 'pass');
  t.is(r.bytes, data.length);
  await truncate(path, 100);
  t.is((await checkFile(path, expected, { syncReads: true })).failure, 'truncated');
});

// ---------------------------------------------------------------------------------------------
// reading ahead: the next chunk is read while the current one is hashed

// FIPS 180-2 appendix C.1 / B.1: the digests of "abc".
const ABC_SHA512 = 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f';
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

test('golden: "abc" has the FIPS 180-2 digests, read ahead, read in turn and in the pool', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'abc');
  await writeFile(path, 'abc');
  const expected = { sha512: ABC_SHA512, sha256: ABC_SHA256, size: 3 };
  const pool = new FixityPool(1);
  t.teardown(() => pool.close());
  for (const r of [await checkFile(path, expected), await checkFile(path, expected, { syncReads: true }), await pool.check(path, expected)]) {
    t.is(r.outcome, 'pass');
    t.deepEqual(r.actual, { sha512: ABC_SHA512, sha256: ABC_SHA256 });
    t.is(r.bytes, 3);
  }
});

test('every size around the chunk boundaries gives node:crypto\'s digests of the whole file, and says once when its last read started', async (t) => {
  const dir = await tempDir(t);
  for (const n of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES, 4 * CHUNK_BYTES + 3]) {
    const { path, expected } = await stored(dir, `s${n}.bin`, randomBytes(n));
    for (const syncReads of [false, true]) {
      let signalled = 0;
      const r = await checkFile(path, expected, { syncReads, onLastRead: () => signalled++ });
      t.is(r.outcome, 'pass', `${n} bytes, syncReads ${syncReads}`);
      t.is(r.bytes, n);
      t.deepEqual(r.actual, { sha512: expected.sha512, sha256: expected.sha256 });
      t.is(signalled, 1, `${n} bytes: onLastRead once`);
    }
  }
  // A check that cannot even open its file still says so, or a pool thread would wait for it forever.
  let signalled = 0;
  t.is((await checkFile(join(dir, 'absent'), {}, { onLastRead: () => signalled++ })).failure, 'missing');
  t.is(signalled, 1);
});

/**
 * A limiter that runs `act` before the `nth` read is let through: the read-ahead loop asks
 * for read n+1 only after read n has returned, so `act` lands between two reads of the file.
 */
function between(nth: number, act: () => void): RateLimiter {
  let calls = 0;
  return {
    bytesPerSecond: 1e12,
    take: async () => {
      if (++calls === nth) act();
    },
  };
}

test.serial('a file truncated while it is being read is "truncated", never "pass" (read ahead, and in the pool)', async (t) => {
  const dir = await tempDir(t);
  const pool = new FixityPool(1);
  t.teardown(() => pool.close());
  for (const [how, check] of [
    ['checkFile', (path: string, expected: object, limiter: RateLimiter) => checkFile(path, expected, { limiter })],
    ['FixityPool', (path: string, expected: object, limiter: RateLimiter) => pool.check(path, expected, { limiter })],
  ] as const) {
    const { path, expected } = await stored(dir, `${how}.bin`, randomBytes(3 * CHUNK_BYTES + 5));
    const r: FileCheck = await check(path, expected, between(2, () => truncateSync(path, CHUNK_BYTES + 10)));
    t.is(r.outcome, 'fail', how);
    t.is(r.failure, 'truncated', how);
    t.true(r.bytes < expected.size, how);
  }
});

test.serial('a read that fails half-way through a file is "unreadable", never "pass" (read ahead, and in the pool)', async (t) => {
  const dir = await tempDir(t);
  const pool = new FixityPool(1);
  t.teardown(() => pool.close());
  for (const [how, check] of [
    ['checkFile', (path: string, expected: object, limiter: RateLimiter) => checkFile(path, expected, { limiter })],
    ['FixityPool', (path: string, expected: object, limiter: RateLimiter) => pool.check(path, expected, { limiter })],
  ] as const) {
    const { path, expected } = await stored(dir, `${how}.bin`, randomBytes(3 * CHUNK_BYTES + 5));
    await mkdir(join(dir, `${how}-dir`));
    let swapped = false;
    // A real error from the kernel in the middle of a file: after the first chunk, the
    // checker's descriptor is closed and the lowest free number, the same one, opened on a
    // directory, so its next read fails with EISDIR.
    const r: FileCheck = await check(
      path,
      expected,
      between(2, () => {
        const fd = readdirSync('/proc/self/fd')
          .map(Number)
          .find((n) => {
            try {
              return readlinkSync(`/proc/self/fd/${n}`) === path;
            } catch {
              return false;
            }
          });
        if (fd === undefined) return;
        closeSync(fd);
        const again = openSync(join(dir, `${how}-dir`), 'r');
        swapped = again === fd;
        if (!swapped) closeSync(again);
      }),
    );
    t.true(swapped, `${how}: the descriptor could be swapped (else this test proves nothing)`);
    t.is(r.outcome, 'fail', how);
    t.is(r.failure, 'unreadable', how);
    t.is(r.bytes, CHUNK_BYTES, `${how}: the first chunk was read, the error came on the second`);
    t.regex(r.detail ?? '', /EISDIR/);
    t.deepEqual(r.actual, {}, `${how}: no digest of a file that could not be read to its end`);
  }
});

test('an aborted check throws instead of reporting a failure', async (t) => {
  const dir = await tempDir(t);
  const { path, expected } = await stored(dir, 'a', randomBytes(1000));
  const controller = new AbortController();
  controller.abort(new Error('stop now'));
  await t.throwsAsync(checkFile(path, expected, { signal: controller.signal }), { message: 'stop now' });
});

// ---------------------------------------------------------------------------------------------
// read budget

test('the rate limiter holds a check to its budget', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(3_000_000);
  const { path, expected } = await stored(dir, 'big.tif', data);
  const mbPerSecond = 10;
  const burst = 64 * 1024;
  const limiter = rateLimiter(mbPerSecond, { burstBytes: burst });
  const started = performance.now();
  const r = await checkFile(path, expected, { limiter });
  const elapsed = performance.now() - started;
  t.is(r.outcome, 'pass');
  // At most burst + rate × t bytes by time t, so reading 3 MB at 10 MB/s takes ≥ 0.29 s.
  const floorMs = ((data.length - burst) / (mbPerSecond * 1e6)) * 1000;
  t.true(elapsed >= floorMs - 5, `read ${data.length} bytes in ${elapsed.toFixed(0)} ms; the budget allows no less than ${floorMs.toFixed(0)} ms`);
});

test('0 MB/s means unlimited; a negative rate is refused', (t) => {
  t.is(rateLimiter(0).bytesPerSecond, 0);
  t.throws(() => rateLimiter(-1), { instanceOf: RangeError });
});

test('one limiter is one budget for concurrent takers, and an aborted wait gives its bytes back', async (t) => {
  const limiter = rateLimiter(1, { burstBytes: 100_000 });
  const started = performance.now();
  // 300 kB at 1 MB/s with 100 kB burst: the last of three takers is granted after ≥ 200 ms.
  await Promise.all([limiter.take(100_000), limiter.take(100_000), limiter.take(100_000)]);
  const elapsed = performance.now() - started;
  t.true(elapsed >= 195, `three takers shared the budget in ${elapsed.toFixed(0)} ms`);

  const controller = new AbortController();
  const waiting = limiter.take(1_000_000, controller.signal);
  controller.abort(new Error('cancelled'));
  await t.throwsAsync(waiting, { message: 'cancelled' });
});

// ---------------------------------------------------------------------------------------------
// the pool

test('the pool hashes many files on several threads and agrees with node:crypto', async (t) => {
  const dir = await tempDir(t);
  const sizes = [0, 1, 4095, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 7];
  for (let i = 0; sizes.length < 24; i++) sizes.push(10_000 + i * 77_777);
  const files = await Promise.all(sizes.map((n, i) => stored(dir, `f${i}.bin`, randomBytes(n))));
  const pool = new FixityPool(4);
  t.teardown(() => pool.close());
  const results = await Promise.all(files.map((f) => pool.check(f.path, f.expected)));
  t.is(pool.threads, 4, 'all four threads were used');
  for (const [i, r] of results.entries()) {
    const f = files[i]!;
    t.is(r.outcome, 'pass', f.path);
    t.is(r.bytes, f.expected.size);
    t.deepEqual(r.actual, { sha512: f.expected.sha512, sha256: f.expected.sha256 });
  }
  t.is(pool.pending(), 0);

  // Failures found in a thread come back as failures, not errors.
  const missing = await pool.check(join(dir, 'gone.bin'), { sha512: files[3]!.expected.sha512 });
  t.is(missing.failure, 'missing');
  t.is((await pool.check(dir, {})).failure, 'unreadable');
  const data = randomBytes(1000);
  const { path, expected } = await stored(dir, 'flip.bin', data);
  data[10] = data[10]! ^ 0xff;
  await writeFile(path, data);
  const changed = await pool.check(path, expected);
  t.is(changed.failure, 'changed');
  t.is(changed.actual.sha512, hex('sha512', data));
});

test('the pool keeps one read budget across its threads', async (t) => {
  const dir = await tempDir(t);
  const files = await Promise.all([0, 1, 2, 3].map((i) => stored(dir, `b${i}.bin`, randomBytes(1_500_000))));
  const pool = new FixityPool(4);
  t.teardown(() => pool.close());
  const mbPerSecond = 20;
  const burst = 64 * 1024;
  const limiter = rateLimiter(mbPerSecond, { burstBytes: burst });
  const started = performance.now();
  const results = await Promise.all(files.map((f) => pool.check(f.path, f.expected, { limiter })));
  const elapsed = performance.now() - started;
  t.true(results.every((r) => r.outcome === 'pass'));
  const total = files.length * 1_500_000;
  const floorMs = ((total - burst) / (mbPerSecond * 1e6)) * 1000;
  t.true(elapsed >= floorMs - 5, `four threads read ${total} bytes in ${elapsed.toFixed(0)} ms; one budget of ${mbPerSecond} MB/s allows no less than ${floorMs.toFixed(0)} ms`);
});

test('a thread gets its next check only once the current one is at its last read: small files never wait behind a stalled big one', async (t) => {
  const dir = await tempDir(t);
  const big = await stored(dir, 'big.bin', randomBytes(3 * CHUNK_BYTES));
  const small = await Promise.all([0, 1, 2, 3].map((i) => stored(dir, `small${i}.bin`, randomBytes(1000 + i))));
  const pool = new FixityPool(2);
  t.teardown(() => pool.close());
  // The big file's first read waits until we let it: its thread is busy, far from its last read.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const stalled = pool.check(big.path, big.expected, { limiter: { bytesPerSecond: 1, take: () => held } });
  const quick = Promise.all(small.map((f) => pool.check(f.path, f.expected)));
  const results = await quick; // would never settle if one of them were queued behind the stalled check
  t.true(results.every((r) => r.outcome === 'pass'));
  release();
  t.is((await stalled).outcome, 'pass');
});

test('a check waiting in the pool can be aborted; a closed pool refuses work', async (t) => {
  const dir = await tempDir(t);
  const { path, expected } = await stored(dir, 'x.bin', randomBytes(2_000_000));
  const pool = new FixityPool(1);
  // A slow budget keeps the first check busy, so the second waits in the queue.
  const limiter = rateLimiter(1, { burstBytes: 64 * 1024 });
  const first = new AbortController();
  const second = new AbortController();
  const running = pool.check(path, expected, { limiter, signal: first.signal });
  const queued = pool.check(path, expected, { limiter, signal: second.signal });
  second.abort(new Error('not needed'));
  await t.throwsAsync(queued, { message: 'not needed' });
  first.abort(new Error('stop'));
  await t.throwsAsync(running, { message: 'stop' });
  // The thread is free again after an abort.
  const r = await pool.check(path, expected);
  t.is(r.outcome, 'pass');
  await pool.close();
  await t.throwsAsync(pool.check(path, expected), { message: /closed/ });
});

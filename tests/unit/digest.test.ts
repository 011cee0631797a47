import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import test from 'ava';
import {
  checkDigests,
  DigestHeaderError,
  digestFile,
  parseDigestHeader,
  StagingError,
  stageStream,
} from '../../src/storage/digest.ts';

async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-digest-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const hex = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest('hex');

/** Yields `data` in chunks of varying sizes (1 byte to 300 KiB). */
async function* chunked(data: Buffer, seed = 7): AsyncGenerator<Uint8Array> {
  let i = 0;
  let s = seed;
  while (i < data.length) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % (300 * 1024));
    yield data.subarray(i, i + n);
    i += n;
  }
}

// ---------------------------------------------------------------------------------------------
// stageStream

test('stageStream: digests and bytes equal node:crypto on known data (async iterable, odd chunk sizes)', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(5 * 1024 * 1024 + 333);
  const staged = await stageStream(chunked(data), dir, { md5: true });
  t.is(staged.size, data.length);
  t.deepEqual(staged.digests, { sha512: hex('sha512', data), sha256: hex('sha256', data), md5: hex('md5', data) });
  t.regex(staged.path, /\/\.staging-[0-9a-f-]{36}$/);
  t.true(staged.path.startsWith(dir));
  t.true((await readFile(staged.path)).equals(data));
});

test('stageStream: a Node readable stream, without md5 unless asked', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(2 * 1024 * 1024 + 1);
  const staged = await stageStream(Readable.from(chunked(data, 99)), dir);
  t.is(staged.digests.sha512, hex('sha512', data));
  t.is(staged.digests.sha256, hex('sha256', data));
  t.false('md5' in staged.digests);
  t.true((await readFile(staged.path)).equals(data));
});

test('stageStream: the empty input gives the well-known empty digests', async (t) => {
  const dir = await tempDir(t);
  const staged = await stageStream((async function* () {})(), dir, { md5: true });
  t.is(staged.size, 0);
  t.true(staged.digests.sha512.startsWith('cf83e1357eefb8bdf1542850d66d8007d620e405'));
  t.true(staged.digests.sha256.startsWith('e3b0c44298fc1c149afbf4c8996fb92427ae41e4'));
  t.is(staged.digests.md5, 'd41d8cd98f00b204e9800998ecf8427e');
  t.is((await readFile(staged.path)).length, 0);
});

test('stageStream: a producer that reuses its buffer still gets exactly its bytes stored', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(6 * 1024 * 1024);
  async function* reusing() {
    const buf = new Uint8Array(64 * 1024);
    for (let i = 0; i < data.length; i += buf.length) {
      buf.set(data.subarray(i, i + buf.length));
      yield buf;
    }
  }
  const staged = await stageStream(reusing(), dir);
  t.is(staged.digests.sha512, hex('sha512', data));
  t.true((await readFile(staged.path)).equals(data));
});

test('stageStream: a source that fails half-way leaves no temp file', async (t) => {
  const dir = await tempDir(t);
  async function* broken() {
    yield randomBytes(3 * 1024 * 1024);
    yield randomBytes(1024);
    throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
  }
  const err = await t.throwsAsync(stageStream(broken(), dir));
  t.is((err as { code?: string }).code, 'ECONNRESET');
  t.deepEqual(await readdir(dir), []);
});

test('stageStream: a stream destroyed by a client disconnect leaves no temp file', async (t) => {
  const dir = await tempDir(t);
  const source = new PassThrough();
  const staging = stageStream(source, dir);
  source.write(randomBytes(2 * 1024 * 1024));
  setTimeout(() => source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 20);
  await t.throwsAsync(staging, { message: 'aborted' });
  t.deepEqual(await readdir(dir), []);
  // A disconnect while the temp file is still being created is caught too (no uncaught 'error').
  const early = new PassThrough();
  const staging2 = stageStream(early, dir);
  early.destroy(Object.assign(new Error('aborted early'), { code: 'ECONNRESET' }));
  await t.throwsAsync(staging2, { message: 'aborted early' });
  t.deepEqual(await readdir(dir), []);
});

test('stageStream: empty chunks in the middle are fine', async (t) => {
  const dir = await tempDir(t);
  async function* gaps() {
    yield new Uint8Array(0);
    yield Buffer.from('Nam ');
    yield new Uint8Array(0);
    yield Buffer.from('quốc sơn hà');
    yield new Uint8Array(0);
  }
  const staged = await stageStream(gaps(), dir);
  t.is(await readFile(staged.path, 'utf8'), 'Nam quốc sơn hà');
  t.is(staged.digests.sha256, hex('sha256', Buffer.from('Nam quốc sơn hà')));
});

test('stageStream: an AbortSignal stops a source that hangs, and nothing is kept', async (t) => {
  const dir = await tempDir(t);
  const controller = new AbortController();
  async function* hangs() {
    yield randomBytes(1024 * 1024);
    await new Promise(() => {}); // never produces again
  }
  setTimeout(() => controller.abort(new Error('client went away')), 30);
  await t.throwsAsync(stageStream(hangs(), dir, { signal: controller.signal }), { message: 'client went away' });
  t.deepEqual(await readdir(dir), []);
  // Already aborted: nothing is even created.
  await t.throwsAsync(stageStream(chunked(randomBytes(10)), dir, { signal: controller.signal }));
  t.deepEqual(await readdir(dir), []);
});

test('stageStream: more than maxBytes is refused with too-large, no temp file, stream not destroyed', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(3 * 1024 * 1024);
  const err = await t.throwsAsync(stageStream(chunked(data), dir, { maxBytes: 3 * 1024 * 1024 - 1 }), { instanceOf: StagingError });
  t.is(err?.code, 'too-large');
  t.deepEqual(await readdir(dir), []);

  const source = new PassThrough();
  source.write(data);
  source.write(data); // more is coming: the request is still open
  await t.throwsAsync(stageStream(source, dir, { maxBytes: 1000 }), { instanceOf: StagingError });
  t.false(source.destroyed, 'the caller still owns the request and may answer it');
  t.deepEqual(await readdir(dir), []);

  const exact = await stageStream(chunked(data), dir, { maxBytes: data.length });
  t.is(exact.size, data.length);
});

test('stageStream: strings are refused (a stream with an encoding set)', async (t) => {
  const dir = await tempDir(t);
  const source = Readable.from(['văn bản']);
  const err = await t.throwsAsync(stageStream(source, dir), { instanceOf: StagingError });
  t.is(err?.code, 'bad-chunk');
  t.deepEqual(await readdir(dir), []);
});

test('stageStream: a staging directory that does not exist is an error, not a crash', async (t) => {
  const dir = await tempDir(t);
  const err = await t.throwsAsync(stageStream(chunked(randomBytes(10)), join(dir, 'missing')));
  t.is((err as { code?: string }).code, 'ENOENT');
});

// ---------------------------------------------------------------------------------------------
// digestFile

test('digestFile: one pass gives the same digests as node:crypto', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(9 * 1024 * 1024 + 17); // more than two read buffers
  const path = join(dir, 'tệp.bin');
  await writeFile(path, data);
  const result = await digestFile(path, { md5: true });
  t.is(result.size, data.length);
  t.deepEqual(result.digests, { sha512: hex('sha512', data), sha256: hex('sha256', data), md5: hex('md5', data) });
  await writeFile(join(dir, 'empty'), '');
  t.is((await digestFile(join(dir, 'empty'))).digests.sha256, hex('sha256', Buffer.alloc(0)));
});

// ---------------------------------------------------------------------------------------------
// HTTP digest fields

// RFC 9530 examples: the content {"hello": "world"}.
const HELLO = Buffer.from('{"hello": "world"}');
const HELLO_SHA256_B64 = 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=';
const HELLO_SHA512_B64 = 'WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==';

test('parseDigestHeader: RFC 9530 Content-Digest and Repr-Digest examples', (t) => {
  t.is(Buffer.from(HELLO_SHA256_B64, 'base64').toString('hex'), hex('sha256', HELLO));
  t.deepEqual(parseDigestHeader({ 'content-digest': `sha-256=:${HELLO_SHA256_B64}:` }), [{ algorithm: 'sha-256', hex: hex('sha256', HELLO) }]);
  t.deepEqual(parseDigestHeader({ 'repr-digest': `sha-512=:${HELLO_SHA512_B64}:` }), [{ algorithm: 'sha-512', hex: hex('sha512', HELLO) }]);
  t.deepEqual(parseDigestHeader({ 'repr-digest': `sha-256=:${HELLO_SHA256_B64}:,\tsha-512=:${HELLO_SHA512_B64}:` }), [
    { algorithm: 'sha-256', hex: hex('sha256', HELLO) },
    { algorithm: 'sha-512', hex: hex('sha512', HELLO) },
  ]);
});

test('parseDigestHeader: unknown algorithms, parameters and other value types are ignored', (t) => {
  const parsed = parseDigestHeader({
    'content-digest': `unixsum=30637, id-sha-256=:${HELLO_SHA256_B64}:, foo="bar", x=(1 2);y, sha-256=:${HELLO_SHA256_B64}:;note=?1, flag`,
  });
  t.deepEqual(parsed, [{ algorithm: 'sha-256', hex: hex('sha256', HELLO) }]);
  t.deepEqual(parseDigestHeader({}), []);
  t.deepEqual(parseDigestHeader({ 'content-digest': '  ', digest: '' }), []);
});

test('parseDigestHeader: legacy RFC 3230 Digest with SHA-256, SHA-512 and MD5', (t) => {
  const md5 = createHash('md5').update(HELLO).digest();
  t.deepEqual(parseDigestHeader({ digest: `SHA-256=${HELLO_SHA256_B64}, MD5=${md5.toString('base64')}, UNIXsum=30637` }), [
    { algorithm: 'sha-256', hex: hex('sha256', HELLO) },
    { algorithm: 'md5', hex: md5.toString('hex') },
  ]);
  t.deepEqual(parseDigestHeader({ digest: `sha-512=${HELLO_SHA512_B64}` }), [{ algorithm: 'sha-512', hex: hex('sha512', HELLO) }]);
  // A hex value of exactly the digest's length is taken too (some scripts send that).
  t.deepEqual(parseDigestHeader({ digest: `SHA-256=${hex('sha256', HELLO).toUpperCase()}` }), [{ algorithm: 'sha-256', hex: hex('sha256', HELLO) }]);
});

test('parseDigestHeader: malformed fields throw DigestHeaderError', (t) => {
  const bad: Array<Record<string, string>> = [
    { 'content-digest': `sha-256=${HELLO_SHA256_B64}` }, // not a byte sequence
    { 'content-digest': 'sha-256=:not*base64:' },
    { 'content-digest': 'sha-256=:AAAA:' }, // 3 bytes, not 32
    { 'content-digest': `SHA-256=:${HELLO_SHA256_B64}:` }, // keys are lowercase
    { 'content-digest': `sha-256=:${HELLO_SHA256_B64}:,` }, // trailing comma
    { 'content-digest': `sha-256=:${HELLO_SHA256_B64}` }, // unterminated
    { 'repr-digest': `sha-512=:${HELLO_SHA256_B64}:` }, // sha-256 length under sha-512
    { 'content-digest': 'sha-256=:abc:; ' },
    { digest: 'SHA-256' },
    { digest: `SHA-256=${HELLO_SHA256_B64},` },
    { digest: 'SHA-256=!!!' },
    { digest: 'MD5=AAAA' },
  ];
  for (const headers of bad) t.throws(() => parseDigestHeader(headers), { instanceOf: DigestHeaderError }, JSON.stringify(headers));
});

test('checkDigests: agreement, mismatch detection, and md5 skipped when not computed', (t) => {
  const actual = { sha512: hex('sha512', HELLO), sha256: hex('sha256', HELLO) };
  t.deepEqual(checkDigests(parseDigestHeader({ 'content-digest': `sha-256=:${HELLO_SHA256_B64}:, sha-512=:${HELLO_SHA512_B64}:` }), actual), { ok: true });
  const other = createHash('sha256').update('khác').digest();
  const result = checkDigests(parseDigestHeader({ 'content-digest': `sha-512=:${HELLO_SHA512_B64}:, sha-256=:${other.toString('base64')}:` }), actual);
  t.deepEqual(result, { ok: false, algorithm: 'sha-256', expected: other.toString('hex'), actual: actual.sha256 });
  const md5Only = parseDigestHeader({ digest: `MD5=${createHash('md5').update('x').digest('base64')}` });
  t.deepEqual(checkDigests(md5Only, actual), { ok: true });
  t.false(checkDigests(md5Only, { ...actual, md5: hex('md5', HELLO) }).ok);
  t.deepEqual(checkDigests([], actual), { ok: true });
});

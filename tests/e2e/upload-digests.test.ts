import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stageStream } from '../../src/storage/digest.ts';
import sharp from 'sharp';
import { testWithServer } from '../helpers/server.ts';

/**
 * The server digests HTTP uploads in a pool thread (issue 20: not on the thread that answers
 * readers), reading the staged file back after its fsync. The digests it records must be the
 * ones the inline path computes, a wrong Content-Digest must still refuse the file, and only
 * the hashing thread runs at the workers' niceness.
 */
const NICE = 11;
const test = testWithServer({ THUKHO_WORKER_NICE: String(NICE) });

type Json = Record<string, unknown>;

const threadsAt = (nice: number) =>
  readdirSync('/proc/self/task').filter((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) === nice;
    } catch {
      return false;
    }
  }).length;

test.serial('an upload digested in the pool records the digests of the bytes sent, the same as the inline path; a wrong digest is refused', async (t) => {
  const s = t.context.server;
  const niceBefore = existsSync('/proc/self/task') ? threadsAt(NICE) : 0;
  const created = await fetch(`${s.url}/api/objects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Địa bạ (băm trong luồng riêng / digested in a pool thread)' }),
  });
  const id = ((await created.json()) as Json).id as string;
  // Several MB: many 64 KB chunks, several write batches and a write-back before the read-back.
  const tiff = await sharp({ create: { width: 1500, height: 1200, channels: 3, background: '#ece4d2', noise: { type: 'gaussian', mean: 220, sigma: 18 } } })
    .tiff({ compression: 'none' })
    .toBuffer();
  t.true(tiff.length > 5_000_000);
  const sha = (alg: string) => createHash(alg).update(tiff).digest();
  const upload = (digest: Buffer) =>
    fetch(`${s.url}/api/objects/${id}/files?name=dia-ba.tif`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream', 'content-digest': `sha-512=:${digest.toString('base64')}:` },
      body: new Uint8Array(tiff),
    });

  const wrong = await upload(createHash('sha512').update('khác').digest());
  t.is(wrong.status, 400);
  t.is(((await wrong.json()) as Json).type, '/problems/digest-mismatch');

  const r = await upload(sha('sha512'));
  const json = (await r.json()) as Json;
  t.is(r.status, 201, JSON.stringify(json));
  const digests = json.digests as { sha512: string; sha256: string };
  t.is(digests.sha512, sha('sha512').toString('hex'));
  t.is(digests.sha256, sha('sha256').toString('hex'));
  // The inline path (no pool) over the same bytes: the same digests.
  const dir = mkdtempSync(join(tmpdir(), 'thukho-upload-digests-'));
  try {
    t.deepEqual((await stageStream((async function* () { yield tiff; })(), dir)).digests, digests);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // And the bytes kept are the bytes sent.
  const content = await fetch(`${s.url}/api/objects/${id}/files/${json.fileId as string}/content`, { headers: { authorization: `Bearer ${s.staffToken}` } });
  t.deepEqual(Buffer.from(await content.arrayBuffer()), tiff);

  if (!existsSync('/proc/self/task')) {
    t.log('no /proc/self/task (not Linux): per-thread niceness not checked');
    return;
  }
  // The pool's thread yields to readers; the thread answering them does not.
  t.is(threadsAt(NICE), niceBefore + 1);
  t.is(getPriority(0), 0);
});

import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { outboxCounts } from '../../src/projections/dispatcher.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, derivativeOf, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { collect } from '../helpers/events.ts';
import { page } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A full disk under everything the server writes (the log, the read model, the masters, the
 * derivatives): every write answers 507 with the reason and stores nothing, /health is
 * degraded and names the disk, a derivative that meets the full disk is retried (not recorded
 * as an undecodable master), and once space is freed every job completes with its outcome
 * in the log. The disk is a small tmpfs, filled for real; mounting it needs root, elsewhere
 * that test says so and does not run. Reasons recorded by workers carry no filesystem path.
 */
const test = anyTest as TestFn;
const quiet = pino({ level: 'silent' });

interface Answer {
  status: number;
  json: Json & { type?: string; title?: string; messages?: { vi?: string; en?: string } };
  etag: string | null;
}

async function call(s: TestServer, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Answer['json'], etag: res.headers.get('etag') };
}

async function upload(s: TestServer, objectId: string, bytes: Buffer, name: string): Promise<Answer> {
  const res = await fetch(`${s.url}/api/objects/${objectId}/files?name=${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'image/tiff' },
    body: new Uint8Array(bytes),
  });
  return { status: res.status, json: (await res.json()) as Answer['json'], etag: res.headers.get('etag') };
}

/** Writes until the filesystem refuses: the disk is then full for everyone, as in production. */
function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

async function eventsOfType(s: TestServer, type: string) {
  return collect(s.store.readAll({ filter: { eventTypes: [type] } }));
}

function canMountTmpfs(): string | null {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

const mount = canMountTmpfs();
if (!mount) console.log('disk-full-writes test: the full-disk case is SKIPPED — cannot mount a tmpfs here (needs root)');

if (mount) {
  test.serial('on a full disk every write is a 507, /health names the disk, derivatives wait, and everything completes once space returns', async (t) => {
    const s = await startTestServer({ THUKHO_DATA_DIR: mount, THUKHO_MIN_FREE_MB: '1' });
    const queueRedis = new Redis(s.config.redisUrl!, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUES.derivatives, { connection: queueRedis, prefix: s.config.queuePrefix });
    let worker: Awaited<ReturnType<typeof startDerivativesWorker>> | undefined;
    const filler = join(mount, 'filler');
    try {
      // Before the disk fills: a collection, a work and two pages whose derivatives are not made yet.
      t.is((await call(s, 'POST', '/api/collections', { id: 'han-nom', title: 'Hán Nôm' })).status, 201);
      const created = await call(s, 'POST', '/api/objects', { title: 'Truyện Kiều', collectionId: 'han-nom' });
      t.is(created.status, 201);
      const id = created.json.id as string;
      const files: string[] = [];
      for (const text of ['Trăm năm trong cõi người ta', 'Chữ tài chữ mệnh khéo là ghét nhau']) {
        files.push((await uploadFile(s, id, await page(text), `${files.length + 1}.tif`)).fileId as string);
      }
      const object = await call(s, 'PATCH', `/api/objects/${id}`, { alternativeTitle: ['Đoạn trường tân thanh'] }, { 'if-match': (await fetch(`${s.url}/api/objects/${id}`)).headers.get('etag') ?? '' });
      t.is(object.status, 200, JSON.stringify(object.json));
      const collection = await fetch(`${s.url}/api/collections/han-nom`);
      const health = async () => (await (await fetch(`${s.url}/health`)).json()) as Json & { disk: { status: string; volumes: Array<{ holds: string[] }> }; jobs: Json };
      t.is((await health()).disk.status, 'ok');
      await poll('the two derivative jobs handed to BullMQ', 30_000, async () => ((await health()).jobs.enqueued === 2 ? true : undefined));

      fillDisk(filler);

      const writes: Array<[string, () => Promise<Answer>]> = [
        ['POST /api/objects', () => call(s, 'POST', '/api/objects', { title: 'Lục Vân Tiên' })],
        ['PATCH /api/objects/:id', () => call(s, 'PATCH', `/api/objects/${id}`, { title: 'Kim Vân Kiều' }, { 'if-match': object.etag ?? '' })],
        ['PUT /api/objects/:id/files/order', () => call(s, 'PUT', `/api/objects/${id}/files/order`, { order: [...files].reverse() })],
        ['POST /api/objects/:id/withdraw', () => call(s, 'POST', `/api/objects/${id}/withdraw`, { reason: 'Thử đĩa đầy' })],
        ['POST /api/collections', () => call(s, 'POST', '/api/collections', { id: 'bao-chi', title: 'Báo chí' })],
        ['PATCH /api/collections/:id', () => call(s, 'PATCH', '/api/collections/han-nom', { title: 'Hán – Nôm' }, { 'if-match': collection.headers.get('etag') ?? '' })],
        ['POST /api/objects/:id/files', async () => upload(s, id, await page('Trang không vừa'), '3.tif')],
      ];
      for (const [what, write] of writes) {
        const answer = await write();
        t.is(answer.status, 507, `${what}: ${JSON.stringify(answer.json)}`);
        t.is(answer.json.type, '/problems/insufficient-storage', what);
        t.is(answer.json.title, 'Insufficient Storage', what);
        t.regex(answer.json.messages?.vi ?? '', /đầy/, what);
        t.regex(answer.json.messages?.en ?? '', /full/, what);
      }
      // Nothing of them was stored.
      const head = await collect(s.store.readStream(`object-${id}`));
      t.deepEqual(head.map((e) => e.type), ['ObjectRegistered', 'FileIngested', 'FileIngested', 'MetadataEdited']);

      const degraded = await health();
      t.is(degraded.status, 'degraded');
      t.is(degraded.disk.status, 'low');
      t.true(degraded.disk.volumes.some((v) => v.holds.includes('event-log') && v.holds.includes('derivatives')), JSON.stringify(degraded.disk));
      t.false(JSON.stringify(degraded).includes(mount), 'no filesystem path in /health');

      // The worker meets the full disk: its job waits for a retry, and nothing says the master is bad.
      worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: quiet, config: s.config });
      const retried = await poll('a derivative attempt on the full disk', 60_000, async () => {
        const jobs = await queue.getJobs(['delayed', 'failed']);
        return jobs.find((j) => j.attemptsMade >= 1);
      });
      t.is(await retried.getState(), 'delayed', `${retried.failedReason}`);
      t.regex(retried.failedReason ?? '', /no space left on device/i, retried.failedReason);
      t.notRegex(retried.failedReason ?? '', /cannot decode/);
      t.deepEqual(await eventsOfType(s, 'DerivativeFailed'), []);

      unlinkSync(filler);

      for (const fileId of files) t.truthy((await derivativeOf(s, id, fileId, 180_000)).pyramid, fileId);
      // (The new pages' OCR jobs stay open: no OCR worker runs here.)
      const ready = await poll('a healthy server with no open derivative jobs', 60_000, async () => {
        const h = await health();
        const open = outboxCounts(s.readDb, QUEUES.derivatives);
        return h.status === 'ok' && open.enqueued === 0 && open.pending === 0 ? h : undefined;
      });
      t.is(ready.disk.status, 'ok');
      const outcomes = await eventsOfType(s, 'DerivativeCreated');
      t.deepEqual(outcomes.map((e) => (e.data as { fileId: string }).fileId).sort(), [...files].sort());
      t.deepEqual(await eventsOfType(s, 'DerivativeFailed'), []);
      // And writes work again.
      t.is((await call(s, 'POST', '/api/objects', { title: 'Lục Vân Tiên' })).status, 201);
      t.is((await upload(s, id, await page('Trang vừa đủ chỗ'), '3.tif')).status, 201);
    } finally {
      rmSync(filler, { force: true });
      await worker?.close();
      await queue.close();
      queueRedis.disconnect();
      await s.close();
      // Lazily: files the image server still holds open must not hide the test's own outcome.
      execFileSync('umount', ['-l', mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });
}

test.serial('a derivative that fails records a reason with no filesystem path in the log', async (t) => {
  const s = await startTestServer();
  let worker: Awaited<ReturnType<typeof startDerivativesWorker>> | undefined;
  try {
    const id = (await staffCall(s, 'POST', '/api/objects', { title: 'Trang mất' })).id as string;
    const fileId = (await uploadFile(s, id, await page('Trang bị mất khỏi kho'), 'mat.tif')).fileId as string;
    // The master vanishes from storage before its derivative is made (a damaged disk, a careless hand).
    const content = readdirSync(s.config.ocflRoot, { recursive: true, encoding: 'utf8' }).find((p) => p.endsWith('mat.tif'));
    t.truthy(content);
    unlinkSync(join(s.config.ocflRoot, content!));
    worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: quiet, config: s.config });
    const outcome = await derivativeOf(s, id, fileId);
    const failed = await eventsOfType(s, 'DerivativeFailed');
    t.is(failed.length, 1, JSON.stringify(outcome));
    const reason = (failed[0]!.data as { reason: string }).reason;
    t.regex(reason, /sharp cannot read the master: .*mat\.tif/);
    t.false(reason.includes(s.dataDir), reason);
    t.notRegex(reason, /\/[^\s/]+\/[^\s/]+/, reason);
  } finally {
    await worker?.close();
    await s.close();
  }
});

import { rm } from 'node:fs/promises';
import type { ExecutionContext } from 'ava';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';
import { DerivativeJob, QUEUES, queueConnection } from '../../src/queue/queues.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { derivativeOf, type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * Giant images (issue 12, item 6), over a real socket with the real derivatives worker:
 * a master above sharp's default pixel limit (268 megapixels) but within the repository's
 * (THUKHO_MAX_PIXELS) must get a working derivative; until it has one (or after it is lost)
 * a request is answered 503 with Retry-After and the derivative requested, never rendered
 * from the master; and one client's pile of expensive renders is refused beyond its share
 * while tiles and other clients are still served.
 */
const PER_CLIENT = 2;
const test = testWithServer({ THUKHO_IIIF_RENDERS: '2', THUKHO_IIIF_RENDERS_PER_CLIENT: String(PER_CLIENT) });
type Ctx = { context: { server: TestServer } };

// 17,000 × 17,000 = 289 megapixels: over sharp's 268,402,689 default, under 1e9. Grey and
// deflated, the file is under a megabyte.
const SIDE = 17_000;
const GREY = 200;
const BUILD_MS = 5 * 60_000;

let worker: DerivativesWorker | undefined;
let queue: Queue | undefined;
let queueRedis: ReturnType<typeof queueConnection> | undefined;
let objectId = '';
let fileId = '';
let sha512 = '';

test.serial.before(async (t) => {
  const s = t.context.server;
  queueRedis = queueConnection(s.config.redisUrl!);
  queue = new Queue(QUEUES.derivatives, { connection: queueRedis, prefix: s.config.queuePrefix });
});
test.after.always(async () => {
  await worker?.close();
  await queue?.close();
  queueRedis?.disconnect();
});

const get = (t: Ctx, path: string, headers: Record<string, string> = {}) => fetch(`${t.context.server.url}/iiif/3/${fileId}/${path}`, { headers });

/** Jobs asking for this file's derivative because a request found it missing. */
async function missingJobs(): Promise<DerivativeJob[]> {
  const jobs = await queue!.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
  return jobs.map((j) => DerivativeJob.parse(j.data)).filter((d) => d.fileId === fileId && d.cause === 'missing');
}

async function expectNotReady(t: ExecutionContext<{ server: TestServer }>, res: Response): Promise<void> {
  t.is(res.status, 503);
  t.regex(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  t.is(res.headers.get('cache-control'), 'no-store');
  t.regex(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await res.json()) as Json;
  t.is(body.type, '/problems/image-not-ready');
  const messages = body.messages as { vi: string; en: string };
  t.regex(messages.vi, /đang được chuẩn bị/);
  t.regex(messages.en, /being prepared/);
}

test.serial('a master over 268 megapixels is ingested; before its derivative exists a request gets 503 + Retry-After and the derivative is requested', async (t) => {
  const s = t.context.server;
  const master = await sharp({ create: { width: SIDE, height: SIDE, channels: 3, background: { r: GREY, g: GREY, b: GREY } }, limitInputPixels: false })
    .greyscale()
    .tiff({ compression: 'deflate' })
    .toBuffer();
  objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Bản đồ địa chính khổ lớn', accessLevel: 'open' })).id as string;
  const f = await uploadFile(s, objectId, master, 'ban_do_17000.tif');
  fileId = f.fileId as string;
  sha512 = (f.digests as { sha512: string }).sha512;
  t.like(f.image, { width: SIDE, height: SIDE });

  // No worker runs yet: there is no derivative. A pre-cut tile and an odd size both need the master.
  await expectNotReady(t, await get(t, '0,0,256,256/256,/0/default.jpg'));
  await expectNotReady(t, await get(t, 'full/500,/0/default.jpg'));
  // Two requests, one job: the requests do not pile up work. The 503 does not wait for the
  // queue (Redis may be slow), so the job arrives a moment after it.
  const queued = await poll('the derivative job', 20_000, async () => {
    const jobs = await missingJobs();
    return jobs.length > 0 ? jobs : undefined;
  });
  t.is(queued.length, 1, 'one derivative job is queued for the file');
});

test.serial('the derivative is made, and info.json, a tile and an odd size answer from it', async (t) => {
  const s = t.context.server;
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const d = await derivativeOf(s, objectId, fileId, BUILD_MS);
  t.falsy(d.failed, JSON.stringify(d));
  t.like(d, { width: SIDE, height: SIDE });

  const info = await get(t, 'info.json');
  t.is(info.status, 200);
  t.like((await info.json()) as Json, { width: SIDE, height: SIDE });

  // Requests made while there was no derivative (the memory cache must not hide a fresh answer).
  const tile = await poll('a tile from the derivative', BUILD_MS, async () => {
    const res = await get(t, '256,256,256,256/256,/0/default.jpg');
    return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
  });
  const tileMeta = await sharp(tile).metadata();
  t.deepEqual([tileMeta.width, tileMeta.height, tileMeta.format], [256, 256, 'jpeg']);
  const { channels } = await sharp(tile).stats();
  t.true(Math.abs((channels[0]?.mean ?? 0) - GREY) < 4);

  // Not a size cut in advance: rendered from a pyramid level, which must open despite its size.
  const odd = await get(t, 'full/500,/0/default.png');
  t.is(odd.status, 200);
  const oddMeta = await sharp(Buffer.from(await odd.arrayBuffer())).metadata();
  t.deepEqual([oddMeta.width, oddMeta.height], [500, 500]);
});

test.serial('one client with too many expensive renders in flight gets 429 for the excess; tiles and another client are still served', async (t) => {
  const s = t.context.server;
  // Large regions at full resolution, each a different request (nothing cached), PNG: each
  // render decodes and encodes about 48 million pixels, while all of them are sent at once.
  const expensive = Array.from({ length: 4 * PER_CLIENT }, (_, i) => get(t, `${i * 10},0,7000,7000/${6900 + i},/0/gray.png`));
  const reader = { authorization: `Bearer ${s.readerToken}` };
  const [tile, readerRender, ...anonymous] = await Promise.all([get(t, '512,0,256,256/256,/0/default.jpg', reader), get(t, '0,0,2000,2000/1001,/0/default.jpg', reader), ...expensive]);
  t.is(tile.status, 200);
  t.is(readerRender.status, 200);
  const statuses = anonymous.map((r) => r.status);
  t.true(statuses.every((code) => code === 200 || code === 429), statuses.join(' '));
  t.true(statuses.includes(200), statuses.join(' '));
  const refused = anonymous.filter((r) => r.status === 429);
  t.true(refused.length >= 1, statuses.join(' '));
  for (const r of refused) {
    t.regex(r.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    const body = (await r.json()) as Json;
    t.like(body, { type: '/problems/too-many-renders', status: 429, title: 'Too Many Requests' });
    t.regex((body.messages as { vi: string }).vi, /quá nhiều/);
  }
  for (const r of [tile, readerRender, ...anonymous]) if (!r.bodyUsed) await r.arrayBuffer();
});

test.serial('with the derivative lost, a request gets 503 + Retry-After, the derivative is made again, and the same request then answers 200', async (t) => {
  const before = (await missingJobs()).length;
  await rm(new DerivativeStore(t.context.server.config.derivativesDir).dir(sha512), { recursive: true, force: true });
  const path = 'full/777,/0/default.jpg';
  await expectNotReady(t, await get(t, path));
  t.truthy(await poll('the lost derivative to be requested again', 20_000, async () => ((await missingJobs()).length > before ? true : undefined)));
  const res = await poll('the request to succeed once the derivative is made again', BUILD_MS, async () => {
    const r = await get(t, path);
    if (r.status === 503) {
      await r.arrayBuffer();
      return undefined;
    }
    return r;
  }, 1000);
  t.is(res.status, 200);
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  t.deepEqual([meta.width, meta.height], [777, 777]);
});

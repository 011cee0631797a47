import { chmod, readdir, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { derivativeOf as waitForDerivative, type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { FORMATS, QUALITIES } from '../../src/iiif/image-request.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * The Image API end to end: real uploads, the real derivatives worker on the machine's
 * redis, tiles over a real socket, decoded with sharp to check what was drawn.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

let worker: DerivativesWorker | undefined;
const startWorker = async (s: TestServer) => {
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
};
test.after.always(async () => {
  await worker?.close();
});

const api = (t: Ctx, method: string, path: string, body?: unknown) => staffCall(t.context.server, method, path, body);
const upload = (t: Ctx, objectId: string, bytes: Buffer, name: string) => uploadFile(t.context.server, objectId, bytes, name);
const derivativeOf = (t: Ctx, objectId: string, fileId: string) => waitForDerivative(t.context.server, objectId, fileId);
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>) => poll(what, 60_000, probe);

const get = (t: Ctx, path: string, headers: Record<string, string> = {}) => fetch(`${t.context.server.url}${path}`, { headers, redirect: 'manual' });

/** fetch() turns a conditional request into "Cache-Control: no-cache" (Fetch spec); a plain client does not. */
function conditionalStatus(t: Ctx, path: string, etag: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(`${t.context.server.url}${path}`, { headers: { ...headers, 'if-none-match': etag } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

/** A 1000 × 1400 page: left half dark, right half light, so regions and mirroring are visible. */
async function halves(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="1400"><rect x="0" y="0" width="500" height="1400" fill="#202020"/><rect x="500" y="0" width="500" height="1400" fill="#f0e8d8"/><text x="560" y="700" font-size="40" fill="#000">Đại Nam</text></svg>`;
  return sharp(Buffer.from(svg)).tiff({ compression: 'lzw' }).toBuffer();
}

let objectId = '';
let fileId = '';

test.serial('an ingested image gets a pyramid, a tile grid and DerivativeCreated', async (t) => {
  await startWorker(t.context.server);
  objectId = (await api(t, 'POST', '/api/objects', { title: 'Đại Nam thực lục', accessLevel: 'open' })).id as string;
  const f = await upload(t, objectId, await halves(), 'trang_001.tif');
  fileId = f.fileId as string;
  const d = await derivativeOf(t, objectId, fileId);
  t.is(d.width, 1000);
  t.is(d.height, 1400);
  t.is(d.tileSize, 256);
  t.deepEqual(d.scaleFactors, [1, 2, 4, 8]);
  t.true((d.tiles as number) > 30);
  const events: string[] = [];
  for await (const e of t.context.server.store.readStream(`preservation-${objectId}`)) events.push(e.type);
  t.deepEqual(events.filter((e) => e.startsWith('Derivative')), ['DerivativeCreated']);
});

test.serial('info.json describes a level 2 service whose tiles match the pyramid', async (t) => {
  const res = await get(t, `/iiif/3/${fileId}/info.json`);
  t.is(res.status, 200);
  t.is(res.headers.get('access-control-allow-origin'), '*');
  t.truthy(res.headers.get('etag'));
  t.regex(res.headers.get('link') ?? '', /level2\.json>;rel="profile"/);
  const info = (await res.json()) as Json;
  t.is(info['@context'], 'http://iiif.io/api/image/3/context.json');
  t.is(info.id, `${t.context.server.url}/iiif/3/${fileId}`);
  t.is(info.type, 'ImageService3');
  t.is(info.protocol, 'http://iiif.io/api/image');
  t.is(info.profile, 'level2');
  t.is(info.width, 1000);
  t.is(info.height, 1400);
  t.deepEqual(info.tiles, [{ width: 256, height: 256, scaleFactors: [1, 2, 4, 8] }]);
  t.deepEqual(info.sizes, [
    { width: 125, height: 175 },
    { width: 250, height: 350 },
    { width: 500, height: 700 },
    { width: 1000, height: 1400 },
  ]);
  t.true((info.extraFeatures as string[]).includes('rotationArbitrary'));
  // Image API 3 §5.3: every quality served beyond `default` is listed. The golden literal fails
  // when a quality is dropped from either side; the derived one when parser and list part ways.
  t.deepEqual(info.extraQualities, ['color', 'gray', 'bitonal']);
  t.deepEqual(info.extraQualities, QUALITIES.filter((q) => q !== 'default'));
  t.deepEqual(info.extraFormats, ['webp']);
  t.deepEqual(info.extraFormats, FORMATS.filter((f) => f !== 'jpg' && f !== 'png'));
  t.deepEqual(info.extraFeatures, ['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'rotationArbitrary', 'rotationBy90s', 'sizeUpscaling']);
  // What is announced is served: each listed quality and format, and the level 2 ones, answer 200.
  for (const q of ['default', ...(info.extraQualities as string[])]) {
    for (const f of ['jpg', 'png', ...(info.extraFormats as string[])]) {
      const r = await get(t, `/iiif/3/${fileId}/full/100,/0/${q}.${f}`);
      t.is(r.status, 200, `${q}.${f}`);
      await r.arrayBuffer();
    }
  }
  const turned = await get(t, `/iiif/3/${fileId}/full/100,/90/default.jpg`);
  t.is(turned.status, 200, 'rotationBy90s');
  t.is((await sharp(Buffer.from(await turned.arrayBuffer())).metadata()).width, 140);
  const upscaled = await get(t, `/iiif/3/${fileId}/0,0,100,100/^200,/0/default.jpg`);
  t.is(upscaled.status, 200, 'sizeUpscaling');
  await upscaled.arrayBuffer();
  const ld = await get(t, `/iiif/3/${fileId}/info.json`, { accept: 'application/ld+json' });
  t.regex(ld.headers.get('content-type') ?? '', /^application\/ld\+json;profile="http:\/\/iiif.io\/api\/image\/3\/context.json"/);
  // fetch asked for (and undid) a coding: its tag names the gzip representation (see iiif-compression.test.ts).
  t.is(await conditionalStatus(t, `/iiif/3/${fileId}/info.json`, res.headers.get('etag')!, { 'accept-encoding': 'gzip' }), 304);
  const base = await get(t, `/iiif/3/${fileId}`);
  t.is(base.status, 303);
  t.is(base.headers.get('location'), `${t.context.server.url}/iiif/3/${fileId}/info.json`);
});

test.serial('a grid tile is the pre-cut file; its canonical link and cache headers are set', async (t) => {
  const res = await get(t, `/iiif/3/${fileId}/512,1024,512,512/244,/0/default.jpg`);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'image/jpeg');
  // Shared caches keep an open tile but ask (ETag, 304) before each use: a policy change holds at once.
  t.is(res.headers.get('cache-control'), 'public, no-cache');
  t.true((res.headers.get('link') ?? '').includes(`/iiif/3/${fileId}/512,1024,488,376/244,188/0/default.jpg>;rel="canonical"`));
  const body = Buffer.from(await res.arrayBuffer());
  const m = await sharp(body).metadata();
  t.deepEqual([m.width, m.height], [244, 188]);
  t.is(await conditionalStatus(t, `/iiif/3/${fileId}/512,1024,512,512/244,/0/default.jpg`, res.headers.get('etag')!), 304);
});

test.serial('a tile answered from the caches still asks the access decision: refused at once when its work is restricted, the same bytes when open again', async (t) => {
  const s = t.context.server;
  // Two spellings of one tile: the second is remembered parsed, and both share the cached bytes.
  const paths = [`/iiif/3/${fileId}/0,0,256,256/256,/0/default.jpg`, `/iiif/3/${fileId}/0,0,256,256/256,256/0/default.jpg`];
  const before: Array<{ etag: string; body: Buffer }> = [];
  for (const p of paths) {
    await get(t, p);
    const res = await get(t, p);
    t.is(res.status, 200, p);
    before.push({ etag: res.headers.get('etag')!, body: Buffer.from(await res.arrayBuffer()) });
  }
  t.is(before[0]!.etag, before[1]!.etag);
  const setAccess = async (accessLevel: string) => {
    const record = await fetch(`${s.url}/api/objects/${objectId}`, { headers: { authorization: `Bearer ${s.staffToken}` } });
    const patched = await fetch(`${s.url}/api/objects/${objectId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': record.headers.get('etag')! },
      body: JSON.stringify({ accessLevel }),
    });
    t.is(patched.status, 200, accessLevel);
  };
  await setAccess('restricted');
  try {
    for (const p of paths) {
      const res = await get(t, p);
      t.is(res.status, 401, `${p} restricted, anonymous`);
      t.is(res.headers.get('cache-control'), 'no-store', p);
      t.is(await conditionalStatus(t, p, before[0]!.etag), 401, `${p}: a cached ETag is no way round the decision`);
      const staff = await get(t, p, { authorization: `Bearer ${s.staffToken}` });
      t.is(staff.status, 200, `${p} restricted, staff`);
    }
  } finally {
    await setAccess('open');
  }
  for (const [i, p] of paths.entries()) {
    const res = await get(t, p);
    t.is(res.status, 200, `${p} open again`);
    t.is(res.headers.get('etag'), before[i]!.etag);
    t.deepEqual(Buffer.from(await res.arrayBuffer()), before[i]!.body);
  }
});

async function pixel(buf: Buffer, x: number, y: number): Promise<number> {
  const { data, info } = await sharp(buf).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return data[(y * info.width + x) * info.channels]!;
}

test.serial('regions, sizes, mirroring, rotation, qualities and formats render correctly', async (t) => {
  const cases: Array<[string, string, [number, number]]> = [
    ['full/max/0/default.jpg', 'image/jpeg', [1000, 1400]],
    ['full/!200,200/0/default.png', 'image/png', [143, 200]],
    ['square/100,/0/default.webp', 'image/webp', [100, 100]],
    ['pct:50,0,50,50/100,/0/gray.jpg', 'image/jpeg', [100, 140]],
    ['0,0,500,700/^1000,/0/default.jpg', 'image/jpeg', [1000, 1400]],
    ['full/100,140/90/default.jpg', 'image/jpeg', [140, 100]],
    ['full/100,140/!180/bitonal.png', 'image/png', [100, 140]],
    ['full/100,100/45/default.png', 'image/png', [141, 141]],
  ];
  for (const [path, type, [w, h]] of cases) {
    const res = await get(t, `/iiif/3/${fileId}/${path}`);
    t.is(res.status, 200, path);
    t.is(res.headers.get('content-type'), type, path);
    const m = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    t.true(Math.abs(m.width! - w) <= 1 && Math.abs(m.height! - h) <= 1, `${path}: ${m.width}×${m.height}`);
  }
  // The left half is dark: unmirrored the left pixel is dark, mirrored it is light.
  const plain = Buffer.from(await (await get(t, `/iiif/3/${fileId}/full/100,/0/default.png`)).arrayBuffer());
  const mirrored = Buffer.from(await (await get(t, `/iiif/3/${fileId}/full/100,/!0/default.png`)).arrayBuffer());
  t.true((await pixel(plain, 5, 70)) < 80);
  t.true((await pixel(mirrored, 5, 70)) > 180);
  const bitonal = Buffer.from(await (await get(t, `/iiif/3/${fileId}/full/100,/0/bitonal.png`)).arrayBuffer());
  const { data } = await sharp(bitonal).raw().toBuffer({ resolveWithObject: true });
  t.true(data.every((v) => v === 0 || v === 255), 'bitonal means black and white only');
});

test.serial('bad requests get 400 and unknown images 404, never a 500', async (t) => {
  const bad = [
    '-1,0,10,10/max/0/default.jpg',
    'pct:101,0,10,10/max/0/default.jpg',
    '0,0,0,0/max/0/default.jpg',
    '2000,0,10,10/max/0/default.jpg',
    'full/!0,0/0/default.jpg',
    'full/0,/0/default.jpg',
    'full/2000,/0/default.jpg',
    'full/max/361/default.jpg',
    'full/max/0/sepia.jpg',
    'full/max/0/default.jpg.jpg',
    'full/max/0/default.tif',
    'full/max/0/default',
  ];
  for (const path of bad) {
    const res = await get(t, `/iiif/3/${fileId}/${path}`);
    t.is(res.status, 400, path);
    t.regex(res.headers.get('content-type') ?? '', /problem\+json/, path);
  }
  for (const path of [`/iiif/3/nosuchfile/full/max/0/default.jpg`, `/iiif/3/a%2Fb/info.json`, `/iiif/3/${'x'.repeat(5000)}/info.json`, '/iiif/3/nosuchfile/info.json']) {
    const res = await get(t, path);
    t.true(res.status === 404 || res.status === 414 || res.status === 431, `${path.slice(0, 60)}: ${res.status}`);
  }
});

test.serial('a missing derivative is served from the master and made again', async (t) => {
  const s = t.context.server;
  const dir = join(s.config.derivativesDir, (await readdir(s.config.derivativesDir)).filter((d) => d !== '.tmp')[0]!);
  await rm(dir, { recursive: true, force: true });
  const res = await get(t, `/iiif/3/${fileId}/0,0,300,300/150,/0/default.jpg`);
  t.is(res.status, 200);
  const m = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  t.deepEqual([m.width, m.height], [150, 150]);
  await waitFor('the derivative made again', async () => ((await readdir(s.config.derivativesDir)).some((d) => d !== '.tmp') ? true : undefined));
  t.pass();
});

test.serial('a master that sharp cannot decode: DerivativeFailed, and a 422 for its images, never a 500', async (t) => {
  const s = t.context.server;
  // Stop the worker so that the master can be damaged before its derivative is made.
  await worker?.close();
  const id = (await api(t, 'POST', '/api/objects', { title: 'Tờ hỏng' })).id as string;
  const f = await upload(t, id, await page('Tờ bị hỏng', { width: 600, height: 400 }), 'hong.tif');
  const storage = f.storage as Json;
  const { OcflStorageRoot } = await import('../../src/storage/ocfl.ts');
  const path = (await OcflStorageRoot.open(s.config.ocflRoot)).contentPathOnDisk(storage.ocflObjectId as string, storage.path as string);
  await chmod(path, 0o644);
  await writeFile(path, Buffer.from('not a tiff any more'));
  await startWorker(s);
  const d = await derivativeOf(t, id, f.fileId as string);
  t.truthy(d.failed, JSON.stringify(d));
  const types: string[] = [];
  for await (const e of s.store.readStream(`preservation-${id}`)) types.push(e.type);
  t.true(types.includes('DerivativeFailed'));
  t.false(types.includes('DerivativeCreated'));
  for (const p of ['full/max/0/default.jpg', '0,0,100,100/50,/90/default.png']) {
    const res = await get(t, `/iiif/3/${f.fileId as string}/${p}`);
    t.is(res.status, 422, p);
  }
  const info = await get(t, `/iiif/3/${f.fileId as string}/info.json`);
  t.is(info.status, 200);
});

import { readFile, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import sharp from 'sharp';
import { recordFact } from '../../src/application/machine-facts.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { derivativeOf, type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { corruptTiffPage, multiPageTiff } from '../helpers/images.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { testWithServer } from '../helpers/server.ts';

/**
 * A two-page TIFF (a common scanner output) through the real HTTP API and the real
 * derivatives worker: each page becomes a canvas with its own image service and tiles.
 */
const test = testWithServer();

let worker: DerivativesWorker | undefined;
test.after.always(async () => {
  await worker?.close();
});

const WIDTH = 600;
const HEIGHT = 800;
const RED = { r: 200, g: 40, b: 30 };
const BLUE = { r: 30, g: 60, b: 200 };

async function meanColour(bytes: Buffer): Promise<[number, number, number]> {
  const { channels } = await sharp(bytes).stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean];
}

const near = (got: number[], want: typeof RED) => Math.abs(got[0]! - want.r) < 12 && Math.abs(got[1]! - want.g) < 12 && Math.abs(got[2]! - want.b) < 12;

test.serial('each page of a two-page TIFF becomes a canvas, in order, with its own tiles over HTTP', async (t) => {
  const s = t.context.server;
  const tiff = await multiPageTiff(WIDTH, HEIGHT, [RED, BLUE]);
  t.is((await sharp(tiff).metadata()).pages, 2, 'the test master has two pages');
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Sổ bộ hai trang', accessLevel: 'open' })).id as string;
  const file = await uploadFile(s, objectId, tiff, 'so_bo.tif');
  const fileId = file.fileId as string;
  t.is((file.image as Json).pages, 2);
  const d = await derivativeOf(s, objectId, fileId);
  t.is(d.width, WIDTH);

  const manifest = await poll('a manifest with two canvases', 60_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${objectId}`);
    if (res.status !== 200) return undefined;
    const m = (await res.json()) as Json;
    return (m.items as Json[]).length === 2 ? m : undefined;
  });
  t.deepEqual(validatePresentation3(manifest), []);
  const canvases = manifest.items as Json[];
  // Page 1 keeps the address a single-page file has always had; page 2 is `<fileId>~p2`.
  t.deepEqual(
    canvases.map((c) => c.id),
    [`${s.url}/iiif/manifest/${objectId}/canvas/${fileId}`, `${s.url}/iiif/manifest/${objectId}/canvas/${fileId}~p2`],
  );
  t.deepEqual(canvases.map((c) => [c.width, c.height]), [[WIDTH, HEIGHT], [WIDTH, HEIGHT]]);
  const services = canvases.map((c) => {
    const body = (((c.items as Json[])[0]!.items as Json[])[0]!.body as Json);
    return ((body.service as Json[])[0]!.id as string);
  });
  t.deepEqual(services, [`${s.url}/iiif/3/${fileId}`, `${s.url}/iiif/3/${fileId}~p2`]);

  const info = (await (await fetch(`${services[1]}/info.json`)).json()) as Json;
  t.is(info.id, services[1]);
  t.deepEqual([info.width, info.height], [WIDTH, HEIGHT]);

  const tile = async (service: string) => {
    const res = await fetch(`${service}/0,0,256,256/256,256/0/default.jpg`);
    t.is(res.status, 200, service);
    return meanColour(Buffer.from(await res.arrayBuffer()));
  };
  const page1 = await tile(services[0]!);
  const page2 = await tile(services[1]!);
  t.true(near(page1, RED), `page 1's tile is page 1's red: ${page1.map(Math.round).join(',')}`);
  t.true(near(page2, BLUE), `page 2's tile is page 2's blue: ${page2.map(Math.round).join(',')}`);

  const facts: Json[] = [];
  for await (const e of s.store.readStream(`preservation-${objectId}`)) if (e.type === 'DerivativeCreated') facts.push(e.data as Json);
  t.deepEqual(facts.map((f) => f.page), [undefined, 2]);
  // A page that does not exist is not an image.
  t.is((await fetch(`${s.url}/iiif/3/${fileId}~p3/info.json`)).status, 404);
  t.is((await fetch(`${s.url}/iiif/3/${fileId}~p1/info.json`)).status, 404);

  // Text read from page 2 is that page's: search opens page 2, its canvas links the text.
  await recordFact(
    s.store,
    objectId,
    { type: 'PageTextRecorded', data: { objectId, fileId, page: 2, text: 'Sổ điền trang hai, xã Mộ Trạch.', source: 'ocr', engine: 'test' } },
    { actor: { id: 'worker:ocr', role: 'admin' } },
  );
  const hit = await poll('page 2 found by search', 60_000, async () => {
    const r = (await (await fetch(`${s.url}/api/search?q=${encodeURIComponent('Mộ Trạch')}`)).json()) as { hits: Array<{ pageHits: Json[] }> };
    return r.hits[0]?.pageHits[0];
  });
  t.is(hit.pageId, `${fileId}~p2`);
  t.is(hit.label, '2');
  t.is(hit.canvasId, `${s.url}/iiif/manifest/${objectId}/canvas/${fileId}~p2`);
  const linked = await poll('page 2 linking its text', 60_000, async () => {
    const m = (await (await fetch(`${s.url}/iiif/manifest/${objectId}`)).json()) as Json;
    const c = (m.items as Json[])[1]!;
    return c.annotations ? (c.annotations as Json[]) : undefined;
  });
  t.deepEqual(linked, [{ id: `${s.url}/iiif/text/${objectId}/${fileId}~p2`, type: 'AnnotationPage' }]);
  const annotations = (await (await fetch(`${s.url}/iiif/text/${objectId}/${fileId}~p2`)).json()) as Json;
  t.true(JSON.stringify(annotations).includes('Mộ Trạch'));
  t.is((await fetch(`${s.url}/iiif/text/${objectId}/${fileId}~p9`)).status, 404);
  t.is((await fetch(`${s.url}/iiif/text/${objectId}/${fileId}~x`)).status, 400);
});

test.serial('a second page damaged before its derivative is made: page 1 is a canvas, page 2 a DerivativeFailed with the reason, the master kept', async (t) => {
  const s = t.context.server;
  // Ingest decodes every page and refuses a TIFF whose page 2 is corrupt; here the stored
  // master is damaged after ingest and before the worker gets to it.
  await worker?.close();
  worker = undefined;
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Sổ bộ hư trang 2', accessLevel: 'open' })).id as string;
  // Other pixels than the first test's: derivatives are kept by the master's digest.
  const file = await uploadFile(s, objectId, await multiPageTiff(WIDTH, HEIGHT, [RED, { r: 20, g: 160, b: 60 }]), 'so_bo_hu.tif');
  const fileId = file.fileId as string;
  const storage = file.storage as { ocflObjectId: string; path: string };
  const onDisk = (await OcflStorageRoot.open(s.config.ocflRoot)).contentPathOnDisk(storage.ocflObjectId, storage.path);
  const damaged = await readFile(onDisk);
  corruptTiffPage(damaged, 2);
  await writeFile(onDisk, damaged);
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });

  const facts = await poll('the outcome of both pages', 60_000, async () => {
    const found: Array<{ type: string; data: Json }> = [];
    for await (const e of s.store.readStream(`preservation-${objectId}`)) found.push({ type: e.type, data: e.data as Json });
    return found.length >= 2 ? found : undefined;
  });
  t.deepEqual(facts.map((f) => [f.type, f.data.page]), [['DerivativeCreated', undefined], ['DerivativeFailed', 2]]);
  const failure = facts[1]!.data;
  t.is(failure.fileId, fileId);
  t.is(failure.page, 2);
  t.regex(failure.reason as string, /^page 2 of 2: sharp cannot decode the master/);
  t.notRegex(failure.reason as string, /\/tmp|\/work/, 'no server paths in the reason');

  const manifest = await poll('a manifest with page 1', 60_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${objectId}`);
    return res.status === 200 ? ((await res.json()) as Json) : undefined;
  });
  t.deepEqual(validatePresentation3(manifest), []);
  t.deepEqual((manifest.items as Json[]).map((c) => c.id), [`${s.url}/iiif/manifest/${objectId}/canvas/${fileId}`]);
  const res = await fetch(`${s.url}/iiif/3/${fileId}/0,0,256,256/256,256/0/default.jpg`);
  t.is(res.status, 200);
  t.true(near(await meanColour(Buffer.from(await res.arrayBuffer())), RED));
  t.is((await fetch(`${s.url}/iiif/3/${fileId}~p2/info.json`)).status, 404);
  // The page's failure is visible to staff on the file.
  const o = await staffCall(s, 'GET', `/api/objects/${objectId}`);
  const stored = (o.files as Json[]).find((f) => f.fileId === fileId)!;
  t.deepEqual((stored.laterPages as Json[]).map((p) => [p.page, typeof (p.derivativeFailure as Json | undefined)?.reason]), [[2, 'string']]);
  // Nothing stored was removed: the (damaged) master is still there, byte for byte as found.
  t.deepEqual(await readFile(onDisk), damaged);
});

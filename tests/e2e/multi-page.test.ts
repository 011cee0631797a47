import { pino } from 'pino';
import sharp from 'sharp';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { derivativeOf, type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
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

/** A multi-page TIFF: libvips writes one IFD per page of an image with a page height. */
async function twoPageTiff(): Promise<Buffer> {
  const pageRaw = (c: typeof RED) => sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: c } }).raw().toBuffer();
  const raw = Buffer.concat([await pageRaw(RED), await pageRaw(BLUE)]);
  return sharp(raw, { raw: { width: WIDTH, height: 2 * HEIGHT, channels: 3, pageHeight: HEIGHT } }).tiff({ compression: 'lzw' }).toBuffer();
}

async function meanColour(bytes: Buffer): Promise<[number, number, number]> {
  const { channels } = await sharp(bytes).stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean];
}

const near = (got: number[], want: typeof RED) => Math.abs(got[0]! - want.r) < 12 && Math.abs(got[1]! - want.g) < 12 && Math.abs(got[2]! - want.b) < 12;

test.serial('each page of a two-page TIFF becomes a canvas, in order, with its own tiles over HTTP', async (t) => {
  const s = t.context.server;
  const tiff = await twoPageTiff();
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
});

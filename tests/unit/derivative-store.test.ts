import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { DerivativeError, DerivativeStore, gridScaleFactors, gridSizes } from '../../src/iiif/derivative-store.ts';
import { parseImageRequest } from '../../src/iiif/image-request.ts';
import { chooseLevel, readLevels } from '../../src/iiif/render.ts';
import { corruptTiffPage, multiPageTiff } from '../helpers/images.ts';

/** Derivatives with real sharp on real files: what is cut must be what the Image API asks for. */
const root = mkdtempSync(join(tmpdir(), 'thukho-derivatives-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const SHA = (c: string) => c.repeat(128);
const LIMITS = { maxWidth: 10_000, maxHeight: 10_000, maxArea: 100_000_000 };

async function master(name: string, width: number, height: number): Promise<string> {
  const path = join(root, name);
  await sharp({ create: { width, height, channels: 3, background: { r: 230, g: 220, b: 200 } } })
    .composite([{ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="20" y="80" font-size="60">Đại Việt sử ký</text></svg>`) }])
    .tiff({ compression: 'lzw' })
    .toFile(path);
  return path;
}

test('the grid has power-of-two scale factors until one tile holds the image', (t) => {
  t.deepEqual(gridScaleFactors(10_000, 14_000, 256), [1, 2, 4, 8, 16, 32, 64]);
  t.deepEqual(gridScaleFactors(200, 100, 256), [1]);
  t.deepEqual(gridScaleFactors(1001, 1403, 512), [1, 2, 4]);
  t.deepEqual(gridSizes(10_000, 14_000, [1, 2, 4, 8, 16, 32, 64]), [
    { width: 157, height: 219 },
    { width: 313, height: 438 },
    { width: 625, height: 875 },
    { width: 1250, height: 1750 },
  ]);
});

test.serial('every tile of the standard grid is a file named by its canonical request', async (t) => {
  const store = new DerivativeStore(join(root, 'store'));
  const path = await master('odd.tif', 1001, 1403);
  const info = await store.build(path, SHA('a'), { tileSize: 256, maxPixels: 1e9 });
  t.is(info.width, 1001);
  t.deepEqual(info.scaleFactors, [1, 2, 4, 8]);
  const pack = await store.openTiles(SHA('a'));
  if (!pack) return t.fail('no tile pack');
  let checked = 0;
  for (const s of info.scaleFactors) {
    for (let y = 0; y < 1403; y += 256 * s) {
      for (let x = 0; x < 1001; x += 256 * s) {
        const w = Math.min(256 * s, 1001 - x);
        const h = Math.min(256 * s, 1403 - y);
        const req = parseImageRequest({ region: `${x},${y},${w},${h}`, size: `${Math.ceil(w / s)},`, rotation: '0', qualityFormat: 'default.jpg' }, { width: 1001, height: 1403 }, LIMITS);
        const bytes = await pack.read(req.canonical);
        if (!bytes) return t.fail(`no tile ${req.canonical}`);
        const m = await sharp(bytes).metadata();
        t.deepEqual([m.width, m.height], [req.size.width, req.size.height], req.canonical);
        checked++;
      }
    }
  }
  t.is(checked, info.tiles);
  t.is(pack.size, info.tiles);
  await pack.close();
  for (const size of info.sizes) {
    const m = await sharp(store.sizePath(SHA('a'), size.width, size.height)).metadata();
    t.deepEqual([m.width, m.height], [size.width, size.height]);
  }
  const levels = await readLevels(store.pyramidPath(SHA('a')), 1e9);
  t.is(levels.length, info.pyramid.levels);
  t.deepEqual(levels[0], { width: 1001, height: 1403 });
  // A 100-px-wide thumbnail of the whole page is rendered from a small level, not the top one.
  t.true(chooseLevel(levels, { region: { x: 0, y: 0, w: 1001, h: 1403 }, size: { width: 100, height: 140, upscaled: false } }) >= 3);
  t.is(chooseLevel(levels, { region: { x: 0, y: 0, w: 256, h: 256 }, size: { width: 256, height: 256, upscaled: false } }), 0);
});

test.serial('building again is idempotent and leaves no temporary folders', async (t) => {
  const store = new DerivativeStore(join(root, 'store'));
  const path = await master('again.tif', 200, 150);
  const first = await store.build(path, SHA('b'), { tileSize: 256, maxPixels: 1e9 });
  const second = await store.build(path, SHA('b'), { tileSize: 256, maxPixels: 1e9 });
  t.deepEqual(second, first);
  t.deepEqual(await store.read(SHA('b')), first);
  // A one-tile image: its only tile is the whole image at full size, "full/max".
  const pack = await store.openTiles(SHA('b'));
  t.deepEqual(pack && (await sharp((await pack.read('full/max/0/default.jpg'))!).metadata()).width, 200);
  await pack?.close();
  t.deepEqual(await readdir(join(root, 'store', '.tmp')), []);
});

test.serial('an undecodable master fails as undecodable and leaves nothing behind', async (t) => {
  const store = new DerivativeStore(join(root, 'store'));
  const path = join(root, 'broken.tif');
  const good = await sharp({ create: { width: 400, height: 400, channels: 3, background: '#888' } }).tiff().toBuffer();
  await writeFile(path, good.subarray(0, 300));
  const err = await t.throwsAsync(store.build(path, SHA('c'), { tileSize: 256, maxPixels: 1e9 }));
  t.true(err instanceof DerivativeError && err.kind === 'undecodable', String(err));
  t.is(await store.read(SHA('c')), null);
  await t.throwsAsync(stat(store.dir(SHA('c'))));
});

test.serial('a crash leftover is swept only when old', async (t) => {
  const store = new DerivativeStore(join(root, 'sweep'));
  await mkdir(join(root, 'sweep', '.tmp', 'old'), { recursive: true });
  await mkdir(join(root, 'sweep', '.tmp', 'fresh'), { recursive: true });
  const past = new Date(Date.now() - 24 * 3600_000);
  await utimes(join(root, 'sweep', '.tmp', 'old'), past, past);
  t.is(await store.sweepTemporary(), 1);
  t.deepEqual(await readdir(join(root, 'sweep', '.tmp')), ['fresh']);
});

/** A page of text as a scanner writes it: black marks on white, 1 bit per pixel, CCITT G4. */
async function bilevelMaster(name: string, width: number, height: number): Promise<string> {
  const path = join(root, name);
  // Composited first (sharp composites after a colourspace change, with alpha), then one band.
  const drawn = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite([{ input: { create: { width: 300, height: 200, channels: 3, background: '#000000' } }, left: 100, top: 100 }])
    .png()
    .toBuffer();
  await sharp(drawn)
    .extractChannel(0)
    .tiff({ compression: 'ccittfax4', bitdepth: 1 })
    .toFile(path);
  return path;
}

/** Channels of every stored part of a derivative: the pyramid, one tile, one whole-image size. */
async function derivativeChannels(store: DerivativeStore, sha512: string, info: { sizes: Array<{ width: number; height: number }> }) {
  const pack = await store.openTiles(sha512);
  const tile = await pack?.read('0,0,256,256/256,256/0/default.jpg');
  await pack?.close();
  if (!tile) throw new Error('no first tile');
  const size = info.sizes[0]!;
  return {
    pyramid: (await sharp(store.pyramidPath(sha512)).metadata()).channels,
    tile: (await sharp(tile).metadata()).channels,
    size: (await sharp(store.sizePath(sha512, size.width, size.height)).metadata()).channels,
  };
}

test.serial('a bilevel (1-bit G4) master keeps one channel in its pyramid, tiles and sizes, with its black and white where they were', async (t) => {
  const store = new DerivativeStore(join(root, 'store-bilevel'));
  const path = await bilevelMaster('g4.tif', 1200, 900);
  t.is((await sharp(path).metadata()).channels, 1);
  const info = await store.build(path, SHA('c'), { tileSize: 256, maxPixels: 1e9 });
  t.deepEqual(await derivativeChannels(store, SHA('c'), info), { pyramid: 1, tile: 1, size: 1 });
  const pixel = async (left: number, top: number) =>
    (await sharp(store.pyramidPath(SHA('c'))).extract({ left, top, width: 1, height: 1 }).raw().toBuffer())[0]!;
  t.true((await pixel(250, 200)) < 40, 'inside the black box');
  t.true((await pixel(800, 600)) > 215, 'on the white page');
});

test.serial('a gray master with alpha keeps one channel and shows its transparent parts as white paper', async (t) => {
  const store = new DerivativeStore(join(root, 'store-gray'));
  const path = join(root, 'gray-alpha.png');
  await sharp({ create: { width: 600, height: 400, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
    .composite([{ input: { create: { width: 200, height: 200, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 1 } } }, left: 0, top: 0 }])
    .toColourspace('b-w')
    .png()
    .toFile(path);
  const meta = await sharp(path).metadata();
  t.deepEqual([meta.channels, meta.hasAlpha], [2, true]);
  const info = await store.build(path, SHA('d'), { tileSize: 256, maxPixels: 1e9 });
  t.deepEqual(await derivativeChannels(store, SHA('d'), info), { pyramid: 1, tile: 1, size: 1 });
  const [gray] = await sharp(store.pyramidPath(SHA('d'))).extract({ left: 50, top: 50, width: 1, height: 1 }).raw().toBuffer();
  const [paper] = await sharp(store.pyramidPath(SHA('d'))).extract({ left: 500, top: 300, width: 1, height: 1 }).raw().toBuffer();
  t.true(Math.abs(gray! - 90) < 10, `gray kept: ${gray}`);
  t.true(paper! > 245, `transparent shown as white: ${paper}`);
});

test.serial('a colour master keeps three channels', async (t) => {
  const store = new DerivativeStore(join(root, 'store-colour'));
  const info = await store.build(await master('colour.tif', 700, 500), SHA('e'), { tileSize: 256, maxPixels: 1e9 });
  t.deepEqual(await derivativeChannels(store, SHA('e'), info), { pyramid: 3, tile: 3, size: 3 });
});

/** Two 500 × 400 pages, dark then light; with `corruptPage2`, page 2's compressed strips are noise. */
async function twoPageMaster(name: string, corruptPage2: boolean): Promise<string> {
  const tiff = await multiPageTiff(500, 400, [{ r: 40, g: 40, b: 40 }, { r: 220, g: 220, b: 220 }]);
  if (corruptPage2) corruptTiffPage(tiff, 2);
  const path = join(root, name);
  await writeFile(path, tiff);
  return path;
}

test.serial('each page of a multi-page master has its own derivative folder, and page 1 keeps the folder it always had', async (t) => {
  const store = new DerivativeStore(join(root, 'store-pages'));
  const path = await twoPageMaster('two-pages.tif', false);
  const first = await store.build(path, SHA('1'), { tileSize: 256, maxPixels: 1e9 });
  const second = await store.build(path, SHA('1'), { tileSize: 256, maxPixels: 1e9, page: 2 });
  t.is(first.page, undefined);
  t.is(second.page, 2);
  t.is(store.dir(SHA('1')), join(root, 'store-pages', '11', '11', SHA('1')));
  t.is(store.dir(SHA('1'), 2), join(root, 'store-pages', '11', '11', `${SHA('1')}.p2`));
  const mean = async (p: number) => (await sharp(store.pyramidPath(SHA('1'), p)).stats()).channels[0]!.mean;
  t.true(Math.abs((await mean(1)) - 40) < 5, 'page 1 is the dark page');
  t.true(Math.abs((await mean(2)) - 220) < 5, 'page 2 is the light page');
  t.deepEqual(await store.read(SHA('1'), 2), second);
  t.is(await store.read(SHA('1'), 3), null);
  await t.throwsAsync(store.build(path, SHA('1'), { tileSize: 256, maxPixels: 1e9, page: 3 }), { instanceOf: DerivativeError, message: /does not contain page/ });
});

test.serial('a corrupt second page fails as undecodable while page 1 is made', async (t) => {
  const store = new DerivativeStore(join(root, 'store-corrupt-page'));
  const path = await twoPageMaster('corrupt-page-2.tif', true);
  t.is((await store.build(path, SHA('2'), { tileSize: 256, maxPixels: 1e9 })).width, 500);
  const err = await t.throwsAsync(store.build(path, SHA('2'), { tileSize: 256, maxPixels: 1e9, page: 2 }), { instanceOf: DerivativeError });
  t.is(err?.kind, 'undecodable');
  t.is(await store.read(SHA('2'), 2), null);
  t.truthy(await store.read(SHA('2')), 'page 1 is still there');
});

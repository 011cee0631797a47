import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { DerivativeError, DerivativeStore, gridScaleFactors, gridSizes } from '../../src/iiif/derivative-store.ts';
import { parseImageRequest } from '../../src/iiif/image-request.ts';
import { chooseLevel, readLevels } from '../../src/iiif/render.ts';

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

/**
 * Bytes of the derivatives of a bilevel scan against its master: an A4 page at 300 dpi
 * (2480 × 3508) of Vietnamese text, 1 bit per pixel, CCITT G4, as scanners write it. Prints
 * the master's size, each part of the derivative folder (pyramid, tile zip, whole-image
 * sizes) and their channels, and the ratio of the whole folder to the master.
 *
 *   npx tsx bench/iiif/derivative-sizes.ts
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DerivativeStore } from '../../src/iiif/derivative-store.ts';

const WIDTH = 2480;
const HEIGHT = 3508;
const LINE = 'Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau. Trải qua một cuộc bể dâu,';

function pageSvg(): string {
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) {
    lines.push(`<text x="200" y="${260 + i * 52}" font-family="DejaVu Serif" font-size="38">${LINE}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">${lines.join('')}</svg>`;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

const work = await mkdtemp(join(tmpdir(), 'thukho-derivative-sizes-'));
try {
  const master = join(work, 'page.tif');
  // Composited first (sharp composites after a colourspace change, with alpha), then one band.
  const drawn = await sharp({ create: { width: WIDTH, height: HEIGHT, channels: 3, background: '#ffffff' } })
    .composite([{ input: Buffer.from(pageSvg()) }])
    .png()
    .toBuffer();
  await sharp(drawn)
    .extractChannel(0)
    .threshold(128)
    .tiff({ compression: 'ccittfax4', bitdepth: 1, xres: 300 / 25.4, yres: 300 / 25.4 })
    .toFile(master);
  const sha512 = 'f'.repeat(128);
  const store = new DerivativeStore(join(work, 'derivatives'));
  const info = await store.build(master, sha512, { tileSize: 256, maxPixels: 1e9 });
  const dir = store.dir(sha512);
  const masterBytes = (await stat(master)).size;
  const pyramid = (await stat(store.pyramidPath(sha512))).size;
  const tiles = (await stat(join(dir, 'tiles.zip'))).size;
  const sizes = await folderBytes(join(dir, 'sizes'));
  const all = await folderBytes(dir);
  const channels = (await sharp(store.pyramidPath(sha512)).metadata()).channels;
  const row = (name: string, bytes: number) => console.log(`${name.padEnd(22)} ${String(bytes).padStart(11)} B  ${(bytes / masterBytes).toFixed(1).padStart(6)}×`);
  console.log(`master ${WIDTH}×${HEIGHT} 1-bit G4; derivative channels: ${channels}; ${info.tiles} tiles; ${info.software}`);
  row('master', masterBytes);
  row('pyramid.tif', pyramid);
  row('tiles.zip', tiles);
  row('sizes/', sizes);
  row('derivative folder', all);
} finally {
  await rm(work, { recursive: true, force: true });
}

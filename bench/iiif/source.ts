/**
 * The source of the IIIF bench, made once and kept in a cache directory:
 *
 *   master.tif  10,000 × 14,000 px RGB, uncompressed (420 MB): what a scanner hands over and
 *               what thukho ingests. Scan-like: gaussian grain (σ = 10, plus σ = 4 per
 *               channel) around a warm paper grey, from a seeded PRNG so that every machine
 *               makes the same bytes, with 67 rows of Vietnamese and Han text rendered from SVG
 *               (DejaVu Serif; Han characters come from whatever CJK font fontconfig finds, or
 *               show as boxes without one, which is fine for load).
 *   big.tif     the same image as IIPImage serves it: a tiled (256 × 256) pyramidal TIFF,
 *               JPEG q85, written by sharp (libvips) from master.tif.
 *   meta.json   what was made, with which parameters, and how long the pyramid took.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';

export const WIDTH = 10_000;
export const HEIGHT = 14_000;
/** Bump when the image recipe changes, so that cached files are remade. */
const RECIPE = 'iiif-bench-source-v3';
const NOISE_SEED = 0x7468756b; // "thuk"

export interface Source {
  dir: string;
  master: string;
  masterBytes: number;
  pyramid: string;
  pyramidBytes: number;
  /** Seconds sharp took to write big.tif from master.tif, and when that was measured. */
  pyramidSeconds: number;
  pyramidMeasuredAt: string;
  pyramidFresh: boolean;
}

interface Meta {
  recipe: string;
  width: number;
  height: number;
  masterBytes: number;
  pyramidBytes?: number;
  pyramidSeconds?: number;
  pyramidMeasuredAt?: string;
}

/** Inverse normal CDF (Acklam's approximation), for the noise look-up table. */
function invNorm(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239] as const;
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572] as const;
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] as const;
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] as const;
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Paper grey plus gaussian noise: grain shared by the three channels (σ = 10, paper texture
 * and sensor luminance noise) plus a little independent noise per channel (σ = 4), from a
 * seeded xorshift32, so that every machine makes the same bytes.
 */
function paperNoise(width: number, height: number): Buffer {
  const lut = (sigma: number) => Int16Array.from({ length: 256 }, (_, i) => Math.round(sigma * invNorm((i + 0.5) / 256)));
  const grain = lut(10);
  const chroma = lut(4);
  const [r0, g0, b0] = [226, 221, 208];
  const pixels = width * height;
  const raw = Buffer.allocUnsafe(pixels * 3);
  let s = NOISE_SEED >>> 0;
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const g = grain[s & 255] as number;
    // Clamped by hand: a Buffer stores values modulo 256.
    raw[o] = Math.min(255, Math.max(0, r0 + g + (chroma[(s >>> 8) & 255] as number)));
    raw[o + 1] = Math.min(255, Math.max(0, g0 + g + (chroma[(s >>> 16) & 255] as number)));
    raw[o + 2] = Math.min(255, Math.max(0, b0 + g + (chroma[s >>> 24] as number)));
  }
  return raw;
}

const VIETNAMESE = [
  'Địa bạ làng Phú Xuân, tổng Yên Lạc, huyện Thọ Xương, phủ Hoài Đức',
  'Năm Tự Đức thứ mười, tháng Ba ngày mồng bốn — kê khai ruộng đất công tư',
  'Một, công điền ba mươi hai mẫu năm sào, chia làm ba hạng thượng trung hạ',
  'Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau',
  'Thư khố — bản sao số hoá để bảo tồn lâu dài, đối chiếu với bản gốc',
];
const HAN = ['大越史記全書 卷之一 外紀 鴻龐氏紀', '嗣德拾年參月初肆日 富春社 地簿', '公田參拾貳畝伍篙 分為上中下三等'];

/** One SVG band of text rows, `width` × `height`, transparent where there is no ink. */
const LINE_HEIGHT = 190;
const ROWS_PER_BAND = 10;

function textBand(width: number, height: number, firstRow: number): Buffer {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const rows: string[] = [];
  for (let y = 150, k = firstRow; y < height - 30; y += LINE_HEIGHT, k++) {
    const line = k % 4 === 3 ? (HAN[k % HAN.length] as string) : (VIETNAMESE[k % VIETNAMESE.length] as string);
    const x = 420 + ((k * 137) % 300);
    rows.push(`<text x="${x}" y="${y}" font-family="DejaVu Serif" font-size="118" fill="#2b2520" fill-opacity="0.9">${esc(`${k + 1}. ${line}`)}</text>`);
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${rows.join('')}</svg>`);
}

async function makeMaster(path: string): Promise<void> {
  const raw = paperNoise(WIDTH, HEIGHT);
  // Text in bands (a 140 MP SVG in one piece is heavy for librsvg), ink over paper.
  const bandHeight = LINE_HEIGHT * ROWS_PER_BAND;
  const overlays: OverlayOptions[] = [];
  for (let top = 600, k = 0; top < HEIGHT - 600; top += bandHeight, k += ROWS_PER_BAND) {
    const h = Math.min(bandHeight, HEIGHT - 600 - top);
    overlays.push({ input: textBand(WIDTH, h, k), top, left: 0 });
  }
  const tmp = `${path}.tmp`;
  await sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels: 3 }, limitInputPixels: false })
    .composite(overlays)
    .removeAlpha() // the SVG overlays would otherwise add an alpha channel
    .withMetadata({ density: 600 })
    .tiff({ compression: 'none' })
    .toFile(tmp);
  renameSync(tmp, path);
}

/** The IIPImage source: sharp's tiled pyramidal TIFF, as in /work/shared/REFERENCE.md. Returns seconds. */
export async function makePyramid(master: string, path: string): Promise<number> {
  const tmp = `${path}.tmp`;
  const t0 = process.hrtime.bigint();
  await sharp(master, { limitInputPixels: false })
    .tiff({ tile: true, tileWidth: 256, tileHeight: 256, pyramid: true, compression: 'jpeg', quality: 85 })
    .toFile(tmp);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  renameSync(tmp, path);
  return seconds;
}

/**
 * Makes (or reuses) master.tif and big.tif under `dir`. The pyramid is re-timed on every
 * call unless `retime` is false and a figure is cached.
 */
export async function prepareSource(dir: string, options: { retime: boolean; log: (s: string) => void }): Promise<Source> {
  const { log } = options;
  const master = join(dir, 'master.tif');
  const pyramid = join(dir, 'big.tif');
  const metaPath = join(dir, 'meta.json');
  let meta: Meta | undefined;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
  } catch {
    meta = undefined;
  }
  const masterOk = meta?.recipe === RECIPE && existsSync(master) && statSync(master).size === meta.masterBytes;
  if (!masterOk) {
    rmSync(pyramid, { force: true });
    log(`making the master ${WIDTH} × ${HEIGHT} RGB (seeded noise + text) → ${master}`);
    const t0 = Date.now();
    await makeMaster(master);
    meta = { recipe: RECIPE, width: WIDTH, height: HEIGHT, masterBytes: statSync(master).size };
    writeFileSync(metaPath, JSON.stringify(meta, null, 2));
    log(`  master made in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(meta.masterBytes / 1e6).toFixed(1)} MB)`);
  } else log(`reusing the master ${master} (${((meta as Meta).masterBytes / 1e6).toFixed(1)} MB)`);
  meta = meta as Meta;

  const pyramidOk = existsSync(pyramid) && meta.pyramidBytes === statSync(pyramid).size && meta.pyramidSeconds !== undefined;
  let fresh = false;
  if (!pyramidOk || options.retime) {
    log(`timing sharp: master.tif → tiled pyramidal TIFF (256², JPEG q85) → ${pyramid}`);
    const seconds = await makePyramid(master, pyramid);
    meta = { ...meta, pyramidBytes: statSync(pyramid).size, pyramidSeconds: seconds, pyramidMeasuredAt: new Date().toISOString() };
    writeFileSync(metaPath, JSON.stringify(meta, null, 2));
    fresh = true;
    log(`  ${seconds.toFixed(1)} s, ${((meta.pyramidBytes as number) / 1e6).toFixed(1)} MB`);
  } else log(`reusing the IIP pyramid ${pyramid} (sharp took ${(meta.pyramidSeconds as number).toFixed(1)} s on ${meta.pyramidMeasuredAt})`);

  return {
    dir,
    master,
    masterBytes: meta.masterBytes,
    pyramid,
    pyramidBytes: meta.pyramidBytes as number,
    pyramidSeconds: meta.pyramidSeconds as number,
    pyramidMeasuredAt: meta.pyramidMeasuredAt as string,
    pyramidFresh: fresh,
  };
}

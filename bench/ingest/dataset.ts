/**
 * The source data of the ingest benchmark: scanner-like, uncompressed RGB TIFFs (A4-ish page,
 * 600 dpi) of paper-grey gaussian noise with a band of Vietnamese text (no CJK font is
 * installed here, so no Han characters), laid out as
 * `thukho ingest` expects: DIR/<object folder>/<page files> plus DIR/metadata.csv (folder,title).
 * Every file's bytes are distinct (fresh random noise, and the page number in the text).
 */
import { randomFillSync } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** 4800 × 6944 × 3 = 99,993,600 bytes of pixels: ≈ 100 MB per file. */
export const WIDTH = 4800;
export const HEIGHT = 6944;
export const PAGES_PER_OBJECT = 2;

export interface DatasetFile {
  folder: string;
  name: string;
  path: string;
  size: number;
}

export interface Dataset {
  dir: string;
  files: DatasetFile[];
  bytes: number;
  objects: number;
}

/** Inverse normal CDF (Acklam's rational approximation); good to ~1e-9, plenty for a LUT. */
function invNorm(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/** Noise byte → gaussian offset (σ = 9 grey levels). */
const GAUSS = Int16Array.from({ length: 256 }, (_, i) => Math.round(9 * invNorm((i + 0.5) / 256)));
/** Slightly warm paper grey. */
const PAPER = [226, 221, 208] as const;

function paperNoise(width: number, height: number): Buffer {
  const pixels = width * height;
  const noise = Buffer.allocUnsafe(pixels);
  randomFillSync(noise);
  const raw = Buffer.allocUnsafe(pixels * 3);
  const [r0, g0, b0] = PAPER;
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    const n = GAUSS[noise[i] as number] as number;
    // Uint8 buffer writes clamp by wrapping, so clamp by hand (values stay within 0..255 here anyway).
    raw[o] = Math.min(255, Math.max(0, r0 + n));
    raw[o + 1] = Math.min(255, Math.max(0, g0 + n));
    raw[o + 2] = Math.min(255, Math.max(0, b0 + n));
  }
  return raw;
}

const LINES = [
  'Địa bạ làng Phú Xuân, tổng Yên Lạc, huyện Thọ Xương',
  'Xã Phú Xuân, phủ Hoài Đức, tỉnh Hà Nội — sổ địa bạ lập năm Đinh Tỵ',
  'Năm Tự Đức thứ mười, tháng Ba ngày mồng bốn — kê khai ruộng đất công tư',
  'Một, công điền ba mươi hai mẫu năm sào, chia làm ba hạng thượng trung hạ',
  'Thư khố — bản sao số hoá để bảo tồn lâu dài',
];

function textBand(width: number, label: string): Buffer {
  const lineHeight = 150;
  const rows = [...LINES, label];
  const height = rows.length * lineHeight + 100;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const text = rows
    .map((line, i) => `<text x="240" y="${140 + i * lineHeight}" font-family="DejaVu Serif, serif" font-size="96" fill="#2b2520" fill-opacity="0.92">${esc(line)}</text>`)
    .join('');
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${text}</svg>`);
}

/** Renders the SVG band and blends it (ink over paper) into the RGB buffer at row `top`. */
async function blendText(raw: Buffer, svg: Buffer, top: number): Promise<void> {
  const { data, info } = await sharp(svg).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const rows = Math.min(info.height, HEIGHT - top);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < Math.min(info.width, WIDTH); x++) {
      const s = (y * info.width + x) * 4;
      const alpha = (data[s + 3] as number) / 255;
      if (alpha === 0) continue;
      const d = ((top + y) * WIDTH + x) * 3;
      for (let c = 0; c < 3; c++) raw[d + c] = Math.round((raw[d + c] as number) * (1 - alpha) + (data[s + c] as number) * alpha);
    }
  }
}

/** Writes `count` TIFFs under `dir` (which must not exist) and the metadata.csv. */
export async function makeDataset(dir: string, count: number, log: (line: string) => void): Promise<Dataset> {
  mkdirSync(dir, { recursive: true });
  const files: DatasetFile[] = [];
  const objects = Math.ceil(count / PAGES_PER_OBJECT);
  const csv = ['folder,title'];
  const started = Date.now();
  for (let o = 0; o < objects; o++) {
    const folder = `Địa bạ ${String(o + 1).padStart(2, '0')}`;
    mkdirSync(join(dir, folder));
    csv.push(`${folder},Địa bạ làng Phú Xuân tập ${o + 1}`);
    for (let p = 0; p < PAGES_PER_OBJECT && files.length < count; p++) {
      const name = `trang_${p + 1}.tif`;
      const path = join(dir, folder, name);
      const raw = paperNoise(WIDTH, HEIGHT);
      await blendText(raw, textBand(WIDTH, `Tập ${o + 1}, trang ${p + 1} — tệp ${files.length + 1}/${count}`), 900 + 37 * p);
      await sharp(raw, { raw: { width: WIDTH, height: HEIGHT, channels: 3 }, limitInputPixels: false })
        .withMetadata({ density: 600 })
        .tiff({ compression: 'none' })
        .toFile(path);
      const size = statSync(path).size;
      files.push({ folder, name, path, size });
    }
    log(`  generated ${files.length}/${count} files (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  writeFileSync(join(dir, 'metadata.csv'), `${csv.join('\n')}\n`);
  return { dir, files, bytes: files.reduce((n, f) => n + f.size, 0), objects };
}

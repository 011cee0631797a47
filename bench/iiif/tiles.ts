/**
 * The load of the IIIF bench: every tile of the standard IIIF tile grid (256 px tiles) at
 * every scale factor 1…64, as a deep-zoom viewer (OpenSeadragon, Mirador) asks for them:
 * region `x,y,w,h` with w = h = 256·s clipped at the right and bottom edges, size `ceil(w/s),`.
 * For 10,000 × 14,000 px that is 2,952 tiles. The order is shuffled with a fixed seed, so
 * that both servers see the same sequence of distinct requests at all zoom levels.
 */
import { mulberry32 } from '../../tests/helpers/prng.ts';

export interface Tile {
  scale: number;
  x: number;
  y: number;
  w: number;
  h: number;
  /** Expected output width and (rounded, servers may differ by 1) height. */
  outW: number;
  outH: number;
  /** `x,y,w,h/ceil(w/s),` — the part of the URL both servers share. */
  path: string;
}

export const TILE = 256;
export const SCALE_FACTORS = [1, 2, 4, 8, 16, 32, 64] as const;
export const SEED = 20261127;

export function tileGrid(width: number, height: number, tile = TILE, scales: readonly number[] = SCALE_FACTORS): Tile[] {
  const out: Tile[] = [];
  for (const s of scales) {
    const step = tile * s;
    for (let y = 0; y < height; y += step) {
      for (let x = 0; x < width; x += step) {
        const w = Math.min(step, width - x);
        const h = Math.min(step, height - y);
        const outW = Math.ceil(w / s);
        const outH = Math.round((h * outW) / w);
        out.push({ scale: s, x, y, w, h, outW, outH, path: `${x},${y},${w},${h}/${outW},` });
      }
    }
  }
  return out;
}


export function shuffled<T>(items: readonly T[], seed = SEED): T[] {
  const out = [...items];
  const rnd = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * ~20 tiles for the like-with-like check before the load: the first and the last
 * (bottom-right, clipped) tile of every scale factor, then shuffled ones up to `count`.
 */
export function sampleTiles(grid: readonly Tile[], order: readonly Tile[], count = 20): Tile[] {
  const picked = new Set<Tile>();
  for (const s of SCALE_FACTORS) {
    const level = grid.filter((t) => t.scale === s);
    if (level.length) {
      picked.add(level[0] as Tile);
      picked.add(level[level.length - 1] as Tile);
    }
  }
  for (const t of order) {
    if (picked.size >= count) break;
    picked.add(t);
  }
  return [...picked];
}

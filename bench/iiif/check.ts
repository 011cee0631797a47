/**
 * Like with like, before any load: ~20 tiles from a server (every scale factor, the clipped
 * bottom-right corner tiles, some at random) must come back 200 image/jpeg with the pixel
 * dimensions the IIIF request asks for (decoded with sharp), and info.json must describe a
 * 10,000 × 14,000 image. The tiles of the two servers are then compared pixel by pixel
 * (mean absolute difference per channel, 0…255): both should show the same picture.
 */
import sharp from 'sharp';
import type { Tile } from './tiles.ts';

export interface SampleTile {
  tile: Tile;
  bytes: number;
  width: number;
  height: number;
  /** Decoded RGB pixels. */
  raw: Buffer;
}

export interface CheckResult {
  ok: boolean;
  problems: string[];
  samples: SampleTile[];
  info: { width: number; height: number; tiles: string } | null;
}

export async function checkServer(
  baseUrl: string,
  paths: { tilePath(region: string, size: string): string; infoPath: string },
  samples: readonly Tile[],
  expected: { width: number; height: number },
): Promise<CheckResult> {
  const problems: string[] = [];
  const got: SampleTile[] = [];
  let info: CheckResult['info'] = null;
  try {
    const res = await fetch(`${baseUrl}${paths.infoPath}`);
    const text = await res.text();
    if (res.status !== 200) problems.push(`info.json → HTTP ${res.status}: ${text.slice(0, 300)}`);
    else {
      const j = JSON.parse(text) as { width?: number; height?: number; tiles?: Array<{ width?: number; scaleFactors?: number[] }> };
      info = { width: j.width ?? NaN, height: j.height ?? NaN, tiles: JSON.stringify(j.tiles ?? null) };
      if (j.width !== expected.width || j.height !== expected.height) problems.push(`info.json says ${j.width} × ${j.height}, expected ${expected.width} × ${expected.height}`);
    }
  } catch (err) {
    problems.push(`info.json: ${(err as Error).message}`);
  }
  for (const tile of samples) {
    const [region = '', size = ''] = tile.path.split('/');
    const url = `${baseUrl}${paths.tilePath(region, size)}`;
    try {
      const res = await fetch(url);
      const body = Buffer.from(await res.arrayBuffer());
      const type = res.headers.get('content-type') ?? '';
      if (res.status !== 200) {
        problems.push(`${tile.path} → HTTP ${res.status} ${type}: ${body.toString('utf8', 0, Math.min(200, body.length))}`);
        continue;
      }
      if (!type.startsWith('image/jpeg')) problems.push(`${tile.path} → content-type "${type}", expected image/jpeg`);
      const { data, info: meta } = await sharp(body).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      if (meta.width !== tile.outW || Math.abs(meta.height - tile.outH) > 1) {
        problems.push(`${tile.path} → ${meta.width} × ${meta.height} px, expected ${tile.outW} × ${tile.outH}`);
      }
      got.push({ tile, bytes: body.length, width: meta.width, height: meta.height, raw: data });
    } catch (err) {
      problems.push(`${tile.path}: ${(err as Error).message}`);
    }
  }
  return { ok: problems.length === 0, problems, samples: got, info };
}

/** Mean absolute difference (0…255) over the common area of each pair of tiles: mean and worst. */
export function compareSamples(a: readonly SampleTile[], b: readonly SampleTile[]): { pairs: number; mean: number; worst: number; worstTile: string } {
  let sum = 0;
  let pairs = 0;
  let worst = 0;
  let worstTile = '-';
  for (const x of a) {
    const y = b.find((t) => t.tile.path === x.tile.path);
    if (!y) continue;
    const w = Math.min(x.width, y.width);
    const h = Math.min(x.height, y.height);
    let d = 0;
    for (let row = 0; row < h; row++) {
      for (let i = 0; i < w * 3; i++) d += Math.abs((x.raw[row * x.width * 3 + i] as number) - (y.raw[row * y.width * 3 + i] as number));
    }
    const mad = d / (w * h * 3);
    sum += mad;
    pairs++;
    if (mad > worst) {
      worst = mad;
      worstTile = x.tile.path;
    }
  }
  return { pairs, mean: pairs ? sum / pairs : NaN, worst, worstTile };
}

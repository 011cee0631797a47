import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { DerivativeInfo } from '../domain/events.ts';

/**
 * Access derivatives of image masters, outside OCFL (they are reproducible from the master):
 *
 *   {root}/ab/cd/{sha512 of master}/
 *     pyramid.tif        tiled pyramidal TIFF, JPEG tiles, sRGB: renders any region at any scale
 *     tiles/{canonical}  the standard IIIF tile grid and whole-image sizes, cut once, named by
 *                        their canonical Image API 3 request ("0,0,256,256/256,256/0/default.jpg")
 *     derivative.json    what was made (DerivativeInfo), written last
 *
 * Serving a deep-zoom session is then reading small files: no decode, no encode. A build
 * happens in a temporary folder and is renamed into place whole, so a crash never leaves a
 * half-made derivative where the image server would find it.
 */
const JPEG_QUALITY = 85;
/** Whole-image sizes up to this edge get their own file (thumbnails, page strips). */
const MAX_SIZE_EDGE = 2048;

export class DerivativeError extends Error {
  constructor(
    readonly kind: 'undecodable' | 'io',
    message: string,
  ) {
    super(message);
    this.name = 'DerivativeError';
  }
}

export interface BuildOptions {
  tileSize: number;
  /** Refuse masters whose header claims more pixels (decompression bombs). */
  maxPixels: number;
}

/** Scale factors of the standard grid: powers of two until the whole image fits one tile. */
export function gridScaleFactors(width: number, height: number, tileSize: number): number[] {
  const factors = [1];
  while (Math.max(width, height) / factors[factors.length - 1]! > tileSize) factors.push(factors[factors.length - 1]! * 2);
  return factors;
}

/** Whole-image sizes served from files: one per scale factor, up to MAX_SIZE_EDGE. */
export function gridSizes(width: number, height: number, scaleFactors: number[]): Array<{ width: number; height: number }> {
  return scaleFactors
    .map((s) => ({ width: Math.ceil(width / s), height: Math.ceil(height / s) }))
    .filter((s) => s.width <= MAX_SIZE_EDGE && s.height <= MAX_SIZE_EDGE)
    .sort((a, b) => a.width - b.width);
}

export class DerivativeStore {
  constructor(readonly root: string) {}

  dir(sha512: string): string {
    if (!/^[0-9a-f]{128}$/.test(sha512)) throw new Error(`not a sha512: ${sha512}`);
    return join(this.root, sha512.slice(0, 2), sha512.slice(2, 4), sha512);
  }

  pyramidPath(sha512: string): string {
    return join(this.dir(sha512), 'pyramid.tif');
  }

  /** File of a pre-cut response, by its canonical request path (validated by the caller). */
  tilePath(sha512: string, canonical: string): string {
    return join(this.dir(sha512), 'tiles', canonical);
  }

  /** What was made for this master, or null when nothing (complete) is there. */
  async read(sha512: string): Promise<DerivativeInfo | null> {
    let raw: string;
    try {
      raw = await readFile(join(this.dir(sha512), 'derivative.json'), 'utf8');
    } catch {
      return null;
    }
    const parsed = DerivativeInfo.safeParse(JSON.parse(raw));
    return parsed.success && parsed.data.masterSha512 === sha512 ? parsed.data : null;
  }

  /** Makes the derivatives of one master (or returns those already made: idempotent). */
  async build(masterPath: string, sha512: string, options: BuildOptions): Promise<DerivativeInfo> {
    const existing = await this.read(sha512);
    if (existing && existing.tileSize === options.tileSize) return existing;
    const final = this.dir(sha512);
    const tmp = join(this.root, '.tmp', `${sha512.slice(0, 16)}-${randomUUID()}`);
    await mkdir(tmp, { recursive: true });
    try {
      const info = await this.buildInto(tmp, masterPath, sha512, options);
      await mkdir(dirname(final), { recursive: true });
      // An older build (other tile size, or left by a crash before derivative.json) gives way.
      await rm(final, { recursive: true, force: true });
      try {
        await rename(tmp, final);
      } catch (err) {
        // Another worker finished the same master first: theirs is as good as ours.
        const theirs = await this.read(sha512);
        if (theirs) return theirs;
        throw err;
      }
      return info;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Removes build folders left by a crash. Only old ones: another worker process may be
   * building right now, and no build takes hours.
   */
  async sweepTemporary(olderThanMs = 6 * 3600_000): Promise<number> {
    const tmpRoot = join(this.root, '.tmp');
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(tmpRoot);
    } catch {
      return 0;
    }
    for (const name of names) {
      const s = await stat(join(tmpRoot, name)).catch(() => null);
      if (s && Date.now() - s.mtimeMs > olderThanMs) {
        await rm(join(tmpRoot, name), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  private async buildInto(tmp: string, masterPath: string, sha512: string, options: BuildOptions): Promise<DerivativeInfo> {
    const open = () =>
      sharp(masterPath, { limitInputPixels: options.maxPixels, failOn: 'error', sequentialRead: true })
        // JPEG has no alpha; scans with alpha are shown on white paper, not black.
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb');
    let width: number;
    let height: number;
    try {
      const meta = await sharp(masterPath, { limitInputPixels: options.maxPixels }).metadata();
      if (!meta.width || !meta.height) throw new Error('no dimensions');
      width = meta.width;
      height = meta.height;
    } catch (err) {
      throw new DerivativeError('undecodable', `sharp cannot read the master: ${(err as Error).message}`);
    }
    const pyramid = join(tmp, 'pyramid.tif');
    const tiles = join(tmp, 'tiles');
    try {
      await open()
        .tiff({ tile: true, tileWidth: options.tileSize, tileHeight: options.tileSize, pyramid: true, compression: 'jpeg', quality: JPEG_QUALITY })
        .toFile(pyramid);
      await open().jpeg({ quality: JPEG_QUALITY }).tile({ size: options.tileSize, overlap: 0, layout: 'iiif3' }).toFile(tiles);
    } catch (err) {
      const message = (err as Error).message;
      if (/ENOSPC|EACCES|EIO|EROFS|EMFILE/.test(message)) throw new DerivativeError('io', message);
      throw new DerivativeError('undecodable', `sharp cannot decode the master: ${message}`);
    }
    await rm(join(tiles, 'info.json'), { force: true });
    const scaleFactors = gridScaleFactors(width, height, options.tileSize);
    // The top grid tile of an image no larger than one tile is the whole image at full size,
    // whose canonical name is "full/max".
    const top = join(tiles, 'full', `${width},${height}`);
    if (await exists(top)) await rename(top, join(tiles, 'full', 'max'));
    const sizes = gridSizes(width, height, scaleFactors);
    for (const size of sizes) {
      const full = size.width === width && size.height === height;
      const dir = join(tiles, 'full', full ? 'max' : `${size.width},${size.height}`, '0');
      const file = join(dir, 'default.jpg');
      if (await exists(file)) continue;
      await mkdir(dir, { recursive: true });
      // From the pyramid: a small size never needs the full master decoded again.
      await sharp(pyramid, { page: pageFor(width, size.width) }).resize(size.width, size.height, { fit: 'fill' }).jpeg({ quality: JPEG_QUALITY }).toFile(file);
    }
    const pyramidMeta = await sharp(pyramid).metadata();
    const info: DerivativeInfo = {
      masterSha512: sha512,
      width,
      height,
      pyramid: { sha256: await sha256File(pyramid), size: (await stat(pyramid)).size, levels: pyramidMeta.pages ?? 1 },
      tileSize: options.tileSize,
      scaleFactors,
      tiles: await countFiles(tiles),
      sizes,
      software: `sharp ${sharp.versions.sharp ?? '?'} / libvips ${sharp.versions.vips}`,
    };
    await writeFile(join(tmp, 'derivative.json'), `${JSON.stringify(info, null, 2)}\n`);
    return info;
  }
}

/** The pyramid page (level) whose width is the smallest still at least `wanted`. */
export function pageFor(fullWidth: number, wanted: number, levels = 64): number {
  let page = 0;
  let w = fullWidth;
  while (page + 1 < levels && Math.floor(w / 2) >= wanted) {
    w = Math.floor(w / 2);
    page++;
  }
  return page;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) n++;
  return n;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { DerivativeInfo } from '../domain/events.ts';
import { freeBytes, isNoSpace, NEARLY_FULL_BYTES } from '../storage/disk-space.ts';
import { openImage } from '../image-input.ts';

/**
 * Access derivatives of image masters, outside OCFL (they are reproducible from the master):
 *
 *   {root}/ab/cd/{sha512 of master}/     (page n ≥ 2 of a multi-page master: {sha512}.p{n}/)
 *     pyramid.tif        tiled pyramidal TIFF, JPEG tiles, sRGB (one gray channel for bilevel and
 *                        gray masters): renders any region at any scale
 *     tiles.zip          the standard IIIF tile grid cut once (a plain "stored" zip, readable
 *                        with unzip), each entry named by its canonical Image API 3 request
 *                        ("0,0,256,256/256,256/0/default.jpg")
 *     tiles.index.json   canonical request → [offset, length] of its bytes in tiles.zip
 *     sizes/W,H.jpg      whole-image sizes (thumbnails, page strips)
 *     derivative.json    what was made (DerivativeInfo), written last
 *
 * Serving a deep-zoom session is then one read per tile at a known offset of one open file:
 * no decode, no encode, no directory lookups, and thousands of tiles cost one inode, not
 * thousands. A build happens in a temporary folder and is renamed into place whole, so a
 * crash never leaves a half-made derivative where the image server would find it.
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
  /** Page of a multi-page master (1-based); 1 by default. */
  page?: number;
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

  /** Page 1's folder is named by the master's digest alone (as before masters had pages), page n's `{sha512}.p{n}`. */
  dir(sha512: string, page = 1): string {
    if (!/^[0-9a-f]{128}$/.test(sha512)) throw new Error(`not a sha512: ${sha512}`);
    if (!Number.isInteger(page) || page < 1) throw new Error(`not a page number: ${page}`);
    return join(this.root, sha512.slice(0, 2), sha512.slice(2, 4), page === 1 ? sha512 : `${sha512}.p${page}`);
  }

  pyramidPath(sha512: string, page = 1): string {
    return join(this.dir(sha512, page), 'pyramid.tif');
  }

  /** File of a whole-image size. */
  sizePath(sha512: string, width: number, height: number, page = 1): string {
    return join(this.dir(sha512, page), 'sizes', `${width},${height}.jpg`);
  }

  /** The pre-cut tile grid of a master's page, opened for reading; null when there is none. */
  async openTiles(sha512: string, page = 1): Promise<TilePack | null> {
    let entries: Record<string, [number, number]>;
    try {
      entries = JSON.parse(await readFile(join(this.dir(sha512, page), 'tiles.index.json'), 'utf8')) as Record<string, [number, number]>;
    } catch {
      return null;
    }
    const handle = await open(join(this.dir(sha512, page), 'tiles.zip'), 'r').catch(() => null);
    return handle ? new TilePack(handle, new Map(Object.entries(entries))) : null;
  }

  /** What was made for this master's page, or null when nothing (complete) is there. */
  async read(sha512: string, page = 1): Promise<DerivativeInfo | null> {
    let raw: string;
    try {
      raw = await readFile(join(this.dir(sha512, page), 'derivative.json'), 'utf8');
    } catch {
      return null;
    }
    const parsed = DerivativeInfo.safeParse(JSON.parse(raw));
    if (!parsed.success || parsed.data.masterSha512 !== sha512 || (parsed.data.page ?? 1) !== page) return null;
    // A folder of an older layout (loose tile files) is remade, not served half.
    const index = await stat(join(this.dir(sha512, page), 'tiles.index.json')).catch(() => null);
    return index ? parsed.data : null;
  }

  /** Makes the derivatives of one page of a master (or returns those already made: idempotent). */
  build(masterPath: string, sha512: string, options: BuildOptions): Promise<DerivativeInfo> {
    const page = options.page ?? 1;
    return this.buildWith(sha512, options, (tmp) => this.buildInto(tmp, { path: masterPath, page: page - 1 }, sha512, page, options));
  }

  /**
   * Makes the derivatives of one page of a master that sharp cannot read itself (a PDF's
   * page), from pixels another renderer drew: `render` is called only when they are not
   * made yet, and its image (PNG) is kept in the build folder just while the build reads it.
   * `renderedBy` names that renderer in `software`.
   */
  buildFromRendered(render: () => Promise<Buffer>, sha512: string, options: BuildOptions & { renderedBy: string }): Promise<DerivativeInfo> {
    const page = options.page ?? 1;
    return this.buildWith(sha512, options, async (tmp) => {
      const source = join(tmp, 'rendered.png');
      await writeFile(source, await render());
      try {
        const info = await this.buildInto(tmp, { path: source, page: 0 }, sha512, page, options);
        const rendered: DerivativeInfo = { ...info, software: `${options.renderedBy} / ${info.software}`.slice(0, 200) };
        await writeFile(join(tmp, 'derivative.json'), `${JSON.stringify(rendered, null, 2)}\n`);
        return rendered;
      } finally {
        await rm(source, { force: true });
      }
    });
  }

  /** A build in a temporary folder (`make` fills it), renamed into place whole. */
  private async buildWith(sha512: string, options: BuildOptions, make: (tmp: string) => Promise<DerivativeInfo>): Promise<DerivativeInfo> {
    const page = options.page ?? 1;
    const existing = await this.read(sha512, page);
    if (existing && existing.tileSize === options.tileSize) return existing;
    const final = this.dir(sha512, page);
    const tmp = join(this.root, '.tmp', `${sha512.slice(0, 16)}-${randomUUID()}`);
    await mkdir(tmp, { recursive: true });
    try {
      const info = await make(tmp);
      await mkdir(dirname(final), { recursive: true });
      // An older build (other tile size, or left by a crash before derivative.json) gives way.
      await rm(final, { recursive: true, force: true });
      try {
        await rename(tmp, final);
      } catch (err) {
        // Another worker finished the same master first: theirs is as good as ours.
        const theirs = await this.read(sha512, page);
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

  /** `source`: the image sharp reads and which of its pages; `page`: the master's page these are of. */
  private async buildInto(tmp: string, source: { path: string; page: number }, sha512: string, page: number, options: BuildOptions): Promise<DerivativeInfo> {
    const { maxPixels } = options;
    const masterPath = source.path;
    const input = { maxPixels, page: source.page };
    let width: number;
    let height: number;
    let colourspace: 'b-w' | 'srgb';
    try {
      const meta = await openImage(masterPath, input).metadata();
      if (!meta.width || !meta.height) throw new Error('no dimensions');
      width = meta.width;
      height = meta.height;
      colourspace = colourspaceOf(meta);
    } catch (err) {
      throw new DerivativeError('undecodable', `sharp cannot read the master: ${(err as Error).message}`);
    }
    // Sequential: libvips streams the master top to bottom through both writers, so a
    // gigapixel scan costs a band of lines in memory, never its raster.
    const open = () =>
      openImage(masterPath, { ...input, sequential: true })
        // JPEG has no alpha; scans with alpha are shown on white paper, not black.
        .flatten({ background: '#ffffff' })
        .toColourspace(colourspace);
    const pyramid = join(tmp, 'pyramid.tif');
    try {
      // Two passes over the master at once: libvips streams both, and the two cores share them.
      await Promise.all([
        open()
          .tiff({ tile: true, tileWidth: options.tileSize, tileHeight: options.tileSize, pyramid: true, compression: 'jpeg', quality: JPEG_QUALITY })
          .toFile(pyramid),
        open().jpeg({ quality: JPEG_QUALITY }).tile({ size: options.tileSize, overlap: 0, layout: 'iiif3', container: 'zip' }).toFile(join(tmp, 'tiles.zip')),
      ]);
    } catch (err) {
      const message = (err as Error).message;
      // libvips reports a full disk only as text, and not always as "No space left on device"
      // ("write failed", "Unknown error -1"): a write error on a disk with no space left is the full disk.
      if (isNoSpace(err) || (freeBytes(tmp) ?? Infinity) < NEARLY_FULL_BYTES) throw new DerivativeError('io', `no space left on device: ${message}`);
      if (/EACCES|EIO|EROFS|EMFILE/.test(message)) throw new DerivativeError('io', message);
      throw new DerivativeError('undecodable', `sharp cannot decode the master: ${message}`);
    }
    const index = await indexTileZip(join(tmp, 'tiles.zip'), { width, height });
    await writeFile(join(tmp, 'tiles.index.json'), JSON.stringify(Object.fromEntries(index)));
    const scaleFactors = gridScaleFactors(width, height, options.tileSize);
    const sizes = gridSizes(width, height, scaleFactors);
    await mkdir(join(tmp, 'sizes'));
    for (const size of sizes) {
      // From the pyramid: a small size never needs the full master decoded again.
      await openImage(pyramid, { maxPixels, page: pageFor(width, size.width) })
        .resize(size.width, size.height, { fit: 'fill' })
        // sharp writes sRGB unless told otherwise, even from a one-channel pyramid.
        .toColourspace(colourspace)
        .jpeg({ quality: JPEG_QUALITY })
        .toFile(join(tmp, 'sizes', `${size.width},${size.height}.jpg`));
    }
    // The pyramid's first page is as large as the master: the same pixel limit applies.
    const pyramidMeta = await openImage(pyramid, { maxPixels }).metadata();
    const info: DerivativeInfo = {
      masterSha512: sha512,
      ...(page > 1 ? { page } : {}),
      width,
      height,
      pyramid: { sha256: await sha256File(pyramid), size: (await stat(pyramid)).size, levels: pyramidMeta.pages ?? 1 },
      tileSize: options.tileSize,
      scaleFactors,
      tiles: index.size,
      sizes,
      software: `sharp ${sharp.versions.sharp ?? '?'} / libvips ${sharp.versions.vips}`,
    };
    await writeFile(join(tmp, 'derivative.json'), `${JSON.stringify(info, null, 2)}\n`);
    return info;
  }
}

/** Tiles of one master: one open file, one positioned read per tile. */
export class TilePack {
  constructor(
    private readonly handle: FileHandle,
    private readonly index: Map<string, [number, number]>,
  ) {}

  get size(): number {
    return this.index.size;
  }

  has(canonical: string): boolean {
    return this.index.has(canonical);
  }

  async read(canonical: string): Promise<Buffer | undefined> {
    const entry = this.index.get(canonical);
    if (!entry) return undefined;
    const [offset, length] = entry;
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.handle.read(buffer, 0, length, offset);
    return bytesRead === length ? buffer : undefined;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * Where each tile's bytes are in the zip libvips wrote (entries are "stored", uncompressed),
 * keyed by canonical request: the central directory gives each local header, whose own
 * lengths give the data offset. The one tile of an image no larger than a tile is the whole
 * image at full size, canonically "full/max". Only the directory and the headers are read:
 * a gigapixel master's tiles are hundreds of megabytes that need not pass through memory.
 */
export async function indexTileZip(path: string, full: { width: number; height: number }): Promise<Map<string, [number, number]>> {
  const handle = await open(path, 'r');
  try {
    const at = async (position: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead !== length) throw new DerivativeError('io', `tile zip: short read of ${length} bytes at ${position}`);
      return buffer;
    };
    const { size: fileSize } = await handle.stat();
    // End of central directory (22 bytes + a comment of up to 65,535) and the ZIP64 locator before it.
    const tailStart = Math.max(0, fileSize - (22 + 65_535 + 20));
    const tail = await at(tailStart, fileSize - tailStart);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new DerivativeError('io', 'tile zip has no end of central directory');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdStart = tail.readUInt32LE(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && tail.readUInt32LE(locator) === 0x07064b50) {
      const eocd64 = await at(Number(tail.readBigUInt64LE(locator + 8)), 56);
      count = Number(eocd64.readBigUInt64LE(32));
      cdSize = Number(eocd64.readBigUInt64LE(40));
      cdStart = Number(eocd64.readBigUInt64LE(48));
    }
    const cd = await at(cdStart, cdSize);
    const index = new Map<string, [number, number]>();
    for (let i = 0, p = 0; i < count; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new DerivativeError('io', `tile zip: bad central directory entry ${i}`);
      const method = cd.readUInt16LE(p + 10);
      let size = cd.readUInt32LE(p + 20);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      let local = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
      // ZIP64: sizes and offsets that do not fit 32 bits are in the extra field, in this order.
      for (let e = p + 46 + nameLength; e < p + 46 + nameLength + extraLength; ) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (cd.readUInt32LE(p + 24) === 0xffffffff) q += 8;
          if (size === 0xffffffff) (size = Number(cd.readBigUInt64LE(q))), (q += 8);
          if (local === 0xffffffff) local = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      p += 46 + nameLength + extraLength + commentLength;
      if (method !== 0 || !name.endsWith('.jpg')) continue;
      // The local header's own name and extra lengths, which may differ from the directory's.
      const lengths = await at(local + 26, 4);
      const data = local + 30 + lengths.readUInt16LE(0) + lengths.readUInt16LE(2);
      // Entries are "{folder}/{region}/{size}/0/default.jpg": drop the folder.
      let canonical = name.slice(name.indexOf('/') + 1);
      if (canonical === `full/${full.width},${full.height}/0/default.jpg`) canonical = 'full/max/0/default.jpg';
      index.set(canonical, [data, size]);
    }
    return index;
  } finally {
    await handle.close();
  }
}

/**
 * The colourspace of a master's derivatives. Bilevel and gray scans (most text pages) keep
 * their one channel: as three equal RGB channels their pyramid and tiles cost more bytes and
 * decode time for no visible difference. Everything else, palette images included (libvips
 * reads them as RGB), becomes sRGB.
 */
export function colourspaceOf(meta: Pick<Metadata, 'channels' | 'hasAlpha'>): 'b-w' | 'srgb' {
  const colourChannels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
  return colourChannels === 1 ? 'b-w' : 'srgb';
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



async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ImageFile } from '../projections/object-read-model.ts';
import { type DerivativeStore, gridScaleFactors, gridSizes, type TilePack } from './derivative-store.ts';
import { FORMATS, type ImageLimits, type ImageRequest, parseImageRequest, QUALITIES } from './image-request.ts';
import { CONTENT_TYPES, type RenderSource, readLevels, renderImage } from './render.ts';
import type { RenderBudget } from './render-budget.ts';
import { type RenderRate, renderCost } from './render-rate.ts';
import type { CachedResponse, DiskCache, MemoryLru } from './response-cache.ts';

/**
 * The Image API 3 service (level 2) over stored images, free of HTTP. An image request is
 * parsed to its canonical form, then answered from the first place that has it:
 *   1. the memory cache;
 *   2. the pre-cut file of that canonical request (the standard tile grid and whole-image
 *      sizes, cut at derivative time): read, no decode, no encode;
 *   3. the disk cache of earlier renders;
 *   4. a render from the pyramid level closest to the requested scale;
 *   5. a render from the master, when the derivative is not there (yet, or any more — then
 *      it is requested again) and the master is small enough to render per request. A
 *      larger master is never rendered per request: its derivative is requested and the
 *      client told to come back (ImageNotReadyError, a 503 with Retry-After).
 * Renders (4 and 5) are rationed per client by a RenderBudget (in flight) and a RenderRate
 * (over time); 1–3 never wait for either.
 */
export interface ImageServiceOptions {
  derivatives: DerivativeStore;
  /** Where a master's bytes are on disk. */
  masterPath: (file: ImageFile) => string;
  limits: ImageLimits;
  tileSize: number;
  /** THUKHO_MAX_PIXELS: the one pixel limit of every stored image. */
  maxPixels: number;
  /** Masters larger than this are never rendered per request, only from their derivative. */
  masterRenderMaxPixels: number;
  budget: RenderBudget;
  /** How much rendering each client may ask for over time. */
  rate: RenderRate;
  memory: MemoryLru<RememberedResponse>;
  disk: DiskCache;
  /** Ask for the derivatives of a file (again: missing, failed, or not made yet). */
  requestDerivative: (file: ImageFile) => void;
}

export type ImageSource = 'memory' | 'tile' | 'disk' | 'pyramid' | 'master';
/** Where cached bytes came from: a pre-cut file, a pyramid render or a master render. */
type Origin = 'f' | 'p' | 'm';
export interface RememberedResponse extends CachedResponse {
  etag: string;
}

export interface ImageResponse {
  body: Buffer;
  contentType: string;
  /** Strong: the same canonical request of the same master from the same kind of source. */
  etag: string;
  canonical: string;
  source: ImageSource;
}

/** The master is too large to render per request and its derivative is being made. */
export class ImageNotReadyError extends Error {
  constructor(
    readonly fileId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`image ${fileId} is being prepared; retry in ${retryAfterSeconds} s`);
    this.name = 'ImageNotReadyError';
  }
}

export class ImageUnavailableError extends Error {
  constructor(
    readonly fileId: string,
    readonly reason: string,
  ) {
    super(`image ${fileId} cannot be rendered: ${reason}`);
    this.name = 'ImageUnavailableError';
  }
}

/** Parsed requests remembered (a few hundred bytes each). */
const MAX_PARSED = 50_000;
/** Tile packs kept open (one file descriptor each). */
const MAX_OPEN_PACKS = 256;

export const IMAGE_CONTEXT = 'http://iiif.io/api/image/3/context.json';
export const LEVEL2_PROFILE_URI = 'http://iiif.io/api/image/3/level2.json';
// Level 2 already requires regions by px/pct/square and every size form; the features beyond
// that which the parser and renderer carry out. rotationBy90s is listed although arbitrary
// rotation covers it: a client checking for the feature by name finds it.
export const EXTRA_FEATURES: readonly string[] = ['canonicalLinkHeader', 'mirroring', 'profileLinkHeader', 'rotationArbitrary', 'rotationBy90s', 'sizeUpscaling'];
/**
 * Image API 3 §5.3 (since 3.0, PR IIIF/api#1809): every quality served beyond `default` is
 * listed, whatever the profile implies — clients read this list, not the compliance table.
 * Derived from what the request parser accepts, so a quality added there is announced here.
 */
export const EXTRA_QUALITIES: readonly string[] = QUALITIES.filter((q) => q !== 'default');
/** Formats beyond those level 2 implies (jpg, png): what the parser accepts besides them. */
const LEVEL2_FORMATS: readonly string[] = ['jpg', 'png'];
export const EXTRA_FORMATS: readonly string[] = FORMATS.filter((f) => !LEVEL2_FORMATS.includes(f));

export class ImageService {
  private readonly levels = new Map<string, Promise<RenderSource['levels']>>();
  private readonly packs = new Map<string, Promise<TilePack | null>>();
  /**
   * Parsed requests by image size and the URL's own segments: a deep-zoom session asks for the
   * same few thousand tiles again and again, and parsing is a tenth of a cached tile's cost.
   * Only successful parses are kept (a 400 is parsed each time); the limits never change in a
   * process, so size + segments decide the parse.
   */
  private readonly parsed = new Map<string, ImageRequest>();

  constructor(private readonly o: ImageServiceOptions) {}

  info(file: ImageFile & { width: number; height: number }, serviceId: string): Record<string, unknown> {
    const { width, height } = file;
    const scaleFactors = gridScaleFactors(width, height, this.o.tileSize);
    return {
      '@context': IMAGE_CONTEXT,
      id: serviceId,
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level2',
      width,
      height,
      maxWidth: this.o.limits.maxWidth,
      maxHeight: this.o.limits.maxHeight,
      maxArea: this.o.limits.maxArea,
      // Only sizes this server will render: an operator's limits may be below a level's size.
      sizes: gridSizes(width, height, scaleFactors).filter(
        (s) => s.width <= this.o.limits.maxWidth && s.height <= this.o.limits.maxHeight && s.width * s.height <= this.o.limits.maxArea,
      ),
      tiles: [{ width: this.o.tileSize, height: this.o.tileSize, scaleFactors }],
      preferredFormats: ['jpg', 'webp'],
      extraFormats: [...EXTRA_FORMATS],
      extraQualities: [...EXTRA_QUALITIES],
      extraFeatures: [...EXTRA_FEATURES],
    };
  }

  /**
   * Parse (throws ImageRequestError, a 400) and answer one image request. `client` names
   * who asks, for the render budget (throws RenderBudgetExceededError when over it).
   */
  async image(
    file: ImageFile & { width: number; height: number },
    segments: { region: string; size: string; rotation: string; qualityFormat: string },
    client: string,
  ): Promise<ImageResponse> {
    const req = this.parse(file, segments);
    const image = imageKey(file);
    const key = `${image}/${req.canonical}`;
    const contentType = CONTENT_TYPES[req.format];
    const cached = this.o.memory.get(key);
    if (cached) return { body: cached.body, contentType, etag: cached.etag, canonical: req.canonical, source: 'memory' };
    const respond = (body: Buffer, source: ImageSource, origin: Origin): ImageResponse => {
      const etag = etagFor(image, req.canonical, origin);
      this.o.memory.set(key, { body, contentType, etag });
      return { body, contentType, etag, canonical: req.canonical, source };
    };

    if (file.hasDerivative) {
      const tile = await this.readTile(file, req);
      if (tile) return respond(tile, 'tile', 'f');
    }
    const onDisk = await this.o.disk.get(key, contentType);
    if (onDisk) {
      return respond(onDisk.body, 'disk', file.hasDerivative ? 'p' : 'm');
    }
    const { body, source } = await this.render(file, req, client);
    // Renders from the master are stop-gaps until the derivative exists: not worth the disk.
    if (source === 'pyramid') await this.o.disk.set(key, { body, contentType });
    return respond(body, source, source === 'pyramid' ? 'p' : 'm');
  }

  private parse(file: { width: number; height: number }, segments: { region: string; size: string; rotation: string; qualityFormat: string }): ImageRequest {
    const raw = `${file.width}x${file.height}/${segments.region}/${segments.size}/${segments.rotation}/${segments.qualityFormat}`;
    let req = this.parsed.get(raw);
    if (!req) {
      req = parseImageRequest(segments, { width: file.width, height: file.height }, this.o.limits);
      if (this.parsed.size >= MAX_PARSED) this.parsed.clear();
      this.parsed.set(raw, req);
    }
    return req;
  }

  private async readTile(file: Pick<ImageFile, 'sha512' | 'page'>, req: ImageRequest): Promise<Buffer | undefined> {
    // Only unrotated default/colour JPEGs are cut in advance; anything else is rendered.
    if (req.format !== 'jpg' || req.rotation.degrees !== 0 || req.rotation.mirror) return undefined;
    if (req.quality !== 'default' && req.quality !== 'color') return undefined;
    // "full/max" is the whole image at full size in the files; a server limit below that
    // makes "max" smaller, and the file would be the wrong answer.
    const { maxWidth, maxHeight, maxArea } = this.o.limits;
    if (req.fullRegion && (req.region.w > maxWidth || req.region.h > maxHeight || req.region.w * req.region.h > maxArea) && req.canonical.startsWith('full/max/')) return undefined;
    const canonical = req.quality === 'color' ? req.canonical.replace(/\/color\.jpg$/, '/default.jpg') : req.canonical;
    const pack = await this.tilePack(file);
    if (pack?.has(canonical)) {
      const bytes = await pack.read(canonical).catch(() => undefined);
      if (bytes) return bytes;
      this.packs.delete(imageKey(file));
    }
    if (req.fullRegion && !req.size.upscaled) {
      return readFile(this.o.derivatives.sizePath(file.sha512, req.size.width, req.size.height, file.page)).catch(() => undefined);
    }
    return undefined;
  }

  /** Open tile packs, least recently used first; a closed one is closed late, after reads in flight. */
  private tilePack(file: Pick<ImageFile, 'sha512' | 'page'>): Promise<TilePack | null> {
    const key = imageKey(file);
    let pack = this.packs.get(key);
    if (pack) {
      this.packs.delete(key);
      this.packs.set(key, pack);
      return pack;
    }
    pack = this.o.derivatives.openTiles(file.sha512, file.page).catch(() => null);
    this.packs.set(key, pack);
    // Not there yet (the worker may be making it): ask again next time.
    void pack.then((p) => {
      if (!p && this.packs.get(key) === pack) this.packs.delete(key);
    });
    if (this.packs.size > MAX_OPEN_PACKS) {
      const [oldest, evicted] = this.packs.entries().next().value as [string, Promise<TilePack | null>];
      this.packs.delete(oldest);
      void evicted.then((p) => p && setTimeout(() => void p.close().catch(() => {}), 30_000).unref());
    }
    return pack;
  }

  private async render(file: ImageFile & { width: number; height: number }, req: ImageRequest, client: string): Promise<{ body: Buffer; source: 'pyramid' | 'master' }> {
    // Not made yet (or failed): a large master waits for it without taking a turn.
    if (!file.hasDerivative) this.refuseLargeMaster(file);
    this.o.rate.take(client, renderCost(req));
    const release = await this.o.budget.acquire(client);
    try {
      if (file.hasDerivative) {
        const path = this.o.derivatives.pyramidPath(file.sha512, file.page);
        const levels = await this.pyramidLevels(imageKey(file), path);
        if (levels) {
          try {
            return { body: await renderImage({ path, levels, maxPixels: this.o.maxPixels }, req), source: 'pyramid' };
          } catch {
            this.levels.delete(imageKey(file));
          }
        }
        // Recorded but gone or unreadable (deleted, lost disk): have it made again, and
        // serve from the master meanwhile if that is affordable.
        this.refuseLargeMaster(file);
        this.o.requestDerivative(file);
      }
      const master = this.o.masterPath(file);
      try {
        const levels = [{ width: file.width, height: file.height }];
        return { body: await renderImage({ path: master, levels, maxPixels: this.o.maxPixels, firstPage: file.page - 1 }, req), source: 'master' };
      } catch (err) {
        throw new ImageUnavailableError(file.fileId, (err as Error).message);
      }
    } finally {
      release();
    }
  }

  /**
   * A master above `masterRenderMaxPixels` costs seconds of CPU and up to its whole raster
   * per render, and a PDF's page cannot be rendered from its master at all: its derivative
   * is asked for and the client told when to come back.
   */
  private refuseLargeMaster(file: ImageFile & { width: number; height: number }): void {
    const pixels = file.width * file.height;
    // A PDF page has pixels only in its derivative: sharp cannot draw the master.
    if (pixels <= this.o.masterRenderMaxPixels && file.mediaType !== 'application/pdf') return;
    this.o.requestDerivative(file);
    throw new ImageNotReadyError(file.fileId, retryAfterFor(pixels));
  }

  private async pyramidLevels(key: string, path: string): Promise<RenderSource['levels'] | undefined> {
    let levels = this.levels.get(key);
    if (!levels) {
      levels = readLevels(path, this.o.maxPixels);
      this.levels.set(key, levels);
      if (this.levels.size > 10_000) this.levels.delete(this.levels.keys().next().value as string);
    }
    try {
      return await levels;
    } catch {
      this.levels.delete(key);
      return undefined;
    }
  }
}

/** About how long a derivative takes to make: a few megapixels a second, within 10 s – 10 min. */
function retryAfterFor(pixels: number): number {
  return Math.min(600, Math.max(10, Math.ceil(pixels / 5_000_000)));
}

/**
 * What caches and ETags name an image by: its master's digest, and the page for pages 2… of a
 * multi-page master (page 1's keys are those of images from before masters had pages).
 */
function imageKey(file: Pick<ImageFile, 'sha512' | 'page'>): string {
  return file.page > 1 ? `${file.sha512}.p${file.page}` : file.sha512;
}

function etagFor(image: string, canonical: string, origin: Origin): string {
  return `"${createHash('sha1').update(image).update(canonical).update(origin).digest('base64url')}"`;
}

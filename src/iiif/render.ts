import sharp from 'sharp';
import { openImage } from '../image-input.ts';
import type { Format, ImageRequest } from './image-request.ts';

/**
 * Renders one Image API request with sharp from the best source there is: a pyramid level
 * no smaller than the requested scale (so a thumbnail of a 140-megapixel scan decodes a few
 * hundred kilobytes, not the master), or the master itself when no pyramid exists yet.
 */
export interface RenderSource {
  path: string;
  /** Size of each page (pyramid level), largest first; one entry for a master. */
  levels: Array<{ width: number; height: number }>;
  /** THUKHO_MAX_PIXELS: the one pixel limit of every stored image. */
  maxPixels: number;
  /** Page of the file that holds the first level: a later page of a multi-page master; 0 by default. */
  firstPage?: number;
}

export const CONTENT_TYPES: Record<Format, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
const JPEG_QUALITY = 85;

/** The smallest level that still has at least the requested pixel density. */
export function chooseLevel(levels: RenderSource['levels'], req: Pick<ImageRequest, 'region' | 'size'>): number {
  const full = levels[0]!;
  const needW = (full.width * req.size.width) / req.region.w;
  const needH = (full.height * req.size.height) / req.region.h;
  let best = 0;
  for (let p = 1; p < levels.length; p++) {
    const l = levels[p]!;
    if (l.width >= needW && l.height >= needH) best = p;
  }
  return best;
}

export async function renderImage(source: RenderSource, req: ImageRequest): Promise<Buffer> {
  const page = chooseLevel(source.levels, req);
  const full = source.levels[0]!;
  const level = source.levels[page]!;
  const fx = level.width / full.width;
  const fy = level.height / full.height;
  const left = Math.min(level.width - 1, Math.floor(req.region.x * fx));
  const top = Math.min(level.height - 1, Math.floor(req.region.y * fy));
  const width = Math.max(1, Math.min(level.width - left, Math.round(req.region.w * fx)));
  const height = Math.max(1, Math.min(level.height - top, Math.round(req.region.h * fy)));

  let img = openImage(source.path, { maxPixels: source.maxPixels, page: (source.firstPage ?? 0) + page })
    .flatten({ background: '#ffffff' })
    .extract({ left, top, width, height })
    .resize(req.size.width, req.size.height, { fit: 'fill' })
    .toColourspace('srgb');

  const { mirror, degrees } = req.rotation;
  if (mirror || degrees % 360 !== 0) {
    // sharp orders rotation and flips before the resize in one pipeline; the Image API
    // mirrors and rotates the scaled region, so that happens in a second pass.
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    img = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
    if (mirror) img = img.flop();
    if (degrees % 360 !== 0) {
      const transparent = req.format !== 'jpg' && degrees % 90 !== 0;
      if (transparent) img = img.ensureAlpha();
      img = img.rotate(degrees, { background: transparent ? { r: 0, g: 0, b: 0, alpha: 0 } : '#ffffff' });
    }
  }
  if (req.quality === 'gray') img = img.grayscale();
  if (req.quality === 'bitonal') img = img.grayscale().threshold(128);
  switch (req.format) {
    case 'jpg':
      return img.jpeg({ quality: JPEG_QUALITY }).toBuffer();
    case 'png':
      return img.png().toBuffer();
    case 'webp':
      return img.webp({ quality: 80 }).toBuffer();
  }
}

/** Page sizes of a (pyramidal) TIFF, largest first. */
export async function readLevels(path: string, maxPixels: number): Promise<RenderSource['levels']> {
  const meta = await openImage(path, { maxPixels }).metadata();
  const pages = meta.pages ?? 1;
  const levels: RenderSource['levels'] = [];
  for (let page = 0; page < pages; page++) {
    const m = page === 0 ? meta : await openImage(path, { maxPixels, page }).metadata();
    if (!m.width || !m.height) break;
    levels.push({ width: m.width, height: m.height });
  }
  return levels;
}

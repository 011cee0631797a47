import sharp, { type Metadata } from 'sharp';
import { OcrInputError } from './port.js';

/**
 * The door every engine goes through: the bytes must decode as one still image that could hold
 * a line of text. What fails here is the page's fault (corrupt, a sliver, a poster), reported as
 * an OcrInputError naming the reason, never an engine crash.
 */
export interface PageImage {
  /** The page as 8-bit PNG with no alpha: RGB, or one grey channel when asked for. */
  png: Buffer;
  width: number;
  height: number;
}

/** Below this many pixels on a side no line of text survives (a 1 × 20,000 strip, a rule). */
export const MIN_SIDE = 16;
/** 100 megapixels: an A2 sheet at 600 dpi. Larger pages belong to the derivative, not to OCR. */
export const MAX_PIXELS = 100_000_000;

export interface ReadPageOptions {
  /**
   * One grey channel instead of RGB: tesseract then thresholds one channel instead of three
   * (measured in bench/ocr: about a quarter less CPU on a noisy 300 dpi A4 page).
   */
  grey?: boolean;
}

export async function readPageImage(image: Buffer, options: ReadPageOptions = {}): Promise<PageImage> {
  let meta: Metadata;
  try {
    meta = await sharp(image, { limitInputPixels: MAX_PIXELS, failOn: 'error' }).metadata();
  } catch (err) {
    throw new OcrInputError(`the page image cannot be decoded (${(err as Error).message}); send the PNG or JPEG derivative of one page`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new OcrInputError('the page image has no size; send the PNG or JPEG derivative of one page');
  if (width < MIN_SIDE || height < MIN_SIDE) {
    throw new OcrInputError(`the page is ${width} × ${height} px: a side under ${MIN_SIDE} px cannot hold a line of text`);
  }
  try {
    const png = await sharp(image, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate() // EXIF orientation, as a viewer shows the page
      .flatten({ background: '#ffffff' })
      .toColourspace(options.grey ? 'b-w' : 'srgb')
      .png({ compressionLevel: 1 })
      .toBuffer({ resolveWithObject: true });
    return { png: png.data, width: png.info.width, height: png.info.height };
  } catch (err) {
    throw new OcrInputError(`the page image cannot be decoded (${(err as Error).message}); send the PNG or JPEG derivative of one page`);
  }
}

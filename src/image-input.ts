import sharp, { type Sharp } from 'sharp';

/**
 * The one way a stored image (a master, or a pyramid made from one) is opened for sharp.
 * sharp's own pixel fence (`limitInputPixels`, 268 megapixels by default) is replaced by the
 * repository's (`THUKHO_MAX_PIXELS`) on every open: an image that ingest accepted must be
 * readable by the derivatives worker and the image server, and one ingest refused must be
 * refused by them too. A second limit anywhere means a file accepted today that no one can
 * ever show.
 */
export interface ImageInputOptions {
  /** Largest width × height of the page opened (THUKHO_MAX_PIXELS). */
  maxPixels: number;
  /** Page (TIFF IFD, pyramid level); the first by default. */
  page?: number;
  /**
   * Read top to bottom once, holding a few lines, not the whole raster: for passes over a
   * whole image (probing a decode, building a pyramid). Not for crops or random access.
   */
  sequential?: boolean;
}

export function openImage(path: string, options: ImageInputOptions): Sharp {
  return sharp(path, {
    limitInputPixels: options.maxPixels,
    failOn: 'error',
    sequentialRead: options.sequential === true,
    ...(options.page === undefined ? {} : { page: options.page }),
  });
}

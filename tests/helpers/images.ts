import sharp from 'sharp';

/**
 * Scan-like test pages: paper-grey background and a line of Vietnamese or Han-Nôm text,
 * so that every page has distinct bytes and real image structure.
 */
export async function page(text: string, options: { width?: number; height?: number; format?: 'tiff' | 'jpeg' | 'png' } = {}): Promise<Buffer> {
  const width = options.width ?? 400;
  const height = options.height ?? 300;
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="20" y="${Math.round(height / 2)}" font-size="28" font-family="serif" fill="#222">${escaped}</text></svg>`;
  const img = sharp({ create: { width, height, channels: 3, background: { r: 236, g: 228, b: 210 } } }).composite([{ input: Buffer.from(svg) }]);
  switch (options.format ?? 'tiff') {
    case 'jpeg':
      return img.jpeg({ quality: 85 }).toBuffer();
    case 'png':
      return img.png().toBuffer();
    default:
      return img.tiff({ compression: 'lzw' }).toBuffer();
  }
}

/** A PNG whose header claims `width` × `height` pixels but holds no real image data. */
export function pngBombHeader(width: number, height: number): Buffer {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(16)), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/**
 * A multi-page LZW TIFF, one solid page per colour (a scanner's batch output): libvips writes
 * one IFD per page of an image with a page height.
 */
export async function multiPageTiff(width: number, height: number, colours: ReadonlyArray<{ r: number; g: number; b: number }>): Promise<Buffer> {
  const pages = await Promise.all(colours.map((background) => sharp({ create: { width, height, channels: 3, background } }).raw().toBuffer()));
  return sharp(Buffer.concat(pages), { raw: { width, height: height * colours.length, channels: 3, pageHeight: height } }).tiff({ compression: 'lzw' }).toBuffer();
}

/** Overwrites the compressed strips of page `page` (1-based) of a little-endian classic TIFF with noise; the IFDs stay readable. */
export function corruptTiffPage(tiff: Buffer, page: number): void {
  let ifd = tiff.readUInt32LE(4);
  for (let i = 1; i < page; i++) ifd = tiff.readUInt32LE(ifd + 2 + tiff.readUInt16LE(ifd) * 12);
  const values = (tag: number): number[] => {
    for (let e = 0; e < tiff.readUInt16LE(ifd); e++) {
      const at = ifd + 2 + e * 12;
      if (tiff.readUInt16LE(at) !== tag) continue;
      const size = tiff.readUInt16LE(at + 2) === 3 ? 2 : 4;
      const count = tiff.readUInt32LE(at + 4);
      const from = count * size > 4 ? tiff.readUInt32LE(at + 8) : at + 8;
      return Array.from({ length: count }, (_, k) => (size === 2 ? tiff.readUInt16LE(from + k * 2) : tiff.readUInt32LE(from + k * 4)));
    }
    throw new Error(`TIFF page ${page} has no tag ${tag}`);
  };
  const lengths = values(279);
  values(273).forEach((offset, k) => tiff.fill(0xff, offset, offset + lengths[k]!));
}

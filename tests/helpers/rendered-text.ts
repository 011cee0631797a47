import sharp, { type OverlayOptions } from 'sharp';

/**
 * A page of known text whose every word's ink is known to the pixel: each word is drawn
 * alone (SVG text through librsvg), trimmed to its ink, and set on the page at a chosen place,
 * so a test can check that OCR boxes and search hits lie on the words as drawn.
 */
export interface InkBox {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RenderedPage {
  png: Buffer;
  width: number;
  height: number;
  /** The words as printed, in reading order, with their ink on the page. */
  words: InkBox[];
  /** The text as printed: words joined by spaces, lines by newlines. */
  text: string;
}

const PAPER = { r: 250, g: 246, b: 236 };
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** One word's ink, and where its baseline is within that ink. */
async function drawWord(word: string, fontPx: number): Promise<{ png: Buffer; w: number; h: number; aboveBaseline: number }> {
  const baseline = Math.round(fontPx * 1.5);
  const width = Math.round(fontPx * (word.length + 2));
  const height = fontPx * 3;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="${fontPx}" y="${baseline}" font-family="DejaVu Serif" font-size="${fontPx}" fill="#1a1a1a">${escape(word)}</text></svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).trim({ threshold: 10 }).png().toBuffer({ resolveWithObject: true });
  // sharp reports the trim as the (negative) offset of what was kept.
  const top = -(info.trimOffsetTop ?? 0);
  return { png: data, w: info.width, h: info.height, aboveBaseline: baseline - top };
}

/**
 * Lines of words at `fontPx` (50 px is 12 pt at 300 dpi), from (`left`, first baseline `top`),
 * words `fontPx / 3` apart and baselines `leading` apart, on a page of the given size.
 */
export async function renderWords(
  lines: readonly string[],
  options: { width: number; height: number; fontPx?: number; left?: number; top?: number; leading?: number },
): Promise<RenderedPage> {
  const fontPx = options.fontPx ?? 50;
  const leading = options.leading ?? Math.round(fontPx * 1.6);
  const words: InkBox[] = [];
  const layers: OverlayOptions[] = [];
  for (const [i, line] of lines.entries()) {
    let x = options.left ?? 80;
    const baseline = (options.top ?? 120) + i * leading;
    for (const word of line.split(' ').filter(Boolean)) {
      const ink = await drawWord(word, fontPx);
      const box = { text: word, x, y: baseline - ink.aboveBaseline, w: ink.w, h: ink.h };
      if (box.x + box.w > options.width || box.y + box.h > options.height) throw new Error(`"${word}" does not fit on a ${options.width} × ${options.height} page`);
      words.push(box);
      layers.push({ input: ink.png, left: box.x, top: box.y });
      x += ink.w + Math.round(fontPx / 3);
    }
  }
  const png = await sharp({ create: { width: options.width, height: options.height, channels: 3, background: PAPER } })
    .composite(layers)
    .withMetadata({ density: 300 })
    .png()
    .toBuffer();
  return { png, width: options.width, height: options.height, words, text: lines.join('\n') };
}

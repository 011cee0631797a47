/**
 * The bench's pages: known text drawn with sharp through an SVG layer (fonts from Debian:
 * DejaVu Serif for Quốc ngữ, fonts-hanazono's HanaMinA/HanaMinB for Han and Nôm), then aged
 * the way scans of old paper are. Every random choice comes from the seeded generator given,
 * so a run renders the same pages as the last one.
 *
 * Degraded pages get yellowed, stained paper, bleed-through (the other side's text, mirrored
 * and faint), faded ink, sensor noise, blur and a 1-2° skew. Woodblock-like Han pages add what
 * a print from a carved block shows: thick strokes, ink uneven across the page and worn in
 * specks, a double border and rules between the columns.
 */
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { hanColumns, HAN_CHARACTERS, vietnameseParagraphs } from './texts.ts';

export type Condition = 'clean' | 'degraded' | 'woodblock';

export interface BenchPage {
  name: string;
  script: 'vie' | 'han';
  condition: Condition;
  /** PNG, 300 dpi, what every engine is given. */
  png: Buffer;
  /** The printed text in reading order: lines joined by newlines (Han: columns, right to left). */
  text: string;
}

const DPI = 300;
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Standard normal deviates from a uniform generator (Box–Muller). */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** An SVG drawn black on white as ink coverage, 0 (paper) to 1 (full ink), one byte a pixel. */
async function inkMask(svg: string, width: number, height: number, options: { mirror?: boolean; blur?: number } = {}): Promise<Uint8Array> {
  let image = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).greyscale();
  if (options.mirror) image = image.flop();
  if (options.blur) image = image.blur(options.blur);
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 1) throw new Error(`mask rendered ${info.width}×${info.height}×${info.channels}`);
  return data.map((v) => 255 - v);
}

/** Smooth random field in [0, 1] varying over about `scale` pixels (stains, uneven ink). */
async function field(rand: () => number, width: number, height: number, scale: number): Promise<Uint8Array> {
  const w = Math.max(2, Math.ceil(width / scale));
  const h = Math.max(2, Math.ceil(height / scale));
  const small = Buffer.from(Array.from({ length: w * h }, () => Math.floor(rand() * 256)));
  return sharp(small, { raw: { width: w, height: h, channels: 1 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .blur(Math.max(0.3, scale / 4))
    .raw()
    .toBuffer();
}

interface Look {
  paper: [number, number, number];
  ink: [number, number, number];
  /** How far stains darken the paper, 0-1. */
  stains: number;
  /** Strength of the mirrored text from the other side, 0-1. */
  bleed: number;
  /** Gaussian noise, grey levels (σ). */
  noise: number;
  blur: number;
  /** Degrees, signed. */
  skew: number;
  /** Woodblock: ink strength varies 1 − unevenInk … 1 across the page, specks worn away. */
  unevenInk: number;
  worn: number;
}

const CLEAN: Look = { paper: [252, 251, 247], ink: [20, 20, 20], stains: 0, bleed: 0, noise: 0, blur: 0, skew: 0, unevenInk: 0, worn: 0 };

function agedLook(rand: () => number, woodblock: boolean): Look {
  const sign = rand() < 0.5 ? -1 : 1;
  return {
    paper: [236 - Math.floor(rand() * 10), 220 - Math.floor(rand() * 12), 178 - Math.floor(rand() * 20)],
    // Faded iron-gall brown rather than fresh black.
    ink: [70, 56, 42],
    stains: 0.15 + rand() * 0.1,
    bleed: 0.15 + rand() * 0.1,
    noise: 14 + rand() * 10,
    blur: 0.9 + rand() * 0.6,
    skew: sign * (1 + rand()),
    unevenInk: woodblock ? 0.45 : 0.25,
    worn: woodblock ? 0.04 : 0,
  };
}

/**
 * Paper, bleed-through, ink and noise mixed pixel by pixel, then blurred and turned. The ink
 * mask is the page's text; the bleed mask the other side's, already mirrored and softened.
 */
async function compose(rand: () => number, look: Look, width: number, height: number, ink: Uint8Array, bleed?: Uint8Array): Promise<Buffer> {
  const stains = look.stains > 0 ? await field(rand, width, height, 180) : undefined;
  const uneven = look.unevenInk > 0 ? await field(rand, width, height, 40) : undefined;
  const normal = gaussian(rand);
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    let paper = 1 - (stains ? (look.stains * (stains[i] as number)) / 255 : 0);
    if (bleed) paper *= 1 - (look.bleed * (bleed[i] as number)) / 255;
    let a = (ink[i] as number) / 255;
    if (uneven) a *= 1 - look.unevenInk * (1 - (uneven[i] as number) / 255);
    if (look.worn > 0 && a > 0 && rand() < look.worn) a *= 0.25;
    const n = look.noise > 0 ? normal() * look.noise : 0;
    for (let c = 0; c < 3; c++) {
      const v = (look.paper[c] as number) * paper * (1 - a) + (look.ink[c] as number) * a + n;
      out[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  let image = sharp(out, { raw: { width, height, channels: 3 } });
  if (look.blur > 0) image = image.blur(look.blur);
  if (look.skew !== 0) {
    const [r, g, b] = look.paper;
    // Turn and cut back to the page's size: a scanner's bed, not a bigger sheet.
    const turned = await image.rotate(look.skew, { background: { r, g, b } }).raw().toBuffer({ resolveWithObject: true });
    image = sharp(turned.data, { raw: { width: turned.info.width, height: turned.info.height, channels: 3 } }).extract({
      left: Math.floor((turned.info.width - width) / 2),
      top: Math.floor((turned.info.height - height) / 2),
      width,
      height,
    });
  }
  return image.withMetadata({ density: DPI }).png({ compressionLevel: 6 }).toBuffer();
}

// ---------------------------------------------------------------------------------------
// Vietnamese: A4 at 300 dpi, 11 pt DejaVu Serif, justified left, paragraphs with a blank line

const A4 = { width: 2480, height: 3508 };
const VIE_FONT_PX = 46; // 11 pt at 300 dpi
const VIE_LEADING = 70;
const VIE_MARGIN = 250;
/** DejaVu Serif averages about 0.55 em a character; 68 characters stay inside the 1,980 px measure. */
const VIE_MEASURE = 68;

function wrap(paragraph: string, measure: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of paragraph.split(' ')) {
    if (line && line.length + 1 + word.length > measure) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function vietnameseSvg(paragraphs: string[]): { svg: string; text: string } {
  const lines: string[] = [];
  const elements: string[] = [];
  let y = VIE_MARGIN + VIE_FONT_PX;
  for (const paragraph of paragraphs) {
    for (const line of wrap(paragraph, VIE_MEASURE)) {
      elements.push(`<text x="${VIE_MARGIN}" y="${y}" font-family="DejaVu Serif" font-size="${VIE_FONT_PX}" fill="#000">${escape(line)}</text>`);
      lines.push(line);
      y += VIE_LEADING;
    }
    y += VIE_LEADING;
  }
  if (y > A4.height - VIE_MARGIN + VIE_LEADING) throw new Error(`the Vietnamese text runs ${y} px down an A4 page`);
  return { svg: `<svg xmlns="http://www.w3.org/2000/svg" width="${A4.width}" height="${A4.height}">${elements.join('')}</svg>`, text: lines.join('\n') };
}

export async function vietnamesePage(rand: () => number, name: string, condition: 'clean' | 'degraded', paragraphs: number, sentences: number): Promise<BenchPage> {
  const front = vietnameseSvg(vietnameseParagraphs(rand, paragraphs, sentences));
  const ink = await inkMask(front.svg, A4.width, A4.height);
  if (condition === 'clean') return { name, script: 'vie', condition, png: await compose(rand, CLEAN, A4.width, A4.height, ink), text: front.text };
  const back = vietnameseSvg(vietnameseParagraphs(rand, paragraphs, sentences));
  const bleed = await inkMask(back.svg, A4.width, A4.height, { mirror: true, blur: 2.5 });
  return { name, script: 'vie', condition, png: await compose(rand, agedLook(rand, false), A4.width, A4.height, ink, bleed), text: front.text };
}

// ---------------------------------------------------------------------------------------
// Han: a half-folio of 8 columns of 16 characters, read right to left

const HAN_COLUMNS = 8;
const HAN_PER_COLUMN = 16;
const HAN_FONT_PX = 100; // about 8.5 mm: woodblock characters are large
const HAN_PITCH_X = 150;
const HAN_PITCH_Y = 118;
const HAN_MARGIN_X = 160;
const HAN_MARGIN_Y = 170;
const HAN_PAGE = { width: 2 * HAN_MARGIN_X + HAN_COLUMNS * HAN_PITCH_X, height: 2 * HAN_MARGIN_Y + HAN_PER_COLUMN * HAN_PITCH_Y };
/** fonts-hanazono: A has the BMP and Extension A, B the supplementary planes (Nôm). */
const HAN_FONT = "HanaMinA, HanaMinB, 'Noto Serif CJK TC'";

/** Left edge of the column drawn i-th in reading order (the first at the right). */
const columnLeft = (i: number) => HAN_PAGE.width - HAN_MARGIN_X - (i + 1) * HAN_PITCH_X + (HAN_PITCH_X - HAN_FONT_PX) / 2;

function hanSvg(columns: string[], woodblock: boolean, rand: () => number): string {
  // A thick outline of the glyph in the ink colour: the spread of ink from a carved block.
  const stroke = woodblock ? ` stroke="#000" stroke-width="${3 + Math.floor(rand() * 2)}" stroke-linejoin="round"` : '';
  const glyphs = columns.flatMap((column, i) =>
    [...column].map(
      (ch, j) => `<text x="${columnLeft(i)}" y="${HAN_MARGIN_Y + j * HAN_PITCH_Y + HAN_FONT_PX * 0.88}" font-family="${HAN_FONT}" font-size="${HAN_FONT_PX}" fill="#000"${stroke}>${ch}</text>`,
    ),
  );
  const furniture: string[] = [];
  if (woodblock) {
    const { width, height } = HAN_PAGE;
    const [x0, y0] = [HAN_MARGIN_X - 40, HAN_MARGIN_Y - 50];
    const [x1, y1] = [width - HAN_MARGIN_X + 40, height - HAN_MARGIN_Y + 50];
    furniture.push(`<rect x="${x0 - 22}" y="${y0 - 22}" width="${x1 - x0 + 44}" height="${y1 - y0 + 44}" fill="none" stroke="#000" stroke-width="14"/>`);
    furniture.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#000" stroke-width="4"/>`);
    for (let k = 1; k < HAN_COLUMNS; k++) {
      const x = HAN_PAGE.width - HAN_MARGIN_X - k * HAN_PITCH_X;
      furniture.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#000" stroke-width="3"/>`);
    }
    // Blots where the block held too much ink.
    for (let k = 0; k < 6; k++) {
      const cx = x0 + rand() * (x1 - x0);
      const cy = y0 + rand() * (y1 - y0);
      furniture.push(`<ellipse cx="${cx.toFixed(0)}" cy="${cy.toFixed(0)}" rx="${(3 + rand() * 8).toFixed(0)}" ry="${(3 + rand() * 6).toFixed(0)}" fill="#000"/>`);
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${HAN_PAGE.width}" height="${HAN_PAGE.height}">${furniture.join('')}${glyphs.join('')}</svg>`;
}

export async function hanPage(rand: () => number, name: string, condition: Condition): Promise<BenchPage> {
  const { width, height } = HAN_PAGE;
  const columns = hanColumns(rand, HAN_COLUMNS, HAN_PER_COLUMN);
  const woodblock = condition === 'woodblock';
  const ink = await inkMask(hanSvg(columns, woodblock, rand), width, height);
  const text = columns.join('\n');
  if (condition === 'clean') return { name, script: 'han', condition, png: await compose(rand, CLEAN, width, height, ink), text };
  const back = await inkMask(hanSvg(hanColumns(rand, HAN_COLUMNS, HAN_PER_COLUMN), woodblock, rand), width, height, { mirror: true, blur: 3 });
  return { name, script: 'han', condition, png: await compose(rand, agedLook(rand, woodblock), width, height, ink, back), text };
}

/**
 * Characters the installed fonts cannot draw (fontconfig's view): a page printing a missing
 * glyph would score engines against a box instead of a character. One query per plane (one
 * font has them all, or the characters are looked up one by one to name the missing).
 */
export function hanCharactersWithoutFont(): string[] {
  const drawn = (chars: string[]) => {
    const charset = chars.map((ch) => (ch.codePointAt(0) as number).toString(16)).join(' ');
    return /HanaMin|Noto Serif CJK/.test(spawnSync('fc-list', [`:charset=${charset}`, 'family'], { encoding: 'utf8' }).stdout ?? '');
  };
  const planes = [HAN_CHARACTERS.filter((ch) => ch.length === 1), HAN_CHARACTERS.filter((ch) => ch.length > 1)];
  return planes.flatMap((chars) => (chars.length === 0 || drawn(chars) ? [] : chars.filter((ch) => !drawn([ch]))));
}

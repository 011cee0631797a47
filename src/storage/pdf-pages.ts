import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
// Before pdfjs-dist: it captures the engine's JSON, which pdfjs's core-js replaces (see there).
import { keepNativeJson } from '../native-json.ts';
import { getDocument, InvalidPDFException, VerbosityLevel, version as pdfjsVersion } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem, TextStyle } from 'pdfjs-dist/types/src/display/api.js';
import type { PageViewport } from 'pdfjs-dist/types/src/display/display_utils.js';
import sharp from 'sharp';
import { z } from 'zod';
import type { Bilingual } from '../domain/errors.ts';
import { PAGE_TEXT_MAX_CHARS, type EventData } from '../domain/events.ts';
import type { ImageInputOptions } from '../image-input.ts';

/**
 * The pages of a PDF master, one at a time: count and size, a PNG of a page, and the text
 * layer of a born-digital page placed on that PNG. pdfjs-dist (Apache-2.0) parses and draws;
 * @napi-rs/canvas (MIT, on Skia, BSD-3-Clause) is its canvas in Node.
 *
 * Nothing leaves the machine: the file is read through pdfjs's Node file stream (ranges of
 * 64 KiB on demand, so a 2,000-page PDF is not read whole to count its pages), and the 14
 * standard fonts, CMaps, ICC profiles and image decoders come from pdfjs-dist's own folders.
 */

/** What reads and draws PDFs here, as recorded with what it made ("pdf.js 5.6.205"). */
export const PDF_ENGINE = `pdf.js ${pdfjsVersion}`;

export type PdfErrorCode = 'password-required' | 'corrupt' | 'page-out-of-range';

/** What went wrong, in words for a librarian; the file's path stays in `detail`, out of messages. */
export class PdfError extends Error {
  readonly code: PdfErrorCode;
  readonly messages: Bilingual;
  readonly detail: { path: string; page?: number; reason?: string };

  constructor(code: PdfErrorCode, messages: Bilingual, detail: PdfError['detail'], cause?: unknown) {
    super(messages.en, cause === undefined ? undefined : { cause });
    this.name = 'PdfError';
    this.code = code;
    this.messages = messages;
    this.detail = detail;
  }
}

/** A page's size in PDF points (1/72 inch), turned as the page's /Rotate says. */
export interface PdfPageSize {
  width: number;
  height: number;
}

export interface PageRasterOptions {
  /** Dots per inch wanted; lowered when the page would exceed `maxPixels`. */
  dpi: number;
  /**
   * Largest width × height rendered: the image input's limit (THUKHO_MAX_PIXELS), so that a
   * page rendered here can be opened by the derivatives worker and the image server.
   */
  maxPixels: ImageInputOptions['maxPixels'];
  /** Longest side in pixels, if any: bounds one page's raster whatever the page's size. */
  maxEdge?: number;
}

export interface PageRaster {
  width: number;
  height: number;
  /** The resolution used, below the one asked for when the pixel limit cut it. */
  dpi: number;
}

export interface RenderedPage extends PageRaster {
  /**
   * The page as PNG: one grey channel when every pixel is grey (black text on white, as most
   * pages are: their derivatives then keep one channel too), else RGB. Compressed lightly: it
   * is a step on the way to the derivatives, and zlib's default level costs more than drawing.
   */
  png: Buffer;
  channels: 1 | 3;
}

export type PageWord = NonNullable<EventData<'PageTextRecorded'>['words']>[number];

export interface PageText extends PageRaster {
  /** The page's text in the order the PDF draws it, lines ended by "\n". */
  text: string;
  /** Word boxes in the pixels of the PNG rendered with the same options. */
  words: PageWord[];
  /** True when the text was cut at PAGE_TEXT_MAX_CHARS (the most one record holds). */
  truncated: boolean;
}

export interface PdfDocument {
  readonly pageCount: number;
  /** Encrypted without a user password: readable, so it is read; the caller may record it. */
  readonly encrypted: boolean;
  pageSize(pageNumber: number): Promise<PdfPageSize>;
  renderPage(pageNumber: number, options: PageRasterOptions): Promise<RenderedPage>;
  pageText(pageNumber: number, options: PageRasterOptions): Promise<PageText>;
  close(): Promise<void>;
}

keepNativeJson();
const PDFJS_ROOT = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const POINTS_PER_INCH = 72;

/** pdfjs types its canvas factory as Object; this is the part used here. */
interface CanvasFactory {
  create(width: number, height: number): { canvas: { data(): Buffer }; context: unknown };
  destroy(canvasAndContext: unknown): void;
}

export async function openPdf(path: string): Promise<PdfDocument> {
  // A missing or unreadable file is the caller's error as fs states it, not a corrupt PDF.
  await stat(path);
  const task = getDocument({
    url: pathToFileURL(path),
    // Read ranges as pages ask for them rather than the whole file up front.
    disableStream: true,
    disableAutoFetch: true,
    standardFontDataUrl: join(PDFJS_ROOT, 'standard_fonts') + '/',
    cMapUrl: join(PDFJS_ROOT, 'cmaps') + '/',
    cMapPacked: true,
    iccUrl: join(PDFJS_ROOT, 'iccs') + '/',
    wasmUrl: join(PDFJS_ROOT, 'wasm') + '/',
    useWorkerFetch: false,
    useSystemFonts: false,
    // Glyphs are drawn as paths: no font is registered with the process, nothing is eval'd.
    disableFontFace: true,
    // A font's glyph widths and Unicode map reach this side, to place words inside a run.
    fontExtraProperties: true,
    isEvalSupported: false,
    enableXfa: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    // Errors come back as exceptions; warnings (pdfjs repairs much) would go to the console.
    verbosity: VerbosityLevel.ERRORS,
  });
  let doc: PDFDocumentProxy;
  try {
    doc = await task.promise;
  } catch (error) {
    await task.destroy();
    throw openError(path, error);
  } finally {
    // The first document loads pdfjs's worker module (in this thread), which polyfills JSON again.
    keepNativeJson();
  }
  let encrypted: boolean;
  try {
    const { info } = await doc.getMetadata();
    encrypted = typeof info === 'object' && info !== null && 'EncryptFilterName' in info && info.EncryptFilterName !== null;
  } catch (error) {
    await doc.destroy();
    const reason = message(error);
    throw new PdfError('corrupt', { vi: `Không đọc được thông tin tài liệu của tệp PDF (${reason}).`, en: `The PDF's document information cannot be read (${reason}).` }, { path, reason }, error);
  }
  return new PdfjsDocument(doc, path, encrypted);
}

function openError(path: string, error: unknown): PdfError {
  // pdfjs 5 does not export PasswordException; its name is part of its API (PasswordResponses).
  const reason = message(error);
  if (error instanceof Error && error.name === 'PasswordException') {
    return new PdfError(
      'password-required',
      {
        vi: 'Tệp PDF được mã hoá bằng mật khẩu người dùng nên không đọc được. Hãy nộp bản không mã hoá.',
        en: 'The PDF is encrypted with a user password and cannot be read without it. Ingest an unencrypted copy.',
      },
      { path, reason },
      error,
    );
  }
  if (error instanceof InvalidPDFException) {
    return new PdfError(
      'corrupt',
      { vi: `Không đọc được tệp PDF (${reason}); tệp có thể bị cắt cụt hoặc hỏng.`, en: `Not a readable PDF (${reason}); the file may be truncated or damaged.` },
      { path, reason },
      error,
    );
  }
  return new PdfError('corrupt', { vi: `Không mở được tệp PDF (${reason}).`, en: `The PDF cannot be opened (${reason}).` }, { path, reason }, error);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The resolution at which a page fits the pixel limit and the longest side, and its pixel size there. */
export function pageRaster(size: PdfPageSize, options: PageRasterOptions): PageRaster {
  if (!(options.dpi > 0) || !Number.isFinite(options.dpi)) throw new RangeError(`dpi must be a positive number, not ${options.dpi}`);
  if (!Number.isInteger(options.maxPixels) || options.maxPixels < 1) throw new RangeError(`maxPixels must be a whole number of pixels, at least 1, not ${options.maxPixels}`);
  const { maxEdge } = options;
  if (maxEdge !== undefined && (!Number.isInteger(maxEdge) || maxEdge < 1)) throw new RangeError(`maxEdge must be a whole number of pixels, at least 1, not ${maxEdge}`);
  let dpi = maxEdge === undefined ? options.dpi : Math.min(options.dpi, (maxEdge * POINTS_PER_INCH) / Math.max(size.width, size.height));
  const pixels = (d: number) => {
    const scale = d / POINTS_PER_INCH;
    return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
  };
  let { width, height } = pixels(dpi);
  if (width * height > options.maxPixels) {
    dpi *= Math.sqrt(options.maxPixels / (width * height));
    ({ width, height } = pixels(dpi));
  }
  // Rounding may still land a pixel row over a limit.
  const over = () => width * height > options.maxPixels || (maxEdge !== undefined && Math.max(width, height) > maxEdge);
  while (over() && dpi > 0) {
    dpi *= 0.999;
    ({ width, height } = pixels(dpi));
  }
  return { width, height, dpi };
}

class PdfjsDocument implements PdfDocument {
  readonly pageCount: number;

  constructor(
    private readonly doc: PDFDocumentProxy,
    private readonly path: string,
    readonly encrypted: boolean,
  ) {
    this.pageCount = doc.numPages;
  }

  async pageSize(pageNumber: number): Promise<PdfPageSize> {
    return this.withPage(pageNumber, { vi: 'đọc', en: 'read' }, async (page) => {
      const viewport = page.getViewport({ scale: 1 });
      return { width: viewport.width, height: viewport.height };
    });
  }

  async renderPage(pageNumber: number, options: PageRasterOptions): Promise<RenderedPage> {
    return this.withPage(pageNumber, { vi: 'dựng ảnh', en: 'render' }, async (page) => {
      const { viewport, raster } = fittedViewport(page, options);
      const factory = this.doc.canvasFactory as CanvasFactory;
      // pdfjs's own factory: the canvas must come from the @napi-rs/canvas copy its Path2D does.
      const target = factory.create(raster.width, raster.height);
      try {
        await page.render({ canvas: null, canvasContext: target.context as CanvasRenderingContext2D, viewport, background: 'rgb(255,255,255)' }).promise;
        // The background is opaque white, so the premultiplied pixels are the plain ones.
        const rgba = target.canvas.data();
        const channels = isGrey(rgba) ? 1 : 3;
        const pixels = sharp(rgba, { raw: { width: raster.width, height: raster.height, channels: 4 }, limitInputPixels: options.maxPixels });
        const png = await (channels === 1 ? pixels.extractChannel(0) : pixels.removeAlpha()).png({ compressionLevel: 1 }).toBuffer();
        return { ...raster, png, channels };
      } finally {
        factory.destroy(target);
      }
    });
  }

  async pageText(pageNumber: number, options: PageRasterOptions): Promise<PageText> {
    return this.withPage(pageNumber, { vi: 'đọc chữ của', en: 'read the text of' }, async (page) => {
      const { viewport, raster } = fittedViewport(page, options);
      const content = await page.getTextContent();
      const items = content.items.filter((item): item is TextItem => 'str' in item);
      // The fonts reach page.commonObjs when the page's drawing operators are read.
      if (items.some((item) => !page.commonObjs.has(item.fontName))) await page.getOperatorList();
      const widths = new Map<string, GlyphWidths>();
      for (const name of new Set(items.map((item) => item.fontName))) {
        widths.set(name, page.commonObjs.has(name) ? glyphWidths(page.commonObjs.get(name)) : new Map());
      }
      return { ...raster, ...layOutText(items, content.styles, widths, viewport, raster) };
    });
  }

  async close(): Promise<void> {
    await this.doc.destroy();
  }

  private async withPage<T>(pageNumber: number, verb: Bilingual, use: (page: PDFPageProxy) => Promise<T>): Promise<T> {
    if (!Number.isInteger(pageNumber) || pageNumber < 1 || pageNumber > this.pageCount) {
      throw new PdfError(
        'page-out-of-range',
        { vi: `Tệp PDF không có trang ${pageNumber}; tệp có các trang từ 1 đến ${this.pageCount}.`, en: `Page ${pageNumber} does not exist; the PDF has pages 1 to ${this.pageCount}.` },
        { path: this.path, page: pageNumber },
      );
    }
    let page: PDFPageProxy;
    try {
      page = await this.doc.getPage(pageNumber);
    } catch (error) {
      throw this.pageError(pageNumber, { vi: 'đọc', en: 'read' }, error);
    }
    try {
      return await use(page);
    } catch (error) {
      if (error instanceof PdfError || error instanceof RangeError) throw error;
      throw this.pageError(pageNumber, verb, error);
    } finally {
      // Drop the page's parsed resources, so that going through 2,000 pages holds one at a time.
      page.cleanup();
    }
  }

  private pageError(pageNumber: number, verb: Bilingual, error: unknown): PdfError {
    const reason = message(error);
    return new PdfError(
      'corrupt',
      { vi: `Không thể ${verb.vi} trang ${pageNumber} của tệp PDF (${reason}).`, en: `Cannot ${verb.en} page ${pageNumber} of the PDF (${reason}).` },
      { path: this.path, page: pageNumber, reason },
      error,
    );
  }
}

/** Whether every pixel of an RGBA raster has red = green = blue. */
function isGrey(rgba: Buffer): boolean {
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  }
  return true;
}

function fittedViewport(page: PDFPageProxy, options: PageRasterOptions): { viewport: PageViewport; raster: PageRaster } {
  const unit = page.getViewport({ scale: 1 });
  const raster = pageRaster({ width: unit.width, height: unit.height }, options);
  return { viewport: page.getViewport({ scale: raster.dpi / POINTS_PER_INCH }), raster };
}

/** Advance width of a character in a font, in the font's own units. */
type GlyphWidths = Map<string, number>;

/**
 * pdfjs's exported font (with `fontExtraProperties`) carries `widths` by character code and
 * `toUnicode` as `{ _map: [code] = text }`. Neither is typed API, so both are checked, and a
 * font that does not match gives no widths (words are then placed by character count).
 */
const ExportedFont = z.object({
  widths: z.record(z.string(), z.number()),
  toUnicode: z.object({ _map: z.array(z.unknown()) }),
});

function glyphWidths(font: unknown): GlyphWidths {
  const parsed = ExportedFont.safeParse(font);
  const widths: GlyphWidths = new Map();
  if (!parsed.success) return widths;
  parsed.data.toUnicode._map.forEach((text, code) => {
    const width = parsed.data.widths[String(code)];
    if (typeof text === 'string' && text.length === 1 && width !== undefined && width > 0 && !widths.has(text)) widths.set(text, width);
  });
  return widths;
}

/**
 * Where each character of a run starts along its baseline, in the run's units: the font's
 * advance widths scaled so that they add up to the run's width (which already holds font
 * size, character and word spacing). A character the font does not map takes the mean width.
 */
function characterOffsets(str: string, runWidth: number, widths: GlyphWidths): number[] {
  const known = [...str].map((ch) => widths.get(ch));
  const found = known.filter((w): w is number => w !== undefined);
  const mean = found.length === 0 ? 1 : found.reduce((a, b) => a + b, 0) / found.length;
  const offsets = [0];
  let total = 0;
  for (const ch of [...str]) {
    total += widths.get(ch) ?? mean;
    // One offset per UTF-16 code unit, so that offsets index `str` as the word boxes do.
    for (let i = 0; i < ch.length; i++) offsets.push(total);
  }
  return offsets.map((o) => (o / total) * runWidth);
}

/**
 * pdfjs gives runs of text (a string drawn in one go), each with its transform; a run is cut
 * into words here, and each word placed along the baseline by the font's glyph widths.
 */
function layOutText(items: TextItem[], styles: Record<string, TextStyle>, widths: Map<string, GlyphWidths>, viewport: PageViewport, raster: PageRaster): Omit<PageText, keyof PageRaster> {
  let text = '';
  const words: PageWord[] = [];
  let previous: DrawnRun | undefined;
  let truncated = false;
  const append = (s: string): boolean => {
    if (text.length + s.length > PAGE_TEXT_MAX_CHARS) {
      truncated = true;
      return false;
    }
    text += s;
    return true;
  };

  for (const item of items) {
    if (truncated) break;
    const [a, b, c, d, e, f] = item.transform as [number, number, number, number, number, number];
    const fontHeight = Math.hypot(c, d);
    const runLength = Math.hypot(a, b);
    if (item.str.trim() === '' || fontHeight === 0 || runLength === 0) {
      if (item.hasEOL && text !== '' && !text.endsWith('\n')) append('\n');
      continue;
    }
    const style = styles[item.fontName];
    const ascent = style?.ascent ?? 0.8;
    const descent = style?.descent ?? -0.2;
    const along: [number, number] = [a / runLength, b / runLength];
    const up: [number, number] = [c / fontHeight, d / fontHeight];
    const point = (offset: number, rise: number): [number, number] => {
      const [x, y] = viewport.convertToViewportPoint(e + along[0] * offset + up[0] * rise * fontHeight, f + along[1] * offset + up[1] * rise * fontHeight);
      return [x, y];
    };
    const start = point(0, 0);
    if (previous !== undefined && text !== '' && !/\s$/.test(text) && !/^\s/.test(item.str)) append(separator(previous, start));
    const offset = text.length;
    if (!append(item.str)) break;
    const offsets = characterOffsets(item.str, item.width, widths.get(item.fontName) ?? new Map());
    for (const match of item.str.matchAll(/\S+/g)) {
      const from = offsets[match.index]!;
      const to = offsets[match.index + match[0].length]!;
      const corners = [point(from, descent), point(to, descent), point(from, ascent), point(to, ascent)];
      const box = pixelBox(corners, raster);
      if (box !== undefined) words.push({ start: offset + match.index, end: offset + match.index + match[0].length, ...box });
    }
    previous = { start, end: point(item.width, 0), fontHeight: fontHeight * viewport.scale };
    if (item.hasEOL) append('\n');
  }
  return { text: text.trimEnd(), words, truncated };
}

/** A run as drawn on the PNG: baseline start and end, font size in pixels. */
interface DrawnRun {
  start: [number, number];
  end: [number, number];
  fontHeight: number;
}

/**
 * What goes between two runs that the PDF does not separate itself: a new line when the next
 * run leaves the previous baseline or starts back before it, a space when it starts after a
 * gap (a word space drawn as a move rather than a space character), else nothing.
 */
function separator(previous: DrawnRun, next: [number, number]): '' | ' ' | '\n' {
  const length = Math.hypot(previous.end[0] - previous.start[0], previous.end[1] - previous.start[1]);
  const [dx, dy] = length === 0 ? [1, 0] : [(previous.end[0] - previous.start[0]) / length, (previous.end[1] - previous.start[1]) / length];
  const off = (next[0] - previous.start[0]) * dy - (next[1] - previous.start[1]) * dx;
  const gap = (next[0] - previous.end[0]) * dx + (next[1] - previous.end[1]) * dy;
  if (Math.abs(off) > previous.fontHeight / 2 || gap < -previous.fontHeight) return '\n';
  return gap > 0.1 * previous.fontHeight ? ' ' : '';
}

function pixelBox(corners: Array<[number, number]>, raster: PageRaster): { x: number; y: number; w: number; h: number } | undefined {
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)));
  const y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const x1 = Math.min(raster.width, Math.ceil(Math.max(...xs)));
  const y1 = Math.min(raster.height, Math.ceil(Math.max(...ys)));
  if (x1 <= x0 || y1 <= y0) return undefined;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * The OCR port: one page image in, its text with boxes out. Engines (tesseract.js for Latin
 * scripts, an ONNX model for Han and Nôm) sit behind it; the OCR worker chooses one per page
 * from the work's languages and scripts, and writes the result as plain text, hOCR and ALTO.
 *
 * Coordinates are pixels of the image the engine was given; the worker scales them to the
 * full-resolution canvas before anything is stored.
 */

/** An axis-aligned box in pixels: left, top, width, height. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A word (Latin scripts) or a character (Han and Nôm, which have no spaces). */
export interface OcrWord extends Box {
  text: string;
  /** 0-100, as tesseract reports it. */
  confidence: number;
}

export interface OcrLine extends Box {
  words: OcrWord[];
}

/** A block of lines read together: a column of vertical text, a paragraph of horizontal text. */
export interface OcrBlock extends Box {
  lines: OcrLine[];
}

export interface OcrPage {
  width: number;
  height: number;
  /** Blocks in reading order (vertical columns right to left). */
  blocks: OcrBlock[];
  /** Degrees the page was turned before reading (0, 90, 180, 270), when the engine detects it. */
  rotation?: number;
}

export interface OcrRequest {
  /** The page image: PNG or JPEG bytes, one page. */
  image: Buffer;
  /** ISO 639-3 codes from the work's record (`vie`, `lzh`, `eng`, `fra`, ...). */
  languages: string[];
  /** Han text set in columns, read top to bottom, right to left. */
  vertical?: boolean;
}

/** What `OcrCompleted` records of the engine that read a page. */
export interface EngineInfo {
  /** "tesseract.js", "paddleocr-onnx". */
  name: string;
  version: string;
  /** Model names and the SHA-256 of each model file used. */
  models: Array<{ name: string; sha256: string }>;
}

export interface OcrEngine {
  readonly info: EngineInfo;
  /** Whether this engine reads text in these languages (and layout). */
  accepts(request: Pick<OcrRequest, 'languages' | 'vertical'>): boolean;
  recognize(request: OcrRequest): Promise<OcrPage>;
  close(): Promise<void>;
}

/** A page the engine cannot read for a reason the page carries (not a fault of the engine). */
export class OcrInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcrInputError';
  }
}

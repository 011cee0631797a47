import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { createWorker, PSM, type Bbox, type Page, type Worker } from 'tesseract.js';
import { languageEntries, type Traineddata } from './languages.js';
import { readPageImage } from './page-image.js';
import type { Box, EngineInfo, OcrBlock, OcrEngine, OcrLine, OcrPage, OcrRequest, OcrWord } from './port.js';

const require = createRequire(import.meta.url);

/** LSTM-only integer models: what tesseract's own `tessdata_best` reads, a quarter of the size. */
const MODEL_DIR = '4.0.0_best_int';
const ALL: Traineddata[] = ['vie', 'eng', 'fra', 'chi_tra_vert'];

/**
 * Below this mean word confidence the page is read again turned 180°: a page scanned upside
 * down reads as confident-looking garbage around 30, a clean upright page above 85. Tesseract's
 * own orientation detection (OSD) needs the legacy `osd.traineddata`, which no npm package of
 * LSTM data carries, so we compare the two readings instead and keep the more confident.
 */
const UPSIDE_DOWN_SUSPECT = 70;

interface Model {
  code: Traineddata;
  path: string;
  sha256: string;
}

/** One `@tesseract.js-data/<code>` package's gzipped LSTM model (bench/ocr gives native tesseract the same file). */
export function modelPath(code: Traineddata): string {
  return join(dirname(require.resolve(`@tesseract.js-data/${code}/package.json`)), MODEL_DIR, `${code}.traineddata.gz`);
}

async function loadModel(code: Traineddata): Promise<Model> {
  const path = modelPath(code);
  return { code, path, sha256: createHash('sha256').update(await readFile(path)).digest('hex') };
}

function box(b: Bbox): Box {
  return { x: b.x0, y: b.y0, w: b.x1 - b.x0, h: b.y1 - b.y0 };
}

/** Tesseract's page as ours: a paragraph per block; Han words split into their characters. */
function toOcrPage(page: Page, width: number, height: number, perCharacter: boolean): OcrPage {
  const blocks: OcrBlock[] = [];
  for (const block of page.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      const lines: OcrLine[] = [];
      for (const line of paragraph.lines) {
        const words: OcrWord[] = [];
        for (const word of line.words) {
          const parts = perCharacter && word.symbols.length > 0 ? word.symbols : [word];
          for (const part of parts) {
            const text = part.text.normalize('NFC').trim();
            if (text) words.push({ ...box(part.bbox), text, confidence: part.confidence });
          }
        }
        if (words.length > 0) lines.push({ ...box(line.bbox), words });
      }
      if (lines.length > 0) blocks.push({ ...box(paragraph.bbox), lines });
    }
  }
  return { width, height, blocks };
}

export function meanConfidence(page: OcrPage): number {
  const words = page.blocks.flatMap((b) => b.lines.flatMap((l) => l.words));
  return words.length === 0 ? 0 : words.reduce((sum, w) => sum + w.confidence, 0) / words.length;
}

/** Boxes read on the page turned 180° put back on the page as given. */
function turnBack(page: OcrPage): OcrPage {
  const flip = <T extends Box>(b: T): T => ({ ...b, x: page.width - b.x - b.w, y: page.height - b.y - b.h });
  return {
    ...page,
    rotation: 180,
    blocks: page.blocks.map((b) => ({ ...flip(b), lines: b.lines.map((l) => ({ ...flip(l), words: l.words.map(flip) })) })),
  };
}

/**
 * tesseract.js 7 (tesseract 5 compiled to WebAssembly), fully offline: the core comes from
 * `tesseract.js-core` in node_modules and the traineddata from the `@tesseract.js-data/*`
 * packages (without a langPath tesseract.js fetches from a CDN). tesseract.js reads every
 * language of a worker from one langPath, and each package has its own directory; its other
 * way in, language objects carrying the bytes, is broken in 7.0.0 (the worker initialises with
 * the bytes instead of the code, src/worker-script/index.js:238). So the engine links the
 * packages' files into one temporary directory, removed on close. One worker is kept and reused
 * across pages; it is re-initialised only when a page asks for other languages.
 */
export class TesseractEngine implements OcrEngine {
  readonly info: EngineInfo;
  #langPath: string;
  #worker: Worker | undefined;
  #loaded = '';
  #psm: PSM | undefined;
  /** Pages are read one at a time: the worker holds one language set and one image. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(models: Model[], version: string, langPath: string) {
    this.#langPath = langPath;
    this.info = {
      name: 'tesseract.js',
      version,
      models: models.map((m) => ({ name: `${m.code}.traineddata (${MODEL_DIR})`, sha256: m.sha256 })),
    };
  }

  static async create(): Promise<TesseractEngine> {
    const models = await Promise.all(ALL.map(loadModel));
    const { version } = require('tesseract.js/package.json') as { version: string };
    const langPath = await mkdtemp(join(tmpdir(), 'thukho-tessdata-'));
    await Promise.all(models.map((m) => symlink(m.path, join(langPath, `${m.code}.traineddata.gz`))));
    return new TesseractEngine(models, version, langPath);
  }

  accepts(request: Pick<OcrRequest, 'languages' | 'vertical'>): boolean {
    try {
      languageEntries(request.languages);
      return true;
    } catch {
      return false;
    }
  }

  recognize(request: OcrRequest): Promise<OcrPage> {
    const run = this.#queue.then(() => this.#recognize(request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #recognize(request: OcrRequest): Promise<OcrPage> {
    const entries = languageEntries(request.languages);
    const codes = [...new Set(entries.map((e) => e.traineddata))];
    const perCharacter = entries.every((e) => e.script === 'han');
    // Latin-script pages are read grey: a third of the bytes and a quarter less CPU, and no
    // worse (bench/ocr: 0.8% CER on degraded Vietnamese pages against native's 1.5% in colour).
    // Han pages stay in colour: tesseract thresholds each colour channel of a colour page, and
    // on a woodblock-like page in grey it found no text at all.
    const page = await readPageImage(request.image, { grey: entries.every((e) => e.script === 'latin') });
    const worker = await this.#workerFor(codes);
    // tesseract.js defaults to one uniform horizontal block (PSM 6), which reads a page of
    // columns across them; the tesseract CLI's default (3, full layout analysis) and, for Han
    // set in columns, 5 (one block of vertical text) read in the right direction.
    const psm = perCharacter && request.vertical !== false ? PSM.SINGLE_BLOCK_VERT_TEXT : PSM.AUTO;
    if (psm !== this.#psm) {
      await worker.setParameters({ tessedit_pageseg_mode: psm });
      this.#psm = psm;
    }

    const read = async (png: Buffer) => {
      const result = await worker.recognize(png, {}, { blocks: true, text: false });
      return toOcrPage(result.data, page.width, page.height, perCharacter);
    };
    const upright = await read(page.png);
    const uprightConfidence = meanConfidence(upright);
    if (upright.blocks.length === 0 || uprightConfidence >= UPSIDE_DOWN_SUSPECT) return { ...upright, rotation: 0 };
    const turned = await read(await sharp(page.png).rotate(180).png({ compressionLevel: 1 }).toBuffer());
    return meanConfidence(turned) > uprightConfidence ? turnBack(turned) : { ...upright, rotation: 0 };
  }

  async #workerFor(codes: Traineddata[]): Promise<Worker> {
    const key = codes.join('+');
    if (!this.#worker) {
      // cacheMethod 'none': tesseract.js would otherwise write unpacked traineddata into the working directory.
      this.#worker = await createWorker(key, 1, { langPath: this.#langPath, cacheMethod: 'none', gzip: true });
    } else if (key !== this.#loaded) {
      await this.#worker.reinitialize(key, 1);
      this.#psm = undefined;
    }
    this.#loaded = key;
    return this.#worker;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#worker?.terminate();
    this.#worker = undefined;
    await rm(this.#langPath, { recursive: true, force: true });
  }
}

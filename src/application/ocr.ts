import { createHash } from 'node:crypto';
import { type DerivativeInfo, type ObjectHistoryEvent, PAGE_TEXT_MAX_CHARS, type PreservationEvent } from '../domain/events.ts';
import { pageImageId } from '../domain/page-image.ts';
import { type EventStore, WrongExpectedVersionError } from '../eventstore/port.ts';
import { type DerivativeStore, pageFor } from '../iiif/derivative-store.ts';
import { openImage } from '../image-input.ts';
import type { ReadPage } from '../ocr/choose-engine.ts';
import { writeAlto } from '../ocr/alto.ts';
import { writeHocr } from '../ocr/hocr.ts';
import { languageEntries } from '../ocr/languages.ts';
import { pageTextWithWords } from '../ocr/line-text.ts';
import { MIN_SIDE } from '../ocr/page-image.ts';
import { type Box, OcrInputError, type OcrPage, type OcrRequest } from '../ocr/port.ts';
import { meanConfidence } from '../ocr/tesseract-engine.ts';
import { digestFile } from '../storage/digest.ts';
import type { OcrOutputStore } from '../storage/ocr-outputs.ts';
import { redactPaths } from '../storage/redact-paths.ts';
import type { CommandContext } from './command-handler.ts';
import { loadPreservation, recordFacts } from './machine-facts.ts';
import { loadObject } from './object-commands.ts';
import { type Fold, foldStream } from './stream-fold.ts';
import { preservationStream } from './streams.ts';

/**
 * Reading one page of a work by OCR: the page's derivative, through the engines, to plain
 * text, hOCR and ALTO stored by digest, and then one append of OcrCompleted with the page's
 * PageTextRecorded (source "ocr"), which the read models and the search index take the text
 * from. Nothing is recorded for a page that needs no reading (the work withdrawn, the master
 * gone, a born-digital text or a transcription already there, the same master read already).
 * A fault of the page (OcrInputError) is recorded as OcrFailed at once; anything else is the
 * caller's to retry (`recordOcrFailure` when it gives up).
 */

/** What one job asks: the OcrJob payload, without the queue. */
export interface OcrPageRequest {
  objectId: string;
  fileId: string;
  /** 1-based. */
  page: number;
  masterSha512: string;
  /** The event that asked for the reading. */
  cause: string;
  /** Read the page again even if this master was read already (new models). */
  again?: boolean | undefined;
}

/** The engines, one page at a time per engine set (an OcrPool). */
export interface PageReader {
  read(request: OcrRequest): Promise<ReadPage>;
}

export interface OcrServices {
  store: EventStore;
  derivatives: DerivativeStore;
  outputs: OcrOutputStore;
  reader: PageReader;
  /** Languages of a work whose record names none (THUKHO_OCR_LANGUAGES). */
  defaultLanguages: readonly string[];
  /** THUKHO_MAX_PIXELS: the one pixel fence every open of a stored image goes through. */
  maxPixels: number;
}

export type OcrOutcome =
  | { outcome: 'read'; words: number; engine: string; fellBack?: string; imageWidth: number; imageHeight: number }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'skipped'; reason: string };

/**
 * The long side of the image the engines read, in pixels. Tesseract reads best with an
 * x-height of 20-30 px (10-12 pt type at 300 dpi); 4,000 px is a B4 page at 300 dpi, so book
 * and register pages keep at least their 300 dpi and a 600 dpi scan comes down to about 340
 * dpi for an A4 page. Above it the engines only get slower (time and memory grow with the
 * pixels: a 600 dpi A3 scan is 70 megapixels) without reading better. Boxes are scaled back.
 */
export const OCR_MAX_SIDE = 4000;

const ACTOR = { actor: { id: 'worker:ocr', role: 'admin' } } as const;
const APPEND_RETRIES = 20;

type TextSource = 'ocr' | 'born-digital' | 'transcription';

/** What is known of a page's text: its latest source, and the masters OCR has read it from. */
interface PageReading {
  text?: TextSource;
  ocrMasters: readonly string[];
}

type PageReadings = Readonly<Record<string, PageReading>>;

const readingsFold: Fold<PageReadings, ObjectHistoryEvent> = {
  initial: {},
  evolve(state, event) {
    if (event.type === 'PageTextRecorded') {
      const key = pageImageId(event.data.fileId, event.data.page ?? 1);
      return { ...state, [key]: { ocrMasters: state[key]?.ocrMasters ?? [], text: event.data.source } };
    }
    if (event.type === 'OcrCompleted') {
      const key = pageImageId(event.data.fileId, event.data.page ?? 1);
      const previous = state[key] ?? { ocrMasters: [] };
      return { ...state, [key]: { ...previous, ocrMasters: [...previous.ocrMasters, event.data.masterSha512] } };
    }
    return state;
  },
};

/** Why a page needs no reading, or undefined when it does. */
function needsNoReading(reading: PageReading | undefined, request: OcrPageRequest): string | undefined {
  // A text from the file itself or from a person is better than any OCR of its image.
  if (reading?.text === 'born-digital' || reading?.text === 'transcription') return `the page has a ${reading.text} text`;
  if (!request.again && reading?.ocrMasters.includes(request.masterSha512)) return 'the page was read from this master already';
  return undefined;
}

/**
 * Han books are set in columns read top to bottom, right to left; a record that says the
 * pages turn left to right (`viewingDirection`) describes a modern book set in horizontal
 * lines, read as such. Latin script and mixed pages are read in lines.
 */
export function readsVertically(languages: readonly string[], viewingDirection: string | undefined): boolean {
  const hanOnly = languageEntries(languages).every((e) => e.script === 'han');
  return hanOnly && viewingDirection !== 'left-to-right';
}

export async function readPageByOcr(services: OcrServices, request: OcrPageRequest): Promise<OcrOutcome> {
  const { store } = services;
  const { objectId, fileId, page, masterSha512 } = request;
  const context: CommandContext = { ...ACTOR, causationId: request.cause };
  const { state } = await loadObject(store, objectId);
  if (state.status !== 'active') return { outcome: 'skipped', reason: state.status === 'absent' ? 'no such work' : 'the work is withdrawn' };
  const file = state.files.find((f) => f.fileId === fileId);
  if (!file || file.digests.sha512 !== masterSha512) return { outcome: 'skipped', reason: 'no such master in the work' };
  const imageId = pageImageId(fileId, page);
  let readings = await foldStream(store, preservationStream(objectId), readingsFold);
  const skip = needsNoReading(readings.state[imageId], request);
  if (skip) return { outcome: 'skipped', reason: skip };

  const languages = state.metadata.language?.length ? state.metadata.language : [...services.defaultLanguages];
  try {
    const vertical = readsVertically(languages, state.metadata.viewingDirection);
    const derivative = (await loadPreservation(store, objectId)).derivatives[imageId];
    if (!derivative || derivative.masterSha512 !== masterSha512) throw new Error(`page ${page} has no derivative of this master on record yet`);
    const image = await ocrImage(services, derivative, page, file.image?.dpi);
    const read = await services.reader.read({ image: image.png, languages, ...(vertical ? { vertical } : {}) });
    const onCanvas = scalePage(read.page, derivative.width, derivative.height);
    const { text, words } = pageTextWithWords(onCanvas);
    if (text.length > PAGE_TEXT_MAX_CHARS) throw new OcrInputError(`the page's text is ${text.length} characters, more than a page holds (${PAGE_TEXT_MAX_CHARS}); it is not text`);
    const source = { engine: read.engine, imageName: page === 1 ? file.name : `${file.name}, page ${page}` };
    const [textOut, hocr, alto] = [
      await services.outputs.put('text', text),
      await services.outputs.put('hocr', writeHocr(onCanvas, source)),
      await services.outputs.put('alto', writeAlto(onCanvas, source)),
    ];
    const pageField = page > 1 ? { page } : {};
    const engine = `${read.engine.name} ${read.engine.version}`.slice(0, 200);
    const facts: PreservationEvent[] = [
      {
        type: 'OcrCompleted',
        data: {
          objectId,
          fileId,
          ...pageField,
          masterSha512,
          engine: read.engine,
          languages,
          meanConfidence: Math.round(meanConfidence(onCanvas) * 10) / 10,
          words: words.length,
          textSha256: createHash('sha256').update(text, 'utf8').digest('hex'),
          outputs: { text: textOut, hocr, alto },
          ...(onCanvas.rotation ? { rotation: onCanvas.rotation as 90 | 180 | 270 } : {}),
          ...(read.fellBack ? { fellBack: redactPaths(read.fellBack).slice(0, 2000) } : {}),
        },
      },
      {
        type: 'PageTextRecorded',
        data: {
          objectId,
          fileId,
          ...pageField,
          text,
          source: 'ocr',
          engine,
          language: languages,
          words: words.map(({ start, end, word }) => ({ start, end, x: word.x, y: word.y, w: word.w, h: word.h })),
        },
      },
    ];
    // Appended on the head the decision was made at: a page read twice at once (a job offered
    // again while it ran) is recorded once.
    for (let attempt = 0; ; attempt++) {
      try {
        await recordFacts(store, objectId, facts, context, { ifAt: readings.revision });
        break;
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError) || attempt >= APPEND_RETRIES) throw err;
        const before = readings.state[imageId]?.ocrMasters.length ?? 0;
        readings = await foldStream(store, preservationStream(objectId), readingsFold);
        const now = readings.state[imageId];
        const readMeanwhile = (now?.ocrMasters.length ?? 0) > before ? 'the page was read by another job meanwhile' : undefined;
        const skipNow = needsNoReading(now, { ...request, again: true }) ?? readMeanwhile;
        if (skipNow) return { outcome: 'skipped', reason: skipNow };
      }
    }
    return {
      outcome: 'read',
      words: words.length,
      engine,
      imageWidth: image.width,
      imageHeight: image.height,
      ...(read.fellBack ? { fellBack: read.fellBack } : {}),
    };
  } catch (err) {
    if (!(err instanceof OcrInputError)) throw err;
    const reason = await recordOcrFailure(store, request, err.message, 1, languages);
    return { outcome: 'failed', reason };
  }
}

/** Records that a page could not be read (after the last attempt, or at once for a fault of the page); returns the reason as recorded. */
export async function recordOcrFailure(
  store: EventStore,
  request: OcrPageRequest,
  message: string,
  attempts: number,
  languages?: readonly string[],
): Promise<string> {
  const reason = redactPaths(message).slice(0, 2000) || 'unknown error';
  await recordFacts(
    store,
    request.objectId,
    [
      {
        type: 'OcrFailed',
        data: {
          objectId: request.objectId,
          fileId: request.fileId,
          ...(request.page > 1 ? { page: request.page } : {}),
          masterSha512: request.masterSha512,
          reason,
          attempts,
          ...(languages ? { languages: languages.map((l) => l.slice(0, 20)).slice(0, 20) } : {}),
        },
      },
    ],
    { ...ACTOR, causationId: request.cause },
  );
  return reason;
}

/**
 * The page as the engines read it: from the derivative's pyramid (checked against the digest
 * its DerivativeCreated recorded, so a damaged derivative is refused, not read as garbage), at
 * the level nearest above OCR_MAX_SIDE, scaled to it, as PNG.
 */
async function ocrImage(services: OcrServices, derivative: DerivativeInfo, page: number, dpi: number | undefined): Promise<{ png: Buffer; width: number; height: number }> {
  if (Math.min(derivative.width, derivative.height) < MIN_SIDE) {
    throw new OcrInputError(`page ${page} is ${derivative.width} × ${derivative.height} px: a side under ${MIN_SIDE} px cannot hold a line of text`);
  }
  const path = services.derivatives.pyramidPath(derivative.masterSha512, page);
  let sha256: string;
  try {
    sha256 = (await digestFile(path)).digests.sha256;
  } catch (err) {
    // Gone from disk or unreadable: no fault of the page, so retried, and recorded when the attempts run out.
    throw new Error(`the derivative of page ${page} cannot be read: ${(err as Error).message}`);
  }
  if (sha256 !== derivative.pyramid.sha256) {
    throw new OcrInputError(`the derivative of page ${page} is damaged (its pyramid hashes to ${sha256.slice(0, 16)}…, the log recorded ${derivative.pyramid.sha256.slice(0, 16)}…); rebuild it, then read the page again`);
  }
  const scale = Math.min(1, OCR_MAX_SIDE / Math.max(derivative.width, derivative.height));
  const width = Math.max(1, Math.round(derivative.width * scale));
  const height = Math.max(1, Math.round(derivative.height * scale));
  try {
    const level = pageFor(derivative.width, width, derivative.pyramid.levels);
    const scaled = openImage(path, { maxPixels: services.maxPixels, page: level }).resize(width, height, { fit: 'fill' });
    // Tesseract sizes its noise and line filters by the resolution; without it, it guesses.
    const png = await (dpi ? scaled.withMetadata({ density: dpi * scale }) : scaled).png({ compressionLevel: 1 }).toBuffer();
    return { png, width, height };
  } catch (err) {
    throw new OcrInputError(`the derivative of page ${page} cannot be decoded: ${(err as Error).message}`);
  }
}

/** The engine's page in full-resolution canvas pixels: whole pixels, every box inside the canvas and at least 1 × 1. */
export function scalePage(page: OcrPage, width: number, height: number): OcrPage {
  const sx = width / page.width;
  const sy = height / page.height;
  const scale = <T extends Box>(b: T): T => {
    const x = Math.min(width - 1, Math.max(0, Math.round(b.x * sx)));
    const y = Math.min(height - 1, Math.max(0, Math.round(b.y * sy)));
    const right = Math.min(width, Math.round((b.x + b.w) * sx));
    const bottom = Math.min(height, Math.round((b.y + b.h) * sy));
    return { ...b, x, y, w: Math.max(1, right - x), h: Math.max(1, bottom - y) };
  };
  return {
    ...page,
    width,
    height,
    blocks: page.blocks.map((block) => ({ ...scale(block), lines: block.lines.map((line) => ({ ...scale(line), words: line.words.map(scale) })) })),
  };
}

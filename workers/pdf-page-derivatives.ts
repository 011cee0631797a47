import type { Logger } from 'pino';
import { type OwnPageText, type PageDerivativeOutcome, recordPageDerivatives } from '../src/application/machine-facts.ts';
import type { CommandContext } from '../src/application/command-handler.ts';
import type { Config } from '../src/config.ts';
import type { DerivativeInfo } from '../src/domain/events.ts';
import { MAX_PAGES } from '../src/domain/page-image.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { DerivativeError, type DerivativeStore } from '../src/iiif/derivative-store.ts';
import { openPdf, PDF_ENGINE, PdfError, type PageRasterOptions, type PageText, type PdfDocument } from '../src/storage/pdf-pages.ts';
import { redactPaths } from '../src/storage/redact-paths.ts';

/**
 * The pages of a PDF master as page images: each page is drawn by pdf.js, and its pixels go
 * through the same derivative build as a scan's (pyramid, tiles, sizes; page n ≥ 2 under
 * `{sha512}.p{n}`). A born-digital page's own text layer is recorded as its page text
 * (PageTextRecorded, source "born-digital") in the same append as its DerivativeCreated and
 * right after it, so that the page is never sent to OCR.
 *
 * Pages are made one at a time and recorded a batch at a time: a 2,000-page PDF holds one
 * page's raster and a batch's facts, never the whole document. Batches are recorded in page
 * order, so that the canvases (and the page numbers the search index gives page texts, taken
 * from the canvases on record) grow from page 1 as pages are made. A retry after a crash
 * rebuilds nothing already in the derivative store and records nothing already on record.
 *
 * Resolution: 300 dpi by default (THUKHO_PDF_DPI), the resolution text is scanned at and OCR
 * engines are trained on, so that born-digital and scanned pages look and zoom alike; lowered
 * for a page whose longest side would pass THUKHO_PDF_MAX_EDGE (6,000 px: an A3 page keeps
 * its 300 dpi, a poster or a map sheet is drawn smaller, and one page's canvas stays under
 * 150 MB of RGBA) or whose area would pass THUKHO_MAX_PIXELS (what any stored image may be).
 */
export interface PdfPagesContext {
  store: EventStore;
  derivatives: DerivativeStore;
  config: Config;
  logger: Logger;
  facts: CommandContext;
}

export interface PdfPagesJob {
  objectId: string;
  fileId: string;
  masterSha512: string;
  /** Attempts of this job so far, this one included. */
  attempts: number;
  /** Pages counted at ingest (FileIngested `pdf.pages`), a hint: see unreachable below. */
  ingestPages?: number | undefined;
}

export interface PdfPagesResult {
  pages: number;
  made: number;
  failed: number;
  texts: number;
  tiles: number;
  /** Facts appended (0 when everything was on record already). */
  recorded: number;
  /** Time spent drawing and building, per page made. */
  msPerPage: number;
}

/** A whole PDF that cannot become pages: what to record as page 1's DerivativeFailed. */
export class PdfUnusableError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PdfUnusableError';
  }
}

/** A batch is recorded when it has this many pages… */
const BATCH_PAGES = 16;
/** …or about this many bytes of page text and word boxes, whichever comes first. */
const BATCH_BYTES = 4 * 1024 * 1024;
/** A word box, as JSON, is about this many bytes. */
const WORD_BYTES = 60;

const RENDERED_BY = `${PDF_ENGINE} + @napi-rs/canvas`;

export async function derivePdfPages(ctx: PdfPagesContext, job: PdfPagesJob, masterPath: string): Promise<PdfPagesResult> {
  const { config, derivatives } = ctx;
  let doc: PdfDocument;
  try {
    doc = await openPdf(masterPath);
  } catch (err) {
    // An encrypted or unreadable PDF does not get better with retries; a missing file may.
    if (err instanceof PdfError) throw new PdfUnusableError(err.messages.en);
    throw err;
  }
  try {
    const total = doc.pageCount;
    if (total === 0) throw new PdfUnusableError('The PDF has no pages (its page tree is empty): there is nothing to show.');
    const last = Math.min(total, config.pdf.maxPages);
    const raster: PageRasterOptions = { dpi: config.pdf.dpi, maxPixels: config.maxPixels, maxEdge: config.pdf.maxEdge };
    const failure = (page: number, reason: string): PageDerivativeOutcome => ({
      page,
      failure: { masterSha512: job.masterSha512, reason: redactPaths(reason).slice(0, 2000), attempts: job.attempts },
    });

    const result: PdfPagesResult = { pages: total, made: 0, failed: 0, texts: 0, tiles: 0, recorded: 0, msPerPage: 0 };
    let spent = 0;
    let batch: PageDerivativeOutcome[] = [];
    let batchBytes = 0;
    const flush = async (outcomes: PageDerivativeOutcome[]) => {
      if (outcomes.length === 0) return;
      result.recorded += await recordPageDerivatives(ctx.store, job.objectId, job.fileId, outcomes, ctx.facts);
    };

    for (let page = 1; page <= last; page++) {
      const started = Date.now();
      let outcome: PageDerivativeOutcome;
      try {
        const info = await derivatives.buildFromRendered(async () => (await doc.renderPage(page, raster)).png, job.masterSha512, {
          tileSize: config.iiif.tileSize,
          maxPixels: config.maxPixels,
          page,
          renderedBy: RENDERED_BY,
        });
        const text = await ownText(doc, page, raster, info, ctx.logger, job);
        outcome = { page, info, ...(text ? { text } : {}) };
        result.made++;
        result.tiles += info.tiles;
        if (text) result.texts++;
        spent += Date.now() - started;
      } catch (err) {
        if (!(err instanceof PdfError) && !(err instanceof DerivativeError && err.kind === 'undecodable')) throw err;
        const reason = err instanceof PdfError ? err.messages.en : err.message;
        outcome = failure(page, `page ${page} of ${total}: ${reason}`);
        result.failed++;
      }
      batch.push(outcome);
      batchBytes += 'text' in outcome && outcome.text ? outcome.text.text.length * 2 + (outcome.text.words?.length ?? 0) * WORD_BYTES : 0;
      if (batch.length >= BATCH_PAGES || batchBytes >= BATCH_BYTES) {
        await flush(batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (last < total) {
      const skipped = last + 1 === total ? `page ${total}` : `pages ${last + 1}–${total}`;
      batch.push(failure(last + 1, `${skipped} of ${total} were not made: this server makes at most ${config.pdf.maxPages} pages of one PDF (THUKHO_PDF_MAX_PAGES).`));
      result.failed += total - last;
    } else if (unreachable(job, total, batch)) {
      // pdf.js counts the pages it can reach: a broken entry in the page tree ends its count
      // there, and the pages after it are silently gone. The ingest count (page objects in the
      // file) says they exist; a count above pdf.js's is alone no proof (an incremental update
      // repeats the page objects it changes), but with the last reachable page broken it is.
      const expected = job.ingestPages!;
      const skipped = total + 1 === expected ? `page ${expected}` : `pages ${total + 1}–${expected}`;
      batch.push(failure(total + 1, `${skipped} of ${expected} (as counted at ingest) were not made: they come after page ${total}, whose entry in the page tree is broken, and pdf.js cannot reach them.`));
      result.failed += expected - total;
    }
    await flush(batch);
    result.msPerPage = result.made === 0 ? 0 : Math.round(spent / result.made);
    return result;
  } finally {
    await doc.close();
  }
}

/** The last page pdf.js reaches is broken, and ingest counted pages after it. */
function unreachable(job: PdfPagesJob, total: number, batch: readonly PageDerivativeOutcome[]): boolean {
  const lastPage = batch[batch.length - 1];
  return job.ingestPages !== undefined && job.ingestPages > total && total + 1 <= MAX_PAGES && lastPage?.page === total && 'failure' in lastPage;
}

/**
 * The page's own text layer as its page text, with the word boxes on the derivative's pixels;
 * none for a page without text (a scan inside a PDF: OCR reads it). A text layer that cannot
 * be read leaves the page to OCR too, rather than failing a page whose image is fine.
 */
async function ownText(doc: PdfDocument, page: number, raster: PageRasterOptions, info: DerivativeInfo, logger: Logger, job: PdfPagesJob): Promise<OwnPageText | undefined> {
  let layer: PageText;
  try {
    layer = await doc.pageText(page, raster);
  } catch (err) {
    if (!(err instanceof PdfError)) throw err;
    logger.warn({ objectId: job.objectId, fileId: job.fileId, page, reason: err.messages.en }, 'text layer of a PDF page cannot be read; the page is left to OCR');
    return undefined;
  }
  if (layer.text.trim() === '') return undefined;
  return { text: layer.text, source: 'born-digital', engine: PDF_ENGINE, words: onDerivative(layer, info) };
}

/**
 * Boxes drawn for this raster, on the derivative's pixels: the same size unless the
 * derivative was made earlier under another THUKHO_PDF_DPI, when they are scaled to it.
 */
function onDerivative(layer: PageText, info: DerivativeInfo): NonNullable<OwnPageText['words']> {
  if (layer.width === info.width && layer.height === info.height) return layer.words;
  const sx = info.width / layer.width;
  const sy = info.height / layer.height;
  return layer.words.map((w) => {
    const x = Math.min(info.width - 1, Math.floor(w.x * sx));
    const y = Math.min(info.height - 1, Math.floor(w.y * sy));
    return { start: w.start, end: w.end, x, y, w: Math.max(1, Math.min(info.width - x, Math.round(w.w * sx))), h: Math.max(1, Math.min(info.height - y, Math.round(w.h * sy))) };
  });
}

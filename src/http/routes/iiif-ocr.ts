import Router from '@koa/router';
import { OCR_FILE_NAMES, type OcrFile } from '../../iiif/manifest.ts';
import { canvasImageIds } from '../../projections/manifest-read-model.ts';
import { findOcrReading } from '../../projections/page-text-read-model.ts';
import { OCR_MEDIA_TYPE, OcrOutputStore } from '../../storage/ocr-outputs.ts';
import { notModified } from '../etag.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';
import { readModel, validId, validPageImageId, allowedManifest } from './iiif-presentation.ts';

/**
 * A page's current OCR reading as files: `/iiif/ocr/{objectId}/{imageId}/alto.xml`,
 * `hocr.html` and `text.txt` (ALTO 4, hOCR, plain text), linked from the canvas's `seeAlso`
 * (ALTO). They are the work's content (domain/access-decision.ts): a confidential work does
 * not exist for the public, a restricted one asks to sign in, even though its manifest is public.
 *
 * The files are stored by digest and never change, so the digest is the ETag. A stored file
 * that no longer matches its digest (or is gone) is not served: the answer is 503 with a
 * Retry-After, not a 500 and not a 404. The page does have a reading (a 404 would tell a
 * harvester there is none, and it would stop asking); what is wrong is on our side and is
 * mended without the client (`thukho ocr --object ID --again` writes the files anew), so
 * "not available now, ask again later" is the true answer. It is logged as an error, with
 * the work, the page and the digest, for the staff to act on.
 */
const FILE_KINDS = new Map(Object.entries(OCR_FILE_NAMES).map(([kind, name]) => [name as string, kind as OcrFile]));
/** An hour: time for someone to read the page again. */
const DAMAGED_RETRY_AFTER_SECONDS = 3600;

export function ocrRoutes(services: AppServices): Router {
  const router = new Router();
  const { readDb, logger } = services;
  const outputs = new OcrOutputStore(services.config.derivativesDir);

  router.get('/iiif/ocr/:objectId/:imageId/:file', async (ctx) => {
    const objectId = validId(ctx.params.objectId, 'object');
    const imageId = validPageImageId(ctx.params.imageId);
    const name = ctx.params.file ?? '';
    const kind = FILE_KINDS.get(name);
    if (!kind) {
      const names = Object.values(OCR_FILE_NAMES).join(', ');
      throw new Problem(404, 'no-such-file', {
        vi: `Không có tệp "${name.slice(0, 80)}"; kết quả nhận dạng của một trang có: ${names}.`,
        en: `There is no file "${name.slice(0, 80)}"; a page's OCR results are: ${names}.`,
      });
    }
    allowedManifest(ctx, readDb, objectId, 'content');
    const isCanvas = readModel(() => canvasImageIds(readDb, objectId)).includes(imageId);
    const reading = isCanvas ? findOcrReading(readDb, objectId, imageId) : undefined;
    if (!reading) {
      throw new Problem(404, 'no-ocr', {
        vi: `Trang "${imageId}" của tài liệu "${objectId}" chưa được nhận dạng chữ (OCR).`,
        en: `Page "${imageId}" of object "${objectId}" has not been read by OCR yet.`,
      }, { objectId, imageId });
    }
    const stored = reading.outputs[kind];
    // A client that holds the digest's bytes already holds the good file: 304 before any reading.
    if (notModified(ctx, `"${stored.sha256}"`)) return;
    let bytes: Buffer;
    try {
      bytes = await outputs.read(kind, stored.sha256);
    } catch (err) {
      logger.error(
        { objectId, imageId, kind, sha256: stored.sha256, ocrEvent: reading.eventId, reason: err instanceof Error ? err.message : String(err) },
        'stored OCR output damaged or missing: not served',
      );
      // Not the file's tag, and not to be kept by a cache: the same request must ask again.
      ctx.remove('ETag');
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Retry-After', String(DAMAGED_RETRY_AFTER_SECONDS));
      throw new Problem(503, 'ocr-output-unavailable', {
        vi: `Tệp ${name} của trang "${imageId}" đang bị hỏng nên chưa thể gửi; cán bộ đã được báo, hãy thử lại sau.`,
        en: `The ${name} of page "${imageId}" is damaged and cannot be sent now; the staff have been told, please try again later.`,
      }, { objectId, imageId });
    }
    ctx.status = 200;
    ctx.set('Content-Type', OCR_MEDIA_TYPE[kind]);
    // hOCR is a document a browser renders on our origin: it may run nothing and load nothing.
    if (kind === 'hocr') ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    ctx.body = bytes;
  });

  return router;
}

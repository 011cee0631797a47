import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { Id } from '../../domain/metadata.ts';
import { parsePageImageId } from '../../domain/page-image.ts';
import { type ManifestLookup, TOP, collectionDocument, findManifest, manifestHolderFor, renderStoredJson } from '../../projections/manifest-read-model.ts';
import type { AccessSubject } from '../../domain/access-decision.ts';
import { cacheControlFor, listCacheControl, refuse, withdrawnWork } from '../access.ts';
import { authOf } from '../auth.ts';
import { compress, compressedCache } from '../compress.ts';
import { notModified } from '../etag.ts';
import { Problem } from '../problem.ts';
import { publicBase } from '../public-base.ts';
import type { ReadModelDb } from '../../projections/read-model-db.ts';
import type { AppServices } from '../services.ts';
import { accessRecorder } from '../access-events.ts';

/**
 * IIIF Presentation 3: manifests (built by the manifests projection, served as stored text)
 * and collections (listed per request, because what a collection shows depends on who asks).
 * Access follows the one decision (domain/access-decision.ts). A manifest is a work's record,
 * as public as its catalogue record: a restricted work's manifest is served to everyone, and
 * its image services refuse the tiles to those who may not see them (IIIF practice: the
 * Authorization Flow probes the image service, not the manifest).
 */
export const PRESENTATION_3_MEDIA_TYPE = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"';

/** Coded (gzip, br) manifests and collection pages kept in memory. */
const MANIFEST_CACHE_BYTES = 32 * 1024 * 1024;

const ID_NAMES = {
  object: { vi: 'Mã tài liệu', en: 'object id' },
  collection: { vi: 'Mã bộ sưu tập', en: 'collection id' },
  file: { vi: 'Mã tệp', en: 'file id' },
} as const;

export function validId(raw: string | undefined, what: keyof typeof ID_NAMES): string {
  const parsed = Id.safeParse(raw);
  if (parsed.success) return parsed.data;
  const name = ID_NAMES[what];
  throw new Problem(400, 'invalid-id', { vi: `${name.vi} không hợp lệ: "${raw ?? ''}".`, en: `Invalid ${name.en}: "${raw ?? ''}".` }, { id: raw ?? null });
}

/** A page image id (the file id for page 1, `<fileId>~p<n>` for page n), or a 400 saying why not. */
export function validPageImageId(raw: string | undefined): string {
  const imageId = raw ?? '';
  if (parsePageImageId(imageId)) return imageId;
  throw new Problem(400, 'invalid-id', {
    vi: `"${imageId.slice(0, 80)}" không phải là mã trang hợp lệ.`,
    en: `"${imageId.slice(0, 80)}" is not a valid page id.`,
  });
}

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 27);
}

/** Send a Presentation 3 document (Cache-Control is set already), or 304 when the client has it. */
function sendDocument(ctx: Context, body: string, etag: string): void {
  if (notModified(ctx, etag)) return;
  ctx.status = 200;
  // Set before the body, or koa would call a string body text/plain.
  ctx.set('Content-Type', PRESENTATION_3_MEDIA_TYPE);
  ctx.body = body;
}

/**
 * The projection's tables exist only once the manifests projection has started; until then
 * (or if it is not wired in) answer 503 rather than 500.
 */
export function readModel<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof Error && /no such table: iiif_/.test(err.message)) {
      throw new Problem(503, 'manifests-unavailable', {
        vi: 'Các tài liệu IIIF đang được dựng; vui lòng thử lại sau ít phút.',
        en: 'IIIF documents are being built; please retry in a few minutes.',
      });
    }
    throw err;
  }
}

function collectionNotFound(id: string): Problem {
  return new Problem(404, 'not-found', {
    vi: `Không tìm thấy bộ sưu tập "${id}".`,
    en: `Collection "${id}" does not exist.`,
  }, { collectionId: id });
}

/**
 * The manifest of a work, when the viewer may have `what` of it (the manifest itself is the
 * record; page text, OCR files and Content Search are content), with Cache-Control set from
 * the decision; or the problem to answer.
 */
export function allowedManifest(ctx: Context, readDb: ReadModelDb, objectId: string, what: AccessSubject): Extract<ManifestLookup, { status: 'ok' }> {
  const found = readModel(() => findManifest(readDb, objectId, authOf(ctx).viewer, what));
  const notFound = () =>
    new Problem(404, 'not-found', {
      vi: `Không tìm thấy tài liệu "${objectId}".`,
      en: `Object "${objectId}" does not exist.`,
    }, { objectId });
  switch (found.status) {
    case 'refused': {
      const reason = found.withdrawnReason;
      return refuse(ctx, found.refusal, { absent: notFound, gone: { ...withdrawnWork(objectId), ...(reason ? { reason } : {}) } });
    }
    case 'empty':
      // Its first page may come any moment: no cache keeps the 404.
      ctx.set('Cache-Control', 'no-store');
      throw new Problem(404, 'no-images', {
        vi: `Tài liệu "${objectId}" chưa có ảnh nào nên chưa có manifest IIIF.`,
        en: `Object "${objectId}" has no images yet, so it has no IIIF manifest.`,
      }, { objectId });
    case 'ok':
      ctx.set('Cache-Control', cacheControlFor(found.access));
      return found;
  }
}

export function presentationRoutes(services: AppServices): Router {
  const router = new Router();
  const { readDb, config } = services;
  const institution = config.institution;
  const recorder = accessRecorder(services.access, readDb);
  // A 500-page manifest is coded once per representation, not once per reader.
  const coded = compress({ cache: compressedCache(MANIFEST_CACHE_BYTES) });

  router.get('/iiif/manifest/:objectId', coded, async (ctx) => {
    const objectId = validId(ctx.params.objectId, 'object');
    const found = allowedManifest(ctx, readDb, objectId, 'record');
    // A viewer opening the work: our reading room, or any IIIF client (a 304 is a reopening).
    recorder.viewed(ctx, objectId, found.accessLevel, 'manifest');
    const base = publicBase(services.config.publicUrl, ctx);
    // The stored ETag names the template; base, institution and the holding library complete the representation.
    const holder = manifestHolderFor(readDb, objectId, config.libraryId);
    const etag = `"${shortHash(found.etag, base, institution, holder ? JSON.stringify(holder) : '')}"`;
    const body = notModified(ctx, etag) ? '' : renderStoredJson(found.json, { base, institution, ...(holder ? { holder } : {}) });
    sendDocument(ctx, body, etag);
  });

  /** A collection, the page list of a big one, or one of its pages. */
  const collection = (ctx: Context, rawId: string | undefined, page: number | undefined) => {
    const id = rawId === TOP ? TOP : validId(rawId, 'collection');
    const { viewer } = authOf(ctx);
    const found = readModel(() => collectionDocument(readDb, id, viewer, page));
    if (found.status === 'absent') throw collectionNotFound(id);
    if (found.status === 'no-page') {
      throw new Problem(404, 'no-such-page', {
        vi: `Bộ sưu tập "${id}" không có trang ${page}.`,
        en: `Collection "${id}" has no page ${page}.`,
      }, { collectionId: id, page, pages: found.pages });
    }
    const body = renderStoredJson(found.json, { base: publicBase(services.config.publicUrl, ctx), institution });
    ctx.set('Cache-Control', listCacheControl(viewer));
    sendDocument(ctx, body, `"${shortHash(body)}"`);
  };

  router.get('/iiif/collection/:collectionId', coded, async (ctx) => {
    collection(ctx, ctx.params.collectionId, undefined);
  });

  router.get('/iiif/collection/:collectionId/page/:n', coded, async (ctx) => {
    const raw = ctx.params.n ?? '';
    if (!/^[1-9]\d{0,8}$/.test(raw)) {
      throw new Problem(400, 'invalid-page', {
        vi: `Số trang phải là số nguyên dương; nhận được "${raw}".`,
        en: `The page number must be a positive integer; got "${raw}".`,
      });
    }
    collection(ctx, ctx.params.collectionId, Number(raw));
  });

  return router;
}

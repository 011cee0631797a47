import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { type AccessDecision, decideAccess } from '../../domain/access-decision.ts';
import { holdingLibrary } from '../../domain/access-policy.ts';
import { loginServiceV1, needsAuthServices } from '../../iiif/auth-services.ts';
import { parsePageImageId } from '../../domain/page-image.ts';
import { ImageRequestError } from '../../iiif/image-request.ts';
import { ImageNotReadyError, ImageUnavailableError, IMAGE_CONTEXT, LEVEL2_PROFILE_URI } from '../../iiif/image-service.ts';
import { RenderBudgetExceededError } from '../../iiif/render-budget.ts';
import { type ImageFile, imageFileLookup } from '../../projections/object-read-model.ts';
import { requireAccess } from '../access.ts';
import { authOf } from '../auth.ts';
import { compress } from '../compress.ts';
import { notModified } from '../etag.ts';
import { Problem } from '../problem.ts';
import { publicBase } from '../public-base.ts';
import type { AppServices } from '../services.ts';

/**
 * IIIF Image API 3 at /iiif/3/{fileId}/…: the access decision for the work's content (tiles,
 * info.json and thumbnails alike), then the image service. Errors are problem+json with the
 * Image API's statuses: 400 for a request the spec does not allow, 404 for an unknown or
 * confidential image, 401 for a restricted one the viewer may not see (sign in or come to the
 * reading room; a restricted image's info.json declares the IIIF Authentication 1.0 login
 * service, iiif/auth-services.ts, and its 401 is the info.json), 410 for a withdrawn
 * object's image; and,
 * with Retry-After, 503 for an image whose derivative is still being made or when every
 * render queue is full, 429 for a client with too many renders in flight or over its
 * rendering allowance (iiif/render-rate.ts).
 */
const JSON_LD = `application/ld+json;profile="${IMAGE_CONTEXT}"`;

/** Unknown, and confidential to the viewer, alike: the image service and its probe say the same. */
export function imageNotFound(imageId: string): Problem {
  return new Problem(404, 'image-not-found', {
    vi: `Không có ảnh "${imageId.slice(0, 100)}".`,
    en: `There is no image "${imageId.slice(0, 100)}".`,
  });
}

export function imageRoutes(services: AppServices): Router {
  const router = new Router();
  const query = imageFileLookup(services.readDb);
  // Every tile needs its file's facts and access level. They change only when the object
  // read model applies events, so a lookup stays good until the runner's position moves.
  type Sized = ImageFile & { width: number; height: number };
  // Kept narrowed (an image without a size is no image to serve): a hit allocates nothing.
  const cache = new Map<string, Sized | undefined>();
  let cachedAt: bigint | null | undefined;
  const lookup = (imageId: string): Sized | undefined => {
    const at = services.objects.appliedPosition();
    if (at !== cachedAt || cache.size > 10_000) {
      cache.clear();
      cachedAt = at;
    }
    if (cache.has(imageId)) return cache.get(imageId);
    const found = query(imageId);
    const file = found && found.width !== null && found.height !== null ? { ...found, width: found.width, height: found.height } : undefined;
    cache.set(imageId, file);
    return file;
  };
  const images = services.images;
  const base = (ctx: Context) => publicBase(services.config.publicUrl, ctx);

  const refusalWords = (fileId: string) => ({ absent: () => imageNotFound(fileId), gone: { vi: 'Tài liệu chứa ảnh này', en: 'The object holding this image' } });

  /** The image and what the access decision says of it (404 when there is no such image to show anyone). */
  const find = (ctx: Context): { file: Sized; decision: AccessDecision } => {
    // A file id, or a page of a multi-page master (`<fileId>~p<n>`, see page-image.ts).
    const fileId = ctx.params.fileId as string;
    const file = parsePageImageId(fileId) ? lookup(fileId) : undefined;
    if (!file) throw imageNotFound(fileId);
    return { file, decision: decideAccess(file.accessLevel, file.status, authOf(ctx).viewer, 'content', holdingLibrary(authOf(ctx).viewer, file.libraryId)) };
  };

  const resolve = (ctx: Context): Sized => {
    const { file, decision } = find(ctx);
    // Open tiles are cached by anyone, but asked about again (ETag, 304) before each use: a
    // work made confidential is refused at once, not once a year-long cache lets go.
    requireAccess(ctx, decision, refusalWords(file.imageId));
    return file;
  };

  router.get('/iiif/3/:fileId', (ctx) => {
    resolve(ctx);
    ctx.status = 303;
    ctx.redirect(`${base(ctx)}/iiif/3/${ctx.params.fileId as string}/info.json`);
  });

  router.get('/iiif/3/:fileId/info.json', compress(), (ctx) => {
    const { file, decision } = find(ctx);
    const root = base(ctx);
    const id = `${root}/iiif/3/${file.imageId}`;
    // A restricted image's service declares the Auth 1.0 login (the Auth 2.0 probe is in the
    // manifest, beside the service: iiif/auth-services.ts says why).
    const info = needsAuthServices(file.accessLevel) ? { ...images.info(file, id), service: [loginServiceV1(root)] } : images.info(file, id);
    const type = ctx.accepts('application/ld+json') === 'application/ld+json' && ctx.get('accept').includes('ld+json') ? JSON_LD : 'application/json';
    ctx.set('Link', `<${LEVEL2_PROFILE_URI}>;rel="profile"`);
    if (decision.outcome === 'sign-in') {
      // IIIF Authentication 1.0 (§3, what Mirador 4 reads): the 401 carries the image
      // information itself, with the services that lead to access.
      ctx.set('Cache-Control', 'no-store');
      ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
      ctx.status = 401;
      ctx.body = info;
      ctx.type = type;
      return;
    }
    requireAccess(ctx, decision, refusalWords(file.imageId));
    if (notModified(ctx, `"${createHash('sha1').update(file.sha512).update(id).update(file.accessLevel).digest('base64url')}"`)) return;
    ctx.body = info;
    ctx.type = type;
  });

  router.get('/iiif/3/:fileId/:region/:size/:rotation/:qualityFormat', async (ctx) => {
    const file = resolve(ctx);
    const p = ctx.params as Record<string, string>;
    const { actor } = authOf(ctx);
    // Signed-in users each have their own render budget; anonymous clients one per address.
    const client = actor.role === 'public' ? `ip:${ctx.ip}` : `user:${actor.id}`;
    try {
      const res = await images.image(file, { region: p.region!, size: p.size!, rotation: p.rotation!, qualityFormat: p.qualityFormat! }, client);
      ctx.set('Link', `<${base(ctx)}/iiif/3/${file.imageId}/${res.canonical}>;rel="canonical", <${LEVEL2_PROFILE_URI}>;rel="profile"`);
      if (notModified(ctx, res.etag)) return;
      ctx.type = res.contentType;
      ctx.body = res.body;
    } catch (err) {
      if (err instanceof ImageRequestError) throw new Problem(400, err.code, err.messages);
      if (err instanceof ImageNotReadyError) {
        throw retryLater(ctx, err.retryAfterSeconds, new Problem(503, 'image-not-ready', {
          vi: `Ảnh "${file.imageId}" rất lớn và đang được chuẩn bị để xem; hãy thử lại sau ${err.retryAfterSeconds} giây.`,
          en: `Image "${file.imageId}" is very large and is being prepared for viewing; retry in ${err.retryAfterSeconds} seconds.`,
        }));
      }
      if (err instanceof RenderBudgetExceededError) {
        throw retryLater(
          ctx,
          err.retryAfterSeconds,
          err.scope === 'client'
            ? new Problem(429, 'too-many-renders', {
                vi: `Bạn đang yêu cầu quá nhiều ảnh cần dựng cùng lúc; hãy thử lại sau ${err.retryAfterSeconds} giây. Các ô ảnh (tile) chuẩn không bị giới hạn.`,
                en: `You have too many image renders in flight; retry in ${err.retryAfterSeconds} seconds. Standard tiles are not limited.`,
              })
            : err.scope === 'rate'
              ? new Problem(429, 'render-rate-exceeded', {
                  vi: `Bạn đã yêu cầu dựng quá nhiều ảnh lớn hoặc xoay tự do trong một phút; hãy thử lại sau ${err.retryAfterSeconds} giây. Các ô ảnh (tile) chuẩn và ảnh đã có sẵn không bị giới hạn.`,
                  en: `You have asked for too many large or freely rotated renders in the last minute; retry in ${err.retryAfterSeconds} seconds. Standard tiles and images already made are not limited.`,
                })
              : new Problem(503, 'renders-busy', {
                vi: `Máy chủ ảnh đang bận; hãy thử lại sau ${err.retryAfterSeconds} giây.`,
                en: `The image server is busy; retry in ${err.retryAfterSeconds} seconds.`,
              }),
        );
      }
      if (err instanceof ImageUnavailableError) {
        services.logger.error({ fileId: file.fileId, reason: err.reason }, 'stored image cannot be rendered');
        throw new Problem(422, 'image-unreadable', {
          vi: `Không thể hiển thị ảnh "${file.imageId}": tệp gốc không giải mã được.`,
          en: `Image "${file.imageId}" cannot be shown: the master cannot be decoded.`,
        });
      }
      throw err;
    }
  });

  return router;
}

/** A refusal that is not the image's fault: say when to come back, and let no cache keep it. */
function retryLater(ctx: Context, seconds: number, problem: Problem): Problem {
  ctx.set('Retry-After', String(seconds));
  ctx.set('Cache-Control', 'no-store');
  return problem;
}

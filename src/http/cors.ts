import type { Context, Next } from 'koa';

/**
 * CORS: `Access-Control-Allow-Origin: *` on the IIIF surface (images, info.json, manifests,
 * collections, content search, page text) and the Nôm fonts, for GET and HEAD only, because
 * IIIF viewers on any site fetch them (Image API 3 §1, Presentation 3 §2); nothing else
 * answers cross-origin: not the API (its writes least of all), not the site's pages, not
 * sign-in. `*` never goes with Access-Control-Allow-Credentials, which we never send: a
 * browser then neither sends cookies with such a request nor shows a script a response to
 * one that carried them, so only what a request's own bearer token (or no token) may see is
 * readable cross-origin. The preflight allows Authorization for that token (IIIF
 * Authorization Flow 2 sends its access token so) and Accept (our JSON-LD profile has
 * quotes, which makes it a non-safelisted header).
 */
const CROSS_ORIGIN = [/^\/iiif\//, /^\/fonts\/nom\//];
const READS = 'GET, HEAD';
const PREFLIGHT_HEADERS = 'Authorization, Accept, If-None-Match, If-Modified-Since, Range';
const EXPOSED = 'ETag, Link, Location, Retry-After, Content-Disposition';

export function isCrossOriginReadable(path: string): boolean {
  return CROSS_ORIGIN.some((re) => re.test(path));
}

export function cors() {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!isCrossOriginReadable(ctx.path)) return next();
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.set('Access-Control-Allow-Methods', READS);
      ctx.set('Access-Control-Allow-Headers', PREFLIGHT_HEADERS);
      ctx.set('Access-Control-Max-Age', '600');
      ctx.set('Allow', `${READS}, OPTIONS`);
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      ctx.set('Access-Control-Allow-Origin', '*');
      ctx.set('Access-Control-Expose-Headers', EXPOSED);
    }
    await next();
  };
}

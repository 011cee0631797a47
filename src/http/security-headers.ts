import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';

/**
 * Response headers that tell browsers what our answers may do, set once for every response
 * (errors included) before the routes run; the site's pages replace the CSP with their own.
 *
 * - nosniff on everything: every answer is exactly the type it says, and a browser must
 *   never guess HTML or script from bytes a depositor uploaded.
 * - Every answer that is not one of our pages (JSON, problem+json, IIIF images, downloads)
 *   gets a CSP that allows nothing: should a browser ever render one as a document (an
 *   uploaded SVG, a PDF opened from a link), no script, style or frame in it runs.
 * - `frame-ancestors 'none'` (and X-Frame-Options for old browsers): nobody frames our pages.
 *   IIIF viewers on other sites (Mirador, Universal Viewer) embed our images and manifests,
 *   fetched with CORS, never our pages; a framed page only helps clickjacking (of the
 *   sign-in and staff pages to come).
 * - HSTS only on a request that arrived over TLS (directly, or as a trusted proxy says with
 *   X-Forwarded-Proto, see THUKHO_TRUST_PROXY): sent over plain HTTP it means nothing, and a
 *   server reached by IP on a library's LAN must stay reachable without TLS.
 * - Cross-Origin-Resource-Policy: `cross-origin` for the IIIF surface (images and JSON that
 *   viewers on any site load), the viewer's files and the Nôm fonts; `same-origin` for the
 *   rest (the API, downloads, pages), which other sites have no reason to embed.
 */
export const REFERRER_POLICY = 'strict-origin-when-cross-origin';
export const NOTHING_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const HSTS = 'max-age=31536000';
const EMBEDDABLE = [/^\/iiif\//, /^\/assets\//, /^\/fonts\//];

export function securityHeaders() {
  return async (ctx: Context, next: Next): Promise<void> => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', REFERRER_POLICY);
    ctx.set('Content-Security-Policy', NOTHING_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Resource-Policy', EMBEDDABLE.some((re) => re.test(ctx.path)) ? 'cross-origin' : 'same-origin');
    if (ctx.secure) ctx.set('Strict-Transport-Security', HSTS);
    await next();
  };
}

/** `'sha256-…'`: a CSP source that allows exactly this inline element's text (CSP 3 §8.4). */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export interface PageCspOptions {
  /** Hashes (cspHash) of the page's own inline `<style>` elements; no other inline style runs. */
  styleHashes: readonly string[];
  /**
   * The /viewer page opens a manifest from any site, with that site's images and image
   * services: it may connect and load images anywhere. Other pages show only our own.
   */
  anyImageSource: boolean;
  /** THUKHO_PUBLIC_URL's origin, when pages are visited at another (links in manifests use it). */
  publicOrigin: string | undefined;
}

/**
 * The CSP of our HTML pages: scripts and styles only from our own files (the viewer's hashed
 * bundle), no `unsafe-inline` and no `unsafe-eval`; the one inline element a page may carry
 * (its Nôm `@font-face` rules) is allowed by its hash.
 */
/**
 * An empty `<style>`: the viewer's marker that keeps OpenSeadragon from injecting its own
 * (viewer/src/osd-view.ts). Allowing it allows no CSS at all.
 */
const EMPTY_STYLE = cspHash('');

export function pageCsp(o: PageCspOptions): string {
  const own = ["'self'", ...(o.publicOrigin ? [o.publicOrigin] : [])].join(' ');
  const remote = o.anyImageSource ? ' https: http:' : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' ${EMPTY_STYLE}${o.styleHashes.map((h) => ` ${h}`).join('')}`,
    `img-src ${own} data:${remote}`,
    `connect-src ${own}${remote}`,
    // IIIF token services are loaded in a hidden frame: ours, or (on /viewer) any site's.
    `frame-src ${own}${remote}`,
    `font-src ${own}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

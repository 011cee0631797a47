import { createHash } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, constants, createBrotliCompress, createGzip, gzip } from 'node:zlib';
import type { Context, Middleware, Next } from 'koa';
import { MemoryLru } from '../iiif/response-cache.ts';

/**
 * Content coding (gzip, br) for the text documents of the routes it is put on: IIIF JSON,
 * XML and HTML pages. Put on routes, not the whole app: images and tiles are compressed
 * already, and routes that code their own bodies (the site's assets) keep their own ETags.
 *
 * Conditional requests stay exact. The coded document is a different representation with
 * its own strong ETag (`"x"` → `"x-gz"`, `"x-br"`). Which representation a request selects
 * depends on its Accept-Encoding alone: a response with a validator is always coded when the
 * client accepts a coding (no minimum size for it), so the route's own 304 logic can be kept.
 * Before the route runs, If-None-Match is rewritten to the route's own tags: the tags of the
 * coding this request selects lose their suffix, tags of any other representation are dropped
 * (they name bytes this request would not get). The 304 or 200 then carries the coded tag.
 *
 * A streamed body is coded as a stream, never gathered into memory.
 */
export type Coding = 'br' | 'gzip' | 'identity';

/** Below this, a response without a validator is sent as it is: the coding's overhead is about the saving. */
export const MIN_COMPRESS_BYTES = 1024;
/** A coded body at least this large is kept (by the digest of its plain bytes), when a cache is given. */
const CACHE_MIN_BYTES = 64 * 1024;

const SUFFIX: Record<Exclude<Coding, 'identity'>, string> = { gzip: '-gz', br: '-br' };
const COMPRESSIBLE = /^(?:text\/|application\/(?:[\w.+-]+\+)?(?:json|xml)\b|application\/javascript\b|image\/svg\+xml\b)/i;
const GZIP_LEVEL = 6;
// Quality 5 codes about as fast as gzip -6 and smaller; 11 (the default) is minutes per MB.
const BROTLI_QUALITY = 5;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

export interface CompressOptions {
  /** Keep coded bodies of large documents (a 500-page manifest) so they are coded once. */
  cache?: MemoryLru;
  minBytes?: number;
}

export function compressedCache(maxBytes: number): MemoryLru {
  return new MemoryLru(maxBytes);
}

/** The coding this request selects, from Accept-Encoding (ties: the client's order). */
export function selectedCoding(ctx: Context): Coding {
  // No Accept-Encoding at all: the plain document (what clients that send none expect).
  if (!ctx.get('accept-encoding')) return 'identity';
  const chosen = ctx.acceptsEncodings('gzip', 'br', 'identity');
  return chosen === 'gzip' || chosen === 'br' ? chosen : 'identity';
}

/** Split an If-None-Match / ETag list; our tags hold no commas. */
const tags = (header: string) => header.split(',').map((t) => t.trim()).filter(Boolean);

function withSuffix(tag: string, suffix: string): string {
  return tag.endsWith('"') ? `${tag.slice(0, -1)}${suffix}"` : tag;
}

/** The route's tags in a client's If-None-Match, for a request that selects `coding`. */
function routeTags(header: string, coding: Coding): string | undefined {
  const codedSuffixes = Object.values(SUFFIX);
  const kept: string[] = [];
  for (const tag of tags(header)) {
    if (tag === '*') return '*';
    const suffix = codedSuffixes.find((s) => tag.endsWith(`${s}"`));
    if (coding === 'identity') {
      if (!suffix) kept.push(tag);
    } else if (suffix === SUFFIX[coding]) {
      kept.push(`${tag.slice(0, -1 - suffix.length)}"`);
    }
  }
  return kept.length > 0 ? kept.join(', ') : undefined;
}

function isStream(body: unknown): body is Readable {
  return body instanceof Readable || (typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function');
}

/**
 * Not flushed per write (that would cost most of the saving on record-sized writes): the coder
 * passes on its output as its window fills, so memory stays flat and the client gets bytes as
 * the answer is made, some kilobytes at a time.
 */
function codingStream(coding: Exclude<Coding, 'identity'>) {
  return coding === 'gzip' ? createGzip({ level: GZIP_LEVEL }) : createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } });
}

function code(bytes: Buffer, coding: Exclude<Coding, 'identity'>): Promise<Buffer> {
  return coding === 'gzip'
    ? gzipAsync(bytes, { level: GZIP_LEVEL })
    : brotliAsync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
}

export function compress(options: CompressOptions = {}): Middleware {
  const minBytes = options.minBytes ?? MIN_COMPRESS_BYTES;
  const { cache } = options;

  return async (ctx: Context, next: Next): Promise<void> => {
    const coding = selectedCoding(ctx);
    const inm = ctx.get('if-none-match');
    if (inm) {
      const rewritten = routeTags(inm, coding);
      if (rewritten === undefined) delete ctx.request.headers['if-none-match'];
      else ctx.request.headers['if-none-match'] = rewritten;
    }

    await next();

    const type = ctx.response.get('Content-Type');
    // What a client would get may differ with Accept-Encoding, wherever a text document is served.
    if (COMPRESSIBLE.test(type) || ctx.status === 304) ctx.vary('Accept-Encoding');
    const etag = ctx.response.get('ETag');
    if (coding === 'identity') return;
    const suffix = SUFFIX[coding];
    if (ctx.status === 304) {
      if (etag) ctx.set('ETag', withSuffix(etag, suffix));
      return;
    }
    const body: unknown = ctx.body;
    if (body == null || ctx.response.get('Content-Encoding') || !COMPRESSIBLE.test(type) || ctx.status === 204) return;
    if (ctx.method === 'HEAD' && isStream(body)) return;

    if (isStream(body)) {
      const coded = codingStream(coding);
      // pipeline: an error or a hang-up on either side ends both, nothing is left open.
      pipeline(body, coded, () => {});
      ctx.remove('Content-Length');
      ctx.set('Content-Encoding', coding);
      if (etag) ctx.set('ETag', withSuffix(etag, suffix));
      ctx.body = coded;
      return;
    }

    const plain = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    // A response without a validator may be left plain when small: no conditional request names it.
    if (!etag && plain.length < minBytes) return;
    const key = cache && plain.length >= CACHE_MIN_BYTES ? `${coding}:${createHash('sha256').update(plain).digest('base64url')}` : undefined;
    let coded = key ? cache?.get(key)?.body : undefined;
    if (!coded) {
      coded = await code(plain, coding);
      if (key) cache?.set(key, { body: coded, contentType: coding });
    }
    // Setting a Buffer keeps the Content-Type the route chose, and sets Content-Length to the coded bytes.
    ctx.body = coded;
    ctx.set('Content-Type', type);
    ctx.set('Content-Encoding', coding);
    if (etag) ctx.set('ETag', withSuffix(etag, suffix));
  };
}

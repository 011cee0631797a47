import type { Context, Next } from 'koa';
import { Problem } from './problem.ts';

/**
 * No address of ours is long: ids, IIIF parameters, a search of at most 500 characters, a
 * IIIF Content State. A longer URL is someone probing (or a bug): 414 (RFC 9110 §15.5.15)
 * before any route parses it. Node itself refuses headers past 16 KiB (431, see serve.ts).
 */
export const MAX_URL_BYTES = 8192;

export function urlLength() {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (Buffer.byteLength(ctx.url) > MAX_URL_BYTES) {
      ctx.set('Connection', 'close');
      throw new Problem(414, 'uri-too-long', {
        vi: `Địa chỉ yêu cầu dài quá ${MAX_URL_BYTES} byte.`,
        en: `The request address is longer than ${MAX_URL_BYTES} bytes.`,
      }, { limit: MAX_URL_BYTES });
    }
    await next();
  };
}

/**
 * A request answered before its body is all in (refused for its token, its type, its size,
 * or sent where no body is read): the connection is closed after the answer. Otherwise node
 * would keep reading and discarding the rest for as long as the client trickles it in (there
 * is no whole-request time limit, see serve.ts), one connection held per slow client.
 */
export function closeOnUnreadBody() {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } finally {
      if (!ctx.req.complete && !ctx.headerSent) ctx.set('Connection', 'close');
    }
  };
}

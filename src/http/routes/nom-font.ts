import type { Context } from 'koa';
import { notModified } from '../etag.ts';
import { Problem } from '../problem.ts';
import { type NomFonts, WOFF2 } from '../site/nom-font.ts';

/**
 * GET /fonts/nom/{key}.woff2?c={code points}: a subset of the Nôm font, as the page that
 * links it asked for. The URL is content-addressed (the key hashes the font and the list),
 * so a good answer is immutable; bad input is a 4xx problem with the reason, never a 500.
 */
export function nomFontRoute(fonts: NomFonts) {
  return async (ctx: Context) => {
    const file = ctx.params.file ?? '';
    const key = file.endsWith('.woff2') ? file.slice(0, -'.woff2'.length) : '';
    const list = ctx.query.c;
    const result = await fonts.subset(key, typeof list === 'string' ? list : undefined);
    if (!result.ok) {
      if (result.status === 503) ctx.set('Retry-After', '5');
      throw new Problem(result.status, result.code, result.messages);
    }
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    if (notModified(ctx, `"${result.key}"`)) return;
    ctx.status = 200;
    ctx.type = WOFF2;
    ctx.body = result.body;
  };
}

import { createHash } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { isStaff, type Viewer } from '../../domain/access-policy.ts';
import { listCacheControl } from '../access.ts';
import { authOf } from '../auth.ts';
import { notModified } from '../etag.ts';
import { publicBase } from '../public-base.ts';
import { cspHash, pageCsp } from '../security-headers.ts';
import type { AppServices } from '../services.ts';
import { type AssetStore, assetStore } from './assets.ts';
import type { SafeHtml } from './html.ts';
import { queryString } from './html.ts';
import { type Bilingual, LANG_COOKIE, T, chooseLanguage, other } from './i18n.ts';
import type { PageContext } from './layout.ts';
import { type NomFonts, nomFonts } from './nom-font.ts';
import { errorPage } from './pages.ts';
import { BadRequest, parseQuery } from './request.ts';

/**
 * What every server-rendered page shares, the public site's and the staff workspace's alike:
 * the language choice, the page context, CSP and caching headers, and one way of turning a
 * failure into an HTML error page (never problem+json, never a 500 for bad input).
 */

const LANG_COOKIE_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

/** An error page to answer with. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: Bilingual,
    readonly messages: Bilingual,
    readonly extra: SafeHtml | string = '',
  ) {
    super(messages.en);
  }
}

export interface Site {
  ctx: Context;
  params: Map<string, string>;
  page: PageContext;
  viewer: Viewer;
}

export interface SiteKit {
  assets: AssetStore;
  fonts: NomFonts;
  /** A page route: parses the query strictly and turns every failure into an HTML page. */
  route: (render: (site: Site) => string | Promise<string>) => Middleware;
  /** `styles` collects the inline `<style>` texts the page is given, for its CSP. */
  pageContext: (ctx: Context, params: Map<string, string> | undefined, styles: string[]) => PageContext;
  send: (ctx: Context, status: number, body: string, styles: readonly string[]) => void;
}

export function siteKit(services: AppServices): SiteKit {
  const { config, logger } = services;
  const assets: AssetStore = assetStore(logger);
  const fonts = nomFonts({ ...config.nomFont, logger });
  const publicOrigin = config.publicUrl ? new URL(config.publicUrl).origin : undefined;

  function setPageHeaders(ctx: Context, styles: readonly string[]): void {
    ctx.set('Content-Security-Policy', pageCsp({ styleHashes: styles.map(cspHash), anyImageSource: ctx.path === '/viewer', publicOrigin }));
    // A page that said nothing of caching (the access decision sets it where a work is shown).
    if (!ctx.response.get('Cache-Control')) ctx.set('Cache-Control', 'no-cache');
    // The language comes from the cookie (what is visible, from the bearer token: see auth.ts).
    ctx.vary('Cookie');
  }

  function send(ctx: Context, status: number, body: string, styles: readonly string[]): void {
    setPageHeaders(ctx, styles);
    if (status === 200 && notModified(ctx, `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`)) return;
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = body;
  }

  function pageContext(ctx: Context, params: Map<string, string> | undefined, styles: string[]): PageContext {
    const { lang, remember } = chooseLanguage(params?.get('lang'), ctx.cookies.get(LANG_COOKIE));
    if (remember) {
      ctx.cookies.set(LANG_COOKIE, lang, { path: '/', maxAge: LANG_COOKIE_MAX_AGE_MS, sameSite: 'lax', httpOnly: true, secure: ctx.secure, overwrite: true });
    }
    const keep: Record<string, string> = {};
    for (const [k, v] of params ?? []) if (k !== 'lang') keep[k] = v;
    const { user, actor } = authOf(ctx);
    return {
      lang,
      ...(user ? { user: { name: user.name, staff: isStaff(actor) } } : {}),
      here: `${ctx.path}${queryString(keep)}`,
      institution: config.institution,
      assets: assets.pageAssets(),
      switchHref: queryString({ ...keep, lang: other(lang) }),
      base: publicBase(config.publicUrl, ctx),
      fontFaces: (text) => {
        const css = fonts.fontFaceCss(text);
        if (css) styles.push(css);
        return css;
      },
    };
  }

  const route = (render: (site: Site) => string | Promise<string>): Middleware => async (ctx) => {
    let params: Map<string, string> | undefined;
    let page: PageContext | undefined;
    const { viewer } = authOf(ctx);
    const styles: string[] = [];
    try {
      params = parseQuery(ctx.querystring);
      page = pageContext(ctx, params, styles);
      // Which works, thumbnails and links a page shows depends on who asks (a page about one
      // work sets its own, from that work's decision).
      ctx.set('Cache-Control', listCacheControl(viewer));
      send(ctx, 200, await render({ ctx, params, page, viewer }), styles);
    } catch (err) {
      page ??= pageContext(ctx, undefined, styles);
      // Only the error page's own styles.
      styles.length = 0;
      // A refusal or an error is never kept: the same address may answer otherwise next time.
      ctx.set('Cache-Control', 'no-store');
      if (err instanceof PageError) {
        if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
        send(ctx, err.status, errorPage(page, err.title, err.messages, err.extra), styles);
      } else if (err instanceof BadRequest) {
        send(ctx, 400, errorPage(page, T.badRequestTitle, err.messages), styles);
      } else {
        logger.error({ err, path: ctx.path }, 'site page failed');
        send(ctx, 500, errorPage(page, T.errorTitle, T.errorText), styles);
      }
    }
  };

  return { assets, fonts, route, pageContext, send };
}

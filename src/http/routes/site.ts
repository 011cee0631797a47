import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { decideAccess, isAllowed } from '../../domain/access-decision.ts';
import type { Viewer } from '../../domain/access-policy.ts';
import { originalFileUrl, pageImages, pdfOriginals, thumbnailFor } from '../../iiif/manifest.ts';
import { type CollectionView, type ObjectView, findCollection, findObject, listCollections, listObjects } from '../../projections/object-read-model.ts';
import { cacheControlFor, listCacheControl, REFUSAL_STATUS } from '../access.ts';
import { authOf } from '../auth.ts';
import { notModified } from '../etag.ts';
import { publicBase } from '../public-base.ts';
import { nomFontRoute } from './nom-font.ts';
import { signInRoutes } from './sign-in.ts';
import { accessRecorder } from '../access-events.ts';
import type { AppServices } from '../services.ts';
import { type AssetStore, assetStore } from '../site/assets.ts';
import { runSearch } from '../search-results.ts';
import { cspHash, pageCsp } from '../security-headers.ts';
import { FACETS, SearchQueryError, SearchUnavailableError, SORTS } from '../../search/port.ts';
import { type SafeHtml, html, httpUrl, queryString } from '../site/html.ts';
import { type Bilingual, LANG_COOKIE, T, chooseLanguage, other } from '../site/i18n.ts';
import type { ObjectCard, PageContext, Thumb } from '../site/layout.ts';
import { type CollectionCard, collectionPage, errorPage, homePage, objectPage, pageHitList, searchPage, SITE_FILTERS, type SiteSearchParams, viewerPage } from '../site/pages.ts';
import { NOM_FONT_PATH, nomFonts } from '../site/nom-font.ts';
import { BadRequest, parsePage, parseQuery, parseSearchQuery, validId } from '../site/request.ts';

/**
 * The public site: server-rendered pages in Vietnamese or English over the read models,
 * with the reading-room viewer mounted on object pages. Every answer here is an HTML page,
 * errors included (never problem+json), and bad input is a 4xx page, never a 500.
 */

const RECENT = 12;
const SEARCH_PAGE_SIZE = 20;
const COLLECTION_PAGE_SIZE = 24;
const LANG_COOKIE_MAX_AGE_MS = 365 * 24 * 3600 * 1000;

/** An error page to answer with. */
class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: Bilingual,
    readonly messages: Bilingual,
    readonly extra: SafeHtml | string = '',
  ) {
    super(messages.en);
  }
}

interface Site {
  ctx: Context;
  params: Map<string, string>;
  page: PageContext;
  viewer: Viewer;
}

/** The first page's thumbnail, where the viewer may see the work's images. */
function thumbOf(o: ObjectView, viewer: Viewer): Thumb | undefined {
  const first = pageImages(o)[0];
  if (!first || !isAllowed(decideAccess(o.accessLevel, o.status, viewer, 'content'))) return undefined;
  // Relative to this site: the thumbnail is the pre-cut size the Image API serves from cache.
  const t = thumbnailFor('', first);
  return { src: t.id, width: t.width, height: t.height };
}

/** Whether a work has a page to show: an image master, or a PDF page already drawn. */
const hasImages = (o: ObjectView) => pageImages(o).length > 0;

function card(o: ObjectView, viewer: Viewer): ObjectCard {
  const thumb = thumbOf(o, viewer);
  return {
    id: o.id,
    title: o.title,
    ...(o.creator ? { creator: o.creator } : {}),
    ...(o.date ? { date: o.date } : {}),
    ...(thumb ? { thumb } : {}),
  };
}

function isTopLevel(c: CollectionView, ids: ReadonlySet<string>): boolean {
  return !c.parentId || c.parentId === c.id || !ids.has(c.parentId);
}

export function siteRoutes(services: AppServices): Router {
  const router = new Router();
  const { readDb, config, logger } = services;
  const assets: AssetStore = assetStore(logger);
  const fonts = nomFonts({ ...config.nomFont, logger });
  const recorder = accessRecorder(services.access, readDb);

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

  /** `styles` collects the inline `<style>` texts the page is given, for its CSP. */
  function pageContext(ctx: Context, params: Map<string, string> | undefined, styles: string[]): PageContext {
    const { lang, remember } = chooseLanguage(params?.get('lang'), ctx.cookies.get(LANG_COOKIE));
    if (remember) {
      ctx.cookies.set(LANG_COOKIE, lang, { path: '/', maxAge: LANG_COOKIE_MAX_AGE_MS, sameSite: 'lax', httpOnly: true, secure: ctx.secure, overwrite: true });
    }
    const keep: Record<string, string> = {};
    for (const [k, v] of params ?? []) if (k !== 'lang') keep[k] = v;
    const { user } = authOf(ctx);
    return {
      lang,
      ...(user ? { user } : {}),
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

  /** A site route: parses the query strictly and turns every failure into an HTML page. */
  const route = (render: (site: Site) => string | Promise<string>) => async (ctx: Context) => {
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

  function collectionCards(viewer: Viewer, collections: readonly CollectionView[]): CollectionCard[] {
    return collections.map((c) => {
      const { items, total } = listObjects(readDb, { viewer, collectionId: c.id, limit: 8 });
      const withImage = items.find(hasImages);
      const thumb = withImage ? thumbOf(withImage, viewer) : undefined;
      return { id: c.id, title: c.title, ...(c.description ? { description: c.description } : {}), count: total, ...(thumb ? { thumb } : {}) };
    });
  }

  router.get('/', route(({ page, viewer }) => {
    const all = listCollections(readDb);
    const ids = new Set(all.map((c) => c.id));
    const collections = collectionCards(viewer, all.filter((c) => isTopLevel(c, ids)));
    const recent = listObjects(readDb, { viewer, limit: RECENT }).items.map((o) => card(o, viewer));
    return homePage(page, { collections, recent });
  }));

  router.get('/search', route(async ({ ctx, page, params, viewer }) => {
    const q = parseSearchQuery(params.get('q'));
    const pageNumber = parsePage(params.get('page'));
    const shown: SiteSearchParams = { q: q || undefined };
    const filters: Record<string, string> = {};
    for (const facet of FACETS) {
      const value = params.get(SITE_FILTERS[facet])?.normalize('NFC').trim();
      if (!value) continue;
      filters[facet] = value;
      shown[SITE_FILTERS[facet]] = value;
    }
    const sort = params.get('sort') || undefined;
    if (sort) shown.sort = sort;
    let result;
    try {
      // Links on the site stay relative to it.
      result = await runSearch(services.search.index, { q, filters, page: pageNumber, perPage: SEARCH_PAGE_SIZE, ...(sort ? { sort } : {}) }, viewer, '', (query, found) =>
        recorder.searched(ctx, query, found.total, 'site'),
      );
    } catch (err) {
      if (err instanceof SearchQueryError) throw new BadRequest(err.messages);
      if (err instanceof SearchUnavailableError) throw new PageError(503, { vi: 'Tìm kiếm tạm ngừng', en: 'Search unavailable' }, err.messages);
      throw err;
    }
    if (pageNumber > result.pageCount) throw new PageError(404, T.notFoundTitle, T.noSuchPage);
    const collectionTitles = new Map(listCollections(readDb).map((c) => [c.id, c.title]));
    const cards = result.hits.map((h): ObjectCard => {
      // The thumbnail only where the viewer may see the images.
      const found = findObject(readDb, h.work.id, viewer, 'content');
      const thumb = found.found ? thumbOf(found.object, viewer) : undefined;
      const m = h.work.metadata;
      return {
        id: h.work.id,
        title: h.title,
        ...(m.creator ? { creator: m.creator } : {}),
        ...(m.date ? { date: m.date } : {}),
        ...(thumb ? { thumb } : {}),
        snippet: h.snippet,
        after: pageHitList(page.lang, h),
      };
    });
    return searchPage(page, { q, params: shown, sort: SORTS.find((s) => s === sort) ?? 'relevance', result, cards, collectionTitles });
  }));

  router.get('/collections/:id', route(({ ctx, page, params, viewer }) => {
    const id = validId(ctx.params.id);
    const collection = findCollection(readDb, id);
    if (!collection) throw new PageError(404, T.notFoundTitle, T.collectionNotFound);
    const pageNumber = parsePage(params.get('page'));
    const { items, total } = listObjects(readDb, { viewer, collectionId: id, limit: COLLECTION_PAGE_SIZE, offset: (pageNumber - 1) * COLLECTION_PAGE_SIZE });
    const pageCount = Math.max(1, Math.ceil(total / COLLECTION_PAGE_SIZE));
    if (pageNumber > pageCount) throw new PageError(404, T.notFoundTitle, T.noSuchPage);
    const children = collectionCards(viewer, listCollections(readDb).filter((c) => c.parentId === id && c.id !== id));
    const cards = items.map((o) => card(o, viewer));
    return collectionPage(page, { collection, children, cards, total, page: pageNumber, pageCount });
  }));

  router.get('/objects/:objectId', route(({ ctx, page, viewer }) => {
    const id = validId(ctx.params.objectId);
    const found = findObject(readDb, id, viewer, 'record');
    if (!found.found) {
      const status = REFUSAL_STATUS[found.refusal];
      if (found.refusal === 'gone') {
        const reason = found.withdrawnReason;
        throw new PageError(status, T.goneTitle, T.goneText, reason ? html`<p class="withdrawn-reason"><strong>${T.reason[page.lang]}:</strong> ${reason}</p>` : '');
      }
      throw new PageError(status, T.notFoundTitle, T.objectNotFound);
    }
    const { object, access } = found;
    ctx.set('Cache-Control', cacheControlFor(access));
    const c = object.collectionId ? findCollection(readDb, object.collectionId) : undefined;
    // The record is public; the images and files only where the decision says so.
    const content = decideAccess(object.accessLevel, object.status, viewer, 'content');
    const readable = isAllowed(content);
    // Link previews are fetched anonymously by others: only what anyone may see goes in them.
    const thumb = access.publicCache ? thumbOf(object, viewer) : undefined;
    const pdfs = pdfOriginals(object);
    const originals = access.download ? pdfs.map((f) => ({ href: originalFileUrl('', object.id, f.fileId), name: f.name })) : [];
    // A reader who may sign in for the images gets the reading room all the same: its viewer
    // asks them to sign in (IIIF Authorization Flow 2.0, as any IIIF viewer would) and then reads.
    const shown = (readable || content.outcome === 'sign-in') && hasImages(object);
    // With images shown, the reading room on this page fetches the manifest: that is the view.
    if (!shown) recorder.viewed(ctx, object.id, object.accessLevel, 'page');
    return objectPage(page, {
      object,
      hasImages: shown,
      ...(readable ? {} : { contentRefused: true }),
      // A PDF still waiting for its pages (not one whose pages failed: that is no promise to make).
      ...(readable && !shown && pdfs.some((f) => !f.derivative && !f.derivativeFailure) ? { pagesPending: true } : {}),
      ...(originals.length > 0 ? { originals } : {}),
      ...(thumb ? { thumb } : {}),
      ...(c ? { collection: { id: c.id, title: c.title } } : {}),
    });
  }));

  router.get('/viewer', route(({ page, params }) => {
    const raw = params.get('manifest') ?? '';
    // Only an http(s) URL goes into the page; anything else the viewer reads (and reports) itself.
    return viewerPage(page, httpUrl(raw) ? raw : '');
  }));

  // The sign-in pages make their page and send it in separate steps: the page's inline styles
  // (for its CSP) are kept with the request in between.
  const pageStyles = new WeakMap<Context, string[]>();
  signInRoutes(router, services, {
    pageContext: (ctx, params) => {
      const styles: string[] = [];
      pageStyles.set(ctx, styles);
      return pageContext(ctx, params, styles);
    },
    send: (ctx, status, body) => send(ctx, status, body, pageStyles.get(ctx) ?? []),
  });

  router.get(`${NOM_FONT_PATH}:file`, nomFontRoute(fonts));

  router.get('/assets/:file', (ctx) => {
    const asset = assets.get(ctx.params.file ?? '');
    ctx.vary('Accept-Encoding');
    if (!asset) {
      ctx.status = 404;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'Not found / Không tìm thấy';
      return;
    }
    ctx.set('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    const gzip = asset.gzip !== undefined && ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
    // A different content coding is a different representation: its strong ETag differs too.
    if (notModified(ctx, gzip ? `${asset.etag.slice(0, -1)}-gz"` : asset.etag)) return;
    ctx.status = 200;
    ctx.type = asset.type;
    if (gzip) ctx.set('Content-Encoding', 'gzip');
    ctx.body = gzip ? asset.gzip : asset.body;
  });

  return router;
}

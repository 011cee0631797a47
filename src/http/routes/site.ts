import { createHash } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { Viewer } from '../../domain/access-policy.ts';
import { originalFileUrl, pageImages, pdfOriginals, thumbnailFor } from '../../iiif/manifest.ts';
import { type CollectionView, type ObjectView, findCollection, findObject, listCollections, listObjects } from '../../projections/object-read-model.ts';
import { authOf } from '../auth.ts';
import { notModified } from '../etag.ts';
import { publicBase } from '../public-base.ts';
import { nomFontRoute } from './nom-font.ts';
import { accessRecorder } from '../access-events.ts';
import type { AppServices } from '../services.ts';
import { type AssetStore, assetStore } from '../site/assets.ts';
import { runSearch } from '../search-results.ts';
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

const CSP = [
  "default-src 'self'",
  'img-src \'self\' data: https: http:',
  'connect-src \'self\' https: http:',
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'self'",
].join('; ');

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

function thumbOf(o: ObjectView): Thumb | undefined {
  const first = pageImages(o)[0];
  if (!first) return undefined;
  // Relative to this site: the thumbnail is the pre-cut size the Image API serves from cache.
  const t = thumbnailFor('', first);
  return { src: t.id, width: t.width, height: t.height };
}

/** Whether a work has a page to show: an image master, or a PDF page already drawn. */
const hasImages = (o: ObjectView) => pageImages(o).length > 0;

function card(o: ObjectView): ObjectCard {
  const thumb = thumbOf(o);
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

  function setPageHeaders(ctx: Context): void {
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('Referrer-Policy', 'strict-origin-when-cross-origin');
    ctx.set('Cache-Control', 'no-cache');
    // The language comes from the cookie (what is visible, from the bearer token: see auth.ts).
    ctx.vary('Cookie');
  }

  function send(ctx: Context, status: number, body: string): void {
    setPageHeaders(ctx);
    if (status === 200 && notModified(ctx, `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`)) return;
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = body;
  }

  function pageContext(ctx: Context, params: Map<string, string> | undefined): PageContext {
    const { lang, remember } = chooseLanguage(params?.get('lang'), ctx.cookies.get(LANG_COOKIE));
    if (remember) {
      ctx.cookies.set(LANG_COOKIE, lang, { path: '/', maxAge: LANG_COOKIE_MAX_AGE_MS, sameSite: 'lax', httpOnly: true, secure: ctx.secure, overwrite: true });
    }
    const keep: Record<string, string> = {};
    for (const [k, v] of params ?? []) if (k !== 'lang') keep[k] = v;
    return {
      lang,
      institution: config.institution,
      assets: assets.pageAssets(),
      switchHref: queryString({ ...keep, lang: other(lang) }),
      base: publicBase(config.publicUrl, ctx),
      fontFaces: fonts.fontFaceCss,
    };
  }

  /** A site route: parses the query strictly and turns every failure into an HTML page. */
  const route = (render: (site: Site) => string | Promise<string>) => async (ctx: Context) => {
    let params: Map<string, string> | undefined;
    let page: PageContext | undefined;
    try {
      params = parseQuery(ctx.querystring);
      page = pageContext(ctx, params);
      send(ctx, 200, await render({ ctx, params, page, viewer: authOf(ctx).viewer }));
    } catch (err) {
      page ??= pageContext(ctx, undefined);
      if (err instanceof PageError) {
        if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
        send(ctx, err.status, errorPage(page, err.title, err.messages, err.extra));
      } else if (err instanceof BadRequest) {
        send(ctx, 400, errorPage(page, T.badRequestTitle, err.messages));
      } else {
        logger.error({ err, path: ctx.path }, 'site page failed');
        send(ctx, 500, errorPage(page, T.errorTitle, T.errorText));
      }
    }
  };

  function collectionCards(viewer: Viewer, collections: readonly CollectionView[]): CollectionCard[] {
    return collections.map((c) => {
      const { items, total } = listObjects(readDb, { viewer, collectionId: c.id, limit: 8 });
      const withImage = items.find(hasImages);
      const thumb = withImage ? thumbOf(withImage) : undefined;
      return { id: c.id, title: c.title, ...(c.description ? { description: c.description } : {}), count: total, ...(thumb ? { thumb } : {}) };
    });
  }

  router.get('/', route(({ page, viewer }) => {
    const all = listCollections(readDb);
    const ids = new Set(all.map((c) => c.id));
    const collections = collectionCards(viewer, all.filter((c) => isTopLevel(c, ids)));
    const recent = listObjects(readDb, { viewer, limit: RECENT }).items.map(card);
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
      // The thumbnail only where the viewer may see the images (the read model decides).
      const found = findObject(readDb, h.work.id, viewer);
      const thumb = found.found ? thumbOf(found.object) : undefined;
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
    const cards = items.map(card);
    return collectionPage(page, { collection, children, cards, total, page: pageNumber, pageCount });
  }));

  router.get('/objects/:objectId', route(({ ctx, page, viewer }) => {
    const id = validId(ctx.params.objectId);
    const found = findObject(readDb, id, viewer);
    if (!found.found) {
      if (found.reason === 'hidden') throw new PageError(401, T.restrictedTitle, T.restrictedText);
      throw new PageError(404, T.notFoundTitle, T.objectNotFound);
    }
    const object = found.object;
    if (object.status === 'withdrawn') {
      const reason = object.withdrawnReason;
      throw new PageError(410, T.goneTitle, T.goneText, reason ? html`<p class="withdrawn-reason"><strong>${T.reason[page.lang]}:</strong> ${reason}</p>` : '');
    }
    const c = object.collectionId ? findCollection(readDb, object.collectionId) : undefined;
    // Link previews are fetched anonymously: only an open object's image would load for them.
    const thumb = object.accessLevel === 'open' ? thumbOf(object) : undefined;
    const pdfs = pdfOriginals(object);
    // Like the manifest's `rendering`: the original PDF is offered where anyone may take a copy.
    const originals = object.accessLevel === 'open' ? pdfs.map((f) => ({ href: originalFileUrl('', object.id, f.fileId), name: f.name })) : [];
    const shown = hasImages(object);
    // With images, the reading room on this page fetches the manifest: that is the view.
    if (!shown) recorder.viewed(ctx, object.id, object.accessLevel, 'page');
    return objectPage(page, {
      object,
      hasImages: shown,
      // A PDF still waiting for its pages (not one whose pages failed: that is no promise to make).
      ...(!shown && pdfs.some((f) => !f.derivative && !f.derivativeFailure) ? { pagesPending: true } : {}),
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

  router.get(`${NOM_FONT_PATH}:file`, nomFontRoute(fonts));

  router.get('/assets/:file', (ctx) => {
    const asset = assets.get(ctx.params.file ?? '');
    ctx.vary('Accept-Encoding');
    ctx.set('X-Content-Type-Options', 'nosniff');
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

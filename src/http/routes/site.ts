import Router from '@koa/router';
import type { Context } from 'koa';
import { isAllowed } from '../../domain/access-decision.ts';
import type { Viewer } from '../../domain/access-policy.ts';
import { originalFileUrl, pageImages, pdfOriginals, thumbnailFor } from '../../iiif/manifest.ts';
import { type CollectionView, type ObjectView, decideWorkAccess, findCollection, findObject, listCollections, listObjects } from '../../projections/object-read-model.ts';
import type { ReadModelDb } from '../../projections/read-model-db.ts';
import { cacheControlFor, REFUSAL_STATUS } from '../access.ts';
import { notModified } from '../etag.ts';
import { nomFontRoute } from './nom-font.ts';
import { signInRoutes } from './sign-in.ts';
import { accessRecorder } from '../access-events.ts';
import type { AppServices } from '../services.ts';
import { withHoldingLibrary } from '../object-views.ts';
import { runSearch } from '../search-results.ts';
import { FACETS, SearchQueryError, SearchUnavailableError, SORTS } from '../../search/port.ts';
import { html, httpUrl } from '../site/html.ts';
import { T } from '../site/i18n.ts';
import type { ObjectCard, PageContext, Thumb } from '../site/layout.ts';
import { type CollectionCard, collectionPage, homePage, objectPage, pageHitList, searchPage, SITE_FILTERS, type SiteSearchParams, viewerPage } from '../site/pages.ts';
import { NOM_FONT_PATH } from '../site/nom-font.ts';
import { sitemapRoutes } from '../site/sitemap.ts';
import { PageError, type SiteKit } from '../site/site-route.ts';
import { BadRequest, parsePage, parseSearchQuery, validId } from '../site/request.ts';
import { libraryMap, nameIn, publicLibraries } from '../../projections/library-map.ts';
import { libraryRoutes } from './libraries-site.ts';

/**
 * The public site: server-rendered pages in Vietnamese or English over the read models,
 * with the reading-room viewer mounted on object pages. Every answer here is an HTML page,
 * errors included (never problem+json), and bad input is a 4xx page, never a 500.
 */

const RECENT = 12;
const SEARCH_PAGE_SIZE = 20;
const COLLECTION_PAGE_SIZE = 24;

/** The first page's thumbnail, where the viewer may see the work's images. */
function thumbOf(db: ReadModelDb, o: ObjectView, viewer: Viewer): Thumb | undefined {
  const first = pageImages(o)[0];
  if (!first || !isAllowed(decideWorkAccess(db, o, viewer, 'content'))) return undefined;
  // Relative to this site: the thumbnail is the pre-cut size the Image API serves from cache.
  const t = thumbnailFor('', first);
  return { src: t.id, width: t.width, height: t.height };
}

/** Whether a work has a page to show: an image master, or a PDF page already drawn. */
const hasImages = (o: ObjectView) => pageImages(o).length > 0;

function card(db: ReadModelDb, o: ObjectView, viewer: Viewer): ObjectCard {
  const thumb = thumbOf(db, o, viewer);
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

export function siteRoutes(services: AppServices, kit: SiteKit): Router {
  const router = new Router();
  const { readDb, config, logger } = services;
  const { assets, fonts, route, pageContext, send } = kit;
  const recorder = accessRecorder(services.access, readDb);

  function collectionCards(viewer: Viewer, collections: readonly CollectionView[]): CollectionCard[] {
    return collections.map((c) => {
      const { items, total } = listObjects(readDb, { viewer, collectionId: c.id, limit: 8 });
      const withImage = items.find(hasImages);
      const thumb = withImage ? thumbOf(readDb, withImage, viewer) : undefined;
      return { id: c.id, title: c.title, ...(c.description ? { description: c.description } : {}), count: total, ...(thumb ? { thumb } : {}) };
    });
  }

  router.get('/', route(({ page, viewer }) => {
    const all = listCollections(readDb);
    const ids = new Set(all.map((c) => c.id));
    const collections = collectionCards(viewer, all.filter((c) => isTopLevel(c, ids)));
    const recent = listObjects(readDb, { viewer, limit: RECENT }).items.map((o) => card(readDb, o, viewer));
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
      result = await runSearch(
        services.search.index,
        { q, filters, page: pageNumber, perPage: SEARCH_PAGE_SIZE, ...(sort ? { sort } : {}) },
        viewer,
        '',
        (query, found) => recorder.searched(ctx, query, found.total, 'site'),
        libraryMap(readDb, config.libraryId),
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
      const thumb = found.found ? thumbOf(readDb, found.object, viewer) : undefined;
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
    const libraryNames = new Map(publicLibraries(readDb, config).map((l) => [l.id, nameIn(page.lang, l)]));
    return searchPage(page, { q, params: shown, sort: SORTS.find((s) => s === sort) ?? 'relevance', result, cards, collectionTitles, libraryNames });
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
    const cards = items.map((o) => card(readDb, o, viewer));
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
    const content = decideWorkAccess(readDb, object, viewer, 'content');
    const readable = isAllowed(content);
    // Link previews are fetched anonymously by others: only what anyone may see goes in them.
    const thumb = access.publicCache ? thumbOf(readDb, object, viewer) : undefined;
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
      library: withHoldingLibrary(services, object).library,
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

  libraryRoutes(router, services, kit, { card: (o, v) => card(services.readDb, o, v), thumbOf: (o, v) => thumbOf(services.readDb, o, v), hasImages });

  sitemapRoutes(services, {}, router);

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

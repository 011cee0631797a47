import type Router from '@koa/router';
import type { Viewer } from '../../domain/access-policy.ts';
import { type ObjectView, findObject, listCollections, listObjects } from '../../projections/object-read-model.ts';
import { collectionsOf, libraryMap, publicLibraries } from '../../projections/library-map.ts';
import { type LibraryMap, SearchQueryError, SearchUnavailableError } from '../../search/port.ts';
import { runSearch } from '../search-results.ts';
import type { AppServices } from '../services.ts';
import { T } from '../site/i18n.ts';
import type { ObjectCard, Thumb } from '../site/layout.ts';
import { LIBRARY_TEXT, type LibraryCollectionCard, libraryPage, librariesPage } from '../site/library-pages.ts';
import { BadRequest, parsePage, validId } from '../site/request.ts';
import { PageError, type SiteKit } from '../site/site-route.ts';

/**
 * `/libraries` and `/libraries/{id}`: the libraries sharing this instance, each with its record,
 * its collections and its works. Works are listed through the search index with the library
 * filter, so what a page counts and lists is what the library facet counts and finds, under
 * the same access decision (the index is asked with the viewer's visibility).
 */

const WORKS_PAGE_SIZE = 24;

interface SiteHelpers {
  card: (o: ObjectView, viewer: Viewer) => ObjectCard;
  thumbOf: (o: ObjectView, viewer: Viewer) => Thumb | undefined;
  hasImages: (o: ObjectView) => boolean;
}

export function libraryRoutes(router: Router, services: AppServices, kit: SiteKit, helpers: SiteHelpers): void {
  const { readDb, config } = services;
  const { route } = kit;

  /** One search of the index, as the site asks it; its failures become the site's error pages. */
  async function search(viewer: Viewer, input: Record<string, unknown>, map: LibraryMap) {
    try {
      return await runSearch(services.search.index, input, viewer, '', undefined, map);
    } catch (err) {
      if (err instanceof SearchQueryError) throw new BadRequest(err.messages);
      if (err instanceof SearchUnavailableError) throw new PageError(503, { vi: 'Tìm kiếm tạm ngừng', en: 'Search unavailable' }, err.messages);
      throw err;
    }
  }

  router.get('/libraries', route(async ({ page, viewer }) => {
    const libraries = publicLibraries(readDb, config);
    const map = libraryMap(readDb, config.libraryId);
    // The library facet of an empty search: every library's count of works this viewer may find.
    const found = await search(viewer, { perPage: 1, pageHitsPerWork: 0 }, map);
    const counts = new Map(found.facets.library.map((v) => [v.value, v.count]));
    const cards = libraries.map((library) => ({
      library,
      works: counts.get(library.id) ?? 0,
      collections: collectionsOf(map, library.id).length,
    }));
    return librariesPage(page, cards);
  }));

  router.get('/libraries/:id', route(async ({ ctx, page, params, viewer }) => {
    const id = validId(ctx.params.id);
    const library = publicLibraries(readDb, config).find((l) => l.id === id);
    if (!library) throw new PageError(404, T.notFoundTitle, LIBRARY_TEXT.libraryNotFound);
    const pageNumber = parsePage(params.get('page'));
    const map = libraryMap(readDb, config.libraryId);
    const own = new Set(collectionsOf(map, id));
    const all = listCollections(readDb);
    // A library's top collections: its own whose parent is another library's, or none.
    const collections: LibraryCollectionCard[] = all
      .filter((c) => own.has(c.id) && (!c.parentId || c.parentId === c.id || !own.has(c.parentId)))
      .map((c) => {
        const { items, total } = listObjects(readDb, { viewer, collectionId: c.id, limit: 8 });
        const withImage = items.find(helpers.hasImages);
        const thumb = withImage ? helpers.thumbOf(withImage, viewer) : undefined;
        return { id: c.id, title: c.title, count: total, ...(thumb ? { thumb } : {}) };
      });
    const found = await search(viewer, { filters: { library: id }, sort: 'title', page: pageNumber, perPage: WORKS_PAGE_SIZE, pageHitsPerWork: 0 }, map);
    if (pageNumber > found.pageCount) throw new PageError(404, T.notFoundTitle, T.noSuchPage);
    const cards = found.hits.flatMap((h): ObjectCard[] => {
      const o = findObject(readDb, h.work.id, viewer, 'record');
      return o.found ? [helpers.card(o.object, viewer)] : [];
    });
    return libraryPage(page, { library, collections, cards, total: found.total, page: pageNumber, pageCount: found.pageCount });
  }));
}

import type { Viewer } from '../domain/access-policy.ts';
import { BASE_PLACEHOLDER } from '../projections/manifest-read-model.ts';
import { type LibraryMap, parseSearchQuery, type PageHit, type SearchIndex, type SearchQuery, type SearchResult, visibilityFor, type WorkHit } from '../search/port.ts';

/**
 * One search as the site and the API ask it: the viewer's visibility from the one access
 * policy, and the index's canvas ids (stored with the manifests' placeholder base) made
 * absolute with the public base, with the reading-room link that opens each page hit.
 */
export interface ShownPageHit extends PageHit {
  /** The reading room at this page (and at the match, when word boxes place it). */
  readerUrl: string;
}

export interface ShownWorkHit extends Omit<WorkHit, 'pageHits'> {
  pageHits: ShownPageHit[];
}

export interface ShownResult extends Omit<SearchResult, 'hits'> {
  hits: ShownWorkHit[];
}

/** `/objects/{id}?page=N[&xywh=…]`: the viewer reads both (viewer/src/url-state.ts). */
export function readerUrl(base: string, workId: string, hit: Pick<PageHit, 'order' | 'xywh'>): string {
  return `${base}/objects/${workId}?page=${hit.order + 1}${hit.xywh ? `&xywh=${hit.xywh}` : ''}`;
}

/** Throws SearchQueryError for input the viewer must change. `searched` hears of each search run (for access events). */
export async function runSearch(
  index: SearchIndex,
  input: unknown,
  viewer: Viewer,
  base: string,
  searched?: (query: SearchQuery, result: SearchResult) => void,
  /** Each collection's library, for the library facet and filter (see libraryMap). */
  libraries?: LibraryMap,
): Promise<ShownResult> {
  const query = parseSearchQuery(input, visibilityFor(viewer, libraries), libraries);
  const result = await index.search(query);
  searched?.(query, result);
  return {
    ...result,
    hits: result.hits.map((h) => ({
      ...h,
      pageHits: h.pageHits.map((p) => ({
        ...p,
        canvasId: p.canvasId.startsWith(BASE_PLACEHOLDER) ? base + p.canvasId.slice(BASE_PLACEHOLDER.length) : p.canvasId,
        readerUrl: readerUrl(base, h.work.id, p),
      })),
    })),
  };
}

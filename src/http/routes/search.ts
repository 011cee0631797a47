import Router from '@koa/router';
import { FACETS, SearchQueryError } from '../../search/port.ts';
import { authOf } from '../auth.ts';
import { Problem } from '../problem.ts';
import { publicBase } from '../public-base.ts';
import { runSearch } from '../search-results.ts';
import type { AppServices } from '../services.ts';
import { accessRecorder } from '../access-events.ts';
import { libraryMap } from '../../projections/library-map.ts';

/**
 * `GET /api/search?q=&page=&per_page=&sort=&filter[NAME]=VALUE`: the search index as JSON,
 * hits grouped by work with their best pages. A filter may be repeated (any of its values).
 * Unknown parameters are refused with their names, not ignored: a misspelt filter would
 * otherwise silently search everything.
 */
const PARAMS: Record<string, string> = { q: 'q', page: 'page', per_page: 'perPage', sort: 'sort', page_hits: 'pageHitsPerWork' };
const FILTER = /^filter\[([A-Za-z]+)\]$/;

function invalid(messages: { vi: string; en: string }, errors: Array<{ field: string; message: string }>): Problem {
  return new Problem(400, 'invalid-search', messages, { errors });
}

/** The query string as the port's input; names are checked here, values by the port's schema. */
export function searchInput(raw: string): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const filters: Record<string, string[]> = {};
  const unknown: string[] = [];
  for (const [key, value] of new URLSearchParams(raw)) {
    const filter = FILTER.exec(key)?.[1];
    if (filter !== undefined) {
      (filters[filter] ??= []).push(value);
      continue;
    }
    const name = PARAMS[key];
    if (name === undefined) unknown.push(key);
    else if (name in input) throw invalid({ vi: `Tham số "${key}" chỉ được có một lần.`, en: `The "${key}" parameter may be given once only.` }, [{ field: key, message: 'repeated' }]);
    else input[name] = value;
  }
  if (unknown.length) {
    const names = unknown.map((k) => `"${k.slice(0, 50)}"`).join(', ');
    throw invalid(
      {
        vi: `Không có tham số ${names}; dùng q, page, per_page, sort, page_hits, filter[${FACETS.join('|')}].`,
        en: `No such parameter ${names}; use q, page, per_page, sort, page_hits, filter[${FACETS.join('|')}].`,
      },
      unknown.map((k) => ({ field: k.slice(0, 50), message: 'unknown parameter' })),
    );
  }
  // One value stays a value: `hasText` takes exactly one; the others take one or several.
  input.filters = Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, v.length === 1 ? v[0] : v]));
  return input;
}

export function searchRoutes(services: AppServices): Router {
  const router = new Router();
  const recorder = accessRecorder(services.access, services.readDb);
  router.get('/api/search', async (ctx) => {
    const input = searchInput(ctx.querystring);
    try {
      ctx.body = await runSearch(services.search.index, input, authOf(ctx).viewer, publicBase(services.config.publicUrl, ctx), (query, result) =>
        recorder.searched(ctx, query, result.total, 'api'),
        libraryMap(services.readDb, services.config.libraryId),
      );
    } catch (err) {
      if (err instanceof SearchQueryError) throw invalid(err.messages, err.issues);
      throw err;
    }
    // What a viewer may find depends on who asks.
    ctx.set('Cache-Control', 'private, no-cache');
    ctx.vary('Authorization');
  });
  return router;
}

import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Context } from 'koa';
import { allowedLevels } from '../../domain/access-decision.ts';
import { SITEMAP_MAX_URLS, type SitemapEntry, sitemapIndexXml, sitemapUrl, URLSET_CLOSE, URLSET_OPEN } from '../../formats/sitemap.ts';
import { countPublicRecords, listCollections, publicRecords } from '../../projections/object-read-model.ts';
import type { ReadModelDb } from '../../projections/read-model-db.ts';
import type { Config } from '../../config.ts';
import { compress } from '../compress.ts';
import { publicBase } from '../public-base.ts';

/**
 * What search engines are given: `/sitemap.xml` (a sitemap index) names `/sitemap-{n}.xml`,
 * which list the public pages — the home page, each collection's page, and the record page of
 * every active work an anonymous reader may find — and `/robots.txt`.
 *
 * Which works: those whose RECORD the access decision shows the public (allowedLevels of an
 * anonymous viewer, 'record'): open works, and restricted ones, whose catalogue record is
 * public and findable by design (only their pages need a sign-in); so a search engine can
 * lead a reader to a restricted work as the catalogue does. Confidential works (invisible to
 * the public) and withdrawn ones (410) never appear.
 */

/** URLs per sitemap file: the protocol's maximum. */
export const SITEMAP_PAGE_SIZE = SITEMAP_MAX_URLS;
/** Rows read from the read model at a time while a file streams. */
const CHUNK = 1000;
const ANONYMOUS = { role: 'public' } as const;
// A crawler reads these at most a few times a day; an hour keeps a withdrawn work from lingering.
const CACHE_CONTROL = 'public, max-age=3600';

export interface SitemapServices {
  readDb: ReadModelDb;
  config: Pick<Config, 'publicUrl'>;
}

/**
 * The robots.txt. Kept off: the Image API (`/iiif/3/`, tiles by the million: the pages link
 * what matters), the staff workspace, the JSON API, sign-in, site search (endless
 * combinations of filters) and the viewer of outside manifests. `/oai` stays open: OAI-PMH
 * harvesters are not crawlers, and those that do read robots.txt must still be let in.
 */
export function robotsTxt(base: string): string {
  return [
    '# thukho: what crawlers may read. Harvesters: OAI-PMH at /oai.',
    'User-agent: *',
    'Disallow: /iiif/3/',
    'Disallow: /staff',
    'Disallow: /api/',
    'Disallow: /sign-in',
    'Disallow: /sign-out',
    'Disallow: /search',
    'Disallow: /viewer',
    'Allow: /',
    '',
    `Sitemap: ${base}/sitemap.xml`,
    '',
  ].join('\n');
}

/** On `router` (the site's), or on a router of their own (tests, with a small page size). */
export function sitemapRoutes(services: SitemapServices, options: { pageSize?: number } = {}, router: Router = new Router()): Router {
  const pageSize = options.pageSize ?? SITEMAP_PAGE_SIZE;
  const { readDb, config } = services;
  const levels = allowedLevels(ANONYMOUS, 'record');

  /** The pages listed before the works: the home page and each collection's. */
  const sitePages = (base: string): SitemapEntry[] => [
    { loc: `${base}/` },
    ...listCollections(readDb).map((c) => ({ loc: `${base}/collections/${encodeURIComponent(c.id)}`, lastmod: c.updatedAt })),
  ];
  const fileCount = (fixed: number) => Math.max(1, Math.ceil((fixed + countPublicRecords(readDb, levels)) / pageSize));

  router.get('/robots.txt', (ctx) => {
    ctx.set('Cache-Control', CACHE_CONTROL);
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = robotsTxt(publicBase(config.publicUrl, ctx));
  });

  router.get('/sitemap.xml', compress(), (ctx) => {
    const base = publicBase(config.publicUrl, ctx);
    const files = fileCount(sitePages(base).length);
    ctx.set('Cache-Control', CACHE_CONTROL);
    ctx.type = 'application/xml; charset=utf-8';
    ctx.body = sitemapIndexXml(Array.from({ length: files }, (_, i) => ({ loc: `${base}/sitemap-${i + 1}.xml` })));
  });

  router.get('/sitemap-:n.xml', compress(), (ctx) => {
    const raw = ctx.params.n ?? '';
    const base = publicBase(config.publicUrl, ctx);
    const fixed = sitePages(base);
    const n = /^[1-9]\d{0,6}$/.test(raw) ? Number(raw) : 0;
    if (n === 0 || n > fileCount(fixed.length)) return notFound(ctx, raw);
    const start = (n - 1) * pageSize;
    const head = fixed.slice(start, start + pageSize);
    ctx.set('Cache-Control', CACHE_CONTROL);
    ctx.type = 'application/xml; charset=utf-8';
    ctx.body = Readable.from(urls(readDb, levels, base, head, Math.max(0, start - fixed.length), pageSize - head.length));
  });

  return router;
}

/** One sitemap file, some kilobytes at a time: at most CHUNK rows are held while it streams. */
async function* urls(db: ReadModelDb, levels: Parameters<typeof publicRecords>[1], base: string, head: readonly SitemapEntry[], offset: number, limit: number): AsyncGenerator<string> {
  yield URLSET_OPEN + head.map(sitemapUrl).join('');
  let left = limit;
  let from: Parameters<typeof publicRecords>[2] = { offset };
  while (left > 0) {
    // Each chunk is read in one go and between chunks the connection is free for other requests.
    const rows = publicRecords(db, levels, from, Math.min(CHUNK, left));
    if (rows.length === 0) break;
    yield rows.map((r) => sitemapUrl({ loc: `${base}/objects/${encodeURIComponent(r.id)}`, lastmod: r.updatedAt })).join('');
    left -= rows.length;
    from = { afterSeq: rows[rows.length - 1]!.seq };
  }
  yield URLSET_CLOSE;
}

function notFound(ctx: Context, raw: string): void {
  ctx.status = 404;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `Không có tệp sơ đồ trang "sitemap-${raw.slice(0, 20)}.xml"; xem /sitemap.xml.\nThere is no sitemap file "sitemap-${raw.slice(0, 20)}.xml"; see /sitemap.xml.\n`;
}

import { escapeXml } from './xml.ts';

/**
 * Sitemaps 0.9 (sitemaps.org): the URL set of one sitemap file, written in pieces so that a
 * route can stream a file of 50,000 URLs, and the sitemap index that names the files.
 */
export const SITEMAP_NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';
/** The protocol's limit of URLs in one sitemap file (and of files in one index). */
export const SITEMAP_MAX_URLS = 50_000;

export interface SitemapEntry {
  loc: string;
  /** ISO 8601 date-time; written as a W3C Datetime in UTC to the second. */
  lastmod?: string;
}

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
export const URLSET_OPEN = `${DECLARATION}<urlset xmlns="${SITEMAP_NS}">\n`;
export const URLSET_CLOSE = '</urlset>\n';

/** A W3C Datetime (the profile of ISO 8601 the protocol names) in UTC, or nothing for an unreadable date. */
export function w3cDatetime(iso: string): string | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

function lastmodElement(iso: string | undefined): string {
  const at = iso ? w3cDatetime(iso) : undefined;
  return at ? `<lastmod>${at}</lastmod>` : '';
}

/** One `<url>` element and its line break. */
export function sitemapUrl(entry: SitemapEntry): string {
  return `<url><loc>${escapeXml(entry.loc)}</loc>${lastmodElement(entry.lastmod)}</url>\n`;
}

export function sitemapXml(entries: readonly SitemapEntry[]): string {
  return URLSET_OPEN + entries.map(sitemapUrl).join('') + URLSET_CLOSE;
}

export function sitemapIndexXml(sitemaps: readonly SitemapEntry[]): string {
  const items = sitemaps.map((s) => `<sitemap><loc>${escapeXml(s.loc)}</loc>${lastmodElement(s.lastmod)}</sitemap>\n`).join('');
  return `${DECLARATION}<sitemapindex xmlns="${SITEMAP_NS}">\n${items}</sitemapindex>\n`;
}

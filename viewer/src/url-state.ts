import { isLang, type Lang } from './language.ts';
import { formatXywh, parseXywh, type Region } from './region.ts';

/** The viewer's part of the page URL: what a reload or a copied address reopens. */
export interface UrlState {
  /** The raw `page` value, when present (validated against the page count later). */
  page?: string;
  xywh?: Region;
  spread?: boolean;
  lang?: Lang;
  manifest?: string;
  content?: string;
}

export function readUrlState(params: URLSearchParams): UrlState {
  const state: UrlState = {};
  const page = params.get('page');
  if (page !== null) state.page = page;
  const xywh = parseXywh(params.get('xywh'));
  if (xywh) state.xywh = xywh;
  const spread = params.get('spread');
  if (spread === '1' || spread === 'true') state.spread = true;
  else if (spread === '0' || spread === 'false') state.spread = false;
  const lang = params.get('lang');
  if (isLang(lang)) state.lang = lang;
  const manifest = params.get('manifest');
  if (manifest) state.manifest = manifest;
  const content = params.get('iiif-content');
  if (content) state.content = content;
  return state;
}

export type PageChoice = { index: number; outOfRange: false } | { index: 0; outOfRange: true; raw: string };

/** A 1-based `page` value as a 0-based index; anything but 1…count opens the first page. */
export function resolvePage(raw: string | undefined, count: number): PageChoice {
  if (raw === undefined || raw === '') return { index: 0, outOfRange: false };
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (Number.isInteger(n) && n >= 1 && n <= count) return { index: n - 1, outOfRange: false };
  return { index: 0, outOfRange: true, raw };
}

/**
 * The parameters after a change of view: other parameters (manifest, lang, q…) stay;
 * the region is dropped when the whole page is in view so that plain URLs stay plain.
 */
export function writeUrlState(
  params: URLSearchParams,
  view: { page: number; xywh?: Region; spread?: boolean },
): URLSearchParams {
  const out = new URLSearchParams(params);
  out.set('page', String(view.page));
  if (view.xywh) out.set('xywh', formatXywh(view.xywh));
  else out.delete('xywh');
  if (view.spread === undefined) out.delete('spread');
  else out.set('spread', view.spread ? '1' : '0');
  return out;
}

/** A query string with commas left readable (`xywh=10,20,300,400`): RFC 3986 allows them there. */
export function queryString(params: URLSearchParams): string {
  return params.toString().replace(/%2C/gi, ',');
}

/** The same address with another interface language (the server reads `lang`). */
export function withLang(href: string, lang: Lang): string {
  const url = new URL(href);
  url.searchParams.set('lang', lang);
  return url.toString();
}

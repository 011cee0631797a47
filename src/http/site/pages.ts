import type { AccessLevel } from '../../domain/metadata.ts';
import { languageNames } from '../../iiif/manifest.ts';
import type { CollectionView, ObjectView } from '../../projections/object-read-model.ts';
import { FACETS, type FacetName, type Sort, SORTS } from '../../search/port.ts';
import type { ShownResult, ShownWorkHit } from '../search-results.ts';
import { LIBRARY_TEXT } from './library-pages.ts';
import { type SafeHtml, html, httpUrl, queryString } from './html.ts';
import { type Bilingual, FIELD_LABELS, type Lang, T, centuryLabel, formatCount, morePages, objectCount, other, pageLabel, resultCount, tr } from './i18n.ts';
import {
  type ObjectCard,
  type PageContext,
  type Thumb,
  both,
  errorMain,
  objectCard,
  page,
  pagedHref,
  pagination,
  searchForm,
  segments,
  thumbnail,
} from './layout.ts';

/** The pages of the public site, as functions of what the routes looked up: no I/O here. */

export interface CollectionCard {
  id: string;
  title: string;
  description?: string;
  count: number;
  thumb?: Thumb;
}

function collectionCards(lang: Lang, cards: readonly CollectionCard[]): SafeHtml {
  return html`<ul class="card-grid collection-grid">
${cards.map(
  (c) => html`<li class="card collection-card">
<a class="card-link" href="/collections/${c.id}">
${thumbnail(lang, c.thumb)}
<div class="card-body">
<h3 class="card-title">${c.title}</h3>
<p class="card-meta">${tr(lang, objectCount(c.count))}</p>
</div>
</a>
</li>`,
)}
</ul>`;
}

function objectGrid(lang: Lang, cards: readonly ObjectCard[]): SafeHtml {
  return html`<ul class="card-grid object-grid">${cards.map((c) => objectCard(lang, c))}</ul>`;
}

export function homePage(ctx: PageContext, data: { collections: CollectionCard[]; recent: ObjectCard[] }): string {
  const { lang } = ctx;
  const main = html`<section class="hero">
<div class="container">
<h1>${tr(lang, T.siteName)} <span class="hero-institution">${ctx.institution}</span></h1>
<p class="hero-tagline">${tr(lang, T.tagline)}</p>
${searchForm(lang)}
</div>
</section>
<div class="container">
<section aria-labelledby="h-collections">
<h2 id="h-collections">${tr(lang, T.collections)}</h2>
${data.collections.length ? collectionCards(lang, data.collections) : html`<p class="empty">${tr(lang, T.noCollections)}</p>`}
</section>
<section aria-labelledby="h-recent">
<h2 id="h-recent">${tr(lang, T.recent)}</h2>
${data.recent.length ? objectGrid(lang, data.recent) : html`<p class="empty">${tr(lang, T.noObjects)}</p>`}
</section>
</div>`;
  return page(ctx, { title: `${tr(lang, T.home)} · ${ctx.institution}`, main, mainClass: 'page-home' });
}

// ---------------------------------------------------------------------------------------
// Search

/** The site's search parameters, as they go into links (`lang` is not one: the cookie keeps it). */
export const SITE_FILTERS = { library: 'library', collection: 'collection', language: 'language', type: 'type', century: 'century', hasText: 'has_text', accessLevel: 'access' } as const satisfies Record<FacetName, string>;
export type SiteSearchParams = { q?: string; sort?: string } & { [K in (typeof SITE_FILTERS)[FacetName]]?: string };

/** Parameters in one order whatever was clicked, so that one search has one address. */
const PARAM_ORDER = ['q', ...FACETS.map((f) => SITE_FILTERS[f]), 'sort'] as const;

function searchHref(params: SiteSearchParams, change: SiteSearchParams): string {
  const merged: SiteSearchParams = { ...params, ...change };
  return `/search${queryString(Object.fromEntries(PARAM_ORDER.map((k) => [k, merged[k]])))}`;
}

export interface SearchPageData {
  q: string;
  params: SiteSearchParams;
  sort: Sort;
  result: ShownResult;
  /** Cards for the hits, in order (thumbnails resolved by the route). */
  cards: ObjectCard[];
  collectionTitles: ReadonlyMap<string, string>;
  /** Each library's name in the page's language (the home library's is the institution's). */
  libraryNames: ReadonlyMap<string, string>;
}

const FACET_LABELS: Record<FacetName, Bilingual> = {
  library: LIBRARY_TEXT.facetLibrary,
  collection: T.facetCollection,
  language: T.facetLanguage,
  type: T.facetType,
  century: T.facetCentury,
  hasText: T.facetHasText,
  accessLevel: T.facetAccess,
};

const LEVEL_LABELS: Record<AccessLevel, Bilingual> = { open: T.levelOpen, restricted: T.levelRestricted, confidential: T.levelConfidential };

const SORT_LABELS: Record<Sort, Bilingual> = { relevance: T.sortRelevance, title: T.sortTitle, date: T.sortDate, 'date-desc': T.sortDateDesc };

function facetLabel(lang: Lang, facet: FacetName, value: string, data: SearchPageData): string {
  switch (facet) {
    case 'library':
      return data.libraryNames.get(value) ?? value;
    case 'collection':
      return data.collectionTitles.get(value) ?? value;
    case 'language':
      return languageNames([value])[lang]?.[0] ?? value;
    case 'century':
      return centuryLabel(lang, Number(value));
    case 'type':
      return value;
    case 'hasText':
      return tr(lang, value === 'true' ? T.hasText : T.noText);
    case 'accessLevel':
      return tr(lang, LEVEL_LABELS[value as AccessLevel] ?? { vi: value, en: value });
  }
}

const MAX_FACET_VALUES = 30;

function facetBlock(lang: Lang, data: SearchPageData, facet: FacetName): SafeHtml {
  const values = data.result.facets[facet];
  if (values.length === 0) return html``;
  const name = SITE_FILTERS[facet];
  const shown = values.filter((v, i) => i < MAX_FACET_VALUES || v.selected);
  return html`<section class="facet" data-facet="${facet}">
<h3>${tr(lang, FACET_LABELS[facet])}</h3>
<ul>
${shown.map((v) => {
  const href = searchHref(data.params, { [name]: v.selected ? undefined : v.value });
  return html`<li><a class="facet-link${v.selected ? ' selected' : ''}" href="${href}" data-value="${v.value}" data-selected="${v.selected ? 'true' : 'false'}"><span class="facet-box" aria-hidden="true"></span><span class="facet-name">${facetLabel(lang, facet, v.value, data)}</span>${v.selected ? html`<span class="visually-hidden"> (${tr(lang, T.selected)})</span>` : ''} <span class="facet-count" data-count="${v.count}">${formatCount(lang, v.count)}</span></a></li>`;
})}
</ul>
</section>`;
}

function sortLinks(lang: Lang, data: SearchPageData): SafeHtml {
  return html`<p class="sort-links" data-sort="${data.sort}">${tr(lang, T.sortBy)}: ${SORTS.map((s, i) => {
    const label = tr(lang, SORT_LABELS[s]);
    const sep = i ? ' · ' : '';
    if (s === data.sort) return html`${sep}<strong aria-current="true">${label}</strong>`;
    return html`${sep}<a href="${searchHref(data.params, { sort: s === 'relevance' ? undefined : s })}" data-sort-option="${s}">${label}</a>`;
  })}</p>`;
}

/** The best pages of a hit: page number, snippet, and the link that opens the reading room there. */
export function pageHitList(lang: Lang, hit: ShownWorkHit): SafeHtml {
  if (hit.pageHits.length === 0) return html``;
  const more = hit.pageMatches - hit.pageHits.length;
  return html`<ul class="page-hits" aria-label="${tr(lang, T.pageHitsHeading)}">
${hit.pageHits.map((p) => html`<li class="page-hit"><a href="${p.readerUrl}" data-canvas="${p.canvasId}"${p.xywh ? html` data-xywh="${p.xywh}"` : ''}>${tr(lang, pageLabel(p.label))}</a>: <span class="page-snippet">${segments(p.snippet)}</span></li>`)}
${more > 0 ? html`<li class="page-hits-more">${tr(lang, morePages(more))}</li>` : ''}
</ul>`;
}

export function searchPage(ctx: PageContext, data: SearchPageData): string {
  const { lang } = ctx;
  const { result } = data;
  const filtered = FACETS.some((f) => data.params[SITE_FILTERS[f]] !== undefined);
  const heading = data.q ? `${tr(lang, T.searchTitle)}: ${data.q}` : tr(lang, T.browseTitle);
  const { q: _q, ...hidden } = data.params;
  const main = html`<div class="container">
<h1>${heading}</h1>
${searchForm(lang, data.q, hidden)}
<div class="search-layout">
<aside class="facets" aria-labelledby="h-refine">
<h2 id="h-refine">${tr(lang, T.refine)}</h2>
${FACETS.map((f) => facetBlock(lang, data, f))}
${filtered ? html`<p><a class="clear-filters" href="/search${queryString({ q: data.q || undefined })}">${tr(lang, T.clearFilters)}</a></p>` : ''}
</aside>
<section class="results" aria-labelledby="h-results">
<h2 id="h-results" class="visually-hidden">${tr(lang, T.results)}</h2>
<p class="result-count" role="status" data-total="${result.total}">${tr(lang, resultCount(result.total))}</p>
${sortLinks(lang, data)}
${data.cards.length ? html`<ol class="result-list">${data.cards.map((c) => objectCard(lang, c))}</ol>` : html`<p class="empty">${tr(lang, T.noResults)}</p>`}
${pagination(lang, result.page, result.pageCount, (n) => pagedHref('/search', Object.fromEntries(PARAM_ORDER.map((k) => [k, data.params[k]])), n))}
</section>
</div>
</div>`;
  return page(ctx, { title: heading, main, mainClass: 'page-search' });
}

// ---------------------------------------------------------------------------------------
// Collection

export interface CollectionPageData {
  collection: CollectionView;
  children: CollectionCard[];
  cards: ObjectCard[];
  total: number;
  page: number;
  pageCount: number;
}

export function collectionPage(ctx: PageContext, data: CollectionPageData): string {
  const { lang } = ctx;
  const c = data.collection;
  const main = html`<div class="container">
<nav class="breadcrumb" aria-label="${tr(lang, T.breadcrumb)}"><a href="/">${tr(lang, T.home)}</a> › <span>${tr(lang, T.collections)}</span></nav>
<h1>${c.title}</h1>
${c.description ? html`<p class="lead">${c.description}</p>` : ''}
<p class="links"><a href="/iiif/collection/${c.id}" type="application/ld+json">${tr(lang, T.iiifCollection)}</a> · <a href="/search${queryString({ collection: c.id })}">${tr(lang, T.search)}</a></p>
${data.children.length ? html`<section aria-labelledby="h-children"><h2 id="h-children">${tr(lang, T.subCollections)}</h2>${collectionCards(lang, data.children)}</section>` : ''}
<section aria-labelledby="h-objects">
<h2 id="h-objects">${tr(lang, T.objectsInCollection)} <span class="count">(${tr(lang, objectCount(data.total))})</span></h2>
${data.cards.length ? objectGrid(lang, data.cards) : html`<p class="empty">${tr(lang, T.noObjects)}</p>`}
${pagination(lang, data.page, data.pageCount, (n) => pagedHref(`/collections/${c.id}`, {}, n))}
</section>
</div>`;
  return page(ctx, { title: c.title, main, mainClass: 'page-collection' });
}

// ---------------------------------------------------------------------------------------
// Object

const ACCESS_NOTES: Record<AccessLevel, Bilingual> = {
  open: T.accessOpen,
  restricted: T.accessRestricted,
  confidential: T.accessConfidential,
};

type Field = Exclude<keyof typeof FIELD_LABELS, 'collection' | 'access'>;
const RECORD_FIELDS: Field[] = ['alternativeTitle', 'creator', 'date', 'language', 'subject', 'description', 'type', 'format', 'extent', 'identifier', 'source', 'rights'];

function fieldValue(lang: Lang, o: ObjectView, field: Field): SafeHtml | undefined {
  switch (field) {
    case 'alternativeTitle':
      return o.alternativeTitle?.length ? html`${o.alternativeTitle.map((t, i) => html`${i ? html`<br>` : ''}${t}`)}` : undefined;
    case 'language':
      return o.language?.length ? html`${(languageNames(o.language)[lang] ?? o.language).join(', ')}` : undefined;
    case 'rights': {
      if (!o.rights) return undefined;
      const href = httpUrl(o.rights);
      return href ? html`<a href="${href}" rel="license noopener">${o.rights}</a>` : html`${o.rights}`;
    }
    case 'description':
      return o.description ? html`${o.description.split(/\n{2,}/).map((p) => html`<p>${p}</p>`)}` : undefined;
    default: {
      const v = o[field];
      return v ? html`${v}` : undefined;
    }
  }
}

export interface ObjectPageData {
  object: ObjectView;
  collection?: { id: string; title: string };
  /** The library holding the work (issue 21): on every record, the home library's too. */
  library?: { id: string; name: { vi: string; en?: string }; code?: string };
  hasImages: boolean;
  /** The record is shown but its images and files are not for this viewer: the notice says how to get them. */
  contentRefused?: boolean;
  /** PDF files whose pages are not drawn yet: the notice says they are coming, not that nothing was digitised. */
  pagesPending?: boolean;
  /** Original files offered whole (a work's PDFs, open works only). */
  originals?: Array<{ href: string; name: string }>;
  /** First page's thumbnail, offered to link previews (open objects only). */
  thumb?: Thumb;
}

const HELD_BY = { vi: 'Nơi lưu giữ', en: 'Held by' };

function objectRecord(lang: Lang, data: ObjectPageData): SafeHtml {
  const o = data.object;
  const rows = RECORD_FIELDS.flatMap((f) => {
    const value = fieldValue(lang, o, f);
    return value ? [html`<div class="field" data-field="${f}"><dt>${tr(lang, FIELD_LABELS[f])}</dt><dd>${value}</dd></div>`] : [];
  });
  if (data.collection) {
    rows.push(html`<div class="field" data-field="collection"><dt>${tr(lang, FIELD_LABELS.collection)}</dt><dd><a href="/collections/${data.collection.id}">${data.collection.title}</a></dd></div>`);
  }
  if (data.library) {
    const l = data.library;
    const name = lang === 'en' && l.name.en ? l.name.en : l.name.vi;
    rows.push(html`<div class="field" data-field="library"><dt>${tr(lang, HELD_BY)}</dt><dd><a href="/libraries/${l.id}" data-library="${l.id}">${name}</a>${l.code ? html` <span class="library-code">(${l.code})</span>` : ''}</dd></div>`);
  }
  rows.push(html`<div class="field" data-field="access"><dt>${tr(lang, FIELD_LABELS.access)}</dt><dd class="access-note" data-access="${o.accessLevel}">${tr(lang, ACCESS_NOTES[o.accessLevel])}</dd></div>`);
  return html`<section class="object-record container" aria-labelledby="h-title">
<h1 id="h-title">${o.title}</h1>
${o.status === 'withdrawn' ? html`<p class="notice notice-warning" role="status" data-code="withdrawn">${both(lang, T.withdrawnStaffOnly)}${o.withdrawnReason ? html` <strong>${T.reason[lang]}:</strong> ${o.withdrawnReason}` : ''}</p>` : ''}
${data.contentRefused ? html`<p class="notice notice-access" role="status" data-code="sign-in-needed"><strong>${tr(lang, T.restrictedTitle)}.</strong> ${both(lang, T.restrictedText)}</p>` : data.hasImages ? '' : data.pagesPending ? html`<p class="notice notice-info" role="status" data-code="pages-pending">${both(lang, T.pagesPending)}</p>` : html`<p class="notice notice-info" role="status" data-code="no-images">${both(lang, T.noImages)}</p>`}
<h2 class="visually-hidden">${tr(lang, T.record)}</h2>
<dl class="record">${rows}</dl>
${objectLinks(lang, data)}
</section>`;
}

function objectLinks(lang: Lang, data: ObjectPageData): SafeHtml | '' {
  const links = [
    ...(data.hasImages ? [html`<li><a href="/iiif/manifest/${data.object.id}" type="application/ld+json" data-role="manifest-link">${tr(lang, T.iiifManifest)}</a></li>`] : []),
    ...(data.originals ?? []).map((f) => html`<li><a href="${f.href}" type="application/pdf" download data-role="original-download">${tr(lang, T.downloadPdf)} (${f.name})</a></li>`),
  ];
  return links.length === 0 ? '' : html`<h2 class="links-heading">${tr(lang, T.links)}</h2><ul class="object-links">${links}</ul>`;
}

export function objectPage(ctx: PageContext, data: ObjectPageData): string {
  const { lang } = ctx;
  const o = data.object;
  const manifest = `/iiif/manifest/${o.id}`;
  const preview = {
    ...(o.description ? { description: o.description } : {}),
    ...(data.thumb ? { image: data.thumb.src } : {}),
    ...(data.hasImages ? { manifest } : {}),
  };
  if (!data.hasImages) {
    return page(ctx, { title: o.title, main: objectRecord(lang, data), mainClass: 'page-object', preview });
  }
  const main = html`<div id="thukho-viewer" data-manifest="${manifest}" data-lang="${lang}" data-object-id="${o.id}"></div>
<noscript><p class="notice">${both(lang, T.noscript)} <a href="${manifest}">${manifest}</a></p></noscript>
${objectRecord(lang, data)}`;
  return page(ctx, { title: o.title, main, mainClass: 'page-viewer', viewer: true, preview });
}

// ---------------------------------------------------------------------------------------
// Standalone viewer

export function viewerPage(ctx: PageContext, manifest: string): string {
  const { lang } = ctx;
  const o = other(lang);
  const main = html`<h1 class="visually-hidden">${tr(lang, T.viewerTitle)}</h1>
<div id="thukho-viewer" data-manifest="${manifest}" data-lang="${lang}"></div>
<noscript><p class="notice">${both(lang, T.noscript)}${manifest ? html` <a href="${manifest}">${manifest}</a>` : ''}</p></noscript>
<section class="object-record container viewer-help">
<form class="search-form" action="/viewer" method="get">
<label for="manifest-url">${tr(lang, T.viewerOpenLabel)}</label>
<div class="search-row"><input id="manifest-url" name="manifest" type="url" inputmode="url" required value="${manifest}" placeholder="https://…/manifest.json" autocomplete="url"><button type="submit">${tr(lang, T.viewerOpen)}</button></div>
</form>
<p>${tr(lang, T.viewerIntro)}</p>
</section>`;
  return page(ctx, { title: `${T.viewerTitle[lang]} / ${T.viewerTitle[o]}`, main, mainClass: 'page-viewer', viewer: true });
}

// ---------------------------------------------------------------------------------------
// Errors

export function errorPage(ctx: PageContext, title: Bilingual, message: Bilingual, extra: SafeHtml | string = ''): string {
  return page(ctx, { title: title[ctx.lang], main: errorMain(ctx.lang, title, message, extra), mainClass: 'page-error' });
}

import { nameIn, type PublicLibrary } from '../../projections/library-map.ts';
import { type SafeHtml, html, httpUrl, queryString } from './html.ts';
import { type Bilingual, type Lang, objectCount, T, tr } from './i18n.ts';
import { type ObjectCard, type PageContext, type Thumb, objectCard, page, pagedHref, pagination, thumbnail } from './layout.ts';

/** The public pages of the libraries sharing this instance: `/libraries` and `/libraries/{id}`. No I/O here. */

export const LIBRARY_TEXT = {
  libraries: { vi: 'Thư viện', en: 'Libraries' },
  facetLibrary: { vi: 'Thư viện', en: 'Library' },
  librariesLead: {
    vi: 'Các thư viện cùng chia sẻ kho số này; mỗi thư viện giữ các bộ sưu tập và tài liệu của mình.',
    en: 'The libraries sharing this repository; each holds its own collections and documents.',
  },
  noLibraries: { vi: 'Chưa có thư viện nào.', en: 'No libraries yet.' },
  libraryNotFound: { vi: 'Không tìm thấy thư viện này.', en: 'This library does not exist.' },
  code: { vi: 'Mã thư viện', en: 'Library code' },
  address: { vi: 'Địa chỉ', en: 'Address' },
  email: { vi: 'Thư điện tử', en: 'Email' },
  phone: { vi: 'Điện thoại', en: 'Phone' },
  website: { vi: 'Trang web', en: 'Website' },
  collectionsOf: { vi: 'Bộ sưu tập của thư viện', en: 'Collections of this library' },
  worksOf: { vi: 'Tài liệu của thư viện', en: 'Documents of this library' },
  noCollections: { vi: 'Thư viện chưa có bộ sưu tập nào.', en: 'This library has no collections yet.' },
  noWorks: { vi: 'Thư viện chưa có tài liệu nào.', en: 'This library has no documents yet.' },
  searchLibrary: { vi: 'Tìm trong thư viện này', en: 'Search this library' },
  oaiSet: { vi: 'Tập OAI-PMH', en: 'OAI-PMH set' },
} as const satisfies Record<string, Bilingual>;

export interface LibraryCard {
  library: PublicLibrary;
  /** Works the viewer may find in it. */
  works: number;
  collections: number;
}

/** A logo is a site asset path or an http(s) URL; anything else is not put into a page. */
function logoSrc(logo: string | undefined): string | undefined {
  if (!logo) return undefined;
  if (/^\/[A-Za-z0-9/_.-]+$/.test(logo) && !logo.startsWith('//')) return logo;
  return httpUrl(logo) ? logo : undefined;
}

function logo(lang: Lang, l: PublicLibrary): SafeHtml | '' {
  const src = logoSrc(l.logo);
  return src ? html`<img class="library-logo" src="${src}" alt="${nameIn(lang, l)}" loading="lazy">` : '';
}

export function librariesPage(ctx: PageContext, cards: readonly LibraryCard[]): string {
  const { lang } = ctx;
  const main = html`<div class="container">
<h1>${tr(lang, LIBRARY_TEXT.libraries)}</h1>
<p class="lead">${tr(lang, LIBRARY_TEXT.librariesLead)}</p>
${cards.length
  ? html`<ul class="card-grid library-grid">
${cards.map(
  (c) => html`<li class="card library-card" data-library="${c.library.id}">
<a class="card-link" href="/libraries/${c.library.id}">
${logo(lang, c.library)}
<div class="card-body">
<h2 class="card-title">${nameIn(lang, c.library)}</h2>
${c.library.code ? html`<p class="card-meta library-code">${c.library.code}</p>` : ''}
<p class="card-meta" data-works="${c.works}">${tr(lang, objectCount(c.works))}</p>
</div>
</a>
</li>`,
)}
</ul>`
  : html`<p class="empty">${tr(lang, LIBRARY_TEXT.noLibraries)}</p>`}
</div>`;
  return page(ctx, { title: tr(lang, LIBRARY_TEXT.libraries), main, mainClass: 'page-libraries' });
}

export interface LibraryCollectionCard {
  id: string;
  title: string;
  count: number;
  thumb?: Thumb;
}

export interface LibraryPageData {
  library: PublicLibrary;
  collections: LibraryCollectionCard[];
  cards: ObjectCard[];
  total: number;
  page: number;
  pageCount: number;
}

function recordRows(lang: Lang, l: PublicLibrary): SafeHtml[] {
  const rows: SafeHtml[] = [];
  const row = (field: string, label: Bilingual, value: SafeHtml | string) => rows.push(html`<div class="field" data-field="${field}"><dt>${tr(lang, label)}</dt><dd>${value}</dd></div>`);
  if (l.code) row('code', LIBRARY_TEXT.code, l.code);
  if (l.address) row('address', LIBRARY_TEXT.address, l.address);
  const c = l.contact;
  if (c?.email) row('email', LIBRARY_TEXT.email, html`<a href="mailto:${c.email}">${c.email}</a>`);
  if (c?.phone) row('phone', LIBRARY_TEXT.phone, c.phone);
  const url = c?.url && httpUrl(c.url) ? c.url : undefined;
  if (url) row('url', LIBRARY_TEXT.website, html`<a href="${url}" rel="noopener">${url}</a>`);
  return rows;
}

export function libraryPage(ctx: PageContext, data: LibraryPageData): string {
  const { lang } = ctx;
  const l = data.library;
  const name = nameIn(lang, l);
  const rows = recordRows(lang, l);
  const main = html`<div class="container">
<nav class="breadcrumb" aria-label="${tr(lang, T.breadcrumb)}"><a href="/">${tr(lang, T.home)}</a> › <a href="/libraries">${tr(lang, LIBRARY_TEXT.libraries)}</a></nav>
<section class="library-record" data-library="${l.id}">
${logo(lang, l)}
<h1>${name}</h1>
${rows.length ? html`<dl class="record">${rows}</dl>` : ''}
<p class="links"><a href="/search${queryString({ library: l.id })}" data-role="library-search">${tr(lang, LIBRARY_TEXT.searchLibrary)}</a> · <a href="/oai?verb=ListRecords&amp;metadataPrefix=oai_dc&amp;set=library:${l.id}" data-role="oai-set">${tr(lang, LIBRARY_TEXT.oaiSet)} library:${l.id}</a></p>
</section>
<section aria-labelledby="h-library-collections">
<h2 id="h-library-collections">${tr(lang, LIBRARY_TEXT.collectionsOf)}</h2>
${data.collections.length
  ? html`<ul class="card-grid collection-grid">${data.collections.map(
      (c) => html`<li class="card collection-card" data-collection="${c.id}"><a class="card-link" href="/collections/${c.id}">${thumbnail(lang, c.thumb)}<div class="card-body"><h3 class="card-title">${c.title}</h3><p class="card-meta">${tr(lang, objectCount(c.count))}</p></div></a></li>`,
    )}</ul>`
  : html`<p class="empty">${tr(lang, LIBRARY_TEXT.noCollections)}</p>`}
</section>
<section aria-labelledby="h-library-works">
<h2 id="h-library-works">${tr(lang, LIBRARY_TEXT.worksOf)} <span class="count" data-total="${data.total}">(${tr(lang, objectCount(data.total))})</span></h2>
${data.cards.length ? html`<ul class="card-grid object-grid">${data.cards.map((c) => objectCard(lang, c))}</ul>` : html`<p class="empty">${tr(lang, LIBRARY_TEXT.noWorks)}</p>`}
${pagination(lang, data.page, data.pageCount, (n) => pagedHref(`/libraries/${l.id}`, {}, n))}
</section>
</div>`;
  return page(ctx, { title: name, main, mainClass: 'page-library' });
}

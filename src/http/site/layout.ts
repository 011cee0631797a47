import type { PageAssets } from './assets.ts';
import type { Segment } from '../../search/port.ts';
import { SafeHtml, html, queryString } from './html.ts';
import { ACCOUNT_TEXT, type Bilingual, type Lang, T, other, pageOf, tr } from './i18n.ts';

/**
 * The page shell every site page shares (landmarks, skip link, header with navigation and
 * language switch, footer) and the small pieces pages are made of.
 */
export interface PageContext {
  lang: Lang;
  institution: string;
  assets: PageAssets;
  /** Link that reloads the current page in the other language (the query with `lang` replaced). */
  switchHref: string;
  /** The site's public origin (THUKHO_PUBLIC_URL or the request's), for absolute links in previews. */
  base: string;
  /** `@font-face` CSS for the Nôm characters in a page's text ('' for none): see nom-font.ts. */
  fontFaces: (text: string) => string;
  /** Who is signed in on the site (shown in the header), if anyone. */
  user?: { name: string; staff?: boolean };
  /** This page's path and query, where signing in brings the reader back to. */
  here: string;
}

/** What link previews (chat apps, social sites) and IIIF discovery read from the head. */
export interface Preview {
  description?: string;
  /** A site-relative image URL, made absolute with the base. */
  image?: string;
  /** The IIIF manifest this page shows, site-relative. */
  manifest?: string;
}

export interface Shell {
  title: string;
  main: SafeHtml;
  mainClass: string;
  /** Load the viewer's script and styles (object and /viewer pages). */
  viewer?: boolean;
  preview?: Preview;
}

/** Preview text is plain and short: whitespace folded, cut at a word near 300 characters. */
function shortText(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), max - 40))}…`;
}

function previewTags(ctx: PageContext, shell: Shell): SafeHtml {
  const p = shell.preview;
  const siteName = `${tr(ctx.lang, T.siteName)} — ${ctx.institution}`;
  const description = p?.description ? shortText(p.description) : undefined;
  return html`<meta property="og:site_name" content="${siteName}">
<meta property="og:title" content="${shell.title}">
<meta property="og:type" content="website">
<meta property="og:locale" content="${ctx.lang === 'vi' ? 'vi_VN' : 'en_GB'}">
${description ? html`<meta name="description" content="${description}">
<meta property="og:description" content="${description}">` : ''}
${p?.image ? html`<meta property="og:image" content="${ctx.base}${p.image}">` : ''}
${p?.manifest ? html`<link rel="alternate" type="application/ld+json;profile=&quot;http://iiif.io/api/presentation/3/context.json&quot;" href="${ctx.base}${p.manifest}" title="IIIF manifest">` : ''}`;
}

export function languageSwitch(ctx: PageContext): SafeHtml {
  const to = other(ctx.lang);
  return html`<a class="lang-switch" data-lang-switch="${to}" href="${ctx.switchHref}" hreflang="${to}" lang="${to}">${tr(to, T.switchTo)}</a>`;
}

/** Sign in, or who is signed in and sign out. */
function accountLinks(ctx: PageContext): SafeHtml {
  const { lang } = ctx;
  if (ctx.user) {
    const workspace = ctx.user.staff ? html`<a href="/staff">${tr(lang, ACCOUNT_TEXT.workspace)}</a> · ` : '';
    return html`<li class="signed-in"><span>${tr(lang, ACCOUNT_TEXT.signedInAs)} <strong>${ctx.user.name}</strong></span> · ${workspace}<a href="/sign-out">${tr(lang, ACCOUNT_TEXT.signOut)}</a></li>`;
  }
  const back = ctx.here === '/' || ctx.here.startsWith('/sign-') ? '' : queryString({ return: ctx.here });
  return html`<li><a href="/sign-in${back}">${tr(lang, ACCOUNT_TEXT.signIn)}</a></li>`;
}

/** A sentence in the page's language, followed by the same in the other one (for errors and notices). */
export function both(lang: Lang, text: Bilingual): SafeHtml {
  const o = other(lang);
  return html`<span>${text[lang]}</span> <span class="other-lang" lang="${o}">${text[o]}</span>`;
}

export function notBuiltNotice(lang: Lang): SafeHtml {
  return html`<div class="notice notice-warning" role="status" data-code="viewer-not-built"><div class="container">${both(lang, T.viewerNotBuilt)}</div></div>`;
}

export function page(ctx: PageContext, shell: Shell): string {
  const { lang, assets } = ctx;
  const viewer = shell.viewer && assets.viewer ? assets.viewer : undefined;
  const body = html`<body>
<a class="skip-link" href="#main">${tr(lang, T.skip)}</a>
<header class="site-header">
<div class="container header-inner">
<a class="brand" href="/"><span class="brand-name">${tr(lang, T.siteName)}</span> <span class="brand-institution">${ctx.institution}</span></a>
<nav class="site-nav" aria-label="${tr(lang, T.navLabel)}">
<ul>
<li><a href="/">${tr(lang, T.home)}</a></li>
<li><a href="/search">${tr(lang, T.search)}</a></li>
<li><a href="/libraries">${tr(lang, T.libraries)}</a></li>
<li>${languageSwitch(ctx)}</li>
${accountLinks(ctx)}
</ul>
</nav>
</div>
</header>
${assets.built ? '' : notBuiltNotice(lang)}
<main id="main" class="${shell.mainClass}">
${shell.main}
</main>
<footer class="site-footer">
<div class="container">
<p>${tr(lang, T.footer)} ${ctx.institution}. <a href="/iiif/collection/top">${tr(lang, T.allCollectionsIiif)}</a></p>
</div>
</footer>
${viewer ? html`${viewer.css.map((href) => html`<link rel="stylesheet" href="${href}">`)}<script type="module" src="${viewer.js}"></script>` : ''}
</body>`;
  // Scanned as rendered (escaped, NFC): exactly the characters the reader will see. The CSS
  // is made of fixed text, hex code points and base64url keys: nothing in it needs escaping.
  const fontFaces = ctx.fontFaces(`${shell.title}\n${body.value}`);
  const doc = html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} — ${tr(lang, T.siteName)}</title>
<link rel="icon" href="data:,">
${previewTags(ctx, shell)}
${assets.siteCss ? html`<link rel="stylesheet" href="${assets.siteCss}">` : ''}
${fontFaces ? html`<style data-role="nom-font">${new SafeHtml(fontFaces)}</style>` : ''}
${viewer ? viewer.preload.map((href) => html`<link rel="modulepreload" href="${href}">`) : ''}
</head>
${body}
</html>
`;
  return doc.value;
}

export function searchForm(lang: Lang, q = '', hidden: Record<string, string | undefined> = {}): SafeHtml {
  return html`<form class="search-form" role="search" action="/search" method="get">
<label for="q">${tr(lang, T.searchLabel)}</label>
<div class="search-row">
<input id="q" name="q" type="search" value="${q}" placeholder="${tr(lang, T.searchPlaceholder)}" maxlength="500" autocomplete="off">
${Object.entries(hidden).map(([k, v]) => (v === undefined || v === '' ? '' : html`<input type="hidden" name="${k}" value="${v}">`))}
<button type="submit">${tr(lang, T.searchButton)}</button>
</div>
</form>`;
}

export function segments(parts: readonly Segment[]): SafeHtml {
  return html`${parts.map((p) => (p.mark ? html`<mark>${p.text}</mark>` : html`${p.text}`))}`;
}

export interface Thumb {
  src: string;
  width: number;
  height: number;
}

export function thumbnail(lang: Lang, thumb: Thumb | undefined): SafeHtml {
  if (!thumb) return html`<div class="thumb thumb-empty" aria-hidden="true"><span>${tr(lang, T.noImage)}</span></div>`;
  return html`<div class="thumb"><img src="${thumb.src}" alt="" width="${thumb.width}" height="${thumb.height}" loading="lazy" decoding="async"></div>`;
}

export interface ObjectCard {
  id: string;
  title: string | Segment[];
  creator?: string;
  date?: string;
  thumb?: Thumb;
  snippet?: Segment[];
  /** Shown under the card, outside its link (links of its own: the pages a search found). */
  after?: SafeHtml;
}

export function objectCard(lang: Lang, card: ObjectCard, headingLevel: 2 | 3 = 3): SafeHtml {
  const title = typeof card.title === 'string' ? html`${card.title}` : segments(card.title);
  const heading = headingLevel === 2 ? html`<h2 class="card-title">${title}</h2>` : html`<h3 class="card-title">${title}</h3>`;
  const byline = [card.creator, card.date].filter((s): s is string => !!s).join(' · ');
  return html`<li class="card object-card">
<a class="card-link" href="/objects/${card.id}">
${thumbnail(lang, card.thumb)}
<div class="card-body">
${heading}
${byline ? html`<p class="card-meta">${byline}</p>` : ''}
${card.snippet?.length ? html`<p class="card-snippet">${segments(card.snippet)}</p>` : ''}
</div>
</a>
${card.after ?? ''}
</li>`;
}

export function pagination(lang: Lang, current: number, pages: number, href: (page: number) => string): SafeHtml {
  if (pages <= 1) return html``;
  return html`<nav class="pagination" aria-label="${tr(lang, T.pagination)}">
${current > 1 ? html`<a rel="prev" href="${href(current - 1)}">${tr(lang, T.previous)}</a>` : ''}
<span class="page-status" aria-current="page">${tr(lang, pageOf(current, pages))}</span>
${current < pages ? html`<a rel="next" href="${href(current + 1)}">${tr(lang, T.next)}</a>` : ''}
</nav>`;
}

/** `path` with the page number (page 1 is the bare address) and other parameters. */
export function pagedHref(path: string, params: Record<string, string | number | undefined>, pageNumber: number): string {
  return `${path}${queryString({ ...params, page: pageNumber > 1 ? pageNumber : undefined })}`;
}

export function errorMain(lang: Lang, title: Bilingual, message: Bilingual, extra: SafeHtml | string = ''): SafeHtml {
  const o = other(lang);
  return html`<div class="container narrow error-page">
<h1>${title[lang]} <span class="other-lang" lang="${o}">/ ${title[o]}</span></h1>
<p>${both(lang, message)}</p>
${extra}
<p><a href="/">${tr(lang, T.backHome)}</a> · <a href="/search">${tr(lang, T.search)}</a></p>
</div>`;
}

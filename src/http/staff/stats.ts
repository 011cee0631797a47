import type Router from '@koa/router';
import { setTimeout as sleep } from 'node:timers/promises';
import { canReadStatistics } from '../../domain/access-policy.ts';
import { ID_PATTERN } from '../../domain/metadata.ts';
import { listCollections } from '../../projections/object-read-model.ts';
import { nameIn, type PublicLibrary, publicLibraries, reportLibraries } from '../../projections/library-map.ts';
import { hasStatsTables, type StatsReport, StatsPeriod, type StatsTable, statsReport } from '../../projections/stats-read-model.ts';
import { html, queryString, type SafeHtml } from '../site/html.ts';
import { type Bilingual, type Lang, formatCount, tr } from '../site/i18n.ts';
import { BadRequest } from '../site/request.ts';
import type { AppServices } from '../services.ts';
import { libraryOfCollection } from '../../search/port.ts';
import type { StaffKit } from './routes.ts';

/**
 * Usage statistics (/staff/stats, auditors and admins as for GET /api/stats): views per day
 * as a chart (uPlot, drawn by viewer/src/staff/stats.ts from the embedded days) and as a
 * table, the most used works, the most frequent searches and those that found nothing, for
 * a period (default: the last 30 days, UTC) and optionally one collection; each table also
 * as CSV through /api/stats?format=csv&table=… for provincial reports.
 */
const TEXT = {
  title: { vi: 'Thống kê sử dụng', en: 'Usage statistics' },
  from: { vi: 'Từ ngày', en: 'From' },
  to: { vi: 'Đến ngày (gồm cả ngày này)', en: 'To (included)' },
  collection: { vi: 'Bộ sưu tập', en: 'Collection' },
  allCollections: { vi: 'Tất cả', en: 'All' },
  show: { vi: 'Xem', en: 'Show' },
  totals: { vi: 'Tổng cộng', en: 'Totals' },
  views: { vi: 'Lượt xem', en: 'Views' },
  sessions: { vi: 'Phiên', en: 'Sessions' },
  downloads: { vi: 'Lượt tải', en: 'Downloads' },
  staffViews: { vi: 'Lượt xem của cán bộ', en: 'Staff views' },
  searches: { vi: 'Lượt tìm', en: 'Searches' },
  noResults: { vi: 'Tìm không thấy', en: 'Without results' },
  perDay: { vi: 'Lượt xem theo ngày', en: 'Views per day' },
  chartLabel: { vi: 'Biểu đồ lượt xem, lượt tải và lượt tìm theo ngày', en: 'Chart of views, downloads and searches per day' },
  day: { vi: 'Ngày', en: 'Day' },
  topWorks: { vi: 'Tài liệu được xem nhiều nhất', en: 'Most viewed objects' },
  work: { vi: 'Tài liệu', en: 'Object' },
  topSearches: { vi: 'Tìm kiếm nhiều nhất', en: 'Top searches' },
  zeroSearches: { vi: 'Tìm kiếm không có kết quả', en: 'Searches without results' },
  query: { vi: 'Từ khoá', en: 'Query' },
  csv: { vi: 'Tải CSV', en: 'Download CSV' },
  nothing: { vi: 'Không có dữ liệu trong khoảng này.', en: 'Nothing recorded in this period.' },
  notReady: { vi: 'Thống kê sử dụng chưa được xây dựng; hãy thử lại sau.', en: 'Usage statistics have not been built yet; try again later.' },
  badCollection: { vi: 'Mã bộ sưu tập không hợp lệ.', en: 'Not a collection id.' },
  library: { vi: 'Thư viện', en: 'Library' },
  allLibraries: { vi: 'Tất cả', en: 'All' },
  perLibrary: { vi: 'Lượt dùng theo thư viện', en: 'Use per library' },
  badLibrary: { vi: 'Mã thư viện không hợp lệ.', en: 'Not a library id.' },
  figuresOf: { vi: 'Số liệu của thư viện', en: 'Figures of the library' },
} as const satisfies Record<string, Bilingual>;

const TOP = 20;

/** The line that says whose figures a page shows, for a library's staff (nothing for the others). */
export function figuresNotice(lang: Lang, library: string | undefined, libraries: PublicLibrary[]): SafeHtml | '' {
  if (library === undefined) return '';
  const found = libraries.find((l) => l.id === library);
  return html`<p class="notice notice-info figures-library" data-library="${library}">${tr(lang, TEXT.figuresOf)}: ${found ? nameIn(lang, found) : library} <small>${library}</small></p>`;
}

const DAY_MS = 86_400_000;
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);

export interface StatsPageData {
  /** The period (UTC days, `to` included): the chart shows every day of it, days without use as 0. */
  from: string;
  to: string;
  days: Array<{ day: string; views: number; downloads: number; searches: number }>;
  labels: { views: string; downloads: string; searches: string; chart: string; day: string };
}

type ReportQuery = { from: string; to: string; collection?: string; library?: string };

function csvLink(lang: Lang, query: ReportQuery, table: StatsTable): SafeHtml {
  return html`<a class="csv" href="/api/stats${queryString({ ...query, format: 'csv', table })}" download>${tr(lang, TEXT.csv)}</a>`;
}

function tables(lang: Lang, r: StatsReport, query: ReportQuery): SafeHtml {
  const n = (x: number) => formatCount(lang, x);
  return html`<section aria-labelledby="per-library"><h2 id="per-library">${tr(lang, TEXT.perLibrary)} ${csvLink(lang, query, 'libraries')}</h2>
${
  r.libraries.length === 0
    ? html`<p>${tr(lang, TEXT.nothing)}</p>`
    : html`<table class="stats-libraries"><thead><tr><th>${tr(lang, TEXT.library)}</th><th>${tr(lang, TEXT.views)}</th><th>${tr(lang, TEXT.sessions)}</th><th>${tr(lang, TEXT.downloads)}</th><th>${tr(lang, TEXT.staffViews)}</th></tr></thead>
<tbody>${r.libraries.map((l) => html`<tr data-library="${l.libraryId}"><td>${l.name ?? l.libraryId} <small>${l.libraryId}</small></td><td>${n(l.views)}</td><td>${n(l.sessions)}</td><td>${n(l.downloads)}</td><td>${n(l.staffViews)}</td></tr>`)}</tbody></table>`
}
</section>
<section aria-labelledby="per-day"><h2 id="per-day">${tr(lang, TEXT.perDay)} ${csvLink(lang, query, 'days')}</h2>
<figure class="stats-chart"><div id="views-chart" role="img" aria-label="${tr(lang, TEXT.chartLabel)}"></div></figure>
<table class="stats-days"><thead><tr><th>${tr(lang, TEXT.day)}</th><th>${tr(lang, TEXT.views)}</th><th>${tr(lang, TEXT.sessions)}</th><th>${tr(lang, TEXT.downloads)}</th><th>${tr(lang, TEXT.searches)}</th><th>${tr(lang, TEXT.noResults)}</th></tr></thead>
<tbody>${r.days.map((d) => html`<tr><td>${d.day}</td><td>${n(d.views)}</td><td>${n(d.sessions)}</td><td>${n(d.downloads)}</td><td>${n(d.searches)}</td><td>${n(d.searchesWithoutResults)}</td></tr>`)}</tbody></table>
</section>
<section aria-labelledby="top-works"><h2 id="top-works">${tr(lang, TEXT.topWorks)} ${csvLink(lang, query, 'works')}</h2>
${
  r.works.length === 0
    ? html`<p>${tr(lang, TEXT.nothing)}</p>`
    : html`<table class="stats-works"><thead><tr><th>${tr(lang, TEXT.work)}</th><th>${tr(lang, TEXT.views)}</th><th>${tr(lang, TEXT.sessions)}</th><th>${tr(lang, TEXT.downloads)}</th></tr></thead>
<tbody>${r.works.slice(0, TOP).map((w) => html`<tr><td><a href="/objects/${encodeURIComponent(w.objectId)}">${w.title ?? w.objectId}</a> <small>${w.objectId}</small></td><td>${n(w.views)}</td><td>${n(w.sessions)}</td><td>${n(w.downloads)}</td></tr>`)}</tbody></table>`
}
</section>
<section aria-labelledby="top-searches"><h2 id="top-searches">${tr(lang, TEXT.topSearches)} ${csvLink(lang, query, 'searches')}</h2>
${
  r.topSearches.length === 0
    ? html`<p>${tr(lang, TEXT.nothing)}</p>`
    : html`<table class="stats-searches"><thead><tr><th>${tr(lang, TEXT.query)}</th><th>${tr(lang, TEXT.searches)}</th><th>${tr(lang, TEXT.noResults)}</th></tr></thead>
<tbody>${r.topSearches.slice(0, TOP).map((q) => html`<tr><td>${q.query}</td><td>${n(q.searches)}</td><td>${n(q.withoutResults)}</td></tr>`)}</tbody></table>`
}
</section>
<section aria-labelledby="zero-searches"><h2 id="zero-searches">${tr(lang, TEXT.zeroSearches)} ${csvLink(lang, query, 'no-results')}</h2>
${
  r.searchesWithoutResults.length === 0
    ? html`<p>${tr(lang, TEXT.nothing)}</p>`
    : html`<table class="stats-zero"><thead><tr><th>${tr(lang, TEXT.query)}</th><th>${tr(lang, TEXT.searches)}</th></tr></thead>
<tbody>${r.searchesWithoutResults.slice(0, TOP).map((q) => html`<tr><td>${q.query}</td><td>${n(q.searches)}</td></tr>`)}</tbody></table>`
}
</section>`;
}

const CATCH_UP_MS = 2000;

/** As GET /api/stats: what was recorded before the page was asked for is in it (each wait bounded). */
async function caughtUp(services: AppServices): Promise<void> {
  const access = services.access;
  const runner = services.projections.find((p) => p.projection.name === 'stats');
  if (!access || !runner) return;
  await Promise.race([access.flush(), sleep(CATCH_UP_MS, undefined, { ref: false })]);
  const written = access.lastPosition();
  if (written !== null) await runner.waitForPosition(written, CATCH_UP_MS);
}

export function registerStatsScreens(router: Router, staff: StaffKit): void {
  router.get(
    '/staff/stats',
    staff.route(
      async (s) => {
        const lang = s.page.lang;
        const today = Date.now();
        const from = s.params.get('from') || isoDay(today - 29 * DAY_MS);
        const to = s.params.get('to') || isoDay(today);
        const collection = s.params.get('collection') || undefined;
        const asked = s.params.get('library') || undefined;
        const parsed = StatsPeriod.safeParse({ from, to });
        if (!parsed.success) {
          const why = parsed.error.issues.map((i) => i.message).join('; ');
          throw new BadRequest({ vi: `Khoảng thời gian không hợp lệ: ${why}`, en: `Not a valid period: ${why}` });
        }
        if (collection !== undefined && !ID_PATTERN.test(collection)) throw new BadRequest(TEXT.badCollection);
        if (asked !== undefined && !ID_PATTERN.test(asked)) throw new BadRequest(TEXT.badLibrary);
        // A library's staff: their library's figures, and the selector offers it alone.
        const library = s.figuresLibrary(asked);
        const own = s.figuresLibrary() !== undefined;
        const { services } = staff;
        const query = { from, to, ...(collection ? { collection } : {}), ...(library ? { library } : {}) };
        const allLibraries = publicLibraries(services.readDb, services.config);
        const libraries = allLibraries.filter((l) => !own || l.id === library);
        const held = reportLibraries(services.readDb, services.config);
        const collections = listCollections(services.readDb).filter((c) => !own || libraryOfCollection(held.map, c.id) === library);
        const notice = own ? figuresNotice(lang, library, allLibraries) : '';
        const form = html`<form class="filters" method="get" action="/staff/stats">
<div class="field"><label for="stats-from">${tr(lang, TEXT.from)}</label><input type="date" id="stats-from" name="from" value="${from}" required></div>
<div class="field"><label for="stats-to">${tr(lang, TEXT.to)}</label><input type="date" id="stats-to" name="to" value="${to}" required></div>
<div class="field"><label for="stats-collection">${tr(lang, TEXT.collection)}</label><select id="stats-collection" name="collection">
<option value="">${tr(lang, TEXT.allCollections)}</option>
${collections.map((c) => (c.id === collection ? html`<option value="${c.id}" selected>${c.title}</option>` : html`<option value="${c.id}">${c.title}</option>`))}
</select></div>
<div class="field"><label for="stats-library">${tr(lang, TEXT.library)}</label><select id="stats-library" name="library">
${own ? '' : html`<option value="">${tr(lang, TEXT.allLibraries)}</option>`}
${libraries.map((l) => html`<option value="${l.id}"${l.id === library ? html` selected` : ''}>${nameIn(lang, l)}</option>`)}
</select></div>
<div class="field"><button type="submit">${tr(lang, TEXT.show)}</button></div>
</form>`;
        if (!hasStatsTables(services.readDb)) {
          return s.render({ title: tr(lang, TEXT.title), section: 'stats', main: html`<h1>${tr(lang, TEXT.title)}</h1>${notice}${form}<p class="notice notice-info">${tr(lang, TEXT.notReady)}</p>` });
        }
        await caughtUp(services);
        const report = statsReport(services.readDb, { ...parsed.data, collectionId: collection, libraryId: library, libraries: held });
        const t = report.totals;
        const n = (x: number) => formatCount(lang, x);
        const main = html`<h1>${tr(lang, TEXT.title)}</h1>
${notice}
${form}
<section aria-labelledby="stats-totals"><h2 id="stats-totals">${tr(lang, TEXT.totals)} (${report.from} – ${report.to})</h2>
<table class="stats-totals"><tbody>
<tr><th scope="row">${tr(lang, TEXT.views)}</th><td>${n(t.views)}</td></tr>
<tr><th scope="row">${tr(lang, TEXT.sessions)}</th><td>${n(t.sessions)}</td></tr>
<tr><th scope="row">${tr(lang, TEXT.downloads)}</th><td>${n(t.downloads)}</td></tr>
<tr><th scope="row">${tr(lang, TEXT.staffViews)}</th><td>${n(t.staffViews)}</td></tr>
<tr><th scope="row">${tr(lang, TEXT.searches)}</th><td>${n(t.searches)}</td></tr>
<tr><th scope="row">${tr(lang, TEXT.noResults)}</th><td>${n(t.searchesWithoutResults)}</td></tr>
</tbody></table></section>
${tables(lang, report, query)}`;
        const data: StatsPageData = {
          from: report.from,
          to: report.to,
          days: report.days.map((d) => ({ day: d.day, views: d.views, downloads: d.downloads, searches: d.searches })),
          labels: { views: tr(lang, TEXT.views), downloads: tr(lang, TEXT.downloads), searches: tr(lang, TEXT.searches), chart: tr(lang, TEXT.perDay), day: tr(lang, TEXT.day) },
        };
        return s.render({ title: tr(lang, TEXT.title), section: 'stats', main, script: 'stats', data });
      },
      {
        allow: canReadStatistics,
        refusal: { vi: 'Thống kê sử dụng dành cho kiểm soát viên và quản trị viên.', en: 'Usage statistics are for auditors and administrators.' },
      },
    ),
  );
}

import { z } from 'zod';
import { isStaff, roleFromLog } from '../domain/access-policy.ts';
import { type AccessEvent, ACCESS_EVENT_TYPES, isEventType, parseEventData } from '../domain/events.ts';
import { ACCESS_STREAM_PREFIX } from '../application/streams.ts';
import { indexText, tokenize } from '../search/text-folding.ts';
import type { Projection } from './projection.ts';
import type { ReadModelDb } from './read-model-db.ts';
import { csvDocument } from './report-csv.ts';
import { type LibraryMap, libraryCollections, libraryOfCollection } from '../search/port.ts';
import { libraryMap } from './library-map.ts';

/**
 * Usage statistics, folded from the `access-<day>` streams: views and downloads per work and
 * day (with the work's collection as it was then), the searches of each day by their folded
 * text, and how many found nothing (what the library lacks).
 *
 * - `views` counts every ObjectViewed; `sessions` counts a session once per work and day
 *   (COUNTER's "unique item" rule), so reopening a work or a viewer that fetches the manifest
 *   again does not inflate the figure a report quotes.
 * - Staff use counts too and is also shown on its own (`staffViews`, `staffDownloads`), so a
 *   report can quote readers' use alone.
 * - Everything here is for staff: it names confidential works.
 * - Counters are not idempotent by themselves: they rely on the runtime applying a batch in the
 *   transaction that moves the checkpoint, under compare-and-set (applyBatch), so a batch offered
 *   twice (a server and an online rebuild) is applied once.
 */
const ACCESS_TYPES: string[] = [...ACCESS_EVENT_TYPES];

/** Searches by the folded form of what was typed: "Truyện Kiều", "truyen kieu" and "TRUYỆN  KIỀU!" are one search. */
export function foldQuery(query: string): string {
  return indexText(tokenize(query.normalize('NFC')), 'folded');
}

export const statsReadModel: Projection = {
  name: 'stats',
  version: 1,
  filter: { streamPrefixes: [ACCESS_STREAM_PREFIX], eventTypes: ACCESS_TYPES },
  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS stats_work_days (
        day             TEXT NOT NULL,
        object_id       TEXT NOT NULL,
        -- '' for a work in no collection (a key column cannot be NULL and stay unique)
        collection_id   TEXT NOT NULL,
        views           INTEGER NOT NULL DEFAULT 0,
        sessions        INTEGER NOT NULL DEFAULT 0,
        downloads       INTEGER NOT NULL DEFAULT 0,
        staff_views     INTEGER NOT NULL DEFAULT 0,
        staff_downloads INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, object_id, collection_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS stats_work_days_by_collection ON stats_work_days (collection_id, day);
      -- Which sessions have viewed a work on a day: what makes 'sessions' count each once.
      CREATE TABLE IF NOT EXISTS stats_view_sessions (
        day       TEXT NOT NULL,
        object_id TEXT NOT NULL,
        session   TEXT NOT NULL,
        PRIMARY KEY (day, object_id, session)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS stats_search_days (
        day             TEXT NOT NULL,
        folded          TEXT NOT NULL,
        searches        INTEGER NOT NULL DEFAULT 0,
        without_results INTEGER NOT NULL DEFAULT 0,
        staff_searches  INTEGER NOT NULL DEFAULT 0,
        -- The latest text typed for it, as a report shows it.
        query           TEXT NOT NULL,
        PRIMARY KEY (day, folded)
      ) WITHOUT ROWID;
    `);
  },
  reset(db) {
    db.exec('DROP TABLE IF EXISTS stats_work_days; DROP TABLE IF EXISTS stats_view_sessions; DROP TABLE IF EXISTS stats_search_days;');
  },
  apply(db, events) {
    const countWork = db.prepare<[string, string, string, number, number, number, number, number]>(
      `INSERT INTO stats_work_days (day, object_id, collection_id, views, sessions, downloads, staff_views, staff_downloads)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (day, object_id, collection_id) DO UPDATE SET views = views + excluded.views,
         sessions = sessions + excluded.sessions, downloads = downloads + excluded.downloads,
         staff_views = staff_views + excluded.staff_views, staff_downloads = staff_downloads + excluded.staff_downloads`,
    );
    const newSession = db.prepare<[string, string, string]>('INSERT OR IGNORE INTO stats_view_sessions (day, object_id, session) VALUES (?, ?, ?)');
    const countSearch = db.prepare<[string, string, number, number, string]>(
      `INSERT INTO stats_search_days (day, folded, searches, without_results, staff_searches, query) VALUES (?, ?, 1, ?, ?, ?)
       ON CONFLICT (day, folded) DO UPDATE SET searches = searches + 1, without_results = without_results + excluded.without_results,
         staff_searches = staff_searches + excluded.staff_searches, query = excluded.query`,
    );
    for (const e of events) {
      if (!isEventType(e.type) || !ACCESS_TYPES.includes(e.type)) continue;
      const event = { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as AccessEvent;
      // The stream names the UTC day the event happened on.
      const day = e.streamId.slice(ACCESS_STREAM_PREFIX.length);
      const staff = isStaff({ role: roleFromLog(e.metadata.actor.role) }) ? 1 : 0;
      switch (event.type) {
        case 'ObjectViewed': {
          const first = newSession.run(day, event.data.objectId, e.metadata.actor.id).changes;
          countWork.run(day, event.data.objectId, event.data.collectionId ?? '', 1, first, 0, staff, 0);
          break;
        }
        case 'FileDownloaded':
          countWork.run(day, event.data.objectId, event.data.collectionId ?? '', 0, 0, 1, 0, staff);
          break;
        case 'SearchPerformed':
          countSearch.run(day, foldQuery(event.data.query), event.data.results === 0 ? 1 : 0, staff, event.data.query);
          break;
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// Reports (shared by GET /api/stats and `thukho stats`)

/** Longest period one report covers: three years of days, enough for any periodic report. */
export const MAX_REPORT_DAYS = 3 * 366;

const Day = (name: 'from' | 'to') =>
  z.string().refine(
    (text) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
      if (!m) return false;
      const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      // No rolling over: 2026-02-30 is not a day.
      return d.toISOString().slice(0, 10) === text;
    },
    { message: `"${name}": ngày không hợp lệ, dùng YYYY-MM-DD / not a day, use YYYY-MM-DD` },
  );

const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / 86_400_000;

/** A report's period: whole UTC days, `to` included, as the access streams are cut. */
export const StatsPeriod = z
  .object({ from: Day('from'), to: Day('to') })
  .refine((p) => p.from <= p.to, { message: '"from" phải không sau "to" / "from" must not be after "to"', path: ['from'] })
  .refine((p) => dayNumber(p.to) - dayNumber(p.from) + 1 <= MAX_REPORT_DAYS, {
    message: `một báo cáo bao quát tối đa ${MAX_REPORT_DAYS} ngày / a report covers at most ${MAX_REPORT_DAYS} days`,
    path: ['to'],
  });
export type StatsPeriod = z.infer<typeof StatsPeriod>;

export interface UseCounts {
  views: number;
  sessions: number;
  downloads: number;
  staffViews: number;
  staffDownloads: number;
}

export interface WorkUse extends UseCounts {
  objectId: string;
  /** The work's current title; null when the read model does not know the work (yet). */
  title: string | null;
  collectionId: string | null;
}

export interface CollectionUse extends UseCounts {
  collectionId: string | null;
  title: string | null;
  /** The library holding the collection now (a work in no collection: the home library). */
  libraryId: string;
}

export interface LibraryUse extends UseCounts {
  libraryId: string;
  name: string | null;
}

export interface DayUse extends UseCounts {
  day: string;
  searches: number;
  searchesWithoutResults: number;
}

export interface SearchUse {
  /** The text as last typed for this search. */
  query: string;
  folded: string;
  searches: number;
  withoutResults: number;
}

export interface StatsReport {
  from: string;
  to: string;
  /** The collection the work figures are limited to, when one was asked for. */
  collectionId: string | null;
  /** The library the work figures are limited to, when one was asked for. */
  libraryId: string | null;
  totals: UseCounts & { searches: number; searchesWithoutResults: number; staffSearches: number };
  days: DayUse[];
  works: WorkUse[];
  collections: CollectionUse[];
  /** Per holding library (as its collections are held now), most viewed first. */
  libraries: LibraryUse[];
  /** Instance-wide (a search is not about one collection), most asked first. */
  topSearches: SearchUse[];
  /** Searches that found nothing, most asked first: what readers look for and the library lacks. */
  searchesWithoutResults: SearchUse[];
}

/** Searches listed in a report; the totals count them all. */
export const REPORT_SEARCHES = 100;

interface UseRow {
  views: number;
  sessions: number;
  downloads: number;
  staff_views: number;
  staff_downloads: number;
}

const USE_SUMS = 'SUM(views) AS views, SUM(sessions) AS sessions, SUM(downloads) AS downloads, SUM(staff_views) AS staff_views, SUM(staff_downloads) AS staff_downloads';
const USE_KEYS = ['views', 'sessions', 'downloads', 'staffViews', 'staffDownloads'] as const satisfies ReadonlyArray<keyof UseCounts>;
const use = (r: UseRow | undefined): UseCounts => ({
  views: r?.views ?? 0,
  sessions: r?.sessions ?? 0,
  downloads: r?.downloads ?? 0,
  staffViews: r?.staff_views ?? 0,
  staffDownloads: r?.staff_downloads ?? 0,
});

function tableExists(db: ReadModelDb, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

export function hasStatsTables(db: ReadModelDb): boolean {
  return tableExists(db, 'stats_work_days');
}

export interface StatsReportOptions extends StatsPeriod {
  collectionId?: string | undefined;
  /** Only the works of this library's collections (searches stay instance-wide: a search is of no library). */
  libraryId?: string | undefined;
  /** Each collection's library and each library's name; read from the object read model when not given. */
  libraries?: { map: LibraryMap; names?: ReadonlyMap<string, string> } | undefined;
}

export function statsReport(db: ReadModelDb, period: StatsReportOptions): StatsReport {
  const { from, to } = period;
  const collection = period.collectionId;
  const map = period.libraries?.map ?? (tableExists(db, 'collections') ? libraryMap(db, 'home') : { home: 'home', byCollection: new Map<string, string>() });
  const conditions = ['day BETWEEN ? AND ?'];
  const params: string[] = [from, to];
  if (collection !== undefined) {
    conditions.push('collection_id = ?');
    params.push(collection);
  }
  if (period.libraryId !== undefined) {
    // '' (no collection) is never in the list: it is in the home library's and no other's.
    const { mode, collections } = libraryCollections(map, [period.libraryId]);
    const marks = collections.map(() => '?').join(', ');
    if (mode === 'in') conditions.push(collections.length ? `collection_id IN (${marks})` : '0');
    else if (collections.length) conditions.push(`collection_id NOT IN (${marks})`);
    params.push(...collections);
  }
  const where = conditions.join(' AND ');
  // Titles are the works' and collections' current ones, from the object read model.
  const titles = tableExists(db, 'objects');
  const workTitle = titles ? db.prepare<[string], { title: string }>('SELECT title FROM objects WHERE id = ?') : undefined;
  const collectionTitle = titles ? db.prepare<[string], { state: string }>('SELECT state FROM collections WHERE id = ?') : undefined;

  const works = db
    .prepare<string[], UseRow & { object_id: string; collection_id: string }>(
      `SELECT object_id, collection_id, ${USE_SUMS} FROM stats_work_days WHERE ${where}
       GROUP BY object_id, collection_id ORDER BY views DESC, downloads DESC, object_id`,
    )
    .all(...params)
    .map((r): WorkUse => ({ objectId: r.object_id, title: workTitle?.get(r.object_id)?.title ?? null, collectionId: r.collection_id || null, ...use(r) }));

  const collections = db
    .prepare<string[], UseRow & { collection_id: string }>(
      `SELECT collection_id, ${USE_SUMS} FROM stats_work_days WHERE ${where} GROUP BY collection_id ORDER BY views DESC, downloads DESC, collection_id`,
    )
    .all(...params)
    .map((r): CollectionUse => {
      const state = r.collection_id ? collectionTitle?.get(r.collection_id)?.state : undefined;
      const title = state ? ((JSON.parse(state) as { title?: string }).title ?? null) : null;
      return { collectionId: r.collection_id || null, title, libraryId: libraryOfCollection(map, r.collection_id || null), ...use(r) };
    });

  const byLibrary = new Map<string, LibraryUse>();
  for (const c of collections) {
    let row = byLibrary.get(c.libraryId);
    if (!row) {
      row = { libraryId: c.libraryId, name: period.libraries?.names?.get(c.libraryId) ?? null, ...use(undefined) };
      byLibrary.set(c.libraryId, row);
    }
    for (const k of USE_KEYS) row[k] += c[k];
  }
  const libraries = [...byLibrary.values()].sort((a, b) => b.views - a.views || b.downloads - a.downloads || (a.libraryId < b.libraryId ? -1 : 1));

  const workDays = new Map(
    db
      .prepare<string[], UseRow & { day: string }>(`SELECT day, ${USE_SUMS} FROM stats_work_days WHERE ${where} GROUP BY day`)
      .all(...params)
      .map((r) => [r.day, use(r)]),
  );
  type SearchDayRow = { day: string; searches: number; without_results: number; staff_searches: number };
  const searchDays = new Map(
    db
      .prepare<[string, string], SearchDayRow>(
        `SELECT day, SUM(searches) AS searches, SUM(without_results) AS without_results, SUM(staff_searches) AS staff_searches
           FROM stats_search_days WHERE day BETWEEN ? AND ? GROUP BY day`,
      )
      .all(from, to)
      .map((r) => [r.day, r]),
  );
  const days: DayUse[] = [...new Set([...workDays.keys(), ...searchDays.keys()])].sort().map((day) => ({
    day,
    ...use(undefined),
    ...workDays.get(day),
    searches: searchDays.get(day)?.searches ?? 0,
    searchesWithoutResults: searchDays.get(day)?.without_results ?? 0,
  }));

  const searchList = (onlyEmpty: boolean): SearchUse[] =>
    db
      .prepare<[{ from: string; to: string; limit: number }], { folded: string; query: string; searches: number; without_results: number }>(
        `SELECT folded, SUM(searches) AS searches, SUM(without_results) AS without_results,
                (SELECT query FROM stats_search_days s2 WHERE s2.folded = s.folded AND s2.day BETWEEN @from AND @to ORDER BY day DESC LIMIT 1) AS query
           FROM stats_search_days s WHERE day BETWEEN @from AND @to AND folded <> ''
          GROUP BY folded ${onlyEmpty ? 'HAVING SUM(without_results) > 0' : ''}
          ORDER BY ${onlyEmpty ? 'SUM(without_results)' : 'SUM(searches)'} DESC, folded LIMIT @limit`,
      )
      .all({ from, to, limit: REPORT_SEARCHES })
      .map((r) => ({ query: r.query, folded: r.folded, searches: r.searches, withoutResults: r.without_results }));

  const sum = (k: keyof UseCounts) => works.reduce((n, w) => n + w[k], 0);
  const searchTotals = [...searchDays.values()];
  return {
    from,
    to,
    collectionId: collection ?? null,
    libraryId: period.libraryId ?? null,
    totals: {
      views: sum('views'),
      sessions: sum('sessions'),
      downloads: sum('downloads'),
      staffViews: sum('staffViews'),
      staffDownloads: sum('staffDownloads'),
      searches: searchTotals.reduce((n, r) => n + r.searches, 0),
      searchesWithoutResults: searchTotals.reduce((n, r) => n + r.without_results, 0),
      staffSearches: searchTotals.reduce((n, r) => n + r.staff_searches, 0),
    },
    days,
    works,
    collections,
    libraries,
    topSearches: searchList(false),
    searchesWithoutResults: searchList(true),
  };
}

/** The tables of a report that CSV can hold, one per file (a CSV has one header row). */
export const STATS_TABLES = ['works', 'collections', 'libraries', 'days', 'searches', 'no-results'] as const;
export type StatsTable = (typeof STATS_TABLES)[number];

const USE_HEADERS = [
  'Lượt xem / Views',
  'Phiên xem / Sessions',
  'Lượt tải / Downloads',
  'Lượt xem của cán bộ / Staff views',
  'Lượt tải của cán bộ / Staff downloads',
];
const useCells = (u: UseCounts) => [u.views, u.sessions, u.downloads, u.staffViews, u.staffDownloads];
const NONE = '(không thuộc bộ sưu tập / none)';

/** One table of the report as CSV, with a header row (and a total row where totals add up). */
export function statsCsv(report: StatsReport, table: StatsTable): string {
  const total = useCells(report.totals);
  switch (table) {
    case 'works':
      return csvDocument([
        ['Mã tài liệu / Work', 'Nhan đề / Title', 'Bộ sưu tập / Collection', ...USE_HEADERS],
        ...report.works.map((w) => [w.objectId, w.title ?? '', w.collectionId ?? NONE, ...useCells(w)]),
        ['Tổng cộng / Total', '', report.collectionId ?? '', ...total],
      ]);
    case 'collections':
      return csvDocument([
        ['Bộ sưu tập / Collection', 'Tên / Title', 'Thư viện / Library', ...USE_HEADERS],
        ...report.collections.map((c) => [c.collectionId ?? NONE, c.title ?? '', c.libraryId, ...useCells(c)]),
        ['Tổng cộng / Total', '', report.libraryId ?? '', ...total],
      ]);
    case 'libraries':
      return csvDocument([
        ['Thư viện / Library', 'Tên / Name', ...USE_HEADERS],
        ...report.libraries.map((l) => [l.libraryId, l.name ?? '', ...useCells(l)]),
        ['Tổng cộng / Total', '', ...total],
      ]);
    case 'days':
      return csvDocument([
        ['Ngày (UTC) / Day (UTC)', ...USE_HEADERS, 'Lượt tìm / Searches', 'Tìm không thấy / Searches without results'],
        ...report.days.map((d) => [d.day, ...useCells(d), d.searches, d.searchesWithoutResults]),
        ['Tổng cộng / Total', ...total, report.totals.searches, report.totals.searchesWithoutResults],
      ]);
    case 'searches':
    case 'no-results':
      return csvDocument([
        ['Từ khoá / Query', 'Dạng bỏ dấu / Folded', 'Lượt tìm / Searches', 'Không có kết quả / Without results'],
        ...(table === 'searches' ? report.topSearches : report.searchesWithoutResults).map((s) => [s.query, s.folded, s.searches, s.withoutResults]),
      ]);
  }
}

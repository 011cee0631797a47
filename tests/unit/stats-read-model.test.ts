import { join } from 'node:path';
import test from 'ava';
import { pino } from 'pino';
import { type AccessActor, AccessLog, MemoryDailySalts } from '../../src/application/access-log.ts';
import type { AccessEvent } from '../../src/domain/events.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { catchUpProjection, prepareProjection, rebuildProjection } from '../../src/projections/runtime.ts';
import { foldQuery, StatsPeriod, statsCsv, statsReadModel, statsReport } from '../../src/projections/stats-read-model.ts';
import { parseCsv } from '../../src/cli/csv.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * The statistics projection over a log written by the real access log: views, sessions and
 * downloads per work, collection and day, staff use apart, searches by folded text, searches
 * that found nothing; the report's period rules; the CSV a province's report is made from.
 */
const newDir = tempDirs(test, 'thukho-stats-');
const A: AccessActor = { role: 'public', sessionKey: 'client\n198.51.100.1\nFirefox' };
const B: AccessActor = { role: 'reader', sessionKey: 'session\nreader-session' };
const STAFF: AccessActor = { role: 'staff', sessionKey: 'session\nstaff-session' };
const D1 = (h: number) => new Date(Date.UTC(2026, 11, 3, h));
const D2 = (h: number) => new Date(Date.UTC(2026, 11, 4, h));

const view = (objectId: string, collectionId?: string): AccessEvent => ({
  type: 'ObjectViewed',
  data: { objectId, ...(collectionId ? { collectionId } : {}), accessLevel: 'open', via: 'manifest' },
});
const download = (objectId: string, collectionId?: string): AccessEvent => ({
  type: 'FileDownloaded',
  data: { objectId, fileId: 'f1', ...(collectionId ? { collectionId } : {}), accessLevel: 'open', bytes: 10 },
});
const search = (query: string, results: number): AccessEvent => ({ type: 'SearchPerformed', data: { query, filters: {}, results, surface: 'site' } });

async function scriptedLog() {
  const dir = newDir();
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const log = new AccessLog({ store, salts: new MemoryDailySalts(), logger: pino({ level: 'silent' }), maxBuffered: 1000, flushEveryMs: 60_000, batchSize: 7 });
  const script: Array<[AccessEvent, AccessActor, Date]> = [
    [view('kieu', 'van-hoc'), A, D1(8)],
    [view('kieu', 'van-hoc'), A, D1(9)],
    [view('kieu', 'van-hoc'), A, D1(10)],
    [view('kieu', 'van-hoc'), B, D1(11)],
    [view('dia-ba'), STAFF, D1(12)],
    [download('kieu', 'van-hoc'), A, D1(13)],
    [download('kieu', 'van-hoc'), A, D1(14)],
    [download('dia-ba'), STAFF, D1(15)],
    [view('kieu', 'van-hoc'), A, D2(8)],
    [view('luc-van-tien', 'van-hoc'), B, D2(9)],
    [search('Truyện Kiều', 3), A, D1(8)],
    [search('truyen kieu', 3), B, D1(9)],
    [search('TRUYỆN  KIỀU!', 0), A, D2(9)],
    [search('Hịch tướng sĩ', 0), A, D2(10)],
    [search('hich tuong si', 0), B, D2(11)],
    [search('=HYPERLINK("http://evil.example","x")', 0), A, D2(12)],
    [search('địa bạ', 5), STAFF, D2(13)],
  ];
  for (const [event, actor, at] of script) log.record(event, actor, at);
  await log.stop();
  const db = openReadModelDb(':memory:');
  prepareProjection(db, statsReadModel);
  await catchUpProjection(store, db, statsReadModel);
  return { store, db };
}

test('views, sessions and downloads per work, collection and day add up to the script', async (t) => {
  const { store, db } = await scriptedLog();
  t.teardown(() => store.close());
  const r = statsReport(db, { from: '2026-12-03', to: '2026-12-04' });
  t.deepEqual(r.totals, { views: 7, sessions: 5, downloads: 3, staffViews: 1, staffDownloads: 1, searches: 7, searchesWithoutResults: 4, staffSearches: 1 });
  t.deepEqual(
    r.works.map(({ objectId, collectionId, views, sessions, downloads, staffViews, staffDownloads }) => ({ objectId, collectionId, views, sessions, downloads, staffViews, staffDownloads })),
    [
      // A three times and B once on day 1 (two sessions), A again on day 2 (a session of that day).
      { objectId: 'kieu', collectionId: 'van-hoc', views: 5, sessions: 3, downloads: 2, staffViews: 0, staffDownloads: 0 },
      { objectId: 'dia-ba', collectionId: null, views: 1, sessions: 1, downloads: 1, staffViews: 1, staffDownloads: 1 },
      { objectId: 'luc-van-tien', collectionId: 'van-hoc', views: 1, sessions: 1, downloads: 0, staffViews: 0, staffDownloads: 0 },
    ],
  );
  t.deepEqual(
    r.collections.map(({ collectionId, views, sessions, downloads }) => ({ collectionId, views, sessions, downloads })),
    [
      { collectionId: 'van-hoc', views: 6, sessions: 4, downloads: 2 },
      { collectionId: null, views: 1, sessions: 1, downloads: 1 },
    ],
  );
  t.deepEqual(
    r.days.map(({ day, views, sessions, downloads, searches, searchesWithoutResults }) => ({ day, views, sessions, downloads, searches, searchesWithoutResults })),
    [
      { day: '2026-12-03', views: 5, sessions: 3, downloads: 3, searches: 2, searchesWithoutResults: 0 },
      { day: '2026-12-04', views: 2, sessions: 2, downloads: 0, searches: 5, searchesWithoutResults: 4 },
    ],
  );
});

test('searches fold diacritics, case and punctuation; the ones that found nothing are listed apart', async (t) => {
  const { store, db } = await scriptedLog();
  t.teardown(() => store.close());
  const r = statsReport(db, { from: '2026-12-03', to: '2026-12-04' });
  t.deepEqual(
    r.topSearches.map(({ folded, searches, withoutResults }) => ({ folded, searches, withoutResults })),
    [
      { folded: 'truyen kieu', searches: 3, withoutResults: 1 },
      { folded: 'hich tuong si', searches: 2, withoutResults: 2 },
      { folded: 'dia ba', searches: 1, withoutResults: 0 },
      { folded: 'hyperlink http evil example x', searches: 1, withoutResults: 1 },
    ],
  );
  // The text shown is the latest typed for that search.
  t.is(r.topSearches[0]!.query, 'TRUYỆN  KIỀU!');
  t.deepEqual(r.searchesWithoutResults.map((s) => [s.folded, s.withoutResults]), [
    ['hich tuong si', 2],
    ['hyperlink http evil example x', 1],
    ['truyen kieu', 1],
  ]);
  t.is(foldQuery('Đại Việt  sử ký'), foldQuery('dai viet su ky'));
});

test('a period and a collection narrow the report; a rebuild from the log gives the same report', async (t) => {
  const { store, db } = await scriptedLog();
  t.teardown(() => store.close());
  const day2 = statsReport(db, { from: '2026-12-04', to: '2026-12-04' });
  t.deepEqual([day2.totals.views, day2.totals.downloads, day2.totals.searches], [2, 0, 5]);
  const collection = statsReport(db, { from: '2026-12-03', to: '2026-12-04', collectionId: 'van-hoc' });
  t.deepEqual(collection.works.map((w) => w.objectId), ['kieu', 'luc-van-tien']);
  t.deepEqual([collection.totals.views, collection.totals.downloads], [6, 2]);
  t.deepEqual(statsReport(db, { from: '2026-11-01', to: '2026-12-02' }).works, []);

  const before = statsReport(db, { from: '2026-12-03', to: '2026-12-04' });
  await rebuildProjection(store, db, statsReadModel);
  t.deepEqual(statsReport(db, { from: '2026-12-03', to: '2026-12-04' }), before);
});

test('a report period: real UTC days, from not after to, at most three years, refused in both languages', (t) => {
  t.true(StatsPeriod.safeParse({ from: '2024-02-29', to: '2026-12-04' }).success);
  const refused = (from: string, to: string) => {
    const r = StatsPeriod.safeParse({ from, to });
    t.false(r.success, `${from}..${to}`);
    return r.success ? '' : r.error.issues.map((i) => i.message).join('; ');
  };
  t.regex(refused('2026-02-30', '2026-03-01'), /ngày không hợp lệ.*not a day/);
  t.regex(refused('2026-12-4', '2026-12-05'), /not a day/);
  t.regex(refused('2026-12-05', '2026-12-04'), /phải không sau.*must not be after/);
  t.regex(refused('2020-01-01', '2026-12-04'), /tối đa 1098 ngày.*at most 1098 days/);
});

test('CSV: a header row, UTF-8 with a BOM, titles, and no formula a spreadsheet would run', async (t) => {
  const { store, db } = await scriptedLog();
  t.teardown(() => store.close());
  const r = statsReport(db, { from: '2026-12-03', to: '2026-12-04' });
  const works = statsCsv(r, 'works');
  t.true(works.startsWith('\uFEFFMã tài liệu / Work,Nhan đề / Title,'));
  const rows = parseCsv(works);
  t.is(rows.length, 1 + 3 + 1);
  t.deepEqual(rows[1]!.slice(0, 6), ['kieu', '', 'van-hoc', '5', '3', '2']);
  t.deepEqual(rows[4]!.slice(3, 6), ['7', '5', '3']);
  const searches = parseCsv(statsCsv(r, 'no-results'));
  const evil = searches.find((row) => row[1] === 'hyperlink http evil example x');
  t.is(evil?.[0], '\'=HYPERLINK("http://evil.example","x")');
});

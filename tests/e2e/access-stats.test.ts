import { rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { createUser } from '../../src/application/users.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { parseCsv } from '../../src/cli/csv.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { show, thukho } from '../helpers/cli.ts';
import { page } from '../helpers/images.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * A scripted browsing session over HTTP (readers open manifests and pages, download
 * originals, fetch tiles, search with and without results, are refused), then the statistics
 * must add up exactly to the script, through GET /api/stats and `thukho stats`; the log holds
 * `access-<day>` streams with roles and session hashes, never an address or a user agent;
 * events recorded just before the server stops are in the log.
 */
const UA_A = 'ReaderA/1.0 (scripted session)';
const UA_B = 'ReaderB/2.0 (scripted session)';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(s: TestServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const res = await fetch(`${s.url}${path}`, { method, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const days = () => {
  const now = new Date();
  const today = now.toISOString().slice(0, 10);
  const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
  return { yesterday, today };
};

async function accessEvents(store: SqliteEventStore, dayList: string[]): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (const day of dayList) for await (const e of store.readStream(`access-${day}`)) events.push(e);
  return events;
}

test('a scripted browsing session: the statistics add up exactly, the log holds no address', async (t) => {
  const s = await startTestServer({ THUKHO_ACCESS_FLUSH_MS: '50' });
  t.teardown(() => s.close());
  const staff = { authorization: `Bearer ${s.staffToken}`, 'user-agent': 'StaffDesk/1.0' };
  const anonA = { 'user-agent': UA_A };
  const readerB = { authorization: `Bearer ${s.readerToken}`, 'user-agent': UA_B };

  // The library: a collection, an open work in it, a restricted and a confidential one, a record without images.
  t.is((await staffCall(s, 'POST', '/api/collections', { id: 'van-hoc', title: 'Văn học cổ' })).id, 'van-hoc');
  const work = async (id: string, title: string, accessLevel: string, collectionId?: string) =>
    staffCall(s, 'POST', '/api/objects', { id, title, accessLevel, ...(collectionId ? { collectionId } : {}) });
  await work('kieu', 'Truyện Kiều', 'open', 'van-hoc');
  await work('dia-ba', 'Địa bạ Nam Định', 'restricted');
  await work('mat', 'Hồ sơ mật', 'confidential');
  await work('so-bo', 'Sổ bộ chưa số hoá', 'open');
  const kieu = (await uploadFile(s, 'kieu', await page('Truyện Kiều', { width: 400, height: 600 }), 'kieu.tif')).fileId as string;
  const diaBa = (await uploadFile(s, 'dia-ba', await page('Địa bạ', { width: 400, height: 600 }), 'dia-ba.tif')).fileId as string;
  await uploadFile(s, 'mat', await page('Mật', { width: 400, height: 600 }), 'mat.tif');
  // Wait with requests that record nothing: HEAD fetches nothing, page 2 of a search is not a new search.
  await poll('the manifests', 20_000, async () => ((await get(s, '/iiif/manifest/mat', staff, 'HEAD')).status === 200 ? true : undefined));
  await poll('the search index', 20_000, async () => {
    const r = await get(s, `/api/search?q=${encodeURIComponent('Truyện Kiều')}&page=2`, anonA);
    return r.status === 200 && (JSON.parse(r.text) as Json).total === 1 ? true : undefined;
  });
  t.deepEqual((await get(s, '/health')).status, 200);
  const before = (JSON.parse((await get(s, '/health')).text) as { access: Json }).access;
  t.deepEqual(before, { status: 'on', buffered: 0, written: 0, dropped: 0, droppedBecause: { full: 0, failed: 0 } });

  // Reader A, anonymous.
  const m1 = await get(s, '/iiif/manifest/kieu', anonA);
  t.is(m1.status, 200);
  t.is((await get(s, '/iiif/manifest/kieu', { ...anonA, 'if-none-match': m1.headers.get('etag') ?? '' })).status, 304, 'a reopening is a view too');
  t.is((await get(s, `/api/objects/dia-ba/files/${diaBa}/content`, anonA)).status, 401, 'refused: no download');
  t.is((await get(s, '/iiif/manifest/mat', anonA)).status, 404, 'invisible: no view');
  t.is((await get(s, '/iiif/manifest/kieu', anonA, 'HEAD')).status, 200, 'HEAD: no view');
  const original = await get(s, `/api/objects/kieu/files/${kieu}/content`, anonA);
  t.is(original.status, 200);
  t.is((await get(s, `/api/objects/kieu/files/${kieu}/content`, { ...anonA, 'if-none-match': original.headers.get('etag') ?? '' })).status, 304, 'not a copy handed out');
  t.is((await get(s, `/iiif/3/${kieu}/info.json`, anonA)).status, 200, 'not an event');
  t.is((await get(s, `/iiif/3/${kieu}/0,0,256,256/256,/0/default.jpg`, anonA)).status, 200, 'tiles are not events');
  t.is((await get(s, '/objects/kieu', anonA)).status, 200, 'the page of a work with images: its manifest is the view');
  t.is((await get(s, '/objects/so-bo', anonA)).status, 200, 'the page of a work without images is the view');
  const found = JSON.parse((await get(s, `/api/search?q=${encodeURIComponent('Truyện Kiều')}`, anonA)).text) as Json;
  t.is(found.total, 1);
  t.is((JSON.parse((await get(s, '/api/search?q=truyen%20kieu&filter[collection]=van-hoc', anonA)).text) as Json).total, 1);
  t.is((JSON.parse((await get(s, `/api/search?q=${encodeURIComponent('Hịch tướng sĩ')}`, anonA)).text) as Json).total, 0);
  t.is((await get(s, `/search?q=${encodeURIComponent('kho sách không có')}`, anonA)).status, 200);
  t.is((await get(s, '/search', anonA)).status, 200, 'browsing: not a search');
  t.is((await get(s, `/api/search?q=${encodeURIComponent('Truyện Kiều')}&page=2`, anonA)).status, 200, 'a next page: not a new search');

  // Reader B, signed in: reads and downloads the restricted work.
  t.is((await get(s, '/iiif/manifest/dia-ba', readerB)).status, 200);
  t.is((await get(s, `/api/objects/dia-ba/files/${diaBa}/content`, readerB)).status, 200);
  // Staff open the confidential work: counted, and marked as staff.
  t.is((await get(s, '/iiif/manifest/mat', staff)).status, 200);

  // Statistics are for auditors and administrators: not for readers, nor for curators.
  const auditorAccount = await createUser(s.store, 'kiem-tra', 'Kiểm soát viên', 'auditor', { actor: { id: 'test', role: 'admin' } });
  await s.projections.find((p) => p.projection.name === 'users')?.waitForPosition(auditorAccount.position as bigint, scaledTimeout(60_000));
  const auditor = { authorization: `Bearer ${auditorAccount.token}`, 'user-agent': 'Audit/1.0' };
  const { yesterday, today } = days();
  const statsPath = `/api/stats?from=${yesterday}&to=${today}`;
  t.is((await get(s, statsPath, anonA)).status, 401);
  t.is((await get(s, statsPath, readerB)).status, 403);
  t.is((await get(s, statsPath, staff)).status, 403);
  const res = await get(s, statsPath, auditor);
  t.is(res.status, 200, res.text);
  const stats = JSON.parse(res.text) as Json & { works: Json[]; collections: Json[]; topSearches: Json[]; searchesWithoutResults: Json[] };
  t.deepEqual(stats.totals, { views: 5, sessions: 4, downloads: 2, staffViews: 1, staffDownloads: 0, searches: 4, searchesWithoutResults: 2, staffSearches: 0 });
  const byWork = Object.fromEntries(stats.works.map((w) => [w.objectId, [w.title, w.collectionId, w.views, w.sessions, w.downloads, w.staffViews]]));
  t.deepEqual(byWork, {
    kieu: ['Truyện Kiều', 'van-hoc', 2, 1, 1, 0],
    'dia-ba': ['Địa bạ Nam Định', null, 1, 1, 1, 0],
    mat: ['Hồ sơ mật', null, 1, 1, 0, 1],
    'so-bo': ['Sổ bộ chưa số hoá', null, 1, 1, 0, 0],
  });
  t.deepEqual(
    stats.collections.map((c) => [c.collectionId, c.title, c.views, c.downloads]),
    [
      [null, null, 3, 1],
      ['van-hoc', 'Văn học cổ', 2, 1],
    ],
  );
  t.deepEqual(stats.topSearches.map((q) => [q.folded, q.searches, q.withoutResults]), [
    ['truyen kieu', 2, 0],
    ['hich tuong si', 1, 1],
    ['kho sach khong co', 1, 1],
  ]);
  t.deepEqual(stats.searchesWithoutResults.map((q) => q.query), ['Hịch tướng sĩ', 'kho sách không có']);
  const inCollection = JSON.parse((await get(s, `${statsPath}&collection=van-hoc`, auditor)).text) as { works: Json[] };
  t.deepEqual(inCollection.works.map((w) => w.objectId), ['kieu']);

  // Bad periods: 400 with the reason in both languages, never a 500.
  for (const [query, reason] of [
    [`from=${today}`, /"to" là bắt buộc.*"to" is required/],
    [`from=2026-13-01&to=${today}`, /ngày không hợp lệ.*not a day/],
    [`from=${today}&to=${yesterday}`, /phải không sau.*must not be after/],
    [`from=2019-01-01&to=${today}`, /at most 1098 days/],
    [`from=${today}&to=${today}&collection=../x`, /collection/],
    [`from=${today}&to=${today}&since=1`, /since/],
  ] as const) {
    const bad = await get(s, `/api/stats?${query}`, auditor);
    t.is(bad.status, 400, query);
    const problem = JSON.parse(bad.text) as { messages: { vi: string; en: string } };
    t.regex(`${problem.messages.vi} / ${problem.messages.en}`, reason, query);
  }

  const csv = await get(s, `${statsPath}&format=csv`, auditor);
  t.regex(csv.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
  t.deepEqual(parseCsv(csv.text)[0]?.slice(0, 3), ['Mã tài liệu / Work', 'Nhan đề / Title', 'Bộ sưu tập / Collection']);

  const health = (JSON.parse((await get(s, '/health')).text) as { access: Json }).access;
  t.deepEqual(health, { status: 'on', buffered: 0, written: 11, dropped: 0, droppedBecause: { full: 0, failed: 0 } });
  t.regex((await get(s, '/metrics')).text, /^thukho_access_events_written_total 11$/m);

  // The last view, then the server stops at once: the stop path flushes it.
  t.is((await get(s, '/iiif/manifest/kieu', readerB)).status, 200);
  await s.stop();

  const store = new SqliteEventStore(join(s.dataDir, 'events.sqlite'));
  const events = await accessEvents(store, [...new Set([yesterday, today])]);
  await store.close();
  t.is(events.length, 12);
  t.deepEqual(
    events.map((e) => e.type).sort(),
    [...Array(6).fill('ObjectViewed'), ...Array(2).fill('FileDownloaded'), ...Array(4).fill('SearchPerformed')].sort(),
  );
  t.deepEqual([...new Set(events.map((e) => e.metadata.actor.role))].sort(), ['curator', 'public', 'reader']);
  for (const e of events) t.regex(e.metadata.actor.id, /^session:[0-9a-f]{32}$/);
  // Reader A's five requests on one day are one session hash; B's and staff's are others.
  t.is(new Set(events.map((e) => e.metadata.actor.id)).size, 3);
  const everything = JSON.stringify(events.map((e) => ({ streamId: e.streamId, data: e.data, metadata: e.metadata })));
  for (const secret of ['127.0.0.1', '::1', 'ReaderA', 'ReaderB', 'StaffDesk', s.readerToken, s.staffToken]) {
    t.false(everything.includes(secret), `the log holds ${secret}`);
  }

  // The periodic report from the command line, with the server stopped: the last view is in.
  const cli = await thukho(s.dataDir, ['stats', '--from', yesterday, '--to', today, '--format', 'csv']);
  t.is(cli.code, 0, show(cli));
  const rows = parseCsv(cli.stdout);
  const kieuRow = rows.find((r) => r[0] === 'kieu');
  t.deepEqual(kieuRow?.slice(0, 6), ['kieu', 'Truyện Kiều', 'van-hoc', '3', '2', '1']);
  t.deepEqual(rows.at(-1)?.slice(3, 6), ['6', '5', '2']);
  const json = await thukho(s.dataDir, ['stats', '--from', yesterday, '--to', today, '--format', 'json', '--collection', 'van-hoc']);
  t.is(json.code, 0, show(json));
  t.deepEqual((JSON.parse(json.stdout) as { totals: Json }).totals.views, 3);
  const refused = await thukho(s.dataDir, ['stats', '--from', today, '--to', yesterday]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /"from" phải không sau "to" \/ "from" must not be after "to"/);
  rmSync(s.dataDir, { recursive: true, force: true });
});

test('THUKHO_ACCESS_EVENTS=off: nothing recorded, and /health says so', async (t) => {
  const s = await startTestServer({ THUKHO_ACCESS_EVENTS: 'off' });
  t.teardown(() => s.close());
  await staffCall(s, 'POST', '/api/objects', { id: 'kieu', title: 'Truyện Kiều' });
  t.is((await get(s, '/api/search?q=kieu')).status, 200);
  t.deepEqual((JSON.parse((await get(s, '/health')).text) as { access: Json }).access, { status: 'off' });
  await s.stop();
  const store = new SqliteEventStore(join(s.dataDir, 'events.sqlite'));
  t.deepEqual(await accessEvents(store, [days().today]), []);
  await store.close();
});

import anyTest, { type TestFn } from 'ava';
import { createUser } from '../../src/application/users.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page as scan } from '../helpers/images.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Two libraries on one instance (issue 21 part 2): the province (the home library,
 * THUKHO_LIBRARY_ID=tinh) and a district (`huyen`), each with an open, a restricted and a
 * confidential work. A district curator and a district auditor (accounts with a library) are
 * staff for the district's works and readers for the province's: on every surface that takes
 * a work or a collection, in lists, search and IIIF, and for figures. The provincial admin
 * (no library) sees and changes everything, as before. Expectations are written out by hand.
 */
const test = anyTest as TestFn<{ server: TestServer; tokens: Record<Who, string> }>;
type Who = 'curator' | 'auditor' | 'admin' | 'tinhAuditor';
const LIBS = ['tinh', 'huyen'] as const;
const LEVELS = ['open', 'restricted', 'confidential'] as const;
type Lib = (typeof LIBS)[number];
type Level = (typeof LEVELS)[number];
type Work = `${Lib}-${Level}`;
const WORKS: Work[] = LIBS.flatMap((l) => LEVELS.map((v) => `${l}-${v}` as Work));
const idOf = (w: Work) => `pham-vi-${w}`;
const fileOf: Partial<Record<Work, string>> = {};
const collectionOf: Record<Lib, string> = { tinh: 'sach-tinh', huyen: 'sach-huyen' };

test.serial.before(async (t) => {
  t.context.server = await startTestServer({ THUKHO_LIBRARY_ID: 'tinh' });
  const s = t.context.server;
  const actor = { actor: { id: 'test', role: 'admin' as const } };
  const admin = await createUser(s.store, 'quan-tri', 'Quản trị tỉnh', 'admin', actor);
  const curator = await createUser(s.store, 'bien-muc-huyen', 'Biên mục huyện', 'curator', actor, 'huyen');
  const auditor = await createUser(s.store, 'kiem-soat-huyen', 'Kiểm soát huyện', 'auditor', actor, 'huyen');
  // The province's own auditor: its library is the home one, whose works the read model stores with no library.
  const tinhAuditor = await createUser(s.store, 'kiem-soat-tinh', 'Kiểm soát tỉnh', 'auditor', actor, 'tinh');
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && tinhAuditor.position !== null) await users.waitForPosition(tinhAuditor.position, scaledTimeout(60_000));
  t.context.tokens = { admin: admin.token, curator: curator.token, auditor: auditor.token, tinhAuditor: tinhAuditor.token };
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

type Ctx = { context: { server: TestServer; tokens: Record<Who, string> } };

async function call(t: Ctx, who: Who, method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.context.server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.context.tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text };
}

test.serial('set-up: the district curator makes its collection (it is the district’s), the admin the province’s; six works with a page each', async (t) => {
  const s = t.context.server;
  const registered = await call(t, 'admin', 'POST', '/api/libraries', { id: 'huyen', name: { vi: 'Thư viện huyện', en: 'District library' } });
  t.is(registered.status, 201, registered.text);
  // Only an admin registers libraries: a library's curator does not.
  t.is((await call(t, 'curator', 'POST', '/api/libraries', { id: 'khac', name: { vi: 'Khác' } })).status, 403);
  const mine = await call(t, 'curator', 'POST', '/api/collections', { id: collectionOf.huyen, title: 'Sách huyện' });
  t.is(mine.status, 201, mine.text);
  t.is((JSON.parse(mine.text) as Json).libraryId, 'huyen');
  t.is((await call(t, 'admin', 'POST', '/api/collections', { id: collectionOf.tinh, title: 'Sách tỉnh' })).status, 201);
  for (const w of WORKS) {
    const [lib, level] = w.split('-') as [Lib, Level];
    const made = await call(t, 'admin', 'POST', '/api/objects', { id: idOf(w), title: `Phạm vi ${w} phamvithuvien`, language: ['vie'], accessLevel: level, collectionId: collectionOf[lib] });
    t.is(made.status, 201, made.text);
    fileOf[w] = (await uploadFile(s, idOf(w), await scan(`Trang ${w}`), `${idOf(w)}.tif`)).fileId as string;
  }
  for (const w of WORKS) {
    await poll(`the manifest of ${w}`, 20_000, async () => ((await call(t, 'admin', 'GET', `/iiif/manifest/${idOf(w)}`)).status === 200 ? true : undefined));
  }
  await poll('the search index', 20_000, async () => {
    const r = await call(t, 'admin', 'GET', '/api/search?q=phamvithuvien');
    return r.status === 200 && (JSON.parse(r.text) as { total: number }).total === 6 ? true : undefined;
  });
  t.pass();
});

/** Reads, per work: [district curator, district auditor, provincial admin]. */
const READ: Record<Work, number[]> = {
  'tinh-open': [200, 200, 200],
  'tinh-restricted': [200, 200, 200],
  'tinh-confidential': [404, 404, 200],
  'huyen-open': [200, 200, 200],
  'huyen-restricted': [200, 200, 200],
  'huyen-confidential': [200, 200, 200],
};
/** Staff-only reads of one work (history, events, provenance): a reader's 403, or 404 where a reader may not know it exists. */
const STAFF_READ: Record<Work, number[]> = {
  'tinh-open': [403, 403, 200],
  'tinh-restricted': [403, 403, 200],
  'tinh-confidential': [404, 404, 200],
  'huyen-open': [200, 200, 200],
  'huyen-restricted': [200, 200, 200],
  'huyen-confidential': [200, 200, 200],
};
const WHO: Who[] = ['curator', 'auditor', 'admin'];

const READ_SURFACES: Array<{ name: string; table: Record<Work, number[]>; path: (w: Work) => string }> = [
  { name: 'API record', table: READ, path: (w) => `/api/objects/${idOf(w)}` },
  { name: 'API file facts', table: READ, path: (w) => `/api/objects/${idOf(w)}/files/${fileOf[w]}` },
  { name: 'site page', table: READ, path: (w) => `/objects/${idOf(w)}` },
  { name: 'manifest', table: READ, path: (w) => `/iiif/manifest/${idOf(w)}` },
  { name: 'info.json', table: READ, path: (w) => `/iiif/3/${fileOf[w]}/info.json` },
  { name: 'tile', table: READ, path: (w) => `/iiif/3/${fileOf[w]}/0,0,256,256/256,/0/default.jpg` },
  { name: 'original download', table: READ, path: (w) => `/api/objects/${idOf(w)}/files/${fileOf[w]}/content` },
  { name: 'staff screen of the work', table: READ, path: (w) => `/staff/objects/${idOf(w)}` },
  { name: 'history', table: STAFF_READ, path: (w) => `/api/objects/${idOf(w)}/history` },
  { name: 'events', table: STAFF_READ, path: (w) => `/api/objects/${idOf(w)}/events` },
  { name: 'provenance', table: STAFF_READ, path: (w) => `/api/objects/${idOf(w)}/provenance` },
];

for (const surface of READ_SURFACES) {
  test.serial(`reads: ${surface.name} × account × library × level`, async (t) => {
    const got: string[] = [];
    const want: string[] = [];
    for (const w of WORKS) {
      for (const [i, who] of WHO.entries()) {
        const r = await call(t, who, 'GET', surface.path(w));
        got.push(`${w} as ${who}: ${r.status}`);
        want.push(`${w} as ${who}: ${surface.table[w][i]}`);
        if (r.status === 404) t.false(r.text.includes('phamvithuvien'), `${w} as ${who}: a 404 tells nothing of the work`);
      }
    }
    t.deepEqual(got, want);
  });
}

test.serial('reads: a library’s staff get the staff view (file status, fixity) of their own works only', async (t) => {
  const own = JSON.parse((await call(t, 'curator', 'GET', `/api/objects/${idOf('huyen-open')}`)).text) as Json;
  const other = JSON.parse((await call(t, 'curator', 'GET', `/api/objects/${idOf('tinh-open')}`)).text) as Json;
  t.true('fixity' in own);
  t.false('fixity' in other);
});

/** Changes, per work: [district curator, provincial admin]; the auditor changes nothing anywhere. */
const WRITE: Record<Work, [number, number]> = {
  'tinh-open': [403, 200],
  'tinh-restricted': [403, 200],
  'tinh-confidential': [404, 200],
  'huyen-open': [200, 200],
  'huyen-restricted': [200, 200],
  'huyen-confidential': [200, 200],
};

test.serial('writes: edit, access, labels, reorder, upload check, fixity check: the district curator changes its own works only; the admin all', async (t) => {
  const got: string[] = [];
  const want: string[] = [];
  const expectFor = (w: Work, who: 'curator' | 'admin', ok: number) => (WRITE[w][who === 'curator' ? 0 : 1] === 200 ? ok : WRITE[w][who === 'curator' ? 0 : 1]);
  for (const w of WORKS) {
    for (const who of ['curator', 'admin'] as const) {
      const rec = await call(t, 'admin', 'GET', `/api/objects/${idOf(w)}`);
      const revision = (JSON.parse(rec.text) as { revision: number }).revision;
      const writes: Array<[string, string, string, unknown, number, Record<string, string>?]> = [
        ['edit', 'PATCH', `/api/objects/${idOf(w)}`, { description: `Sửa bởi ${who}` }, 200],
        ['access', 'PUT', `/api/objects/${idOf(w)}/access`, { accessLevel: w.split('-')[1], reason: 'Giữ nguyên' }, 200],
        ['labels', 'PUT', `/api/objects/${idOf(w)}/page-labels`, { labels: [{ fileId: fileOf[w], label: 'tờ 1' }] }, 200],
        ['reorder', 'PUT', `/api/objects/${idOf(w)}/files/order`, { order: [fileOf[w]] }, 200],
        ['upload check', 'POST', `/api/objects/${idOf(w)}/files/check`, { files: [{ name: 'a.tif', size: 10, sha256: 'a'.repeat(64) }] }, 200],
        ['fixity check', 'POST', `/api/objects/${idOf(w)}/fixity-check`, undefined, 202],
      ];
      for (const [name, method, path, body, ok] of writes) {
        const res = await fetch(`${t.context.server.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${t.context.tokens[who]}`,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(method === 'PATCH' ? { 'if-match': `"${(JSON.parse((await call(t, 'admin', 'GET', `/api/objects/${idOf(w)}`)).text) as { revision: number }).revision}"` } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        got.push(`${name} ${w} as ${who}: ${res.status}`);
        want.push(`${name} ${w} as ${who}: ${expectFor(w, who, ok)}`);
        if (res.status === 403) t.true(text.includes('thư viện khác') && text.includes('another library'), `${name} ${w}: the reason in both languages: ${text}`);
      }
      t.true(revision >= 0);
    }
  }
  t.deepEqual(got, want);
});

test.serial('writes: the district curator cannot withdraw, upload to, or move works into the province; it may withdraw its own', async (t) => {
  const s = t.context.server;
  const refused = await call(t, 'curator', 'POST', `/api/objects/${idOf('tinh-open')}/withdraw`, { reason: 'Thử' });
  t.is(refused.status, 403);
  t.is((await call(t, 'curator', 'POST', `/api/objects/${idOf('tinh-confidential')}/withdraw`, { reason: 'Thử' })).status, 404);
  const upload = await fetch(`${s.url}/api/objects/${idOf('tinh-open')}/files?name=x.tif`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.context.tokens.curator}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(await scan('x')),
  });
  t.is(upload.status, 403);
  t.is((await call(t, 'curator', 'POST', '/api/objects', { id: 'vao-tinh', title: 'Vào tỉnh', collectionId: collectionOf.tinh })).status, 403);
  t.is((await call(t, 'curator', 'POST', '/api/objects', { id: 'khong-bo', title: 'Không bộ sưu tập' })).status, 403);
  t.is((await call(t, 'curator', 'POST', '/api/objects', { id: 'vao-huyen', title: 'Vào huyện', collectionId: collectionOf.huyen })).status, 201);
  const rev = (JSON.parse((await call(t, 'admin', 'GET', '/api/objects/vao-huyen')).text) as { revision: number }).revision;
  const move = await fetch(`${s.url}/api/objects/vao-huyen`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${t.context.tokens.curator}`, 'content-type': 'application/json', 'if-match': `"${rev}"` },
    body: JSON.stringify({ collectionId: collectionOf.tinh }),
  });
  t.is(move.status, 403);
  t.is((await call(t, 'curator', 'POST', '/api/objects/vao-huyen/withdraw', { reason: 'Trùng bản' })).status, 200);
  // Collections: another library's is neither edited nor a parent; a library's staff name only their own library.
  const tinh = JSON.parse((await call(t, 'admin', 'GET', `/api/collections/${collectionOf.tinh}`)).text) as { revision: number };
  const editOther = await fetch(`${s.url}/api/collections/${collectionOf.tinh}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${t.context.tokens.curator}`, 'content-type': 'application/json', 'if-match': `"${tinh.revision}"` },
    body: JSON.stringify({ title: 'Đổi tên' }),
  });
  t.is(editOther.status, 403);
  t.is((await call(t, 'curator', 'POST', '/api/collections', { id: 'con-tinh', title: 'Con', parentId: collectionOf.tinh })).status, 403);
  t.is((await call(t, 'curator', 'POST', '/api/collections', { id: 'con-huyen', title: 'Con', parentId: collectionOf.huyen })).status, 201);
  // The auditor changes nothing, in its library or another.
  t.is((await call(t, 'auditor', 'PATCH', `/api/objects/${idOf('huyen-open')}`, { description: 'x' })).status, 403);
});

/** Which of the six works a list shows. */
const listed = (text: string): Work[] => WORKS.filter((w) => text.includes(idOf(w)));
const ALL_BUT_PROVINCE_CONFIDENTIAL = WORKS.filter((w) => w !== 'tinh-confidential');

test.serial('lists: API list, staff list, search: the district’s staff find all of their own and the province’s as a reader does; the admin all', async (t) => {
  for (const who of WHO) {
    const expected = who === 'admin' ? WORKS : ALL_BUT_PROVINCE_CONFIDENTIAL;
    t.deepEqual(listed((await call(t, who, 'GET', '/api/objects?limit=200')).text), expected, `API list as ${who}`);
    t.deepEqual(listed((await call(t, who, 'GET', '/staff/objects')).text), expected, `staff list as ${who}`);
    // Search too, on the API and the site: the district's own confidential work, never the province's (page text: the search contract).
    t.deepEqual(listed((await call(t, who, 'GET', '/api/search?q=phamvithuvien')).text), expected, `search as ${who}`);
    t.is(listed((await call(t, who, 'GET', '/search?q=phamvithuvien')).text).includes('huyen-confidential'), true, `site search as ${who}`);
    // IIIF collections show a library's staff what a reader finds (never more).
    const top = listed((await call(t, who, 'GET', `/iiif/collection/${collectionOf.tinh}`)).text);
    t.is(top.includes('tinh-confidential'), who === 'admin', `IIIF collection as ${who}`);
  }
});

test.serial('lists by library: ?library= on the API and the staff list narrows to one library\'s works, within what the account may see; the staff list names each work\'s library', async (t) => {
  const mine = (lib: Lib, who: Who) => WORKS.filter((w) => w.startsWith(`${lib}-`) && (who === 'admin' || w !== 'tinh-confidential'));
  for (const who of WHO) {
    for (const lib of LIBS) {
      t.deepEqual(listed((await call(t, who, 'GET', `/api/objects?limit=200&library=${lib}`)).text), mine(lib, who), `API list of ${lib} as ${who}`);
      const page = await call(t, who, 'GET', `/staff/objects?library=${lib}`);
      t.is(page.status, 200);
      t.deepEqual(listed(page.text), mine(lib, who), `staff list of ${lib} as ${who}`);
    }
  }
  const page = (await call(t, 'admin', 'GET', '/staff/objects')).text;
  t.regex(page, /<select id="filter-library" name="library">/);
  t.regex(page, /<option value="huyen">Thư viện huyện<\/option>/);
  t.regex(page, new RegExp(`<tr data-object="${idOf('huyen-open')}">[\\s\\S]*?<td data-library="huyen">Thư viện huyện</td>`));
  t.regex(page, new RegExp(`<tr data-object="${idOf('tinh-open')}">[\\s\\S]*?<td data-library="tinh">`));
  // A malformed library id is refused with a reason, on both.
  const bad = await call(t, 'admin', 'GET', '/api/objects?library=%3Cscript%3E');
  t.is(bad.status, 400, bad.text);
  t.is((await call(t, 'admin', 'GET', '/staff/objects?library=%3Cscript%3E')).status, 400);
  // A library nothing is held by: an empty list, not an error.
  t.deepEqual(listed((await call(t, 'admin', 'GET', '/api/objects?library=khong-co')).text), []);
});

type UseTotals = { views: number; sessions: number; downloads: number; staffViews: number };
type StatsJson = { libraryId: string | null; totals: UseTotals; works: Array<{ objectId: string; views: number }>; libraries: Array<{ libraryId: string; views: number }> };
type AuditJson = { libraryId: string | null; total: { files: number; checks: number }; collections: Array<{ collectionId: string | null; files: number }>; libraries: Array<{ libraryId: string; files: number }> };
type SummaryJson = { libraryId: string | null; copies: number; objects: number; problems: Array<{ objectId: string }> };

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const PERIOD = () => `from=${day(-1)}&to=${day(1)}`;

async function json<T>(t: Ctx, who: Who, path: string): Promise<T> {
  const r = await call(t, who, 'GET', path);
  if (r.status !== 200) throw new Error(`${path} as ${who}: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as T;
}

test.serial('figures: usage statistics: a library’s auditor gets its library’s rows and totals only (the filter forced); another library’s is refused; the admin gets all', async (t) => {
  // Readers open the province's open work three times and the district's once: each library's figures grow by its own views alone.
  const before = { huyen: (await json<StatsJson>(t, 'auditor', `/api/stats?${PERIOD()}`)).totals.views, tinh: (await json<StatsJson>(t, 'tinhAuditor', `/api/stats?${PERIOD()}`)).totals.views };
  for (const w of ['tinh-open', 'tinh-open', 'tinh-open', 'huyen-open'] as Work[]) {
    t.is((await fetch(`${t.context.server.url}/iiif/manifest/${idOf(w)}`)).status, 200);
  }
  const all = await json<StatsJson>(t, 'admin', `/api/stats?${PERIOD()}`);
  const district = await json<StatsJson>(t, 'admin', `/api/stats?${PERIOD()}&library=huyen`);
  const mine = await json<StatsJson>(t, 'auditor', `/api/stats?${PERIOD()}`);
  const province = await json<StatsJson>(t, 'tinhAuditor', `/api/stats?${PERIOD()}`);
  t.is(mine.libraryId, 'huyen');
  t.deepEqual(mine.totals, district.totals, 'the district auditor’s totals are the district’s');
  t.deepEqual(mine.works, district.works);
  t.deepEqual(mine.libraries.map((l) => l.libraryId), ['huyen']);
  t.true(mine.works.length > 0 && mine.works.every((w) => w.objectId.startsWith('pham-vi-huyen-') || w.objectId === 'vao-huyen'), JSON.stringify(mine.works));
  t.deepEqual(province.libraries.map((l) => l.libraryId), ['tinh']);
  t.true(province.works.every((w) => w.objectId.startsWith('pham-vi-tinh-')), JSON.stringify(province.works));
  // The admin sees both libraries, and the two libraries' figures add up to its totals.
  t.deepEqual(all.libraries.map((l) => l.libraryId).sort(), ['huyen', 'tinh']);
  t.is(mine.totals.views + province.totals.views, all.totals.views);
  t.is(mine.totals.views - before.huyen, 1, 'the district’s figures count the district’s view only');
  t.is(province.totals.views - before.tinh, 3, 'the province’s figures count the province’s views only');
  t.true(mine.totals.views < all.totals.views);
  // Asking for its own library is the same answer; another library's is refused, with the reason in both languages.
  t.deepEqual((await json<StatsJson>(t, 'auditor', `/api/stats?${PERIOD()}&library=huyen`)).totals, mine.totals);
  const other = await call(t, 'auditor', 'GET', `/api/stats?${PERIOD()}&library=tinh`);
  t.is(other.status, 403);
  t.true(other.text.includes('thư viện khác') && other.text.includes('another library'), other.text);
  // The CSV is the district's as well.
  const csv = await call(t, 'auditor', 'GET', `/api/stats?${PERIOD()}&format=csv&table=libraries`);
  t.is(csv.status, 200);
  t.true(csv.text.includes('huyen') && !csv.text.includes('tinh'), csv.text);
});

test.serial('figures: the fixity audit report and the preservation summary count only the works the auditor’s library holds; the admin gets all', async (t) => {
  const path = `/api/audit/report?${PERIOD()}`;
  // Every work's copies are registered for fixity by now? Poll for the admin's report naming both libraries' copies.
  const all = await poll('both libraries’ copies in the audit report', 20_000, async () => {
    const r = await json<AuditJson>(t, 'admin', path);
    const files = (id: string) => r.libraries.find((l) => l.libraryId === id)?.files ?? 0;
    return files('tinh') > 0 && files('huyen') > 0 ? r : undefined;
  });
  const mine = await json<AuditJson>(t, 'auditor', path);
  const province = await json<AuditJson>(t, 'tinhAuditor', path);
  t.is(mine.libraryId, 'huyen');
  t.deepEqual(mine.libraries.map((l) => l.libraryId), ['huyen']);
  t.deepEqual(province.libraries.map((l) => l.libraryId), ['tinh']);
  t.is(mine.total.files, all.libraries.find((l) => l.libraryId === 'huyen')?.files ?? -1);
  t.is(province.total.files, all.libraries.find((l) => l.libraryId === 'tinh')?.files ?? -1);
  t.is(mine.total.files + province.total.files, all.total.files);
  t.true(mine.total.files < all.total.files);
  t.false(mine.collections.some((c) => c.collectionId === collectionOf.tinh), JSON.stringify(mine.collections));
  t.is((await call(t, 'auditor', 'GET', `${path}&library=tinh`)).status, 403);
  t.is((await call(t, 'auditor', 'GET', `${path}&library=huyen`)).status, 200);
  const allSummary = await json<SummaryJson>(t, 'admin', '/api/preservation/summary');
  const summary = await json<SummaryJson>(t, 'auditor', '/api/preservation/summary');
  const provinceSummary = await json<SummaryJson>(t, 'tinhAuditor', '/api/preservation/summary');
  t.is(summary.libraryId, 'huyen');
  t.is(allSummary.libraryId, null);
  // The province holds its three works (its curator made none more); the district's add up to the rest.
  t.is(provinceSummary.objects, 3);
  t.is(summary.objects + provinceSummary.objects, allSummary.objects);
  t.is(summary.copies, mine.total.files);
  t.is(summary.copies + provinceSummary.copies, allSummary.copies);
  t.true(summary.problems.every((p) => !p.objectId.startsWith('pham-vi-tinh-')), JSON.stringify(summary.problems));
  const refused = await call(t, 'auditor', 'GET', '/api/preservation/summary?library=tinh');
  t.is(refused.status, 403);
  t.true(refused.text.includes('thư viện khác') && refused.text.includes('another library'), refused.text);
});

test.serial('figures: the staff statistics and preservation screens show a library’s auditor its library’s figures, the selector its library alone; the admin all', async (t) => {
  const stats = await call(t, 'auditor', 'GET', `/staff/stats?${PERIOD()}`);
  t.is(stats.status, 200, stats.text);
  t.true(stats.text.includes('figures-library" data-library="huyen"'), 'the page says whose figures it shows');
  t.true(stats.text.includes('<tr data-library="huyen">'));
  t.false(stats.text.includes('data-library="tinh"'), 'no row of the province');
  t.false(stats.text.includes('pham-vi-tinh-'), 'no work of the province');
  const selector = /<select id="stats-library"[^>]*>([\s\S]*?)<\/select>/.exec(stats.text)?.[1] ?? '';
  t.deepEqual([...selector.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]), ['huyen']);
  const collections = /<select id="stats-collection"[^>]*>([\s\S]*?)<\/select>/.exec(stats.text)?.[1] ?? '';
  t.false(collections.includes(`value="${collectionOf.tinh}"`), collections);
  const other = await call(t, 'auditor', 'GET', `/staff/stats?${PERIOD()}&library=tinh`);
  t.is(other.status, 403);
  t.true(other.text.includes('thư viện khác') && other.text.includes('another library'), other.text);
  const dashboard = await call(t, 'auditor', 'GET', '/staff/preservation');
  t.is(dashboard.status, 200, dashboard.text);
  t.true(dashboard.text.includes('figures-library" data-library="huyen"'));
  const summary = await json<SummaryJson>(t, 'auditor', '/api/preservation/summary');
  t.true(dashboard.text.includes(`${summary.copies} `), 'the district’s copies are counted on the page');

  const adminStats = await call(t, 'admin', 'GET', `/staff/stats?${PERIOD()}`);
  t.is(adminStats.status, 200);
  t.false(adminStats.text.includes('figures-library'));
  t.true(adminStats.text.includes('<tr data-library="huyen">') && adminStats.text.includes('<tr data-library="tinh">'));
  const adminSelector = /<select id="stats-library"[^>]*>([\s\S]*?)<\/select>/.exec(adminStats.text)?.[1] ?? '';
  t.deepEqual([...adminSelector.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]).sort(), ['', 'huyen', 'tinh']);
  const adminDashboard = await call(t, 'admin', 'GET', '/staff/preservation');
  t.is(adminDashboard.status, 200);
  t.false(adminDashboard.text.includes('figures-library'));
});

test.serial('accounts: /api/users shows each account’s library; PUT …/library moves one, and the change takes effect with its next request', async (t) => {
  const users = JSON.parse((await call(t, 'admin', 'GET', '/api/users')).text) as { users: Array<{ id: string; library: string | null }> };
  t.is(users.users.find((u) => u.id === 'bien-muc-huyen')?.library, 'huyen');
  t.is(users.users.find((u) => u.id === 'quan-tri')?.library, null);
  t.is((await call(t, 'admin', 'PUT', '/api/users/quan-tri/library', { library: 'huyen' })).status, 409, 'the last instance-wide admin stays so');
  const unknown = await call(t, 'admin', 'PUT', '/api/users/bien-muc-huyen/library', { library: 'khong-co' });
  t.is(unknown.status, 422);
  t.true(unknown.text.includes('Không có thư viện') && unknown.text.includes('There is no library'));
  const screen = await call(t, 'admin', 'GET', '/staff/users');
  t.true(screen.text.includes('data-library="huyen"'));
  const moved = await call(t, 'admin', 'PUT', '/api/users/bien-muc-huyen/library', { library: null });
  t.is(moved.status, 200, moved.text);
  t.is((JSON.parse(moved.text) as { library: string | null }).library, null);
  t.is((await call(t, 'curator', 'GET', `/api/objects/${idOf('tinh-confidential')}`)).status, 200);
  t.is((await call(t, 'admin', 'PUT', '/api/users/bien-muc-huyen/library', { library: 'huyen' })).status, 200);
  t.is((await call(t, 'curator', 'GET', `/api/objects/${idOf('tinh-confidential')}`)).status, 404);
});

test.serial('accounts: a district library’s admin cannot manage accounts, libraries or the job queues (it could give itself the whole instance)', async (t) => {
  const s = t.context.server;
  const made = await createUser(s.store, 'quan-tri-huyen', 'Quản trị huyện', 'admin', { actor: { id: 'test', role: 'admin' } }, 'huyen');
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && made.position !== null) await users.waitForPosition(made.position, scaledTimeout(60_000));
  const as = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${made.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  // Its own library's works are its to change: it is staff there.
  t.is((await as('GET', `/api/objects/${idOf('huyen-confidential')}`)).status, 200);
  const widen = await as('PUT', '/api/users/quan-tri-huyen/library', { library: null });
  t.is(widen.status, 403, widen.text);
  t.true(widen.text.includes('toàn hệ thống') && widen.text.includes('instance-wide'));
  t.is((await as('POST', '/api/users', { id: 'ke-la', name: 'Kẻ lạ', role: 'admin' })).status, 403);
  t.is((await as('GET', '/api/users')).status, 403);
  t.is((await as('POST', '/api/libraries', { id: 'xa-moi', name: { vi: 'Thư viện xã' } })).status, 403);
  t.is((await as('GET', '/staff/users')).status, 403);
  t.is((await as('GET', '/staff/queues')).status, 403);
  t.is((await as('GET', '/staff/queues/api/queues')).status, 403);
  // Still the district's, still a reader of the province's confidential work.
  t.is((await as('GET', `/api/objects/${idOf('tinh-confidential')}`)).status, 404);
  const listed = JSON.parse((await call(t, 'admin', 'GET', '/api/users')).text) as { users: Array<{ id: string; library: string | null }> };
  t.is(listed.users.find((u) => u.id === 'quan-tri-huyen')?.library, 'huyen');
});

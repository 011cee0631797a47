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
type Who = 'curator' | 'auditor' | 'admin';
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
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && auditor.position !== null) await users.waitForPosition(auditor.position, scaledTimeout(60_000));
  t.context.tokens = { admin: admin.token, curator: curator.token, auditor: auditor.token };
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
    // Search and IIIF collections show a library's staff what a reader finds (never more).
    const search = listed((await call(t, who, 'GET', '/api/search?q=phamvithuvien')).text);
    t.false(who !== 'admin' && search.includes('tinh-confidential'), `search as ${who}`);
    t.true(search.includes('tinh-open') && search.includes('huyen-open'), `search as ${who}`);
    const top = listed((await call(t, who, 'GET', `/iiif/collection/${collectionOf.tinh}`)).text);
    t.is(top.includes('tinh-confidential'), who === 'admin', `IIIF collection as ${who}`);
  }
});

test.serial('figures: the whole instance’s statistics, audit report and preservation summary are refused to a library’s auditor, with the reason; the admin has them', async (t) => {
  for (const path of ['/api/stats?from=2026-01-01&to=2026-12-31', '/api/audit/report?from=2026-01-01&to=2026-12-31', '/api/preservation/summary', '/staff/stats', '/staff/preservation']) {
    const r = await call(t, 'auditor', 'GET', path);
    t.is(r.status, 403, path);
    t.true(r.text.includes('toàn hệ thống') && r.text.includes('whole instance'), path);
    const admin = await call(t, 'admin', 'GET', path);
    t.not(admin.status, 403, path);
  }
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

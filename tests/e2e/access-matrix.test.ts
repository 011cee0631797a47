import anyTest, { type TestFn } from 'ava';
import { createUser } from '../../src/application/users.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page as scan } from '../helpers/images.ts';
import { recordOcrReading } from '../helpers/ocr-reading.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The access matrix on a real server: every surface × viewer × level × status, allow and deny,
 * with the status code and the Cache-Control each answer must carry. The expectations are
 * written out by hand from the policy (issue 15), not computed by the code under test.
 *
 * Viewers: anonymous (loopback, outside the reading room), an anonymous request from the
 * reading room (X-Forwarded-For in THUKHO_READING_ROOM_CIDRS, with THUKHO_TRUST_PROXY on), a
 * signed-in reader, staff and an admin. Works: open, restricted and confidential, each active
 * and withdrawn, each with one page image and an OCR reading of it.
 */
const test = anyTest as TestFn<{ server: TestServer; adminToken: string }>;

const ROOM = '10.20.3.4';
test.serial.before(async (t) => {
  t.context.server = await startTestServer({ THUKHO_TRUST_PROXY: 'true', THUKHO_READING_ROOM_CIDRS: '10.20.0.0/16, 2001:db8:a::/48' });
  const s = t.context.server;
  const admin = await createUser(s.store, 'quan-tri', 'Quản trị thử', 'admin', { actor: { id: 'test', role: 'admin' } });
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && admin.position !== null) await users.waitForPosition(admin.position, scaledTimeout(60_000));
  t.context.adminToken = admin.token;
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

type Ctx = { context: { server: TestServer; adminToken: string } };

const LEVELS = ['open', 'restricted', 'confidential'] as const;
const STATUSES = ['active', 'withdrawn'] as const;
type Work = `${(typeof LEVELS)[number]}-${(typeof STATUSES)[number]}`;
const WORKS: Work[] = LEVELS.flatMap((l) => STATUSES.map((s) => `${l}-${s}` as Work));
const VIEWERS = ['anonymous', 'reading room', 'reader', 'staff', 'admin'] as const;
type ViewerName = (typeof VIEWERS)[number];

/** The catalogue record (API record and file facts, the site's page, the manifest). */
const RECORD: Record<Work, number[]> = {
  //                       anonymous  room  reader  staff  admin
  'open-active':            [200,     200,  200,    200,   200],
  'open-withdrawn':         [410,     410,  410,    200,   200],
  'restricted-active':      [200,     200,  200,    200,   200],
  'restricted-withdrawn':   [410,     410,  410,    200,   200],
  'confidential-active':    [404,     404,  404,    200,   200],
  'confidential-withdrawn': [404,     404,  404,    200,   200],
};
/** The content (info.json, tiles, thumbnails, the original, page text, OCR files, Content Search). */
const CONTENT: Record<Work, number[]> = {
  //                       anonymous  room  reader  staff  admin
  'open-active':            [200,     200,  200,    200,   200],
  'open-withdrawn':         [410,     410,  410,    200,   200],
  'restricted-active':      [401,     200,  200,    200,   200],
  'restricted-withdrawn':   [410,     410,  410,    200,   200],
  'confidential-active':    [404,     404,  404,    200,   200],
  'confidential-withdrawn': [404,     404,  404,    200,   200],
};

const idOf = (w: Work) => `ma-tran-${w}`;
const titleOf = (w: Work) => `Thử quyền ${w} matranquyen`;
const fileOf: Partial<Record<Work, string>> = {};
const thumbOf: Partial<Record<Work, string>> = {};

function headersFor(t: Ctx, viewer: ViewerName): Record<string, string> {
  const s = t.context.server;
  switch (viewer) {
    case 'anonymous':
      return {};
    case 'reading room':
      return { 'x-forwarded-for': ROOM };
    case 'reader':
      return { authorization: `Bearer ${s.readerToken}` };
    case 'staff':
      return { authorization: `Bearer ${s.staffToken}` };
    case 'admin':
      return { authorization: `Bearer ${t.context.adminToken}` };
  }
}

async function get(t: Ctx, path: string, headers: Record<string, string>) {
  const res = await fetch(`${t.context.server.url}${path}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, text: body.toString('utf8') };
}

test.serial('set-up: six works (three levels, active and withdrawn), a page and its OCR reading each', async (t) => {
  const s = t.context.server;
  for (const w of WORKS) {
    const [level, status] = w.split('-') as [string, string];
    const id = idOf(w);
    t.is((await staffCall(s, 'POST', '/api/objects', { id, title: titleOf(w), language: ['vie'], accessLevel: level })).id, id);
    const file = await uploadFile(s, id, await scan(`Trang ${w}`), `${id}.tif`);
    fileOf[w] = file.fileId as string;
    await recordOcrReading(s, id, file.fileId as string, (file.digests as { sha512: string }).sha512, [{ text: 'Địa', confidence: 93 }, { text: 'bạ', confidence: 88 }]);
    if (status === 'withdrawn') t.is((await staffCall(s, 'POST', `/api/objects/${id}/withdraw`, { reason: 'Trùng bản' })).status, 'withdrawn');
  }
  const staff = headersFor(t, 'staff');
  for (const w of WORKS) {
    // The projections have caught up: the manifest and the page text are there for staff.
    const manifest = await poll(`the manifest of ${w}`, 20_000, async () => {
      const r = await get(t, `/iiif/manifest/${idOf(w)}`, staff);
      return r.status === 200 ? (JSON.parse(r.text) as Json) : undefined;
    });
    thumbOf[w] = new URL(((manifest.thumbnail as Json[])[0] as { id: string }).id).pathname;
    await poll(`the page text of ${w}`, 20_000, async () => ((await get(t, `/iiif/text/${idOf(w)}/${fileOf[w]}`, staff)).status === 200 ? true : undefined));
  }
  // The search index holds the three active works.
  await poll('the search index', 20_000, async () => {
    const r = await get(t, '/api/search?q=matranquyen', staff);
    return r.status === 200 && (JSON.parse(r.text) as { total: number }).total === 3 ? true : undefined;
  });
  t.pass();
});

interface Surface {
  name: string;
  table: Record<Work, number[]>;
  path: (w: Work) => string;
  /** Staff get more than the record (each file's ingest status, the work's fixity): never for a shared cache. */
  privateForStaff?: boolean;
}

const SURFACES: Surface[] = [
  { name: 'API record', table: RECORD, path: (w) => `/api/objects/${idOf(w)}`, privateForStaff: true },
  { name: 'API file facts', table: RECORD, path: (w) => `/api/objects/${idOf(w)}/files/${fileOf[w]}` },
  { name: 'site page', table: RECORD, path: (w) => `/objects/${idOf(w)}` },
  { name: 'manifest', table: RECORD, path: (w) => `/iiif/manifest/${idOf(w)}` },
  { name: 'original download', table: CONTENT, path: (w) => `/api/objects/${idOf(w)}/files/${fileOf[w]}/content` },
  { name: 'info.json', table: CONTENT, path: (w) => `/iiif/3/${fileOf[w]}/info.json` },
  { name: 'tile', table: CONTENT, path: (w) => `/iiif/3/${fileOf[w]}/0,0,256,256/256,/0/default.jpg` },
  { name: 'thumbnail', table: CONTENT, path: (w) => thumbOf[w]! },
  { name: 'page text', table: CONTENT, path: (w) => `/iiif/text/${idOf(w)}/${fileOf[w]}` },
  { name: 'OCR ALTO', table: CONTENT, path: (w) => `/iiif/ocr/${idOf(w)}/${fileOf[w]}/alto.xml` },
  { name: 'OCR text', table: CONTENT, path: (w) => `/iiif/ocr/${idOf(w)}/${fileOf[w]}/text.txt` },
  { name: 'Content Search', table: CONTENT, path: (w) => `/iiif/search/${idOf(w)}?q=${encodeURIComponent('địa bạ')}` },
];

for (const surface of SURFACES) {
  test.serial(`matrix: ${surface.name} × viewer × level × status`, async (t) => {
    const got: string[] = [];
    const want: string[] = [];
    for (const w of WORKS) {
      for (const [i, viewer] of VIEWERS.entries()) {
        const expected = surface.table[w][i]!;
        const r = await get(t, surface.path(w), headersFor(t, viewer));
        const cache = r.headers.get('cache-control') ?? '(none)';
        const shared = w === 'open-active' && !(surface.privateForStaff && (viewer === 'staff' || viewer === 'admin'));
        const expectedCache = expected !== 200 ? 'no-store' : shared ? 'public, no-cache' : 'private, no-cache';
        got.push(`${w} as ${viewer}: ${r.status} ${cache}`);
        want.push(`${w} as ${viewer}: ${expected} ${expectedCache}`);
        if (expected === 401) t.is(r.headers.get('www-authenticate'), 'Bearer realm="thukho"', `${w} as ${viewer}`);
        // A 404 tells nothing of the work: not its title, not its access level (the id is the one asked for).
        if (expected === 404) t.false(r.text.includes('matranquyen') || r.text.includes('accessLevel'), `${w} as ${viewer}: ${r.text.slice(0, 200)}`);
      }
    }
    t.deepEqual(got, want);
  });
}

test.serial('site page: a restricted work shows its record and its reading room to everyone; those who may not read it are told how (and the viewer asks them to sign in)', async (t) => {
  for (const viewer of VIEWERS) {
    const r = await get(t, `/objects/${idOf('restricted-active')}`, headersFor(t, viewer));
    t.is(r.status, 200, viewer);
    t.true(r.text.includes(`<h1 id="h-title">${titleOf('restricted-active')}</h1>`), `${viewer}: the record`);
    const reads = viewer !== 'anonymous';
    // The viewer's own IIIF sign-in prompt is what stands before the images (viewer-auth.test.ts).
    t.true(r.text.includes('id="thukho-viewer"'), `${viewer}: the viewer`);
    t.is(r.text.includes('data-code="sign-in-needed"'), !reads, `${viewer}: how to get access`);
  }
  const refusal = await get(t, `/objects/${idOf('restricted-active')}`, {});
  t.true(refusal.text.includes('hãy đăng nhập, hoặc đến phòng đọc'));
  t.true(refusal.text.includes('sign in, or come to the library’s reading room'));
  // Staff still see a withdrawn work, told that it is withdrawn and why.
  const withdrawn = await get(t, `/objects/${idOf('restricted-withdrawn')}`, headersFor(t, 'staff'));
  t.is(withdrawn.status, 200);
  t.true(withdrawn.text.includes('data-code="withdrawn"'));
  t.true(withdrawn.text.includes('Trùng bản'));
  t.true(withdrawn.text.includes('id="thukho-viewer"'));
  // An open work's page shows the viewer to anyone.
  const open = await get(t, `/objects/${idOf('open-active')}`, {});
  t.true(open.text.includes('id="thukho-viewer"'));
});

/** Which of the six works a list shows a viewer. */
function listed(text: string): Work[] {
  return WORKS.filter((w) => text.includes(idOf(w)));
}

test.serial('lists: restricted records are findable by everyone, confidential ones by staff only, withdrawn ones by nobody', async (t) => {
  const everyone: Work[] = ['open-active', 'restricted-active'];
  const staff: Work[] = ['open-active', 'restricted-active', 'confidential-active'];
  for (const viewer of VIEWERS) {
    const h = headersFor(t, viewer);
    const expected = viewer === 'staff' || viewer === 'admin' ? staff : everyone;
    const api = await get(t, '/api/objects?limit=200', h);
    t.deepEqual(listed(api.text), expected, `API list as ${viewer}`);
    const search = await get(t, '/api/search?q=matranquyen', h);
    t.deepEqual(listed(JSON.stringify((JSON.parse(search.text) as { hits: Array<{ work: { id: string } }> }).hits.map((x) => x.work.id))), expected, `API search as ${viewer}`);
    t.is((JSON.parse(search.text) as { total: number }).total, expected.length, `search total as ${viewer}`);
    const top = await get(t, '/iiif/collection/top', h);
    t.deepEqual(listed(top.text), expected, `IIIF collection as ${viewer}`);
    const home = await get(t, '/', h);
    t.deepEqual(listed(home.text), expected, `home page as ${viewer}`);
    // Staff see withdrawn works in the API list when they ask; nobody else does.
    const all = await get(t, '/api/objects?limit=200&includeWithdrawn=true', h);
    t.deepEqual(listed(all.text), viewer === 'staff' || viewer === 'admin' ? WORKS : everyone, `API list with withdrawn as ${viewer}`);
    // Only the lists made for an anonymous visitor outside the reading room may be shared.
    const shareable = viewer === 'anonymous';
    for (const [name, r] of [['API list', api], ['IIIF collection', top], ['home page', home]] as const) {
      t.is(r.headers.get('cache-control'), shareable ? 'public, no-cache' : 'private, no-cache', `${name} as ${viewer}`);
    }
  }
});

test.serial('search: a restricted work\'s page text is searched by those who may read it, its record by everyone', async (t) => {
  for (const viewer of VIEWERS) {
    const r = await get(t, `/api/search?q=${encodeURIComponent('địa bạ')}`, headersFor(t, viewer));
    const hits = (JSON.parse(r.text) as { hits: Array<{ work: { id: string }; pageHits: unknown[] }> }).hits;
    const withPages = WORKS.filter((w) => hits.some((h) => h.work.id === idOf(w) && h.pageHits.length > 0));
    const expected: Work[] = viewer === 'anonymous' ? ['open-active'] : viewer === 'staff' || viewer === 'admin' ? ['open-active', 'restricted-active', 'confidential-active'] : ['open-active', 'restricted-active'];
    t.deepEqual(withPages, expected, viewer);
  }
  // Facets count no confidential work for the public.
  const facets = JSON.parse((await get(t, '/api/search?q=matranquyen', {})).text) as { facets: { accessLevel: Array<{ value: string; count: number }> } };
  t.deepEqual(Object.fromEntries(facets.facets.accessLevel.map((f) => [f.value, f.count])), { open: 1, restricted: 1 });
});

test.serial('X-Forwarded-For outside the reading room\'s ranges is an outsider; the IPv6 range counts too', async (t) => {
  const tile = `/iiif/3/${fileOf['restricted-active']}/0,0,256,256/256,/0/default.jpg`;
  t.is((await get(t, tile, { 'x-forwarded-for': '203.0.113.5' })).status, 401);
  t.is((await get(t, tile, { 'x-forwarded-for': '10.21.0.1' })).status, 401);
  t.is((await get(t, tile, { 'x-forwarded-for': '2001:db8:a::7' })).status, 200);
  t.is((await get(t, tile, { 'x-forwarded-for': '::ffff:10.20.9.9' })).status, 200);
});

test.serial('a policy change from open to confidential: the very next tile, info.json and thumbnail requests are refused to the public', async (t) => {
  const s = t.context.server;
  const id = 'ma-tran-doi-quyen';
  await staffCall(s, 'POST', '/api/objects', { id, title: 'Sắp thành mật matrandoi' });
  const fileId = (await uploadFile(s, id, await scan('Trang sắp thành mật'), `${id}.tif`)).fileId as string;
  const paths = [`/iiif/3/${fileId}/0,0,256,256/256,/0/default.jpg`, `/iiif/3/${fileId}/full/max/0/default.jpg`, `/iiif/3/${fileId}/info.json`];
  for (const p of paths) {
    // Twice: the second is served from the server's caches, which must not outlive the change.
    t.is((await get(t, p, {})).status, 200, p);
    const again = await get(t, p, {});
    t.is(again.status, 200, p);
    t.is(again.headers.get('cache-control'), 'public, no-cache', `${p}: shared caches must ask again before each use`);
  }
  const record = await fetch(`${s.url}/api/objects/${id}`, { headers: { authorization: `Bearer ${s.staffToken}` } });
  const patched = await fetch(`${s.url}/api/objects/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': record.headers.get('etag')! },
    body: JSON.stringify({ accessLevel: 'confidential' }),
  });
  t.is(patched.status, 200);
  for (const p of paths) {
    const r = await get(t, p, {});
    t.is(r.status, 404, p);
    t.is(r.headers.get('cache-control'), 'no-store', p);
    t.is((await get(t, p, headersFor(t, 'reader'))).status, 404, `${p} as a reader`);
    const staff = await get(t, p, headersFor(t, 'staff'));
    t.is(staff.status, 200, `${p} as staff`);
    t.is(staff.headers.get('cache-control'), 'private, no-cache', `${p} as staff`);
  }
});

test.serial('without trust proxy, X-Forwarded-For is not believed; the socket\'s own address decides', async (t) => {
  // A second server whose reading room is the loopback network: every test request comes from it.
  const s = await startTestServer({ THUKHO_READING_ROOM_CIDRS: '127.0.0.0/8, ::1/128' });
  try {
    const id = 'phong-doc-loopback';
    await staffCall(s, 'POST', '/api/objects', { id, title: 'Sổ hạn chế', accessLevel: 'restricted' });
    const fileId = (await uploadFile(s, id, await scan('Sổ hạn chế'), `${id}.tif`)).fileId as string;
    const tile = `${s.url}/iiif/3/${fileId}/0,0,256,256/256,/0/default.jpg`;
    t.is((await fetch(tile)).status, 200, 'from the reading room, without signing in');
    t.is((await fetch(tile, { headers: { 'x-forwarded-for': '203.0.113.5' } })).status, 200, 'a forged outside address changes nothing');
  } finally {
    await s.close();
  }
});

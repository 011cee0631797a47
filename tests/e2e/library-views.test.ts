import test, { type ExecutionContext } from 'ava';
import { createUser } from '../../src/application/users.ts';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { show, thukho } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';
import { child, findAll, parseXml, type XmlElement } from '../helpers/xml.ts';
import { assertValidXml } from '../helpers/xml-schema.ts';

/**
 * Issue 21 part 3 over a real socket, two libraries on one instance (the province's home
 * library `tinh` and a district's `huyen`): the library facet of search (API and site) and
 * its counts, the /libraries pages in both languages (and 404 for an unknown one), each
 * library its own OAI set with records naming their holding library, the statistics' and the
 * audit report's per-library rows, and a collection moving to the other library carrying its
 * works into the other facet value and OAI set at once.
 */
const OAI = 'http://www.openarchives.org/OAI/2.0/';
const DC = 'http://purl.org/dc/elements/1.1/';
const MODS = 'http://www.loc.gov/mods/v3';
const REPO = 'thuvien.example.vn';
const HUYEN = 'Thư viện huyện Yên Dũng';

async function get(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${s.url}${path}`, { headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function call(s: TestServer, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Json, headers: res.headers };
}

async function oai(t: ExecutionContext, s: TestServer, params: Record<string, string>): Promise<{ xml: string; doc: XmlElement }> {
  const res = await fetch(`${s.url}/oai?${new URLSearchParams(params)}`);
  const xml = await res.text();
  t.is(res.status, 200);
  await assertValidXml(t, xml, 'oai-pmh');
  return { xml, doc: parseXml(xml) };
}

type Facet = Array<{ value: string; count: number; selected: boolean }>;
const libraryFacet = (r: Json) => ((r.facets as Record<string, Facet>).library ?? []).map((f) => [f.value, f.count, f.selected]);
const hitIds = (r: Json) => (r.hits as Array<{ work: { id: string } }>).map((h) => h.work.id).sort();

test('two libraries: facet, /libraries pages, OAI set per library, per-library statistics and audit rows', async (t) => {
  const s = await startTestServer({
    THUKHO_LIBRARY_ID: 'tinh',
    THUKHO_INSTITUTION: 'Thư viện tỉnh Bắc Giang',
    THUKHO_OAI_REPOSITORY_IDENTIFIER: REPO,
    THUKHO_ACCESS_FLUSH_MS: '50',
  });
  t.teardown(() => s.close());
  const admin = await createUser(s.store, 'quan-tri', 'Quản trị', 'admin', { actor: { id: 'test', role: 'admin' } });
  await s.projections.find((p) => p.projection.name === 'users')?.waitForPosition(admin.position as bigint, scaledTimeout(60_000));

  const registered = await call(s, admin.token, 'POST', '/api/libraries', {
    id: 'huyen',
    name: { vi: HUYEN, en: 'Yen Dung District Library' },
    code: 'VN-BG-YD',
    address: 'Thị trấn Neo, Yên Dũng, Bắc Giang',
    contact: { email: 'thuvien@yendung.example.vn' },
  });
  t.is(registered.status, 201, JSON.stringify(registered.json));
  t.is((await staffCall(s, 'POST', '/api/collections', { id: 'han-nom', title: 'Sách Hán Nôm' })).id, 'han-nom');
  t.is((await staffCall(s, 'POST', '/api/collections', { id: 'dia-ba', title: 'Địa bạ Yên Dũng', libraryId: 'huyen' })).id, 'dia-ba');
  const work = async (id: string, title: string, accessLevel: string, collectionId?: string) =>
    t.is((await staffCall(s, 'POST', '/api/objects', { id, title, accessLevel, ...(collectionId ? { collectionId } : {}) })).id, id);
  await work('kieu', 'Truyện Kiều', 'open', 'han-nom');
  await work('so-bo', 'Sổ bộ làng Neo', 'open');
  await work('dia-ba-1', 'Địa bạ xã Nham Sơn', 'open', 'dia-ba');
  await work('dia-ba-2', 'Địa bạ xã Tiền Phong', 'open', 'dia-ba');
  await work('mat', 'Địa bạ mật', 'confidential', 'dia-ba');

  // --- search: the facet counts what the viewer may find, per library; the filter narrows.
  const all = await poll('every work in the search index', 30_000, async () => {
    const r = (await (await fetch(`${s.url}/api/search`)).json()) as Json;
    return r.total === 4 ? r : undefined;
  });
  t.deepEqual(libraryFacet(all), [['huyen', 2, false], ['tinh', 2, false]]);
  const huyen = (await (await fetch(`${s.url}/api/search?filter[library]=huyen`)).json()) as Json;
  t.deepEqual(hitIds(huyen), ['dia-ba-1', 'dia-ba-2']);
  t.deepEqual(libraryFacet(huyen), [['huyen', 2, true], ['tinh', 2, false]]);
  const tinh = (await (await fetch(`${s.url}/api/search?filter[library]=tinh`)).json()) as Json;
  t.deepEqual(hitIds(tinh), ['kieu', 'so-bo']);
  const staffHuyen = await call(s, s.staffToken, 'GET', '/api/search?filter[library]=huyen');
  t.deepEqual(hitIds(staffHuyen.json), ['dia-ba-1', 'dia-ba-2', 'mat'], 'staff find the confidential work, in its library');
  t.is((await fetch(`${s.url}/api/search?filter[library]=KHONG%20CO`)).status, 400);

  // The site's search page: the facet with names, counts and the chosen value.
  const page = await get(s, '/search?library=huyen');
  t.is(page.status, 200);
  t.regex(page.text, /data-facet="library"/);
  t.regex(page.text, /data-value="huyen" data-selected="true"><span class="facet-box" aria-hidden="true"><\/span><span class="facet-name">Thư viện huyện Yên Dũng<\/span>/);
  t.regex(page.text, /data-total="2"/);

  // --- /libraries and /libraries/{id}, in Vietnamese and in English.
  const list = await get(s, '/libraries');
  t.is(list.status, 200);
  t.true(list.text.indexOf('Thư viện tỉnh Bắc Giang') < list.text.indexOf(HUYEN), 'the home library first');
  t.regex(list.text, /data-library="huyen"[\s\S]*?data-works="2"/);
  t.regex(list.text, /data-library="tinh"[\s\S]*?data-works="2"/);
  const en = await get(s, '/libraries/huyen?lang=en');
  t.is(en.status, 200);
  t.regex(en.text, /<h1>Yen Dung District Library<\/h1>/);
  t.regex(en.text, /Library code<\/dt><dd>VN-BG-YD/);
  const vi = await get(s, '/libraries/huyen?lang=vi');
  t.regex(vi.text, /<h1>Thư viện huyện Yên Dũng<\/h1>/);
  t.regex(vi.text, /Địa chỉ<\/dt><dd>Thị trấn Neo, Yên Dũng, Bắc Giang/);
  t.regex(vi.text, /data-collection="dia-ba"/);
  t.notRegex(vi.text, /data-collection="han-nom"/);
  t.regex(vi.text, /href="\/objects\/dia-ba-1"/);
  t.regex(vi.text, /href="\/objects\/dia-ba-2"/);
  t.notRegex(vi.text, /href="\/objects\/mat"/, 'a confidential work is not listed to the public');
  t.notRegex(vi.text, /href="\/objects\/kieu"/);
  const home = await get(s, '/libraries/tinh');
  t.regex(home.text, /href="\/objects\/kieu"/);
  t.regex(home.text, /href="\/objects\/so-bo"/, 'a work in no collection is the home library\'s');
  t.is((await get(s, '/libraries/khong-co')).status, 404);
  t.is((await get(s, '/libraries/KHONG!')).status, 400);

  // --- OAI: each library a set; headers name it; records name the holding library.
  const sets = await oai(t, s, { verb: 'ListSets' });
  const specs = findAll(sets.doc, OAI, 'set').map((e) => [child(e, 'setSpec').text, child(e, 'setName').text]);
  t.deepEqual(specs, [
    ['dia-ba', 'Địa bạ Yên Dũng'],
    ['han-nom', 'Sách Hán Nôm'],
    ['library:huyen', HUYEN],
    ['library:tinh', 'Thư viện tỉnh Bắc Giang'],
  ]);
  const listed = await oai(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', set: 'library:huyen' });
  const headers = findAll(listed.doc, OAI, 'header');
  t.deepEqual(headers.map((h) => child(h, 'identifier').text).sort(), [`oai:${REPO}:dia-ba-1`, `oai:${REPO}:dia-ba-2`]);
  for (const h of headers) t.deepEqual(findAll(h, OAI, 'setSpec').map((e) => e.text), ['dia-ba', 'library:huyen']);
  const homeSet = await oai(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', set: 'library:tinh' });
  t.deepEqual(findAll(homeSet.doc, OAI, 'identifier').map((e) => e.text).sort(), [`oai:${REPO}:kieu`, `oai:${REPO}:so-bo`]);
  const none = await oai(t, s, { verb: 'ListRecords', metadataPrefix: 'oai_dc', set: 'library:khong-co' });
  t.deepEqual(findAll(none.doc, OAI, 'error').map((e) => e.attributes.code), ['noRecordsMatch']);
  const dc = await oai(t, s, { verb: 'GetRecord', metadataPrefix: 'oai_dc', identifier: `oai:${REPO}:dia-ba-1` });
  t.true(findAll(dc.doc, DC, 'source').some((e) => e.text === HUYEN));
  const mods = await oai(t, s, { verb: 'GetRecord', metadataPrefix: 'mods', identifier: `oai:${REPO}:dia-ba-1` });
  t.deepEqual(findAll(mods.doc, MODS, 'physicalLocation').map((e) => e.text), [HUYEN, 'VN-BG-YD']);
  const modsXml = mods.xml.slice(mods.xml.indexOf('<mods:mods'), mods.xml.indexOf('</mods:mods>') + '</mods:mods>'.length);
  await assertValidXml(t, `<?xml version="1.0" encoding="UTF-8"?>\n${modsXml}`, 'mods');

  // --- statistics: one view in each library, per-library rows (JSON and CSV), a library filter.
  t.is((await get(s, '/objects/so-bo')).status, 200);
  t.is((await get(s, '/objects/dia-ba-1')).status, 200);
  t.is((await get(s, '/objects/dia-ba-1', { 'user-agent': 'another reader' })).status, 200);
  const day = new Date().toISOString().slice(0, 10);
  const stats = await poll('three views in the statistics', 30_000, async () => {
    const r = await call(s, admin.token, 'GET', `/api/stats?from=${day}&to=${day}`);
    return (r.json.totals as Json | undefined)?.views === 3 ? r.json : undefined;
  });
  t.deepEqual(
    (stats.libraries as Json[]).map((l) => [l.libraryId, l.name, l.views]),
    [['huyen', HUYEN, 2], ['tinh', 'Thư viện tỉnh Bắc Giang', 1]],
  );
  const onlyHuyen = await call(s, admin.token, 'GET', `/api/stats?from=${day}&to=${day}&library=huyen`);
  t.deepEqual((onlyHuyen.json.works as Json[]).map((w) => w.objectId), ['dia-ba-1']);
  const onlyHome = await call(s, admin.token, 'GET', `/api/stats?from=${day}&to=${day}&library=tinh`);
  t.deepEqual((onlyHome.json.works as Json[]).map((w) => w.objectId), ['so-bo']);
  const csv = await get(s, `/api/stats?from=${day}&to=${day}&format=csv&table=libraries`, { authorization: `Bearer ${admin.token}` });
  t.is(csv.status, 200);
  t.true(csv.text.includes(`huyen,${HUYEN},2,`), csv.text);
  const screen = await get(s, `/staff/stats?from=${day}&to=${day}`, { authorization: `Bearer ${admin.token}` });
  t.is(screen.status, 200);
  t.regex(screen.text, /<tr data-library="huyen"><td>Thư viện huyện Yên Dũng <small>huyen<\/small><\/td><td>2<\/td>/);

  // --- audit report: per-library rows beside the collections (JSON).
  const audit = await call(s, admin.token, 'GET', `/api/audit/report?from=${day}&to=${day}`);
  t.is(audit.status, 200, JSON.stringify(audit.json));
  t.true(Array.isArray(audit.json.libraries));
  // The CLI gives the same report, and with --library the same one as the API's `library=`.
  const heldByHuyen = await call(s, admin.token, 'GET', `/api/audit/report?from=${day}&to=${day}&library=huyen`);
  t.is(heldByHuyen.status, 200, JSON.stringify(heldByHuyen.json));
  const cli = await thukho(s.dataDir, ['audit-report', '--from', day, '--to', day, '--library', 'huyen', '--format', 'json']);
  t.is(cli.code, 0, show(cli));
  t.deepEqual(JSON.parse(cli.stdout), heldByHuyen.json);
  const badId = await thukho(s.dataDir, ['audit-report', '--from', day, '--to', day, '--library', 'Sai Mã']);
  t.is(badId.code, 2, show(badId));

  // --- the collection moves to the home library: its works follow in the facet and the OAI sets.
  const before = await call(s, s.staffToken, 'GET', '/api/collections/dia-ba');
  const moved = await fetch(`${s.url}/api/collections/dia-ba`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': before.headers.get('etag') ?? '' },
    body: JSON.stringify({ libraryId: null }),
  });
  t.is(moved.status, 200, await moved.text());
  const after = await poll('the move in the facet', 30_000, async () => {
    const r = (await (await fetch(`${s.url}/api/search`)).json()) as Json;
    return libraryFacet(r).length === 1 ? r : undefined;
  });
  t.deepEqual(libraryFacet(after), [['tinh', 4, false]]);
  const movedSet = await oai(t, s, { verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', set: 'library:tinh' });
  t.is(findAll(movedSet.doc, OAI, 'header').length, 4);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '../../src/application/users.ts';
import { type Json, poll, uploadFile } from '../helpers/api.ts';
import { show, thukho } from '../helpers/cli.ts';
import { page } from '../helpers/images.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Libraries as records over a real socket (issue 21 part 1): admins register and edit them,
 * collections name one, a work's record and manifest name the library holding it, and bad
 * input (unknown library, duplicate id, empty name, bad code) is a 4xx with its reason. The
 * CLI does the same on a data directory of its own.
 */
const test = testWithServer({ THUKHO_INSTITUTION: 'Thư viện tỉnh Hà Tĩnh', THUKHO_LIBRARY_ID: 'tinh' });
type Ctx = { context: { server: TestServer } };

async function call(t: Ctx, method: string, path: string, body?: unknown, token: string | null = t.context.server.staffToken, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.context.server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json = (text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : {}) as Json;
  return { status: res.status, headers: res.headers, json, text };
}

/** One admin account for the file (ava gives each test its own copy of the context). */
let adminTokenMade: string | undefined;
async function adminToken(t: Ctx): Promise<string> {
  if (adminTokenMade) return adminTokenMade;
  const s = t.context.server;
  const admin = await createUser(s.store, 'boss', 'Quản trị', 'admin', { actor: { id: 'test', role: 'admin' } });
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && admin.position !== null) await users.waitForPosition(admin.position, scaledTimeout(60_000));
  adminTokenMade = admin.token;
  return admin.token;
}

const district = {
  id: 'cam-xuyen',
  name: { vi: 'Thư viện huyện Cẩm Xuyên', en: 'Cam Xuyen District Library' },
  code: 'VN-HT02',
  address: 'Thị trấn Cẩm Xuyên, Hà Tĩnh',
  contact: { email: 'thuvien@camxuyen.vn', url: 'https://thuvien.camxuyen.vn/' },
  logo: '/site/logo-cam-xuyen.png',
};

test.serial('admins register and edit libraries; bad input is a 4xx with its reason', async (t) => {
  const admin = await adminToken(t);
  const curatorTry = await call(t, 'POST', '/api/libraries', district);
  t.is(curatorTry.status, 403, 'a curator may not register libraries');
  t.is((await call(t, 'POST', '/api/libraries', district, null)).status, 401);

  const created = await call(t, 'POST', '/api/libraries', district, admin);
  t.is(created.status, 201, created.text);
  t.is(created.headers.get('location'), '/api/libraries/cam-xuyen');
  t.is(created.headers.get('etag'), '"0"');
  t.like(created.json, { id: 'cam-xuyen', code: 'VN-HT02', home: false, name: district.name, logo: district.logo });

  const duplicate = await call(t, 'POST', '/api/libraries', district, admin);
  t.is(duplicate.status, 409);
  t.regex(JSON.stringify(duplicate.json.messages), /đã tồn tại.*already exists/s);
  const emptyName = await call(t, 'POST', '/api/libraries', { id: 'rong', name: { vi: '   ' } }, admin);
  t.is(emptyName.status, 400);
  t.regex(JSON.stringify(emptyName.json), /không được để trống/);
  const badCode = await call(t, 'POST', '/api/libraries', { id: 'ma-sai', name: { vi: 'Thư viện' }, code: 'mã có dấu cách' }, admin);
  t.is(badCode.status, 400);
  t.regex(JSON.stringify(badCode.json), /ISIL/);
  t.is((await call(t, 'POST', '/api/libraries', { id: 'Không-hợp-lệ', name: { vi: 'X' } }, admin)).status, 400);

  const list = await call(t, 'GET', '/api/libraries', undefined, null);
  t.deepEqual((list.json.items as Json[]).map((l) => [l.id, l.home, (l.name as Json).vi]), [
    ['tinh', true, 'Thư viện tỉnh Hà Tĩnh'],
    ['cam-xuyen', false, 'Thư viện huyện Cẩm Xuyên'],
  ]);
  t.is((await call(t, 'GET', '/api/libraries/nope', undefined, null)).status, 404);

  // An edit needs the ETag; null clears a field.
  t.is((await call(t, 'PATCH', '/api/libraries/cam-xuyen', { address: null }, admin)).status, 428);
  const edited = await call(t, 'PATCH', '/api/libraries/cam-xuyen', { address: null, code: 'VN-HT03' }, admin, { 'if-match': '"0"' });
  t.is(edited.status, 200, edited.text);
  t.is(edited.json.address, undefined);
  t.is(edited.json.code, 'VN-HT03');
  t.is((await call(t, 'PATCH', '/api/libraries/cam-xuyen', { code: 'VN-HT04' }, admin, { 'if-match': '"0"' })).status, 409, 'a stale ETag');
  t.is((await call(t, 'PATCH', '/api/libraries/nope', { code: 'VN-X' }, admin, { 'if-match': '"0"' })).status, 404);
  t.is((await call(t, 'PATCH', '/api/libraries/cam-xuyen', { code: 'có dấu' }, admin, { 'if-match': '"1"' })).status, 400);
});

test.serial('a collection names its library; its works carry it in their record and manifest', async (t) => {
  const s = t.context.server;
  const unknown = await call(t, 'POST', '/api/collections', { id: 'lac', title: 'Lạc', libraryId: 'khong-co' });
  t.is(unknown.status, 422);
  const messages = unknown.json.messages as { vi: string; en: string };
  t.regex(messages.vi, /^Không có thư viện "khong-co"/);
  t.regex(messages.en, /^There is no library "khong-co"/);

  const col = await call(t, 'POST', '/api/collections', { id: 'sac-phong', title: 'Sắc phong Cẩm Xuyên', libraryId: 'cam-xuyen' });
  t.is(col.status, 201, col.text);
  t.like(col.json, { libraryId: 'cam-xuyen', library: { id: 'cam-xuyen', code: 'VN-HT03' } });
  const child = await call(t, 'POST', '/api/collections', { id: 'sac-phong-le', title: 'Sắc phong lẻ', parentId: 'sac-phong' });
  t.like(child.json, { library: { id: 'cam-xuyen' } }, 'a child collection takes its parent\'s library');

  const held = await call(t, 'POST', '/api/objects', { title: 'Sắc phong thần làng', collectionId: 'sac-phong-le' });
  const own = await call(t, 'POST', '/api/objects', { title: 'Địa chí Hà Tĩnh' });
  const heldId = held.json.id as string;
  const ownId = own.json.id as string;
  await uploadFile(s, heldId, await page('Trang một', { width: 400, height: 600 }), 'trang_001.tif');
  await uploadFile(s, ownId, await page('Trang một', { width: 400, height: 600 }), 'trang_001.tif');

  // The record (API and public page) names the holding library.
  const record = await call(t, 'GET', `/api/objects/${heldId}`, undefined, null);
  t.deepEqual(record.json.library, { id: 'cam-xuyen', name: district.name, code: 'VN-HT03', home: false });
  t.like((await call(t, 'GET', `/api/objects/${ownId}`, undefined, null)).json, { library: { id: 'tinh', name: { vi: 'Thư viện tỉnh Hà Tĩnh' }, home: true } });
  const pageVi = await call(t, 'GET', `/objects/${heldId}`, undefined, null);
  t.regex(pageVi.text, /data-field="library"><dt>Nơi lưu giữ<\/dt><dd><a href="\/libraries\/cam-xuyen" data-library="cam-xuyen">Thư viện huyện Cẩm Xuyên<\/a> <span class="library-code">\(VN-HT03\)<\/span>/);
  const pageEn = await call(t, 'GET', `/objects/${heldId}?lang=en`, undefined, null);
  t.regex(pageEn.text, /<dt>Held by<\/dt><dd><a [^>]*>Cam Xuyen District Library<\/a>/);

  // The manifest's provider and requiredStatement: the district library, valid Presentation 3.
  const manifestOf = (id: string, ok: (m: Json) => boolean) =>
    poll(`manifest ${id}`, scaledTimeout(60_000), async () => {
      const r = await call(t, 'GET', `/iiif/manifest/${id}`, undefined, null);
      return r.status === 200 && ok(r.json) ? r : undefined;
    });
  const m = await manifestOf(heldId, (j) => (j.items as unknown[]).length === 1);
  t.deepEqual(validatePresentation3(m.json), []);
  t.deepEqual(m.json.provider, [
    {
      id: `${s.url}/libraries/cam-xuyen`,
      type: 'Agent',
      label: { vi: ['Thư viện huyện Cẩm Xuyên'], en: ['Cam Xuyen District Library'] },
      homepage: [{ id: 'https://thuvien.camxuyen.vn/', type: 'Text', label: { vi: ['Thư viện huyện Cẩm Xuyên'], en: ['Cam Xuyen District Library'] }, format: 'text/html' }],
      logo: [{ id: `${s.url}/site/logo-cam-xuyen.png`, type: 'Image', format: 'image/png' }],
    },
  ]);
  t.deepEqual(m.json.requiredStatement, {
    label: { vi: ['Nơi lưu giữ'], en: ['Held by'] },
    value: { vi: ['Thư viện huyện Cẩm Xuyên (VN-HT03)'], en: ['Cam Xuyen District Library (VN-HT03)'] },
  });
  // The home library without a record: the institution, as before libraries.
  const home = await manifestOf(ownId, (j) => (j.items as unknown[]).length === 1);
  t.deepEqual(validatePresentation3(home.json), []);
  t.deepEqual((home.json.provider as Json[])[0], {
    id: `${s.url}/`,
    type: 'Agent',
    label: { vi: ['Thư viện tỉnh Hà Tĩnh'] },
    homepage: [{ id: `${s.url}/`, type: 'Text', label: { vi: ['Thư viện tỉnh Hà Tĩnh'] }, format: 'text/html' }],
  });

  // The collection moves back to the home library: its works' manifests and records follow.
  const etagBefore = m.headers.get('etag');
  const current = await call(t, 'GET', '/api/collections/sac-phong');
  const moved = await call(t, 'PATCH', '/api/collections/sac-phong', { libraryId: null }, s.staffToken, { 'if-match': current.headers.get('etag') ?? '' });
  t.is(moved.status, 200, moved.text);
  t.like(moved.json, { library: { id: 'tinh' } });
  const after = await manifestOf(heldId, (j) => JSON.stringify(j.provider).includes('Thư viện tỉnh Hà Tĩnh'));
  t.not(after.headers.get('etag'), etagBefore);
  t.deepEqual(validatePresentation3(after.json), []);
  const record2 = await poll('record moved', scaledTimeout(60_000), async () => {
    const r = await call(t, 'GET', `/api/objects/${heldId}`, undefined, null);
    return (r.json.library as Json | undefined)?.id === 'tinh' ? r : undefined;
  });
  t.is((record2.json.library as Json).home, true);
  // An unknown library on an edit is refused too.
  const c2 = await call(t, 'GET', '/api/collections/sac-phong');
  t.is((await call(t, 'PATCH', '/api/collections/sac-phong', { libraryId: 'khong-co' }, s.staffToken, { 'if-match': c2.headers.get('etag') ?? '' })).status, 422);
});

test.serial('the staff screen lists libraries; administrators get the forms, in both languages', async (t) => {
  const admin = await adminToken(t);
  const vi = await call(t, 'GET', '/staff/libraries', undefined, admin);
  t.is(vi.status, 200, vi.text.slice(0, 500));
  t.regex(vi.text, /<h1>Các thư viện<\/h1>/);
  t.regex(vi.text, /<tr data-library-id="tinh">[\s\S]*thư viện chính[\s\S]*Thư viện tỉnh Hà Tĩnh/);
  t.regex(vi.text, /<tr data-library-id="cam-xuyen">[\s\S]*VN-HT03/);
  t.regex(vi.text, /<form class="staff-form library-edit" data-library-id="cam-xuyen" data-revision="1"/);
  t.regex(vi.text, /id="add-library-form"/);
  t.regex(vi.text, /data-staff-page="libraries"/);
  const en = await call(t, 'GET', '/staff/libraries?lang=en', undefined, admin);
  t.regex(en.text, /<h1>Libraries<\/h1>/);
  t.regex(en.text, /Cam Xuyen District Library/);
  // A curator sees the list, not the forms.
  const curator = await call(t, 'GET', '/staff/libraries', undefined, t.context.server.staffToken);
  t.is(curator.status, 200);
  t.regex(curator.text, /data-library-id="cam-xuyen"/);
  t.notRegex(curator.text, /add-library-form|library-edit/);
  t.is((await call(t, 'GET', '/staff/libraries', undefined, t.context.server.readerToken)).status, 403);
});

test('the CLI: libraries add|list|edit, collections --library, and its refusals', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'thukho-libraries-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { THUKHO_INSTITUTION: 'Thư viện tỉnh Hà Tĩnh' };
  // A repository first (the users command makes one), as an operator's first steps do.
  t.is((await thukho(dataDir, ['users', 'add', 'boss', '--role', 'admin'], env)).code, 0);

  const add = await thukho(dataDir, ['libraries', 'add', 'ky-anh', '--name-vi', 'Thư viện thị xã Kỳ Anh', '--code', 'VN-HT05', '--url', 'https://kyanh.vn/'], env);
  t.is(add.code, 0, show(add));
  const again = await thukho(dataDir, ['libraries', 'add', 'ky-anh', '--name-vi', 'Lần hai'], env);
  t.is(again.code, 1, show(again));
  t.regex(again.stderr, /Thư viện "ky-anh" đã tồn tại\. \/ Library "ky-anh" already exists\./);
  const noName = await thukho(dataDir, ['libraries', 'add', 'rong'], env);
  t.is(noName.code, 1, show(noName));
  t.regex(noName.stderr, /không được để trống/);
  const badCode = await thukho(dataDir, ['libraries', 'add', 'sai', '--name-vi', 'Sai', '--code', 'có dấu'], env);
  t.is(badCode.code, 1, show(badCode));
  t.regex(badCode.stderr, /Dữ liệu không hợp lệ: code: .*ISIL/);

  const edit = await thukho(dataDir, ['libraries', 'edit', 'ky-anh', '--name-en', 'Ky Anh Town Library', '--code', ''], env);
  t.is(edit.code, 0, show(edit));
  const list = await thukho(dataDir, ['libraries', 'list', '--json'], env);
  t.is(list.code, 0, show(list));
  const items = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
  t.deepEqual(items.map((l) => [l.id, l.home]), [['home', true], ['ky-anh', false]]);
  t.deepEqual(items[1]?.name, { vi: 'Thư viện thị xã Kỳ Anh', en: 'Ky Anh Town Library' });
  t.is(items[1]?.code, undefined);
  t.deepEqual(items[1]?.contact, { url: 'https://kyanh.vn/' });

  const unknown = await thukho(dataDir, ['collections', 'create', 'c1', '--title', 'Bộ 1', '--library', 'khong-co'], env);
  t.is(unknown.code, 1, show(unknown));
  t.regex(unknown.stderr, /Không có thư viện "khong-co".*There is no library "khong-co"/);
  const created = await thukho(dataDir, ['collections', 'create', 'c1', '--title', 'Bộ 1', '--library', 'ky-anh'], env);
  t.is(created.code, 0, show(created));
  const cleared = await thukho(dataDir, ['collections', 'edit', 'c1', '--library', ''], env);
  t.is(cleared.code, 0, show(cleared));
  t.regex(cleared.stderr, /Đã sửa bộ sưu tập "c1"/);
  const same = await thukho(dataDir, ['collections', 'edit', 'c1', '--library', ''], env);
  t.regex(same.stderr, /không có gì thay đổi/);
});

import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { type RawAnswer, rawRequest } from '../helpers/raw-http.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * IIIF JSON honours Accept-Encoding over a real socket, with a plain HTTP client (fetch would
 * ask for and undo the coding itself): the coded bytes decode to the plain document, each
 * representation has its own ETag and 304s name the one the client holds, and images are
 * never coded again.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

type Raw = RawAnswer;
const raw = (t: Ctx, path: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(`${t.context.server.url}${path}`, headers, method);

const header = (r: Raw, name: string) => String(r.headers[name] ?? '');
const varies = (r: Raw) => header(r, 'vary').split(',').map((v) => v.trim().toLowerCase()).includes('accept-encoding');

function decoded(r: Raw): string {
  const coding = header(r, 'content-encoding');
  if (coding === 'gzip') return gunzipSync(r.body).toString('utf8');
  if (coding === 'br') return brotliDecompressSync(r.body).toString('utf8');
  if (coding) throw new Error(`unexpected coding ${coding}`);
  return r.body.toString('utf8');
}

let objectId = '';
let fileId = '';

test.serial('a three-page work and its manifest', async (t) => {
  const s = t.context.server;
  t.is((await staffCall(s, 'POST', '/api/collections', { id: 'han-nom', title: 'Sách Hán Nôm' })).id, 'han-nom');
  objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Đại Nam thực lục', accessLevel: 'open', collectionId: 'han-nom' })).id as string;
  for (const n of [1, 2, 3]) {
    const f = await uploadFile(s, objectId, await page(`Trang ${n}`, { width: 600, height: 840 }), `trang_00${n}.tif`);
    if (n === 1) fileId = f.fileId as string;
  }
  await poll('a manifest with three canvases', 15_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${objectId}`);
    const m = res.status === 200 ? ((await res.json()) as Json) : undefined;
    return (m?.items as unknown[] | undefined)?.length === 3 ? m : undefined;
  });
  t.pass();
});

for (const [what, path] of [
  ['manifest', () => `/iiif/manifest/${objectId}`],
  ['collection', () => '/iiif/collection/han-nom'],
  ['info.json', () => `/iiif/3/${fileId}/info.json`],
] as const) {
  test.serial(`${what}: plain without Accept-Encoding, gzip and br when asked, the same JSON, Vary and per-coding ETags`, async (t) => {
    const plain = await raw(t, path());
    t.is(plain.status, 200);
    t.is(header(plain, 'content-encoding'), '');
    t.true(varies(plain), `Vary: ${header(plain, 'vary')}`);
    t.is(Number(header(plain, 'content-length')), plain.body.length);
    const json = JSON.parse(plain.body.toString('utf8')) as Json;
    const plainTag = header(plain, 'etag');
    t.regex(plainTag, /^"[^"]+"$/);

    const identity = await raw(t, path(), { 'accept-encoding': 'identity' });
    t.is(header(identity, 'content-encoding'), '');
    t.is(header(identity, 'etag'), plainTag);

    const tags = new Set([plainTag]);
    for (const [accept, coding] of [['gzip', 'gzip'], ['gzip, deflate, br', 'gzip'], ['br', 'br'], ['br;q=1, gzip;q=0.5', 'br']] as const) {
      const coded = await raw(t, path(), { 'accept-encoding': accept });
      t.is(coded.status, 200);
      t.is(header(coded, 'content-encoding'), coding, accept);
      t.true(varies(coded));
      t.is(Number(header(coded, 'content-length')), coded.body.length, 'Content-Length counts the coded bytes');
      t.is(decoded(coded), plain.body.toString('utf8'), 'the same bytes once decoded');
      t.deepEqual(JSON.parse(decoded(coded)), json);
      t.is(header(coded, 'content-type'), header(plain, 'content-type'));
      // A strong ETag names one representation: the coded one has its own.
      const tag = header(coded, 'etag');
      t.regex(tag, coding === 'gzip' ? /^"[^"]+-gz"$/ : /^"[^"]+-br"$/);
      tags.add(tag);
    }
    t.is(tags.size, 3, 'plain, gzip and br: three tags');

    const gzTag = [...tags].find((x) => x.endsWith('-gz"'))!;
    // The client holding the gzip representation, asking for gzip: 304 naming it.
    const same = await raw(t, path(), { 'accept-encoding': 'gzip', 'if-none-match': gzTag });
    t.is(same.status, 304);
    t.is(header(same, 'etag'), gzTag);
    t.true(varies(same));
    t.is(same.body.length, 0);
    // …holding the plain one and asking for it: 304 too.
    const plain304 = await raw(t, path(), { 'if-none-match': plainTag });
    t.is(plain304.status, 304);
    t.is(header(plain304, 'etag'), plainTag);
    // A cache holding several variants lists them all: the one this request selects answers.
    const listed = await raw(t, path(), { 'accept-encoding': 'br', 'if-none-match': [...tags].join(', ') });
    t.is(listed.status, 304);
    t.regex(header(listed, 'etag'), /-br"$/);
    // Holding another representation than the one asked for: the full answer, never a 304 for bytes it lacks.
    const other = await raw(t, path(), { 'accept-encoding': 'gzip', 'if-none-match': plainTag });
    t.is(other.status, 200);
    t.is(header(other, 'content-encoding'), 'gzip');
    const gone = await raw(t, path(), { 'if-none-match': gzTag });
    t.is(gone.status, 200);
    t.is(header(gone, 'content-encoding'), '');
    t.deepEqual(JSON.parse(gone.body.toString('utf8')), json);
    // W/ on the client's side is the same tag (If-None-Match compares weakly).
    t.is((await raw(t, path(), { 'accept-encoding': 'gzip', 'if-none-match': `W/${gzTag}` })).status, 304);

    // HEAD: the headers of the coded GET, no body.
    const head = await raw(t, path(), { 'accept-encoding': 'gzip' }, 'HEAD');
    t.is(head.status, 200);
    t.is(header(head, 'content-encoding'), 'gzip');
    t.is(header(head, 'etag'), gzTag);
    t.is(head.body.length, 0);
  });
}

test.serial('tiles and images are sent as they are, whatever the client accepts; their 304s still work', async (t) => {
  for (const path of [`/iiif/3/${fileId}/full/max/0/default.jpg`, `/iiif/3/${fileId}/0,0,256,256/256,/0/default.png`, `/iiif/3/${fileId}/full/150,/0/gray.webp`]) {
    const res = await raw(t, path, { 'accept-encoding': 'gzip, deflate, br' });
    t.is(res.status, 200, path);
    t.is(header(res, 'content-encoding'), '', path);
    t.regex(header(res, 'content-type'), /^image\//);
    t.false(varies(res), `no Vary on ${path}`);
    const tag = header(res, 'etag');
    t.is((await raw(t, path, { 'accept-encoding': 'gzip', 'if-none-match': tag })).status, 304, path);
    t.is((await raw(t, path, { 'if-none-match': tag })).status, 304, path);
  }
});

test.serial('Content Search and text pages: coded when large, sent plain when small, Vary always', async (t) => {
  const res = await raw(t, `/iiif/search/${objectId}?q=nam`, { 'accept-encoding': 'gzip' });
  t.is(res.status, 200);
  t.true(varies(res));
  const json = JSON.parse(decoded(res)) as Json;
  t.is(json.type, 'AnnotationPage');
  // An empty result is a few hundred bytes: below the minimum, not worth a coding.
  if (res.body.length < 1024) t.is(header(res, 'content-encoding'), '');
});

test.serial('an error answer is still a readable problem, coded or not', async (t) => {
  const res = await raw(t, '/iiif/manifest/khong-co-dau', { 'accept-encoding': 'gzip' });
  t.is(res.status, 404);
  const problem = JSON.parse(decoded(res)) as Json;
  t.truthy(problem.title ?? problem.detail);
});

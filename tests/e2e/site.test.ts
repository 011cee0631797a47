import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page as scan } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * The public site over real HTTP: pages in both languages, the catalogue search with
 * Vietnamese folding and facets, escaping of everything cataloguers type, every access
 * status as its own HTML page, bad input as 4xx pages, and the built assets with caching.
 */
const test = testWithServer({ THUKHO_INSTITUTION: 'Thư viện tỉnh Nam Định' });
type Ctx = { context: { server: TestServer } };

const XSS_TITLE = `<script>alert(1)</script> "Báo" 'xưa' & nay`;
const ids: Record<string, string> = {};

interface Page {
  status: number;
  headers: Headers;
  body: string;
}

async function get(t: Ctx, path: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await fetch(`${t.context.server.url}${path}`, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Raw HTTP, for paths fetch would normalise and for looking at the bytes as sent. */
function rawGet(t: Ctx, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const url = new URL(t.context.server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertHtmlPage(t: { is: (a: unknown, b: unknown, m?: string) => void; regex: (s: string, r: RegExp, m?: string) => void; true: (v: boolean, m?: string) => void }, p: Page, where: string) {
  t.regex(p.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, where);
  t.regex(p.body, /^<!doctype html>\n<html lang="(vi|en)">/, where);
  t.is((p.body.match(/<h1[\s>]/g) ?? []).length, 1, `${where}: one h1`);
  t.true(p.body.includes('<main id="main"'), `${where}: main landmark`);
  t.true(p.body.includes('<a class="skip-link" href="#main">'), `${where}: skip link`);
  t.regex(p.headers.get('content-security-policy') ?? '', /script-src 'self'/, where);
  t.is(p.headers.get('x-content-type-options'), 'nosniff', where);
}

/** Facet values and counts of one facet on a search page. */
function facet(body: string, name: string): Map<string, number> {
  const section = new RegExp(`<section class="facet" data-facet="${name}">([\\s\\S]*?)</section>`).exec(body)?.[1] ?? '';
  const out = new Map<string, number>();
  for (const m of section.matchAll(/data-value="([^"]*)"[\s\S]*?data-count="(\d+)"/g)) out.set(m[1] as string, Number(m[2]));
  return out;
}

const total = (body: string) => Number(/data-total="(\d+)"/.exec(body)?.[1] ?? NaN);
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function create(t: Ctx, key: string, body: Json): Promise<string> {
  const made = await staffCall(t.context.server, 'POST', '/api/objects', body);
  if (typeof made.id !== 'string') throw new Error(`could not create ${key}: ${JSON.stringify(made)}`);
  ids[key] = made.id;
  return made.id;
}

test.serial('catalogue set-up', async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'sach-han-nom', title: 'Sách Hán Nôm', description: 'Sách khắc in và chép tay.' });
  await staffCall(s, 'POST', '/api/collections', { id: 'bao-chi', title: 'Báo chí & "tạp chí"' });
  const kieu = await create(t, 'kieu', {
    title: 'Truyện Kiều',
    creator: 'Nguyễn Du',
    date: 'Tự Đức thứ 24 (1871)',
    yearFrom: 1871,
    language: ['vie'],
    type: 'Sách',
    subject: 'Truyện thơ Nôm',
    description: 'Bản khắc in Liễu Văn Đường. Đoạn trường tân thanh, kể chuyện Thúy Kiều.',
    collectionId: 'sach-han-nom',
  });
  await uploadFile(s, kieu, await scan('Truyện Kiều', { width: 500, height: 700 }), 'kieu_001.tif');
  await create(t, 'dainam', {
    title: 'Đại Nam nhất thống chí',
    alternativeTitle: ['大南一統志'],
    yearFrom: 1882,
    language: ['lzh'],
    type: 'Sách',
    collectionId: 'sach-han-nom',
  });
  await create(t, 'xss', {
    title: XSS_TITLE,
    creator: `O'Brien & "Co"`,
    description: '<img src=x onerror=alert(2)> báo cũ',
    yearFrom: 1930,
    language: ['fra'],
    type: 'Báo',
    collectionId: 'bao-chi',
  });
  await create(t, 'restricted', { title: 'Tài liệu hạn chế', accessLevel: 'restricted' });
  await create(t, 'confidential', { title: 'Hồ sơ mật', accessLevel: 'confidential' });
  const gone = await create(t, 'gone', { title: 'Sách đã rút' });
  await staffCall(s, 'POST', `/api/objects/${gone}/withdraw`, { reason: 'Trả lại cho gia đình <b>bà Lan</b>' });
  // The search index is a projection: wait until it holds the four works the public may find.
  await poll('search index', 20_000, async () => (total((await get(t, '/search')).body) === 4 ? true : undefined), 20);
  t.pass();
});

test.serial('home: collections with counts and thumbnails, recent additions, visible objects only', async (t) => {
  const p = await get(t, '/');
  t.is(p.status, 200);
  assertHtmlPage(t, p, 'home');
  t.regex(p.body, /<html lang="vi">/);
  t.true(p.body.includes('Thư khố'));
  t.true(p.body.includes('Thư viện tỉnh Nam Định'));
  t.true(p.body.includes('action="/search"'));
  t.true(p.body.includes('href="/collections/sach-han-nom"'));
  t.regex(p.body, /href="\/collections\/sach-han-nom"[\s\S]*?2 tài liệu/);
  t.true(p.body.includes('Mới bổ sung'));
  t.true(p.body.includes(`href="/objects/${ids.kieu}"`));
  t.true(p.body.includes('Truyện Kiều'));
  t.true(p.body.includes('Nguyễn Du'));
  t.true(p.body.includes('data-lang-switch="en" href="?lang=en" hreflang="en" lang="en">English</a>'));
  for (const hidden of ['Hồ sơ mật', 'Sách đã rút']) t.false(p.body.includes(hidden), hidden);
  // A restricted work's record is public: listed, without a thumbnail (it has no images here).
  t.true(p.body.includes(`href="/objects/${ids.restricted}"`));
  // The thumbnail is an Image API address on this server that answers.
  const src = /<img src="(\/iiif\/3\/[^"]+)"/.exec(p.body)?.[1];
  t.truthy(src);
  t.is((await fetch(`${t.context.server.url}${src}`)).status, 200);
  t.regex(p.headers.get('cache-control') ?? '', /no-cache/);
  const etag = p.headers.get('etag');
  t.regex(etag ?? '', /^W\/"/);
  t.is((await get(t, '/', { 'if-none-match': etag ?? '' })).status, 304);
  const head = await fetch(`${t.context.server.url}/`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');
});

test.serial('language: ?lang=en switches, sets the cookie, the cookie keeps it', async (t) => {
  const en = await get(t, '/?lang=en');
  t.is(en.status, 200);
  t.regex(en.body, /<html lang="en">/);
  t.true(en.body.includes('Recent additions'));
  t.true(en.body.includes('data-lang-switch="vi" href="?lang=vi" hreflang="vi" lang="vi">Tiếng Việt</a>'));
  const cookie = en.headers.get('set-cookie') ?? '';
  t.regex(cookie, /thukho_lang=en/);
  const next = await get(t, '/search', { cookie: 'thukho_lang=en' });
  t.regex(next.body, /<html lang="en">/);
  t.true(next.body.includes('results'));
  t.regex(next.headers.get('vary') ?? '', /Cookie/i);
  t.regex((await get(t, '/')).body, /<html lang="vi">/);
  // The switch keeps the other parameters.
  const search = await get(t, '/search?q=kieu');
  t.true(search.body.includes('data-lang-switch="en" href="?q=kieu&amp;lang=en"'));
  // A lang value that is neither is ignored, not an error.
  t.is((await get(t, '/?lang=fr')).status, 200);
});

test.serial('search: Vietnamese folding, đ → d, Han characters, highlighted snippets', async (t) => {
  const kieu = await get(t, '/search?q=truyen+kieu');
  assertHtmlPage(t, kieu, 'search');
  t.is(total(kieu.body), 1);
  t.true(kieu.body.includes('1 kết quả'));
  t.true(kieu.body.includes('<mark>Truyện</mark> <mark>Kiều</mark>'));
  t.true(kieu.body.includes(`href="/objects/${ids.kieu}"`));
  for (const q of ['đai nam', 'dai nam', 'ĐẠI NAM', 'Đại Nam']) {
    const r = await get(t, `/search?q=${encodeURIComponent(q)}`);
    t.is(total(r.body), 1, q);
    t.true(r.body.includes(`href="/objects/${ids.dainam}"`), q);
  }
  const han = await get(t, `/search?q=${encodeURIComponent('一統')}`);
  t.is(total(han.body), 1);
  t.true(han.body.includes('<mark>一統</mark>'));
  // Every character must occur: 越 is in nothing.
  t.is(total((await get(t, `/search?q=${encodeURIComponent('大越')}`)).body), 0);
  // A snippet from the description, with the match marked.
  const snippet = await get(t, `/search?q=${encodeURIComponent('thuy kieu')}`);
  t.regex(snippet.body, /<mark>Thúy<\/mark> <mark>Kiều<\/mark>/);
  const none = await get(t, '/search?q=khongcogi');
  t.is(total(none.body), 0);
  t.true(none.body.includes('Không có tài liệu nào khớp'));
  // Access: a restricted work's record is found by everyone (a reader learns that the library
  // holds it), a confidential one by no one but staff, a withdrawn one by nobody.
  t.is(total((await get(t, `/search?q=${encodeURIComponent('hạn chế')}`)).body), 1);
  t.is(total((await get(t, `/search?q=${encodeURIComponent('hồ sơ mật')}`)).body), 0);
  t.is(total((await get(t, `/search?q=${encodeURIComponent('đã rút')}`)).body), 0);
});

test.serial('search: browse all, facet counts add up, filters combine', async (t) => {
  const all = await get(t, '/search');
  t.is(all.status, 200);
  t.is(total(all.body), 4);
  const collections = facet(all.body, 'collection');
  t.deepEqual(Object.fromEntries(collections), { 'sach-han-nom': 2, 'bao-chi': 1 });
  // The restricted work is in no collection.
  t.is(sum(collections), total(all.body) - 1);
  t.deepEqual(Object.fromEntries(facet(all.body, 'accessLevel')), { open: 3, restricted: 1 });
  t.deepEqual(Object.fromEntries(facet(all.body, 'century')), { '19': 2, '20': 1 });
  t.is(sum(facet(all.body, 'type')), 3);
  t.true(all.body.includes('Thế kỷ XIX'));
  t.true(all.body.includes('Hán văn'));
  // Browsing is in Vietnamese title order: Đ after D and before S, T.
  t.true(all.body.indexOf(`/objects/${ids.dainam}"`) < all.body.indexOf(`/objects/${ids.xss}"`));
  t.true(all.body.indexOf(`/objects/${ids.xss}"`) < all.body.indexOf(`/objects/${ids.kieu}"`));

  const c19 = await get(t, '/search?century=19');
  t.is(total(c19.body), 2);
  const both = await get(t, '/search?collection=sach-han-nom&language=lzh');
  t.is(total(both.body), 1);
  t.true(both.body.includes(`/objects/${ids.dainam}"`));
  // The chosen value's facet still shows the alternatives (counted without its own filter).
  t.deepEqual(Object.fromEntries(facet(both.body, 'language')), { vie: 1, lzh: 1 });
  t.regex(both.body, /data-value="lzh" data-selected="true"/);
  // A facet link keeps the other filters and the query.
  const withQ = await get(t, '/search?q=sach&type=S%C3%A1ch');
  t.is(total(withQ.body), 2);
  t.true(withQ.body.includes('href="/search?q=sach&amp;collection=sach-han-nom&amp;type=S%C3%A1ch"'));
  // A chosen value links to the same search without it.
  t.true(withQ.body.includes('href="/search?q=sach" data-value="Sách" data-selected="true"'));
  // Sort options keep the query and the filters.
  t.true(withQ.body.includes('href="/search?q=sach&amp;type=S%C3%A1ch&amp;sort=date" data-sort-option="date"'));
  const byDate = await get(t, '/search?sort=date-desc');
  t.true(byDate.body.indexOf(`/objects/${ids.xss}"`) < byDate.body.indexOf(`/objects/${ids.dainam}"`));
  t.is(total((await get(t, '/search?type=B%C3%A1o&century=19')).body), 0);
  t.is(total((await get(t, '/search?q=kieu&collection=bao-chi')).body), 0);
});

test.serial('cataloguers’ text is escaped everywhere', async (t) => {
  const pages = [
    await get(t, '/'),
    await get(t, '/search?q=alert'),
    await get(t, '/search'),
    await get(t, '/collections/bao-chi'),
    await get(t, `/objects/${ids.xss}`),
  ];
  for (const p of pages) {
    t.is(p.status, 200);
    t.false(p.body.includes('<script>alert'), 'no raw script');
    t.false(p.body.includes('<img src=x'), 'no raw img');
  }
  const object = pages[4]!;
  t.true(object.body.includes('&lt;script&gt;alert(1)&lt;/script&gt; &quot;Báo&quot; &apos;xưa&apos; &amp; nay'));
  t.true(object.body.includes('O&apos;Brien &amp; &quot;Co&quot;'));
  t.true(pages[1]!.body.includes('&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;'));
  t.true(pages[3]!.body.includes('Báo chí &amp; &quot;tạp chí&quot;'));
  // A query is escaped where it is shown back.
  const q = await get(t, `/search?q=${encodeURIComponent('"><script>alert(3)</script>')}`);
  t.is(q.status, 200);
  t.false(q.body.includes('<script>alert'));
  t.true(q.body.includes('value="&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"'));
});

test.serial('link previews and IIIF discovery: title, description, first page image, manifest link (absolute, escaped)', async (t) => {
  const base = t.context.server.url;
  const kieu = await get(t, `/objects/${ids.kieu}`);
  const meta = (property: string) => new RegExp(`<meta (?:property|name)="${property}" content="([^"]*)">`).exec(kieu.body)?.[1];
  t.is(meta('og:title'), 'Truyện Kiều');
  t.is(meta('og:site_name'), 'Thư khố — Thư viện tỉnh Nam Định');
  t.is(meta('og:locale'), 'vi_VN');
  t.is(meta('description'), 'Bản khắc in Liễu Văn Đường. Đoạn trường tân thanh, kể chuyện Thúy Kiều.');
  const image = meta('og:image') ?? '';
  t.true(image.startsWith(`${base}/iiif/3/`), image);
  const res = await fetch(image);
  t.is(res.status, 200, 'the preview image loads anonymously');
  t.regex(res.headers.get('content-type') ?? '', /^image\//);
  t.true(kieu.body.includes(`rel="alternate" type="application/ld+json;profile=&quot;http://iiif.io/api/presentation/3/context.json&quot;" href="${base}/iiif/manifest/${ids.kieu}"`));
  // Escaped like everything else; no image offered for what a crawler could not load.
  const xss = await get(t, `/objects/${ids.xss}`);
  t.true(xss.body.includes('<meta property="og:title" content="&lt;script&gt;alert(1)&lt;/script&gt;'));
  t.true(xss.body.includes('<meta name="description" content="&lt;img src=x onerror=alert(2)&gt; báo cũ">'));
  t.false(xss.body.includes('og:image'), 'no images, no preview image');
});

test.serial('object pages: viewer mount, record, and each access status as its own page', async (t) => {
  const s = t.context.server;
  const kieu = await get(t, `/objects/${ids.kieu}`);
  t.is(kieu.status, 200);
  assertHtmlPage(t, kieu, 'object');
  t.true(kieu.body.includes('<main id="main" class="page-viewer">'));
  t.true(kieu.body.includes(`<div id="thukho-viewer" data-manifest="/iiif/manifest/${ids.kieu}" data-lang="vi" data-object-id="${ids.kieu}"></div>`));
  t.true(kieu.body.includes('<noscript>'));
  t.regex(kieu.body, /<h1 id="h-title">Truyện Kiều<\/h1>/);
  t.true(kieu.body.includes('<dt>Tác giả</dt><dd>Nguyễn Du</dd>'));
  t.true(kieu.body.includes('href="/collections/sach-han-nom">Sách Hán Nôm</a>'));
  t.true(kieu.body.includes(`href="/iiif/manifest/${ids.kieu}"`));
  t.true(kieu.body.includes('IIIF manifest'));
  t.true(kieu.body.includes('data-access="open"'));
  const en = await get(t, `/objects/${ids.kieu}?lang=en`);
  t.true(en.body.includes('<dt>Creator</dt>'));
  t.true(en.body.includes('data-lang="en"'));

  const noImages = await get(t, `/objects/${ids.dainam}`);
  t.is(noImages.status, 200);
  t.true(noImages.body.includes('Tài liệu chưa có ảnh số.'));
  t.false(noImages.body.includes('id="thukho-viewer"'));

  // The record is public; the page says how to read the work (sign in, or the reading room).
  const restricted = await get(t, `/objects/${ids.restricted}`);
  t.is(restricted.status, 200);
  assertHtmlPage(t, restricted, 'restricted');
  t.true(restricted.body.includes('data-code="sign-in-needed"'));
  t.true(restricted.body.includes('phòng đọc'));
  t.true(restricted.body.includes('reading room'));
  t.true(restricted.body.includes('Tài liệu hạn chế</h1>'));
  t.regex(restricted.headers.get('cache-control') ?? '', /\bprivate\b/);
  const asReader = await get(t, `/objects/${ids.restricted}`, { authorization: `Bearer ${s.readerToken}` });
  t.is(asReader.status, 200);
  t.true(asReader.body.includes('Tài liệu hạn chế'));

  const confidential = await get(t, `/objects/${ids.confidential}`);
  t.is(confidential.status, 404);
  assertHtmlPage(t, confidential, 'confidential');
  t.false(confidential.body.includes('Hồ sơ mật'));
  t.is((await get(t, `/objects/${ids.confidential}`, { authorization: `Bearer ${s.staffToken}` })).status, 200);

  const gone = await get(t, `/objects/${ids.gone}`);
  t.is(gone.status, 410);
  assertHtmlPage(t, gone, 'withdrawn');
  t.true(gone.body.includes('Trả lại cho gia đình &lt;b&gt;bà Lan&lt;/b&gt;'));

  const unknown = await get(t, '/objects/khong-co');
  t.is(unknown.status, 404);
  assertHtmlPage(t, unknown, 'unknown');
  t.false(unknown.headers.get('content-type')?.includes('problem'));
});

test.serial('collection page: objects, paging, IIIF link, 404', async (t) => {
  const c = await get(t, '/collections/sach-han-nom');
  t.is(c.status, 200);
  assertHtmlPage(t, c, 'collection');
  t.true(c.body.includes('<h1>Sách Hán Nôm</h1>'));
  t.true(c.body.includes('Sách khắc in và chép tay.'));
  t.true(c.body.includes('href="/iiif/collection/sach-han-nom"'));
  t.true(c.body.includes(`/objects/${ids.kieu}"`));
  t.true(c.body.includes(`/objects/${ids.dainam}"`));
  t.is((await get(t, '/collections/sach-han-nom?page=2')).status, 404);
  const unknown = await get(t, '/collections/khong-co');
  t.is(unknown.status, 404);
  assertHtmlPage(t, unknown, 'unknown collection');
});

test.serial('collection pages of 24: every object once, newest first, across pages', async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'dia-ba', title: 'Địa bạ' });
  const made: string[] = [];
  for (let i = 1; i <= 26; i++) made.push((await staffCall(s, 'POST', '/api/objects', { title: `Địa bạ xã số ${i}`, collectionId: 'dia-ba' })).id as string);
  const linked = (body: string) => [...body.matchAll(/href="\/objects\/([^"]+)"/g)].map((m) => m[1]!);
  const first = linked((await get(t, '/collections/dia-ba')).body);
  const second = linked((await get(t, '/collections/dia-ba?page=2')).body);
  t.is(first.length, 24);
  t.is(second.length, 2);
  t.deepEqual([...first, ...second], [...made].reverse());
  t.is((await get(t, '/collections/dia-ba?page=3')).status, 404);
});

test.serial('standalone viewer page', async (t) => {
  const ok = await get(t, `/viewer?manifest=${encodeURIComponent('https://example.org/iiif/m.json?a=1&b="2"')}`);
  t.is(ok.status, 200);
  assertHtmlPage(t, ok, 'viewer');
  t.true(ok.body.includes('<div id="thukho-viewer" data-manifest="https://example.org/iiif/m.json?a=1&amp;b=&quot;2&quot;" data-lang="vi"></div>'));
  t.true(ok.body.includes('Trình xem IIIF / IIIF viewer'));
  t.false(ok.body.includes('data-object-id'));
  for (const bad of ['javascript:alert(1)', 'not a url', '//evil.example/x', '']) {
    const r = await get(t, `/viewer?manifest=${encodeURIComponent(bad)}`);
    t.is(r.status, 200, bad);
    t.true(r.body.includes('data-manifest=""'), bad);
  }
  const content = await get(t, '/viewer?iiif-content=eyJ0eXBlIjoiTWFuaWZlc3QifQ');
  t.is(content.status, 200);
  t.true(content.body.includes('data-manifest=""'));
});

test.serial('bad input: 4xx HTML pages (or a sensible 200), never 5xx', async (t) => {
  const cases: Array<[string, number[]]> = [
    ['/search?page=-1', [400]],
    ['/search?page=abc', [400]],
    ['/search?page=0', [400]],
    ['/search?page=99', [404]],
    ['/search?page=99999999999999999999', [400]],
    [`/search?q=${'a'.repeat(5000)}`, [400]],
    ['/search?q=%E0%A4%A', [400]],
    ['/search?q=%FF', [400]],
    ['/search?collection=..%2F..', [400]],
    ['/search?century=abc', [400]],
    ['/search?language=vietnamese', [400]],
    ['/search?q=a&q=b&page=1&page=x', [200]],
    ['/search?%E0=1', [400]],
    ['/objects/..%2F..%2Fetc%2Fpasswd', [400, 404]],
    ['/objects/%2E%2E', [400, 404]],
    ['/objects/%E0%A4%A', [400]],
    ['/objects/UPPER', [400]],
    [`/objects/${'x'.repeat(300)}`, [400]],
    ['/collections/..', [400, 404]],
    ['/collections/sach-han-nom?page=abc', [400]],
    ['/collections/sach-han-nom?page=-1', [400]],
    ['/viewer?manifest=%E0%A4%A', [400]],
    ['/?lang=%E0%A4%A', [400]],
  ];
  for (const [path, statuses] of cases) {
    const r = await rawGet(t, path);
    t.true(statuses.includes(r.status), `${path}: ${r.status}`);
    t.regex(String(r.headers['content-type']), /^text\/html; charset=utf-8/, path);
    t.true(r.body.toString('utf8').includes('<main id="main"'), path);
  }
  const bad = await get(t, '/search?q=%E0%A4%A');
  t.true(bad.body.includes('UTF-8'));
});

test.serial('assets: built files with gzip, immutable caching and 304 — or a clear notice when not built', async (t) => {
  const home = await get(t, '/');
  const manifest = fileURLToPath(new URL('../../viewer/dist/.vite/manifest.json', import.meta.url));
  const missing = await rawGet(t, '/assets/nope-12345678.js');
  t.is(missing.status, 404);
  t.regex(String(missing.headers['content-type']), /^text\/plain/);
  t.is((await rawGet(t, '/assets/..%2Fpackage.json')).status, 404);
  t.is((await rawGet(t, '/assets/.vite')).status, 404);
  if (!existsSync(manifest)) {
    t.log(`viewer/dist is not built (${manifest} missing): /assets checks skipped, checking the notice instead`);
    t.true(home.body.includes('data-code="viewer-not-built"'));
    t.true(home.body.includes('npm run build'));
    const object = await get(t, `/objects/${ids.kieu}`);
    t.true(object.body.includes('id="thukho-viewer"'));
    t.false(object.body.includes('<script'));
    return;
  }
  t.false(home.body.includes('data-code="viewer-not-built"'));
  const css = /<link rel="stylesheet" href="(\/assets\/[^"]+\.css)">/.exec(home.body)?.[1];
  t.truthy(css, 'site css linked');
  const object = await get(t, `/objects/${ids.kieu}`);
  const js = /<script type="module" src="(\/assets\/[^"]+\.js)"><\/script>/.exec(object.body)?.[1];
  t.truthy(js, 'viewer script on the object page');
  t.false(home.body.includes('<script'), 'no script on the home page');
  for (const path of [css!, js!]) {
    const plain = await rawGet(t, path);
    t.is(plain.status, 200, path);
    t.is(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    t.regex(String(plain.headers.vary), /Accept-Encoding/);
    t.is(plain.headers['content-encoding'], undefined);
    const etag = String(plain.headers.etag);
    t.regex(etag, /^"[^"]+"$/, 'strong ETag');
    t.is((await rawGet(t, path, { 'if-none-match': etag })).status, 304);
    // Tiny files are not worth compressing (the gzip copy would be larger): only real ones are checked.
    if (plain.body.length < 1024) continue;
    const zipped = await rawGet(t, path, { 'accept-encoding': 'gzip, br' });
    t.is(zipped.headers['content-encoding'], 'gzip');
    t.true(zipped.body.length < plain.body.length);
    t.deepEqual(gunzipSync(zipped.body), plain.body);
    t.not(zipped.headers.etag, etag);
    t.is((await rawGet(t, path, { 'accept-encoding': 'gzip', 'if-none-match': String(zipped.headers.etag) })).status, 304);
  }
  t.regex(String((await rawGet(t, css!)).headers['content-type']), /^text\/css/);
  t.regex(String((await rawGet(t, js!)).headers['content-type']), /^text\/javascript/);
});

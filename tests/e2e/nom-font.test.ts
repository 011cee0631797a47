import { request } from 'node:http';
import { staffCall } from '../helpers/api.ts';
import { type TestServer, startTestServer, testWithServer } from '../helpers/server.ts';

/**
 * Nôm on the public site over real HTTP: pages whose text holds Nôm characters link a
 * subset of the Nôm font cut for them (and pages without get nothing); the font route
 * answers content-addressed WOFF2 with the right headers, and refuses bad input with a 4xx
 * problem and a reason, never a 500; a server without the font still renders every page.
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

const CHU = String.fromCodePoint(0x21982); // 𡦂 "chữ", CJK Ext B
const NOM = String.fromCodePoint(0x20c50); // 𠱐 "nôm", Ext B
const EXT_A = String.fromCodePoint(0x340c); // 㐌 "đã", Ext A
const ids: Record<string, string> = {};

async function get(t: Ctx, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.context.server.url}${path}`, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Raw HTTP, for paths and query strings fetch would normalise. */
function rawGet(base: string, path: string): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fontUrls = (html: string) => [...html.matchAll(/url\((\/fonts\/nom\/[A-Za-z0-9_-]{22}\.woff2\?c=[0-9a-f,-]+)\)/g)].map((m) => m[1]!);
const styleOf = (html: string) => /<style data-role="nom-font">([\s\S]*?)<\/style>/.exec(html)?.[1];

test.serial('set-up: a collection and works with and without Nôm', async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'nom', title: `Sách ${CHU} ${NOM}`, description: 'Sách Nôm.' });
  for (const [key, body] of Object.entries({
    nom: { title: `Truyện ${CHU} ${NOM}`, description: `Bản chép tay ${EXT_A} 傳.`, collectionId: 'nom' },
    plain: { title: 'Đại Nam nhất thống chí', alternativeTitle: ['大南一統志'] },
  })) {
    const made = await staffCall(s, 'POST', '/api/objects', body);
    if (typeof made.id !== 'string') throw new Error(JSON.stringify(made));
    ids[key] = made.id;
  }
  t.pass();
});

test.serial('a page with Nôm links subsets for exactly its Nôm characters; the font answers immutable WOFF2', async (t) => {
  const page = await get(t, `/objects/${ids.nom}`);
  t.is(page.status, 200);
  const html = page.body.toString('utf8');
  const style = styleOf(html);
  t.truthy(style, 'a <style> with the Nôm faces');
  t.true(html.indexOf('<style data-role="nom-font">') < html.indexOf('</head>'));
  t.regex(style!, /font-family:"Thukho Nom"/);
  // Each face's unicode-range is the list its URL asks for; together: 㐌 𠱐 𡦂 (傳 is URO, in no range).
  const faces = [...style!.matchAll(/\?c=([0-9a-f,-]+)\) format\("woff2"\);unicode-range:([^;]+);/g)];
  for (const [, list, range] of faces) t.is(range, list!.split(',').map((p) => `U+${p}`).join(','));
  t.deepEqual(faces.flatMap((f) => f[1]!.split(',')).sort(), ['20c50', '21982', '340c']);
  const urls = fontUrls(html);
  // HanaMinA has some of Ext B as well as Ext A; HanaMinB the rest: one subset per file.
  t.is(urls.length, 2);
  for (const url of urls) {
    const font = await get(t, url);
    t.is(font.status, 200, url);
    t.is(font.headers.get('content-type'), 'font/woff2');
    t.is(font.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    t.is(font.headers.get('x-content-type-options'), 'nosniff');
    t.is(font.body.subarray(0, 4).toString('latin1'), 'wOF2');
    const etag = font.headers.get('etag') ?? '';
    t.regex(etag, /^"[A-Za-z0-9_-]{22}"$/);
    t.is((await get(t, url, { 'if-none-match': etag })).status, 304);
    t.is((await fetch(`${t.context.server.url}${url}`, { method: 'HEAD' })).status, 200);
  }
});

test.serial('pages without Nôm get no @font-face; collection, home and search pages with Nôm do', async (t) => {
  for (const path of [`/objects/${ids.plain}`, '/search?q=dai+nam']) {
    const html = (await get(t, path)).body.toString('utf8');
    t.is(styleOf(html), undefined, path);
    t.false(html.includes('@font-face'), path);
  }
  for (const path of ['/collections/nom', '/', '/search?q=truyen']) {
    const p = await get(t, path);
    t.is(p.status, 200, path);
    const style = styleOf(p.body.toString('utf8'));
    t.truthy(style, path);
    t.true(style!.includes('U+21982'), path);
  }
});

test.serial('bad font requests are 4xx problems with a reason, never a 500', async (t) => {
  const base = t.context.server.url;
  const [good, other] = fontUrls((await get(t, `/objects/${ids.nom}`)).body.toString('utf8'));
  const [, key, list] = /nom\/([^.]+)\.woff2\?c=(.+)$/.exec(good!)!;
  const otherList = /\?c=(.+)$/.exec(other!)![1]!;
  const cases: Array<[string, number]> = [
    [`/fonts/nom/${key}.woff2`, 400],
    [`/fonts/nom/${key}.woff2?c=`, 400],
    [`/fonts/nom/${key}.woff2?c=21982&c=21983`, 400],
    [`/fonts/nom/${key}.woff2?c=4e00`, 400],
    [`/fonts/nom/${key}.woff2?c=0041`, 400],
    [`/fonts/nom/${key}.woff2?c=1f600`, 400],
    [`/fonts/nom/${key}.woff2?c=${list!.toUpperCase()}`, 400],
    [`/fonts/nom/${key}.woff2?c=21982,20c50`, 400],
    [`/fonts/nom/${key}.woff2?c=20000-3ffff`, 400],
    [`/fonts/nom/${key}.woff2?c=${'2'.repeat(5_000)}`, 400],
    [`/fonts/nom/${key}.woff2?c=%ED%A0%80`, 400],
    [`/fonts/nom/${key}.woff2?c=%F0%A1%A6%82`, 400],
    [`/fonts/nom/${key}.woff2?c=21982%00`, 400],
    [`/fonts/nom/${key}.woff2?c=30000`, 400],
    // 340c is HanaMinA's, 21982 HanaMinB's: no one subset holds both.
    [`/fonts/nom/${key}.woff2?c=340c,21982`, 400],
    [`/fonts/nom/${key}.ttf?c=${list}`, 400],
    [`/fonts/nom/${key!.slice(0, 21)}.woff2?c=${list}`, 400],
    [`/fonts/nom/..%2F..%2Fetc%2Fpasswd?c=${list}`, 400],
    [`/fonts/nom/%ZZ.woff2?c=${list}`, 400],
    // Well formed, but not what the installed font makes of this list: a stale or forged key.
    [`/fonts/nom/${key}.woff2?c=${otherList}`, 404],
    [`/fonts/nom/AAAAAAAAAAAAAAAAAAAAAA.woff2?c=${list}`, 404],
  ];
  for (const [path, status] of cases) {
    const r = await rawGet(base, path);
    t.is(r.status, status, path.slice(0, 120));
    t.regex(r.type, /^application\/problem\+json/, path.slice(0, 120));
    const problem = JSON.parse(r.body) as { detail?: string };
    t.true((problem.detail ?? '').length > 10, path.slice(0, 120));
  }
  t.is((await rawGet(base, good!)).status, 200, 'the good URL still answers');
});

test.serial('a server without the font files renders Nôm pages without @font-face and answers font URLs 404', async (t) => {
  const good = fontUrls((await get(t, `/objects/${ids.nom}`)).body.toString('utf8'))[0]!;
  const bare = await startTestServer({ THUKHO_NOM_FONT_DIR: '/nonexistent/thukho-no-fonts' });
  try {
    const made = await staffCall(bare, 'POST', '/api/objects', { title: `Truyện ${CHU}` });
    const page = await fetch(`${bare.url}/objects/${String(made.id)}`);
    t.is(page.status, 200);
    const html = await page.text();
    t.true(html.includes(CHU), 'the text is there, for the reader\'s own fonts');
    t.false(html.includes('@font-face'));
    const font = await rawGet(bare.url, good);
    t.is(font.status, 404);
    t.regex(font.body, /fonts-hanazono/);
  } finally {
    await bare.close();
  }
});

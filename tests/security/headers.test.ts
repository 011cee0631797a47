import { poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * Response headers that keep browsers and shared caches honest: nosniff on everything we
 * serve (an uploaded file must never be run as HTML or script), per-user answers kept out of
 * shared caches and varied on the token, and a CORS preflight that allows every method the
 * API takes.
 */
const test = testWithServer();

let work: { open: string; restricted: string; fileId: string };

test.serial.before(async (t) => {
  const s = t.context.server;
  const open = (await staffCall(s, 'POST', '/api/objects', { title: 'Truyện Kiều', accessLevel: 'open' })).id as string;
  const restricted = (await staffCall(s, 'POST', '/api/objects', { title: 'Địa bạ Gia Long', accessLevel: 'restricted' })).id as string;
  const fileId = (await uploadFile(s, open, await page('Kiều — 翹'), 'trang_1.tif')).fileId as string;
  await poll('the manifest', 30_000, async () => ((await fetch(`${s.url}/iiif/manifest/${open}`)).status === 200 ? true : undefined));
  work = { open, restricted, fileId };
});

const get = (s: TestServer, path: string, token?: string) => fetch(`${s.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

test('X-Content-Type-Options: nosniff on API JSON, problem+json, IIIF and downloads', async (t) => {
  const s = t.context.server;
  const paths: Array<[string, string | undefined, RegExp]> = [
    ['/api/objects', undefined, /^application\/json/],
    [`/api/objects/${work.open}`, undefined, /^application\/json/],
    ['/api/objects/khong-co-dau', undefined, /^application\/problem\+json/],
    [`/api/objects/${work.open}/files/${work.fileId}/content`, s.readerToken, /^image\/tiff/],
    [`/iiif/3/${work.fileId}/info.json`, undefined, /json/],
    [`/iiif/3/${work.fileId}/full/64,/0/default.jpg`, undefined, /^image\/jpeg/],
    [`/iiif/manifest/${work.open}`, undefined, /json/],
    ['/iiif/collection/top', undefined, /json/],
    ['/health', undefined, /^application\/json/],
    ['/api/openapi.json', undefined, /^application\/json/],
  ];
  for (const [path, token, type] of paths) {
    const res = await get(s, path, token);
    await res.arrayBuffer();
    t.regex(res.headers.get('content-type') ?? '', type, `${path}: ${res.status}`);
    t.is(res.headers.get('x-content-type-options'), 'nosniff', path);
  }
});

test('GET /api/objects/{id} of a restricted work: Cache-Control private, Vary Authorization', async (t) => {
  const s = t.context.server;
  const reader = await get(s, `/api/objects/${work.restricted}`, s.readerToken);
  t.is(reader.status, 200);
  t.regex(reader.headers.get('cache-control') ?? '', /\bprivate\b/);
  t.regex(reader.headers.get('vary') ?? '', /\bAuthorization\b/i);
  // The record is public, but no shared cache may keep it: the work may become confidential.
  const anonymous = await get(s, `/api/objects/${work.restricted}`);
  t.is(anonymous.status, 200);
  t.regex(anonymous.headers.get('cache-control') ?? '', /\bprivate\b/);
  t.regex(anonymous.headers.get('vary') ?? '', /\bAuthorization\b/i);
});

test('every answer that depends on the token says so: lists, collections, health', async (t) => {
  const s = t.context.server;
  for (const path of ['/api/objects', '/api/collections', '/iiif/collection/top', '/health', `/iiif/manifest/${work.open}`]) {
    const res = await get(s, path);
    await res.arrayBuffer();
    t.regex(res.headers.get('vary') ?? '', /\bAuthorization\b/i, path);
  }
});

/** Every kind of answer: IIIF, API reads and writes, problems, pages, assets, health. */
function everyKind(s: TestServer): Array<[string, string, RequestInit?]> {
  return [
    ['IIIF info.json', `/iiif/3/${work.fileId}/info.json`],
    ['IIIF image', `/iiif/3/${work.fileId}/full/64,/0/default.jpg`],
    ['IIIF manifest', `/iiif/manifest/${work.open}`],
    ['IIIF collection', '/iiif/collection/top'],
    ['IIIF 404', '/iiif/3/khong-co/info.json'],
    ['API read', '/api/objects'],
    ['API problem', '/api/objects/khong-co-dau'],
    ['API write', '/api/objects', { method: 'POST', headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', origin: 'https://evil.example' }, body: JSON.stringify({ title: 'Ghi' }) }],
    ['download', `/api/objects/${work.open}/files/${work.fileId}/content`, { headers: { authorization: `Bearer ${s.readerToken}` } }],
    ['home page', '/'],
    ['object page', `/objects/${work.open}`],
    ['page 404', '/objects/khong-co'],
    ['health', '/health'],
    ['unmatched', '/khong/co/gi'],
  ];
}

test('every answer carries nosniff, Referrer-Policy, frame-ancestors none and X-Frame-Options DENY; no HSTS over plain HTTP', async (t) => {
  const s = t.context.server;
  for (const [name, path, init] of everyKind(s)) {
    // No proxy is trusted here: a client's own X-Forwarded-Proto does not make the request TLS.
    const res = await fetch(`${s.url}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-forwarded-proto': 'https' } });
    await res.arrayBuffer();
    t.is(res.headers.get('x-content-type-options'), 'nosniff', name);
    t.is(res.headers.get('referrer-policy'), 'strict-origin-when-cross-origin', name);
    t.is(res.headers.get('x-frame-options'), 'DENY', name);
    t.regex(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, name);
    t.is(res.headers.get('strict-transport-security'), null, `${name}: not over plain HTTP`);
  }
});

test('CSP: pages allow our own scripts and styles only (no unsafe-inline, no unsafe-eval); other answers allow nothing', async (t) => {
  const s = t.context.server;
  for (const [name, path, init] of everyKind(s)) {
    const res = await fetch(`${s.url}${path}`, init);
    await res.arrayBuffer();
    const csp = res.headers.get('content-security-policy') ?? '';
    t.false(/unsafe-inline|unsafe-eval/.test(csp), `${name}: ${csp}`);
    if ((res.headers.get('content-type') ?? '').startsWith('text/html')) {
      t.regex(csp, /(^|; )script-src 'self'(;|$)/, name);
      t.regex(csp, /(^|; )object-src 'none'/, name);
      t.regex(csp, /(^|; )base-uri 'none'/, name);
    } else {
      t.regex(csp, /^default-src 'none'/, `${name}: ${csp}`);
    }
  }
});

test('Cross-Origin-Resource-Policy: cross-origin on the IIIF surface, same-origin on the API, downloads and pages', async (t) => {
  const s = t.context.server;
  for (const [name, path, init] of everyKind(s)) {
    const res = await fetch(`${s.url}${path}`, init);
    await res.arrayBuffer();
    t.is(res.headers.get('cross-origin-resource-policy'), path.startsWith('/iiif/') ? 'cross-origin' : 'same-origin', name);
  }
});

test('CORS: * on IIIF reads (errors too), never with credentials; nothing on the API, its writes, pages or health', async (t) => {
  const s = t.context.server;
  for (const [name, path, init] of everyKind(s)) {
    const res = await fetch(`${s.url}${path}`, { ...init, headers: { ...(init?.headers as Record<string, string>), origin: 'https://other.example' } });
    await res.arrayBuffer();
    t.is(res.headers.get('access-control-allow-origin'), path.startsWith('/iiif/') ? '*' : null, `${name} (${res.status})`);
    t.is(res.headers.get('access-control-allow-credentials'), null, name);
  }
});

test('CORS preflight: an IIIF client may send its bearer token to info.json; a write to the API gets no CORS at all', async (t) => {
  const s = t.context.server;
  const iiif = await fetch(`${s.url}/iiif/3/${work.fileId}/info.json`, {
    method: 'OPTIONS',
    headers: { origin: 'https://viewer.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, accept' },
  });
  t.is(iiif.status, 204);
  t.is(iiif.headers.get('access-control-allow-origin'), '*');
  t.is(iiif.headers.get('access-control-allow-credentials'), null);
  t.deepEqual((iiif.headers.get('access-control-allow-methods') ?? '').split(/,\s*/), ['GET', 'HEAD']);
  const allowed = (iiif.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
  for (const h of ['authorization', 'accept']) t.true(allowed.includes(h), h);

  for (const [method, path] of [['PUT', `/api/objects/${work.open}/files/order`], ['POST', '/api/objects'], ['PATCH', `/api/objects/${work.open}`], ['POST', '/api/collections']]) {
    const res = await fetch(`${s.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': method!, 'access-control-request-headers': 'authorization, content-type, if-match' },
    });
    await res.arrayBuffer();
    t.true(res.status < 500, `${method} ${path}: ${res.status}`);
    for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-allow-credentials']) {
      t.is(res.headers.get(h), null, `${method} ${path}: ${h}`);
    }
  }
});

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

test('the CORS preflight allows PUT (page order) with the headers the API reads', async (t) => {
  const s = t.context.server;
  const res = await fetch(`${s.url}/api/objects/${work.open}/files/order`, {
    method: 'OPTIONS',
    headers: { origin: 'https://staff-tool.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type, if-match' },
  });
  t.true(res.status === 204 || res.status === 200, String(res.status));
  t.is(res.headers.get('access-control-allow-origin'), '*');
  const methods = (res.headers.get('access-control-allow-methods') ?? '').split(/,\s*/);
  for (const m of ['GET', 'POST', 'PUT', 'PATCH']) t.true(methods.includes(m), `${m} in ${methods.join(', ')}`);
  const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
  for (const h of ['authorization', 'content-type', 'if-match']) t.true(allowed.includes(h), h);
});

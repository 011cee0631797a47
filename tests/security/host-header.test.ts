import { request } from 'node:http';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, startTestServer, testWithServer } from '../helpers/server.ts';

/**
 * Cache poisoning through the Host header: without THUKHO_PUBLIC_URL, the ids we write in
 * info.json (cached `public, immutable`), manifests, collections, link previews and the
 * OpenAPI document must not come from what a client wrote in Host or X-Forwarded-Host,
 * unless the operator said a proxy sets those (THUKHO_TRUST_PROXY=true).
 */
const test = testWithServer();

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, because fetch does not let a caller choose the Host header. */
function rawGet(s: TestServer, path: string, headers: Record<string, string>): Promise<Raw> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An open work with one page in a collection, its manifest built. */
async function openWork(s: TestServer): Promise<{ objectId: string; fileId: string; collectionId: string }> {
  const collectionId = `bst-${Math.random().toString(36).slice(2, 8)}`;
  await staffCall(s, 'POST', '/api/collections', { id: collectionId, title: 'Sách cổ' });
  const objectId = (await staffCall(s, 'POST', '/api/objects', { title: 'Đại Nam thực lục', collectionId, accessLevel: 'open' })).id as string;
  const fileId = (await uploadFile(s, objectId, await page('Đại Nam — 大南'), 'trang_1.tif')).fileId as string;
  await poll('the manifest', 30_000, async () => ((await fetch(`${s.url}/iiif/manifest/${objectId}`)).status === 200 ? true : undefined));
  return { objectId, fileId, collectionId };
}

/** Every answer that carries an absolute URL of ours. */
function surfaces(w: { objectId: string; fileId: string; collectionId: string }): string[] {
  return [
    `/iiif/3/${w.fileId}/info.json`,
    `/iiif/3/${w.fileId}`,
    `/iiif/3/${w.fileId}/full/64,/0/default.jpg`,
    `/iiif/manifest/${w.objectId}`,
    '/iiif/collection/top',
    `/iiif/collection/${w.collectionId}`,
    `/objects/${w.objectId}`,
    '/api/openapi.json',
  ];
}

const FORGED = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' };

test.serial('a forged Host / X-Forwarded-Host is not written into info.json, manifests, collections, link previews or OpenAPI', async (t) => {
  const s = t.context.server;
  const w = await openWork(s);
  const ours = new URL(s.url).origin;
  for (const path of surfaces(w)) {
    const r = await rawGet(s, path, FORGED);
    t.true(r.status < 400, `${path}: ${r.status} ${r.body.slice(0, 300)}`);
    const seen = `${JSON.stringify(r.headers)}\n${r.body}`;
    t.false(seen.includes('evil.example'), `${path} names the forged host:\n${seen.slice(0, 2000)}`);
  }
  const info = JSON.parse((await rawGet(s, `/iiif/3/${w.fileId}/info.json`, FORGED)).body) as Json;
  t.is(info.id, `${ours}/iiif/3/${w.fileId}`, 'the id is the address the server listens at');
  const manifest = JSON.parse((await rawGet(s, `/iiif/manifest/${w.objectId}`, FORGED)).body) as Json;
  t.is(manifest.id, `${ours}/iiif/manifest/${w.objectId}`);
  const site = await rawGet(s, `/objects/${w.objectId}`, FORGED);
  t.regex(site.body, new RegExp(`<meta property="og:image" content="${ours}/iiif/3/`), 'the link preview image is ours');
  t.is(rawHeader(await rawGet(s, `/iiif/3/${w.fileId}`, FORGED), 'location'), `${ours}/iiif/3/${w.fileId}/info.json`);
});

function rawHeader(r: Raw, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

test.serial('THUKHO_TRUST_PROXY=true: X-Forwarded-Host and -Proto from the proxy are the public address', async (t) => {
  const s = await startTestServer({ THUKHO_TRUST_PROXY: 'true' });
  t.teardown(() => s.close());
  const w = await openWork(s);
  const proxied = { host: '127.0.0.1', 'x-forwarded-host': 'thuvien.example.vn', 'x-forwarded-proto': 'https' };
  const info = JSON.parse((await rawGet(s, `/iiif/3/${w.fileId}/info.json`, proxied)).body) as Json;
  t.is(info.id, `https://thuvien.example.vn/iiif/3/${w.fileId}`);
  const manifest = JSON.parse((await rawGet(s, `/iiif/manifest/${w.objectId}`, proxied)).body) as Json;
  t.is(manifest.id, `https://thuvien.example.vn/iiif/manifest/${w.objectId}`);
  const site = await rawGet(s, `/objects/${w.objectId}`, proxied);
  t.regex(site.body, /<meta property="og:image" content="https:\/\/thuvien\.example\.vn\/iiif\/3\//);
  // Even a trusted proxy's headers are checked before they are written into documents.
  const bad = await rawGet(s, `/iiif/3/${w.fileId}/info.json`, { ...proxied, 'x-forwarded-proto': 'javascript' });
  t.is(bad.status, 400, bad.body);
  t.false(bad.body.includes('javascript:'), bad.body);
});

test.serial('THUKHO_PUBLIC_URL wins over every header, trusted or not', async (t) => {
  const started = await startTestServer({ THUKHO_PUBLIC_URL: 'https://kho.example.vn/', THUKHO_TRUST_PROXY: 'true' });
  t.teardown(() => started.close());
  // Its `url` is the public one; the test talks to the socket.
  const s = { ...started, url: `http://127.0.0.1:${started.port}` };
  const w = await openWork(s);
  const info = JSON.parse((await rawGet(s, `/iiif/3/${w.fileId}/info.json`, FORGED)).body) as Json;
  t.is(info.id, `https://kho.example.vn/iiif/3/${w.fileId}`);
});

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import Koa from 'koa';
import { SITEMAP_NS } from '../../src/formats/sitemap.ts';
import { SITEMAP_PAGE_SIZE, sitemapRoutes } from '../../src/http/site/sitemap.ts';
import { poll, staffCall } from '../helpers/api.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { assertValidXml } from '../helpers/xml-schema.ts';

/**
 * Sitemaps and robots.txt over a real socket, every document valid against the sitemaps.org
 * 0.9 schemas (sitemap.xsd, siteindex.xsd): open and restricted works' record pages listed
 * with their last change, confidential and withdrawn ones never; the files split at the page
 * size (tried with a page size of 2 on the same read model).
 */
const test = testWithServer();
type Ctx = { context: { server: TestServer } };

const raw = (url: string, headers: Record<string, string> = {}) => rawRequest(url, headers);

/** Every <loc> of a sitemap or index, with its <lastmod> when there is one. */
function entries(xml: string): Array<{ loc: string; lastmod?: string }> {
  return [...xml.matchAll(/<(?:url|sitemap)><loc>([^<]+)<\/loc>(?:<lastmod>([^<]+)<\/lastmod>)?<\/(?:url|sitemap)>/g)].map((m) => ({
    loc: m[1]!.replace(/&amp;/g, '&'),
    ...(m[2] ? { lastmod: m[2] } : {}),
  }));
}

const ids: Record<'open1' | 'open2' | 'restricted' | 'confidential' | 'withdrawn', string> = { open1: '', open2: '', restricted: '', confidential: '', withdrawn: '' };

test.serial('works at every access level, one withdrawn, in a collection', async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'han-nom', title: 'Sách Hán Nôm' });
  const make = async (title: string, accessLevel: string) => (await staffCall(s, 'POST', '/api/objects', { title, accessLevel, collectionId: 'han-nom' })).id as string;
  ids.open1 = await make('Đại Nam thực lục', 'open');
  ids.open2 = await make('Lục Vân Tiên & Kiều <bản in>', 'open');
  ids.restricted = await make('Gia Định thành thông chí', 'restricted');
  ids.confidential = await make('Hồ sơ mật', 'confidential');
  ids.withdrawn = await make('Bản rút', 'open');
  const current = await fetch(`${s.url}/api/objects/${ids.withdrawn}`, { headers: { authorization: `Bearer ${s.staffToken}` } });
  const res = await fetch(`${s.url}/api/objects/${ids.withdrawn}/withdraw`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': current.headers.get('etag') ?? '' },
    body: JSON.stringify({ reason: 'Trùng bản' }),
  });
  t.is(res.status, 200, await res.text());
  // The read model follows the log: wait until the withdrawal is in it.
  await poll('the withdrawal in the read model', 10_000, async () => {
    const r = await fetch(`${s.url}/objects/${ids.withdrawn}`);
    return r.status === 410 ? true : undefined;
  });
});

test.serial('robots.txt keeps crawlers off the Image API, the staff pages, the API and sign-in, and names the sitemap', async (t) => {
  const s = t.context.server;
  const res = await raw(`${s.url}/robots.txt`);
  t.is(res.status, 200);
  t.regex(String(res.headers['content-type']), /^text\/plain/);
  const lines = res.body.toString('utf8').split('\n');
  for (const rule of ['User-agent: *', 'Disallow: /iiif/3/', 'Disallow: /staff', 'Disallow: /api/', 'Disallow: /sign-in', `Sitemap: ${s.url}/sitemap.xml`]) {
    t.true(lines.includes(rule), `robots.txt lacks "${rule}"`);
  }
  // OAI-PMH harvesters are let in; the manifests too.
  t.false(lines.some((l) => /^Disallow: \/(oai|iiif\/?$|iiif\/manifest)/.test(l)));
});

test.serial('the sitemap index and its file: valid, the public pages with their last change, never a confidential or withdrawn work', async (t) => {
  const s = t.context.server;
  const index = await raw(`${s.url}/sitemap.xml`);
  t.is(index.status, 200);
  t.regex(String(index.headers['content-type']), /^application\/xml/);
  const indexXml = index.body.toString('utf8');
  await assertValidXml(t, indexXml, 'siteindex');
  t.true(indexXml.includes(`xmlns="${SITEMAP_NS}"`));
  t.deepEqual(entries(indexXml).map((e) => e.loc), [`${s.url}/sitemap-1.xml`]);

  const file = await raw(`${s.url}/sitemap-1.xml`);
  t.is(file.status, 200);
  const xml = file.body.toString('utf8');
  await assertValidXml(t, xml, 'sitemap');
  const listed = entries(xml);
  const locs = listed.map((e) => e.loc);
  t.deepEqual(locs.slice(0, 2), [`${s.url}/`, `${s.url}/collections/han-nom`]);
  t.deepEqual(locs.slice(2).sort(), [ids.open1, ids.open2, ids.restricted].map((id) => `${s.url}/objects/${id}`).sort());
  for (const hidden of [ids.confidential, ids.withdrawn]) t.false(xml.includes(hidden), `${hidden} must not be listed`);
  // lastmod: the record's last change, a W3C Datetime in UTC.
  for (const id of [ids.open1, ids.open2, ids.restricted]) {
    const entry = listed.find((e) => e.loc.endsWith(`/objects/${id}`))!;
    t.regex(entry.lastmod ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    // The time of the work's last recorded change, as the read model keeps it.
    const row = s.readDb.prepare('SELECT updated_at FROM objects WHERE id = ?').get(id) as { updated_at: string };
    t.is(entry.lastmod, `${new Date(row.updated_at).toISOString().slice(0, 19)}Z`);
    // A listed page is a page anyone can open.
    t.is((await fetch(entry.loc)).status, 200, entry.loc);
  }
  // Every listed URL answers 200 to an anonymous reader.
  for (const loc of locs) t.is((await fetch(loc)).status, 200, loc);

  // Compressed when asked, as a stream; the same document once decoded.
  const zipped = await raw(`${s.url}/sitemap-1.xml`, { 'accept-encoding': 'gzip' });
  t.is(zipped.headers['content-encoding'], 'gzip');
  t.is(gunzipSync(zipped.body).toString('utf8'), xml);
  t.is(SITEMAP_PAGE_SIZE, 50_000);
});

test.serial('files past the last, and names that are not files, are 404', async (t) => {
  const s = t.context.server;
  for (const name of ['sitemap-2.xml', 'sitemap-0.xml', 'sitemap-01.xml', 'sitemap-abc.xml', 'sitemap-99999999999.xml']) {
    const res = await raw(`${s.url}/${name}`);
    t.is(res.status, 404, name);
    t.regex(res.body.toString('utf8'), /sitemap/);
  }
});

test.serial('with two URLs a file: the index names every file, the files list every public page once', async (t) => {
  const s = t.context.server;
  const app = new Koa();
  const router = sitemapRoutes({ readDb: s.readDb, config: s.config }, { pageSize: 2 });
  app.use(router.routes());
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = s.config.publicUrl ?? url;
  try {
    const indexXml = (await raw(`${url}/sitemap.xml`)).body.toString('utf8');
    await assertValidXml(t, indexXml, 'siteindex');
    // Home, one collection, three works: five URLs, three files.
    const files = entries(indexXml).map((e) => e.loc);
    t.deepEqual(files, [1, 2, 3].map((n) => `${base}/sitemap-${n}.xml`));
    const all: string[] = [];
    for (const n of [1, 2, 3]) {
      const xml = (await raw(`${url}/sitemap-${n}.xml`)).body.toString('utf8');
      await assertValidXml(t, xml, 'sitemap');
      const locs = entries(xml).map((e) => e.loc);
      t.true(locs.length <= 2 && locs.length >= 1, `file ${n}: ${locs.length}`);
      all.push(...locs);
    }
    t.is(new Set(all).size, all.length, 'no page listed twice');
    t.deepEqual([...all].sort(), [`${base}/`, `${base}/collections/han-nom`, ...[ids.open1, ids.open2, ids.restricted].map((id) => `${base}/objects/${id}`)].sort());
    t.is((await raw(`${url}/sitemap-4.xml`)).status, 404);
  } finally {
    server.close();
  }
});

import { type Json, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Presentation 3 over real HTTP: manifests and collections kept by the projection, valid by
 * the rules that matter, every id resolvable, current after each change.
 */
const test = testWithServer({ THUKHO_INSTITUTION: 'Thư viện tỉnh Nam Định' });
type Ctx = { context: { server: TestServer } };

async function call(t: Ctx, method: string, path: string, body?: unknown, token: string | null = t.context.server.staffToken) {
  const res = await fetch(`${t.context.server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : {}) as Json };
}

/** An edit as a client makes it: read the record's ETag, send it back in If-Match. */
async function patch(t: Ctx, id: string, body: unknown) {
  const current = await call(t, 'GET', `/api/objects/${id}`);
  const res = await fetch(`${t.context.server.url}/api/objects/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${t.context.server.staffToken}`, 'content-type': 'application/json', 'if-match': current.headers.get('etag') ?? '' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`PATCH ${id}: ${res.status} ${await res.text()}`);
}

const upload = (t: Ctx, objectId: string, bytes: Buffer, name: string) => uploadFile(t.context.server, objectId, bytes, name);

/** The manifest projection follows the log on its own: poll until `ok` holds. */
async function manifestWhen(t: Ctx, id: string, ok: (r: { status: number; json: Json }) => boolean, token: string | null = null) {
  const until = Date.now() + scaledTimeout(60_000); // a hang guard, not a speed bound
  for (;;) {
    const r = await call(t, 'GET', `/iiif/manifest/${id}`, undefined, token);
    if (ok(r)) return r;
    if (Date.now() > until) throw new Error(`manifest ${id} never got there: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const label = (m: Json) => (m.label as Record<string, string[]>);

test.serial('a manifest per object: valid, sized like the images, resolvable, current after edits', async (t) => {
  t.is((await call(t, 'POST', '/api/collections', { id: 'han-nom', title: 'Sách Hán Nôm' })).status, 201);
  const created = await call(t, 'POST', '/api/objects', {
    title: 'Đại Nam thực lục',
    alternativeTitle: ['大南實錄'],
    language: ['lzh'],
    date: 'Tự Đức thứ 24',
    rights: 'http://rightsstatements.org/vocab/NoC-NC/1.0/',
    description: 'Bộ chính sử triều Nguyễn.',
    collectionId: 'han-nom',
  });
  const id = created.json.id as string;
  const f1 = await upload(t, id, await page('Trang một', { width: 640, height: 900 }), 'trang_001.tif');
  const f2 = await upload(t, id, await page('Trang hai', { width: 660, height: 910 }), 'trang_002.tif');

  const r = await manifestWhen(t, id, (m) => m.status === 200 && (m.json.items as unknown[]).length === 2);
  t.regex(r.headers.get('content-type') ?? '', /^application\/ld\+json;profile="http:\/\/iiif.io\/api\/presentation\/3\/context.json"/);
  t.is(r.headers.get('access-control-allow-origin'), '*');
  const m = r.json;
  t.deepEqual(validatePresentation3(m), []);
  t.is(m.id, `${t.context.server.url}/iiif/manifest/${id}`);
  t.deepEqual(label(m), { vi: ['Đại Nam thực lục'] });
  t.is(m.viewingDirection, 'right-to-left');
  t.is(m.rights, 'http://rightsstatements.org/vocab/NoC-NC/1.0/');
  t.true(JSON.stringify(m.requiredStatement).includes('Thư viện tỉnh Nam Định'));
  t.true(JSON.stringify(m.metadata).includes('"lzh":["大南實錄"]'));
  t.deepEqual((m.partOf as Json[])[0]?.id, `${t.context.server.url}/iiif/collection/han-nom`);
  const canvases = m.items as Json[];
  t.deepEqual(canvases.map((c) => [c.width, c.height]), [[640, 900], [660, 910]]);
  // Every image service the manifest names answers, with the canvas's size.
  for (const [i, c] of canvases.entries()) {
    const anno = ((c.items as Json[])[0]!.items as Json[])[0]!;
    const body = anno.body as Json;
    const service = (body.service as Json[])[0]!;
    t.is(service.id, `${t.context.server.url}/iiif/3/${[f1, f2][i]!.fileId as string}`);
    const info = await call(t, 'GET', `${new URL(service.id as string).pathname}/info.json`, undefined, null);
    t.is(info.status, 200);
    t.deepEqual([info.json.width, info.json.height], [c.width, c.height]);
    const image = await fetch(body.id as string);
    t.is(image.status, 200);
  }
  for (const link of [...(m.homepage as Json[]), ...(m.seeAlso as Json[]), ...(m.partOf as Json[])]) {
    t.true(link.id === undefined || String(link.id).startsWith(t.context.server.url), String(link.id));
  }
  t.is((await fetch((m.seeAlso as Json[])[0]!.id as string)).status, 200);
  t.is((await fetch((m.partOf as Json[])[0]!.id as string)).status, 200);

  // An edit reaches the manifest without anyone rebuilding it by hand.
  const etag = r.headers.get('etag');
  await patch(t, id, { title: 'Đại Nam thực lục chính biên' });
  const edited = await manifestWhen(t, id, (x) => x.status === 200 && label(x.json).vi?.[0] === 'Đại Nam thực lục chính biên');
  t.not(edited.headers.get('etag'), etag);
  // Reordered pages reorder the canvases.
  t.is((await call(t, 'PUT', `/api/objects/${id}/files/order`, { order: [f2.fileId, f1.fileId] })).status, 200);
  const reordered = await manifestWhen(t, id, (x) => x.status === 200 && String((x.json.items as Json[])[0]?.id).endsWith(f2.fileId as string));
  t.deepEqual((reordered.json.items as Json[]).map((c) => c.width), [660, 640]);
  t.is((await call(t, 'PUT', `/api/objects/${id}/files/order`, { order: [f1.fileId] })).status, 422);

  // Restricted: the manifest is the work's record, public (without the downloads); its
  // images ask anonymous readers to sign in.
  await patch(t, id, { accessLevel: 'restricted' });
  const restricted = await manifestWhen(t, id, (x) => x.status === 200 && (x.json.items as Json[]).every((c) => c.rendering === undefined));
  const image = (((restricted.json.items as Json[])[0]?.items as Json[])[0]?.items as Json[])[0]?.body as { service: Array<{ id: string }> };
  t.is((await fetch(`${image.service[0]!.id}/info.json`)).status, 401);
  t.is((await call(t, 'GET', `/iiif/manifest/${id}`, undefined, t.context.server.readerToken)).status, 200);
  // Withdrawn: gone, with the reason.
  await call(t, 'POST', `/api/objects/${id}/withdraw`, { reason: 'Trả lại cho gia đình' });
  const gone = await manifestWhen(t, id, (x) => x.status === 410, t.context.server.readerToken);
  t.regex(JSON.stringify(gone.json), /Trả lại cho gia đình/);
});

test.serial('collections: top lists the collection, the collection lists its manifests', async (t) => {
  const id = (await call(t, 'POST', '/api/objects', { title: 'Lục Vân Tiên', collectionId: 'han-nom' })).json.id as string;
  await upload(t, id, await page('Lục Vân Tiên', { width: 500, height: 700 }), 'a.tif');
  await manifestWhen(t, id, (x) => x.status === 200);
  const top = await call(t, 'GET', '/iiif/collection/top', undefined, null);
  t.is(top.status, 200);
  t.deepEqual(validatePresentation3(top.json), []);
  t.true((top.json.items as Json[]).some((i) => i.id === `${t.context.server.url}/iiif/collection/han-nom` && i.type === 'Collection'));
  const col = await call(t, 'GET', '/iiif/collection/han-nom', undefined, null);
  t.is(col.status, 200);
  t.deepEqual(validatePresentation3(col.json), []);
  const items = col.json.items as Json[];
  t.true(items.some((i) => i.id === `${t.context.server.url}/iiif/manifest/${id}` && i.type === 'Manifest'));
  t.is((await call(t, 'GET', '/iiif/collection/khong-co', undefined, null)).status, 404);
  t.is((await call(t, 'GET', '/iiif/manifest/khong-co', undefined, null)).status, 404);
  t.is((await call(t, 'GET', '/iiif/manifest/BAD%2Fid', undefined, null)).status, 400);
});

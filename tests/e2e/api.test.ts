import { request } from 'node:http';
import { verifyStreamChain } from '../../src/eventstore/hash-chain.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

const test = testWithServer();

type Json = Record<string, unknown>;

async function call(
  t: { context: { server: TestServer } },
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
) {
  const s = t.context.server;
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? s.staffToken : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${s.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as Json };
}

const head = async (t: { context: { server: TestServer } }) => t.context.server.store.headPosition();

test.serial('health reports event store, redis and projections', async (t) => {
  const r = await call(t, 'GET', '/health', { token: null });
  t.is(r.status, 200);
  t.is(r.json.status, 'ok');
  t.is((r.json.eventStore as Json).status, 'ok');
  t.is((r.json.redis as Json).status, 'ok');
  const names = (r.json.projections as Json[]).map((p) => p.name);
  t.deepEqual(names.sort(), ['description-queue', 'dispatcher', 'fixity', 'manifests', 'oai', 'objects', 'page-text', 'stats', 'users']);
});

test.serial('create, read, list an object with Vietnamese metadata', async (t) => {
  const created = await call(t, 'POST', '/api/objects', {
    body: {
      title: 'Truye\u0302\u0323n Kie\u0302\u0300u', // typed decomposed (NFD-like): stored NFC
      alternativeTitle: ['傳翹'],
      creator: 'Nguyễn Du',
      date: 'Tự Đức thứ 24',
      language: ['vie', 'lzh'],
      rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/',
    },
  });
  t.is(created.status, 201);
  const id = created.json.id as string;
  t.regex(id, /^[a-z0-9]{12}$/);
  t.is(created.json.revision, 0);
  t.is(created.json.title, 'Truyện Kiều');
  t.is(created.json.accessLevel, 'open');
  t.is(created.json.yearFrom, 1871);
  t.is(created.headers.get('location'), `/api/objects/${id}`);
  t.is(created.headers.get('etag'), '"0"');

  const got = await call(t, 'GET', `/api/objects/${id}`, { token: null });
  t.is(got.status, 200);
  t.deepEqual(got.json.alternativeTitle, ['傳翹']);
  const list = await call(t, 'GET', '/api/objects?limit=200', { token: null });
  t.true((list.json.items as Json[]).some((o) => o.id === id));
});

test.serial('an id chosen by the client is kept, and a second registration is a 409', async (t) => {
  const a = await call(t, 'POST', '/api/objects', { body: { id: 'hn-1234', title: 'Đại Việt sử ký toàn thư' } });
  t.is(a.status, 201);
  t.is(a.json.id, 'hn-1234');
  const b = await call(t, 'POST', '/api/objects', { body: { id: 'hn-1234', title: 'khác' } });
  t.is(b.status, 409);
  t.is(b.json.type, '/problems/already-exists');
});

test.serial('bad input gets a problem+json and writes nothing', async (t) => {
  const before = await head(t);
  const cases: Array<[string, Parameters<typeof call>[3], number, string]> = [
    ['malformed JSON', { raw: '{"title": "Kiều",' }, 400, 'malformed-json'],
    ['unknown field', { body: { title: 'Kiều', colour: 'đỏ' } }, 400, 'invalid-input'],
    ['missing title', { body: { creator: 'Nguyễn Du' } }, 400, 'invalid-input'],
    ['blank title', { body: { title: '   ' } }, 400, 'invalid-input'],
    ['bad language code', { body: { title: 'Kiều', language: ['Vietnamese'] } }, 400, 'invalid-input'],
    ['bad rights URI', { body: { title: 'Kiều', rights: 'public domain' } }, 400, 'invalid-input'],
    ['years reversed', { body: { title: 'Kiều', yearFrom: 1900, yearTo: 1800 } }, 422, 'invalid-input'],
    ['bad id', { body: { id: '../etc', title: 'Kiều' } }, 400, 'invalid-input'],
    ['not JSON', { raw: 'title=Kiều', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported-media-type'],
    ['empty body', { raw: '' }, 400, 'empty-body'],
    ['no token', { body: { title: 'Kiều' }, token: null }, 401, 'authentication-required'],
    ['reader token', { body: { title: 'Kiều' }, token: t.context.server.readerToken }, 403, 'forbidden'],
    ['unknown token', { body: { title: 'Kiều' }, token: 'thk_nope' }, 401, 'invalid-token'],
  ];
  for (const [name, options, status, type] of cases) {
    const r = await call(t, 'POST', '/api/objects', options);
    t.is(r.status, status, name);
    t.is(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', name);
    t.is(r.json.type, `/problems/${type}`, name);
    t.is(typeof r.json.detail, 'string', name);
    t.truthy((r.json.messages as Json).vi && (r.json.messages as Json).en, name);
  }
  const unknownField = await call(t, 'POST', '/api/objects', { body: { title: 'Kiều', colour: 'đỏ' } });
  t.regex(JSON.stringify(unknownField.json.errors), /colour/);
  t.is(await head(t), before);
});

test.serial('an oversized body is refused with 413, declared or chunked', async (t) => {
  const before = await head(t);
  const big = JSON.stringify({ title: 'x'.repeat(2 * 1024 * 1024) });
  const declared = await call(t, 'POST', '/api/objects', { raw: big });
  t.is(declared.status, 413);
  t.is(declared.json.type, '/problems/body-too-large');
  const chunked = await new Promise<number>((resolve, reject) => {
    const url = new URL('/api/objects', t.context.server.url);
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.context.server.staffToken}`, 'transfer-encoding': 'chunked' },
    }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // Once the answer is in, the server closing the socket under our remaining writes is expected.
    req.on('error', (err) => reject(err));
    for (let i = 0; i < 40; i++) req.write('x'.repeat(64 * 1024));
    req.end();
  });
  t.is(chunked, 413);
  t.is(await head(t), before);
});

test.serial('unknown objects and routes are 404 problems, in English on request', async (t) => {
  const r = await call(t, 'GET', '/api/objects/khong-co', { token: null, headers: { 'accept-language': 'en' } });
  t.is(r.status, 404);
  t.is(r.json.detail, 'Object "khong-co" does not exist.');
  const vi = await call(t, 'GET', '/api/objects/khong-co', { token: null });
  t.regex(vi.json.detail as string, /Không tìm thấy/);
  const route = await call(t, 'GET', '/api/nowhere', { token: null });
  t.is(route.status, 404);
  t.is(route.json.type, '/problems/not-found');
});

test.serial('PATCH honours If-Match, skips no-op edits, and clears fields with null', async (t) => {
  const c = await call(t, 'POST', '/api/objects', { body: { title: 'Lục Vân Tiên', creator: 'Nguyễn Đình Chiểu', date: '1889' } });
  const id = c.json.id as string;
  const stale = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Lục Vân Tiên truyện' }, headers: { 'if-match': '"5"' } });
  // A failed If-Match is a failed precondition (RFC 9110 §13.1.1), with the record as it is now.
  t.is(stale.status, 412);
  t.is(stale.json.type, '/problems/revision-conflict');
  t.is(stale.json.currentRevision, 0);
  t.like(stale.json.current, { id, revision: 0, title: 'Lục Vân Tiên' });

  const ok = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Lục Vân Tiên truyện', creator: null }, headers: { 'if-match': '"0"' } });
  t.is(ok.status, 200);
  t.is(ok.json.revision, 1);
  t.is(ok.json.title, 'Lục Vân Tiên truyện');
  t.false('creator' in ok.json);
  t.is(ok.headers.get('etag'), '"1"');

  const before = await head(t);
  const noop = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Lục Vân Tiên truyện' }, headers: { 'if-match': '1' } });
  t.is(noop.status, 200);
  t.is(noop.json.revision, 1);
  t.is(await head(t), before);

  const date = await call(t, 'PATCH', `/api/objects/${id}`, { body: { date: 'thế kỷ XIX' }, headers: { 'if-match': '"1"' } });
  t.is(date.json.yearFrom, 1801);
  t.is(date.json.yearTo, 1900);

  const badMatch = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'x' }, headers: { 'if-match': 'abc' } });
  t.is(badMatch.status, 400);
  const missing = await call(t, 'PATCH', '/api/objects/khong-co', { body: { title: 'x' }, headers: { 'if-match': '"0"' } });
  t.is(missing.status, 404);
  const clearTitle = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: null }, headers: { 'if-match': '"2"' } });
  t.is(clearTitle.status, 400);

  // Without If-Match an edit could silently overwrite someone else's: 428, and nothing changes.
  const blind = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Mù' } });
  t.is(blind.status, 428);
  t.is(blind.json.type, '/problems/if-match-required');
  t.regex(String(blind.json.detail), /If-Match/);
  t.is((await call(t, 'GET', `/api/objects/${id}`)).json.title, 'Lục Vân Tiên truyện');
  const blindCollection = await call(t, 'PATCH', '/api/collections/khong-co', { body: { title: 'x' } });
  t.is(blindCollection.status, 428);
});

test.serial('of concurrent edits against one revision exactly one wins', async (t) => {
  const c = await call(t, 'POST', '/api/objects', { body: { title: 'Gia Định thành thông chí' } });
  const id = c.json.id as string;
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      call(t, 'PATCH', `/api/objects/${id}`, { body: { description: `bản ${i}` }, headers: { 'if-match': '"0"' } }),
    ),
  );
  t.is(results.filter((r) => r.status === 200).length, 1);
  const lost = results.filter((r) => r.status === 412);
  t.is(lost.length, 5);
  // The loser is told who won (the staff account here), not "someone else".
  for (const r of lost) {
    t.deepEqual(r.json.changedBy, { id: 'staff', role: 'curator' });
    t.is(r.json.change, 'MetadataEdited');
    t.is(r.json.currentRevision, 1);
  }
});

test.serial('confidential objects are invisible to the public, restricted ones show their record to everyone', async (t) => {
  const secret = await call(t, 'POST', '/api/objects', { body: { title: 'Hồ sơ mật', accessLevel: 'confidential' } });
  const restricted = await call(t, 'POST', '/api/objects', { body: { title: 'Địa bạ', accessLevel: 'restricted' } });
  const sid = secret.json.id as string;
  const rid = restricted.json.id as string;
  t.is((await call(t, 'GET', `/api/objects/${sid}`, { token: null })).status, 404);
  t.is((await call(t, 'GET', `/api/objects/${sid}`, { token: t.context.server.readerToken })).status, 404);
  t.is((await call(t, 'GET', `/api/objects/${sid}`)).status, 200);
  // The catalogue record of a restricted work is public (its images and files are not).
  t.is((await call(t, 'GET', `/api/objects/${rid}`, { token: null })).status, 200);
  t.is((await call(t, 'GET', `/api/objects/${rid}`, { token: t.context.server.readerToken })).status, 200);
  const publicList = await call(t, 'GET', '/api/objects?limit=200', { token: null });
  const ids = (publicList.json.items as Json[]).map((o) => o.id);
  t.false(ids.includes(sid));
  t.true(ids.includes(rid));
  const staffList = await call(t, 'GET', '/api/objects?limit=200');
  t.true((staffList.json.items as Json[]).some((o) => o.id === sid));

  const policy = await call(t, 'PATCH', `/api/objects/${sid}`, { body: { accessLevel: 'open' }, headers: { 'if-match': '"0"' } });
  t.is(policy.json.accessLevel, 'open');
  t.is((await call(t, 'GET', `/api/objects/${sid}`, { token: null })).status, 200);
});

test.serial('the event stream of an object carries a verifiable hash chain', async (t) => {
  const c = await call(t, 'POST', '/api/objects', { body: { title: 'Nam Phong tạp chí' } });
  const id = c.json.id as string;
  await call(t, 'PATCH', `/api/objects/${id}`, { body: { subject: 'Báo chí' }, headers: { 'if-match': '"0"' } });
  const r = await call(t, 'GET', `/api/objects/${id}/events`);
  t.is(r.status, 200);
  const events = r.json.events as Array<{ type: string; metadata: { prevHash: string; hash: string; actor: { id: string } } }>;
  t.deepEqual(events.map((e) => e.type), ['ObjectRegistered', 'MetadataEdited']);
  t.is(events[1]?.metadata.prevHash, events[0]?.metadata.hash);
  t.is(events[0]?.metadata.actor.id, 'staff');
  const chain = await verifyStreamChain(`object-${id}`, t.context.server.store.readStream(`object-${id}`));
  t.true(chain.ok);
  t.is((await call(t, 'GET', `/api/objects/${id}/events`, { token: null })).status, 401);
});

test.serial('a withdrawn object takes no more changes and is gone for the public', async (t) => {
  const c = await call(t, 'POST', '/api/objects', { body: { title: 'Bản trùng' } });
  const id = c.json.id as string;
  const w = await call(t, 'POST', `/api/objects/${id}/withdraw`, { body: { reason: 'Trùng với HN-0001' } });
  t.is(w.status, 200);
  t.is(w.json.status, 'withdrawn');
  const edit = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Sửa' }, headers: { 'if-match': '"1"' } });
  t.is(edit.status, 409);
  t.is(edit.json.type, '/problems/withdrawn');
  t.is((await call(t, 'GET', `/api/objects/${id}`, { token: null })).status, 410);
  t.is((await call(t, 'GET', `/api/objects/${id}`)).status, 200);
});

test.serial('collections: create, list, edit, and objects filtered by collection', async (t) => {
  const c = await call(t, 'POST', '/api/collections', { body: { id: 'dia-ba', title: 'Địa bạ triều Nguyễn' } });
  t.is(c.status, 201);
  const orphan = await call(t, 'POST', '/api/objects', { body: { title: 'Địa bạ', collectionId: 'dia-bạ-typo' } });
  t.is(orphan.status, 400);
  const typo = await call(t, 'POST', '/api/objects', { body: { title: 'Địa bạ', collectionId: 'dia-ba-typo' } });
  t.is(typo.status, 422);
  t.is(typo.json.type, '/problems/unknown-collection');
  const dup = await call(t, 'POST', '/api/collections', { body: { id: 'dia-ba', title: 'x' } });
  t.is(dup.status, 409);
  const o = await call(t, 'POST', '/api/objects', { body: { title: 'Địa bạ làng Phú Xuân', collectionId: 'dia-ba' } });
  t.is(o.status, 201);
  const list = await call(t, 'GET', '/api/objects?collectionId=dia-ba', { token: null });
  t.deepEqual((list.json.items as Json[]).map((x) => x.id), [o.json.id]);
  const edited = await call(t, 'PATCH', '/api/collections/dia-ba', { body: { description: 'Sổ ruộng đất' }, headers: { 'if-match': '"0"' } });
  t.is(edited.status, 200);
  t.is(edited.json.revision, 1);
  t.is((await call(t, 'GET', '/api/collections/khong-co', { token: null })).status, 404);
});

test.serial('pagination walks every object exactly once', async (t) => {
  t.is((await call(t, 'POST', '/api/collections', { body: { id: 'trang', title: 'Trang' } })).status, 201);
  for (let i = 0; i < 7; i++) await call(t, 'POST', '/api/objects', { body: { title: `Trang ${i}`, collectionId: 'trang' } });
  const seen: string[] = [];
  let next: string | null = '/api/objects?collectionId=trang&limit=3';
  while (next) {
    const page = await call(t, 'GET', next, { token: null });
    t.is(page.json.total, 7);
    seen.push(...(page.json.items as Json[]).map((x) => x.id as string));
    next = page.json.next as string | null;
  }
  t.is(seen.length, 7);
  t.is(new Set(seen).size, 7);
  t.is((await call(t, 'GET', '/api/objects?limit=0', { token: null })).status, 400);
});

test.serial('openapi.json describes the API from the same schemas', async (t) => {
  const r = await call(t, 'GET', '/api/openapi.json', { token: null });
  t.is(r.status, 200);
  t.is(r.json.openapi, '3.1.0');
  const paths = r.json.paths as Json;
  for (const p of [
    '/api/objects', '/api/objects/{id}', '/api/objects/{id}/events', '/api/objects/{id}/files', '/health',
    // The staff workspace's routes.
    '/api/objects/{id}/access', '/api/objects/{id}/page-labels', '/api/objects/{id}/structure', '/api/objects/{id}/history', '/api/objects/{id}/files/check',
    // Provenance, audit, IIIF and metrics.
    '/api/objects/{id}/provenance', '/api/audit/report', '/metrics', '/iiif/manifest/{objectId}', '/iiif/collection/{collectionId}',
    '/iiif/collection/{collectionId}/page/{n}', '/iiif/3/{imageId}', '/iiif/3/{imageId}/info.json', '/iiif/3/{imageId}/{region}/{size}/{rotation}/{qualityFormat}',
    '/iiif/text/{objectId}/{imageId}', '/iiif/search/{objectId}', '/iiif/ocr/{objectId}/{imageId}/{file}',
  ]) t.truthy(paths[p], p);
  const schemas = (r.json.components as Json).schemas as Json;
  t.deepEqual(((schemas.ChangeAccess as Json).required as string[]).sort(), ['accessLevel', 'reason']);
  t.true('reason' in ((schemas.EditObject as Json).properties as Json));
  const listParams = (((paths['/api/objects'] as Json).get as Json).parameters as Json[]).map((p) => p.name);
  for (const name of ['q', 'collectionId', 'status', 'accessLevel', 'hasOcr', 'fixity', 'limit', 'cursor']) t.true(listParams.includes(name), name);
  const create = ((r.json.components as Json).schemas as Json).CreateObject as Json;
  t.true((create.required as string[]).includes('title'));
  t.is(create.additionalProperties, false);
});

test.serial('metrics are Prometheus text', async (t) => {
  const res = await fetch(`${t.context.server.url}/metrics`);
  const text = await res.text();
  t.regex(text, /# TYPE thukho_http_requests_total counter/);
  t.regex(text, /thukho_projection_lag\{projection="objects"\} \d+/);
  t.regex(text, /thukho_description_pending \d+/);
});

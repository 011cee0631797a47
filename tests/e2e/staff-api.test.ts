import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { multiPageTiff, page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';

/**
 * The API the staff workspace is built on, over a real socket: edits with a reason and a
 * 412 that shows the current record, access changes with a required reason, idempotent
 * creation, list filters, the history with diffs, page labels and the table of contents (and
 * the manifest they make), per-file status, and the upload pre-check and early refusals.
 */
const test = testWithServer();

type Json = Record<string, unknown>;

async function call(
  t: { context: { server: TestServer } },
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
) {
  const s = t.context.server;
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? s.staffToken : options.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${s.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : undefined) as Json };
}

async function upload(t: { context: { server: TestServer } }, id: string, bytes: Buffer, name: string): Promise<Json> {
  const s = t.context.server;
  const res = await fetch(`${s.url}/api/objects/${id}/files?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Json;
}

const create = async (t: { context: { server: TestServer } }, body: Json) => {
  const r = await call(t, 'POST', '/api/objects', { body });
  if (r.status !== 201) throw new Error(JSON.stringify(r.json));
  return r.json.id as string;
};

test.serial('an edit keeps its reason; a stale If-Match is a 412 with the current record', async (t) => {
  const id = await create(t, { title: 'Hoàng Việt luật lệ' });
  const ok = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Hoàng Việt luật lệ (Gia Long)', reason: 'Theo bản khắc 1815' }, headers: { 'if-match': '"0"' } });
  t.is(ok.status, 200);
  const stale = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'Khác' }, headers: { 'if-match': '"0"' } });
  t.is(stale.status, 412);
  t.is(stale.json.type, '/problems/revision-conflict');
  t.like(stale.json.current, { id, revision: 1, title: 'Hoàng Việt luật lệ (Gia Long)' });
  t.like(stale.json.changedBy, { id: 'staff' });
  t.truthy((stale.json.messages as Json).vi);
  const events = await call(t, 'GET', `/api/objects/${id}/events`);
  t.is(((events.json.events as Json[])[1]?.data as Json).reason, 'Theo bản khắc 1815');
  const tooLong = await call(t, 'PATCH', `/api/objects/${id}`, { body: { title: 'x', reason: 'x'.repeat(2001) }, headers: { 'if-match': '"1"' } });
  t.is(tooLong.status, 400);
});

test.serial('PUT access needs a reason, honours If-Match, and shows in the history with its reason', async (t) => {
  const id = await create(t, { title: 'Địa bạ Bình Định' });
  const noReason = await call(t, 'PUT', `/api/objects/${id}/access`, { body: { accessLevel: 'restricted' } });
  t.is(noReason.status, 400);
  const blank = await call(t, 'PUT', `/api/objects/${id}/access`, { body: { accessLevel: 'restricted', reason: '   ' } });
  t.is(blank.status, 400);
  const reader = await call(t, 'PUT', `/api/objects/${id}/access`, { body: { accessLevel: 'restricted', reason: 'x' }, token: t.context.server.readerToken });
  t.is(reader.status, 403);
  const ok = await call(t, 'PUT', `/api/objects/${id}/access`, { body: { accessLevel: 'restricted', reason: 'Có thông tin cá nhân' } });
  t.is(ok.status, 200);
  t.is(ok.json.accessLevel, 'restricted');
  t.is(ok.headers.get('etag'), '"1"');
  const stale = await call(t, 'PUT', `/api/objects/${id}/access`, { body: { accessLevel: 'open', reason: 'x' }, headers: { 'if-match': '"0"' } });
  t.is(stale.status, 412);

  await call(t, 'PATCH', `/api/objects/${id}`, { body: { creator: 'Bộ Hộ', reason: 'Bổ sung tác giả' }, headers: { 'if-match': '"1"' } });
  const h = await call(t, 'GET', `/api/objects/${id}/history`);
  t.is(h.status, 200);
  t.is(h.json.objectId, id);
  const events = h.json.events as Json[];
  t.deepEqual(events.map((e) => e.type), ['ObjectRegistered', 'AccessPolicyChanged', 'MetadataEdited']);
  t.like(events[1], { revision: 1, reason: 'Có thông tin cá nhân', actor: { id: 'staff', role: 'curator' }, changes: [{ field: 'accessLevel', before: 'open', after: 'restricted' }] });
  t.like(events[2], { reason: 'Bổ sung tác giả', changes: [{ field: 'creator', before: null, after: 'Bộ Hộ' }] });
  t.regex(String(events[0]?.at), /^\d{4}-\d{2}-\d{2}T/);
  t.is((await call(t, 'GET', `/api/objects/${id}/history`, { token: t.context.server.readerToken })).status, 403);
  t.is((await call(t, 'GET', '/api/objects/khong-co/history')).status, 404);
});

test.serial('Idempotency-Key: the same key from the same actor creates one object, also when the requests race', async (t) => {
  const key = `tao-${Date.now()}`;
  const headers = { 'idempotency-key': key };
  const first = await call(t, 'POST', '/api/objects', { body: { title: 'Nam quốc sơn hà' }, headers });
  t.is(first.status, 201);
  const again = await call(t, 'POST', '/api/objects', { body: { title: 'Nam quốc sơn hà' }, headers });
  t.is(again.status, 200);
  t.is(again.headers.get('idempotent-replay'), 'true');
  t.is(again.headers.get('location'), first.headers.get('location'));
  t.is(again.json.id, first.json.id);

  // A double click: both at once.
  const raced = await Promise.all([0, 1, 2].map(() => call(t, 'POST', '/api/objects', { body: { title: 'Bình Ngô đại cáo' }, headers: { 'idempotency-key': `${key}-2` } })));
  t.deepEqual(raced.map((r) => r.status).sort(), [200, 200, 201]);
  t.is(new Set(raced.map((r) => r.json.id)).size, 1);
  const list = await call(t, 'GET', `/api/objects?q=${encodeURIComponent('binh ngo dai cao')}`);
  t.is(list.json.total, 1);

  // Another actor's same key is another request; a key that is not a token is refused.
  const other = await call(t, 'POST', '/api/objects', { body: { title: 'Nam quốc sơn hà' }, headers, token: null });
  t.is(other.status, 401);
  t.is((await call(t, 'POST', '/api/objects', { body: { title: 'x' }, headers: { 'idempotency-key': 'has a space' } })).status, 400);
  // Without a key, the same body twice is two objects.
  const a = await call(t, 'POST', '/api/objects', { body: { title: 'Trùng' } });
  const b = await call(t, 'POST', '/api/objects', { body: { title: 'Trùng' } });
  t.not(a.json.id, b.json.id);
});

test.serial('page labels from a pattern and one by one; a table of contents; the manifest shows both', async (t) => {
  const id = await create(t, { title: 'Truyện Kiều', language: ['vie'] });
  const a = await upload(t, id, await page('một'), 'p1.tif');
  const b = await upload(t, id, await multiPageTiff(300, 400, [{ r: 200, g: 10, b: 10 }, { r: 10, g: 200, b: 10 }]), 'p2.tif');
  const fa = a.fileId as string;
  const fb = b.fileId as string;

  const gen = await call(t, 'PUT', `/api/objects/${id}/page-labels`, { body: { pattern: 'tờ {f}' } });
  t.is(gen.status, 200, JSON.stringify(gen.json));
  t.deepEqual(gen.json.pages, [
    { fileId: fa, imageId: fa, label: 'tờ 1a' },
    { fileId: fb, imageId: fb, label: 'tờ 1b' },
    { fileId: fb, page: 2, imageId: `${fb}~p2`, label: 'tờ 2a' },
  ]);
  const one = await call(t, 'PUT', `/api/objects/${id}/page-labels`, { body: { labels: [{ fileId: fa, label: 'Bìa' }] }, headers: { 'if-match': `"${gen.json.revision}"` } });
  t.is(one.status, 200);
  t.is((one.json.pages as Json[])[0]?.label, 'Bìa');
  const bad = await call(t, 'PUT', `/api/objects/${id}/page-labels`, { body: { labels: [{ fileId: fb, page: 9, label: 'x' }] } });
  t.is(bad.status, 422);
  t.regex(String((bad.json.messages as Json).vi), /không có trang/);
  t.is((await call(t, 'PUT', `/api/objects/${id}/page-labels`, { body: { pattern: 'tờ {x}' } })).status, 422);
  t.is((await call(t, 'PUT', `/api/objects/${id}/page-labels`, { body: { pattern: '{n}', labels: [] } })).status, 400);

  const toc = await call(t, 'PUT', `/api/objects/${id}/structure`, { body: { ranges: [{ label: 'Mở đầu', fileId: fa }, { label: 'Hồi 1', fileId: fb }] } });
  t.is(toc.status, 200, JSON.stringify(toc.json));
  t.deepEqual(toc.json.structure, [{ label: 'Mở đầu', fileId: fa }, { label: 'Hồi 1', fileId: fb }]);
  const reversed = await call(t, 'PUT', `/api/objects/${id}/structure`, { body: { ranges: [{ label: 'B', fileId: fb }, { label: 'A', fileId: fa }] } });
  t.is(reversed.status, 422);
  t.is(reversed.json.type, '/problems/invalid-order');

  // Page 1 of each file has its canvas now; page 2 once its derivative is made (not awaited here).
  const manifest = (await (await fetch(`${t.context.server.url}/iiif/manifest/${id}`)).json()) as Json;
  t.deepEqual(validatePresentation3(manifest), []);
  const canvases = manifest.items as Json[];
  t.deepEqual(canvases.slice(0, 2).map((c) => c.label), [{ vi: ['Bìa'] }, { vi: ['tờ 1b'] }]);
  const structures = manifest.structures as Json[];
  t.is(structures.length, 2);
  t.like(structures[0], { type: 'Range', label: { vi: ['Mở đầu'] }, items: [{ id: canvases[0]?.id, type: 'Canvas' }] });
  t.like(structures[1], { type: 'Range', label: { vi: ['Hồi 1'] } });
  t.is((structures[1]?.items as Json[])[0]?.id, canvases[1]?.id);

  const history = await call(t, 'GET', `/api/objects/${id}/history`);
  const types = (history.json.events as Json[]).map((e) => e.type);
  t.deepEqual(types, ['ObjectRegistered', 'PageLabelsSet', 'PageLabelsSet', 'StructureSet']);
  t.like((history.json.events as Json[])[2], { changes: [{ field: `pages.${fa}.label`, before: 'tờ 1a', after: 'Bìa' }] });
  // The new events keep the stream's hash chain and show in provenance.
  const prov = await call(t, 'GET', `/api/objects/${id}/provenance`);
  t.is(prov.status, 200);
  t.true(JSON.stringify(prov.json).includes('tờ {f}'));
});

test.serial('staff see each file\'s ingest status and the work\'s fixity; readers see neither', async (t) => {
  const id = await create(t, { title: 'Ô châu cận lục' });
  const f = await upload(t, id, await page('ô châu'), 'p1.tif');
  const staff = await call(t, 'GET', `/api/objects/${id}`);
  const file = (staff.json.files as Json[])[0] as Json;
  t.like(file, { fileId: f.fileId, status: { stored: true, replicated: 0, replicas: 0 } });
  t.true(['done', 'pending', 'failed'].includes(String((file.status as Json).derivative)));
  t.true(['done', 'pending', 'failed', 'none'].includes(String((file.status as Json).ocr)));
  t.true(['passed', 'failed', 'repaired', 'damaged', 'overdue', 'unchecked'].includes(String(staff.json.fixity)));
  t.is(staff.json.pageCount, 1);
  const pub = await call(t, 'GET', `/api/objects/${id}`, { token: null });
  t.false('status' in ((pub.json.files as Json[])[0] as Json));
  t.false('fixity' in pub.json);
});

test.serial('list filters: text without diacritics, status, access level, OCR, fixity; items carry pageCount, hasOcr, fixity', async (t) => {
  const tag = `loc${Date.now().toString(36)}`;
  const open = await create(t, { title: `Lĩnh Nam chích quái ${tag}` });
  const secret = await create(t, { title: `Lĩnh Nam chích quái mật ${tag}`, accessLevel: 'confidential' });
  const gone = await create(t, { title: `Lĩnh Nam bản trùng ${tag}` });
  await call(t, 'POST', `/api/objects/${gone}/withdraw`, { body: { reason: 'Trùng' } });
  // Folded: "linh nam chich" finds "Lĩnh Nam chích", typed in capitals too.
  for (const q of ['linh nam chich', 'LĨNH NAM CHÍCH']) {
    const r = await call(t, 'GET', `/api/objects?q=${encodeURIComponent(q)}`);
    t.true((r.json.items as Json[]).some((o) => o.id === open), q);
  }
  const tagged = async (query: string, token?: string | null) => {
    const res = await call(t, 'GET', `/api/objects?q=${tag}&${query}`, token === undefined ? {} : { token });
    t.is(res.status, 200, JSON.stringify(res.json));
    return (res.json.items as Json[]).map((o) => o.id).sort();
  };
  t.deepEqual(await tagged(''), [open, secret].sort());
  t.deepEqual(await tagged('status=all'), [open, secret, gone].sort());
  t.deepEqual(await tagged('status=withdrawn'), [gone]);
  t.deepEqual(await tagged('accessLevel=confidential'), [secret]);
  t.deepEqual(await tagged('hasOcr=false'), [open, secret].sort());
  t.deepEqual(await tagged('hasOcr=true'), []);
  t.deepEqual(await tagged('fixity=unchecked'), [open, secret].sort());
  t.deepEqual(await tagged('fixity=damaged'), []);
  // The public: neither confidential nor withdrawn works, and no fixity.
  t.deepEqual(await tagged('status=all', null), [open]);
  t.is((await call(t, 'GET', `/api/objects?fixity=passed`, { token: null })).status, 401);
  t.is((await call(t, 'GET', '/api/objects?fixity=maybe')).status, 400);
  const list = await call(t, 'GET', `/api/objects?q=${tag}&limit=1`);
  const item = (list.json.items as Json[])[0] as Json;
  t.like(item, { pageCount: 0, hasOcr: false, fixity: 'unchecked' });
  t.regex(String(list.json.next), new RegExp(`q=${tag}`));
});

test.serial('upload pre-check: format by extension, size, and files already stored by digest', async (t) => {
  const id = await create(t, { title: 'Kiểm tra trước' });
  const bytes = await page('đã có');
  const stored = await upload(t, id, bytes, 'co-roi.tif');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const zero = '0'.repeat(64);
  const r = await call(t, 'POST', `/api/objects/${id}/files/check`, {
    body: { files: [{ name: 'moi.tif', size: 1000, sha256: zero }, { name: 'ghi-chu.docx', size: 10, sha256: zero }, { name: 'to.tif', size: 1e15, sha256: zero }, { name: 'lai.tif', size: bytes.length, sha256 }] },
    headers: { 'accept-language': 'en' },
  });
  t.is(r.status, 200, JSON.stringify(r.json));
  const files = r.json.files as Json[];
  t.like(files[0], { name: 'moi.tif', accepted: true, duplicate: false });
  t.like(files[1], { accepted: false, duplicate: false, code: 'unsupported-format' });
  t.regex(String(files[1]?.reason), /accepted format/);
  t.truthy((files[1]?.messages as Json).vi);
  t.like(files[2], { accepted: false, code: 'file-too-large' });
  t.like(files[3], { accepted: true, duplicate: true, fileId: stored.fileId });
  t.is((await call(t, 'POST', `/api/objects/${id}/files/check`, { body: { files: [] } })).status, 400);
  t.is((await call(t, 'POST', `/api/objects/${id}/files/check`, { body: { files: [{ name: 'a.tif', size: 1, sha256: zero }] }, token: t.context.server.readerToken })).status, 403);
});

test.serial('an upload of an unsupported name or over the size limit is refused from its headers, before the body is sent', async (t) => {
  const id = await create(t, { title: 'Từ chối sớm' });
  const url = new URL(`${t.context.server.url}/api/objects/${id}/files`);
  // Headers only, no body: an answer proves the server did not wait for the bytes.
  const headersOnly = (query: string, length: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(new URL(`${url.pathname}?${query}`, url), {
        method: 'POST',
        headers: { authorization: `Bearer ${t.context.server.staffToken}`, 'content-type': 'application/octet-stream', 'content-length': String(length) },
      }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  const unsupported = await headersOnly('name=ghi-chu.docx', 100);
  t.is(unsupported.status, 415);
  t.is(JSON.parse(unsupported.body).type, '/problems/unsupported-format');
  const huge = await headersOnly('name=to.tif', 1e13);
  t.is(huge.status, 413);
  t.is(JSON.parse(huge.body).type, '/problems/file-too-large');
});

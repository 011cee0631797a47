import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import { poll } from '../helpers/api.ts';
import { page, pngBombHeader } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

const test = testWithServer();

type Json = Record<string, unknown>;
type Ctx = { context: { server: TestServer } };

async function createObject(t: Ctx, title: string): Promise<string> {
  const s = t.context.server;
  const res = await fetch(`${s.url}/api/objects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  return ((await res.json()) as Json).id as string;
}

async function uploadRaw(t: Ctx, objectId: string, body: Buffer, name: string, headers: Record<string, string> = {}, query = '') {
  const s = t.context.server;
  const res = await fetch(`${s.url}/api/objects/${objectId}/files?name=${encodeURIComponent(name)}${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream', ...headers },
    body: new Uint8Array(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}

const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest();
const eventCount = async (t: Ctx, objectId: string) => {
  let n = 0;
  for await (const _ of t.context.server.store.readStream(`object-${objectId}`)) n++;
  return n;
};
const stagingLeft = async (t: Ctx) => {
  const root = join(t.context.server.dataDir, 'staging');
  let n = 0;
  for (const d of await readdir(root)) n += (await readdir(join(root, d))).length;
  return n;
};

test.serial('a raw upload streams into OCFL and FileIngested records its facts', async (t) => {
  const id = await createObject(t, 'Truyện Kiều');
  const tiff = await page('Trăm năm trong cõi người ta', { width: 640, height: 480 });
  const r = await uploadRaw(t, id, tiff, 'trang_001.tif', {
    'content-digest': `sha-256=:${sha('sha256', tiff).toString('base64')}:`,
  });
  t.is(r.status, 201, JSON.stringify(r.json));
  t.is(r.json.mediaType, 'image/tiff');
  t.is(r.json.size, tiff.length);
  t.deepEqual(r.json.image && { w: (r.json.image as Json).width, h: (r.json.image as Json).height }, { w: 640, h: 480 });
  t.is((r.json.digests as Json).sha512, sha('sha512', tiff).toString('hex'));
  // v1 is the work's own description, written when it was registered; the file is v2.
  t.is((r.json.storage as Json).version, 'v2');
  const fileId = r.json.fileId as string;
  t.is(r.headers.get('location'), `/api/objects/${id}/files/${fileId}`);

  const content = await fetch(`${t.context.server.url}/api/objects/${id}/files/${fileId}/content`);
  t.is(content.status, 200);
  t.deepEqual(Buffer.from(await content.arrayBuffer()), tiff);
  t.regex(content.headers.get('repr-digest') ?? '', /sha-512=:/);

  const object = (await (await fetch(`${t.context.server.url}/api/objects/${id}`)).json()) as Json;
  t.is((object.files as Json[]).length, 1);
});

test.serial('multipart uploads work as browsers send them, and the same bytes twice are stored once', async (t) => {
  const id = await createObject(t, 'Lục Vân Tiên');
  const jpeg = await page('Trước đèn xem chuyện Tây Minh', { format: 'jpeg' });
  const send = async () => {
    const form = new FormData();
    form.append('role', 'access');
    form.append('file', new Blob([new Uint8Array(jpeg)], { type: 'image/jpeg' }), 'trang 1.jpg');
    const res = await fetch(`${t.context.server.url}/api/objects/${id}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.context.server.staffToken}` },
      body: form,
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const first = await send();
  t.is(first.status, 201, JSON.stringify(first.json));
  t.is(first.json.role, 'access');
  t.is(first.json.name, 'trang 1.jpg');
  const events = await eventCount(t, id);
  const again = await send();
  t.is(again.status, 200);
  t.true(again.json.duplicate as boolean);
  t.is(again.json.fileId, first.json.fileId);
  t.is(await eventCount(t, id), events);
});

test.serial('pages can be placed with ?sequence=', async (t) => {
  const id = await createObject(t, 'Đại Nam thực lục');
  const p2 = await uploadRaw(t, id, await page('trang hai'), 'p2.tif');
  const p1 = await uploadRaw(t, id, await page('trang một'), 'p1.tif', {}, '&sequence=1');
  t.is(p1.status, 201);
  const object = (await (await fetch(`${t.context.server.url}/api/objects/${id}`)).json()) as Json;
  t.deepEqual((object.files as Json[]).map((f) => f.fileId), [p1.json.fileId, p2.json.fileId]);
});

test.serial('bad uploads are refused with a reason and leave nothing behind', async (t) => {
  const id = await createObject(t, 'Hỏng');
  const good = await page('tốt');
  const before = await eventCount(t, id);
  const cases: Array<[string, Buffer, string, Record<string, string>, number, string]> = [
    ['wrong digest', good, 'a.tif', { 'content-digest': `sha-256=:${sha('sha256', Buffer.from('khác')).toString('base64')}:` }, 400, 'digest-mismatch'],
    ['unknown format', Buffer.from('chỉ là văn bản'), 'a.tif', {}, 422, 'unknown-format'],
    ['a name of no accepted format, refused before the body', Buffer.from('chỉ là văn bản'), 'a.txt', {}, 415, 'unsupported-format'],
    ['zero bytes', Buffer.alloc(0), 'a.tif', {}, 422, 'empty-file'],
    ['PDF that is HTML', Buffer.from('<!DOCTYPE html><html><body>%PDF-1.4</body></html>'), 'a.pdf', {}, 422, 'unknown-format'],
    ['decompression bomb', pngBombHeader(100_000, 100_000), 'bomb.png', {}, 422, 'too-many-pixels'],
    ['control characters in the name', good, 'a\u0001b.tif', {}, 400, ''],
    ['300 characters of Vietnamese', good, `${'Nguyễn '.repeat(43)}.tif`, {}, 400, ''],
  ];
  for (const [name, body, fileName, headers, status, type] of cases) {
    const r = await uploadRaw(t, id, body, fileName, headers);
    t.is(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
    if (type) t.is(r.json.type, `/problems/${type}`, name);
    t.truthy((r.json.messages as Json | undefined)?.vi, name);
  }
  t.is(await eventCount(t, id), before);
  t.is(await stagingLeft(t), 0);
  const ok = await uploadRaw(t, id, good, '../../etc/trang.tif');
  t.is(ok.status, 201);
  t.is(ok.json.name, 'trang.tif');
});

test.serial('a truncated upload or a client that disconnects stores nothing; the next upload works', async (t) => {
  const id = await createObject(t, 'Đứt kết nối');
  const tiff = await page('đứt', { width: 800, height: 600 });
  const url = new URL(t.context.server.url);
  const sendPartial = (declared: number, sent: number) =>
    new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `POST /api/objects/${id}/files?name=cut.tif HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${t.context.server.staffToken}\r\nContent-Type: image/tiff\r\nContent-Length: ${declared}\r\n\r\n`,
        );
        socket.write(tiff.subarray(0, sent), () => setTimeout(() => socket.destroy(), 100));
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
  const before = await eventCount(t, id);
  await sendPartial(tiff.length, Math.floor(tiff.length / 2));
  await sendPartial(tiff.length * 10, tiff.length);
  // The server notices the cut connections in its own time (slower on a busy machine): wait for
  // the staging area to be cleaned, then check that nothing was recorded.
  await poll('the staging area cleaned after the cut uploads', 60_000, async () => ((await stagingLeft(t)) === 0 ? true : undefined));
  t.is(await eventCount(t, id), before);
  t.is(await stagingLeft(t), 0);
  const ok = await uploadRaw(t, id, tiff, 'cut.tif');
  t.is(ok.status, 201);
});

test.serial('uploads to unknown or withdrawn objects are refused', async (t) => {
  const good = await page('x');
  t.is((await uploadRaw(t, 'khong-co', good, 'a.tif')).status, 404);
  const id = await createObject(t, 'Rút');
  await fetch(`${t.context.server.url}/api/objects/${id}/withdraw`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.context.server.staffToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'trùng' }),
  });
  t.is((await uploadRaw(t, id, good, 'a.tif')).status, 409);
  const anon = await fetch(`${t.context.server.url}/api/objects/${id}/files?name=a.tif`, { method: 'POST', body: new Uint8Array(good) });
  t.is(anon.status, 401);
});

test.serial('the OCFL storage root validates after all of the above', async (t) => {
  // No description version half-written while the validator walks the root.
  await t.context.server.describeNow();
  const issues = await validateStorageRoot(join(t.context.server.dataDir, 'ocfl'));
  t.deepEqual(issues, []);
});

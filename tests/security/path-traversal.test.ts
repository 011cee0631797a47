import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { capturedLog } from '../helpers/captured-log.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';

/**
 * Path traversal in every id of every route: `..` raw, percent-encoded (%2e%2e, %2f, double
 * encoded), with backslashes, NUL bytes and overlong UTF-8 (%c0%ae, %c0%af). Sent as raw
 * request lines (fetch would resolve `..` before sending). Each is a 4xx, never a 200 with
 * something else's bytes and never a 500; no answer holds /etc/passwd, the read model's
 * bytes, or a canary file put in the data directory; an upload named with a path lands
 * nowhere but the store.
 */
const test = anyTest as TestFn<{ server: TestServer }>;
const { logger, lines } = capturedLog('warn');

test.before(async (t) => {
  t.context.server = await startTestServer({}, logger);
});
test.after.always(async (t) => {
  await t.context.server?.close();
});

const CANARY = `canary-${randomBytes(8).toString('hex')}`;
const PAYLOADS = [
  '..',
  '.',
  '../../../../etc/passwd',
  '..%2f..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  '%2e%2e%2f%2e%2e%2fcanary.txt',
  '%252e%252e%252fcanary.txt',
  '..%5c..%5c..%5cetc%5cpasswd',
  '..\\..\\canary.txt',
  '%00',
  'a%00.json',
  '..%00',
  '%c0%ae%c0%ae%c0%afcanary.txt',
  '..%c0%af..%c0%afetc%c0%afpasswd',
  '%e0%80%ae%e0%80%ae',
  '....%2f%2fcanary.txt',
  '%2fetc%2fpasswd',
  'readmodel.sqlite',
  '..%2freadmodel.sqlite',
];

interface Raw {
  status: number;
  body: Buffer;
}

function rawGet(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

let work: { id: string; fileId: string; collectionId: string };
let font: string | undefined;
let asset: string | undefined;

test.serial.before(async (t) => {
  const s = t.context.server;
  writeFileSync(join(s.dataDir, 'canary.txt'), CANARY);
  writeFileSync(join(dirname(s.dataDir), `${CANARY}.txt`), CANARY);
  const collectionId = 'duong-dan';
  await staffCall(s, 'POST', '/api/collections', { id: collectionId, title: 'Đường dẫn' });
  const id = (await staffCall(s, 'POST', '/api/objects', { title: 'Thử đường dẫn 𡨸', accessLevel: 'open', collectionId })).id as string;
  const fileId = (await uploadFile(s, id, await page('Đường — 塘'), 'trang_1.tif')).fileId as string;
  await poll('the manifest', 30_000, async () => ((await fetch(`${s.url}/iiif/manifest/${id}`)).status === 200 ? true : undefined));
  work = { id, fileId, collectionId };
  // A real font subset and viewer file name, when this machine has them, so their routes are tried with valid neighbours.
  const objectPage = await (await fetch(`${s.url}/objects/${id}`)).text();
  font = /\/fonts\/nom\/([A-Za-z0-9_-]{22}\.woff2)/.exec(objectPage)?.[1];
  asset = /\/assets\/([^"?]+)/.exec(objectPage)?.[1];
});

/** Each route with `{}` where the payload goes; every other segment valid. */
function slots(): string[] {
  const { id, fileId, collectionId } = work;
  return [
    '/api/objects/{}',
    '/api/objects/{}/events',
    '/api/objects/{}/provenance',
    `/api/objects/{}/files/${fileId}`,
    `/api/objects/${id}/files/{}`,
    `/api/objects/${id}/files/{}/content`,
    `/api/objects/{}/files/${fileId}/content`,
    '/api/collections/{}',
    '/iiif/3/{}',
    '/iiif/3/{}/info.json',
    '/iiif/3/{}/full/max/0/default.jpg',
    `/iiif/3/${fileId}/{}/max/0/default.jpg`,
    `/iiif/3/${fileId}/full/{}/0/default.jpg`,
    `/iiif/3/${fileId}/full/max/{}/default.jpg`,
    `/iiif/3/${fileId}/full/max/0/{}`,
    '/iiif/manifest/{}',
    '/iiif/collection/{}',
    `/iiif/collection/${collectionId}/page/{}`,
    '/iiif/collection/{}/page/1',
    `/iiif/text/{}/${fileId}`,
    `/iiif/text/${id}/{}`,
    '/iiif/search/{}?q=a',
    `/iiif/ocr/{}/${fileId}/alto.xml`,
    `/iiif/ocr/${id}/{}/alto.xml`,
    `/iiif/ocr/${id}/${fileId}/{}`,
    '/objects/{}',
    '/collections/{}',
    '/assets/{}',
    '/fonts/nom/{}',
    ...(font ? [`/fonts/nom/{}?c=${font}`] : []),
  ];
}

test.serial('every id of every route: 4xx for each traversal payload, nothing of the disk in any answer', async (t) => {
  const s = t.context.server;
  const passwd = (() => {
    try {
      return readFileSync('/etc/passwd', 'utf8').split('\n')[0] ?? 'root:x:0:0';
    } catch {
      return 'root:x:0:0';
    }
  })();
  const from = lines.length;
  let requests = 0;
  for (const slot of slots()) {
    for (const payload of PAYLOADS) {
      const path = slot.replace('{}', payload);
      for (const headers of [{}, { authorization: `Bearer ${s.staffToken}` }] as Array<Record<string, string>>) {
        const r = await rawGet(s, path, headers);
        requests++;
        const who = `${path}${'authorization' in headers ? ' (staff)' : ''}`;
        t.true(r.status >= 400 && r.status < 500, `${who}: ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
        const text = r.body.toString('latin1');
        t.false(text.includes(CANARY), `${who}: the canary`);
        t.false(text.includes(passwd), `${who}: /etc/passwd`);
        t.false(text.includes('SQLite format 3'), `${who}: a database file`);
      }
    }
  }
  t.log(`${requests} requests`);
  t.deepEqual(lines.slice(from).filter((l) => (l.level as number) >= 50), [], 'no error-level log line');
});

test.serial('the same valid neighbours do answer 200 (the slots above are real routes)', async (t) => {
  const s = t.context.server;
  for (const path of [
    `/api/objects/${work.id}`,
    `/api/objects/${work.id}/files/${work.fileId}`,
    `/api/collections/${work.collectionId}`,
    `/iiif/3/${work.fileId}/info.json`,
    `/iiif/3/${work.fileId}/full/max/0/default.jpg`,
    `/iiif/manifest/${work.id}`,
    `/iiif/collection/${work.collectionId}`,
    `/objects/${work.id}`,
    `/collections/${work.collectionId}`,
    ...(asset ? [`/assets/${asset}`] : []),
  ]) {
    t.is((await rawGet(s, path, { authorization: `Bearer ${s.staffToken}` })).status, 200, path);
  }
});

test.serial('an upload named with a path: refused or kept as a bare name; no file appears outside the store', async (t) => {
  const s = t.context.server;
  const parent = dirname(s.dataDir);
  const before = new Set(readdirSync(parent));
  const inData = new Set(readdirSync(s.dataDir));
  const names = ['../../evil.tif', '..\\..\\evil.tif', '/tmp/evil.tif', 'a/../../evil.tif', '%2e%2e%2fevil.tif', 'evil\u0000.tif', '..'];
  for (const [i, name] of names.entries()) {
    // Different bytes each time: the same bytes again would be answered as a duplicate.
    const bytes = await page(`Tên tệp ${i}`);
    const res = await fetch(`${s.url}/api/objects/${work.id}/files?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    const body = (await res.json()) as Json;
    t.true(res.status === 400 || res.status === 201, `${JSON.stringify(name)}: ${res.status} ${JSON.stringify(body)}`);
    // A name that is taken as a plain file name is kept as a name, never as a place.
    if (res.status === 201) t.false(String(body.name).includes('/') || String(body.name).includes('\\'), JSON.stringify(body));
  }
  t.deepEqual(readdirSync(parent).filter((e) => !before.has(e) && e.startsWith('evil')), []);
  t.deepEqual(readdirSync(s.dataDir).filter((e) => !inData.has(e)), []);
});

import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { page } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * An open work made confidential, and at once the same requests again: info.json, a pre-cut
 * size, a rendered region, the thumbnail, the manifest, the download. None of the server's
 * own caches (the image lookup, the response caches in memory and on disk, the manifest
 * read model) may keep answering the public, and a conditional request with the ETag the
 * public already holds must not get a 304 (which would tell a browser to keep showing its
 * copy). Staff still read it. (What shared caches outside the server may keep is the
 * Cache-Control the access decision gives open images.)
 */
const test = testWithServer();

let work: { id: string; fileId: string };

test.serial.before(async (t) => {
  const s = t.context.server;
  const id = (await staffCall(s, 'POST', '/api/objects', { title: 'Sắp thành mật', accessLevel: 'open' })).id as string;
  const fileId = (await uploadFile(s, id, await page('Sắp mật — 密', { width: 800, height: 1000 }), 'trang_1.tif')).fileId as string;
  await poll('the manifest', 30_000, async () => ((await fetch(`${s.url}/iiif/manifest/${id}`)).status === 200 ? true : undefined));
  work = { id, fileId };
});

const paths = () => [
  `/iiif/3/${work.fileId}/info.json`,
  `/iiif/3/${work.fileId}/full/max/0/default.jpg`,
  `/iiif/3/${work.fileId}/100,100,300,300/150,/0/default.jpg`,
  `/iiif/3/${work.fileId}/full/!200,200/0/default.jpg`,
  `/iiif/manifest/${work.id}`,
  `/api/objects/${work.id}/files/${work.fileId}/content`,
  `/objects/${work.id}`,
];

async function get(s: TestServer, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}${path}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, etag: res.headers.get('etag'), body };
}

test.serial('open → confidential: the very next requests, plain and conditional, are refused to everyone but staff', async (t) => {
  const s = t.context.server;
  const reader = { authorization: `Bearer ${s.readerToken}` };
  // Everything fetched once while open, so every cache of the server holds it.
  const etags = new Map<string, string | null>();
  for (const path of paths()) {
    for (let i = 0; i < 2; i++) {
      const r = await get(s, path, reader);
      t.is(r.status, 200, `${path} while open`);
      etags.set(path, r.etag);
    }
  }
  const before = await staffCall(s, 'GET', `/api/objects/${work.id}`);
  const patched = await fetch(`${s.url}/api/objects/${work.id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': `"${before.revision as number}"` },
    body: JSON.stringify({ accessLevel: 'confidential' }),
  });
  t.is(patched.status, 200, await patched.text());

  for (const path of paths()) {
    for (const [who, headers] of [['anonymous', {}], ['reader', reader]] as const) {
      const plain = await get(s, path, headers);
      t.is(plain.status, 404, `${who} ${path}`);
      const etag = etags.get(path);
      if (etag) {
        const conditional = await get(s, path, { ...headers, 'if-none-match': etag });
        t.is(conditional.status, 404, `${who} ${path} with its old ETag`);
      }
    }
    const staff = await get(s, path, { authorization: `Bearer ${s.staffToken}` });
    t.is(staff.status, 200, `staff ${path}`);
  }
  // And its id is in no public list.
  const list = (await (await fetch(`${s.url}/api/objects?limit=100`)).json()) as Json;
  t.false((list.items as Json[]).some((o) => o.id === work.id));
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { workIdFor } from '../../src/application/harvest.ts';
import { loadObject } from '../../src/application/object-commands.ts';
import { show, thukho } from '../helpers/cli.ts';
import { withEventLog } from '../helpers/events.ts';
import { page } from '../helpers/images.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * A harvested record that links a IIIF manifest (no bitstreams) brings the manifest's pages;
 * a page image that 404s refuses that record only, with the URL and the reason, and leaves
 * nothing of it; the run goes on; once the image is back, the next run takes the record and
 * fetches nothing it already has. One local server plays the OAI provider, the manifests and
 * the images.
 */
const newDir = tempDirs(test, 'thukho-harvest-iiif-');
const ID = (n: string) => `oai:kho.example.vn:${n}`;

function record(base: string, n: string, title: string): string {
  return `<record><header><identifier>${ID(n)}</identifier><datestamp>2026-11-01T00:00:00Z</datestamp></header><metadata>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>${title}</dc:title><dc:identifier>${base}/items/${n}</dc:identifier><dc:relation>${base}/iiif/${n}/manifest</dc:relation>
</oai_dc:dc></metadata></record>`;
}

function manifest(base: string, n: string, images: string[]): unknown {
  return {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: `${base}/iiif/${n}/manifest`,
    type: 'Manifest',
    label: { vi: [`Tài liệu ${n}`] },
    items: images.map((img, i) => ({
      id: `${base}/iiif/${n}/canvas/${i + 1}`,
      type: 'Canvas',
      width: 400,
      height: 300,
      items: [{ id: `${base}/iiif/${n}/page/${i + 1}`, type: 'AnnotationPage', items: [{
        id: `${base}/iiif/${n}/anno/${i + 1}`, type: 'Annotation', motivation: 'painting', target: `${base}/iiif/${n}/canvas/${i + 1}`,
        body: { id: `${base}/img/${img}`, type: 'Image', format: 'image/jpeg', width: 400, height: 300 },
      }] }],
    })),
  };
}

test('a manifest whose image 404s refuses only its record, nothing half-ingested; fixed, the next run takes it; pages are never fetched twice', async (t) => {
  const images = new Map<string, Buffer>([
    ['a1.jpg', await page('A – trang 1', { format: 'jpeg', width: 400, height: 300 })],
    ['b1.jpg', await page('B – trang 1', { format: 'jpeg', width: 400, height: 300 })],
    ['b2.jpg', await page('B – trang 2', { format: 'jpeg', width: 400, height: 300 })],
  ]);
  const fetched: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/oai') {
      res.writeHead(200, { 'content-type': 'text/xml' });
      const verb = url.searchParams.get('verb') ?? 'ListRecords';
      const records = [record(base, 'a', 'Tài liệu A'), record(base, 'b', 'Tài liệu B')];
      const body = verb === 'GetRecord' ? records.filter((r) => r.includes(`<identifier>${url.searchParams.get('identifier')}<`)) : records;
      return res.end(`<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-11-20T03:14:15Z</responseDate><request verb="${verb}">${base}/oai</request><${verb}>${body.join('\n')}</${verb}></OAI-PMH>`);
    }
    const m = /^\/iiif\/([ab])\/manifest$/.exec(url.pathname);
    if (m) {
      res.writeHead(200, { 'content-type': 'application/ld+json' });
      return res.end(JSON.stringify(manifest(base, m[1]!, m[1] === 'a' ? ['a1.jpg'] : ['b1.jpg', 'b2.jpg'])));
    }
    fetched.push(url.pathname);
    const img = url.pathname.startsWith('/img/') ? images.get(url.pathname.slice(5)) : undefined;
    if (!img) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(img.length) });
    res.end(img);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const b2 = images.get('b2.jpg')!;
  images.delete('b2.jpg'); // B's second page 404s for now

  const dir = newDir();
  const args = ['harvest', `${base}/oai`, '--retries', '0', '--timeout', '5'];
  const first = await thukho(dir, [...args, '--json']);
  t.is(first.code, 1, show(first));
  type Report = { created: Array<{ identifier: string; files?: string[] }>; refused: Array<{ identifier: string; reason: { vi: string; en: string } }>; manifests: Array<{ identifier: string; imported: boolean }> };
  const r1 = JSON.parse(first.stdout) as Report;
  t.deepEqual(r1.created.map((c) => [c.identifier, c.files]), [[ID('a'), ['page-0001.jpg']]]);
  t.is(r1.refused.length, 1);
  t.is(r1.refused[0]?.identifier, ID('b'));
  t.regex(r1.refused[0]?.reason.en ?? '', new RegExp(`IIIF manifest ${base}/iiif/b/manifest: canvas 2 .*${base}/img/b2\\.jpg answered HTTP 404`));
  t.regex(r1.refused[0]?.reason.vi ?? '', /trả lời HTTP 404/);
  await withEventLog(dir, async (store) => {
    t.is((await loadObject(store, workIdFor(ID('b')))).state.status, 'absent', 'nothing of the refused record is kept');
  });

  images.set('b2.jpg', b2);
  fetched.length = 0;
  const second = await thukho(dir, [...args, '--from', '2000-01-01', '--json']);
  t.is(second.code, 0, show(second));
  const r2 = JSON.parse(second.stdout) as Report;
  t.deepEqual(r2.created.map((c) => [c.identifier, c.files]), [[ID('b'), ['page-0001.jpg', 'page-0002.jpg']]]);
  t.deepEqual(fetched.sort(), ['/img/b1.jpg', '/img/b2.jpg'], 'A’s page is not fetched again');
  await withEventLog(dir, async (store) => {
    const b = await loadObject(store, workIdFor(ID('b')));
    t.is(b.state.status === 'active' ? b.state.files.length : -1, 2);
  });

  fetched.length = 0;
  const third = await thukho(dir, [...args, '--from', '2000-01-01']);
  t.is(third.code, 0, show(third));
  t.regex(third.stdout, /nothing changed/);
  t.deepEqual(fetched, []);
});

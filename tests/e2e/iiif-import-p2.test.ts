import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { iiifWorkId } from '../../src/application/iiif-import.ts';
import { loadObject, objectStream } from '../../src/application/object-commands.ts';
import { objectOcflIdFor } from '../../src/application/ocfl-ids.ts';
import { objectProvenance } from '../../src/application/provenance.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { openEventStore } from '../../src/eventstore/open.ts';
import { show, thukho } from '../helpers/cli.ts';
import { page } from '../helpers/images.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * `thukho import-iiif` against somebody else's IIIF 2.1: the committed hand-made fixtures
 * (tests/fixtures/iiif-import/p2-*.json) served by a plain local web server, their images made
 * by sharp here. One page's image 404s in one manifest and never answers in another: those
 * works are refused with the URL and reason and leave nothing, the run goes on.
 */
interface Ctx {
  site: { url: string; server: Server; requests: string[]; label: string; repaired: boolean; extraPage: boolean };
}
const test = anyTest as TestFn<Ctx>;
const newDir = tempDirs(test as unknown as TestFn<unknown>, 'thukho-iiif-import-');
const FIXTURES = new URL('../fixtures/iiif-import/', import.meta.url);
const FIXTURE_BASE = 'http://bao-tang.example.vn';

test.before(async (t) => {
  const images: Record<string, { type: string; body: Buffer }> = {
    '/iiif/2/kieu-1/full/full/0/default.jpg': { type: 'image/jpeg', body: await page('Trăm năm trong cõi người ta', { width: 600, height: 400, format: 'jpeg' }) },
    '/images/kieu-2.png': { type: 'image/png', body: await page('金雲翹新傳', { width: 500, height: 700, format: 'png' }) },
    '/images/kieu-3.png': { type: 'image/png', body: await page('Đoạn trường tân thanh', { width: 500, height: 700, format: 'png' }) },
    '/images/not-an-image.png': { type: 'text/html', body: Buffer.from('<!doctype html><title>Not found</title><p>Trang không tồn tại</p>') },
  };
  const requests: string[] = [];
  const site: Ctx['site'] = { url: '', server: createServer(), requests, label: 'Truyện Kiều', repaired: false, extraPage: false };
  site.server.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push(path);
    const fixture = /^\/manifests\/([a-z0-9-]+\.json)$/.exec(path)?.[1];
    if (fixture && existsSync(new URL(fixture, FIXTURES))) {
      let text = readFileSync(new URL(fixture, FIXTURES), 'utf8').replaceAll(FIXTURE_BASE, site.url);
      // The source's cataloguer corrects a label: the next import is an edit.
      if (fixture === 'p2-manifest.json') text = text.replace('"Truyện Kiều"', JSON.stringify(site.label));
      if (fixture === 'p2-manifest.json' && site.extraPage) {
        // The source digitises one more leaf: a third canvas, painted by a plain image.
        const m = JSON.parse(text) as { sequences: Array<{ canvases: Array<Record<string, unknown>> }> };
        const canvases = m.sequences[0]!.canvases;
        const third = JSON.parse(JSON.stringify(canvases[1]).replaceAll('/canvas/2', '/canvas/3').replace('/images/kieu-2.png', '/images/kieu-3.png').replace('tờ 1b', 'tờ 2a')) as Record<string, unknown>;
        canvases.push(third);
        text = JSON.stringify(m);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      return;
    }
    if (path === '/html-page.json') {
      // A page whose "image" is the source's HTML error page served with 200.
      const text = readFileSync(new URL('p2-missing-image.json', FIXTURES), 'utf8').replaceAll(FIXTURE_BASE, site.url).replace('/images/missing.png', '/images/not-an-image.png');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    }
    if (path === '/images/missing.png' && site.repaired) return void res.writeHead(200, { 'content-type': 'image/png' }).end(images['/images/kieu-2.png']?.body);
    if (path === '/collection.json') {
      const collection = {
        '@context': 'http://iiif.io/api/presentation/2/context.json',
        '@id': `${site.url}/collection.json`,
        '@type': 'sc:Collection',
        label: 'Sách Hán Nôm của bảo tàng',
        manifests: [`${site.url}/manifests/p2-manifest.json`, `${site.url}/manifests/p2-missing-image.json`].map((id) => ({ '@id': id, '@type': 'sc:Manifest' })),
      };
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(collection));
    }
    if (path === '/not-a-manifest.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello": "world"}');
    if (path === '/broken.json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"@context": ');
    if (path.startsWith('/slow/')) return; // never answers: the importer's timeout must end it
    const image = images[path];
    if (image) return void res.writeHead(200, { 'content-type': image.type }).end(image.body);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => site.server.listen(0, '127.0.0.1', resolve));
  site.url = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}`;
  t.context.site = site;
});

test.after.always(async (t) => {
  t.context.site.server.closeAllConnections();
  await new Promise((resolve) => t.context.site.server.close(resolve));
});

async function repository<T>(dir: string, f: (store: Awaited<ReturnType<typeof openEventStore>>) => Promise<T>): Promise<T> {
  const store = await openEventStore({ kind: 'sqlite', path: join(dir, 'events.sqlite') });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

async function eventsOf(dir: string, objectId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  return repository(dir, async (store) => {
    const events: Array<{ type: string; data: Record<string, unknown> }> = [];
    for await (const e of store.readStream(objectStream(objectId))) events.push({ type: e.type, data: e.data as Record<string, unknown> });
    return events;
  });
}

interface Summary {
  works: Array<{ folder: string; objectId?: string; outcome: string; changed: string[]; reason?: string; files: { ingested: number; skipped: number } }>;
}
const summaryOf = (stdout: string) => JSON.parse(stdout) as Summary;

/** Files left in the repository's staging folders (a refused work must leave none). */
function staged(dir: string): string[] {
  const root = join(dir, 'staging');
  let folders: string[] = [];
  try {
    folders = readdirSync(root);
  } catch {
    return [];
  }
  return folders.flatMap((f) => readdirSync(join(root, f)).map((n) => `${f}/${n}`));
}

test.serial('a Presentation 2 manifest becomes one work: record, pages at full size in canvas order, provenance; a rerun changes nothing; a corrected label is an edit', async (t) => {
  const { site } = t.context;
  const dir = newDir();
  const url = `${site.url}/manifests/p2-manifest.json`;
  const id = iiifWorkId(url);

  const dry = await thukho(dir, ['import-iiif', url, '--dry-run', '--json']);
  t.is(dry.code, 0, show(dry));
  t.like(summaryOf(dry.stdout).works[0], { outcome: 'created', files: { ingested: 2 } });
  t.deepEqual(await eventsOf(dir, id), [], 'a dry run writes nothing');

  const first = await thukho(dir, ['import-iiif', url, '--access', 'restricted', '--json']);
  t.is(first.code, 0, show(first));
  t.like(summaryOf(first.stdout).works[0], { objectId: id, outcome: 'created', files: { ingested: 2 } });
  t.true(site.requests.includes('/iiif/2/kieu-1/full/full/0/default.jpg'), 'the Image API 2 service is asked for full/full');

  await repository(dir, async (store) => {
    const { state } = await loadObject(store, id);
    if (state.status !== 'active') return t.fail(state.status);
    t.is(state.accessLevel, 'restricted');
    t.deepEqual(state.metadata, {
      title: 'Truyện Kiều',
      alternativeTitle: ['金雲翹新傳'],
      creator: 'Nguyễn Du (阮攸)',
      date: '1871',
      yearFrom: 1871,
      yearTo: 1871,
      language: ['vie', 'lzh'],
      description: 'Bản khắc gỗ, Liễu Văn đường tàng bản, 1871.',
      identifier: 'R.953',
      source: 'Bảo tàng tỉnh Nam Định',
      rights: 'http://rightsstatements.org/vocab/NoC-NC/1.0/',
      viewingDirection: 'right-to-left',
      behavior: 'paged',
    });
    t.deepEqual(
      state.files.map((f) => [f.name, f.mediaType, f.image?.width, f.image?.height]),
      [
        ['page-0001.jpg', 'image/jpeg', 600, 400],
        ['page-0002.png', 'image/png', 500, 700],
      ],
    );
  });
  const registered = (await eventsOf(dir, id))[0];
  t.is(registered?.type, 'ObjectRegistered');
  t.like(registered?.data, {
    imported: {
      format: 'iiif',
      location: url,
      identifier: `${site.url}/iiif/truyen-kieu/manifest.json`,
      record: {
        manifest: [url],
        'label[vi]': ['Truyện Kiều'],
        'label[zh-Hant]': ['金雲翹新傳'],
        images: [`${site.url}/iiif/2/kieu-1/full/full/0/default.jpg`, `${site.url}/images/kieu-2.png`],
        'metadata:Kho[none]': ['Kho sách Hán Nôm, giá 3'],
      },
    },
  });

  const accession = await repository(dir, async (store) => (await objectProvenance(store, id)).events[0]);
  t.regex(accession?.eventDetailInformation.eventDetail.en ?? '', /Imported from the IIIF manifest “[^”]+\/manifests\//);
  t.regex(accession?.eventDetailInformation.eventDetail.vi ?? '', /Nhập từ manifest IIIF “/);

  const imagesAsked = site.requests.filter((r) => !r.startsWith('/manifests/')).length;
  const eventCount = (await eventsOf(dir, id)).length;
  const rerun = await thukho(dir, ['import-iiif', url]);
  t.is(rerun.code, 0, show(rerun));
  t.regex(rerun.stdout, /nothing changed/);
  t.is((await eventsOf(dir, id)).length, eventCount, 'a rerun appends nothing');
  t.is(site.requests.filter((r) => !r.startsWith('/manifests/')).length, imagesAsked, 'pages held are not fetched again');

  site.label = 'Truyện Kiều (Đoạn trường tân thanh)';
  const edited = await thukho(dir, ['import-iiif', url, '--json']);
  t.is(edited.code, 0, show(edited));
  t.like(summaryOf(edited.stdout).works[0], { outcome: 'changed', changed: ['title'] });
  const events = await eventsOf(dir, id);
  t.like(events.at(-1), { type: 'MetadataEdited', data: { changes: { title: 'Truyện Kiều (Đoạn trường tân thanh)' }, reason: `thukho import-iiif: ${url}` } });
  site.label = 'Truyện Kiều';

  // A page added at the source: the rerun fetches that page only and adds it after the others.
  site.extraPage = true;
  const more = await thukho(dir, ['import-iiif', url, '--json']);
  site.extraPage = false;
  t.is(more.code, 0, show(more));
  t.like(summaryOf(more.stdout).works[0], { outcome: 'changed', files: { ingested: 1, skipped: 2 } });
  await repository(dir, async (store) => {
    const { state } = await loadObject(store, id);
    if (state.status !== 'active') return t.fail(state.status);
    t.deepEqual(state.files.map((f) => f.name), ['page-0001.jpg', 'page-0002.png', 'page-0003.png']);
  });
});

test.serial('a page that 404s, never answers or is not an image refuses its work with the URL and reason; nothing of it is stored; the run goes on', async (t) => {
  const { site } = t.context;
  const dir = newDir();
  const good = `${site.url}/manifests/p2-manifest.json`;
  const missing = `${site.url}/manifests/p2-missing-image.json`;
  const slow = `${site.url}/manifests/p2-slow-image.json`;
  const notManifest = `${site.url}/not-a-manifest.json`;
  const broken = `${site.url}/broken.json`;
  const gone = `${site.url}/manifests/nothing-here.json`;
  const html = `${site.url}/html-page.json`;
  const run = await thukho(dir, ['import-iiif', missing, slow, html, notManifest, broken, gone, good, '--timeout', '1', '--retries', '0', '--json']);
  t.is(run.code, 1, show(run));
  const works = summaryOf(run.stdout).works;
  const by = (u: string) => works.find((w) => w.folder === u);
  t.like(by(good), { outcome: 'created', files: { ingested: 2 } });
  t.like(by(missing), { outcome: 'refused' });
  t.regex(by(missing)?.reason ?? '', new RegExp(`canvas 2 .*${site.url.replace(/[.]/g, '\\.')}/images/missing\\.png answered HTTP 404`));
  t.like(by(slow), { outcome: 'refused' });
  t.regex(by(slow)?.reason ?? '', /slow\/dai-nam-2\.png: .*did not answer within 1 s/);
  t.regex(by(notManifest)?.reason ?? '', /not a IIIF Presentation document/);
  t.regex(by(broken)?.reason ?? '', /not JSON/);
  t.regex(by(gone)?.reason ?? '', /HTTP 404/);
  t.regex(by(html)?.reason ?? '', /canvas 2 .*not-an-image\.png: .*HTML page/);
  for (const u of [missing, slow, html]) t.deepEqual(await eventsOf(dir, iiifWorkId(u)), [], `nothing of ${u} on the log`);
  t.deepEqual(staged(dir), [], 'no staged bytes left behind');
  const ocfl = await OcflStorageRoot.openExisting(join(dir, 'ocfl'));
  for (const u of [missing, slow, html]) t.is(await ocfl.readInventory(objectOcflIdFor(iiifWorkId(u))), null, `no OCFL object for ${u}`);
  t.truthy(await ocfl.readInventory(objectOcflIdFor(iiifWorkId(good))), 'the good work is in OCFL (the check above looks in the right place)');

  const human = await thukho(dir, ['import-iiif', missing, '--timeout', '1', '--retries', '0']);
  t.is(human.code, 1, show(human));
  t.regex(human.stdout, /Bị từ chối \/ refused \(1\):\n.*p2-missing-image\.json: .*HTTP 404/);

  // The source fixes its image: the next run brings the work in whole.
  site.repaired = true;
  const again = await thukho(dir, ['import-iiif', missing, '--json']);
  t.is(again.code, 0, show(again));
  t.like(summaryOf(again.stdout).works[0], { outcome: 'created', files: { ingested: 2 } });
  site.repaired = false;
});

test.serial('a IIIF Collection imports each of its manifests, each with its own outcome', async (t) => {
  const { site } = t.context;
  const dir = newDir();
  const run = await thukho(dir, ['import-iiif', `${site.url}/collection.json`, '--json']);
  t.is(run.code, 1, show(run));
  const works = summaryOf(run.stdout).works.map((w) => [w.folder, w.outcome, w.objectId]);
  t.deepEqual(works, [
    [`${site.url}/manifests/p2-manifest.json`, 'created', iiifWorkId(`${site.url}/manifests/p2-manifest.json`)],
    [`${site.url}/manifests/p2-missing-image.json`, 'refused', iiifWorkId(`${site.url}/manifests/p2-missing-image.json`)],
  ]);
});

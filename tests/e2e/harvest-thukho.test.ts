import { join } from 'node:path';
import type { TestFn } from 'ava';
import { pino } from 'pino';
import sharp from 'sharp';
import { workIdFor } from '../../src/application/harvest.ts';
import { loadObject, objectStream } from '../../src/application/object-commands.ts';
import { openEventStore } from '../../src/eventstore/open.ts';
import { type Json, derivativeOf, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { type Running, freePort, show, signalGroup, startThukho, thukho, waitForHealth } from '../helpers/cli.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { testWithServer, type TestServer } from '../helpers/server.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';

/**
 * One thukho harvests another: the source is a real server (its OAI-PMH provider, pages of 2),
 * the harvest is the real `thukho harvest` in a second process into a second repository.
 */
const REPO = 'thuvien-huyen.example.vn';
const test = testWithServer({ THUKHO_OAI_PAGE_SIZE: '2', THUKHO_OAI_REPOSITORY_IDENTIFIER: REPO });
let worker: DerivativesWorker | undefined;
let harvester: Running | undefined;
// Declared before tempDirs: ava runs after-hooks in order, and the harvesting server must stop
// before its data dir is removed under it (a CI run failed on ENOTEMPTY when it did not).
test.after.always(async () => {
  await worker?.close();
  if (harvester) {
    signalGroup(harvester, 'SIGTERM');
    await harvester.exited;
  }
});
const newDir = tempDirs(test as unknown as TestFn<unknown>, 'thukho-harvest-target-');
const oaiId = (id: string) => `oai:${REPO}:${id}`;

async function makeWork(s: TestServer, id: string, body: Record<string, unknown>): Promise<void> {
  const made = await staffCall(s, 'POST', '/api/objects', { id, ...body });
  if (made.id !== id) throw new Error(`could not make ${id}: ${JSON.stringify(made)}`);
}

/** The source's OAI record of a work, once it says what `ready` wants. */
async function oaiRecord(s: TestServer, id: string, ready: (xml: string) => boolean): Promise<string> {
  return poll(`the OAI record of ${id}`, 60_000, async () => {
    const res = await fetch(`${s.url}/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=${encodeURIComponent(oaiId(id))}`);
    const xml = await res.text();
    return ready(xml) ? xml : undefined;
  });
}

async function target<T>(dir: string, f: (store: Awaited<ReturnType<typeof openEventStore>>) => Promise<T>): Promise<T> {
  const store = await openEventStore({ kind: 'sqlite', path: join(dir, 'events.sqlite') });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

test.serial('works harvested from another thukho keep their metadata and source; a rerun changes nothing; an edit and a withdrawal follow', async (t) => {
  const s = t.context.server;
  await makeWork(s, 'kieu', { title: 'Truyện Kiều', alternativeTitle: ['金雲翹新傳'], creator: 'Nguyễn Du', language: ['vie', 'lzh'], subject: 'Truyện thơ Nôm', date: '1820–1830' });
  await makeWork(s, 'luc-van-tien', { title: 'Lục Vân Tiên', creator: 'Nguyễn Đình Chiểu', description: 'Truyện thơ Nôm, bản in 1889.' });
  await makeWork(s, 'dai-nam', { title: 'Đại Nam thực lục', rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/' });
  await makeWork(s, 'mat', { title: 'Hồ sơ mật', accessLevel: 'confidential' });
  await makeWork(s, 'them', { title: 'Sách thêm' });
  for (const id of ['kieu', 'luc-van-tien', 'dai-nam', 'them']) await oaiRecord(s, id, (x) => x.includes('<dc:title>'));

  const dir = newDir();
  const url = `${s.url}/oai`;
  const first = await thukho(dir, ['harvest', url, '--json']);
  t.is(first.code, 0, show(first));
  const report = JSON.parse(first.stdout) as { complete: boolean; pages: number; created: Array<{ identifier: string; objectId: string }> };
  t.true(report.complete);
  t.is(report.pages, 2);
  t.deepEqual(report.created.map((c) => c.identifier).sort(), ['dai-nam', 'kieu', 'luc-van-tien', 'them'].map(oaiId).sort(), 'the confidential work is not offered');

  await target(dir, async (store) => {
    const { state } = await loadObject(store, workIdFor(oaiId('kieu')));
    t.like(state, {
      status: 'active',
      accessLevel: 'open',
      metadata: { title: 'Truyện Kiều', alternativeTitle: ['金雲翹新傳'], creator: 'Nguyễn Du', language: ['vie', 'lzh'], subject: 'Truyện thơ Nôm', date: '1820–1830', identifier: 'kieu' },
    });
    const lvt = await loadObject(store, workIdFor(oaiId('luc-van-tien')));
    t.like(lvt.state, { metadata: { description: 'Truyện thơ Nôm, bản in 1889.' } });
    const dn = await loadObject(store, workIdFor(oaiId('dai-nam')));
    t.like(dn.state, { metadata: { rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/' } });
    for await (const e of store.readStream(objectStream(workIdFor(oaiId('kieu'))), { maxCount: 1 })) {
      t.like(e.data, { harvest: { baseUrl: url, identifier: oaiId('kieu'), metadataPrefix: 'oai_dc' } });
    }
  });

  const rerun = await thukho(dir, ['harvest', url]);
  t.is(rerun.code, 0, show(rerun));
  t.regex(rerun.stdout, /created 0 · .*changed 0 · .*deleted 0 .*\n.*nothing changed/);

  // An edit and a withdrawal at the source, seen in its OAI records before the next harvest.
  const auth = { authorization: `Bearer ${s.staffToken}` };
  const current = await fetch(`${s.url}/api/objects/luc-van-tien`, { headers: auth });
  const edit = await fetch(`${s.url}/api/objects/luc-van-tien`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json', 'if-match': current.headers.get('etag') ?? '' },
    body: JSON.stringify({ title: 'Lục Vân Tiên truyện', description: null, reason: 'sửa nhan đề' }),
  });
  t.is(edit.status, 200, await edit.text());
  const withdrawn = await staffCall(s, 'POST', '/api/objects/them/withdraw', { reason: 'Trùng bản' });
  t.is(withdrawn.status, 'withdrawn', JSON.stringify(withdrawn));
  await oaiRecord(s, 'luc-van-tien', (x) => x.includes('Lục Vân Tiên truyện'));
  await oaiRecord(s, 'them', (x) => x.includes('status="deleted"'));

  const third = await thukho(dir, ['harvest', url, '--json']);
  t.is(third.code, 0, show(third));
  const changes = JSON.parse(third.stdout) as { changed: Array<{ objectId: string; fields: string[] }>; deleted: Array<{ objectId: string }>; created: unknown[] };
  t.deepEqual(changes.created, []);
  t.deepEqual(changes.changed.map((c) => [c.objectId, c.fields]), [[workIdFor(oaiId('luc-van-tien')), ['title', 'description']]]);
  t.deepEqual(changes.deleted.map((d) => d.objectId), [workIdFor(oaiId('them'))]);
  await target(dir, async (store) => {
    const types: string[] = [];
    for await (const e of store.readStream(objectStream(workIdFor(oaiId('luc-van-tien'))))) types.push(e.type);
    t.deepEqual(types, ['ObjectRegistered', 'MetadataEdited']);
    const lvt = await loadObject(store, workIdFor(oaiId('luc-van-tien')));
    if (lvt.state.status !== 'active') return t.fail(lvt.state.status);
    t.is(lvt.state.metadata.title, 'Lục Vân Tiên truyện');
    t.is(lvt.state.metadata.description, undefined);
    const gone = await loadObject(store, workIdFor(oaiId('them')));
    t.like(gone.state, { status: 'withdrawn' });
    if (gone.state.status === 'withdrawn') t.regex(gone.state.withdrawnReason ?? '', new RegExp(`deleted at the source ${url.replace(/[.]/g, '\\.')}`));
  });

  const last = await thukho(dir, ['harvest', url]);
  t.is(last.code, 0, show(last));
  t.regex(last.stdout, /nothing changed/);
});

type Canvas = { width: number; height: number };

async function manifestOf(url: string, canvases: number): Promise<Json> {
  return poll(`the manifest ${url} with ${canvases} canvases`, 60_000, async () => {
    const res = await fetch(url);
    if (res.status !== 200) return undefined;
    const m = (await res.json()) as Json;
    return (m.items as unknown[] | undefined)?.length === canvases ? m : undefined;
  });
}

const page = (width: number, height: number, hue: string) =>
  sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${hue}"/><circle cx="${width / 2}" cy="${height / 2}" r="${height / 4}" fill="#222"/></svg>`)).png().toBuffer();

test.serial('a harvested work brings the pages of the IIIF manifest its record links, at full size; its manifest here validates; a rerun fetches nothing', async (t) => {
  const s = t.context.server;
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  await makeWork(s, 'sac-phong', { title: 'Sắc phong làng Đông Ngạc', creator: 'Triều Nguyễn', date: '1850' });
  const files = [await uploadFile(s, 'sac-phong', await page(640, 480, '#d9c9a3'), 'to-1.png'), await uploadFile(s, 'sac-phong', await page(500, 700, '#c8b08a'), 'to-2.png')];
  for (const f of files) t.truthy((await derivativeOf(s, 'sac-phong', String(f.fileId))).pyramid, 'the source can serve the page');
  const sourceManifest = await manifestOf(`${s.url}/iiif/manifest/sac-phong`, 2);
  await oaiRecord(s, 'sac-phong', (x) => x.includes('/iiif/manifest/sac-phong'));

  const dir = newDir();
  const url = `${s.url}/oai`;
  const first = await thukho(dir, ['harvest', url, '--json']);
  t.is(first.code, 0, show(first));
  const objectId = workIdFor(oaiId('sac-phong'));
  const report = JSON.parse(first.stdout) as { created: Array<{ objectId: string; files?: string[] }>; manifests: Array<{ objectId: string; imported: boolean; pages?: number; url: string }>; files: { added: number } };
  t.deepEqual(report.created.find((c) => c.objectId === objectId)?.files, ['page-0001.jpg', 'page-0002.jpg'], first.stdout);
  t.like(report.manifests.find((m) => m.objectId === objectId), { imported: true, pages: 2, url: `${s.url}/iiif/manifest/sac-phong` });
  t.is(report.files.added, 2);

  await target(dir, async (store) => {
    const { state } = await loadObject(store, objectId);
    t.like(state, { status: 'active', metadata: { title: 'Sắc phong làng Đông Ngạc', creator: 'Triều Nguyễn', date: '1850' } });
    for await (const e of store.readStream(objectStream(objectId), { maxCount: 1 })) {
      // Provenance: the OAI record and the manifest the pages came from, side by side.
      t.like(e.data, { harvest: { identifier: oaiId('sac-phong') }, imported: { format: 'iiif', location: `${s.url}/iiif/manifest/sac-phong` } });
    }
  });

  const text = await thukho(dir, ['harvest', url, '--from', '2000-01-01']);
  t.is(text.code, 0, show(text));
  t.regex(text.stdout, new RegExp(`⧉ ${objectId} .*IIIF manifest .*sac-phong: .*pages imported earlier, not fetched again`));
  t.regex(text.stdout, /nothing changed/);
  t.notRegex(text.stdout, /Tệp \/ files: thêm \/ added [1-9]/);

  // The harvesting instance serves the work: a valid manifest, the source's pages at their full size.
  const port = await freePort();
  harvester = startThukho(dir, ['serve', '--no-workers'], { THUKHO_PORT: String(port), THUKHO_HOST: '127.0.0.1', THUKHO_OCR: 'off', THUKHO_QUEUE_PREFIX: `harvest-target-${process.pid}` });
  await waitForHealth(harvester, port);
  const here = await manifestOf(`http://127.0.0.1:${port}/iiif/manifest/${objectId}`, 2);
  t.deepEqual(validatePresentation3(here), []);
  t.deepEqual((here.items as Canvas[]).map((c) => [c.width, c.height]), (sourceManifest.items as Canvas[]).map((c) => [c.width, c.height]));
  t.deepEqual((here.items as Canvas[]).map((c) => [c.width, c.height]), [[640, 480], [500, 700]]);
});

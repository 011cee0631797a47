import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { executeCollectionCommand, loadObject, objectStream } from '../../src/application/object-commands.ts';
import { closeIngest, openIngest } from '../../src/application/open-ingest.ts';
import { type BulkIngestSummary, bulkIngest } from '../../src/cli/bulk-ingest.ts';
import { loadConfig } from '../../src/config.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { validateBag } from '../../src/storage/bagit.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import { page } from '../helpers/images.ts';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { thukho as runThukho } from '../helpers/cli.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';


/** `thukho ARGS` as an operator runs it (tests/helpers/cli.ts), with the arguments spread. */
const thukho = (dataDir: string, ...args: string[]) => runThukho(dataDir, args);

async function countEvents(dataDir: string): Promise<number> {
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  const n = Number((await store.headPosition()) ?? 0n);
  await store.close();
  return n;
}

test.serial('bulk ingest: natural page order, Vietnamese CSV headers, dry run, resumable, then a BagIt round trip', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-bulk-'));
  const dataDir = join(work, 'repo');
  const batch = join(work, 'batch');
  try {
    mkdirSync(join(batch, 'Truyện Kiều'), { recursive: true });
    mkdirSync(join(batch, 'Lục Vân Tiên'), { recursive: true });
    mkdirSync(join(batch, 'Nam Phong'), { recursive: true });
    for (const n of [1, 2, 10]) writeFileSync(join(batch, 'Truyện Kiều', `page_${n}.tif`), await page(`Kiều trang ${n}`));
    writeFileSync(join(batch, 'Lục Vân Tiên', 'a.jpg'), await page('Vân Tiên a', { format: 'jpeg' }));
    writeFileSync(join(batch, 'Lục Vân Tiên', 'ghi chú.txt'), 'không phải ảnh');
    writeFileSync(join(batch, 'Nam Phong', 'so1.png'), await page('Nam Phong số 1', { format: 'png' }));
    writeFileSync(join(batch, 'Nam Phong', 'metadata.json'), JSON.stringify({ title: 'Nam Phong tạp chí', date: '1917', language: ['vie', 'fra'] }));
    writeFileSync(
      join(batch, 'metadata.csv'),
      '\uFEFFThư mục,Nhan đề,Tác giả,Ngôn ngữ,Niên đại\n"Truyện Kiều","Truyện Kiều, bản Liễu Văn đường",Nguyễn Du,vie;lzh,Tự Đức thứ 24\nLục Vân Tiên,Lục Vân Tiên,Nguyễn Đình Chiểu,vie,1889\n',
    );

    const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'kho-a', title: 'Kho A' }, { actor: { id: 'test', role: 'staff' } });
    await store.close();
    const before = await countEvents(dataDir);

    const dry = await thukho(dataDir, 'ingest', batch, '--collection', 'kho-a', '--dry-run');
    t.is(dry.code, 1, dry.stderr);
    t.regex(dry.stdout, /ghi chú\.txt/);
    t.is(await countEvents(dataDir), before, 'a dry run writes nothing');

    const first = await thukho(dataDir, 'ingest', batch, '--collection', 'kho-a', '--json');
    t.is(first.code, 1, first.stderr);
    const summary = JSON.parse(first.stdout) as { objects: { registered: number }; files: { ingested: number }; rejected: Array<{ file?: string }> };
    t.is(summary.objects.registered, 3);
    t.is(summary.files.ingested, 5);
    t.deepEqual(summary.rejected.map((r) => r.file), ['ghi chú.txt']);

    const check = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    const { state } = await loadObject(check, 'truyen-kieu');
    t.is(state.status, 'active');
    if (state.status === 'active') {
      t.deepEqual(state.files.map((f) => f.name), ['page_1.tif', 'page_2.tif', 'page_10.tif']);
      // One OCFL version for the folder, not one per page.
      t.deepEqual(state.files.map((f) => f.storage.version), ['v1', 'v1', 'v1']);
      t.is(state.metadata.title, 'Truyện Kiều, bản Liễu Văn đường');
      t.deepEqual(state.metadata.language, ['vie', 'lzh']);
      t.is(state.metadata.yearFrom, 1871);
      t.is(state.metadata.collectionId, 'kho-a');
    }
    await check.close();
    const afterFirst = await countEvents(dataDir);

    const again = await thukho(dataDir, 'ingest', batch, '--collection', 'kho-a', '--json');
    const s2 = JSON.parse(again.stdout) as { files: { skipped: number; ingested: number } };
    t.is(s2.files.skipped, 5);
    t.is(s2.files.ingested, 0);
    t.is(await countEvents(dataDir), afterFirst, 'a re-run adds nothing');

    rmSync(join(batch, 'Lục Vân Tiên', 'ghi chú.txt'));
    t.is((await thukho(dataDir, 'ingest', batch, '--collection', 'kho-a')).code, 0);
    t.deepEqual(await validateStorageRoot(join(dataDir, 'ocfl')), []);

    // BagIt out, validate, and into a fresh repository.
    const bag = join(work, 'bag-kieu');
    const exported = await thukho(dataDir, 'export-bag', 'truyen-kieu', bag);
    t.is(exported.code, 0, exported.stderr);
    const validation = await validateBag(bag);
    t.true(validation.valid, JSON.stringify(validation.problems));
    t.truthy(readFileSync(join(bag, 'data', 'metadata', 'dc.xml'), 'utf8').includes('<dc:title>Truyện Kiều, bản Liễu Văn đường</dc:title>'));
    t.is(readFileSync(join(bag, 'data', 'metadata', 'events.jsonl'), 'utf8').trim().split('\n').length, 4);

    const fresh = join(work, 'fresh');
    const imported = await thukho(fresh, 'ingest-bag', bag);
    t.is(imported.code, 0, imported.stderr + imported.stdout);
    const freshStore = new SqliteEventStore(join(fresh, 'events.sqlite'));
    const copy = await loadObject(freshStore, 'truyen-kieu');
    const orig = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    const source = await loadObject(orig, 'truyen-kieu');
    if (copy.state.status === 'active' && source.state.status === 'active') {
      t.deepEqual(copy.state.metadata, source.state.metadata);
      t.deepEqual(copy.state.files.map((f) => [f.name, f.digests.sha512, f.role]), source.state.files.map((f) => [f.name, f.digests.sha512, f.role]));
    } else t.fail('the object was not reproduced');
    await freshStore.close();
    await orig.close();

    // A damaged bag is refused with the list of problems, and nothing is ingested.
    const payloadFile = validation.payload.find((p) => p.path.endsWith('page_2.tif'));
    const damagedPath = join(bag, 'data', payloadFile?.path ?? '');
    const bytes = readFileSync(damagedPath);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0xff;
    writeFileSync(damagedPath, bytes);
    const other = join(work, 'other');
    const refused = await thukho(other, 'ingest-bag', bag);
    t.is(refused.code, 1);
    t.regex(refused.stdout, /digest-mismatch/);
    t.is(await countEvents(other), 0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

/** The decisions on one work's stream (what people and ingest decided), read from the log. */
async function objectEvents(dataDir: string, objectId: string): Promise<Array<{ type: string; data: Json; actor: string }>> {
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  const out: Array<{ type: string; data: Json; actor: string }> = [];
  for await (const e of store.readStream(objectStream(objectId))) out.push({ type: e.type, data: e.data as Json, actor: e.metadata.actor.id });
  await store.close();
  return out;
}

const manifest = async (s: TestServer, id: string) => (await fetch(`${s.url}/iiif/manifest/${id}`)).json() as Promise<Json>;
const labelOf = (m: Json) => JSON.stringify(m.label);

test.serial('bulk ingest with every form field: Vietnamese reading direction reaches the manifest; a re-run edits, reports, or changes nothing', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const s = await startTestServer();
  const batch = mkdtempSync(join(tmpdir(), 'thukho-bulk-fields-'));
  try {
    t.is((await staffCall(s, 'POST', '/api/collections', { id: 'han-nom', title: 'Sách Hán Nôm' })).id, 'han-nom');
    mkdirSync(join(batch, 'Chinh phụ ngâm'));
    mkdirSync(join(batch, 'Văn tế'));
    for (const n of [1, 2]) writeFileSync(join(batch, 'Chinh phụ ngâm', `to_${n}.png`), await page(`Chinh phụ ngâm tờ ${n}`, { format: 'png' }));
    for (const n of [1, 2]) writeFileSync(join(batch, 'Văn tế', `la_${n}.png`), await page(`Văn tế lá ${n}`, { format: 'png' }));
    const sheet = (kieuTitle: string, vanTe: string) =>
      `Thư mục,Nhan đề,Ngôn ngữ,Hướng đọc,Cách trình bày,Mức truy cập,Mô tả\n` +
      `Chinh phụ ngâm,${kieuTitle},vie,phải sang trái,sách,mở,\n` +
      `Văn tế,Văn tế nghĩa sĩ,vie,,tờ rời,công khai,${vanTe}\n`;
    writeFileSync(join(batch, 'metadata.csv'), sheet('Chinh phụ ngâm khúc (bản sai)', ''));

    const first = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom', '--json');
    t.is(first.code, 0, first.stderr + first.stdout);
    const summary = JSON.parse(first.stdout) as BulkIngestSummary;
    t.deepEqual(summary.works.map((w) => [w.objectId, w.outcome]), [['chinh-phu-ngam', 'created'], ['van-te', 'created']]);

    // A Nôm book catalogued as `vie` opens right to left because the sheet says so.
    const m = await poll('the manifest of chinh-phu-ngam', 30_000, async () => {
      const x = await manifest(s, 'chinh-phu-ngam');
      return (x.items as unknown[] | undefined)?.length === 2 ? x : undefined;
    });
    t.is(m.viewingDirection, 'right-to-left');
    t.deepEqual(m.behavior, ['paged']);
    const loose = await poll('the manifest of van-te', 30_000, async () => {
      const x = await manifest(s, 'van-te');
      return (x.items as unknown[] | undefined)?.length === 2 ? x : undefined;
    });
    t.deepEqual(loose.behavior, ['individuals'], 'tờ rời: loose leaves, though two pages would default to paged');
    t.not(loose.viewingDirection, 'right-to-left');

    // Unchanged sheet: nothing new on either work, and the summary says so.
    const eventsBefore = { a: (await objectEvents(s.dataDir, 'chinh-phu-ngam')).length, b: (await objectEvents(s.dataDir, 'van-te')).length };
    const same = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom');
    t.is(same.code, 0, same.stderr + same.stdout);
    t.regex(same.stdout, /Đã tạo \/ created \(0\)/);
    t.regex(same.stdout, /Đã sửa \/ changed \(0\)/);
    t.regex(same.stdout, /Không đổi \/ unchanged \(2\):\n {2}= chinh-phu-ngam «Chinh phụ ngâm khúc \(bản sai\)»\n {2}= van-te/);
    t.is((await objectEvents(s.dataDir, 'chinh-phu-ngam')).length, eventsBefore.a);
    t.is((await objectEvents(s.dataDir, 'van-te')).length, eventsBefore.b);

    // A corrected title: one MetadataEdited by the operator, and the manifest follows.
    writeFileSync(join(batch, 'metadata.csv'), sheet('Chinh phụ ngâm khúc', ''));
    const fixed = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom');
    t.is(fixed.code, 0, fixed.stderr + fixed.stdout);
    t.regex(fixed.stdout, /Đã sửa \/ changed \(1\):\n {2}~ chinh-phu-ngam «Chinh phụ ngâm khúc»: Nhan đề\/title\n/);
    const after = (await objectEvents(s.dataDir, 'chinh-phu-ngam')).slice(eventsBefore.a);
    t.deepEqual(after.map((e) => e.type), ['MetadataEdited']);
    t.deepEqual(after[0]?.data.changes, { title: 'Chinh phụ ngâm khúc' });
    t.regex(after[0]?.actor ?? '', /^cli:/);
    t.is((await objectEvents(s.dataDir, 'van-te')).length, eventsBefore.b);
    const corrected = await poll('the corrected title in the manifest', 30_000, async () => {
      const label = labelOf(await manifest(s, 'chinh-phu-ngam'));
      return label.includes('bản sai') ? undefined : label;
    });
    t.true(corrected.includes('Chinh phụ ngâm khúc'), corrected);

    // An access level from the sheet goes through ChangeAccessPolicy with the sheet as reason.
    writeFileSync(join(batch, 'metadata.csv'), sheet('Chinh phụ ngâm khúc', '').replace('sách,mở', 'sách,hạn chế'));
    const restricted = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom', '--json');
    t.is(restricted.code, 0, restricted.stderr + restricted.stdout);
    t.deepEqual((JSON.parse(restricted.stdout) as BulkIngestSummary).works.find((w) => w.objectId === 'chinh-phu-ngam')?.changed, ['accessLevel']);
    const access = (await objectEvents(s.dataDir, 'chinh-phu-ngam')).at(-1);
    t.is(access?.type, 'AccessPolicyChanged');
    t.like(access?.data, { from: 'open', to: 'restricted', reason: 'thukho ingest: metadata.csv' });

    // A withdrawn work's changed row is not applied, and the summary says why.
    const withdrawn = await fetch(`${s.url}/api/objects/van-te/withdraw`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'trùng bản' }),
    });
    t.is(withdrawn.status, 200, await withdrawn.text());
    const vanTeBefore = (await objectEvents(s.dataDir, 'van-te')).length;
    const cpnBefore = (await objectEvents(s.dataDir, 'chinh-phu-ngam')).length;
    writeFileSync(join(batch, 'metadata.csv'), sheet('Chinh phụ ngâm khúc', 'Bản in 1902').replace('sách,mở', 'sách,hạn chế'));
    const refused = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom', '--json');
    t.is(refused.code, 1, refused.stderr + refused.stdout);
    const r = JSON.parse(refused.stdout) as BulkIngestSummary;
    const vanTe = r.works.find((w) => w.objectId === 'van-te');
    t.is(vanTe?.outcome, 'refused');
    t.regex(vanTe?.reason ?? '', /đã bị rút khỏi kho \(trùng bản\).*has been withdrawn and takes no more changes; not applied: Mô tả\/description/);
    t.is(r.works.find((w) => w.objectId === 'chinh-phu-ngam')?.outcome, 'unchanged');
    t.is((await objectEvents(s.dataDir, 'van-te')).length, vanTeBefore);
    t.is((await objectEvents(s.dataDir, 'chinh-phu-ngam')).length, cpnBefore);
    const human = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom');
    t.regex(human.stdout, /Bị từ chối \/ refused \(1\):\n {2}✗ Văn tế: .*withdrawn/);

    // An unknown column stops the run before anything is written, listing what is accepted.
    writeFileSync(join(batch, 'metadata.csv'), 'Thư mục,Nhan đề,Màu bìa\nVăn tế,Văn tế,đỏ\n');
    const unknown = await thukho(s.dataDir, 'ingest', batch, '--collection', 'han-nom');
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /unknown column\(s\) "Màu bìa".*"Hướng đọc"\/"viewingDirection"/);
  } finally {
    await s.close();
    rmSync(batch, { recursive: true, force: true });
  }
});

test.serial('the page-label pattern column labels every page by folio; a re-run adds nothing; a new pattern relabels; no pages is reported', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-bulk-labels-'));
  const dataDir = join(work, 'repo');
  const batch = join(work, 'batch');
  try {
    mkdirSync(join(batch, 'Hoa tiên'), { recursive: true });
    for (const n of [1, 2, 3]) writeFileSync(join(batch, 'Hoa tiên', `${n}.png`), await page(`Hoa tiên ${n}`, { format: 'png' }));
    writeFileSync(join(batch, 'metadata.csv'), 'Thư mục,Nhan đề,Mẫu nhãn trang\nHoa tiên,Hoa tiên truyện,tờ {f}\n');
    const config = loadConfig({ THUKHO_DATA_DIR: dataDir, REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    const actor = { id: 'cli:test', role: 'admin' };
    await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'kho', title: 'Kho' }, { actor });
    const ingest = await openIngest(config, store);
    try {
      const labelEvents = async () => {
        const out: unknown[] = [];
        for await (const e of store.readStream(objectStream('hoa-tien'))) if (e.type === 'PageLabelsSet') out.push(e.data);
        return out;
      };
      const first = await bulkIngest(ingest, { dir: batch, collectionId: 'kho', dryRun: false, actor });
      t.like(first.works[0], { objectId: 'hoa-tien', outcome: 'created', notApplied: [] });
      const labelled = await loadObject(store, 'hoa-tien');
      t.deepEqual(Object.values(labelled.state.status === 'absent' ? {} : labelled.state.pageLabels ?? {}), ['tờ 1a', 'tờ 1b', 'tờ 2a']);
      t.is((await labelEvents()).length, 1);

      // The same sheet again: the labels already are the pattern's, so nothing is written.
      const again = await bulkIngest(ingest, { dir: batch, collectionId: 'kho', dryRun: false, actor });
      t.like(again.works[0], { outcome: 'unchanged', changed: [] });
      t.is((await labelEvents()).length, 1);

      // A corrected pattern relabels every page, as an edit of the work.
      writeFileSync(join(batch, 'metadata.csv'), 'Thư mục,Nhan đề,Mẫu nhãn trang\nHoa tiên,Hoa tiên truyện,trang {n}\n');
      const relabelled = await bulkIngest(ingest, { dir: batch, collectionId: 'kho', dryRun: false, actor });
      t.like(relabelled.works[0], { outcome: 'changed', changed: ['pageLabels'] });
      const now = await loadObject(store, 'hoa-tien');
      t.deepEqual(Object.values(now.state.status === 'absent' ? {} : now.state.pageLabels ?? {}), ['trang 1', 'trang 2', 'trang 3']);

      // A work with no page to label: the pattern is reported as not applied, with the reason.
      mkdirSync(join(batch, 'Trống'));
      writeFileSync(join(batch, 'Trống', 'ghi-chu.txt'), 'chỉ có ghi chú\n');
      writeFileSync(join(batch, 'metadata.csv'), 'Thư mục,Nhan đề,Mẫu nhãn trang\nHoa tiên,Hoa tiên truyện,trang {n}\nTrống,Tập trống,tờ {f}\n');
      const empty = await bulkIngest(ingest, { dir: batch, collectionId: 'kho', dryRun: false, actor });
      const blank = empty.works.find((w) => w.folder === 'Trống');
      t.is(blank?.notApplied[0]?.field, 'pageLabelPattern', JSON.stringify(empty.works));
      t.regex(blank?.notApplied[0]?.reason ?? '', /no pages/);
    } finally {
      await closeIngest(ingest);
      await store.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

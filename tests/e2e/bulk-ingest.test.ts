import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { executeCollectionCommand, loadObject } from '../../src/application/object-commands.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { validateBag } from '../../src/storage/bagit.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import { page } from '../helpers/images.ts';

const run = promisify(execFile);

async function thukho(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/thukho.js', ...args], {
      env: { ...process.env, THUKHO_DATA_DIR: dataDir, THUKHO_LOG_LEVEL: 'silent', REDIS_URL: 'redis://127.0.0.1:6379' },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function countEvents(dataDir: string): Promise<number> {
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  const n = Number((await store.headPosition()) ?? 0n);
  await store.close();
  return n;
}

test.serial('bulk ingest: natural page order, Vietnamese CSV headers, dry run, resumable, then a BagIt round trip', async (t) => {
  t.timeout(240_000);
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

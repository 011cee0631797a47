import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { stageStream } from '../../src/storage/digest.ts';
import { validateObject, validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import {
  hashedNTupleObjectRoot,
  type Inventory,
  OcflError,
  type OcflFaultHook,
  OcflStorageRoot,
  validateLogicalPath,
} from '../../src/storage/ocfl.ts';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-ocfl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A storage root and a staging directory on the same filesystem. */
async function setup(t: ExecutionContext, faults?: OcflFaultHook) {
  const dir = await tempDir(t);
  const staging = join(dir, 'staging');
  await mkdir(staging);
  const rootDir = join(dir, 'ocfl');
  const ocfl = await OcflStorageRoot.open(rootDir, faults ? { faults } : {});
  const stage = async (logicalPath: string, bytes: Buffer | string) => {
    const staged = await stageStream(Readable.from([Buffer.from(bytes)]), staging, { md5: true });
    return { logicalPath, stagedPath: staged.path, size: staged.size, digests: staged.digests };
  };
  return { dir, staging, rootDir, ocfl, stage };
}

const info = (message: string, created = '2024-05-01T08:30:00.000Z') => ({ created, message, user: { name: 'thủ thư', address: 'mailto:thuthu@thuvien.example.vn' } });
const sha512 = (b: Buffer | string) => createHash('sha512').update(b).digest('hex');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const codes = (issues: Array<{ code: string }>) => [...new Set(issues.map((i) => i.code))].sort();

const KIEU = 'Truyện Kiều/trang 001 – Trăm năm trong cõi người ta.tif'.normalize('NFC');

/** An object "sach-1" with v1 (two files) and v2 (one replaced, one added). */
async function twoVersions(t: ExecutionContext) {
  const s = await setup(t);
  const v1 = await s.ocfl.addVersion('sach-1', [await s.stage(KIEU, 'trang một'), await s.stage('bia.jpg', 'bìa sách')], info('v1'));
  const v2 = await s.ocfl.addVersion('sach-1', [await s.stage(KIEU, 'trang một, sửa lại'), await s.stage('mục lục.txt', 'mục lục')], info('v2', '2024-05-02T09:00:00+07:00'));
  const objectDir = join(s.rootDir, s.ocfl.objectRoot('sach-1'));
  return { ...s, v1, v2, objectDir };
}

// ---------------------------------------------------------------------------------------------
// Storage root

test('open creates an OCFL 1.1 storage root with the 0004 layout, and reopens it', async (t) => {
  const dir = await tempDir(t);
  const rootDir = join(dir, 'a', 'b', 'ocfl');
  const ocfl = await OcflStorageRoot.open(rootDir);
  t.is(await readFile(join(rootDir, '0=ocfl_1.1'), 'utf8'), 'ocfl_1.1\n');
  const layout = JSON.parse(await readFile(join(rootDir, 'ocfl_layout.json'), 'utf8')) as Record<string, unknown>;
  t.is(layout.extension, '0004-hashed-n-tuple-storage-layout');
  t.is(typeof layout.description, 'string');
  t.deepEqual(JSON.parse(await readFile(join(rootDir, 'extensions', '0004-hashed-n-tuple-storage-layout', 'config.json'), 'utf8')), {
    extensionName: '0004-hashed-n-tuple-storage-layout',
    digestAlgorithm: 'sha256',
    tupleSize: 3,
    numberOfTuples: 3,
    shortObjectRoot: false,
  });
  t.deepEqual((await readdir(rootDir)).sort(), ['0=ocfl_1.1', 'extensions', 'ocfl_layout.json']);
  t.deepEqual(await validateStorageRoot(rootDir), []);
  const again = await OcflStorageRoot.open(rootDir);
  t.is(again.objectRoot('x'), ocfl.objectRoot('x'));
  // An empty existing directory is taken too.
  await mkdir(join(dir, 'empty'));
  await t.notThrowsAsync(OcflStorageRoot.open(join(dir, 'empty')));
});

test('open refuses a non-empty directory that is not an OCFL root, and other OCFL versions', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'ghi-chú.txt'), 'không phải OCFL');
  const err = await t.throwsAsync(OcflStorageRoot.open(dir), { instanceOf: OcflError });
  t.is(err?.code, 'not-a-storage-root');
  t.regex(err?.message ?? '', /not an OCFL storage root/);
  t.regex(err?.message ?? '', /ghi-chú\.txt/);

  const old = join(dir, 'old');
  await mkdir(old);
  await writeFile(join(old, '0=ocfl_1.0'), 'ocfl_1.0\n');
  t.is((await t.throwsAsync(OcflStorageRoot.open(old), { instanceOf: OcflError }))?.code, 'unsupported-storage-root');
});

test('extension 0004: the published examples', (t) => {
  // Example 1 (default configuration)
  t.is(hashedNTupleObjectRoot('object-01'), '3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4');
  t.is(hashedNTupleObjectRoot('..hor/rib:le-$id'), '487/326/d8c/487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d');
  // Example 2: md5, tupleSize 2, numberOfTuples 15, shortObjectRoot
  const ex2 = { digestAlgorithm: 'md5', tupleSize: 2, numberOfTuples: 15, shortObjectRoot: true };
  t.is(hashedNTupleObjectRoot('object-01', ex2), 'ff/75/53/44/92/48/5e/ab/b3/9f/86/35/67/28/88/4e');
  t.is(hashedNTupleObjectRoot('..hor/rib:le-$id', ex2), '08/31/97/66/fb/6c/29/35/dd/17/5b/94/26/77/17/e0');
  // Example 3: no tuples
  const ex3 = { digestAlgorithm: 'sha256', tupleSize: 0, numberOfTuples: 0, shortObjectRoot: false };
  t.is(hashedNTupleObjectRoot('object-01', ex3), '3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4');
  t.is(hashedNTupleObjectRoot('..hor/rib:le-$id', ex3), '487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d');
  // Invalid configurations are refused.
  t.throws(() => hashedNTupleObjectRoot('x', { tupleSize: 0, numberOfTuples: 3 }), { instanceOf: OcflError });
  t.throws(() => hashedNTupleObjectRoot('x', { digestAlgorithm: 'md5', tupleSize: 4, numberOfTuples: 8, shortObjectRoot: true }), { instanceOf: OcflError });
  t.throws(() => hashedNTupleObjectRoot('x', { tupleSize: 33 }), { instanceOf: OcflError });
});

test('objectRoot of a storage root follows its config (example 1), with a Vietnamese id hashed as UTF-8', async (t) => {
  const { ocfl } = await setup(t);
  t.is(ocfl.objectRoot('object-01'), '3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4');
  const digest = sha256(Buffer.from('sách-Hán-Nôm', 'utf8'));
  t.is(ocfl.objectRoot('sách-Hán-Nôm'), `${digest.slice(0, 3)}/${digest.slice(3, 6)}/${digest.slice(6, 9)}/${digest}`);
  t.throws(() => ocfl.objectRoot(''), { instanceOf: OcflError });
});

// ---------------------------------------------------------------------------------------------
// Versions

test('v1 then v2 with a replaced and an added file: inventory, content paths, bytes, validation', async (t) => {
  const { ocfl, rootDir, objectDir, v1, v2 } = await twoVersions(t);
  t.is(v1.version, 'v1');
  t.deepEqual(v1.contentPaths, { [KIEU]: `v1/content/${KIEU}`, 'bia.jpg': 'v1/content/bia.jpg' });
  t.is(v2.version, 'v2');
  t.deepEqual(v2.contentPaths, { [KIEU]: `v2/content/${KIEU}`, 'mục lục.txt': 'v2/content/mục lục.txt' });

  t.is(await readFile(join(objectDir, '0=ocfl_object_1.1'), 'utf8'), 'ocfl_object_1.1\n');
  const inv = (await ocfl.readInventory('sach-1')) as Inventory;
  t.is(inv.id, 'sach-1');
  t.is(inv.type, 'https://ocfl.io/1.1/spec/#inventory');
  t.is(inv.digestAlgorithm, 'sha512');
  t.is(inv.head, 'v2');
  t.deepEqual(inv.manifest, {
    [sha512('trang một')]: [`v1/content/${KIEU}`],
    [sha512('bìa sách')]: ['v1/content/bia.jpg'],
    [sha512('trang một, sửa lại')]: [`v2/content/${KIEU}`],
    [sha512('mục lục')]: ['v2/content/mục lục.txt'],
  });
  t.deepEqual(inv.versions.v1?.state, { [sha512('bìa sách')]: ['bia.jpg'], [sha512('trang một')]: [KIEU] });
  t.deepEqual(inv.versions.v2?.state, {
    [sha512('trang một, sửa lại')]: [KIEU],
    [sha512('bìa sách')]: ['bia.jpg'],
    [sha512('mục lục')]: ['mục lục.txt'],
  });
  t.deepEqual(inv.versions.v2?.user, { name: 'thủ thư', address: 'mailto:thuthu@thuvien.example.vn' });
  t.is(inv.versions.v2?.created, '2024-05-02T09:00:00+07:00');
  t.deepEqual(inv.fixity?.sha256?.[sha256('mục lục')], ['v2/content/mục lục.txt']);
  t.deepEqual(inv.fixity?.md5?.[createHash('md5').update('bìa sách').digest('hex')], ['v1/content/bia.jpg']);

  // The version directories hold only what is new in them.
  t.deepEqual((await readdir(join(objectDir, 'v2', 'content'))).sort(), ['Truyện Kiều', 'mục lục.txt']);
  t.deepEqual((await readdir(objectDir)).sort(), ['0=ocfl_object_1.1', 'inventory.json', 'inventory.json.sha512', 'v1', 'v2']);
  // Root inventory = head version's inventory, byte for byte; the v1 inventory was not touched.
  t.true((await readFile(join(objectDir, 'inventory.json'))).equals(await readFile(join(objectDir, 'v2', 'inventory.json'))));
  t.is(JSON.parse(await readFile(join(objectDir, 'v1', 'inventory.json'), 'utf8')).head, 'v1');

  t.is(await readFile(await ocfl.contentFile('sach-1', KIEU), 'utf8'), 'trang một, sửa lại');
  t.is(await readFile(await ocfl.contentFile('sach-1', KIEU, 'v1'), 'utf8'), 'trang một');
  t.is(await readFile(await ocfl.contentFile('sach-1', 'bia.jpg'), 'utf8'), 'bìa sách');
  t.is(await ocfl.contentFile('sach-1', 'bia.jpg'), join(objectDir, 'v1', 'content', 'bia.jpg'));
  await t.throwsAsync(ocfl.contentFile('sach-1', 'mục lục.txt', 'v1'), { instanceOf: OcflError });
  await t.throwsAsync(ocfl.contentFile('khong-co', 'a'), { instanceOf: OcflError });
  t.is(await ocfl.readInventory('khong-co'), null);

  t.deepEqual(await validateStorageRoot(rootDir), []);
  t.deepEqual(await validateObject(objectDir), []);
});

test('identical bytes are stored once: a new logical path points at the existing content', async (t) => {
  const { ocfl, rootDir, objectDir, stage, staging } = await twoVersions(t);
  const again = await stage('bản sao/bìa.jpg', 'bìa sách');
  const twice = await stage('bản sao 2/bìa.jpg', 'bìa sách');
  const v3 = await ocfl.addVersion('sach-1', [again, twice], info('dedup'));
  t.is(v3.version, 'v3');
  t.deepEqual(v3.contentPaths, { 'bản sao/bìa.jpg': 'v1/content/bia.jpg', 'bản sao 2/bìa.jpg': 'v1/content/bia.jpg' });
  t.deepEqual(await readdir(join(objectDir, 'v3')), ['inventory.json', 'inventory.json.sha512'].sort());
  t.deepEqual(await readdir(staging), [], 'the staged duplicates were deleted');
  const inv = (await ocfl.readInventory('sach-1')) as Inventory;
  t.deepEqual(inv.versions.v3?.state[sha512('bìa sách')], ['bia.jpg', 'bản sao 2/bìa.jpg', 'bản sao/bìa.jpg']);
  t.deepEqual(inv.manifest[sha512('bìa sách')], ['v1/content/bia.jpg']);
  // Two new files with the same new bytes in one version: stored once too.
  const a = await stage('x/a.txt', 'giống nhau');
  const b = await stage('y/b.txt', 'giống nhau');
  const v4 = await ocfl.addVersion('sach-1', [a, b], info('same bytes twice'));
  t.deepEqual(v4.contentPaths, { 'x/a.txt': 'v4/content/x/a.txt', 'y/b.txt': 'v4/content/x/a.txt' });
  t.deepEqual(await readdir(join(objectDir, 'v4', 'content')), ['x']);
  t.deepEqual(await validateStorageRoot(rootDir), []);
});

test('logical paths are validated: NFC, no .., no leading /, no empty segments, no control characters, sane length, no conflicts', async (t) => {
  const { ocfl, stage, objectDir } = await twoVersions(t);
  const nfd = 'Truyện Kiều.tif'.normalize('NFD');
  t.not(nfd, 'Truyện Kiều.tif'.normalize('NFC'));
  const bad = [nfd, '../thoát.tif', 'a/../../b', '/tuyệt-đối.tif', 'a//b', 'a/./b', 'a/', '', 'a\u0001b', 'a\u007fb', 'a\\b', `${'ễ'.repeat(100)}.tif`, `${'a/'.repeat(600)}b`, 'x\uD800y'];
  for (const p of bad) {
    t.throws(() => validateLogicalPath(p), { instanceOf: OcflError }, JSON.stringify(p));
    const err = await t.throwsAsync(ocfl.addVersion('sach-1', [await stage('tạm', 'x')].map((f) => ({ ...f, logicalPath: p })), info('bad')), { instanceOf: OcflError });
    t.is(err?.code, 'invalid-logical-path', JSON.stringify(p));
  }
  t.notThrows(() => validateLogicalPath('Hán Nôm/漢喃/tờ 1.tif'));
  // A file and a folder of the same name cannot coexist (OCFL E095).
  const conflict = await t.throwsAsync(ocfl.addVersion('sach-1', [await stage('bia.jpg/trong.txt', 'x')], info('conflict')), { instanceOf: OcflError });
  t.is(conflict?.code, 'invalid-logical-path');
  // Nothing was written by the refused calls.
  t.deepEqual((await readdir(objectDir)).sort(), ['0=ocfl_object_1.1', 'inventory.json', 'inventory.json.sha512', 'v1', 'v2']);
});

test('bad input is refused before anything is written', async (t) => {
  const { ocfl, stage } = await setup(t);
  const f = await stage('a.txt', 'abc');
  await t.throwsAsync(ocfl.addVersion('o', [], info('none')), { instanceOf: OcflError });
  await t.throwsAsync(ocfl.addVersion('o', [f, { ...f }], info('twice')), { instanceOf: OcflError });
  await t.throwsAsync(ocfl.addVersion('o', [{ ...f, size: 4 }], info('size')), { instanceOf: OcflError });
  await t.throwsAsync(ocfl.addVersion('o', [{ ...f, stagedPath: `${f.stagedPath}-missing` }], info('missing')), { instanceOf: OcflError });
  await t.throwsAsync(ocfl.addVersion('o', [f], { ...info('date'), created: '1/5/2024' }), { instanceOf: OcflError });
  await t.throwsAsync(ocfl.addVersion('o', [f], { ...info('user'), user: { name: '' } }), { instanceOf: OcflError });
  t.is(await ocfl.readInventory('o'), null);
  t.is(await ocfl.incompleteVersion('o'), null);
});

test('concurrent addVersion calls for one object are serialised', async (t) => {
  const { ocfl, stage, rootDir } = await setup(t);
  const files = await Promise.all(Array.from({ length: 6 }, (_, i) => stage(`trang ${i + 1}.tif`, `nội dung ${i}`)));
  const results = await Promise.all(files.map((f) => ocfl.addVersion('song-song', [f], info(f.logicalPath))));
  t.deepEqual(results.map((r) => r.version).sort(), ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
  const inv = (await ocfl.readInventory('song-song')) as Inventory;
  t.is(Object.keys(inv.versions.v6?.state ?? {}).length, 6);
  t.deepEqual(await validateStorageRoot(rootDir), []);
});

test('listObjectIds walks the root and reads each inventory id', async (t) => {
  const { ocfl, stage } = await setup(t);
  for (const id of ['a', 'sách-2', 'ark:/12345/bcd987']) await ocfl.addVersion(id, [await stage('f.txt', id)], info(id));
  const ids: string[] = [];
  for await (const id of ocfl.listObjectIds()) ids.push(id);
  t.deepEqual(ids.sort(), ['a', 'ark:/12345/bcd987', 'sách-2'].sort());
});

test('a staging directory on another filesystem: EXDEV falls back to copy + fsync', async (t) => {
  const s = await setup(t, ({ step, path }) => {
    if (step === 'rename' && path.includes('/content/')) throw Object.assign(new Error('cross-device link'), { code: 'EXDEV' });
  });
  const f = await s.stage('xa.tif', randomBytes(100_000));
  const r = await s.ocfl.addVersion('xa', [f], info('exdev'));
  t.is(r.version, 'v1');
  t.deepEqual(await readdir(s.staging), [], 'the staged copy was removed after the commit');
  t.deepEqual(await validateStorageRoot(s.rootDir), []);
});

// ---------------------------------------------------------------------------------------------
// Interrupted writes

async function faultRun(t: ExecutionContext, existing: boolean) {
  // Count the filesystem steps of one clean addVersion.
  let steps = 0;
  {
    const s = await setup(t, () => {
      steps++;
    });
    if (existing) await s.ocfl.addVersion('đối-tượng', [await s.stage('cũ.txt', 'cũ')], info('v1'));
    steps = 0;
    await s.ocfl.addVersion('đối-tượng', [await s.stage('cũ.txt', 'mới'), await s.stage('thư mục/mới.tif', 'thêm'), await s.stage('trùng.txt', 'cũ')], info('v2'));
  }
  t.true(steps > 15, `only ${steps} steps`);
  t.log(`${steps} filesystem steps, each failed once`);

  for (let k = 0; k < steps; k++) {
    let n = 0;
    let armed = false;
    const s = await setup(t, ({ step, path }) => {
      if (armed && n++ === k) throw Object.assign(new Error(`ENOSPC: no space left on device (${step} ${path})`), { code: 'ENOSPC' });
    });
    if (existing) await s.ocfl.addVersion('đối-tượng', [await s.stage('cũ.txt', 'cũ')], info('v1'));
    const objectDir = join(s.rootDir, s.ocfl.objectRoot('đối-tượng'));
    const before = existing ? await readFile(join(objectDir, 'inventory.json')) : null;
    const files = [await s.stage('cũ.txt', 'mới'), await s.stage('thư mục/mới.tif', 'thêm'), await s.stage('trùng.txt', 'cũ')];
    armed = true;
    const err = await t.throwsAsync(s.ocfl.addVersion('đối-tượng', files, info('v2')));
    armed = false;
    t.is((err as { code?: string }).code, 'ENOSPC', `step ${k}: ${err?.message}`);

    // Exactly as before: the committed inventory is unchanged...
    if (existing) {
      t.true((await readFile(join(objectDir, 'inventory.json'))).equals(before as Buffer), `step ${k}`);
      t.is((await s.ocfl.readInventory('đối-tượng'))?.head, 'v1', `step ${k}`);
      t.is(await readFile(await s.ocfl.contentFile('đối-tượng', 'cũ.txt'), 'utf8'), 'cũ');
      // ...and the only findings of the validator are about the uncommitted v2.
      for (const issue of await validateObject(objectDir)) t.regex(issue.path, /^v2(\/|$)/, `step ${k}: ${JSON.stringify(issue)}`);
    } else {
      t.is(await s.ocfl.readInventory('đối-tượng'), null, `step ${k}`);
    }
    // ...the leftover is found and discarded, and the root validates.
    const incomplete = await s.ocfl.incompleteVersion('đối-tượng');
    const rootIssues = await validateStorageRoot(s.rootDir);
    if (incomplete === null) t.deepEqual(rootIssues, [], `step ${k}: nothing detected, so nothing may be left`);
    else t.true(await s.ocfl.discardIncompleteVersion('đối-tượng'), `step ${k}`);
    t.is(await s.ocfl.incompleteVersion('đối-tượng'), null, `step ${k}`);
    t.deepEqual(await validateStorageRoot(s.rootDir), [], `step ${k}`);
    if (!existing) t.deepEqual((await readdir(s.rootDir)).sort(), ['0=ocfl_1.1', 'extensions', 'ocfl_layout.json'], `step ${k}`);

    // ...and the next attempt works.
    const retry = [await s.stage('cũ.txt', 'mới'), await s.stage('thư mục/mới.tif', 'thêm'), await s.stage('trùng.txt', 'cũ')];
    const ok = await s.ocfl.addVersion('đối-tượng', retry, info('v2'));
    t.is(ok.version, existing ? 'v2' : 'v1', `step ${k}`);
    t.deepEqual(await validateStorageRoot(s.rootDir), [], `step ${k}`);
  }
}

test('ENOSPC at any step of adding v2 leaves the object exactly as before; the incomplete version is found and discarded', async (t) => {
  await faultRun(t, true);
});

test('ENOSPC at any step of creating a new object leaves nothing behind after the discard', async (t) => {
  await faultRun(t, false);
});

test('a crash between the two renames of the commit: the stale root sidecar is detected and rewritten', async (t) => {
  const { ocfl, objectDir, rootDir } = await twoVersions(t);
  const sidecar = join(objectDir, 'inventory.json.sha512');
  // What the root looked like after renaming inventory.json but not yet its sidecar: the v1 one.
  await writeFile(sidecar, await readFile(join(objectDir, 'v1', 'inventory.json.sha512')));
  t.is(await ocfl.incompleteVersion('sach-1'), sidecar);
  t.true(await ocfl.discardIncompleteVersion('sach-1'));
  t.is((await ocfl.readInventory('sach-1'))?.head, 'v2', 'the committed version stays');
  t.deepEqual(await validateStorageRoot(rootDir), []);
});

test('a crash after v3 was fully written but before the root inventory: v3 is incomplete and discarded', async (t) => {
  const { ocfl, objectDir, rootDir } = await twoVersions(t);
  // Fake a fully written but uncommitted v3: a copy of v2 relabelled.
  await cp(join(objectDir, 'v2'), join(objectDir, 'v3'), { recursive: true });
  await writeFile(join(objectDir, '.inventory.json.1234.tmp'), '{}');
  t.is(await ocfl.incompleteVersion('sach-1'), join(objectDir, 'v3'));
  await t.throwsAsync(ocfl.addVersion('sach-1', [], info('x')), { instanceOf: OcflError });
  t.true(await ocfl.discardIncompleteVersion('sach-1'));
  t.is(await ocfl.incompleteVersion('sach-1'), null);
  t.false(await ocfl.discardIncompleteVersion('sach-1'));
  t.deepEqual(await validateStorageRoot(rootDir), []);
});

test('an object root with several versions and no inventory is damaged, not interrupted: never deleted', async (t) => {
  const { ocfl, objectDir } = await twoVersions(t);
  await rm(join(objectDir, 'inventory.json'));
  t.is(await ocfl.incompleteVersion('sach-1'), objectDir);
  const err = await t.throwsAsync(ocfl.discardIncompleteVersion('sach-1'), { instanceOf: OcflError });
  t.is(err?.code, 'damaged-object');
  t.deepEqual((await readdir(objectDir)).sort(), ['0=ocfl_object_1.1', 'inventory.json.sha512', 'v1', 'v2']);
});

test('the cross-process lock file: a dead holder is taken over, a live one makes addVersion wait then fail', async (t) => {
  const { ocfl, stage, rootDir } = await setup(t);
  const lock = join(rootDir, `.lock-${sha256(Buffer.from('khoá', 'utf8'))}`);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  await writeFile(lock, `${dead}\n`);
  t.is((await ocfl.addVersion('khoá', [await stage('a.txt', 'a')], info('a'))).version, 'v1');
  await t.throwsAsync(stat(lock), undefined, 'released after use');

  const slow = await OcflStorageRoot.open(rootDir, { lockTimeoutMs: 200 });
  await writeFile(lock, '1\n'); // pid 1 is alive
  const err = await t.throwsAsync(slow.addVersion('khoá', [await stage('b.txt', 'b')], info('b')), { instanceOf: OcflError });
  t.is(err?.code, 'locked');
  await rm(lock);
  t.deepEqual(await validateStorageRoot(rootDir), []);
});

// ---------------------------------------------------------------------------------------------
// The validator catches damage, with the spec's codes

async function damaged(t: ExecutionContext, damage: (objectDir: string) => Promise<void>) {
  const s = await twoVersions(t);
  await damage(s.objectDir);
  return { root: await validateStorageRoot(s.rootDir), object: await validateObject(s.objectDir) };
}

const rewriteInventory = async (dir: string, edit: (inv: Record<string, any>) => void) => {
  const inv = JSON.parse(await readFile(join(dir, 'inventory.json'), 'utf8')) as Record<string, any>;
  edit(inv);
  const text = `${JSON.stringify(inv, null, 2)}\n`;
  await writeFile(join(dir, 'inventory.json'), text);
  await writeFile(join(dir, 'inventory.json.sha512'), `${sha512(text)} inventory.json\n`);
};

test('validator: a flipped byte in a content file is E092', async (t) => {
  const { root, object } = await damaged(t, async (dir) => {
    const path = join(dir, 'v1', 'content', 'bia.jpg');
    const bytes = await readFile(path);
    bytes[3] = (bytes[3] as number) ^ 0x01;
    await writeFile(path, bytes);
  });
  t.deepEqual(codes(object), ['E092', 'E093']);
  t.true(root.some((i) => i.code === 'E092' && i.path.endsWith('/v1/content/bia.jpg')));
});

test('validator: a missing content file is E092', async (t) => {
  const { object } = await damaged(t, (dir) => rm(join(dir, 'v2', 'content', 'mục lục.txt')));
  t.deepEqual(codes(object), ['E092']);
  t.is(object[0]?.path, 'v2/content/mục lục.txt');
});

test('validator: an extra file is E023 in a content directory and E001 in the object root', async (t) => {
  const inContent = await damaged(t, (dir) => writeFile(join(dir, 'v1', 'content', 'lạ.txt'), 'lạ'));
  t.deepEqual(codes(inContent.object), ['E023']);
  const inRoot = await damaged(t, (dir) => writeFile(join(dir, 'ghi chú.txt'), 'lạ'));
  t.deepEqual(codes(inRoot.object), ['E001']);
  const inVersion = await damaged(t, (dir) => writeFile(join(dir, 'v2', 'lạ.txt'), 'lạ'));
  t.deepEqual(codes(inVersion.object), ['E015']);
});

test('validator: a wrong sidecar is E060, a badly formed one E061, a missing one E058', async (t) => {
  const wrong = await damaged(t, (dir) => writeFile(join(dir, 'inventory.json.sha512'), `${'0'.repeat(128)} inventory.json\n`));
  t.deepEqual(codes(wrong.object), ['E060']);
  const form = await damaged(t, (dir) => writeFile(join(dir, 'v1', 'inventory.json.sha512'), 'rác'));
  t.deepEqual(codes(form.object), ['E061']);
  const missing = await damaged(t, (dir) => rm(join(dir, 'v1', 'inventory.json.sha512')));
  t.deepEqual(codes(missing.object), ['E058']);
});

test('validator: a version gap is E010', async (t) => {
  const { object } = await damaged(t, async (dir) => {
    await rename(join(dir, 'v2'), join(dir, 'v3'));
    const relabel = (inv: Record<string, any>) => {
      const swap = (paths: string[]) => paths.map((p) => p.replace(/^v2\//, 'v3/'));
      for (const k of Object.keys(inv.manifest)) inv.manifest[k] = swap(inv.manifest[k]);
      for (const block of Object.values(inv.fixity as Record<string, Record<string, string[]>>)) for (const k of Object.keys(block)) block[k] = swap(block[k] as string[]);
      inv.versions = { v1: inv.versions.v1, v3: inv.versions.v2 };
      inv.head = 'v3';
    };
    await rewriteInventory(dir, relabel);
    await rewriteInventory(join(dir, 'v3'), relabel);
  });
  t.deepEqual(codes(object), ['E010']);
});

test('validator: a root inventory that differs from the head version inventory is E064', async (t) => {
  const { object } = await damaged(t, (dir) =>
    rewriteInventory(dir, (inv) => {
      inv.versions.v2.message = 'sửa lén';
    }),
  );
  t.deepEqual(codes(object), ['E064']);
});

test('validator: structural rules of the inventory and the storage root', async (t) => {
  const noType = await damaged(t, (dir) =>
    rewriteInventory(dir, (inv) => {
      inv.type = 'https://ocfl.io/1.0/spec/#inventory';
      inv.extra = true;
      inv.versions.v2.created = 'hôm qua';
      inv.versions.v2.state[Object.keys(inv.versions.v2.state)[0] as string].push('../trốn.txt');
    }),
  );
  t.deepEqual(
    codes(noType.object).filter((c) => c !== 'E064'),
    ['E038', 'E049', 'E052', 'E102'],
  );
  const stray = await damaged(t, async (dir) => {
    await writeFile(join(dir, '..', 'lạc.txt'), 'x');
    await mkdir(join(dir, '..', '..', 'rỗng'));
  });
  t.deepEqual(codes(stray.root), ['E073', 'E084']);
  const wrongPlace = await damaged(t, async (dir) => {
    await rename(dir, join(dir, '..', 'f'.repeat(64)));
  });
  t.deepEqual(codes(wrongPlace.root), ['E083']);
});

test('validator: warnings only when asked', async (t) => {
  const { objectDir } = await twoVersions(t);
  t.deepEqual(await validateObject(objectDir), []);
  const warnings = await validateObject(objectDir, { warnings: true });
  t.deepEqual(codes(warnings), ['W005'], 'the id "sach-1" is not a URI');
});

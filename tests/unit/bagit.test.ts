import test from 'ava';
import type { ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type BagInfoInput,
  BagWriteError,
  type BagWriteErrorCode,
  byStrength,
  type BagPayloadEntry,
  type BagProblemCode,
  decodeManifestPath,
  encodeManifestPath,
  formatBagSize,
  validateBag,
  writeBag,
} from '../../src/storage/bagit.ts';
import { dublinCoreXml } from '../../src/formats/dublin-core.ts';

const KIEU = 'trang_01 Truyện Kiều.tif';
const NESTED = 'Hán Nôm/quyển 1/trang 02.tif';
const NOTE = 'Hán Nôm/quyển 1/ghi chú.txt';
const ODD = 'lạ/100%\nmới.txt'; // a '%' and a line feed: percent-encoded in the manifests

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'thukho-bagit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const info = {
  sourceOrganization: 'Thư viện tỉnh Nam Định',
  externalIdentifier: 'obj-truyen-kieu',
  externalDescription: 'Bản khắc gỗ Truyện Kiều,\nbản Liễu Văn Đường 1871',
  baggingDate: '2024-05-17',
  other: { 'Contact-Name': 'Nguyễn Thị Hoa', 'Bag-Count': '1 of 1' },
};

interface Fixture {
  bag: string;
  work: string;
  sources: Map<string, Buffer>;
  result: Awaited<ReturnType<typeof writeBag>>;
}

/** A freshly written bag with Vietnamese names, nested folders and an awkward file name. */
async function freshBag(t: ExecutionContext): Promise<Fixture> {
  const work = await tempDir(t);
  const kieu = randomBytes(300_000);
  const page2 = randomBytes(70_000);
  await writeFile(path.join(work, 'kieu.tif'), kieu);
  await writeFile(path.join(work, 'page2.tif'), page2);
  const note = 'Chữ Nôm: 𡨸喃 — ghi chú của thủ thư\n';
  const dc = dublinCoreXml({ title: 'Truyện Kiều', alternativeTitle: ['金雲翹傳'], language: ['vie', 'lzh'] }, 'obj-truyen-kieu');
  const payload: BagPayloadEntry[] = [
    { path: KIEU, source: path.join(work, 'kieu.tif') },
    { path: NESTED, source: path.join(work, 'page2.tif') },
    { path: NOTE, content: note },
    { path: 'metadata/dc.xml', content: Buffer.from(dc, 'utf8') },
    { path: ODD, content: 'odd' },
  ];
  const bag = path.join(work, 'bags', 'obj-truyen-kieu');
  const result = await writeBag(bag, payload, info);
  const sources = new Map<string, Buffer>([
    [KIEU, kieu],
    [NESTED, page2],
    [NOTE, Buffer.from(note, 'utf8')],
    ['metadata/dc.xml', Buffer.from(dc, 'utf8')],
    [ODD, Buffer.from('odd')],
  ]);
  return { bag, work, sources, result };
}

const sha = (alg: string, data: Buffer | string) => createHash(alg).update(data).digest('hex');

/** Recomputes the tag manifests, as someone who edits a tag file "properly" would. */
async function rehashTagManifests(bag: string): Promise<void> {
  for (const alg of ['sha256', 'sha512']) {
    const name = path.join(bag, `tagmanifest-${alg}.txt`);
    const lines = (await readFile(name, 'utf8')).split('\n').filter(Boolean);
    const out: string[] = [];
    for (const line of lines) {
      const file = line.slice(line.indexOf(' ') + 1);
      out.push(`${sha(alg, await readFile(path.join(bag, file)))} ${file}\n`);
    }
    await writeFile(name, out.join(''));
  }
}

function codes(problems: Array<{ code: string }>): string[] {
  return [...new Set(problems.map((p) => p.code))].sort();
}

function assertBilingual(t: ExecutionContext, problems: Array<{ message: { vi: string; en: string } }>): void {
  for (const p of problems) {
    t.truthy(p.message.vi);
    t.truthy(p.message.en);
    t.not(p.message.vi, p.message.en);
  }
}

async function expectOnly(t: ExecutionContext, bag: string, expected: BagProblemCode[]) {
  const report = await validateBag(bag);
  t.false(report.valid);
  t.deepEqual(codes(report.problems), [...expected].sort(), JSON.stringify(report.problems, null, 2));
  assertBilingual(t, report.problems);
  return report;
}

// ---------------------------------------------------------------------------------------------

test('writes a complete BagIt 1.0 bag that validates', async (t) => {
  const { bag, work, sources, result } = await freshBag(t);
  const bytes = [...sources.values()].reduce((n, b) => n + b.length, 0);
  t.deepEqual(result, { payloadOxum: `${bytes}.5`, files: 5, bytes });

  t.is(await readFile(path.join(bag, 'bagit.txt'), 'utf8'), 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
  t.deepEqual((await readdir(bag)).sort(), [
    'bag-info.txt',
    'bagit.txt',
    'data',
    'manifest-sha256.txt',
    'manifest-sha512.txt',
    'tagmanifest-sha256.txt',
    'tagmanifest-sha512.txt',
  ]);
  // The payload is a byte-exact copy, under data/ with the Vietnamese names as given.
  for (const [p, content] of sources) t.deepEqual(await readFile(path.join(bag, 'data', ...p.split('/'))), content);

  const bagInfo = await readFile(path.join(bag, 'bag-info.txt'), 'utf8');
  t.is(
    bagInfo,
    [
      'Source-Organization: Thư viện tỉnh Nam Định',
      'Bagging-Date: 2024-05-17',
      `Payload-Oxum: ${bytes}.5`,
      'External-Identifier: obj-truyen-kieu',
      `Bag-Size: ${formatBagSize(bytes)}`,
      'External-Description: Bản khắc gỗ Truyện Kiều, bản Liễu Văn Đường 1871',
      'Contact-Name: Nguyễn Thị Hoa',
      'Bag-Count: 1 of 1',
      '',
    ].join('\n'),
  );

  const manifest = await readFile(path.join(bag, 'manifest-sha512.txt'), 'utf8');
  t.true(manifest.includes(`${sha('sha512', sources.get(KIEU)!)} data/${KIEU}\n`));
  t.true(manifest.includes(`${sha('sha512', 'odd')} data/lạ/100%25%0Amới.txt\n`));
  t.is(manifest.split('\n').filter(Boolean).length, 5);
  const manifest256 = await readFile(path.join(bag, 'manifest-sha256.txt'), 'utf8');
  t.true(manifest256.includes(`${sha('sha256', sources.get(NESTED)!)} data/${NESTED}\n`));

  const tagManifest = await readFile(path.join(bag, 'tagmanifest-sha256.txt'), 'utf8');
  t.deepEqual(
    tagManifest.split('\n').filter(Boolean).map((l) => l.split(' ')[1]),
    ['bag-info.txt', 'bagit.txt', 'manifest-sha256.txt', 'manifest-sha512.txt'],
  );
  t.true(tagManifest.includes(`${sha('sha256', bagInfo)} bag-info.txt\n`));

  const report = await validateBag(bag);
  t.true(report.valid, JSON.stringify(report.problems, null, 2));
  t.deepEqual(report.problems, []);
  t.deepEqual(report.algorithms, ['sha256', 'sha512']);
  t.deepEqual(report.info['Payload-Oxum'], [`${bytes}.5`]);
  t.deepEqual(report.info['Source-Organization'], ['Thư viện tỉnh Nam Định']);
  t.deepEqual(
    report.payload.map((f) => f.path).sort(),
    [...sources.keys()].sort(),
  );
  for (const f of report.payload) {
    const content = sources.get(f.path)!;
    t.is(f.size, content.length);
    t.deepEqual(f.digests, { sha256: sha('sha256', content), sha512: sha('sha512', content) });
  }

  // Nothing but the bag is left beside it.
  t.deepEqual(await readdir(path.join(work, 'bags')), ['obj-truyen-kieu']);
});

test('a flipped payload byte is a digest mismatch', async (t) => {
  const { bag } = await freshBag(t);
  const file = path.join(bag, 'data', KIEU);
  const content = await readFile(file);
  content[12_345] = content[12_345]! ^ 0x01;
  await writeFile(file, content);
  const report = await expectOnly(t, bag, ['digest-mismatch']);
  t.is(report.problems.length, 1);
  t.is(report.problems[0]!.path, `data/${KIEU}`);
  t.regex(report.problems[0]!.message.vi, /Mã băm/);
});

test('a deleted payload file is missing (in every manifest) and the Oxum no longer matches', async (t) => {
  const { bag } = await freshBag(t);
  await unlink(path.join(bag, 'data', ...NESTED.split('/')));
  const report = await expectOnly(t, bag, ['missing-file', 'oxum-mismatch']);
  const missing = report.problems.filter((p) => p.code === 'missing-file');
  t.is(missing.length, 2);
  t.true(missing.every((p) => p.path === `data/${NESTED}`));
  t.is(report.payload.length, 4);
});

test('an added file is unlisted', async (t) => {
  const { bag } = await freshBag(t);
  await writeFile(path.join(bag, 'data', 'Hán Nôm', 'thêm.txt'), 'không có trong manifest');
  const report = await expectOnly(t, bag, ['oxum-mismatch', 'unlisted-file']);
  const unlisted = report.problems.filter((p) => p.code === 'unlisted-file');
  t.is(unlisted.length, 1);
  t.is(unlisted[0]!.path, 'data/Hán Nôm/thêm.txt');
  t.regex(unlisted[0]!.message.en, /manifest-sha256\.txt, manifest-sha512\.txt/);
});

test('an edited bag-info.txt fails the tag manifests', async (t) => {
  const { bag } = await freshBag(t);
  await appendFile(path.join(bag, 'bag-info.txt'), 'Contact-Email: hoa@example.vn\n');
  const report = await expectOnly(t, bag, ['tag-digest-mismatch']);
  t.is(report.problems.length, 1);
  t.is(report.problems[0]!.path, 'bag-info.txt');
  t.regex(report.problems[0]!.message.en, /tagmanifest-sha256\.txt, tagmanifest-sha512\.txt/);
  t.deepEqual(report.info['Contact-Email'], ['hoa@example.vn']);
});

test('a wrong Payload-Oxum is reported even when the tag manifests were updated', async (t) => {
  const { bag, result } = await freshBag(t);
  const file = path.join(bag, 'bag-info.txt');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace(`Payload-Oxum: ${result.payloadOxum}`, `Payload-Oxum: ${result.bytes + 1}.5`));
  await rehashTagManifests(bag);
  const report = await expectOnly(t, bag, ['oxum-mismatch']);
  t.is(report.problems.length, 1);
  t.regex(report.problems[0]!.message.en, new RegExp(result.payloadOxum.replace('.', '\\.')));

  await writeFile(file, text.replace(`Payload-Oxum: ${result.payloadOxum}`, 'Payload-Oxum: lots'));
  await rehashTagManifests(bag);
  await expectOnly(t, bag, ['bad-bag-info']);
});

test('manifest paths that leave the bag are refused and nothing outside is read', async (t) => {
  const { bag } = await freshBag(t);
  const hex = 'a'.repeat(128);
  await appendFile(
    path.join(bag, 'manifest-sha512.txt'),
    `${hex} ../etc/passwd\n${hex} data/../../etc/passwd\n${hex} /etc/passwd\n`,
  );
  await rehashTagManifests(bag); // so that only the hostile lines are wrong
  await appendFile(path.join(bag, 'tagmanifest-sha256.txt'), `${'b'.repeat(64)} ../../../../etc/shadow\n`);
  let last = { files: 0, bytes: 0 };
  const report = await validateBag(bag, { onProgress: (p) => (last = p) });
  t.false(report.valid);
  const escapes = report.problems.filter((p) => p.code === 'path-escape');
  t.is(escapes.length, 4, JSON.stringify(report.problems, null, 2));
  t.deepEqual(codes(report.problems), ['path-escape']);
  assertBilingual(t, report.problems);
  // Exactly the 5 payload files and the 4 listed tag files were read.
  t.is(last.files, 9);
});

test('a fetch.txt is not supported', async (t) => {
  const { bag } = await freshBag(t);
  await writeFile(path.join(bag, 'fetch.txt'), `https://example.org/x.tif 10 data/x.tif\n`);
  const report = await expectOnly(t, bag, ['fetch-unsupported']);
  t.is(report.problems[0]!.path, 'fetch.txt');
});

test('a symbolic link in the payload is reported and not followed', async (t) => {
  const { bag } = await freshBag(t);
  await symlink('/etc/hostname', path.join(bag, 'data', 'link.txt'));
  const report = await expectOnly(t, bag, ['not-regular-file']);
  t.is(report.problems[0]!.path, 'data/link.txt');
});

test('structural problems are all collected, never thrown', async (t) => {
  const { bag } = await freshBag(t);
  await unlink(path.join(bag, 'bagit.txt'));
  await unlink(path.join(bag, 'manifest-sha256.txt'));
  await unlink(path.join(bag, 'manifest-sha512.txt'));
  await appendFile(path.join(bag, 'tagmanifest-sha512.txt'), 'not a manifest line\n');
  const report = await validateBag(bag);
  t.false(report.valid);
  // missing-file: the tag manifests list the deleted files.
  t.deepEqual(codes(report.problems), ['bad-bagit-txt', 'bad-manifest-line', 'missing-file', 'no-manifest']);
  t.is(report.problems.filter((p) => p.code === 'missing-file').length, 6);
  assertBilingual(t, report.problems);

  const bad = await validateBag(path.join(bag, 'does-not-exist'));
  t.deepEqual(codes(bad.problems), ['not-a-bag']);

  await writeFile(path.join(bag, 'bagit.txt'), '\uFEFFBagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n');
  t.true((await validateBag(bag)).problems.some((p) => p.code === 'bad-bagit-txt' && p.path === 'bagit.txt'));
  await writeFile(path.join(bag, 'bagit.txt'), 'BagIt-Version: 0.96\nTag-File-Character-Encoding: UTF-8\n');
  t.regex((await validateBag(bag)).problems.find((p) => p.code === 'bad-bagit-txt')!.message.vi, /Phiên bản BagIt "0\.96"/);
});

test('a digest of the wrong length and a duplicate entry are manifest problems', async (t) => {
  const { bag } = await freshBag(t);
  const file = path.join(bag, 'manifest-sha256.txt');
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  await writeFile(file, [...lines, lines[0]!, `abc data/${KIEU}`, ''].join('\n'));
  await rehashTagManifests(bag);
  const report = await expectOnly(t, bag, ['bad-manifest-line', 'duplicate-entry']);
  t.is(report.problems.length, 2);
});

test('progress is reported for every file', async (t) => {
  const { bag, result } = await freshBag(t);
  const seen: Array<{ files: number; bytes: number }> = [];
  const report = await validateBag(bag, { onProgress: (p) => seen.push(p) });
  t.true(report.valid);
  t.is(seen.length, 5 + 4);
  t.deepEqual(seen.map((p) => p.files), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.true(seen[4]!.bytes === result.bytes);
});

test('an interrupted write leaves no bag and no partial directory', async (t) => {
  const work = await tempDir(t);
  await writeFile(path.join(work, 'a.tif'), randomBytes(10_000));
  const out = path.join(work, 'bag');
  const err = await t.throwsAsync(
    writeBag(
      out,
      [
        { path: 'a.tif', source: path.join(work, 'a.tif') },
        { path: 'b.tif', source: path.join(work, 'không-có.tif') }, // vanished midway
        { path: 'c.txt', content: 'c' },
      ],
      info,
    ),
    { instanceOf: BagWriteError },
  );
  t.is(err?.code, 'source-unreadable');
  t.regex(err?.messages.vi ?? '', /Không đọc được tệp nguồn/);
  await t.throwsAsync(stat(out), { code: 'ENOENT' });
  t.deepEqual((await readdir(work)).sort(), ['a.tif']);
});

test('refuses a non-empty output directory, accepts an empty one', async (t) => {
  const work = await tempDir(t);
  const out = path.join(work, 'bag');
  await mkdir(out);
  await writeFile(path.join(out, 'keep.txt'), 'đã có');
  const err = await t.throwsAsync(writeBag(out, [{ path: 'x.txt', content: 'x' }], info), { instanceOf: BagWriteError });
  t.is(err?.code, 'out-dir-not-empty');
  t.deepEqual(await readdir(out), ['keep.txt']);
  t.deepEqual((await readdir(work)).sort(), ['bag']);

  const empty = path.join(work, 'empty');
  await mkdir(empty);
  const result = await writeBag(empty, [{ path: 'x.txt', content: 'x' }], info);
  t.is(result.payloadOxum, '1.1');
  t.true((await validateBag(empty)).valid);

  const none = path.join(work, 'none');
  t.is((await writeBag(none, [], info)).payloadOxum, '0.0');
  t.true((await validateBag(none)).valid);
});

test('rejects unsafe or ambiguous payload paths and bad bag-info before writing anything', async (t) => {
  const work = await tempDir(t);
  const out = path.join(work, 'bag');
  const bad: Array<[BagPayloadEntry[], BagWriteErrorCode]> = [
    [[{ path: '../thoát.txt', content: 'x' }], 'invalid-path'],
    [[{ path: '/etc/passwd', content: 'x' }], 'invalid-path'],
    [[{ path: 'a//b.txt', content: 'x' }], 'invalid-path'],
    [[{ path: 'a\\b.txt', content: 'x' }], 'invalid-path'],
    [[{ path: 'x.txt', source: 'relative/x.txt' }], 'invalid-path'],
    [[{ path: 'a', content: 'x' }, { path: 'a/b', content: 'y' }], 'invalid-path'],
    [[{ path: 'Kiều.txt'.normalize('NFD'), content: 'x' }, { path: 'Kiều.txt', content: 'y' }], 'duplicate-path'],
  ];
  for (const [payload, code] of bad) {
    const err = await t.throwsAsync(writeBag(out, payload, info), { instanceOf: BagWriteError });
    t.is(err?.code, code, payload.map((p) => p.path).join(', '));
  }
  const badInfo: BagInfoInput[] = [
    { ...info, baggingDate: '17/05/2024' },
    { ...info, sourceOrganization: '  ' },
    { ...info, other: { 'Payload-Oxum': '1.1' } },
    { ...info, other: { 'Nhãn: xấu': 'x' } },
  ];
  for (const i of badInfo) {
    const err = await t.throwsAsync(writeBag(out, [{ path: 'x.txt', content: 'x' }], i), { instanceOf: BagWriteError });
    t.is(err?.code, 'invalid-info');
  }
  t.deepEqual(await readdir(work), []);
});

test('NFD payload names are written NFC', async (t) => {
  const work = await tempDir(t);
  const out = path.join(work, 'bag');
  await writeBag(out, [{ path: 'Truyện Kiều.txt'.normalize('NFD'), content: 'x' }], info);
  t.deepEqual(await readdir(path.join(out, 'data')), ['Truyện Kiều.txt'.normalize('NFC')]);
  t.true((await validateBag(out)).valid);
});

test('manifest path encoding and Bag-Size', (t) => {
  t.is(encodeManifestPath('a%0A\r\nb'), 'a%250A%0D%0Ab');
  t.is(decodeManifestPath('a%250A%0D%0Ab'), 'a%0A\r\nb');
  t.is(decodeManifestPath('a%0d%0a%41'), 'a\r\n%41');
  t.is(formatBagSize(0), '0 bytes');
  t.is(formatBagSize(999), '999 bytes');
  t.is(formatBagSize(1_000), '1 KB');
  t.is(formatBagSize(1_234_567_890), '1.2 GB');
  t.is(formatBagSize(42_600_000_000), '42.6 GB');
  t.is(formatBagSize(999_999_999), '1 GB');
});

const GOLDEN = path.join(import.meta.dirname, '..', 'fixtures', 'bags');

test('every bag bagit-python 1.8.1 wrote validates: each manifest algorithm checked, SHA-512 always computed', async (t) => {
  const expected: Record<string, { algorithms: string[]; tags: string[] }> = {
    'sha256-only': { algorithms: ['sha256'], tags: ['sha256'] },
    'md5-only': { algorithms: ['md5'], tags: ['md5'] },
    'sha512-sha256': { algorithms: ['sha256', 'sha512'], tags: ['sha256', 'sha512'] },
    'sha3-blake2b': { algorithms: ['blake2b', 'sha3_256'], tags: ['blake2b', 'sha3_256'] },
    'vietnamese-names': { algorithms: ['sha256'], tags: ['sha256'] },
    'bag-info': { algorithms: ['sha256'], tags: ['sha256'] },
  };
  for (const [bag, want] of Object.entries(expected)) {
    const v = await validateBag(path.join(GOLDEN, bag));
    t.true(v.valid, `${bag}: ${JSON.stringify(v.problems)}`);
    t.deepEqual(v.algorithms, want.algorithms, bag);
    t.deepEqual(v.tagAlgorithms, want.tags, bag);
    t.is(v.version, '0.97');
    t.is(v.info['Payload-Oxum']?.[0], v.payloadOxum);
    t.is(v.payload.length, 2);
    for (const p of v.payload) {
      const bytes = await readFile(path.join(GOLDEN, bag, 'data', ...p.path.split('/')));
      t.is(p.digests.sha512, createHash('sha512').update(bytes).digest('hex'));
    }
  }
});

test('a manifest that names a file in NFD finds it after a copy renamed it to NFC', async (t) => {
  const dir = path.join(await tempDir(t), 'bag');
  await cp(path.join(GOLDEN, 'vietnamese-names'), dir, { recursive: true });
  const folder = path.join(dir, 'data', 'Truyện Kiều'.normalize('NFC'));
  await rename(path.join(folder, 'trang một.png'.normalize('NFD')), path.join(folder, 'trang một.png'.normalize('NFC')));
  const v = await validateBag(dir);
  t.true(v.valid, JSON.stringify(v.problems));
});

test('strongest algorithm first', (t) => {
  t.deepEqual(byStrength(['md5', 'sha256', 'sha1', 'sha512', 'sha3_256', 'blake2b']), ['blake2b', 'sha512', 'sha256', 'sha3_256', 'sha1', 'md5']);
});

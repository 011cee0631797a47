import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadObject, objectStream } from '../../src/application/object-commands.ts';
import { objectProvenance } from '../../src/application/provenance.ts';
import { thukho as runThukho } from '../helpers/cli.ts';
import { countEvents, withEventLog } from '../helpers/events.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * `thukho ingest-bag` end to end through the CLI, on bags LoC bagit-python 1.8.1 wrote
 * (tests/fixtures/bags, golden bytes). A refusal must leave nothing: no event, no OCFL object,
 * no staged bytes.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'bags');

/** `thukho ARGS` as an operator runs it (tests/helpers/cli.ts), with the arguments spread. */
const thukho = (dataDir: string, ...args: string[]) => runThukho(dataDir, args);

/** A copy of a golden bag under `folder` (default: its own name), safe to damage. */
function copyBag(work: string, bag: string, folder = bag): string {
  const to = join(work, 'bags', folder);
  cpSync(join(FIXTURES, bag), to, { recursive: true });
  return to;
}

/** OCFL objects in the storage root (anything beside the root's own declaration files). */
function ocflObjects(dataDir: string): string[] {
  const root = join(dataDir, 'ocfl');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => !n.startsWith('0=') && !n.startsWith('ocfl_') && n !== 'extensions');
}

/** Bytes left in staging by any process. */
function stagedFiles(dataDir: string): string[] {
  const root = join(dataDir, 'staging');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
}

async function registered(dataDir: string, objectId: string) {
  return withEventLog(dataDir, async (store) => {
    for await (const e of store.readStream(objectStream(objectId), { maxCount: 1 })) return e.data as Record<string, unknown>;
    return undefined;
  });
}

test.serial('bagit-python bags of every algorithm ingest; what was verified and bag-info.txt are on record; a re-import is "already here"', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-bag-in-'));
  const dataDir = join(work, 'repo');
  try {
    const expected: Array<[bag: string, id: string, verified: string[], tags: string[]]> = [
      ['sha256-only', 'sha256-only', ['sha256'], ['sha256']],
      ['md5-only', 'md5-only', ['md5'], ['md5']],
      ['sha512-sha256', 'sha512-sha256', ['sha512', 'sha256'], ['sha512', 'sha256']],
      ['sha3-blake2b', 'sha3-blake2b', ['blake2b', 'sha3_256'], ['blake2b', 'sha3_256']],
      ['vietnamese-names', 'vietnamese-names', ['sha256'], ['sha256']],
      ['bag-info', 'nd-hn-0042', ['sha256'], ['sha256']],
    ];
    for (const [bag, id, verified, tags] of expected) {
      const r = await thukho(dataDir, 'ingest-bag', copyBag(work, bag));
      t.is(r.code, 0, `${bag}: ${r.stdout}${r.stderr}`);
      t.regex(r.stdout, new RegExp(`ingested: ${id} \\(2 tệp/files; đã kiểm tra / verified: ${verified.join(', ')}; tệp thẻ / tag files: ${tags.join(', ')}\\)`), bag);
      const data = await registered(dataDir, id);
      const record = data?.bag as { verified: string[]; tagVerified: string[]; bagitVersion: string; payloadOxum: string; info: Record<string, string[]> } | undefined;
      t.deepEqual(record?.verified, verified, bag);
      t.deepEqual(record?.tagVerified, tags, bag);
      t.is(record?.bagitVersion, '0.97');
      t.deepEqual(record?.info['Bag-Software-Agent'], ['bagit.py v1.8.1 <https://github.com/LibraryOfCongress/bagit-python>']);
      t.is(record?.payloadOxum, readFileSync(join(FIXTURES, bag, 'bag-info.txt'), 'utf8').match(/Payload-Oxum: (\S+)/)?.[1]);
      // Our own storage digest is SHA-512 whatever the bag carried, computed from the bytes.
      await withEventLog(dataDir, async (store) => {
        const { state } = await loadObject(store, id);
        if (state.status !== 'active') return t.fail(`${bag}: no work`);
        t.is(state.files.length, 2);
        for (const f of state.files) t.regex(f.digests.sha512, /^[0-9a-f]{128}$/);
      });
    }

    // Every bag-info.txt element is kept (repeated labels as lists, unknown labels too) and the
    // obvious ones describe the work; provenance shows them.
    await withEventLog(dataDir, async (store) => {
      const { state } = await loadObject(store, 'nd-hn-0042');
      if (state.status !== 'active') return t.fail('no work nd-hn-0042');
      t.like(state.metadata, {
        title: 'Lục Vân Tiên, bản in 1889, hai tờ bìa',
        description: 'Lục Vân Tiên, bản in 1889, hai tờ bìa',
        identifier: 'ND-HN-0042',
      });
      const prov = await objectProvenance(store, 'nd-hn-0042');
      const accession = prov.events[0]!;
      t.is(accession.eventType.value, 'accession');
      const info = accession.eventDetailInformation.bag?.info ?? {};
      t.deepEqual(info['Contact-Name'], ['Nguyễn Thị Hoa', 'Trần Văn Bình']);
      t.deepEqual(info['Scanner-Operator'], ['Lê Minh']);
      for (const label of [
        'Source-Organization',
        'Organization-Address',
        'Contact-Phone',
        'Contact-Email',
        'External-Description',
        'External-Identifier',
        'Bagging-Date',
        'Bag-Group-Identifier',
        'Bag-Count',
        'Internal-Sender-Identifier',
        'Internal-Sender-Description',
        'Bag-Software-Agent',
      ]) {
        t.is(info[label]?.length, 1, label);
      }
      t.regex(accession.eventDetailInformation.eventDetail.en, /every payload file verified: sha256; tag files verified: sha256/);
      t.regex(accession.eventDetailInformation.eventDetail.vi, /Source-Organization: Thư viện tỉnh Nam Định/);

      // NFD names on disk and in the manifest come in as NFC names.
      const viet = await loadObject(store, 'vietnamese-names');
      if (viet.state.status !== 'active') return t.fail('no work vietnamese-names');
      t.deepEqual(viet.state.files.map((f) => f.name).sort(), ['bìa sau.jpg', 'trang một.png'].map((n) => n.normalize('NFC')).sort());
    });

    // The same bag again (same folder, another folder, or copied through a file system that
    // normalised its names to NFC): "already here", exit 0, nothing written.
    const before = await countEvents(dataDir);
    const again = await thukho(dataDir, 'ingest-bag', copyBag(work, 'sha256-only', 'sha256-only-again'));
    t.is(again.code, 0, again.stdout + again.stderr);
    t.regex(again.stdout, /Đã có trong kho, không nhập lại \/ already here, nothing ingested: sha256-only \(2 tệp\/files\)/);
    t.notRegex(again.stdout, /Đã nhập \/ ingested/);
    const same = await thukho(dataDir, 'ingest-bag', join(work, 'bags', 'sha256-only'));
    t.regex(same.stdout, /already here, nothing ingested: sha256-only/);
    const nfc = copyBag(work, 'vietnamese-names', 'viet-copied');
    const nfd = join(nfc, 'data', 'Truyện Kiều'.normalize('NFC'), 'trang một.png'.normalize('NFD'));
    renameSync(nfd, join(nfc, 'data', 'Truyện Kiều'.normalize('NFC'), 'trang một.png'.normalize('NFC')));
    const copied = await thukho(dataDir, 'ingest-bag', nfc);
    t.is(copied.code, 0, copied.stdout + copied.stderr);
    t.regex(copied.stdout, /already here, nothing ingested: vietnamese-names/);
    t.is(await countEvents(dataDir), before);

    // A different bag under a taken id is refused, not merged into the work.
    const other = copyBag(work, 'md5-only', 'x');
    const taken = await thukho(dataDir, 'ingest-bag', other, '--id', 'sha256-only');
    t.is(taken.code, 1);
    t.regex(taken.stdout, /\[id-taken\].*"sha256-only".*Nothing was ingested/);
    t.is(await countEvents(dataDir), before);

    // Our own export comes back: as the same work in a fresh repository, "already here" in this one.
    const exported = join(work, 'exported');
    const out = await thukho(dataDir, 'export-bag', 'nd-hn-0042', exported);
    t.is(out.code, 0, out.stderr);
    const fresh = join(work, 'fresh');
    const back = await thukho(fresh, 'ingest-bag', exported);
    t.is(back.code, 0, back.stdout + back.stderr);
    t.regex(back.stdout, /ingested: nd-hn-0042 \(2 tệp\/files; đã kiểm tra \/ verified: sha512, sha256; tệp thẻ \/ tag files: sha512, sha256\)/);
    const digests = (dir: string) =>
      withEventLog(dir, async (s) => {
        const { state } = await loadObject(s, 'nd-hn-0042');
        return state.status === 'absent' ? null : { metadata: state.metadata, files: state.files.map((f) => [f.name, f.digests.sha512]) };
      });
    t.deepEqual(await digests(fresh), await digests(dataDir));
    const home = await thukho(dataDir, 'ingest-bag', exported);
    t.is(home.code, 0);
    t.regex(home.stdout, /already here, nothing ingested: nd-hn-0042/);
    t.is(await countEvents(dataDir), before);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

/** Rewrites a bag's sha256 manifest line for `path` (and drops the tag manifest) after a deliberate edit. */
function relist(bag: string, path: string) {
  const bytes = readFileSync(join(bag, ...path.split('/')));
  const manifest = join(bag, 'manifest-sha256.txt');
  const lines = readFileSync(manifest, 'utf8').split('\n').filter((l) => l && !l.endsWith(`  ${path}`));
  lines.push(`${createHash('sha256').update(bytes).digest('hex')}  ${path}`);
  writeFileSync(manifest, `${lines.join('\n')}\n`);
  unlinkSync(join(bag, 'tagmanifest-sha256.txt'));
}

function setOxum(bag: string, oxum: string) {
  const info = join(bag, 'bag-info.txt');
  writeFileSync(info, readFileSync(info, 'utf8').replace(/Payload-Oxum: \S+/, `Payload-Oxum: ${oxum}`));
}

test.serial('a bad bag is refused with the file and the reason in both languages, and leaves no work, no event, no file', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-bag-refused-'));
  const dataDir = join(work, 'repo');
  try {
    const cases: Array<{ name: string; damage: (bag: string) => void; code: string; path: RegExp }> = [
      {
        name: 'corrupted',
        damage: (bag) => {
          const f = join(bag, 'data', '2.jpg');
          const b = readFileSync(f);
          b[b.length - 10] = (b[b.length - 10] as number) ^ 0xff;
          writeFileSync(f, b);
        },
        code: 'digest-mismatch',
        path: /data\/2\.jpg/,
      },
      { name: 'missing', damage: (bag) => unlinkSync(join(bag, 'data', '1.png')), code: 'missing-file', path: /data\/1\.png/ },
      { name: 'extra', damage: (bag) => writeFileSync(join(bag, 'data', 'ghi chú.txt'), 'thêm'), code: 'unlisted-file', path: /data\/ghi chú\.txt/ },
      {
        name: 'bad-oxum',
        damage: (bag) => {
          setOxum(bag, '999.2');
          unlinkSync(join(bag, 'tagmanifest-sha256.txt'));
        },
        code: 'oxum-mismatch',
        path: /bag-info\.txt/,
      },
      {
        name: 'escape',
        damage: (bag) => appendFileSync(join(bag, 'manifest-sha256.txt'), `${'0'.repeat(64)}  data/../../etc/passwd\n`),
        code: 'path-escape',
        path: /manifest-sha256\.txt/,
      },
      {
        name: 'unsupported-algorithm',
        damage: (bag) => writeFileSync(join(bag, 'manifest-whirlpool.txt'), `${'0'.repeat(128)}  data/1.png\n${'0'.repeat(128)}  data/2.jpg\n`),
        code: 'unsupported-algorithm',
        path: /manifest-whirlpool\.txt/,
      },
      {
        // A valid bag whose file is not a page we can keep: refused before anything is registered.
        name: 'not-an-image',
        damage: (bag) => {
          writeFileSync(join(bag, 'data', 'ghi chú.txt'), 'không phải ảnh\n');
          relist(bag, 'data/ghi chú.txt');
          setOxum(bag, `${4074 + Buffer.byteLength('không phải ảnh\n')}.3`);
        },
        code: 'file-not-accepted',
        path: /data\/ghi chú\.txt/,
      },
    ];
    for (const c of cases) {
      const bag = copyBag(work, 'sha256-only', c.name);
      c.damage(bag);
      const r = await thukho(dataDir, 'ingest-bag', bag);
      t.is(r.code, 1, `${c.name}: ${r.stdout}${r.stderr}`);
      const line = r.stdout.split('\n').find((l) => l.includes(`[${c.code}]`));
      t.truthy(line, `${c.name}: ${r.stdout}`);
      t.regex(line ?? '', c.path, c.name);
      // Vietnamese first, then English, after the code.
      t.regex(line ?? '', /\] .*[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ].* \/ [A-Z"]/i, c.name);
      t.notRegex(r.stdout + r.stderr, /object\.json/, `${c.name}: a bag without object.json is never told about it`);
      t.is(await countEvents(dataDir), 0, `${c.name}: no event`);
      t.deepEqual(ocflObjects(dataDir), [], `${c.name}: no stored object`);
      t.deepEqual(stagedFiles(dataDir), [], `${c.name}: nothing left in staging`);
    }

    // The undamaged bag still goes in afterwards, under the id none of the refusals took.
    const ok = await thukho(dataDir, 'ingest-bag', copyBag(work, 'sha256-only'));
    t.is(ok.code, 0, ok.stdout + ok.stderr);
    t.deepEqual(ocflObjects(dataDir).length, 1);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { rollBackUncopiedHead } from '../../src/application/backup.ts';
import { stageStream } from '../../src/storage/digest.ts';
import { validateObject } from '../../src/storage/ocfl-validate.ts';
import { hashedNTupleObjectRoot, OcflStorageRoot } from '../../src/storage/ocfl.ts';

/**
 * What rsync can copy while a version is committed: the object's directory listed before the
 * commit, its root inventory read after it. The copy must go back to the newest version it
 * holds whole, and be a valid OCFL object again.
 */
async function objectWithVersions(t: ExecutionContext, n: number) {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-backup-head-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const staging = join(dir, 'staging');
  await mkdir(staging);
  const root = join(dir, 'ocfl');
  const ocfl = await OcflStorageRoot.open(root);
  for (let v = 1; v <= n; v++) {
    const staged = await stageStream(Readable.from([Buffer.from(`trang ${v}`)]), staging, {});
    await ocfl.addVersion('sach-1', [{ logicalPath: `trang-${v}.txt`, stagedPath: staged.path, size: staged.size, digests: staged.digests }], {
      created: `2024-05-0${v}T08:30:00.000Z`,
      message: `v${v}`,
      user: { name: 'thủ thư' },
    });
  }
  const copy = join(dir, 'copy');
  await cp(join(root, hashedNTupleObjectRoot('sach-1')), copy, { recursive: true });
  return copy;
}

test('a head version missing from the copy: the root inventory goes back to the previous version, and the object validates', async (t) => {
  const copy = await objectWithVersions(t, 3);
  const v2Inventory = await readFile(join(copy, 'v2', 'inventory.json'), 'utf8');
  await rm(join(copy, 'v3'), { recursive: true });
  t.true((await validateObject(copy)).length > 0, 'the copy as rsync left it is invalid');
  t.true(await rollBackUncopiedHead(copy));
  t.is(await readFile(join(copy, 'inventory.json'), 'utf8'), v2Inventory);
  t.deepEqual(await validateObject(copy), []);
});

test('a head version copied in part (content missing) is removed too; a whole head is left alone', async (t) => {
  const copy = await objectWithVersions(t, 2);
  await rm(join(copy, 'v2', 'content'), { recursive: true });
  t.true(await rollBackUncopiedHead(copy));
  t.is(JSON.parse(await readFile(join(copy, 'inventory.json'), 'utf8')).head, 'v1');
  t.deepEqual(await validateObject(copy), []);
  t.false(await rollBackUncopiedHead(copy), 'nothing more to do');
});

test('two versions committed while the object was copied: back to the newest one copied whole', async (t) => {
  const copy = await objectWithVersions(t, 3);
  const v1Inventory = await readFile(join(copy, 'v1', 'inventory.json'), 'utf8');
  await rm(join(copy, 'v3'), { recursive: true });
  await rm(join(copy, 'v2', 'inventory.json'));
  t.true(await rollBackUncopiedHead(copy));
  t.is(await readFile(join(copy, 'inventory.json'), 'utf8'), v1Inventory);
  t.deepEqual(await validateObject(copy), []);
});

test('an object whose only version was not copied whole is removed from the copy', async (t) => {
  const copy = await objectWithVersions(t, 1);
  await rm(join(copy, 'v1', 'content'), { recursive: true });
  t.true(await rollBackUncopiedHead(copy));
  await t.throwsAsync(readFile(join(copy, 'inventory.json')));
});

import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createdChain, fsyncDir, type FsStep, mkdirDurable, writeFileDurable, writeNewFile, writeTempFile } from '../../src/storage/durable-file.ts';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-durable-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A hook that records every step, and fails the first `failAt` step with ENOSPC. */
function recorder(failAt?: FsStep) {
  const steps: string[] = [];
  let failed = false;
  const hook = (step: FsStep, path: string) => {
    steps.push(`${step} ${path}`);
    if (step === failAt && !failed) {
      failed = true;
      throw Object.assign(new Error(`injected: no space left at ${step}`), { code: 'ENOSPC' });
    }
  };
  return { hook, steps };
}

test('writeFileDurable: the file holds the data, no temp file stays, and the steps run in the durable order', async (t) => {
  const dir = await tempDir(t);
  const { hook, steps } = recorder();
  await writeFileDurable(dir, 'biên bản.json', '{"tệp":"một"}', hook);
  t.is(await readFile(join(dir, 'biên bản.json'), 'utf8'), '{"tệp":"một"}');
  t.deepEqual(await readdir(dir), ['biên bản.json']);
  t.is((await stat(join(dir, 'biên bản.json'))).mode & 0o777, 0o644 & ~process.umask());
  t.deepEqual(
    steps.map((s) => s.split(' ')[0]),
    ['write', 'fsync', 'rename', 'fsync'],
    'bytes fsynced before the rename, the directory after it',
  );
  t.is(steps[3], `fsync ${dir}`);
});

test('writeFileDurable over an existing file: a failure at any step leaves the old file whole and no temp file', async (t) => {
  for (const step of ['write', 'fsync', 'rename'] as const) {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'latest.json'), 'cũ');
    const { hook } = recorder(step);
    const err = await t.throwsAsync(writeFileDurable(dir, 'latest.json', 'mới', hook));
    t.is((err as { code?: string }).code, 'ENOSPC', step);
    t.is(await readFile(join(dir, 'latest.json'), 'utf8'), 'cũ', step);
    t.deepEqual(await readdir(dir), ['latest.json'], step);
  }
  const dir = await tempDir(t);
  await writeFile(join(dir, 'latest.json'), 'cũ');
  await writeFileDurable(dir, 'latest.json', 'mới');
  t.is(await readFile(join(dir, 'latest.json'), 'utf8'), 'mới');
});

test('writeNewFile never replaces a file; writeTempFile leaves nothing behind when it fails', async (t) => {
  const dir = await tempDir(t);
  await writeNewFile(join(dir, 'a'), 'một');
  const err = await t.throwsAsync(writeNewFile(join(dir, 'a'), 'hai'));
  t.is((err as { code?: string }).code, 'EEXIST');
  t.is(await readFile(join(dir, 'a'), 'utf8'), 'một');

  const tmp = await writeTempFile(dir, 'inventory.json', 'x');
  t.regex(tmp, /\/\.inventory\.json\.[0-9a-f-]{36}\.tmp$/);
  await rm(tmp);
  await t.throwsAsync(writeTempFile(dir, 'inventory.json', 'x', recorder('fsync').hook));
  t.deepEqual(await readdir(dir), ['a']);
});

test('fsyncDir: fails on a missing directory, and passes over a filesystem that cannot fsync directories (procfs: EINVAL)', async (t) => {
  const dir = await tempDir(t);
  await t.notThrowsAsync(fsyncDir(dir));
  const missing = await t.throwsAsync(fsyncDir(join(dir, 'missing')));
  t.is((missing as { code?: string }).code, 'ENOENT');
  if (process.platform !== 'linux') {
    t.log('procfs is Linux only: the EINVAL case is not exercised here');
    return;
  }
  await t.notThrowsAsync(fsyncDir('/proc'));
});

test('mkdirDurable: fsyncs the parent of the first directory it creates and each created one, deepest last', async (t) => {
  const dir = await tempDir(t);
  const { hook, steps } = recorder();
  await mkdirDurable(join(dir, 'a', 'b', 'c'), hook);
  t.deepEqual(steps, [`mkdir ${join(dir, 'a', 'b', 'c')}`, `fsync ${dir}`, `fsync ${join(dir, 'a')}`, `fsync ${join(dir, 'a', 'b')}`, `fsync ${join(dir, 'a', 'b', 'c')}`]);
  steps.length = 0;
  await mkdirDurable(join(dir, 'a', 'b'), hook);
  t.deepEqual(steps, [`mkdir ${join(dir, 'a', 'b')}`], 'nothing created, nothing to fsync');
  t.deepEqual(createdChain('/x/a', '/x/a/b'), ['/x', '/x/a', '/x/a/b']);
});

import { cpSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { ROOT, run, show } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * bin/thukho.js runs the compiled server (.build/, scripts/build-server.mjs) only while it is
 * the build of exactly the sources beside it, and the sources through tsx otherwise: a stale
 * build must never run. Tried on a copy of the repository's code, so nothing here touches the
 * checkout's own build.
 */
const newDir = tempDirs(test, 'thukho-build-');
const TITLE = 'Thư khố — kho lưu trữ số';

function copyOfRepository(): string {
  const dir = newDir();
  for (const p of ['src', 'workers', 'bin', 'scripts', 'package.json']) cpSync(join(ROOT, p), join(dir, p), { recursive: true, preserveTimestamps: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const help = (dir: string, env: Record<string, string> = {}) => run(process.execPath, [join(dir, 'bin/thukho.js'), '--help'], { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, dir);

/** Marks the compiled program's description, so that its output says which one ran. */
function markBuild(dir: string): void {
  const cli = join(dir, '.build', 'cli.js');
  const js = readFileSync(cli, 'utf8');
  if (!js.includes(TITLE)) throw new Error('the title is not in .build/cli.js');
  writeFileSync(cli, js.replace(TITLE, `${TITLE} [built]`));
}

test('a current build runs; an edited source (content or only its mtime) makes bin/thukho.js run the sources; THUKHO_NO_BUILD forces them', async (t) => {
  const dir = copyOfRepository();
  const built = await run(process.execPath, [join(dir, 'scripts/build-server.mjs')], {}, dir);
  t.is(built.code, 0, show(built));
  t.regex(built.stderr, /source files → \.build\//);
  markBuild(dir);

  const fresh = await help(dir);
  t.is(fresh.code, 0, show(fresh));
  t.true(fresh.stdout.includes(`${TITLE} [built]`), 'the build ran');

  const forced = await help(dir, { THUKHO_NO_BUILD: '1' });
  t.is(forced.code, 0, show(forced));
  t.true(forced.stdout.includes(TITLE) && !forced.stdout.includes('[built]'), 'the sources ran');

  // Same size, new mtime: as after `git checkout` of another version of a file.
  const source = join(dir, 'src', 'domain', 'errors.ts');
  const later = new Date(Date.now() + 5000);
  utimesSync(source, later, later);
  const touched = await help(dir);
  t.is(touched.code, 0, show(touched));
  t.false(touched.stdout.includes('[built]'), 'a source newer than the build: the sources ran');

  // Rebuilt, then a changed description in the source itself.
  t.is((await run(process.execPath, [join(dir, 'scripts/build-server.mjs')], {}, dir)).code, 0);
  markBuild(dir);
  t.true((await help(dir)).stdout.includes('[built]'));
  const cliSource = join(dir, 'src', 'cli.ts');
  writeFileSync(cliSource, readFileSync(cliSource, 'utf8').replace(TITLE, `${TITLE} (sửa)`));
  const edited = await help(dir);
  t.is(edited.code, 0, show(edited));
  t.true(edited.stdout.includes(`${TITLE} (sửa)`), 'the edited source ran, not the build');
});

test('no build, or one whose list of sources cannot be read: the sources run', async (t) => {
  const dir = copyOfRepository();
  const none = await help(dir);
  t.is(none.code, 0, show(none));
  t.regex(none.stdout, /serve \[options\]/);

  t.is((await run(process.execPath, [join(dir, 'scripts/build-server.mjs')], {}, dir)).code, 0);
  markBuild(dir);
  writeFileSync(join(dir, '.build', 'inputs.json'), '{"inputs": [');
  const broken = await help(dir);
  t.is(broken.code, 0, show(broken));
  t.false(broken.stdout.includes('[built]'));
  t.regex(broken.stdout, /serve \[options\]/);
});

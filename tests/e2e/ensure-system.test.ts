import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ROOT } from '../helpers/cli.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * `scripts/ensure-system.sh` (run by `npm run demo` and `npm test`) on a clone without
 * node_modules: the first `npm ci` compiles the SQLite binding for minutes without a word
 * from npm, so the script must say what is happening before, and that it is still working
 * meanwhile. npm is replaced by a stand-in that takes a few seconds, on PATH before the real one.
 */
test('before npm ci, ensure-system says what takes long and how long (vi and en), then that npm still works', async (t) => {
  const clone = mkdtempSync(join(tmpdir(), 'thukho-ensure-'));
  t.teardown(() => rmSync(clone, { recursive: true, force: true }));
  mkdirSync(join(clone, 'scripts'));
  for (const f of ['scripts/ensure-system.sh', 'package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(clone, f));
  const bin = join(clone, 'fake-bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'npm'),
    '#!/bin/sh\necho "FAKE NPM START $*" >&2\nsleep 4\nmkdir -p node_modules && cp package-lock.json node_modules/.package-lock.json\necho "FAKE NPM END" >&2\n',
  );
  chmodSync(join(bin, 'npm'), 0o755);

  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      'bash',
      [join(clone, 'scripts/ensure-system.sh')],
      { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, ENSURE_SYSTEM_PROGRESS_SECONDS: '1' }, timeout: scaledTimeout(60_000) },
      (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
  t.is(code, 0, stderr);
  const start = stderr.indexOf('FAKE NPM START ci');
  const end = stderr.indexOf('FAKE NPM END');
  t.true(start > 0 && end > start, stderr);
  const before = stderr.slice(0, start);
  t.regex(before, /about 4–5 minutes while the SQLite binding \(better-sqlite3\) is compiled from source; nothing is stuck/, stderr);
  t.regex(before, /Lần đầu có thể mất khoảng 4–5 phút/, stderr);
  t.regex(stderr.slice(start, end), /npm is still working \(\d+ s\)/, `a sign of life while npm works\n${stderr}`);
  t.regex(stderr.slice(end), /npm: xong \/ done/, stderr);
});

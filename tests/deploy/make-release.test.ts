import test from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ROOT, type Run, run, type Running, show, signalGroup, waitForHealth } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * ops/make-release (issue 17): the offline bundle. It is built into a temporary --out, unpacked
 * elsewhere, and run there with the bundle's own Node and an empty environment, so that
 * nothing of this checkout (its node_modules, its PATH) can stand in for what the bundle lacks.
 */
const tmp = tempDirs(test, 'thukho-release-');
const SCRIPT = join(ROOT, 'ops', 'make-release');

/** As helpers/cli.ts's run, with room for a slow, busy machine: the build is minutes there. */
function runLong(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, timeout: scaledTimeout(14 * 60_000), killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

const gitStatus = () => execFileSync('git', ['status', '--porcelain', '--ignored=matching', '--', '.'], { cwd: ROOT, encoding: 'utf8' });

/** A stand-in for `node` that answers make-release's one question with `facts`. */
function fakeNode(dir: string, facts: string): string {
  const file = join(dir, `node-${facts.split(' ')[0]}`);
  writeFileSync(file, `#!/bin/sh\necho '${facts}'\n`);
  chmodSync(file, 0o755);
  return file;
}

test('make-release refuses a Node older than 20, or of another ABI than node_modules, before building anything', async (t) => {
  const dir = tmp();
  const out = join(dir, 'out');
  const old = await run(SCRIPT, ['--node', fakeNode(dir, '18.19.1 108 9 linux x64'), '--out', out]);
  t.is(old.code, 2, show(old));
  t.regex(old.stderr, /Node\.js 20 or newer is required; .* is 18\.19\.1/);

  const abi = process.versions.modules === '127' ? '131' : '127';
  const other = await run(SCRIPT, ['--node', fakeNode(dir, `24.0.0 ${abi} 10 linux x64`), '--out', out]);
  t.is(other.code, 2, show(other));
  t.regex(other.stderr, new RegExp(`node_modules were built for ABI ${process.versions.modules} but .* has ABI ${abi}`));

  const notNode = await run(SCRIPT, ['--node', join(dir, 'absent'), '--out', out]);
  t.is(notNode.code, 2, show(notNode));
  t.is((await run(SCRIPT, ['--bogus'])).code, 2);
  const help = await run(SCRIPT, ['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Đóng gói bản phát hành ngoại tuyến \/ build the offline release bundle/);
  // Refused before the staging directory: the output directory holds nothing.
  t.deepEqual(existsSync(out) ? readdirSync(out) : [], []);
});

test('make-release builds a bundle that runs with its own Node and nothing else', async (t) => {
  t.timeout(scaledTimeout(15 * 60_000), 'the bundle copies and packs some hundred megabytes');
  const before = gitStatus();
  const out = tmp();
  const started = Date.now();
  const built = await runLong(SCRIPT, ['--node', process.execPath, '--out', out]);
  t.is(built.code, 0, show(built));
  t.log(`make-release: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  t.regex(built.stderr, /\[9\/9\]/, 'progress lines');

  const tarball = built.stdout.trim().split('\n').at(-1) ?? '';
  const arch = process.arch;
  const major = process.versions.node.split('.')[0];
  // Named by package.json's version, as the Ansible inventories expect it.
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.is(tarball, join(out, `thukho-${version}-node${major}-linux-${arch}.tar.gz`));
  t.deepEqual(readdirSync(out).sort(), [tarball.slice(out.length + 1), `${tarball.slice(out.length + 1)}.sha256`].sort(), 'no staging left behind');
  t.log(`bundle: ${(statSync(tarball).size / 1024 / 1024).toFixed(0)} MiB`);

  const sum = readFileSync(`${tarball}.sha256`, 'utf8');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(tarball)) hash.update(chunk as Buffer);
  t.is(sum, `${hash.digest('hex')}  ${tarball.slice(out.length + 1)}\n`);

  // Unpacked as an operator would into /opt/thukho/releases/<version>/.
  const releases = tmp();
  execFileSync('tar', ['-xzf', tarball, '-C', releases]);
  const tops = readdirSync(releases);
  t.is(tops.length, 1);
  const release = join(releases, tops[0]!);

  const info = JSON.parse(readFileSync(join(release, 'RELEASE.json'), 'utf8')) as Record<string, any>;
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; allowScripts?: unknown };
  t.is(tops[0], `thukho-${info.version}`);
  t.true(String(info.version).startsWith(pkg.version));
  t.is(info.packageVersion, pkg.version);
  t.is(info.node.version, process.versions.node);
  t.is(info.node.abi, process.versions.modules);
  t.is(info.platform, 'linux');
  t.is(info.arch, arch);
  t.regex(String(info.builtAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.regex(String(info.git?.commit ?? ''), /^[0-9a-f]{40}$/);
  t.deepEqual(JSON.parse(readFileSync(join(release, 'package.json'), 'utf8')).allowScripts, pkg.allowScripts, 'package.json as it is');

  for (const f of ['bin/thukho.js', 'src/cli.ts', 'workers/index.ts', 'ops/backup', 'ops/restore', 'ops/alert', 'ops/thukho', 'ops/systemd/thukho-api.service', 'ops/thukho.env.example', 'viewer/dist/.vite/manifest.json', 'package-lock.json', 'docs/runbook.en.md', 'docs/runbook.vi.md', 'node/bin/node']) {
    t.true(existsSync(join(release, f)), `the bundle has ${f}`);
  }
  // The compiled server is current for the unpacked sources (tar keeps mtimes to the second),
  // so bin/thukho.js runs it rather than the sources through tsx.
  const build = JSON.parse(readFileSync(join(release, '.build', 'inputs.json'), 'utf8')) as { inputs: Array<[string, number, number]> };
  t.true(build.inputs.some(([p]) => p === 'src/cli.ts') && existsSync(join(release, '.build', 'cli.js')));
  const stale = build.inputs.filter(([p, size, mtime]) => {
    const s = statSync(join(release, p));
    return s.size !== size || Math.floor(s.mtimeMs / 1000) !== mtime;
  });
  t.deepEqual(stale, [], 'every source the build was made from is unchanged in the bundle');
  for (const f of ['tests', 'bench', 'data', 'ansible', 'dist']) t.false(existsSync(join(release, f)), `the bundle has no ${f}/`);
  const modules = join(release, 'node_modules');
  for (const prod of ['tsx', 'better-sqlite3', 'sharp', 'koa', 'bullmq', 'onnxruntime-node']) t.true(existsSync(join(modules, prod, 'package.json')), `node_modules/${prod}`);
  for (const dev of ['ava', 'typescript', 'vite', 'playwright-core', 'mirador', 'openseadragon', '@types/koa']) t.false(existsSync(join(modules, dev)), `no dev-only node_modules/${dev}`);
  // Readable by the service user (others), writable by none of them.
  for (const f of ['bin/thukho.js', 'src/config.ts', 'node_modules/better-sqlite3/package.json', 'node/bin/node']) {
    const mode = statSync(join(release, f)).mode;
    t.is(mode & 0o004, 0o004, `${f} is world-readable`);
    t.is(mode & 0o022, 0, `${f} is writable by its owner only`);
  }

  // Nothing from here: no PATH to this checkout's node or node_modules, no THUKHO_*, no REDIS_URL.
  const home = tmp();
  const bare = (extra: Record<string, string> = {}) => ({ PATH: '/usr/bin:/bin', HOME: home, ...extra });
  const node = join(release, 'node', 'bin', 'node');
  const help = await run(node, ['bin/thukho.js', '--help'], bare(), release);
  t.is(help.code, 0, show(help));
  t.regex(help.stdout, /serve \[options\]/);
  t.regex(help.stdout, /worker <name>/);

  const data = join(tmp(), 'data');
  const env = bare({ THUKHO_DATA_DIR: data, THUKHO_LOG_LEVEL: 'silent' });
  // An empty data directory is no repository: verify says so and where it looked.
  mkdirSync(data);
  const empty = await run(node, ['bin/thukho.js', 'verify'], env, release);
  t.is(empty.code, 2, show(empty));
  t.true(empty.stderr.includes(data));
  // A repository made by the bundle (SQLite and argon2 native addons) verifies.
  const user = await run(node, ['bin/thukho.js', 'users', 'add', 'release-check', '--role', 'admin'], env, release);
  t.is(user.code, 0, show(user));
  const verified = await run(node, ['bin/thukho.js', 'verify'], env, release);
  t.is(verified.code, 0, show(verified));
  t.regex(`${verified.stdout}${verified.stderr}`, /hash chains intact/);

  // The server from the bundle: the HTTP stack, the projections and the built viewer's assets.
  // Without REDIS_URL it starts a private redis-server found on PATH (as the demo does).
  const redisServer = ['/usr/bin/redis-server', '/bin/redis-server'].find((p) => existsSync(p));
  if (!redisServer) t.log('redis-server is not in /usr/bin or /bin: `thukho serve` from the bundle was not tried (apt-get install redis-server)');
  else {
    const port = await freePort();
    const child = spawn(node, ['bin/thukho.js', 'serve', '--no-workers'], {
      cwd: release,
      env: { ...env, THUKHO_HOST: '127.0.0.1', THUKHO_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const exited = new Promise<Run>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err })));
    const serving: Running = { child, stdout: () => out, stderr: () => err, exited };
    try {
      await waitForHealth(serving, port);
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string; eventStore: { kind: string } };
      t.is(health.status, 'ok');
      t.is(health.eventStore.kind, 'sqlite');
      const home = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      const asset = /\/assets\/[^"']+\.css/.exec(home)?.[0];
      t.truthy(asset, 'the site links the built viewer/dist assets');
      t.is((await fetch(`http://127.0.0.1:${port}${asset ?? '/assets/none.css'}`)).status, 200);
    } finally {
      signalGroup(serving, 'SIGTERM');
    }
    const end = await exited;
    t.is(end.code, 0, show(end));
  }

  // ops/backup and ops/restore from the bundle, with no node on PATH: they take node/bin/node.
  const envFile = join(tmp(), 'thukho.env');
  writeFileSync(envFile, `THUKHO_DATA_DIR=${data}\nTHUKHO_LOG_LEVEL=silent\n`);
  const backups = join(tmp(), 'backups');
  const backup = await run(join(release, 'ops', 'backup'), [backups, '--keep', '1'], bare({ THUKHO_ENV_FILE: envFile }), release);
  t.is(backup.code, 0, show(backup));
  const restoredEnv = join(tmp(), 'restored.env');
  const restored = join(tmp(), 'restored');
  writeFileSync(restoredEnv, `THUKHO_DATA_DIR=${restored}\nTHUKHO_LOG_LEVEL=silent\n`);
  const restore = await run(join(release, 'ops', 'restore'), ['--latest', backups, '--force'], bare({ THUKHO_ENV_FILE: restoredEnv }), release);
  t.is(restore.code, 0, show(restore));
  const again = await run(node, ['bin/thukho.js', 'verify'], bare({ THUKHO_DATA_DIR: restored, THUKHO_LOG_LEVEL: 'silent' }), release);
  t.is(again.code, 0, show(again));

  t.is(gitStatus(), before, 'make-release leaves nothing behind in the repository');
});

import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { freePort, show, signalGroup, sleep, startThukho, thukho, waitForHealth } from '../helpers/cli.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * Operations that must not mislead: what a sysadmin's cron job, a mistyped path or a disabled
 * account gets from the real `thukho` command.
 *
 * Serial: each test runs real `thukho` processes, and a busy 2-core machine starts them
 * faster one at a time than all at once.
 */
const tempDir = tempDirs(test, 'thukho-ops-');

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

// ---------------------------------------------------------------------------------------
// A missing repository

const READ_ONLY: string[][] = [
  ['verify'],
  ['verify', '--json'],
  ['fixity', '--all'],
  ['audit-report', '--from', '2026-01-01', '--to', '2026-06-30'],
  ['stats', '--from', '2026-01-01', '--to', '2026-06-30'],
  ['seal'],
  ['rebuild', 'all'],
  ['export-bag', 'truyen-kieu', '/nonexistent-out'],
  ['users', 'list'],
  ['users', 'rotate', 'lan'],
  ['users', 'disable', 'lan'],
  ['users', 'enable', 'lan'],
  ['worker', 'seal'],
  ['backup', '--to', '/nonexistent-backup'],
];

for (const args of READ_ONLY) {
  test.serial(`${args.join(' ')} where no repository exists (cron's cwd, default ./data): exit 2, one line naming the absolute path, nothing created`, async (t) => {
    const cwd = tempDir();
    const r = await thukho('', args, { THUKHO_DATA_DIR: undefined }, cwd);
    t.is(r.code, 2, show(r));
    t.is(r.stdout, '', show(r));
    const said = lines(r.stderr);
    t.is(said.length, 1, show(r));
    t.true(said[0]?.includes(`no repository at ${join(cwd, 'data')}`), show(r));
    t.regex(said[0] ?? '', /không có kho lưu trữ/);
    t.regex(said[0] ?? '', /THUKHO_DATA_DIR=/);
    t.deepEqual(readdirSync(cwd), [], 'no ./data was created');
  });
}

test.serial('a log without its OCFL storage root (THUKHO_STORAGE_DIR on a disk not mounted) is not a repository either', async (t) => {
  const dir = tempDir();
  const storage = join(tempDir(), 'not-mounted');
  const made = await thukho(dir, ['users', 'add', 'lan', '--name', 'Lan']);
  t.is(made.code, 0, show(made));
  const r = await thukho(dir, ['verify'], { THUKHO_STORAGE_DIR: storage });
  t.is(r.code, 2, show(r));
  t.true(r.stderr.includes(join(storage, 'ocfl', '0=ocfl_1.1')), show(r));
  t.false(existsSync(storage), 'the storage dir was not created');
  t.is((await thukho(dir, ['verify'])).code, 0, 'users add made the whole repository: log and storage root');
});

// ---------------------------------------------------------------------------------------
// users enable, and a rotation that keeps a disabled account disabled

test.serial('users: rotate keeps a disabled account disabled and says so; users enable re-enables it', async (t) => {
  const dir = tempDir();
  const list = async () => {
    const rebuilt = await thukho(dir, ['rebuild', 'users']);
    t.is(rebuilt.code, 0, show(rebuilt));
    return (await thukho(dir, ['users', 'list'])).stdout;
  };
  t.is((await thukho(dir, ['users', 'add', 'lan', '--name', 'Nguyễn Thị Lan'])).code, 0);
  t.is((await thukho(dir, ['users', 'disable', 'lan'])).code, 0);

  const rotated = await thukho(dir, ['users', 'rotate', 'lan']);
  t.is(rotated.code, 0, show(rotated));
  t.regex(rotated.stdout, /^thk_[A-Za-z0-9_-]{43}\n$/, 'the token alone on stdout, for scripts');
  t.regex(rotated.stderr, /stays disabled: the new token works only after `thukho users enable lan`/);
  t.regex(rotated.stderr, /vẫn bị khoá/);
  t.is(await list(), 'lan\treader\tdisabled\tNguyễn Thị Lan\n');

  const enabled = await thukho(dir, ['users', 'enable', 'lan']);
  t.is(enabled.code, 0, show(enabled));
  t.regex(enabled.stderr, /account "lan" enabled/);
  t.is(await list(), 'lan\treader\tactive\tNguyễn Thị Lan\n');

  const again = await thukho(dir, ['users', 'enable', 'lan']);
  t.is(again.code, 0, show(again));
  t.regex(again.stderr, /already enabled; nothing changed/);

  const activeRotation = await thukho(dir, ['users', 'rotate', 'lan']);
  t.is(activeRotation.code, 0, show(activeRotation));
  t.is(activeRotation.stderr, '', 'nothing to warn about for an active account');

  const unknown = await thukho(dir, ['users', 'enable', 'minh']);
  t.is(unknown.code, 1, show(unknown));
  t.regex(unknown.stderr, /User "minh" does not exist/);
});

// ---------------------------------------------------------------------------------------
// Replicas: only `thukho replicas init` makes one; serve skips what is not one, and says so

test.serial('serve never initialises or fills a replica that is an empty or missing directory (an unmounted NAS); /health and verify name it; replicas init makes it', async (t) => {
  const dir = tempDir();
  const mounts = tempDir();
  const nas = join(mounts, 'nas'); // the mount point exists, the disk is not mounted: empty
  const usb = join(mounts, 'usb'); // not there at all
  mkdirSync(nas);
  const env = { THUKHO_REPLICAS: `nas=${nas},usb=${usb}`, THUKHO_LOG_LEVEL: 'warn', THUKHO_HOST: '127.0.0.1', THUKHO_QUEUE_PREFIX: `ops-${process.pid}-${Date.now()}` };
  const staff = await thukho(dir, ['users', 'add', 'lan', '--name', 'Lan', '--role', 'auditor'], env);
  t.is(staff.code, 0, show(staff));
  const port = await freePort();
  const running = startThukho(dir, ['serve'], { ...env, THUKHO_PORT: String(port) });
  t.teardown(() => {
    if (running.child.exitCode === null) signalGroup(running, 'SIGKILL');
  });
  await waitForHealth(running, port);
  // The replication worker opens the replicas at start (and sweeps): wait until it has looked at both.
  const giveUpAt = Date.now() + scaledTimeout(2 * 60_000); // a hang guard, scaled
  while (Date.now() < giveUpAt && !['"replica":"nas"', '"replica":"usb"'].every((s) => running.stderr().includes(s))) await sleep(200);
  t.regex(running.stderr(), /replica skipped, nothing written to it/, running.stderr());
  type Health = { status: string; preservation: { unreadableReplicas: { count: number; replicas?: Array<{ label: string; path: string }> } } };
  const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Health;
  t.is(health.status, 'degraded');
  t.deepEqual(health.preservation.unreadableReplicas, { count: 2 }, 'anyone sees how many, not where');
  const detail = (await (await fetch(`http://127.0.0.1:${port}/health`, { headers: { authorization: `Bearer ${staff.stdout.trim()}` } })).json()) as Health;
  t.deepEqual(detail.preservation.unreadableReplicas.replicas, [{ label: 'nas', path: nas }, { label: 'usb', path: usb }]);
  t.deepEqual(readdirSync(nas), [], 'nothing was written onto the mount point');
  t.false(existsSync(usb), 'the missing replica was not created');
  signalGroup(running, 'SIGINT');
  t.is((await running.exited).code, 0);

  const verify = await thukho(dir, ['verify'], env);
  t.is(verify.code, 1, show(verify));
  t.regex(verify.stdout, new RegExp(`REPLICA UNREADABLE: nas \\(${nas.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`), show(verify));
  t.regex(verify.stdout, /REPLICA UNREADABLE: usb .*thukho replicas init usb/, show(verify));

  const unknown = await thukho(dir, ['replicas', 'init', 'tape'], env);
  t.is(unknown.code, 2, show(unknown));
  t.regex(unknown.stderr, /no replica is labelled "tape" in THUKHO_REPLICAS \(configured: nas, usb\)/);

  for (const label of ['nas', 'usb']) {
    const init = await thukho(dir, ['replicas', 'init', label], env);
    t.is(init.code, 0, show(init));
    t.regex(init.stdout, new RegExp(`initialised replica "${label}"`));
  }
  t.is(readFileSync(join(nas, '0=ocfl_1.1'), 'utf8'), 'ocfl_1.1\n');
  const again = await thukho(dir, ['replicas', 'init', 'nas'], env);
  t.is(again.code, 0, show(again));
  t.regex(again.stdout, /already an OCFL storage root; nothing changed/);
  const ok = await thukho(dir, ['verify'], env);
  t.is(ok.code, 0, show(ok));
  t.regex(ok.stdout, /OK: 2 bản sao đọc được \/ replica root\(s\) readable: nas, usb/);
});

test.serial('replicas init refuses a directory that holds other files', async (t) => {
  const dir = tempDir();
  t.is((await thukho(dir, ['users', 'add', 'lan', '--name', 'Lan'])).code, 0);
  const other = tempDir();
  mkdirSync(join(other, 'photos'));
  const r = await thukho(dir, ['replicas', 'init', 'nas'], { THUKHO_REPLICAS: `nas=${other}` });
  t.is(r.code, 2, show(r));
  t.regex(r.stderr, /is not empty and is not an OCFL storage root/);
  t.deepEqual(readdirSync(other), ['photos']);
});

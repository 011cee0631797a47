import test from 'ava';
import { execFile } from 'node:child_process';
import { accessSync, constants, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { STOP_GRACE_MS } from '../../src/queue/stopping.ts';
import { WORKERS } from '../../workers/index.ts';
import { ROOT, run, show } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * The systemd units in ops/systemd (issue 17): hardened as the runbook says,
 * starting commands that exist, and valid for systemd-analyze. A dropped setting fails here.
 */
const UNITS_DIR = join(ROOT, 'ops', 'systemd');
const tmp = tempDirs(test, 'thukho-units-');
const CURRENT = '/opt/thukho/current/';

type Unit = Record<string, Record<string, string[]>>;

/** systemd's unit syntax, enough for ours: sections, repeated keys, "\" continuations, comments. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    (section[key] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

const read = (name: string): { text: string; unit: Unit } => {
  const text = readFileSync(join(UNITS_DIR, name), 'utf8');
  return { text, unit: parseUnit(text) };
};

/** The value systemd uses: the last assignment (an empty one resets lists; we never rely on that). */
const last = (unit: Unit, section: string, key: string): string | undefined => unit[section]?.[key]?.at(-1);
const all = (unit: Unit, section: string, key: string): string[] => (unit[section]?.[key] ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

function seconds(value: string | undefined): number {
  if (value === undefined) return NaN;
  let total = 0;
  for (const m of value.matchAll(/(\d+(?:\.\d+)?)\s*(h|min|s|ms)?/g)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'min' ? n * 60 : m[2] === 'ms' ? n / 1000 : n;
  }
  return total;
}

const LONG_RUNNING = ['thukho-api.service', 'thukho-worker@.service', 'thukho-backup.service'];
const HARDENING: Record<string, string> = {
  User: 'thukho',
  Group: 'thukho',
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  PrivateTmp: 'yes',
  PrivateDevices: 'yes',
  ProtectHome: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes',
  RestrictSUIDSGID: 'yes',
  RestrictNamespaces: 'yes',
  LockPersonality: 'yes',
  RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
  SystemCallArchitectures: 'native',
  CapabilityBoundingSet: '',
  UMask: '0027',
  // Beyond the list, kept so that nobody drops them unnoticed.
  ProtectHostname: 'yes',
  ProtectClock: 'yes',
  ProtectProc: 'invisible',
  PrivateMounts: 'yes',
  RestrictRealtime: 'yes',
  RemoveIPC: 'yes',
  SystemCallFilter: '@system-service',
  SystemCallErrorNumber: 'EPERM',
  AmbientCapabilities: '',
  EnvironmentFile: '/etc/thukho/thukho.env',
  WorkingDirectory: '/var/lib/thukho',
};

test('ops/systemd holds the units the Ansible role installs (thukho_unit_files), and nothing else', (t) => {
  t.deepEqual(readdirSync(UNITS_DIR).sort(), [
    'thukho-alert@.service',
    'thukho-api.service',
    'thukho-backup.service',
    'thukho-backup.timer',
    'thukho-worker@.service',
    'thukho.target',
  ]);
});

for (const name of LONG_RUNNING) {
  test(`${name} is hardened`, (t) => {
    const { unit } = read(name);
    for (const [key, value] of Object.entries(HARDENING)) {
      if (key === 'EnvironmentFile') t.true(unit.Service?.[key]?.includes(value), `${name}: EnvironmentFile=${value}`);
      else t.is(last(unit, 'Service', key), value, `${name}: ${key}=${value}`);
    }
    const writable = all(unit, 'Service', 'ReadWritePaths');
    t.true(writable.includes('/var/lib/thukho'), `${name}: ReadWritePaths has the service home (the data directory and where a restore assembles it)`);
    // Only the data dirs: replica roots come from drop-ins, the backup adds its destination.
    // The default backup destination is optional ("-"): with another THUKHO_BACKUP_DEST (and its
    // drop-in) /var/backups/thukho may not exist, and a missing path would stop the unit.
    t.deepEqual(writable, name === 'thukho-backup.service' ? ['/var/lib/thukho', '-/var/backups/thukho'] : ['/var/lib/thukho'], `${name}: ReadWritePaths`);
    t.is(unit.Service?.MemoryDenyWriteExecute, undefined, `${name}: no MemoryDenyWriteExecute (V8's JIT)`);
    t.is(unit.Service?.StateDirectory, undefined, `${name}: no StateDirectory (the data dir may be a mount)`);
    t.is(unit.Service?.DynamicUser, undefined);
    t.true(Number(last(unit, 'Service', 'LimitNOFILE')) >= 65536, `${name}: LimitNOFILE high`);
    t.true(
      unit.Service?.Environment?.includes('PATH=/opt/thukho/current/node/bin:/usr/local/bin:/usr/bin:/bin'),
      `${name}: the release's own node first on PATH`,
    );
    t.is(last(unit, 'Unit', 'OnFailure'), 'thukho-alert@%N.service', `${name}: OnFailure= alert`);
    t.true(last(unit, 'Service', 'SyslogIdentifier')?.startsWith('thukho-'));
  });
}

for (const name of ['thukho-api.service', 'thukho-worker@.service']) {
  test(`${name} restarts on failure, within limits, and has time to stop gracefully`, (t) => {
    const { unit } = read(name);
    t.is(last(unit, 'Service', 'Restart'), 'on-failure');
    t.true(seconds(last(unit, 'Service', 'RestartSec')) >= 1, 'RestartSec');
    t.true(seconds(last(unit, 'Unit', 'StartLimitIntervalSec')) > 0, 'StartLimitIntervalSec');
    t.true(Number(last(unit, 'Unit', 'StartLimitBurst')) >= 1, 'StartLimitBurst');
    // serve promises a stop within 10 s (children's 7 s grace at once, then the queues' 2 s),
    // and a worker judges its children's exits STOP_GRACE_MS later: systemd must wait longer.
    const stopMs = seconds(last(unit, 'Service', 'TimeoutStopSec')) * 1000;
    t.true(stopMs >= 2 * (10_000 + STOP_GRACE_MS), `TimeoutStopSec ${stopMs} ms`);
    t.is(last(unit, 'Service', 'KillSignal') ?? 'SIGTERM', 'SIGTERM');
    t.deepEqual(all(unit, 'Install', 'WantedBy'), ['thukho.target']);
    t.is(last(unit, 'Unit', 'PartOf'), 'thukho.target');
    // Redis may be remote: ordered after, wanted, never required.
    t.true(all(unit, 'Unit', 'Wants').includes('redis-server.service'));
    t.true(all(unit, 'Unit', 'After').includes('redis-server.service'));
    t.true(all(unit, 'Unit', 'After').includes('network-online.target'));
    t.true(all(unit, 'Unit', 'Wants').includes('network-online.target'));
    t.is(unit.Unit?.Requires, undefined);
    t.is(unit.Unit?.BindsTo, undefined);
  });
}

test('background work yields to readers: workers and the backup niced and weighted below the api (issue 20)', (t) => {
  const api = read('thukho-api.service').unit;
  const apiCpu = Number(last(api, 'Service', 'CPUWeight') ?? 100);
  const apiIo = Number(last(api, 'Service', 'IOWeight') ?? 100);
  t.true(apiCpu >= 100, `api CPUWeight ${apiCpu} at least the default`);
  t.is(last(api, 'Service', 'Nice'), undefined, 'the api keeps the default niceness');
  for (const name of ['thukho-worker@.service', 'thukho-backup.service']) {
    const { unit } = read(name);
    t.true(Number(last(unit, 'Service', 'Nice')) >= 10, `${name}: Nice= at least 10`);
    t.true(Number(last(unit, 'Service', 'CPUWeight')) * 5 <= apiCpu, `${name}: CPUWeight at most a fifth of the api's`);
    t.true(Number(last(unit, 'Service', 'IOWeight')) * 5 <= apiIo, `${name}: IOWeight at most a fifth of the api's`);
    // idle would starve ingest under a steady stream of readers.
    t.is(last(unit, 'Service', 'IOSchedulingClass'), 'best-effort', `${name}: IOSchedulingClass`);
    t.is(last(unit, 'Service', 'IOSchedulingPriority'), '7', `${name}: the lowest best-effort I/O priority`);
  }
});

/** ExecStart's program, as a path in this repository (it is a release's copy of it). */
function programOf(execStart: string | undefined): { file: string; args: string[] } {
  const words = (execStart ?? '').replace(/^[-+@:!]+/, '').split(/\s+/);
  const program = words[0] ?? '';
  if (!program.startsWith(CURRENT)) throw new Error(`ExecStart runs ${program}, not a program of the release (${CURRENT}…)`);
  return { file: join(ROOT, program.slice(CURRENT.length)), args: words.slice(1) };
}

function assertExecutable(file: string): void {
  accessSync(file, constants.X_OK);
}

test('the api runs `thukho serve --no-workers`, a command and option src/cli.ts has', (t) => {
  const { unit } = read('thukho-api.service');
  const { file, args } = programOf(last(unit, 'Service', 'ExecStart'));
  t.is(file, join(ROOT, 'bin', 'thukho.js'));
  t.notThrows(() => assertExecutable(file));
  t.deepEqual(args, ['serve', '--no-workers']);
  const cli = readFileSync(join(ROOT, 'src', 'cli.ts'), 'utf8');
  t.regex(cli, /\.command\('serve'\)[\s\S]{0,400}\.option\('--no-workers'/);
});

test('every worker in WORKERS has its thukho-worker@ instance, in the target and the template', (t) => {
  const { unit } = read('thukho-worker@.service');
  const { file, args } = programOf(last(unit, 'Service', 'ExecStart'));
  t.is(file, join(ROOT, 'bin', 'thukho.js'));
  t.deepEqual(args, ['worker', '%i']);
  t.regex(readFileSync(join(ROOT, 'src', 'cli.ts'), 'utf8'), /\.command\('worker'\)/);

  const names = Object.keys(WORKERS).sort();
  t.true(names.length >= 6);
  for (const doc of ['thukho.target', 'thukho-worker@.service']) {
    const { text } = read(doc);
    const named = [...new Set([...text.matchAll(/thukho-worker@([a-z0-9_-]+)\.service/g)].map((m) => m[1]!))].sort();
    t.deepEqual(named, names, `${doc} names an instance for each worker, and only those`);
  }
  const target = read('thukho.target').unit;
  t.deepEqual(all(target, 'Install', 'WantedBy'), ['multi-user.target']);
  // The runbooks' enable command names each one too.
  for (const lang of ['en', 'vi']) {
    const runbook = readFileSync(join(ROOT, 'docs', `runbook.${lang}.md`), 'utf8');
    for (const name of names) t.true(runbook.includes(`thukho-worker@${name}.service`), `runbook.${lang}.md enables thukho-worker@${name}`);
  }
});

test('the backup unit runs ops/backup with DEST and KEEP from /etc/thukho/backup.env, daily by its timer', (t) => {
  const { unit } = read('thukho-backup.service');
  t.is(last(unit, 'Service', 'Type'), 'oneshot');
  const { file, args } = programOf(last(unit, 'Service', 'ExecStart'));
  t.is(file, join(ROOT, 'ops', 'backup'));
  t.notThrows(() => assertExecutable(file));
  t.deepEqual(args, ['${THUKHO_BACKUP_DEST}', '--keep', '${THUKHO_BACKUP_KEEP}']);
  const env = unit.Service?.Environment ?? [];
  t.true(env.includes('THUKHO_BACKUP_DEST=/var/backups/thukho'));
  t.true(env.includes('THUKHO_BACKUP_KEEP=7'));
  // Optional ("-"), and after thukho.env so that it wins.
  const files = unit.Service?.EnvironmentFile ?? [];
  t.deepEqual(files, ['/etc/thukho/thukho.env', '-/etc/thukho/backup.env']);
  t.true(seconds(last(unit, 'Service', 'TimeoutStartSec')) > 0, 'a hung backup ends (and alerts)');

  const timer = read('thukho-backup.timer').unit;
  t.regex(last(timer, 'Timer', 'OnCalendar') ?? '', /^(daily|\*-\*-\* \d\d:\d\d(:\d\d)?)$/);
  t.true(seconds(last(timer, 'Timer', 'RandomizedDelaySec')) > 0);
  t.is(last(timer, 'Timer', 'Persistent'), 'true');
  t.is(last(timer, 'Timer', 'Unit') ?? 'thukho-backup.service', 'thukho-backup.service');
  t.deepEqual(all(timer, 'Install', 'WantedBy'), ['timers.target']);
});

test('the alert unit runs ops/alert with the failed unit, sandboxed and read-only', (t) => {
  const { unit } = read('thukho-alert@.service');
  t.is(last(unit, 'Service', 'Type'), 'oneshot');
  const { file, args } = programOf(last(unit, 'Service', 'ExecStart'));
  t.is(file, join(ROOT, 'ops', 'alert'));
  t.notThrows(() => assertExecutable(file));
  // %i, not %I: unescaping turns "thukho-api" into "thukho/api".
  t.deepEqual(args, ['%i']);
  t.is(last(unit, 'Service', 'User'), 'thukho');
  t.is(last(unit, 'Service', 'ProtectSystem'), 'strict');
  t.is(last(unit, 'Service', 'NoNewPrivileges'), 'yes');
  t.is(last(unit, 'Service', 'CapabilityBoundingSet'), '');
  t.is(unit.Service?.ReadWritePaths, undefined);
  t.is(unit.Unit?.OnFailure, undefined, 'an alert that fails does not alert about itself');
  t.deepEqual(unit.Service?.EnvironmentFile, ['-/etc/thukho/thukho.env']);
});

test('ops/alert logs at priority err and POSTs {unit, host, time, status} to THUKHO_WEBHOOK_URL', async (t) => {
  const dir = tmp();
  // A stand-in logger on PATH: the test writes nothing to this machine's journal.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${join(dir, 'logger.txt')}'\n`);
  chmodSync(join(dir, 'bin', 'logger'), 0o755);
  const received: Array<{ type: string | undefined; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ type: req.headers['content-type'], body });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const env = {
    PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    THUKHO_ENV_FILE: join(dir, 'absent.env'),
    THUKHO_WEBHOOK_URL: `http://127.0.0.1:${port}/hook?token=s3cret`,
    NODE: process.execPath,
  };
  const r = await run(join(ROOT, 'ops', 'alert'), ['thukho-worker@ocr'], env);
  t.is(r.code, 0, show(r));
  const logged = readFileSync(join(dir, 'logger.txt'), 'utf8');
  t.regex(logged, /^-p user\.err -t thukho-alert -- thukho: thukho-worker@ocr\.service hỏng .* failed on /m);
  t.is(received.length, 1);
  t.regex(received[0]!.type ?? '', /^application\/json/);
  const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
  t.is(body.unit, 'thukho-worker@ocr.service');
  t.is(typeof body.host, 'string');
  t.regex(String(body.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(typeof body.status, 'string');

  // A webhook that does not answer is reported in the journal, never with its URL; the alert still succeeds.
  const down = await run(join(ROOT, 'ops', 'alert'), ['thukho-api'], { ...env, THUKHO_WEBHOOK_URL: 'http://127.0.0.1:1/hook?token=s3cret' });
  t.is(down.code, 0, show(down));
  const after = readFileSync(join(dir, 'logger.txt'), 'utf8');
  t.regex(after, /could not POST the alert for thukho-api\.service/);
  t.false(after.includes('s3cret'));

  const usage = await run(join(ROOT, 'ops', 'alert'), ['--help'], env);
  t.is(usage.code, 0);
  t.regex(usage.stdout, /Báo động .* \/ alert/);
  t.is((await run(join(ROOT, 'ops', 'alert'), [], env)).code, 2);
});

test('systemd-analyze verify accepts every unit (in a scratch root with the release layout)', async (t) => {
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
  if (!analyze) {
    t.log('systemd-analyze is not installed here: the units were only parsed, not verified (apt-get install systemd)');
    t.pass();
    return;
  }
  // The units name /opt/thukho/current/…, /usr/bin/install and systemd's own targets: a root
  // with copies of those, so that verify checks our files and not this machine's install.
  const root = tmp();
  const release = join(root, 'opt', 'thukho', 'current');
  for (const f of ['bin/thukho.js', 'ops/backup', 'ops/alert']) {
    mkdirSync(dirname(join(release, f)), { recursive: true });
    cpSync(join(ROOT, f), join(release, f));
  }
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  cpSync('/usr/bin/install', join(root, 'usr', 'bin', 'install'));
  for (const dir of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
    if (existsSync(dir)) {
      cpSync(dir, join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true, dereference: false, verbatimSymlinks: true });
      break;
    }
  }
  const etc = join(root, 'etc', 'systemd', 'system');
  cpSync(UNITS_DIR, etc, { recursive: true });
  // Templates are verified through an instance.
  cpSync(join(etc, 'thukho-worker@.service'), join(etc, 'thukho-worker@ocr.service'));
  cpSync(join(etc, 'thukho-alert@.service'), join(etc, 'thukho-alert@thukho-worker@ocr.service'));
  const units = ['thukho-api.service', 'thukho-worker@ocr.service', 'thukho.target', 'thukho-backup.service', 'thukho-backup.timer', 'thukho-alert@thukho-worker@ocr.service'];
  const result = await promisify(execFile)(analyze, ['verify', `--root=${root}`, '--man=no', ...units], { cwd: etc }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  // Unknown keys and bad values are warnings with exit 0: any output at all is a failure.
  t.is(result.code, 0, result.stderr);
  t.is(`${result.stdout}${result.stderr}`.trim(), '', 'systemd-analyze verify says nothing');
});

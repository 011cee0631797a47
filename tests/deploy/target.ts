import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../helpers/cli.ts';
import { requireBinary, run, tail, type RunResult } from './ansible-helpers.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * A throw-away Debian 12 server on this machine for the deployment tests: a root made with
 * debootstrap, booted with systemd as PID 1 by systemd-nspawn in its own network namespace
 * (only loopback: like a server room with no internet, and none of its ports meet this
 * machine's), and reached by Ansible through nsenter (community.docker.nsenter).
 *
 * The bare root holds what Ansible itself needs on a managed host (python3, python3-apt, sudo)
 * and nothing else; what the roles install comes from a local package directory made by
 * ops/offline-debs, as at an offline site. Both are cached between runs (THUKHO_TEST_CACHE,
 * default /var/tmp/thukho-test-cache): they depend only on Debian's archive.
 */

export const CACHE = process.env.THUKHO_TEST_CACHE ?? '/var/tmp/thukho-test-cache';
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';
/** Ansible's own prerequisites on a managed host, and systemd to boot it. */
const BASE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'python3', 'python3-apt', 'sudo'];

async function must(file: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(file, args, { cwd: ROOT, ...options });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed:\n${tail(r)}`);
  return r;
}

/** The bare Debian 12 root, made once (debootstrap) and copied for each target. */
export async function bareRoot(log: string): Promise<string> {
  const key = createHash('sha256').update([SUITE, MIRROR, ...BASE_PACKAGES].join(' ')).digest('hex').slice(0, 12);
  const dir = join(CACHE, `debian-${SUITE}-${key}`);
  if (existsSync(join(dir, '.complete'))) return join(dir, 'root');
  await rm(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await must('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, SUITE, join(dir, 'root'), MIRROR], { log });
  writeFileSync(join(dir, '.complete'), new Date().toISOString());
  return join(dir, 'root');
}

/** The packages the single-host roles install, with dependencies, from ops/offline-debs. */
export async function offlineDebs(log: string): Promise<string> {
  const script = readFileSync(join(ROOT, 'ops/offline-debs'), 'utf8');
  const key = createHash('sha256').update(script).digest('hex').slice(0, 12);
  const dir = join(CACHE, `debs-${SUITE}-${key}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  await rm(dir, { recursive: true, force: true });
  await must('bash', [join(ROOT, 'ops/offline-debs'), dir], { log });
  writeFileSync(join(dir, '.complete'), new Date().toISOString());
  return dir;
}

export interface Target {
  /** The target's root directory, as seen from this machine. */
  root: string;
  /** PID (in this machine's namespace) of the target's systemd: Ansible's nsenter_pid. */
  pid: number;
  /** Runs a command inside the target (all its namespaces). */
  exec(args: string[], options?: { input?: string }): Promise<RunResult>;
  /** Runs a Node.js script of this machine inside the target's network namespace only (to reach its loopback). */
  /** `bodyFile`: a file of this machine sent as the body (e.g. an image to upload). */
  fetchInside(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; bodyFile?: string }): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  stop(): Promise<void>;
}

/** nspawn removes its propagation directory under /run/systemd/nspawn, and refuses unless it is a tmpfs. */
async function nspawnRunDir(log: string): Promise<void> {
  const dir = '/run/systemd/nspawn';
  mkdirSync(dir, { recursive: true });
  const mounted = await run('findmnt', ['--mountpoint', dir]);
  if (mounted.code !== 0) await must('mount', ['-t', 'tmpfs', 'tmpfs', dir], { log });
}

/** Targets and runs an interrupted test left behind (no nspawn runs on them any more), and all but the newest runs' logs. */
export async function clearLeftovers(): Promise<void> {
  mkdirSync(CACHE, { recursive: true });
  const running = (await run('ps', ['-eo', 'args'])).stdout;
  const entries = readdirSync(CACHE).filter((d) => /^(target|run)-/.test(d));
  const runs = entries.filter((d) => d.startsWith('run-')).map((d) => ({ d, t: statSync(join(CACHE, d)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const d of entries.filter((d) => d.startsWith('target-') && !running.includes(join(CACHE, d)))) await rm(join(CACHE, d), { recursive: true, force: true });
  for (const { d } of runs.slice(3)) await rm(join(CACHE, d), { recursive: true, force: true });
}

export async function bootTarget(log: string): Promise<Target> {
  const base = await bareRoot(log);
  const top = await mkdtemp(join(CACHE, 'target-'));
  const root = join(top, 'root');
  await must('cp', ['-a', base, root], { log });
  await nspawnRunDir(log);
  const machine = `thukho-test-${process.pid}`;
  const nspawn = spawn('systemd-nspawn', ['--register=no', '--keep-unit', '--private-network', `--machine=${machine}`, '-D', root, '-b', '--console=passive'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(log, { flags: 'a' });
  nspawn.stdout.pipe(out);
  nspawn.stderr.pipe(out);
  let exited = false;
  nspawn.on('exit', () => {
    exited = true;
  });

  let pid = 0;
  const giveUpAt = Date.now() + scaledTimeout(60_000); // hang guards for the boot, scaled
  while (Date.now() < giveUpAt && !pid && !exited) {
    await sleep(200);
    const children = await run('pgrep', ['-P', String(nspawn.pid)]);
    pid = Number(children.stdout.trim().split('\n')[0] ?? 0) || 0;
  }
  if (!pid) throw new Error(`systemd-nspawn did not start the target's systemd (see ${log})`);
  const enter = (args: string[], options: { input?: string } = {}) => run('nsenter', ['-t', String(pid), '-a', ...args], { log, ...options });
  // `is-system-running --wait` returns once start-up is over: running, or degraded when some unit failed.
  // Until systemd has opened its bus, systemctl cannot even ask.
  let state = await enter(['systemctl', 'is-system-running', '--wait']);
  while (Date.now() < giveUpAt + scaledTimeout(60_000) && /Failed to connect to bus/.test(state.stderr)) {
    await sleep(200);
    state = await enter(['systemctl', 'is-system-running', '--wait']);
  }
  if (!/^(running|degraded)/.test(state.stdout.trim())) throw new Error(`the target did not finish booting: ${tail(state)}`);

  return {
    root,
    pid,
    exec: enter,
    async fetchInside(url, init = {}) {
      const { bodyFile, ...rest } = init;
      const body = bodyFile === undefined ? '' : `init.body = await (await import('node:fs/promises')).readFile(${JSON.stringify(bodyFile)});`;
      const script = `const init = ${JSON.stringify(rest)}; ${body} const r = await fetch(${JSON.stringify(url)}, init); process.stdout.write(JSON.stringify({ status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() }));`;
      const r = await run('nsenter', ['-t', String(pid), '-n', process.execPath, '--input-type=module', '-e', script]);
      if (r.code !== 0) throw new Error(`fetch ${url} inside the target failed: ${tail(r)}`);
      return JSON.parse(r.stdout) as { status: number; headers: Record<string, string>; body: string };
    },
    async stop() {
      // nspawn passes SIGTERM on to the target's systemd as a request to power off.
      if (!exited) {
        try {
          nspawn.kill('SIGTERM');
        } catch {
          // already gone
        }
        for (let i = 0; i < 150 && !exited; i++) await sleep(200);
        if (!exited) nspawn.kill('SIGKILL');
      }
      await rm(top, { recursive: true, force: true });
    },
  };
}

/** Every tool the deployment tests drive: a missing one fails the test with its package name, never a skip. */
export function requireDeploymentTools(): void {
  const tools: Record<string, string> = {
    debootstrap: 'debootstrap',
    'systemd-nspawn': 'systemd-container',
    nsenter: 'util-linux',
    'ansible-playbook': 'ansible',
    'ansible-lint': 'ansible-lint',
    'dpkg-scanpackages': 'dpkg-dev',
  };
  for (const [tool, pkg] of Object.entries(tools)) requireBinary(tool, `apt-get install -y ${pkg}`);
}

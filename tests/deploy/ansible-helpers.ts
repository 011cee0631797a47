import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaledTimeout } from '../helpers/time-scale.ts';

/** The repository's ansible/ directory (site.yml, ansible.cfg, roles/, inventories/). */
export const ANSIBLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../ansible');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  output: string;
}

/**
 * Runs a command to completion, capturing its output (also appended to `log` when given). No
 * time limit but `timeoutMs`, a hang guard that kills it (default 45 min), scaled to how busy the machine is.
 */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; log?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const log = options.log ? createWriteStream(options.log, { flags: 'a' }) : undefined;
    log?.write(`\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, {
      cwd: options.cwd ?? ANSIBLE_DIR,
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', NO_COLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
      log?.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      output += chunk.toString();
      log?.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), scaledTimeout(options.timeoutMs ?? 45 * 60_000));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      log?.end();
      resolveRun({ code: code ?? 1, stdout, stderr, output });
    });
    child.stdin.on('error', () => {}); // a program that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** The last lines of a run's output, for an assertion's message. */
export const tail = (r: RunResult, n = 60) => `exit ${r.code}\n${r.output.split('\n').slice(-n).join('\n')}`;

/** Fails (with the reason and the fix) when a program the test needs is not installed. */
export function requireBinary(name: string, install: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`${name} is not installed; this test runs it for real. Install it: ${install}`);
}

/** A dummy Debian package (no files, no scripts) built with dpkg-deb. */
export async function dummyDeb(dir: string, name: string, fileName: string): Promise<string> {
  const pkg = join(dir, `${name}-pkg`);
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  writeFileSync(join(pkg, 'DEBIAN', 'control'), `Package: ${name}\nVersion: 0.0.1\nArchitecture: all\nMaintainer: thukho tests <tests@example.org>\nDescription: stand-in for the vendor package in check-mode tests\n`);
  const deb = join(dir, fileName);
  const built = await run('dpkg-deb', ['--build', '--root-owner-group', pkg, deb]);
  if (built.code !== 0) throw new Error(`dpkg-deb failed: ${built.output}`);
  return deb;
}

/** The PLAY RECAP counters of one host. */
export function recap(output: string, host: string): { ok: number; changed: number; failed: number; unreachable: number } {
  const m = new RegExp(`^${host.replace(/\./g, '\\.')}\\s+:\\s+ok=(\\d+)\\s+changed=(\\d+)\\s+unreachable=(\\d+)\\s+failed=(\\d+)`, 'm').exec(output);
  if (!m) throw new Error(`no PLAY RECAP line for ${host} in:\n${output.slice(-4000)}`);
  return { ok: Number(m[1]), changed: Number(m[2]), unreachable: Number(m[3]), failed: Number(m[4]) };
}


/**
 * Renders templates of a role with the role's defaults (vars_files) and `vars` (extra vars, which
 * win), with Ansible itself on localhost (connection local), into the given destinations.
 */
export async function renderRoleTemplates(role: string, files: Array<{ src: string; dest: string }>, vars: Record<string, unknown>, workDir: string): Promise<void> {
  const roleDir = join(ANSIBLE_DIR, 'roles', role);
  mkdirSync(workDir, { recursive: true });
  const play = join(workDir, `render-${role}.yml`);
  const tasks = files.flatMap((f, i) => [
    `    - name: Render ${f.src} (${i})`,
    '      ansible.builtin.template:',
    `        src: ${join(roleDir, 'templates', f.src)}`,
    `        dest: ${f.dest}`,
    '        mode: "0644"',
  ]);
  writeFileSync(
    play,
    [
      `- name: Render templates of the ${role} role`,
      '  hosts: localhost',
      '  connection: local',
      '  gather_facts: false',
      ...(existsSync(join(roleDir, 'defaults', 'main.yml')) ? ['  vars_files:', `    - ${join(roleDir, 'defaults', 'main.yml')}`] : []),
      '  tasks:',
      ...tasks,
      '',
    ].join('\n'),
  );
  const result = await run('ansible-playbook', ['-i', 'localhost,', play, '-e', JSON.stringify(vars)]);
  if (result.code !== 0) throw new Error(`rendering the ${role} templates failed:\n${result.output}`);
}

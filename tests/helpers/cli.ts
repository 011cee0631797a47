import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaledTimeout } from './time-scale.ts';

/** The repository root, where `bin/thukho.js` and `tools/` are. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** How long a command may run before it is taken for hung, on an idle machine; scaled (time-scale.ts). */
export const RUN_HANG_MS = 5 * 60_000;

/**
 * Runs a program to its end and resolves with its exit code and output (a non-zero exit is
 * a result, not an error). Killed after RUN_HANG_MS scaled to how busy the machine is (a busy
 * machine is slow, not hung), so a hang fails the test instead of stalling it.
 */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd = ROOT, hangMs = RUN_HANG_MS): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: scaledTimeout(hangMs), killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number' && !(err as { signal?: unknown }).signal) {
        reject(err);
        return;
      }
      const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/**
 * The environment `thukho` runs with in tests: nothing from the developer's shell (THUKHO_*
 * removed), the data dir, silent logs and the test redis; `extraEnv` on top (undefined unsets).
 */
export function cliEnv(dataDir: string, extraEnv: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('THUKHO_')) delete env[key];
  Object.assign(env, { THUKHO_DATA_DIR: dataDir, THUKHO_LOG_LEVEL: 'silent', REDIS_URL: 'redis://127.0.0.1:6379' });
  for (const [key, value] of Object.entries(extraEnv)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** `thukho ARGS` as an operator runs it, on `dataDir` (from `cwd`, default the repository root). */
export function thukho(dataDir: string, args: string[], extraEnv: Record<string, string | undefined> = {}, cwd = ROOT): Promise<Run> {
  return run(process.execPath, [join(ROOT, 'bin/thukho.js'), ...args], cliEnv(dataDir, extraEnv), cwd);
}

export const show = (r: Run) => `exit ${r.code} signal ${r.signal}\n--- stdout ---\n${r.stdout.slice(0, 4000)}\n--- stderr ---\n${r.stderr.slice(0, 4000)}`;

/** A long-running command (`serve`, `demo`): its output as it comes, and its end. */
export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once it has exited. */
  exited: Promise<Run>;
}

/**
 * Starts a command in a process group of its own (`detached`), as a shell in a terminal
 * does, so that `signalGroup` reaches it and every child it started, as Ctrl-C does.
 */
export function startThukho(dataDir: string, args: string[], extraEnv: Record<string, string | undefined> = {}): Running {
  const child = spawn(process.execPath, [join(ROOT, 'bin/thukho.js'), ...args], {
    cwd: ROOT,
    env: cliEnv(dataDir, extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<Run>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Sends `signal` to the whole process group, as a terminal's Ctrl-C (SIGINT) does. */
export function signalGroup(running: Running, signal: NodeJS.Signals): void {
  if (running.child.pid === undefined) throw new Error('the process never started');
  process.kill(-running.child.pid, signal);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port nothing listens on right now (on 127.0.0.1). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Until /health answers 200 on 127.0.0.1:`port` (fails at once if the command exits). Gives up
 * only after a few minutes scaled to how busy the machine is: a hang guard, not a start-up bound.
 */
export async function waitForHealth(running: Running, port: number): Promise<void> {
  const limit = scaledTimeout(3 * 60_000);
  const until = Date.now() + limit;
  while (Date.now() < until) {
    if (running.child.exitCode !== null) throw new Error(`serve exited before answering:\n${running.stdout()}\n${running.stderr()}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`no /health answer on ${port} in ${(limit / 1000).toFixed(0)} s:\n${running.stderr()}`);
}

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where `bin/thukho.js` and `tools/` are. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end and resolves with its exit code and output (a non-zero exit is
 * a result, not an error). Killed after a minute, so a hang fails the test instead of stalling it.
 */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ROOT, env, timeout: 240_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number' && !(err as { signal?: unknown }).signal) {
        reject(err);
        return;
      }
      const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (e.code ?? null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

/** `thukho ARGS` as an operator runs it, on `dataDir`, with nothing from the developer's shell. */
export function thukho(dataDir: string, args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('THUKHO_')) delete env[key];
  Object.assign(env, { THUKHO_DATA_DIR: dataDir, THUKHO_LOG_LEVEL: 'silent', REDIS_URL: 'redis://127.0.0.1:6379', ...extraEnv });
  return run(process.execPath, [join(ROOT, 'bin/thukho.js'), ...args], env);
}

export const show = (r: Run) => `exit ${r.code} signal ${r.signal}\n--- stdout ---\n${r.stdout.slice(0, 4000)}\n--- stderr ---\n${r.stderr.slice(0, 4000)}`;

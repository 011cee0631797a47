import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants as fsConstants } from 'node:fs';
import type { Logger } from 'pino';
import { raiseNiceness } from './priority.ts';
import { STOP_GRACE_MS, stopRequested } from './stopping.ts';
import { removeWorkerRecord, writeWorkerRecord } from './worker-records.ts';

/**
 * Keeps worker child processes running for `thukho serve` in the embedded profile: a
 * worker that dies is restarted after a backoff (1 s doubling to 1 min, reset after a
 * minute of good health), so one poisoned job cannot take the server down with it.
 *
 * Each worker is told our pid, so that it sees us go (`supervisorGone`), and is recorded under
 * `recordDir`, so that the next start can stop one that did not see it.
 *
 * With `nice`, each worker runs at that niceness (THUKHO_WORKER_NICE): set here the moment it
 * is spawned, so that what it starts with is already below the server, and again by the worker
 * on every thread it has once started (workers/index.ts), since Linux keeps one per thread.
 *
 * With `scheduling: 'idle'`, each worker is started through util-linux's `chrt --idle 0`, so
 * that its first thread already runs under SCHED_IDLE and every thread it starts inherits it:
 * a reader's request then takes the CPU from a pyramid build at once, and the build gets
 * what readers leave. Where `chrt` is missing, the worker runs with its niceness alone.
 */
export interface SupervisedWorker {
  name: string;
  pid(): number | undefined;
  restarts(): number;
  stop(): Promise<void>;
}

export function superviseWorker(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  recordDir: string,
  logger: Logger,
  options: { nice?: number; scheduling?: 'idle' | 'normal' } = {},
): SupervisedWorker {
  const chrt = options.scheduling === 'idle' ? chrtPath() : null;
  if (options.scheduling === 'idle' && !chrt) logger.warn({ worker: name }, 'chrt (util-linux) not found: the worker runs at its niceness only, not SCHED_IDLE');
  const [file, argv] = chrt ? [chrt, ['--idle', '0', command, ...args]] : [command, args];
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;

  const start = () => {
    const startedAt = Date.now();
    const started = spawn(file, argv, { env: { ...workerMemoryEnv(env), [SUPERVISOR_ENV]: String(process.pid) }, stdio: ['ignore', 'inherit', 'inherit'] });
    child = started;
    if (started.pid !== undefined) writeWorkerRecord(recordDir, name, started.pid);
    if (started.pid !== undefined && options.nice !== undefined) {
      const r = raiseNiceness(started.pid, options.nice);
      if (r.failed > 0 && r.raised === 0) logger.warn({ worker: name, nice: options.nice }, 'could not lower the worker\'s priority; it competes with readers');
    }
    logger.info({ worker: name, pid: started.pid, nice: options.nice, scheduling: chrt ? 'idle' : 'normal' }, 'worker started');
    started.once('exit', (code, signal) => {
      child = undefined;
      if (started.pid !== undefined) removeWorkerRecord(recordDir, name, started.pid);
      if (stopping) return;
      // The same Ctrl-C may reach the worker before it reaches us: look again after a moment.
      timer = setTimeout(() => restartAfterExit(startedAt, code, signal), STOP_GRACE_MS);
    });
  };
  const restartAfterExit = (startedAt: number, code: number | null, signal: NodeJS.Signals | null) => {
    if (stopping || stopRequested()) return;
    if (Date.now() - startedAt > 60_000) delay = 1000;
    logger.error({ worker: name, code, signal, restartInMs: delay }, 'worker exited; restarting');
    restarts++;
    timer = setTimeout(start, delay);
    delay = Math.min(delay * 2, 60_000);
  };
  start();

  return {
    name,
    pid: () => child?.pid,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = once(c, 'exit');
      c.kill('SIGTERM');
      // A worker finishing a long job (a 140-megapixel pyramid) would keep Ctrl-C waiting for a
      // minute; every job's writes survive kill -9 and the job is retried, so the stop of the
      // whole server stays within the 10 s operators are promised.
      const killer = setTimeout(() => c.kill('SIGKILL'), 7_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * What keeps a worker small (bench:memory), under the operator's own settings, which win:
 * - MALLOC_ARENA_MAX=2: glibc gives every thread that allocates its own malloc arena (up to
 *   8 per core), which libvips' and ONNX Runtime's threads fill and seldom hand back.
 * - --max-semi-space-size=2 (MB): V8's young generation otherwise grows to 16 MB per semi-space
 *   in each isolate (the worker's, tsx's loader thread, tesseract.js's thread) and stays
 *   committed; measured on an idle worker, 308 → 176 MB PSS. A worker's time is spent in
 *   libvips, tesseract and hashing, not in the JavaScript that more scavenges slow down.
 *   Later flags win, so an operator's NODE_OPTIONS still decides.
 */
export function workerMemoryEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    MALLOC_ARENA_MAX: '2',
    ...env,
    NODE_OPTIONS: ['--max-semi-space-size=2', env.NODE_OPTIONS].filter(Boolean).join(' '),
  };
}

/** Tells a worker which process supervises it (see `supervisorGone`). */
const SUPERVISOR_ENV = 'THUKHO_SUPERVISOR_PID';

/**
 * In a worker started by superviseWorker: resolves when the server that started it is gone
 * (the worker is re-parented, so its parent pid changes: crash and kill -9 alike), so that
 * it does not outlive that server and carry on with its configuration. Never resolves in a
 * worker started by hand. `release` stops watching.
 */
export function supervisorGone(): { gone: Promise<'supervisor gone'>; release(): void } {
  const supervisor = Number(process.env[SUPERVISOR_ENV]);
  if (!Number.isInteger(supervisor) || supervisor <= 0) return { gone: new Promise(() => {}), release: () => {} };
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<'supervisor gone'>((resolve) => {
    // Polled: Node's IPC channel would tell at once, but under tsx's loader thread it closes
    // by itself a moment after start.
    timer = setInterval(() => {
      if (process.ppid !== supervisor) resolve('supervisor gone');
    }, 1000).unref();
  });
  return { gone, release: () => clearInterval(timer) };
}

/** util-linux's chrt, where Linux has it (it execs the command: the pid is the worker's). */
function chrtPath(): string | null {
  if (process.platform !== 'linux') return null;
  for (const dir of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    try {
      accessSync(`${dir}/chrt`, fsConstants.X_OK);
      return `${dir}/chrt`;
    } catch {
      /* next */
    }
  }
  return null;
}

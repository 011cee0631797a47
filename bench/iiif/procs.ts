/**
 * Process and machine helpers of the IIIF bench: servers run as child processes, each the
 * leader of its own process group (detached), so that stopping one stops everything it
 * started (thukho's workers, for instance); every live group is recorded so that an error
 * or Ctrl-C still stops it. Also: free ports, TCP readiness, CPU seconds of a process
 * group, the page cache, and the machine's busy time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { CLK_TCK } from '../machine.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Group {
  name: string;
  child: ChildProcess;
  /** = the leader's pid. */
  pgid: number;
  logPath: string;
  exited: boolean;
  exit: Promise<void>;
}

const live = new Set<Group>();

/** Starts `cmd` as the leader of a new process group; stdout and stderr go to `logPath`. */
export function startGroup(name: string, cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; logPath: string }): Group {
  const fd = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  const group: Group = { name, child, pgid: child.pid, logPath: options.logPath, exited: false, exit: Promise.resolve() };
  group.exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      group.exited = true;
      resolve();
    });
    child.once('error', () => {
      group.exited = true;
      resolve();
    });
  });
  live.add(group);
  return group;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * SIGTERM to the leader (a server stops its own children cleanly on SIGTERM), then, after
 * `graceMs`, SIGKILL to the whole group; waits until no process of the group is left.
 */
export async function stopGroup(g: Group, graceMs = 15_000): Promise<void> {
  if (!g.exited) {
    try {
      g.child.kill('SIGTERM');
    } catch {
      /* gone */
    }
    await Promise.race([g.exit, sleep(graceMs)]);
  }
  // Whatever is left of the group (a worker that did not stop, for instance).
  if (groupAlive(g.pgid)) {
    signalGroup(g.pgid, 'SIGTERM');
    for (let i = 0; i < 20 && groupAlive(g.pgid); i++) await sleep(100);
    if (groupAlive(g.pgid)) signalGroup(g.pgid, 'SIGKILL');
  }
  for (let i = 0; i < 50 && groupAlive(g.pgid); i++) await sleep(100);
  live.delete(g);
}

/** Synchronous last resort (signal handlers, exit): SIGKILL every group still recorded. */
export function killAllGroups(): void {
  for (const g of live) signalGroup(g.pgid, 'SIGKILL');
  live.clear();
}

/** A free TCP port on 127.0.0.1 (free now; we bind it a moment later). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (without sending a request). */
export async function waitForPort(port: number, timeoutMs: number, group?: Group): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (group?.exited) throw new Error(`${group.name} exited before listening on ${port}; see ${group.logPath}:\n${tail(group.logPath)}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms${group ? `; see ${group.logPath}:\n${tail(group.logPath)}` : ''}`);
    await sleep(100);
  }
}

export function tail(path: string, chars = 3000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-chars);
  } catch {
    return '(no log)';
  }
}


/**
 * CPU seconds (user + system) used so far by the live processes of a process group; with
 * `only`, just those whose command line matches it (e.g. the `thukho worker` children).
 */
export function groupCpuSeconds(pgid: number, only?: RegExp): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid pgrp … utime(14) stime(15), numbered from 1 overall.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) !== pgid) continue;
    if (only) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        continue;
      }
      if (!only.test(cmdline)) continue;
    }
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / CLK_TCK;
}

/**
 * Waits until a started `thukho serve` answers /health with 200, then until it has settled
 * (projections at the head, start-up work done): under 5% of a core for a second.
 */
export async function waitHealthyAndSettled(group: Group, baseUrl: string, logPath: string, what: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; ; ) {
    const status = await fetch(`${baseUrl}/health`).then(async (r) => (await r.arrayBuffer(), r.status), () => 0);
    if (status === 200) break;
    if (group.exited || Date.now() > deadline) throw new Error(`${what} did not become healthy; see ${logPath}:\n${tail(logPath)}`);
    await sleep(250);
  }
  for (let quiet = 0, i = 0; quiet < 2 && i < 120; i++) {
    const c = groupCpuSeconds(group.pgid);
    await sleep(500);
    quiet = groupCpuSeconds(group.pgid) - c < 0.025 ? quiet + 1 : 0;
  }
}

/**
 * Runs wrk with walk.lua over a file of request paths and parses its one-line result.
 * Alongside: the CPU seconds of the server's process groups during the run, wrk's own CPU
 * (from /usr/bin/time when present) and what the rest of the machine used ("others").
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineBusy } from '../machine.ts';
import { groupCpuSeconds } from './procs.ts';

export const WALK_LUA = join(dirname(fileURLToPath(import.meta.url)), 'walk.lua');

/** Process groups of wrk runs in progress (wrk runs detached under /usr/bin/time). */
const running = new Set<number>();

/** Synchronous, for signal handlers: SIGKILL every wrk still running. */
export function killWrk(): void {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  running.clear();
}
const TIME_BIN = '/usr/bin/time';
/** The supervisor's children: `node … bin/thukho.js worker NAMES`. */
const WORKER_CMD = /thukho\.js worker /;

export interface WrkResult {
  requests: number;
  seconds: number;
  bytes: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Responses whose status was not 200, and 200s with an empty body. */
  non200: number;
  empty: number;
  firstBad: string;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** CPU seconds during the run: the server (all its processes), wrk, everybody else. */
  serverCpu: number;
  /** The part of serverCpu used by the server's `thukho worker` children (derivatives, OCR, …). */
  workersCpu: number;
  wrkCpu: number;
  othersCpu: number;
  raw: string;
}

export interface WrkOptions {
  baseUrl: string;
  pathsFile: string;
  threads: number;
  connections: number;
  seconds: number;
  timeoutSeconds: number;
  /** Process groups of the server under test, for its CPU seconds. */
  serverGroups: number[];
  workDir: string;
}

/** Latencies in milliseconds. Rejects only when wrk itself fails (exit code, no result line). */
export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const wrkArgs = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', `${o.timeoutSeconds}s`, '-s', WALK_LUA, o.baseUrl, '--', o.pathsFile, String(o.threads)];
  const timeReport = join(o.workDir, `.wrk-time-${process.hrtime.bigint()}`);
  const haveTime = existsSync(TIME_BIN);
  const [cmd, args] = haveTime ? [TIME_BIN, ['-f', '%U %S', '-o', timeReport, 'wrk', ...wrkArgs]] : ['wrk', wrkArgs];
  return new Promise((resolve, reject) => {
    const server0 = o.serverGroups.reduce((n, g) => n + groupCpuSeconds(g), 0);
    const workers0 = o.serverGroups.reduce((n, g) => n + groupCpuSeconds(g, WORKER_CMD), 0);
    const busy0 = machineBusy();
    const child = spawn(cmd as string, args as string[], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pgid = child.pid;
    if (pgid !== undefined) running.add(pgid);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (pgid !== undefined) running.delete(pgid);
      const busy = machineBusy() - busy0;
      const serverCpu = o.serverGroups.reduce((n, g) => n + groupCpuSeconds(g), 0) - server0;
      const workersCpu = o.serverGroups.reduce((n, g) => n + groupCpuSeconds(g, WORKER_CMD), 0) - workers0;
      let wrkCpu = NaN;
      if (haveTime) {
        try {
          const [u = NaN, s = NaN] = readFileSync(timeReport, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
          wrkCpu = u + s;
        } catch {
          /* NaN */
        }
        rmSync(timeReport, { force: true });
      }
      const line = out.split('\n').find((l) => l.startsWith('WRK_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited with ${code}${line ? '' : ' and printed no WRK_RESULT line'}\n${out.slice(-2000)}\n${err.slice(-2000)}`));
        return;
      }
      const kv = new Map(line.slice('WRK_RESULT '.length).trim().split(' ').map((p) => p.split('=', 2) as [string, string]));
      const num = (k: string) => Number(kv.get(k) ?? NaN);
      const seconds = num('duration_us') / 1e6;
      resolve({
        requests: num('requests'),
        seconds,
        bytes: num('bytes'),
        rps: num('requests') / seconds,
        p50: num('p50_us') / 1000,
        p90: num('p90_us') / 1000,
        p99: num('p99_us') / 1000,
        max: num('max_us') / 1000,
        mean: num('mean_us') / 1000,
        non200: num('non200'),
        empty: num('empty'),
        firstBad: kv.get('first_bad') ?? '-',
        socketErrors: { connect: num('connect'), read: num('read'), write: num('write'), timeout: num('timeout') },
        serverCpu,
        workersCpu,
        wrkCpu,
        othersCpu: Math.max(0, busy - serverCpu - (Number.isNaN(wrkCpu) ? 0 : wrkCpu)),
        raw: line,
      });
    });
  });
}

/** True when every response was a 200 with a body and no socket failed. */
export function clean(r: WrkResult): boolean {
  const e = r.socketErrors;
  return r.non200 === 0 && r.empty === 0 && e.connect + e.read + e.write + e.timeout === 0;
}

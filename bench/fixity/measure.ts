/**
 * How one run of the fixity bench is measured, for child processes (openssl, sha512sum) and
 * for our code running in this process, so that both sides report the same things:
 * wall seconds, CPU seconds (user + sys), bytes read from the disk (ru_inblock: shows that a
 * cold run really read the disk, and that nobody dropped the cache under a warm one), and the
 * CPU seconds everybody else on this shared machine used meanwhile.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { machineBusy } from '../machine.ts';

export const TIME_BIN = '/usr/bin/time';
export const HAVE_TIME = existsSync(TIME_BIN);

export interface Measured {
  wall: number;
  user: number;
  sys: number;
  /** Bytes the run read from the disk (page-cache misses); NaN when unknown. */
  diskRead: number;
  /** CPU seconds other processes used on the machine during the run. */
  others: number;
}

export interface ChildRun extends Measured {
  stdouts: string[];
}

/**
 * Runs the commands at the same time, each under `/usr/bin/time` (its own rusage, so the
 * CPU of each process is exact), and waits for all of them; wall time is from the first
 * spawn to the last exit. Throws when one fails.
 */
export function runChildren(commands: string[][], workDir: string): Promise<ChildRun> {
  if (!HAVE_TIME) throw new Error(`${TIME_BIN} is missing: apt-get install time`);
  const busy0 = machineBusy();
  const started = process.hrtime.bigint();
  const reports = commands.map((_, i) => join(workDir, `.time-${process.pid}-${started}-${i}`));
  const runs = commands.map(
    (argv, i) =>
      new Promise<string>((resolve, reject) => {
        // %U %S user/sys seconds, %I file system inputs (512-byte units, = ru_inblock).
        const child = spawn(TIME_BIN, ['-f', '%U %S %I', '-o', reports[i] as string, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => {
          if (code === 0) resolve(stdout);
          else reject(new Error(`${argv.slice(0, 3).join(' ')} … exited with ${code}: ${stderr.slice(-2000)}`));
        });
      }),
  );
  return Promise.all(runs).then((stdouts) => {
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    let user = 0;
    let sys = 0;
    let blocks = 0;
    for (const report of reports) {
      // time writes "Command exited with…" first when the status is not 0; the figures are last.
      const last = readFileSync(report, 'utf8').trim().split('\n').pop() ?? '';
      const [u, s, inb] = last.split(/\s+/).map(Number);
      user += u ?? NaN;
      sys += s ?? NaN;
      blocks += inb ?? NaN;
      rmSync(report, { force: true });
    }
    const others = Math.max(0, machineBusy() - busy0 - (user + sys));
    return { wall, user, sys, diskRead: blocks * 512, others, stdouts };
  });
}

/**
 * Times `fn` in this process. CPU comes from process.cpuUsage(): every thread of the process
 * (worker threads and libuv's pool included), so a FixityPool's threads are counted.
 */
export async function runHere<T>(fn: () => Promise<T>): Promise<Measured & { value: T }> {
  const busy0 = machineBusy();
  const cpu0 = process.cpuUsage();
  const read0 = process.resourceUsage().fsRead;
  const started = process.hrtime.bigint();
  const value = await fn();
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const diskRead = (process.resourceUsage().fsRead - read0) * 512;
  const user = cpu.user / 1e6;
  const sys = cpu.system / 1e6;
  const others = Math.max(0, machineBusy() - busy0 - (user + sys));
  return { wall, user, sys, diskRead, others, value };
}

import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Background work (derivatives, OCR, fixity, replication) yields the CPU to readers: its
 * processes run at a higher niceness than the server's.
 *
 * On Linux a niceness belongs to a thread, not to a process: setpriority(pid) changes the
 * main thread only, and a thread takes its creator's niceness when it is made. A Node process
 * has threads from its first instant (V8's platform workers, tsx's loader, libuv's pool), and
 * libvips makes its own from libuv's: so every thread there is now is set, and those made
 * later inherit it. Only ever raised: lowering a niceness needs CAP_SYS_NICE, which a service
 * user lacks (systemd's Nice= may already have set more).
 */
export interface Reniced {
  /** Threads whose niceness was raised to `nice`. */
  raised: number;
  /** Threads already at `nice` or above. */
  already: number;
  /** Threads that could not be set (gone meanwhile, or not permitted). */
  failed: number;
}

export function raiseNiceness(pid: number, nice: number): Reniced {
  const out: Reniced = { raised: 0, already: 0, failed: 0 };
  let threads: number[];
  try {
    threads = readdirSync(`/proc/${pid}/task`).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    // No /proc (not Linux): the process's own priority is all there is to set.
    threads = [pid];
  }
  for (const tid of threads) {
    try {
      if (getPriority(tid) >= nice) out.already++;
      else {
        setPriority(tid, nice);
        out.raised++;
      }
    } catch {
      out.failed++;
    }
  }
  return out;
}

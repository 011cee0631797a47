import { readdirSync, readFileSync } from 'node:fs';

/**
 * What tests see of processes on this machine, through /proc (Linux). A process whose parent
 * died is re-parented to pid 1, which in a container may never reap it: a zombie has exited,
 * so it counts as gone here though kill(pid, 0) still finds it.
 */
function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: read after the last ')'.
    const [state = '', ppid = '0'] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a process that has not exited (zombies have). */
export function isRunning(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** The command line of `pid`, one string per argument ([] once it has exited). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Running processes whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const s = stat(pid);
    if (s?.ppid === ppid && isRunning(pid)) pids.push(pid);
  }
  return pids;
}

/** Sends `signal` unless the process is already gone (0 and negative pids address groups: never). */
export function signalIfRunning(pid: number, signal: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

/**
 * Whether a process with this pid exists on this machine. Signal 0 checks without sending
 * anything: ESRCH means no such process; EPERM means it exists but belongs to another user,
 * so it is alive. A pid that is not a positive integer is never alive: kill(0) and kill(-n)
 * would address process groups, not one process.
 */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown } | null)?.code !== 'ESRCH';
  }
}

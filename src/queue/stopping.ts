/**
 * Whether this process has been asked to stop. A terminal's Ctrl-C and systemd's stop signal
 * the whole process group, so the workers and the embedded redis-server receive the same
 * signal and may exit a moment before our own handler has run: an exit within a short grace
 * of the request is part of the stop, not a crash to report or restart.
 */
let requested = false;

/** Called by the signal handler of the process that owns the children. */
export function markStopping(): void {
  requested = true;
}

export function stopRequested(): boolean {
  return requested;
}

/** How long a child's exit waits before it is judged: long enough for the signal handler to run. */
export const STOP_GRACE_MS = 500;

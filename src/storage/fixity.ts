import { createHash, type Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FixityFailure } from '../domain/events.ts';

/**
 * Fixity of one stored file: read it once, hash it, compare with what was recorded.
 *
 * Throughput matters more here than anywhere else in thukho (every byte of the repository is
 * re-read every cycle), so the loop is deliberately plain: two large buffers per check, taken
 * from a small free list and reused, filled with positioned `read`s and handed to the hashes;
 * the next chunk is read (in libuv's pool) while the current one is hashed (here). No streams,
 * no copies, no per-chunk allocation. Hashing is the work; anything the loop adds on top is
 * loss, and so is any moment the disk waits for the hash or the hash for the disk. sha512 and sha256 cost about as much again as sha512 alone, so only the
 * algorithms that are asked for (or that have an expected value) are computed — both still
 * in the same single pass when both are wanted.
 */

export type FixityAlgorithm = 'sha512' | 'sha256';

export interface FixityExpectation {
  sha512?: string;
  sha256?: string;
  size?: number;
}

export interface FileCheck {
  outcome: 'pass' | 'fail';
  failure?: Exclude<FixityFailure, 'invalid-inventory'>;
  actual: { sha512?: string; sha256?: string };
  /** Bytes read (the file's length when it could be read to the end). */
  bytes: number;
  durationMs: number;
  detail?: string;
}

export interface CheckOptions {
  limiter?: RateLimiter;
  signal?: AbortSignal;
  /**
   * Digests to compute. Default: those `expected` has a value for, or both when it has none
   * (then the check only reports what the file is).
   */
  algorithms?: FixityAlgorithm[];
  /**
   * Read with readSync on this thread, reading and hashing in turn, instead of reading ahead
   * through libuv's thread pool (the default, also in FixityPool threads: with reads in turn a
   * cold disk idles while a chunk is hashed, and that cost 10–40 % against openssl).
   */
  syncReads?: boolean;
  /**
   * Called once, as soon as the read of the file's last bytes (by its length at open) has
   * been started, or when the check ends before that: a caller that checks files one after
   * another may then open the next one and start its first read, so that it overlaps the
   * hashing of this file's last chunk instead of following it.
   */
  onLastRead?: () => void;
}

const YIELD_EVERY_CHUNKS = 16;
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * 1 MiB: large enough that one read and one hash update per chunk cost nothing beside the
 * hashing itself, small enough that a 4 MiB scan is several reads, so that reading ahead has
 * something to overlap (with 4 MiB chunks a 4 MiB file is one read, then the hash, in turn).
 */
export const CHUNK_BYTES = 1 << 20;

const free: Buffer[] = [];
/**
 * Buffers kept for reuse: two checks of two buffers each (a FixityPool thread overlaps the
 * next file's first read with the current file's last chunk); more at once allocate and drop.
 */
const MAX_FREE = 4;

function takeBuffer(): Buffer {
  return free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

function giveBack(buffer: Buffer): void {
  if (free.length < MAX_FREE) free.push(buffer);
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return (code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 2000);
}

export function algorithmsFor(expected: FixityExpectation): FixityAlgorithm[] {
  const wanted: FixityAlgorithm[] = [];
  if (expected.sha512 !== undefined) wanted.push('sha512');
  if (expected.sha256 !== undefined) wanted.push('sha256');
  return wanted.length ? wanted : ['sha512', 'sha256'];
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('the fixity check was aborted'), { name: 'AbortError' });
}

/**
 * Checks `path` against `expected`. Never throws for what it finds on disk: a missing,
 * unreadable, short or altered file is a `fail` with its `failure` kind. It throws only when
 * `signal` aborts.
 */
export async function checkFile(path: string, expected: FixityExpectation, options: CheckOptions = {}): Promise<FileCheck> {
  const { signal } = options;
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000;
  let lastReadSignalled = false;
  // Whatever happens, the caller hears once that this check issues no more reads of its own.
  const lastRead = () => {
    if (lastReadSignalled) return;
    lastReadSignalled = true;
    options.onLastRead?.();
  };
  try {
    if (signal?.aborted) throw abortError(signal);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      const code = errorCode(err);
      const missing = code === 'ENOENT' || code === 'ENOTDIR';
      return { outcome: 'fail', failure: missing ? 'missing' : 'unreadable', actual: {}, bytes: 0, durationMs: elapsed(), detail: describe(err) };
    }
    const algorithms = options.algorithms ?? algorithmsFor(expected);
    const hashes: Hash[] = algorithms.map((a) => createHash(a));
    const read = options.syncReads ? await readSerially(handle, hashes, options, lastRead) : await readAhead(handle, hashes, options, lastRead);
    lastRead();
    const { bytes } = read;
    if (read.error !== null) {
      return { outcome: 'fail', failure: 'unreadable', actual: {}, bytes, durationMs: elapsed(), detail: describe(read.error) };
    }
    const actual: FileCheck['actual'] = {};
    algorithms.forEach((a, i) => (actual[a] = (hashes[i] as Hash).digest('hex')));
    const durationMs = elapsed();

    if (expected.size !== undefined && bytes < expected.size) {
      return { outcome: 'fail', failure: 'truncated', actual, bytes, durationMs, detail: `${bytes} bytes, expected ${expected.size}` };
    }
    const differs: string[] = [];
    for (const a of ['sha512', 'sha256'] as const) {
      const want = expected[a];
      const have = actual[a];
      if (want !== undefined && have !== undefined && want.toLowerCase() !== have) differs.push(a);
    }
    if (expected.size !== undefined && bytes !== expected.size) differs.push('size');
    if (differs.length) {
      return { outcome: 'fail', failure: 'changed', actual, bytes, durationMs, detail: `${differs.join(', ')} differ${differs.length === 1 ? 's' : ''} from the recorded value` };
    }
    return { outcome: 'pass', actual, bytes, durationMs };
  } finally {
    lastRead();
  }
}

/** What a read loop found: the bytes it read to EOF, or the error that stopped it. */
interface ReadOutcome {
  bytes: number;
  error: unknown;
}

/** A failed `read` (the file's problem), told apart from an abort or a refused budget (the caller's). */
class ReadFailure {
  constructor(readonly cause: unknown) {}
}

const limited = (limiter: RateLimiter | undefined): limiter is RateLimiter => limiter !== undefined && limiter.bytesPerSecond > 0;

/**
 * Reads to EOF with two buffers: while one chunk is hashed on this thread, the read of the
 * next runs in libuv's pool, so the disk is not idle while the CPU hashes (a cold cache) and
 * the copy out of the page cache is not on the hashing thread (a warm one). The file's length
 * at open decides which read is the last (the caller then starts the next file: `onLastRead`),
 * but the loop still reads until a read returns 0, so a file that changes length while it is
 * read is judged by what was actually read. A read is always awaited before its buffer is
 * reused or given back and before the file is closed, whatever ends the loop.
 */
async function readAhead(handle: FileHandle, hashes: Hash[], options: CheckOptions, lastRead: () => void): Promise<ReadOutcome> {
  const { limiter, signal } = options;
  const buffers = [takeBuffer(), takeBuffer()] as const;
  let pending: Promise<number> | null = null;
  let bytes = 0;
  try {
    // Only a plan (which read is the last): the loop reads to EOF whatever the length says.
    const size = await handle.stat().then((st) => st.size, () => Number.MAX_SAFE_INTEGER);
    const start = (buffer: Buffer, at: number): Promise<number> => {
      if (at + CHUNK_BYTES >= size) lastRead();
      const p = (async () => {
        // Tokens for the bytes this read will most likely return (at least 1: EOF must be read too).
        if (limited(limiter)) await limiter.take(Math.max(1, Math.min(CHUNK_BYTES, size - at)), signal);
        try {
          return (await handle.read(buffer, 0, CHUNK_BYTES, at)).bytesRead;
        } catch (err) {
          throw new ReadFailure(err);
        }
      })();
      // Handled where it is awaited; this only keeps a rejection during hashing from counting as unhandled.
      p.catch(() => {});
      return p;
    };
    let which = 0;
    pending = start(buffers[0], 0);
    for (;;) {
      let bytesRead: number;
      try {
        bytesRead = await pending;
      } catch (err) {
        pending = null;
        if (err instanceof ReadFailure) return { bytes, error: err.cause };
        throw err;
      }
      pending = null;
      if (bytesRead === 0) return { bytes, error: null };
      if (signal?.aborted) throw abortError(signal);
      const current = buffers[which] as Buffer;
      which ^= 1;
      pending = start(buffers[which] as Buffer, bytes + bytesRead);
      const chunk = bytesRead === CHUNK_BYTES ? current : current.subarray(0, bytesRead);
      for (const h of hashes) h.update(chunk);
      bytes += bytesRead;
    }
  } finally {
    // Never close the file or hand a buffer to another check while a read may still fill it.
    if (pending) await pending.catch(() => {});
    giveBack(buffers[0]);
    giveBack(buffers[1]);
    await handle.close().catch(() => {});
  }
}

/** One buffer, readSync then hash, in turn (`syncReads`). */
async function readSerially(handle: FileHandle, hashes: Hash[], options: CheckOptions, lastRead: () => void): Promise<ReadOutcome> {
  const { limiter, signal } = options;
  const buffer = takeBuffer();
  let sinceYield = 0;
  let bytes = 0;
  try {
    const size = await handle.stat().then((st) => st.size, () => Number.MAX_SAFE_INTEGER);
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      if (bytes + CHUNK_BYTES >= size) lastRead();
      if (limited(limiter)) await limiter.take(Math.max(1, Math.min(CHUNK_BYTES, size - bytes)), signal);
      let bytesRead: number;
      try {
        bytesRead = readSync(handle.fd, buffer, 0, CHUNK_BYTES, bytes);
      } catch (err) {
        return { bytes, error: err };
      }
      if (bytesRead === 0) return { bytes, error: null };
      const chunk = bytesRead === CHUNK_BYTES ? buffer : buffer.subarray(0, bytesRead);
      for (const h of hashes) h.update(chunk);
      bytes += bytesRead;
      // Let the thread hear an abort (or anything else) now and then.
      if (++sinceYield >= YIELD_EVERY_CHUNKS) {
        sinceYield = 0;
        await yieldTurn();
      }
    }
  } finally {
    giveBack(buffer);
    await handle.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Read budget

/**
 * A read budget: `take(bytes)` resolves when the bytes may be read. One limiter is meant to be
 * shared by every check of a process (and, through FixityPool, of its threads), so that
 * scheduled fixity never takes more of the disks than the configured rate, however many
 * files are checked at once, and the reading room stays responsive.
 */
export interface RateLimiter {
  /** 0 = unlimited. */
  readonly bytesPerSecond: number;
  take(bytes: number, signal?: AbortSignal): Promise<void>;
}

export interface RateLimiterOptions {
  /** Bytes that may be read at once after a pause (default: 100 ms of the rate, at least 64 KiB). */
  burstBytes?: number;
  /** The clock, for tests (ms). */
  now?: () => number;
}

const UNLIMITED: RateLimiter = { bytesPerSecond: 0, take: async () => {} };

/**
 * A token bucket of `mbPerSecond` × 10^6 bytes per second (0 = unlimited). A request larger
 * than the bucket is granted by going into debt: the taker waits until the debt is repaid,
 * and so does everyone after it. By any time t, at most `burst + rate × t` bytes are granted.
 */
export function rateLimiter(mbPerSecond: number, options: RateLimiterOptions = {}): RateLimiter {
  if (!Number.isFinite(mbPerSecond) || mbPerSecond < 0) throw new RangeError(`mbPerSecond must be a number ≥ 0, got ${mbPerSecond}`);
  if (mbPerSecond === 0) return UNLIMITED;
  const rate = mbPerSecond * 1e6;
  const burst = options.burstBytes ?? Math.max(64 * 1024, Math.round(rate / 10));
  const now = options.now ?? (() => performance.now());
  let tokens = burst;
  let last = now();
  return {
    bytesPerSecond: rate,
    async take(bytes, signal) {
      if (!(bytes > 0)) return;
      if (signal?.aborted) throw abortError(signal);
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
      last = t;
      tokens -= bytes;
      if (tokens >= 0) return;
      const waitMs = (-tokens / rate) * 1000;
      try {
        await sleep(waitMs, undefined, signal ? { signal } : undefined);
      } catch (err) {
        // Not read after all: give the bytes back to those who still wait.
        tokens += bytes;
        throw signal?.aborted ? abortError(signal) : err;
      }
    },
  };
}

const shared = new Map<number, RateLimiter>();

/** The process's one limiter for a rate (so that a worker's jobs share one budget). */
export function sharedRateLimiter(mbPerSecond: number): RateLimiter {
  let limiter = shared.get(mbPerSecond);
  if (!limiter) {
    limiter = rateLimiter(mbPerSecond);
    shared.set(mbPerSecond, limiter);
  }
  return limiter;
}

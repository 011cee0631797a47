import { availableParallelism, getPriority, setPriority } from 'node:os';
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import { type CheckOptions, checkFile, type FileCheck, type FixityAlgorithm, type FixityExpectation, type RateLimiter } from './fixity.ts';

/**
 * Fixity checks on every core. Node hashes on the thread that calls `update`, so one process
 * checking files one after another uses one core however many it has; this pool runs
 * checkFile in worker threads. A thread tells the pool when its check has started its last
 * read, and is then handed the next check at once, so that opening the next file and reading
 * its first chunk overlap the hashing of the current file's last chunk (with many small files,
 * that gap is otherwise a large share of a cold run). Only then: a check is never queued in a
 * busy thread while another thread could take it (a small file behind a 2 GB master). At
 * most two checks per thread run at once, so memory stays at four chunk buffers per thread.
 *
 * The read budget stays on the main thread: before each chunk a thread asks for tokens and
 * waits for the grant, so one RateLimiter holds across all threads (and across everything
 * else in the process that shares it).
 *
 * The thread runs this same module as TypeScript, through a small JavaScript bootstrap that
 * registers tsx in the thread first: whether the process was started by `node bin/thukho.js`
 * (tsx registered at run time) or by `node --import tsx` (ava), threads inherit neither.
 */

const WORKER_MARK = 'thukho-fixity-pool';

type ToWorker =
  | { type: 'check'; id: number; path: string; expected: FixityExpectation; algorithms?: FixityAlgorithm[]; limited: boolean }
  | { type: 'granted'; id: number }
  | { type: 'refused'; id: number; message: string }
  | { type: 'abort'; id: number };

type FromWorker =
  | { type: 'take'; id: number; bytes: number }
  | { type: 'last-read'; id: number }
  | { type: 'done'; id: number; result: FileCheck }
  | { type: 'error'; id: number; message: string; aborted: boolean };

/**
 * Messages come from our own threads, not from outside: a shape check is enough (and zod,
 * loaded in every thread, would double its start-up time).
 */
function isFromWorker(msg: unknown): msg is FromWorker {
  const m = msg as { type?: unknown; id?: unknown } | null;
  return typeof m === 'object' && m !== null && typeof m.id === 'number' && (m.type === 'take' || m.type === 'last-read' || m.type === 'done' || m.type === 'error');
}

export interface PoolCheckOptions {
  limiter?: RateLimiter;
  signal?: AbortSignal;
  algorithms?: FixityAlgorithm[];
}

interface Task {
  id: number;
  path: string;
  expected: FixityExpectation;
  options: PoolCheckOptions;
  /** The thread has started the check's last read: it may be handed the next one. */
  lastReadStarted?: boolean;
  resolve: (r: FileCheck) => void;
  reject: (e: unknown) => void;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  /** Running in the thread, or waiting there for the running one's last read (at most PER_THREAD). */
  tasks: Task[];
  /** Set while the thread has nothing to do and the pool ends idle threads (PoolOptions.idleMs). */
  idleTimer?: NodeJS.Timeout;
}

/** Checks handed to one thread at a time: the one it hashes, and the next, read ahead. */
const PER_THREAD = 2;

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('the fixity check was aborted'), { name: 'AbortError' });
}

let bootstrap: string | undefined;
/**
 * The thread's entry: plain JavaScript that registers tsx in the thread, then imports this
 * module. `--import tsx` in execArgv is not enough: on Node 20, tsx's loader registers its
 * hooks on the main thread only. Both URLs are resolved here, so that the thread finds them
 * whatever the working directory.
 */
function workerBootstrap(): string {
  bootstrap ??= `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })
  .catch((err) => { process.nextTick(() => { throw err; }); });`;
  return bootstrap;
}

export interface PoolOptions {
  /**
   * Niceness (0–19) each thread gives itself before its first check (Linux: a niceness is a
   * thread's own, so only the hashing threads yield, not the thread that answers readers).
   * Only ever raised; not permitted or not supported is not an error (the thread then runs at
   * the process's priority).
   */
  nice?: number;
  /**
   * End a thread that has had nothing to do for this long (default: never). For a pool that
   * waits most of its life (the server's upload hashing): a thread costs tens of MB of memory
   * and about half a second of CPU to start again.
   */
  idleMs?: number;
}

export class FixityPool {
  readonly size: number;
  private readonly nice: number;
  private readonly idleMs: number | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size: number = availableParallelism(), options: PoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a fixity pool needs at least one thread, got ${size}`);
    this.size = size;
    this.nice = options.nice ?? 0;
    this.idleMs = options.idleMs;
  }

  /** Checks are queued and run as threads become free; same result as checkFile. */
  check(path: string, expected: FixityExpectation, options: PoolCheckOptions = {}): Promise<FileCheck> {
    if (this.closed) return Promise.reject(new Error('the fixity pool is closed'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<FileCheck>((resolve, reject) => {
      const task: Task = { id: this.nextId++, path, expected, options, resolve, reject };
      if (signal) {
        task.onAbort = () => this.abort(task);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.pump();
    });
  }

  /** Threads started so far (they start on demand, up to `size`). */
  get threads(): number {
    return this.slots.length;
  }

  /** Checks waiting for a thread, and checks running. */
  pending(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.tasks.length, 0);
  }

  /** Stops every thread; checks still queued or running are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error('the fixity pool was closed');
    for (const task of this.queue.splice(0)) this.settle(task, () => task.reject(error));
    const slots = this.slots.splice(0);
    for (const slot of slots) clearTimeout(slot.idleTimer);
    for (const slot of slots) for (const task of slot.tasks.splice(0)) this.settle(task, () => task.reject(error));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private endWhenIdle(slot: Slot): void {
    if (this.idleMs === undefined) return;
    slot.idleTimer = setTimeout(() => {
      const index = this.slots.indexOf(slot);
      if (index < 0 || slot.tasks.length > 0) return;
      // Out of the pool first: its exit is then not a lost thread.
      this.slots.splice(index, 1);
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }

  private settle(task: Task, fn: () => void): void {
    if (task.onAbort) task.options.signal?.removeEventListener('abort', task.onAbort);
    fn();
  }

  private abort(task: Task): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(task, () => task.reject(abortError(task.options.signal as AbortSignal)));
      return;
    }
    const slot = this.slots.find((s) => s.tasks.includes(task));
    slot?.worker.postMessage({ type: 'abort', id: task.id } satisfies ToWorker);
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      // An idle thread first, then a new one, and only then a second check for a busy one.
      let slot = this.slots.find((s) => s.tasks.length === 0);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      slot ??= this.slots.find((s) => s.tasks.length < PER_THREAD && s.tasks.every((t) => t.lastReadStarted));
      if (!slot) return;
      const task = this.queue.shift() as Task;
      slot.tasks.push(task);
      // A busy thread keeps the process alive; an idle one does not, so a forgotten pool
      // never holds a finished command open.
      clearTimeout(slot.idleTimer);
      slot.worker.ref();
      slot.worker.postMessage({
        type: 'check',
        id: task.id,
        path: task.path,
        expected: task.expected,
        ...(task.options.algorithms ? { algorithms: task.options.algorithms } : {}),
        limited: (task.options.limiter?.bytesPerSecond ?? 0) > 0,
      } satisfies ToWorker);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(workerBootstrap(), { eval: true, workerData: { kind: WORKER_MARK, nice: this.nice } });
    const slot: Slot = { worker, tasks: [] };
    this.slots.push(slot);
    worker.on('message', (raw: unknown) => this.onMessage(slot, raw));
    const lost = (why: Error) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return; // closed on purpose
      this.slots.splice(index, 1);
      for (const task of slot.tasks.splice(0)) this.settle(task, () => task.reject(why));
      this.pump();
    };
    worker.on('error', (err) => lost(err));
    worker.on('exit', (code) => lost(new Error(`a fixity thread exited (code ${code})`)));
    worker.unref();
    return slot;
  }

  private onMessage(slot: Slot, raw: unknown): void {
    if (!isFromWorker(raw)) return;
    const msg = raw;
    const task = slot.tasks.find((t) => t.id === msg.id);
    if (!task) return;
    switch (msg.type) {
      case 'last-read':
        task.lastReadStarted = true;
        this.pump();
        return;
      case 'take': {
        const limiter = task.options.limiter;
        const grant = limiter ? limiter.take(msg.bytes, task.options.signal) : Promise.resolve();
        grant.then(
          () => {
            if (slot.tasks.includes(task)) slot.worker.postMessage({ type: 'granted', id: task.id } satisfies ToWorker);
          },
          (err: unknown) => {
            if (slot.tasks.includes(task)) slot.worker.postMessage({ type: 'refused', id: task.id, message: String((err as Error)?.message ?? err) } satisfies ToWorker);
          },
        );
        return;
      }
      case 'done':
      case 'error': {
        slot.tasks.splice(slot.tasks.indexOf(task), 1);
        if (slot.tasks.length === 0) {
          slot.worker.unref();
          this.endWhenIdle(slot);
        }
        if (msg.type === 'done') this.settle(task, () => task.resolve(msg.result));
        else {
          const signal = task.options.signal;
          this.settle(task, () => task.reject(msg.aborted && signal?.aborted ? abortError(signal) : new Error(msg.message)));
        }
        this.pump();
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The thread

/** This thread's niceness (pid 0: on Linux, setpriority of 0 is the calling thread alone). */
function lowerOwnPriority(nice: number): void {
  try {
    if (nice > 0 && getPriority(0) < nice) setPriority(0, nice);
  } catch {
    // Not permitted, or no per-thread priorities here: the checks run at the process's priority.
  }
}

function runWorker(port: MessagePort, nice: number): void {
  lowerOwnPriority(nice);
  const grants = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  const aborts = new Map<number, AbortController>();
  /** Handed to this thread, not started yet (the pool hands a second check only once the first asked for it: rarely waits). */
  const waiting: Array<Extract<ToWorker, { type: 'check' }>> = [];
  /** Started, and whether each has started its last read. */
  const running = new Map<number, { lastReadStarted: boolean }>();

  // The next check starts once every running one has started its last read: its open and
  // first read then run beside their last hashing, never beside their whole file.
  const startNext = () => {
    while (waiting.length > 0 && running.size < PER_THREAD && [...running.values()].every((r) => r.lastReadStarted)) {
      start(waiting.shift() as Extract<ToWorker, { type: 'check' }>);
    }
  };

  const start = (msg: Extract<ToWorker, { type: 'check' }>) => {
    const controller = aborts.get(msg.id) ?? new AbortController();
    aborts.set(msg.id, controller);
    const state = { lastReadStarted: false };
    running.set(msg.id, state);
    const limiter: RateLimiter | undefined = msg.limited
      ? {
          // Only whether to ask matters here; the main thread holds the real rate.
          bytesPerSecond: 1,
          take: (bytes) =>
            new Promise<void>((resolve, reject) => {
              grants.set(msg.id, { resolve, reject });
              port.postMessage({ type: 'take', id: msg.id, bytes } satisfies FromWorker);
            }),
        }
      : undefined;
    const options: CheckOptions = {
      signal: controller.signal,
      ...(limiter ? { limiter } : {}),
      ...(msg.algorithms ? { algorithms: msg.algorithms } : {}),
      onLastRead: () => {
        state.lastReadStarted = true;
        port.postMessage({ type: 'last-read', id: msg.id } satisfies FromWorker);
        startNext();
      },
    };
    checkFile(msg.path, msg.expected, options)
      .then(
        (result) => port.postMessage({ type: 'done', id: msg.id, result } satisfies FromWorker),
        (err: unknown) =>
          port.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err), aborted: controller.signal.aborted } satisfies FromWorker),
      )
      .finally(() => {
        aborts.delete(msg.id);
        grants.delete(msg.id);
        running.delete(msg.id);
        startNext();
      });
  };

  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'granted':
        grants.get(msg.id)?.resolve();
        grants.delete(msg.id);
        return;
      case 'refused':
        grants.get(msg.id)?.reject(new Error(msg.message));
        grants.delete(msg.id);
        return;
      case 'abort': {
        const index = waiting.findIndex((w) => w.id === msg.id);
        if (index >= 0) {
          waiting.splice(index, 1);
          port.postMessage({ type: 'error', id: msg.id, message: 'the fixity check was aborted', aborted: true } satisfies FromWorker);
          return;
        }
        aborts.get(msg.id)?.abort();
        return;
      }
      case 'check':
        waiting.push(msg);
        startNext();
        return;
    }
  });
}

const data = workerData as { kind?: unknown; nice?: unknown } | null;
if (!isMainThread && parentPort && data?.kind === WORKER_MARK) runWorker(parentPort, typeof data.nice === 'number' ? data.nice : 0);

import { availableParallelism } from 'node:os';
import { type Engines, type ReadPage, readPage } from './choose-engine.js';
import type { OcrRequest } from './port.js';

/**
 * A pool of engine sets, one page at a time on each: tesseract.js reads in its own worker
 * thread and the Han engine in onnxruntime's native threads, so N sets read N pages at once.
 * Sets are made when pages wait and fewer than `size` exist (a worker that only ever sees
 * Vietnamese never pays for a second one). A page that fails frees its set for the next.
 * With `idleMs`, every set is closed once no page has come for that long (tesseract.js's
 * thread with its WebAssembly heap and traineddata, ONNX Runtime's sessions: hundreds of MB
 * that a small server would otherwise hold between batches); the next page makes one again.
 */
export interface OcrPoolOptions {
  /** Engine sets at most; one per core by default (THUKHO_OCR_CONCURRENCY). */
  size?: number;
  createEngines: () => Promise<Engines>;
  /** Close every engine set after this long without a page (THUKHO_OCR_IDLE_SECONDS); 0 or unset: keep them. */
  idleMs?: number;
}

interface Slot {
  engines: Engines;
}

export class OcrPool {
  readonly size: number;
  #createEngines: () => Promise<Engines>;
  #idle: Slot[] = [];
  #all = new Set<Slot>();
  #creating = 0;
  #waiting: Array<{ resolve: (slot: Slot) => void; reject: (err: unknown) => void }> = [];
  #closed = false;
  #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #unloads = 0;

  constructor(options: OcrPoolOptions) {
    this.size = Math.max(1, Math.floor(options.size ?? availableParallelism()));
    this.#createEngines = options.createEngines;
    this.#idleMs = options.idleMs ?? 0;
  }

  /** Reads one page on the first free engine set (the fallback engine included, as `readPage` does). */
  async read(request: OcrRequest): Promise<ReadPage> {
    const slot = await this.#acquire();
    try {
      return await readPage(request, slot.engines);
    } finally {
      this.#release(slot);
    }
  }

  /** Engine sets loaded now. */
  get engineSets(): number {
    return this.#all.size;
  }

  /** How many times every set was closed for want of pages. */
  get unloads(): number {
    return this.#unloads;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    for (const w of this.#waiting.splice(0)) w.reject(new Error('the OCR pool is closed'));
    const slots = [...this.#all];
    this.#all.clear();
    this.#idle = [];
    await Promise.all(slots.map((s) => closeEngines(s.engines)));
  }

  #acquire(): Promise<Slot> {
    if (this.#closed) return Promise.reject(new Error('the OCR pool is closed'));
    clearTimeout(this.#idleTimer);
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    const wait = new Promise<Slot>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    if (this.#all.size + this.#creating < this.size) this.#grow();
    return wait;
  }

  #grow(): void {
    this.#creating++;
    this.#createEngines().then(
      (engines) => {
        this.#creating--;
        if (this.#closed) {
          void closeEngines(engines);
          return;
        }
        const slot = { engines };
        this.#all.add(slot);
        this.#release(slot);
      },
      (err: unknown) => {
        this.#creating--;
        // Nothing can read the pages that wait for this set if no other set exists.
        if (this.#all.size === 0 && this.#creating === 0) for (const w of this.#waiting.splice(0)) w.reject(err);
      },
    );
  }

  #release(slot: Slot): void {
    if (!this.#all.has(slot)) return;
    const next = this.#waiting.shift();
    if (next) next.resolve(slot);
    else this.#idle.push(slot);
    if (this.#idleMs > 0 && this.#idle.length === this.#all.size && this.#creating === 0) {
      clearTimeout(this.#idleTimer);
      // unref: an idle pool must not keep a finished process alive.
      this.#idleTimer = setTimeout(() => this.#unload(), this.#idleMs).unref();
    }
  }

  #unload(): void {
    // A page may have come meanwhile: only a pool with nothing to do lets its sets go.
    if (this.#closed || this.#waiting.length > 0 || this.#creating > 0 || this.#idle.length !== this.#all.size || this.#all.size === 0) return;
    const slots = this.#idle.splice(0);
    for (const s of slots) this.#all.delete(s);
    this.#unloads++;
    for (const s of slots) void closeEngines(s.engines);
  }
}

async function closeEngines(engines: Engines): Promise<void> {
  await Promise.allSettled([engines.tesseract.close(), engines.han?.close()]);
}

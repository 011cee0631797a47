/**
 * Who may render now. A render (a region or size not cut in advance and not cached) costs
 * from milliseconds to seconds of CPU, and while it runs it holds one of libuv's few pool
 * threads, the same threads that read tiles from disk: with every thread rendering, a tile
 * that is one positioned read waits seconds. So renders are rationed:
 *
 *  - at most `concurrent` run at once (below libuv's pool of four, so tile reads always
 *    find a thread);
 *  - one client (a signed-in user, or an address when anonymous) may have at most
 *    `perClient` renders running or waiting; beyond that it is told to slow down (429);
 *  - at most `queued` wait in all; beyond that the server is busy (503);
 *  - waiting renders are taken one client at a time in turn, so a client with many odd
 *    requests queued does not hold back one whose single request came later.
 */
export interface RenderBudgetOptions {
  concurrent: number;
  perClient: number;
  queued: number;
}

export class RenderBudgetExceededError extends Error {
  constructor(
    /** 'client': this client has too many renders in flight; 'server': every queue is full. */
    readonly scope: 'client' | 'server',
    readonly retryAfterSeconds: number,
  ) {
    super(scope === 'client' ? 'too many renders in flight for this client' : 'the render queue is full');
    this.name = 'RenderBudgetExceededError';
  }
}

/** Seconds a refused client is asked to wait: about one render's time. */
const RETRY_AFTER_SECONDS = 2;

export class RenderBudget {
  private running = 0;
  private queued = 0;
  /** Renders running or waiting, per client. */
  private readonly inFlight = new Map<string, number>();
  /** Waiting renders per client; the map's order is the turn order. */
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly o: RenderBudgetOptions) {
    for (const [name, value] of Object.entries(o)) {
      if (!Number.isInteger(value) || value < (name === 'queued' ? 0 : 1)) throw new RangeError(`render budget: ${name} must be a whole number ≥ ${name === 'queued' ? 0 : 1}, got ${value}`);
    }
  }

  /** Waits for a turn and returns its release; throws RenderBudgetExceededError when over budget. */
  async acquire(client: string): Promise<() => void> {
    const mine = this.inFlight.get(client) ?? 0;
    if (mine >= this.o.perClient) throw new RenderBudgetExceededError('client', RETRY_AFTER_SECONDS);
    const mustWait = this.running >= this.o.concurrent;
    if (mustWait && this.queued >= this.o.queued) throw new RenderBudgetExceededError('server', RETRY_AFTER_SECONDS);
    this.inFlight.set(client, mine + 1);
    if (mustWait) {
      this.queued++;
      await new Promise<void>((resolve) => {
        const line = this.waiting.get(client);
        if (line) line.push(resolve);
        else this.waiting.set(client, [resolve]);
      });
    } else {
      this.running++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(client) ?? 1) - 1;
      if (left > 0) this.inFlight.set(client, left);
      else this.inFlight.delete(client);
      this.handOn();
    };
  }

  /** Renders running and waiting now (for /metrics and tests). */
  get load(): { running: number; queued: number; clients: number } {
    return { running: this.running, queued: this.queued, clients: this.inFlight.size };
  }

  /** A finished render's slot goes to the next client in turn, or is freed. */
  private handOn(): void {
    const next = this.waiting.entries().next();
    if (next.done) {
      this.running--;
      return;
    }
    const [client, line] = next.value;
    const wake = line.shift() as () => void;
    // To the back of the turn order, if it has more waiting.
    this.waiting.delete(client);
    if (line.length > 0) this.waiting.set(client, line);
    this.queued--;
    wake();
  }
}

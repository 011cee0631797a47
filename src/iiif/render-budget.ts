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
 *  - a freed turn goes to the waiting client with the fewest renders running (the longest
 *    waiting among equals), so a client with many odd requests queued does not hold back
 *    one whose single request came later.
 */
export interface RenderBudgetOptions {
  concurrent: number;
  perClient: number;
  queued: number;
}

export class RenderBudgetExceededError extends Error {
  constructor(
    /**
     * 'client': this client has too many renders in flight; 'rate': it asked for more
     * rendering than its allowance (render-rate.ts); 'server': every queue is full.
     */
    readonly scope: 'client' | 'rate' | 'server',
    readonly retryAfterSeconds: number,
  ) {
    super(scope === 'client' ? 'too many renders in flight for this client' : scope === 'rate' ? 'too much rendering asked for by this client' : 'the render queue is full');
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
  /** Renders running, per client. */
  private readonly runningOf = new Map<string, number>();
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
    count(this.inFlight, client, 1);
    if (mustWait) {
      this.queued++;
      await new Promise<void>((resolve) => {
        const line = this.waiting.get(client);
        if (line) line.push(resolve);
        else this.waiting.set(client, [resolve]);
      });
    } else {
      this.running++;
      count(this.runningOf, client, 1);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      count(this.inFlight, client, -1);
      count(this.runningOf, client, -1);
      this.handOn();
    };
  }

  /** Renders running and waiting now (for /metrics and tests). */
  get load(): { running: number; queued: number; clients: number } {
    return { running: this.running, queued: this.queued, clients: this.inFlight.size };
  }

  /** A finished render's turn goes to a waiting render (see above), or is freed. */
  private handOn(): void {
    let next: [string, Array<() => void>] | undefined;
    for (const entry of this.waiting) {
      if (!next || (this.runningOf.get(entry[0]) ?? 0) < (this.runningOf.get(next[0]) ?? 0)) next = entry;
    }
    if (!next) {
      this.running--;
      return;
    }
    const [client, line] = next;
    const wake = line.shift() as () => void;
    // To the back of the turn order, if it has more waiting.
    this.waiting.delete(client);
    if (line.length > 0) this.waiting.set(client, line);
    this.queued--;
    count(this.runningOf, client, 1);
    wake();
  }
}

function count(counts: Map<string, number>, client: string, by: 1 | -1): void {
  const n = (counts.get(client) ?? 0) + by;
  if (n > 0) counts.set(client, n);
  else counts.delete(client);
}

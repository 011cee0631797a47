import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The background loop of a pump: runs `round` until stopped, pausing `intervalMs` after a
 * round that found nothing to do (or failed), and at once after one that did work. `stop`
 * wakes the pause and waits for the round under way to end.
 */
export class RoundLoop {
  private stopping = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly round: () => Promise<number> | number,
    private readonly options: { intervalMs: number; failed: (err: Error) => void },
  ) {}

  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let did = 0;
      try {
        did = await this.round();
      } catch (err) {
        this.options.failed(err as Error);
      }
      if (did === 0) await sleep(this.options.intervalMs, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }
}

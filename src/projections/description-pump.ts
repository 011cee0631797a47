import type { Logger } from 'pino';
import { type DescribedVersion, type DescriptionSubject, parseSubjectKey } from '../application/self-description.ts';
import { dueDescriptions, markDescribed, type PendingDescription, postponeDescription } from './description-queue.ts';
import type { ReadModelDb } from './read-model-db.ts';
import { RoundLoop } from './round-loop.ts';

/**
 * Writes the description versions that description-queue.ts says are due. Several works at
 * once: a version costs a handful of fsyncs, and fsyncs of different files overlap on the
 * disk, so a batch edit of 500 works is 500 / concurrency rounds of fsync latency, not 500.
 */
export interface DescriptionPumpOptions {
  db: ReadModelDb;
  write: (subject: DescriptionSubject) => Promise<DescribedVersion | null>;
  /** Called after a version is written (the server asks for its replication). */
  written?: (subject: DescriptionSubject, version: DescribedVersion) => Promise<void>;
  logger: Logger;
  concurrency?: number;
  intervalMs?: number;
}

/** A failed write waits this long, then this again doubled, up to an hour. */
const RETRY_MS = 5_000;
const MAX_RETRY_MS = 3_600_000;

export class DescriptionPump {
  private readonly loop: RoundLoop;
  private readonly failures = new Map<string, number>();
  written = 0;

  constructor(private readonly options: DescriptionPumpOptions) {
    this.loop = new RoundLoop(() => this.once(), {
      intervalMs: options.intervalMs ?? 250,
      failed: (err) => options.logger.error({ err: err.message }, 'description pump: round failed'),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One round over what is due now; returns how many subjects were done (not failed). */
  async once(nowMs = Date.now()): Promise<number> {
    const concurrency = this.options.concurrency ?? 4;
    const rows = dueDescriptions(this.options.db, nowMs, concurrency * 16);
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (!this.loop.stopped && next < rows.length) {
        const row = rows[next++] as PendingDescription;
        if (await this.handle(row)) done++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
    return done;
  }

  /**
   * Everything due by `untilMs`, until nothing is; `Infinity` also writes the machine facts
   * still waiting for their delay. A subject that fails is postponed, so this ends.
   */
  async flush(untilMs = Date.now()): Promise<number> {
    let total = 0;
    const at = () => Math.min(untilMs, Number.MAX_SAFE_INTEGER);
    for (let n = await this.once(at()); n > 0; n = await this.once(at())) total += n;
    return total;
  }

  private async handle(row: PendingDescription): Promise<boolean> {
    const { db, logger } = this.options;
    const subject = parseSubjectKey(row.subject);
    if (!subject) {
      markDescribed(db, row);
      return true;
    }
    try {
      const version = await this.options.write(subject);
      markDescribed(db, row);
      this.failures.delete(row.subject);
      if (version?.version) {
        this.written++;
        logger.debug({ subject: row.subject, ocflId: version.ocflId, version: version.version }, 'description version written');
        await this.options.written?.(subject, version);
      }
      return true;
    } catch (err) {
      const n = (this.failures.get(row.subject) ?? 0) + 1;
      this.failures.set(row.subject, n);
      const wait = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (n - 1));
      postponeDescription(db, row, Date.now() + wait);
      logger.error({ subject: row.subject, attempt: n, retryInMs: wait, err: (err as Error).message }, 'description version not written; will retry');
      return false;
    }
  }
}

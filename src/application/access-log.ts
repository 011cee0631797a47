import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AccessEvent } from '../domain/events.ts';
import type { EventStore, NewEvent } from '../eventstore/port.ts';
import { appendOnce, envelope } from './command-handler.ts';
import { accessStream } from './streams.ts';

/**
 * Access events (ObjectViewed, FileDownloaded, SearchPerformed) leave the request path at
 * once: `record` puts them in a bounded buffer and returns; a timer appends the buffer to the
 * `access-<day>` streams in batches. When the log is slow or down the buffer fills, and what
 * does not fit is dropped and counted (`/metrics`, `/health`) rather than making a reader
 * wait: usage statistics may lose events, reading may not slow down.
 *
 * Who did it is never stored: the envelope's actor is the role and a hash of the session (or
 * of the client's address and user agent, which stay in memory until the flush), keyed by a
 * salt that is random per UTC day and never written to the log. Tomorrow's hash of the same
 * reader is unrelated to today's, and nobody holding the log can test an address against it.
 */
export interface AccessActor {
  role: string;
  /** What identifies the session: its id when the request has one, else address and user agent. */
  sessionKey: string;
}

/** Where a day's salt lives (memory, or redis so that every server process of a cluster agrees). */
export interface DailySalts {
  saltFor(day: string): Promise<Buffer>;
}

/** Salts in this process only: for one-process setups, tests, and when redis does not answer. */
export class MemoryDailySalts implements DailySalts {
  private readonly salts = new Map<string, Buffer>();

  async saltFor(day: string): Promise<Buffer> {
    let salt = this.salts.get(day);
    if (!salt) {
      salt = randomBytes(32);
      this.salts.set(day, salt);
      // Yesterday's salt may still be asked for by a batch that spans midnight; older ones never.
      for (const old of [...this.salts.keys()].sort().slice(0, -2)) this.salts.delete(old);
    }
    return salt;
  }
}

/** The UTC day of an instant, as the access streams are named. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** The actor id of an access event: a keyed hash that only the day's salt could reproduce. */
export function sessionHash(salt: Buffer, sessionKey: string): string {
  return createHmac('sha256', salt).update(sessionKey).digest('hex').slice(0, 32);
}

export interface AccessLogCounts {
  /** In memory: waiting for the next flush, or being appended. */
  buffered: number;
  /** Appended to the log since the server started. */
  written: number;
  /** Lost: the buffer was full (`full`), or the log refused or did not answer (`failed`). */
  dropped: { full: number; failed: number };
}

export interface AccessLogOptions {
  store: Pick<EventStore, 'append'>;
  salts: DailySalts;
  logger: Logger;
  /** Events held at most; beyond this they are dropped. */
  maxBuffered: number;
  /** How often the buffer is appended. */
  flushEveryMs: number;
  /** Events per append; a fuller buffer starts a flush before the timer. */
  batchSize: number;
  /** How long `stop` waits for the last flush before counting the rest as dropped. */
  stopTimeoutMs?: number;
}

interface Pending {
  event: AccessEvent;
  at: Date;
  actor: AccessActor;
}

export class AccessLog {
  private buffer: Pending[] = [];
  private written = 0;
  private readonly dropped = { full: 0, failed: 0 };
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Events taken from the buffer whose append has not answered yet. */
  private inFlight = 0;
  /** Set when stop gave up waiting: what answers later was counted as dropped already. */
  private abandoned = false;
  private last: bigint | null = null;

  constructor(private readonly options: AccessLogOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushEveryMs);
    // The timer alone must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  /** Takes an event for the log; false when it was dropped (buffer full, or the log stopped). Never waits. */
  record(event: AccessEvent, actor: AccessActor, at: Date = new Date()): boolean {
    if (this.stopped || this.buffer.length >= this.options.maxBuffered) {
      this.dropped.full++;
      return false;
    }
    this.buffer.push({ event, at, actor });
    if (this.buffer.length >= this.options.batchSize && !this.flushing) setImmediate(() => void this.flush());
    return true;
  }

  counts(): AccessLogCounts {
    return { buffered: this.buffer.length + this.inFlight, written: this.written, dropped: { ...this.dropped } };
  }

  /** Position of the last access event appended, or null before the first: what statistics wait for. */
  lastPosition(): bigint | null {
    return this.last;
  }

  /** Appends what is buffered; one flush at a time (a second caller waits for the running one). */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Stops taking events and appends what is buffered, waiting at most `stopTimeoutMs`. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.stopTimeoutMs ?? 3000);
    });
    // A flush already running may have taken only part of the buffer: flush again after it.
    const done = (async () => {
      while (this.buffer.length > 0 || this.flushing) await this.flush();
    })();
    const outcome = await Promise.race([done.then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const lost = this.buffer.length + this.inFlight;
      this.options.logger.warn({ events: lost }, 'access events not written before stop: dropped');
      this.dropped.failed += lost;
      this.buffer = [];
      this.inFlight = 0;
      this.abandoned = true;
    }
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 && !this.abandoned) {
      const batch = this.buffer.splice(0, this.options.batchSize);
      this.inFlight += batch.length;
      try {
        await this.append(batch);
      } finally {
        if (!this.abandoned) this.inFlight -= batch.length;
      }
    }
  }

  /** One batch: one append per UTC day it spans (usually one). */
  private async append(batch: Pending[]): Promise<void> {
    const byDay = new Map<string, NewEvent[]>();
    for (const p of batch) {
      const day = utcDay(p.at);
      try {
        const salt = await this.options.salts.saltFor(day);
        const actor = { id: `session:${sessionHash(salt, p.actor.sessionKey)}`, role: p.actor.role };
        const { newEvents } = envelope([p.event], { actor, now: () => p.at });
        let events = byDay.get(day);
        if (!events) byDay.set(day, (events = []));
        events.push(...newEvents);
      } catch (err) {
        // An event the schema refuses is a bug in the caller: counted, never appended.
        this.dropped.failed++;
        this.options.logger.error({ err, type: p.event.type }, 'access event not valid: dropped');
      }
    }
    for (const [day, events] of byDay) {
      try {
        const result = await appendOnce(this.options.store, accessStream(day), events, 'any');
        if (this.abandoned) return;
        this.written += events.length;
        if (this.last === null || result.position > this.last) this.last = result.position;
      } catch (err) {
        if (this.abandoned) return;
        this.dropped.failed += events.length;
        this.options.logger.warn({ err: err instanceof Error ? err.message : String(err), events: events.length }, 'access events not written: dropped');
      }
    }
  }
}

import {
  BACKWARDS,
  END,
  ErrorType,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  eventTypeFilter,
  excludeSystemEvents,
  isCommandError,
  streamNameFilter,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendResult as EsdbAppendResult,
  type CommandError,
  type Filter,
  type JSONEventData,
  type JSONType,
  type Position,
  type ReadRevision,
  type StreamingRead,
  type WrongExpectedVersionError as EsdbWrongExpectedVersionError,
} from '@eventstore/db-client';
import { CorruptEventError, parseEventMetadata } from './envelope.ts';
import { chainEvents, genesisHash } from './hash-chain.ts';
import {
  type AppendResult,
  type EventFilter,
  type EventMetadata,
  type EventStore,
  EventStoreUnavailableError,
  type ExpectedRevision,
  IdempotencyConflictError,
  matchesFilter,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamHead,
  type StreamHeadIndex,
  type SubscribeOptions,
  type Subscription,
  WrongExpectedVersionError,
} from './port.ts';
import { checkStreamId } from './subscription.ts';

/**
 * The cluster profile's event log: EventStoreDB / KurrentDB through `@eventstore/db-client`.
 *
 * Requires a server of version 22.10 or later (stream reads must carry $all positions, which
 * servers before 22.6 leave out) and a database used by thukho alone: every non-system event
 * is read as one of ours, and anything else fails envelope validation.
 *
 * Positions: our bigint position is the event's commit position in the transaction file.
 * EventStoreDB ≥ 20 writes every event of an append as its own implicitly committed record,
 * so an event's commit and prepare positions are equal and `{commit: p, prepare: p}` names
 * it exactly. The server can only start reading at a record boundary, so a position handed
 * to readAll or subscribeToAll must be one this adapter produced (an event's position or
 * headPosition()), never arithmetic on one.
 */

/** How many of a stream's newest events are searched for a re-sent 'any'/'stream_exists' append. */
const DEFAULT_RESEND_WINDOW = 256;
/** Retries when a concurrent writer moves the head between our read and our append. */
const MAX_APPEND_RETRIES = 5;
/** Buffer bounds for a subscription whose consumer is slower than the server. */
const QUEUE_HIGH = 512;
const QUEUE_LOW = 128;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EsdbEventStoreOptions {
  /**
   * How far back a re-sent append with expected revision 'any' or 'stream_exists' is looked
   * for. A re-send that lands after more than this many other events in the same stream is
   * not recognised and is written again (under new revisions, with a valid chain).
   */
  resendWindow?: number;
  /** Where listStreams reads every stream's head (closed with the store). */
  streamHeads?: StreamHeadIndex;
}

/** The fields we use of the client's recorded event (JSON and binary variants alike). */
interface EsdbRecorded {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  data: unknown;
  metadata: unknown;
  created: Date;
  position?: Position;
}

interface Head {
  revision: bigint;
  hash: string;
  position: bigint | undefined;
}

type AttemptOutcome = { result: AppendResult } | { raced: bigint | 'no_stream' };

export class EsdbEventStore implements EventStore {
  readonly kind = 'esdb' as const;
  private readonly resendWindow: number;
  private readonly streamHeads: StreamHeadIndex | null;
  /** Tail of each stream's in-process append queue (see append). */
  private readonly streamLocks = new Map<string, Promise<void>>();
  private readonly subscriptions = new Set<EsdbSubscription>();
  private closed = false;

  /**
   * Parses the connection string (throws on a malformed one) without connecting: the client
   * connects on first use. KurrentDB's `kurrentdb://` and `kdb://` schemes (and their
   * `+discover` forms) name the same protocol as `esdb://`, which is all this client parses.
   */
  static connect(connectionString: string, options: EsdbEventStoreOptions = {}): EsdbEventStore {
    return new EsdbEventStore(EventStoreDBClient.connectionString(clientConnectionString(connectionString)), options);
  }

  /** connect, then probe: what the service opens at start. */
  static async open(connectionString: string, options: EsdbEventStoreOptions = {}): Promise<EsdbEventStore> {
    const store = EsdbEventStore.connect(connectionString, options);
    try {
      await store.probe();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /**
   * Checks once what this adapter relies on and fails with one readable error naming what
   * to do: the server's version (22.10 or later), permission to read $all, and that events
   * carry positions whose commit and prepare parts are equal (see the note on positions).
   */
  async probe(): Promise<void> {
    let version: string;
    try {
      // The client fetches ServerFeatures once per connection and keeps the answer, but only
      // exposes it to subclasses; `unknown` means the server has no ServerFeatures (< 21.10).
      version = (await (this.client as unknown as { capabilities: Promise<{ serverVersion: string }> }).capabilities).serverVersion;
    } catch (err) {
      throw new EventStoreUnavailableError(
        probeMessage(
          `không kết nối được máy chủ (${errorMessage(err)}). Hãy kiểm tra THUKHO_EVENTSTORE (địa chỉ, cổng, tls=true/false) và máy chủ có đang chạy không`,
          `cannot reach the server (${errorMessage(err)}). Check THUKHO_EVENTSTORE (host, port, tls=true/false) and that the server is running`,
        ),
        { cause: err },
      );
    }
    const [, major, minor] = /^(\d+)\.(\d+)/.exec(version) ?? [];
    if (!major || !minor || Number(major) * 100 + Number(minor) < MIN_SERVER_VERSION) {
      throw new EventStoreProbeError(
        probeMessage(
          `phiên bản máy chủ ${version === 'unknown' ? 'quá cũ (không trả lời ServerFeatures)' : version} không được hỗ trợ; cần EventStoreDB 22.10 trở lên hoặc KurrentDB. Hãy nâng cấp máy chủ`,
          `server version ${version === 'unknown' ? 'too old (no ServerFeatures)' : version} is not supported; EventStoreDB 22.10 or later, or KurrentDB, is needed. Upgrade the server`,
        ),
      );
    }
    let newest: EsdbRecorded[] = [];
    try {
      for await (const resolved of drain(this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: PROBE_EVENTS }))) {
        if (resolved.event) newest.push(resolved.event);
      }
    } catch (err) {
      if (asCommandError(err)?.type === ErrorType.ACCESS_DENIED) {
        throw new EventStoreProbeError(
          probeMessage(
            'người dùng trong chuỗi kết nối không được đọc $all. Hãy cho người dùng này quyền đọc $all (nhóm $ops hoặc $admins, hoặc ACL của $all)',
            'the user in the connection string may not read $all. Give that user read access to $all (the $ops or $admins group, or the $all ACL)',
          ),
          { cause: err },
        );
      }
      throw mapError(err, 'probe: read $all');
    }
    newest = newest.filter((e) => !isSystem(e.streamId, e.type));
    const ours = newest[0];
    if (!ours) return;
    // Stream reads must carry the event's $all position (servers from 22.6), equal to what $all says.
    const [again] = await this.readRaw(ours.streamId, FORWARDS, ours.revision, 1);
    const bad = [ours, again].find((e) => !e?.position || e.position.commit !== e.position.prepare || e.position.commit !== ours.position?.commit);
    if (bad !== undefined) {
      throw new EventStoreProbeError(
        probeMessage(
          `máy chủ trả về vị trí sự kiện không như thukho cần (${ours.streamId}@${ours.revision}: ${describePosition(bad)}). Hãy dùng EventStoreDB 22.10 trở lên hoặc KurrentDB, và báo lỗi này cho nhóm phát triển`,
          `the server reports event positions thukho cannot use (${ours.streamId}@${ours.revision}: ${describePosition(bad)}). Use EventStoreDB 22.10 or later, or KurrentDB, and report this to the developers`,
        ),
      );
    }
  }

  constructor(
    private readonly client: EventStoreDBClient,
    options: EsdbEventStoreOptions = {},
  ) {
    this.resendWindow = Math.max(1, options.resendWindow ?? DEFAULT_RESEND_WINDOW);
    this.streamHeads = options.streamHeads ?? null;
  }

  // ---------------------------------------------------------------------------------------
  // append

  /**
   * Chaining needs the head's hash, so every append is read-head-then-append-at-that-exact-
   * revision: a writer that slipped in between makes the server refuse ours instead of
   * forking the chain. Appends to one stream from this process are queued behind each other
   * so that they do not race each other; races with other processes are retried.
   */
  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    try {
      checkStreamId(streamId);
      for (const e of events) {
        // The server stores ids as UUIDs; anything else would fail deep inside the client.
        if (!UUID.test(e.id)) throw new RangeError(`event id ${JSON.stringify(e.id)} is not a UUID`);
        if (e.data === undefined) throw new TypeError(`event ${e.id} has no data`);
        // The client hands back undecodable JSON as the raw string, so a string could not be
        // told apart from damaged bytes on the way back (see toRecorded).
        if (typeof e.data === 'string') throw new TypeError(`event ${e.id}: data must not be a bare JSON string on EventStoreDB`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.withStreamLock(streamId, () => this.appendWithRetries(streamId, events, expected));
  }

  private withStreamLock<T>(streamId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.streamLocks.get(streamId) ?? Promise.resolve();
    const run = previous.then(fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.streamLocks.set(streamId, settled);
    void settled.then(() => {
      if (this.streamLocks.get(streamId) === settled) this.streamLocks.delete(streamId);
    });
    return run;
  }

  private async appendWithRetries(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    let actual: bigint | 'no_stream' = 'no_stream';
    for (let attempt = 0; attempt <= MAX_APPEND_RETRIES; attempt++) {
      // Jittered so that processes which collided once do not collide again in lockstep.
      if (attempt > 0) await sleep(attempt * 10 + Math.random() * 20 * attempt);
      // Every attempt starts over from a fresh head: an explicit expected revision is then
      // re-checked against it (and fails with the real actual revision), while 'any' and
      // 'stream_exists' simply chain onto the new head. The winner of the race may also
      // have been our own earlier attempt whose reply was lost, which the resend check finds.
      const outcome = await this.attemptAppend(streamId, events, expected);
      if ('result' in outcome) return outcome.result;
      actual = outcome.raced;
    }
    throw new WrongExpectedVersionError(streamId, expected, actual);
  }

  private async attemptAppend(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AttemptOutcome> {
    const searchTail = events.length > 0 && (expected === 'any' || expected === 'stream_exists');
    const tail = await this.readRaw(streamId, BACKWARDS, END, searchTail ? this.resendWindow : 1);
    const newest = tail[0];
    const head = newest ? headOf(newest) : null;

    const resent = await this.findResend(streamId, events, expected, head, searchTail ? tail : null);
    if (resent) return { result: resent };

    if (!satisfies(expected, head)) {
      throw new WrongExpectedVersionError(streamId, expected, head ? head.revision : 'no_stream');
    }
    if (events.length === 0) {
      return { result: { nextExpectedRevision: head ? head.revision : -1n, position: head?.position ?? 0n } };
    }

    const chained = chainEvents(head ? head.hash : genesisHash(streamId), events);
    let appended: EsdbAppendResult;
    try {
      appended = await this.client.appendToStream(streamId, chained.map(toEventData), {
        expectedRevision: head ? head.revision : NO_STREAM,
      });
    } catch (err) {
      const wrong = asWrongExpectedVersion(err);
      if (wrong) return { raced: wrong.actualVersion };
      throw mapError(err, `append to ${streamId}`);
    }
    // With `throwOnAppendFailure=false` in the connection string the client reports a lost
    // race as a result instead of an error (and its batch path gets the actual revision
    // wrong): the head is read again instead of trusting it.
    if (!appended.success) {
      const [now] = await this.readRaw(streamId, BACKWARDS, END, 1);
      return { raced: now ? now.revision : 'no_stream' };
    }
    return {
      result: { nextExpectedRevision: appended.nextExpectedRevision, position: await this.appendPosition(streamId, appended) },
    };
  }

  /**
   * Idempotency by event id. EventStoreDB has no index from event id to event, so a re-sent
   * append is recognised by reading where it would be: right after the caller's expected
   * revision when that is explicit ('no_stream' means from revision 0), otherwise within the
   * newest `resendWindow` events of the stream. Only the first id is looked up; the others
   * must follow it consecutively, or the append is an IdempotencyConflictError.
   *
   * Limitations against the SQLite adapter, whose event ids are unique across the whole log:
   * an id already used in another stream, or in this stream outside the searched range, is
   * not noticed, and the events are written again under new revisions.
   */
  private async findResend(
    streamId: string,
    events: NewEvent[],
    expected: ExpectedRevision,
    head: Head | null,
    tail: EsdbRecorded[] | null,
  ): Promise<AppendResult | null> {
    const first = events[0];
    if (!first || !head) return null;
    let candidates: EsdbRecorded[];
    if (tail) {
      const ascending = [...tail].reverse();
      const at = ascending.findIndex((e) => sameId(e.id, first.id));
      if (at < 0) return null;
      candidates = ascending.slice(at);
    } else {
      const start = expected === 'no_stream' ? 0n : typeof expected === 'bigint' ? expected + 1n : null;
      if (start === null || start < 0n || head.revision < start) return null;
      candidates = await this.readRaw(streamId, FORWARDS, start, events.length);
      if (!candidates[0] || !sameId(candidates[0].id, first.id)) return null;
    }
    let last: EsdbRecorded | undefined;
    events.forEach((e, i) => {
      const found = candidates[i];
      if (!found || !sameId(found.id, e.id)) throw new IdempotencyConflictError(streamId, e.id);
      last = found;
    });
    if (!last) return null;
    return { nextExpectedRevision: last.revision, position: requirePosition(last) };
  }

  /**
   * The server reports the commit position of the append's last record, which for an
   * implicitly committed multi-event append is the last event's own position. Only if the
   * reply carries no position is the last event read back.
   */
  private async appendPosition(streamId: string, appended: EsdbAppendResult): Promise<bigint> {
    if (appended.position) return appended.position.commit;
    const [last] = await this.readRaw(streamId, FORWARDS, appended.nextExpectedRevision, 1);
    if (!last) throw new Error(`stream ${streamId}: revision ${appended.nextExpectedRevision} was appended but cannot be read back`);
    return requirePosition(last);
  }

  // ---------------------------------------------------------------------------------------
  // reads

  /** A missing stream reads as empty, like the SQLite adapter. */
  private async readRaw(
    streamId: string,
    direction: typeof FORWARDS | typeof BACKWARDS,
    fromRevision: ReadRevision,
    maxCount: number,
  ): Promise<EsdbRecorded[]> {
    const out: EsdbRecorded[] = [];
    try {
      for await (const resolved of drain(this.client.readStream(streamId, { direction, fromRevision, maxCount }))) {
        if (resolved.event) out.push(resolved.event);
      }
    } catch (err) {
      if (isStreamNotFound(err)) return [];
      throw mapError(err, `read ${streamId}`);
    }
    return out;
  }

  async *readStream(streamId: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    const direction = options.direction === 'backwards' ? BACKWARDS : FORWARDS;
    const from = options.fromRevision ?? (direction === BACKWARDS ? 'end' : 'start');
    const fromRevision: ReadRevision = from === 'start' ? START : from === 'end' ? END : from;
    const maxCount = options.maxCount ?? Number.MAX_SAFE_INTEGER;
    if (maxCount <= 0) return;
    const read = this.client.readStream(streamId, { direction, fromRevision, maxCount });
    try {
      for await (const resolved of drain(read)) {
        if (resolved.event) yield toRecorded(resolved.event);
      }
    } catch (err) {
      if (isStreamNotFound(err)) return;
      throw mapError(err, `read ${streamId}`);
    }
  }

  /**
   * `after` is exclusive and must be a position this adapter produced, that is a record
   * boundary: the server starts a forward read at that record (inclusive), which is skipped
   * here. The client reads $all without server-side filters, so `filter` is applied here and
   * a selective filter still transfers every event after `after`; subscribeToAll filters on
   * the server.
   */
  async *readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    const after = options.after;
    const filter = normaliseFilter(options.filter);
    let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const read = this.client.readAll({ direction: FORWARDS, fromPosition: after === undefined ? START : at(after) });
    try {
      for await (const resolved of drain(read)) {
        const e = resolved.event;
        if (!e || isSystem(e.streamId, e.type)) continue;
        if (after !== undefined && e.position.commit <= after) continue;
        if (!matchesFilter(filter, e.streamId, e.type)) continue;
        yield toRecorded(e);
        if (--remaining <= 0) return;
      }
    } catch (err) {
      throw mapError(err, 'read $all');
    }
  }

  // ---------------------------------------------------------------------------------------
  // subscriptions

  subscribeToAll(options: SubscribeOptions): Subscription {
    if (this.closed) throw new Error('event store is closed');
    const sub = new EsdbSubscription(this.client, options, () => this.subscriptions.delete(sub));
    this.subscriptions.add(sub);
    return sub;
  }

  // ---------------------------------------------------------------------------------------
  // log-wide queries

  /**
   * From the stream-heads index the store was given (openEventStore gives the projection in
   * the read model): EventStoreDB's only list of streams is a scan of all of $all, and the
   * `$streams` system projection is off unless the server runs projections and has no hashes.
   */
  listStreams(): AsyncIterable<StreamHead> {
    if (!this.streamHeads) {
      throw new Error('EsdbEventStore.listStreams needs a stream-heads index: open the store with openEventStore or pass options.streamHeads');
    }
    return this.streamHeads.list(this);
  }

  /**
   * The newest non-system event; the server writes its own events ($stats and others) all the
   * time. Read backwards a page at a time, so that a run of the server's events costs pages,
   * never a stream of all of $all.
   */
  async headPosition(): Promise<bigint | null> {
    let from: Position | typeof END = END;
    try {
      for (;;) {
        let read = 0;
        let oldest: Position | undefined;
        for await (const resolved of drain(this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: HEAD_PAGE }))) {
          read++;
          const e = resolved.event;
          if (!e) continue;
          if (!isSystem(e.streamId, e.type)) return e.position.commit;
          oldest = e.position;
        }
        if (read < HEAD_PAGE || !oldest) return null;
        // Backward reads exclude their start: the next page begins before the oldest seen.
        from = oldest;
      }
    } catch (err) {
      throw mapError(err, 'read $all');
    }
  }

  async ping(): Promise<void> {
    try {
      for await (const _ of drain(this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }))) {
        break;
      }
    } catch (err) {
      const mapped = mapError(err, 'ping');
      // Health checks only care whether we can use the store: refused credentials count too.
      throw mapped instanceof EventStoreUnavailableError
        ? mapped
        : new EventStoreUnavailableError(`EventStoreDB ping failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([...this.streamLocks.values()]);
    await this.client.dispose();
    this.streamHeads?.close();
  }
}

/**
 * A native catch-up subscription, filtered on the server (stream prefixes if given, else
 * event types, else "no system events") and again here with `matchesFilter`, which also
 * covers the filter the server did not apply.
 *
 * `caughtUp` means "handed to the consumer", as in the SQLite adapter: it resolves once every
 * event that existed at the start has been taken by the consumer, who then asked for more.
 * Servers from 23.10 say when they are caught up; for older ones the position of the last
 * matching event is looked up once (lastMatchingPosition), and server checkpoints past it
 * count as well.
 */
class EsdbSubscription implements Subscription {
  readonly caughtUp: Promise<void>;
  private markCaughtUp: () => void = () => {};
  private isCaughtUp = false;
  private readonly native: AllStreamSubscription;
  private readonly filter: EventFilter | undefined;
  private readonly queue: RecordedEvent[] = [];
  private wake: (() => void) | null = null;
  private failure: unknown = null;
  private ended = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** The consumer holds an event and has not asked for the next one yet. */
  private holding = false;
  private serverCaughtUp = false;
  /** undefined while unknown; null when nothing pre-existing matches. */
  private target: bigint | null | undefined = undefined;
  private delivered: bigint | null = null;
  private checkpoint: bigint | null = null;
  private readonly iterator: AsyncGenerator<RecordedEvent>;

  constructor(
    client: EventStoreDBClient,
    options: SubscribeOptions,
    private readonly onClosed: () => void,
  ) {
    this.caughtUp = new Promise<void>((resolve) => {
      this.markCaughtUp = resolve;
    });
    this.filter = normaliseFilter(options.filter);
    const from = options.fromPosition;
    this.native = client.subscribeToAll({
      fromPosition: from === 'start' ? START : at(from),
      filter: serverFilter(this.filter, (position) => {
        this.checkpoint = position.commit;
        this.check();
      }),
    });
    this.native.on('data', (resolved: AllStreamResolvedEvent) => this.onData(resolved));
    this.native.on('caughtUp', () => {
      this.serverCaughtUp = true;
      this.check();
    });
    this.native.on('error', (err: Error) => {
      this.failure ??= mapError(err, 'subscription to $all');
      this.poke();
    });
    // A catch-up subscription has no natural end: the server ending it (shutdown, leader
    // change) must reach the consumer as an outage to resubscribe from, not as a clean finish.
    const onEnd = () => {
      this.ended = true;
      if (!this.closed) this.failure ??= new EventStoreUnavailableError('EventStoreDB ended the subscription to $all');
      this.poke();
    };
    this.native.on('end', onEnd);
    this.native.on('close', onEnd);
    lastMatchingPosition(client, from, this.filter, () => this.isCaughtUp || this.closed).then(
      (target) => {
        this.target = target;
        this.check();
      },
      // Only a fallback: a server that reports catch-up itself still resolves caughtUp.
      () => {},
    );
    this.iterator = this.iterate();
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    return this.iterator;
  }

  private onData(resolved: AllStreamResolvedEvent): void {
    // After a failure nothing more is queued: an event behind an undecodable one must not
    // reach the consumer, who would checkpoint past the damage.
    if (this.failure) return;
    const e = resolved.event;
    if (!e || isSystem(e.streamId, e.type) || !matchesFilter(this.filter, e.streamId, e.type)) return;
    try {
      this.queue.push(toRecorded(e));
    } catch (err) {
      this.failure = err;
      this.native.pause();
      this.poke();
      return;
    }
    if (this.queue.length >= QUEUE_HIGH) this.native.pause();
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private check(): void {
    if (this.isCaughtUp) return;
    // Events the server sent before its signal may still wait in our queue or the stream's.
    if (this.holding || this.queue.length > 0 || this.native.readableLength > 0) return;
    const target = this.target;
    const reached =
      this.serverCaughtUp ||
      target === null ||
      (target !== undefined &&
        ((this.delivered !== null && this.delivered >= target) || (this.checkpoint !== null && this.checkpoint >= target)));
    if (reached) this.resolveCaughtUp();
  }

  private resolveCaughtUp(): void {
    this.isCaughtUp = true;
    this.markCaughtUp();
  }

  private async *iterate(): AsyncGenerator<RecordedEvent> {
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next) {
          if (this.queue.length <= QUEUE_LOW && this.native.isPaused()) this.native.resume();
          this.holding = true;
          yield next;
          this.holding = false;
          this.delivered = next.position;
          this.check();
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.closed || this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      this.holding = false;
      await this.close();
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.resolveCaughtUp();
      this.poke();
      try {
        await this.native.unsubscribe();
      } finally {
        this.native.destroy();
        this.onClosed();
      }
    })();
    return this.closing;
  }
}

// -----------------------------------------------------------------------------------------
// helpers

/** 22.10 as major * 100 + minor. */
const MIN_SERVER_VERSION = 2210;
/** How many $all events headPosition reads backwards per request. */
const HEAD_PAGE = 32;
/** How many of the newest $all events the probe looks through for one of ours. */
const PROBE_EVENTS = 100;

/** What the probe at start found wrong with the server (see EsdbEventStore.probe). */
export class EventStoreProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreProbeError';
  }
}

function probeMessage(vi: string, en: string): string {
  return `Không dùng được EventStoreDB: ${vi}. / EventStoreDB cannot be used: ${en}.`;
}

function describePosition(e: EsdbRecorded | undefined): string {
  if (!e?.position) return 'không có vị trí / no position';
  return `commit ${e.position.commit}, prepare ${e.position.prepare}`;
}

const SCHEME = /^(?<scheme>[a-z][a-z0-9+.-]*):\/\//i;

/** The same server under KurrentDB's names, spelt the way this client parses. */
export function clientConnectionString(connectionString: string): string {
  const scheme = SCHEME.exec(connectionString)?.groups?.scheme?.toLowerCase();
  const rest = connectionString.replace(SCHEME, '');
  switch (scheme) {
    case 'esdb':
    case 'kurrentdb':
    case 'kdb':
      return `esdb://${rest}`;
    case 'esdb+discover':
    case 'kurrentdb+discover':
    case 'kdb+discover':
      return `esdb+discover://${rest}`;
    default:
      throw new RangeError(
        `THUKHO_EVENTSTORE: "${scheme ?? connectionString}" không phải chuỗi kết nối EventStoreDB; dùng esdb://, esdb+discover://, kurrentdb:// hoặc kurrentdb+discover:// / is not an EventStoreDB connection string; use esdb://, esdb+discover://, kurrentdb:// or kurrentdb+discover://`,
      );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function at(position: bigint): Position {
  return { commit: position, prepare: position };
}

function sameId(a: string, b: string): boolean {
  // The server returns ids in lower case whatever case they were written in.
  return a.toLowerCase() === b.toLowerCase();
}

function isSystem(streamId: string, type: string): boolean {
  return streamId.startsWith('$') || type.startsWith('$');
}

function satisfies(expected: ExpectedRevision, head: Head | null): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return head === null;
  if (expected === 'stream_exists') return head !== null;
  return head !== null && head.revision === expected;
}

function headOf(e: EsdbRecorded): Head {
  return {
    revision: e.revision,
    // Strict: an append must not extend a chain whose head cannot be trusted.
    hash: parseEventMetadata(e.streamId, e.revision, e.metadata).hash,
    position: e.position?.commit,
  };
}

function requirePosition(e: EsdbRecorded): bigint {
  if (!e.position) {
    throw new Error(`EventStoreDB returned ${e.streamId}@${e.revision} without a position: the server is older than 22.6`);
  }
  return e.position.commit;
}

function looseHash(metadata: unknown): string {
  if (metadata !== null && typeof metadata === 'object' && 'hash' in metadata && typeof metadata.hash === 'string') {
    return metadata.hash;
  }
  return '';
}

function toEventData(e: NewEvent & { metadata: EventMetadata }): JSONEventData {
  return {
    id: e.id,
    contentType: 'application/json',
    type: e.type,
    // The client writes data with JSON.stringify, so numbers, booleans and null round-trip
    // as well, although its type only names objects, arrays and strings.
    data: e.data as JSONType,
    metadata: { ...e.metadata },
  };
}

function toRecorded(e: EsdbRecorded): RecordedEvent {
  if (!e.isJson) throw new CorruptEventError(e.streamId, e.revision, 'data is not JSON');
  // The client returns data it cannot parse as the raw string; we never write a bare string.
  if (typeof e.data === 'string') throw new CorruptEventError(e.streamId, e.revision, 'data is not valid JSON');
  return {
    id: e.id,
    streamId: e.streamId,
    revision: e.revision,
    position: requirePosition(e),
    type: e.type,
    data: e.data,
    metadata: parseEventMetadata(e.streamId, e.revision, e.metadata),
    created: e.created,
  };
}

/**
 * Empty lists mean "no constraint", as in the SQLite adapter's SQL filter (matchesFilter
 * alone would read an empty prefix list as "match nothing").
 */
function normaliseFilter(filter: EventFilter | undefined): EventFilter | undefined {
  if (!filter) return undefined;
  const out: EventFilter = {};
  if (filter.streamPrefixes?.length) out.streamPrefixes = filter.streamPrefixes;
  if (filter.eventTypes?.length) out.eventTypes = filter.eventTypes;
  return out.streamPrefixes || out.eventTypes ? out : undefined;
}

function serverFilter(filter: EventFilter | undefined, checkpointReached: (position: Position) => void): Filter {
  const callbacks = { checkpointReached: (_sub: AllStreamSubscription, position: Position) => checkpointReached(position) };
  if (filter?.streamPrefixes) return streamNameFilter({ prefixes: filter.streamPrefixes, ...callbacks });
  if (filter?.eventTypes) {
    // Type prefixes would also let "Wanted" through as a prefix of "WantedLater": match whole names.
    const regex = `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$`;
    return eventTypeFilter({ regex, ...callbacks });
  }
  return excludeSystemEvents(callbacks);
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|#\s-]/g, (c) => `\\${c}`);
}

/**
 * For servers older than 23.10, which never say "caught up": the position of the newest
 * event that a subscription will deliver among those that exist now, or null when there is
 * none after `after`. Reads $all backwards until it finds one, so with a selective filter
 * over a long unrelated tail this is a long read; it stops as soon as `settled()`.
 */
async function lastMatchingPosition(
  client: EventStoreDBClient,
  after: bigint | 'start',
  filter: EventFilter | undefined,
  settled: () => boolean,
): Promise<bigint | null> {
  try {
    for await (const resolved of drain(client.readAll({ direction: BACKWARDS, fromPosition: END }))) {
      if (settled()) return null;
      const e = resolved.event;
      if (!e) continue;
      if (after !== 'start' && e.position.commit <= after) return null;
      if (isSystem(e.streamId, e.type) || !matchesFilter(filter, e.streamId, e.type)) continue;
      return e.position.commit;
    }
  } catch (err) {
    throw mapError(err, 'read $all');
  }
  return null;
}

/**
 * Iterates a client read and cancels the gRPC call when the consumer stops early: leaving
 * the for-await only destroys the Node stream, while the server would keep sending.
 */
async function* drain<T>(read: StreamingRead<T>): AsyncGenerator<T> {
  let done = false;
  try {
    for await (const item of read) yield item;
    done = true;
  } finally {
    if (!done) await read.cancel().catch(() => {});
  }
}

function asCommandError(err: unknown): CommandError | null {
  return err instanceof Error && isCommandError(err) ? err : null;
}

function asWrongExpectedVersion(err: unknown): EsdbWrongExpectedVersionError | null {
  const c = asCommandError(err);
  return c && c.type === ErrorType.WRONG_EXPECTED_VERSION ? c : null;
}

function isStreamNotFound(err: unknown): boolean {
  return asCommandError(err)?.type === ErrorType.STREAM_NOT_FOUND;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Outages become EventStoreUnavailableError (callers retry those, with the same event ids); anything else is passed on. */
function mapError(err: unknown, what: string): unknown {
  if (err instanceof EventStoreUnavailableError) return err;
  const c = asCommandError(err);
  const outage =
    c !== null &&
    (c.type === ErrorType.UNAVAILABLE ||
      c.type === ErrorType.DEADLINE_EXCEEDED ||
      c.type === ErrorType.TIMEOUT ||
      c.type === ErrorType.NOT_LEADER ||
      c.type === ErrorType.CANCELLED);
  // Cluster discovery fails with a plain Error before any gRPC call is made.
  const discovery = c === null && err instanceof Error && /discover/i.test(err.message);
  if (outage || discovery) {
    return new EventStoreUnavailableError(`EventStoreDB unavailable (${what}): ${errorMessage(err)}`, { cause: err });
  }
  return err;
}

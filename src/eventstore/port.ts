/**
 * The event store port, with EventStoreDB's semantics so that the embedded SQLite log and
 * a KurrentDB cluster are interchangeable: optimistic concurrency by expected revision,
 * atomic multi-event appends, idempotent re-sends by event id, a global order ($all) and
 * catch-up subscriptions that turn live.
 *
 * Revisions count from 0 within a stream. Positions are global, strictly increasing, and
 * only compared by the adapter that produced them.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface EventMetadata {
  eventId: string;
  schemaVersion: number;
  occurredAt: string;
  actor: { id: string; role: string };
  correlationId: string;
  causationId: string | null;
  prevHash: string;
  hash: string;
}

/** What a caller appends: the adapter chains prevHash/hash into the metadata. */
export interface NewEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: Omit<EventMetadata, 'prevHash' | 'hash'>;
}

export interface RecordedEvent {
  id: string;
  streamId: string;
  revision: bigint;
  position: bigint;
  type: string;
  data: unknown;
  metadata: EventMetadata;
  created: Date;
}

export interface AppendResult {
  /** Revision of the last event of the append (the stream's new head). */
  nextExpectedRevision: bigint;
  position: bigint;
}

export interface ReadStreamOptions {
  direction?: 'forwards' | 'backwards';
  fromRevision?: bigint | 'start' | 'end';
  maxCount?: number;
}

export interface ReadAllOptions {
  /**
   * Read the events strictly after this position; omitted, from the start of the log. It must
   * be a position the same store handed out (an event's position or headPosition()), never
   * arithmetic on one: EventStoreDB positions are byte offsets and `p + 1n` points inside a
   * record, where the server refuses to start reading.
   */
  after?: bigint;
  maxCount?: number;
  filter?: EventFilter;
}

export interface EventFilter {
  streamPrefixes?: string[];
  eventTypes?: string[];
}

export interface SubscribeOptions {
  /** Deliver events strictly after this position; 'start' delivers everything. */
  fromPosition: bigint | 'start';
  filter?: EventFilter;
}

export interface Subscription extends AsyncIterable<RecordedEvent> {
  /** Resolves once the subscription has delivered everything that existed when it started. */
  readonly caughtUp: Promise<void>;
  close(): Promise<void>;
}

export interface StreamHead {
  streamId: string;
  revision: bigint;
  hash: string;
}

/**
 * Where an adapter without a cheap list of its streams (EventStoreDB, whose only list is a
 * scan of $all) gets one: an index kept from the log itself (the stream-heads projection),
 * brought up to the log's head on each call.
 */
export interface StreamHeadIndex {
  list(store: EventStore): AsyncIterable<StreamHead>;
  close(): void;
}

export interface EventStore {
  readonly kind: 'sqlite' | 'esdb';
  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  subscribeToAll(options: SubscribeOptions): Subscription;
  /** Every stream with its head, for `verify` and seals. */
  listStreams(): AsyncIterable<StreamHead>;
  /** The position of the last event in the log, or null when the log is empty. */
  headPosition(): Promise<bigint | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's current revision, or 'no_stream' when it does not exist. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(
      `stream ${streamId}: expected revision ${String(expected)}, but the stream is at ${String(actual)}`,
    );
    this.name = 'WrongExpectedVersionError';
  }
}

/** A re-send whose ids partly match events already written: not a retry, a bug upstream. */
export class IdempotencyConflictError extends Error {
  constructor(
    readonly streamId: string,
    readonly eventId: string,
  ) {
    super(`stream ${streamId}: event ${eventId} was already written as part of a different append`);
    this.name = 'IdempotencyConflictError';
  }
}

export class EventStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}

/**
 * The disk under the log is full: nothing of the append was written, and it can succeed once
 * space is freed. `code` is the errno, so that a full log is recognised like every other full disk.
 */
export class EventStoreFullError extends Error {
  readonly code = 'ENOSPC';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreFullError';
  }
}

export function matchesFilter(filter: EventFilter | undefined, streamId: string, type: string): boolean {
  if (!filter) return true;
  // An empty list is no constraint, as in the SQLite adapter's SQL.
  if (filter.eventTypes?.length && !filter.eventTypes.includes(type)) return false;
  if (filter.streamPrefixes?.length && !filter.streamPrefixes.some((p) => streamId.startsWith(p))) return false;
  return true;
}

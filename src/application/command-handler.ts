import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { newEventId } from '../eventstore/event-id.ts';
import {
  CURRENT_SCHEMA_VERSION,
  type DomainEvent,
  type EventType,
  eventSchemas,
} from '../domain/events.ts';
import {
  type AppendResult,
  type EventStore,
  EventStoreUnavailableError,
  type ExpectedRevision,
  type NewEvent,
  WrongExpectedVersionError,
} from '../eventstore/port.ts';
import { type Fold, foldStream, foldedAfterAppend } from './stream-fold.ts';

/**
 * Runs a command against one stream: read it, fold it with `evolve`, `decide`, append with
 * the revision that was read as the expected one. A lost race is retried from a fresh read
 * unless the caller pinned a revision (If-Match), in which case it is the caller's conflict.
 */
export interface Decider<S, C, E extends DomainEvent, D extends E = E> extends Fold<S, E> {
  decide: (command: C, state: S) => D[];
}

export interface CommandContext {
  actor: { id: string; role: string };
  correlationId?: string;
  causationId?: string;
  /** The clock is passed in, like ids, so that tests can pin it. */
  now?: () => Date;
  /** More envelope fields (an Idempotency-Key, say); never the reserved ones. */
  extra?: Record<string, string>;
}

export interface CommandResult<S, E extends DomainEvent = DomainEvent> {
  state: S;
  /** The stream's revision after the command (-1 when the stream does not exist). */
  revision: bigint;
  /** Global position of the last appended event, or null when the command changed nothing. */
  position: bigint | null;
  events: Array<E & { id: string }>;
}

const RETRIES = 5;
/** Re-sends of one append whose reply was lost (the store may or may not have written it). */
const RESENDS = 3;

/** Whether a stream has any event (reads at most one). */
export async function streamExists(store: EventStore, streamId: string): Promise<boolean> {
  for await (const _ of store.readStream(streamId, { maxCount: 1 })) return true;
  return false;
}

/** The envelope of new events: ids minted once, so that a re-send is recognised as the same append. */
export function envelope<E extends DomainEvent>(events: E[], context: CommandContext): { withIds: Array<E & { id: string }>; newEvents: NewEvent[] } {
  const now = (context.now ?? (() => new Date()))().toISOString();
  const correlationId = context.correlationId ?? randomUUID();
  // Validate what we write as strictly as what we read: a bad payload must never reach the
  // log, and what is written is exactly the parsed payload (unknown keys stripped).
  const withIds = events.map((e): E & { id: string } => {
    const data: unknown = eventSchemas[e.type as EventType].parse(e.data);
    return { ...e, data, id: newEventId() } as unknown as E & { id: string };
  });
  const newEvents = withIds.map((e) => ({
    id: e.id,
    type: e.type,
    data: e.data,
    metadata: {
      ...context.extra,
      eventId: e.id,
      schemaVersion: CURRENT_SCHEMA_VERSION[e.type],
      occurredAt: now,
      actor: context.actor,
      correlationId,
      causationId: context.causationId ?? null,
    },
  }));
  return { withIds, newEvents };
}

/**
 * Appends, re-sending the very same events when the store's answer is lost: the store
 * either wrote them (and recognises the ids: EventStoreDB and our SQLite log are idempotent
 * by event id) or did not, and either way the log ends up with them once.
 */
export async function appendOnce(store: Pick<EventStore, 'append'>, streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await store.append(streamId, events, expected);
    } catch (err) {
      if (!(err instanceof EventStoreUnavailableError) || attempt >= RESENDS) throw err;
      await setTimeout(100 * 2 ** attempt);
    }
  }
}

export async function handleCommand<S, C, E extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Decider<S, C, E>,
  command: C,
  context: CommandContext,
  expectedRevision?: bigint,
): Promise<CommandResult<S, E>> {
  for (let attempt = 0; ; attempt++) {
    const { state, revision } = await foldStream(store, streamId, decider);
    // A missing record is "not found" whatever revision the caller names: decide says so first.
    let decided = revision < 0n ? decider.decide(command, state) : undefined;
    if (expectedRevision !== undefined && expectedRevision !== revision) {
      throw await revisionConflict(store, streamId, expectedRevision, revision);
    }
    decided ??= decider.decide(command, state);
    if (decided.length === 0) return { state, revision, position: null, events: [] };
    const { withIds, newEvents } = envelope(decided, context);
    try {
      const result = await appendOnce(store, streamId, newEvents, revision < 0n ? 'no_stream' : revision);
      const next = withIds.reduce(decider.evolve, state);
      foldedAfterAppend(store, streamId, decider, { state: next, revision: result.nextExpectedRevision });
      return { state: next, revision: result.nextExpectedRevision, position: result.position, events: withIds };
    } catch (err) {
      if (err instanceof WrongExpectedVersionError && expectedRevision !== undefined && typeof err.actual === 'bigint') {
        throw await revisionConflict(store, streamId, expectedRevision, err.actual);
      }
      if (!(err instanceof WrongExpectedVersionError) || expectedRevision !== undefined || attempt >= RETRIES) throw err;
    }
  }
}

/** The change that made a caller's revision stale: who, when, what. */
export interface WinningChange {
  actor: { id: string; role: string };
  occurredAt: string;
  type: string;
  revision: bigint;
}

/**
 * A caller's If-Match lost to someone else's change. Names that change (the first one after
 * the caller's revision) so that a person is told who edited the record meanwhile, and a
 * worker's fact is never blamed on "someone else".
 */
export class RevisionConflictError extends WrongExpectedVersionError {
  constructor(
    streamId: string,
    expected: bigint,
    actual: bigint | 'no_stream',
    readonly winner: WinningChange | undefined,
    /** Changes after the caller's revision. */
    readonly changesSince: number,
  ) {
    super(streamId, expected, actual);
    this.name = 'RevisionConflictError';
  }
}

async function revisionConflict(store: EventStore, streamId: string, expected: bigint, actual: bigint): Promise<RevisionConflictError> {
  let winner: WinningChange | undefined;
  if (expected >= -1n && expected < actual) {
    for await (const e of store.readStream(streamId, { fromRevision: expected + 1n, maxCount: 1 })) {
      winner = { actor: e.metadata.actor, occurredAt: e.metadata.occurredAt, type: e.type, revision: e.revision };
    }
  }
  return new RevisionConflictError(streamId, expected, actual < 0n ? 'no_stream' : actual, winner, actual > expected ? Number(actual - expected) : 0);
}

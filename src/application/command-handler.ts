import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newEventId } from '../eventstore/event-id.ts';
import {
  CURRENT_SCHEMA_VERSION,
  type DomainEvent,
  type EventType,
  eventSchemas,
  isEventType,
  parseEventData,
} from '../domain/events.ts';
import { type AppendResult, type EventStore, EventStoreUnavailableError, WrongExpectedVersionError } from '../eventstore/port.ts';

/**
 * Runs a command against one stream: read it, fold it with `evolve`, `decide`, append with
 * the revision that was read as the expected one. A lost race is retried from a fresh read
 * unless the caller pinned a revision (If-Match), in which case it is the caller's conflict.
 */
export interface Decider<S, C, E extends DomainEvent> {
  initial: S;
  evolve: (state: S, event: E) => S;
  decide: (command: C, state: S) => E[];
}

export interface CommandContext {
  actor: { id: string; role: string };
  correlationId?: string;
  causationId?: string;
  /** The clock is passed in, like ids, so that tests can pin it. */
  now?: () => Date;
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
/** Re-sends of one append whose outcome an outage hid. */
const RESENDS = 3;

export async function loadStream<S, E extends DomainEvent>(
  store: EventStore,
  streamId: string,
  initial: S,
  evolve: (state: S, event: E) => S,
): Promise<{ state: S; revision: bigint }> {
  let state = initial;
  let revision = -1n;
  for await (const recorded of store.readStream(streamId)) {
    if (isEventType(recorded.type)) {
      const data = parseEventData(recorded.type, recorded.metadata.schemaVersion, recorded.data);
      state = evolve(state, { type: recorded.type, data } as E);
    }
    revision = recorded.revision;
  }
  return { state, revision };
}

/** Whether a stream has any event (reads at most one). */
export async function streamExists(store: EventStore, streamId: string): Promise<boolean> {
  for await (const _ of store.readStream(streamId, { maxCount: 1 })) return true;
  return false;
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
    const { state, revision } = await loadStream(store, streamId, decider.initial, decider.evolve);
    if (expectedRevision !== undefined && expectedRevision !== revision) {
      throw new WrongExpectedVersionError(streamId, expectedRevision, revision < 0n ? 'no_stream' : revision);
    }
    const decided = decider.decide(command, state);
    if (decided.length === 0) return { state, revision, position: null, events: [] };
    const now = (context.now ?? (() => new Date()))().toISOString();
    const correlationId = context.correlationId ?? randomUUID();
    // Validate what we write as strictly as what we read: a bad payload must never reach the
    // log, and what is written is exactly the parsed payload (unknown keys stripped).
    const withIds = decided.map((e): E & { id: string } => {
      const data: unknown = eventSchemas[e.type as EventType].parse(e.data);
      return { ...e, data, id: newEventId() } as unknown as E & { id: string };
    });
    const newEvents = withIds.map((e) => {
      return {
        id: e.id,
        type: e.type,
        data: e.data,
        metadata: {
          eventId: e.id,
          schemaVersion: CURRENT_SCHEMA_VERSION[e.type],
          occurredAt: now,
          actor: context.actor,
          correlationId,
          causationId: context.causationId ?? null,
        },
      };
    });
    try {
      let result: AppendResult;
      // An outage can hide an append that was written: re-send the same events (same ids)
      // at the same expected revision, which the store recognises instead of writing twice.
      for (let resend = 0; ; resend++) {
        try {
          result = await store.append(streamId, newEvents, revision < 0n ? 'no_stream' : revision);
          break;
        } catch (err) {
          if (!(err instanceof EventStoreUnavailableError) || resend >= RESENDS) throw err;
          await sleep(100 * 2 ** resend);
        }
      }
      const next = withIds.reduce(decider.evolve, state);
      return { state: next, revision: result.nextExpectedRevision, position: result.position, events: withIds };
    } catch (err) {
      if (!(err instanceof WrongExpectedVersionError) || expectedRevision !== undefined || attempt >= RETRIES) throw err;
    }
  }
}

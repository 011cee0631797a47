import {
  type CollectionEvent,
  CURRENT_SCHEMA_VERSION,
  type EventData,
  type EventType,
  isEventType,
  LIBRARY_EVENT_TYPES,
  type LibraryEvent,
  type ObjectHistoryEvent,
  parseEventData,
  WORK_EVENT_TYPES,
} from '../domain/events.ts';
import type { RecordedEvent } from '../eventstore/port.ts';

/**
 * Recorded events back to domain events, for projections that fold a work's streams and
 * collection streams with the domain's own `evolve` functions: validated and upcast, others
 * skipped.
 */
export const COLLECTION_EVENT_TYPES: readonly EventType[] = ['CollectionCreated', 'CollectionEdited'];
export const WORK_STREAM_PREFIXES = ['object-', 'preservation-'] as const;

/** Which work a recorded event is about, and on which of its two streams it stands. */
export function workStream(e: RecordedEvent): { objectId: string; stream: 'object' | 'preservation' } | undefined {
  if (e.streamId.startsWith('object-')) return { objectId: e.streamId.slice('object-'.length), stream: 'object' };
  if (e.streamId.startsWith('preservation-')) return { objectId: e.streamId.slice('preservation-'.length), stream: 'preservation' };
  return undefined;
}

/**
 * A recorded event's payload at the current schema version, for projections.
 *
 * What a replay still validates (issue 20). An event whose schema version is the current one
 * was parsed by that very schema when it was written (command-handler.ts `envelope`: nothing
 * reaches the log unparsed, and what is stored is the parsed payload), and a schema does not
 * change without its version moving (events.ts: a new version comes with its upcaster). So
 * parsing it again on every read only re-proves what the write proved; what can still go
 * wrong with it is the stored row being altered or damaged afterwards, and that is the hash
 * chain's to catch: `thukho verify`, the seals and tools/verify-chain.py recompute every
 * event's hash (tests/fault/replay-trust.test.ts). Those events are taken as they are here.
 * Events of an older version take the upcast path and are validated after it, as before:
 * no schema of today ever judged them. A version newer than this thukho knows is refused.
 * The envelope (metadata) is still checked on every read by the adapter (envelope.ts).
 *
 * A read model built from a damaged row is wrong only until the damage is found and the row
 * is restored (verify, recover), and it is a cache rebuilt from the log. The zod parses (the
 * payload's and the envelope's) were a fifth of a replay's CPU profile, more with their garbage.
 */
export function eventData<T extends EventType>(type: T, e: Pick<RecordedEvent, 'data' | 'metadata'>): EventData<T> {
  if (e.metadata.schemaVersion === CURRENT_SCHEMA_VERSION[type] && e.data !== null && typeof e.data === 'object') {
    return e.data as EventData<T>;
  }
  return parseEventData(type, e.metadata.schemaVersion, e.data);
}

export function decodeWorkEvent(e: RecordedEvent): ObjectHistoryEvent | undefined {
  if (!isEventType(e.type) || !(WORK_EVENT_TYPES as readonly string[]).includes(e.type)) return undefined;
  return { type: e.type, data: eventData(e.type, e) } as ObjectHistoryEvent;
}

export function decodeLibraryEvent(e: RecordedEvent): LibraryEvent | undefined {
  if (!isEventType(e.type) || !(LIBRARY_EVENT_TYPES as readonly string[]).includes(e.type)) return undefined;
  return { type: e.type, data: eventData(e.type, e) } as LibraryEvent;
}

export function decodeCollectionEvent(e: RecordedEvent): CollectionEvent | undefined {
  if (!isEventType(e.type) || !COLLECTION_EVENT_TYPES.includes(e.type)) return undefined;
  return { type: e.type, data: eventData(e.type, e) } as CollectionEvent;
}

/** Machine facts that change how a work is shown (its access copies); the others only count. */
export const SHOWN_FACTS: readonly string[] = ['DerivativeCreated', 'DerivativeFailed'];

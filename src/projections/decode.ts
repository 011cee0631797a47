import {
  type CollectionEvent,
  type EventType,
  isEventType,
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

export function decodeWorkEvent(e: RecordedEvent): ObjectHistoryEvent | undefined {
  if (!isEventType(e.type) || !(WORK_EVENT_TYPES as readonly string[]).includes(e.type)) return undefined;
  return { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as ObjectHistoryEvent;
}

export function decodeCollectionEvent(e: RecordedEvent): CollectionEvent | undefined {
  if (!isEventType(e.type) || !COLLECTION_EVENT_TYPES.includes(e.type)) return undefined;
  return { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as CollectionEvent;
}

/** Machine facts that change how a work is shown (its access copies); the others only count. */
export const SHOWN_FACTS: readonly string[] = ['DerivativeCreated', 'DerivativeFailed'];

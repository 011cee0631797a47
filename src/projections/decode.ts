import { type CollectionEvent, type EventType, type ObjectEvent, isEventType, parseEventData } from '../domain/events.ts';
import type { RecordedEvent } from '../eventstore/port.ts';

/**
 * Recorded events back to domain events, for projections that fold object and collection
 * streams with the domain's own `evolve` functions: validated and upcast, others skipped.
 */
export const OBJECT_EVENT_TYPES: readonly EventType[] = [
  'ObjectRegistered',
  'MetadataEdited',
  'FileIngested',
  'FilesReordered',
  'AccessPolicyChanged',
  'ObjectWithdrawn',
  'DerivativeCreated',
  'DerivativeFailed',
];
export const COLLECTION_EVENT_TYPES: readonly EventType[] = ['CollectionCreated', 'CollectionEdited'];

export function decodeObjectEvent(e: RecordedEvent): ObjectEvent | undefined {
  if (!isEventType(e.type) || !OBJECT_EVENT_TYPES.includes(e.type)) return undefined;
  return { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as ObjectEvent;
}

export function decodeCollectionEvent(e: RecordedEvent): CollectionEvent | undefined {
  if (!isEventType(e.type) || !COLLECTION_EVENT_TYPES.includes(e.type)) return undefined;
  return { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as CollectionEvent;
}

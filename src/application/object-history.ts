import { DomainError } from '../domain/errors.ts';
import type { ObjectHistoryEvent } from '../domain/events.ts';
import { evolveObject, initialObjectState, type ObjectState } from '../domain/object.ts';
import { pageImageId } from '../domain/page-image.ts';
import type { EventStore } from '../eventstore/port.ts';
import { decodeWorkEvent } from '../projections/decode.ts';
import { objectStream } from './streams.ts';

/**
 * What people decided about a work, event by event, each with the change it made: the
 * history a cataloguer reads ("who changed the title, when, from what, and why"). Machine
 * facts and file ingests are left to provenance; a reorder, labels and the table of contents
 * are decisions and are listed.
 */
export interface FieldChange {
  field: string;
  /** The value just before the event (null: none). */
  before: unknown;
  /** The value the event set (null: cleared). */
  after: unknown;
}

export interface HistoryEntry {
  revision: number;
  position: string;
  type: string;
  at: string;
  actor: { id: string; role: string };
  reason?: string;
  changes: FieldChange[];
}

const HISTORY_TYPES = new Set(['ObjectRegistered', 'MetadataEdited', 'AccessPolicyChanged', 'ObjectWithdrawn', 'FilesReordered', 'PageLabelsSet', 'StructureSet']);

const orNull = (v: unknown) => (v === undefined ? null : v);

/** The fields an event changed, judged against the state just before it. */
export function changesOf(event: ObjectHistoryEvent, before: ObjectState): FieldChange[] {
  const active = before.status === 'absent' ? undefined : before;
  switch (event.type) {
    case 'ObjectRegistered':
      return [
        ...Object.entries(event.data.metadata).map(([field, after]) => ({ field, before: null, after })),
        { field: 'accessLevel', before: null, after: event.data.accessLevel },
      ];
    case 'MetadataEdited':
      return Object.entries(event.data.changes).map(([field, after]) => ({
        field,
        before: orNull((active?.metadata as Record<string, unknown> | undefined)?.[field]),
        after: orNull(after),
      }));
    case 'AccessPolicyChanged':
      return [{ field: 'accessLevel', before: event.data.from, after: event.data.to }];
    case 'ObjectWithdrawn':
      return [{ field: 'status', before: active?.status ?? null, after: 'withdrawn' }];
    case 'FilesReordered': {
      const order = active ? [...active.files].sort((a, b) => a.sequence - b.sequence).map((f) => f.fileId) : [];
      return [{ field: 'order', before: order, after: event.data.order }];
    }
    case 'PageLabelsSet':
      return event.data.labels.map((l) => {
        const imageId = pageImageId(l.fileId, l.page ?? 1);
        return { field: `pages.${imageId}.label`, before: orNull(active?.pageLabels?.[imageId]), after: l.label || null };
      });
    case 'StructureSet':
      return [{ field: 'structure', before: active?.structure ?? [], after: event.data.ranges }];
    default:
      return [];
  }
}

function reasonOf(event: ObjectHistoryEvent): string | undefined {
  if (event.type === 'MetadataEdited' || event.type === 'AccessPolicyChanged' || event.type === 'ObjectWithdrawn') return event.data.reason;
  return undefined;
}

export async function objectHistory(store: EventStore, objectId: string): Promise<{ objectId: string; events: HistoryEntry[] }> {
  let state: ObjectState = initialObjectState;
  const events: HistoryEntry[] = [];
  let seen = false;
  for await (const e of store.readStream(objectStream(objectId))) {
    seen = true;
    const event = decodeWorkEvent(e);
    if (!event) continue;
    if (HISTORY_TYPES.has(event.type)) {
      const reason = reasonOf(event);
      events.push({
        revision: Number(e.revision),
        position: String(e.position),
        type: event.type,
        at: e.metadata.occurredAt,
        actor: { id: e.metadata.actor.id, role: e.metadata.actor.role },
        ...(reason ? { reason } : {}),
        changes: changesOf(event, state),
      });
    }
    state = evolveObject(state, event);
  }
  if (!seen) {
    throw new DomainError('not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId });
  }
  return { objectId, events };
}

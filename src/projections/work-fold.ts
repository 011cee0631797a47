import type { ObjectHistoryEvent } from '../domain/events.ts';
import { evolveObject, type ObjectState } from '../domain/object.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { decodeWorkEvent, SHOWN_FACTS, workStream } from './decode.ts';

/**
 * One work as the read models keep it: the state folded from both its streams, and the
 * revision of its object stream, which is the one in ETag and If-Match. Every event of the
 * object stream counts towards the revision, also the machine facts older logs keep there;
 * preservation-stream facts never do.
 */
export interface WorkCursor {
  state: ObjectState;
  revision: number;
}

/** Whether an event about a work may change what a read model shows (cheap: no decoding, no row loaded). */
export function mayChangeWork(e: RecordedEvent): boolean {
  const work = workStream(e);
  return work?.stream === 'object' || (work?.stream === 'preservation' && SHOWN_FACTS.includes(e.type));
}

/**
 * Applies one recorded event about a work. Undefined when it changes nothing: already
 * applied (delivery is at-least-once) or a fact that does not change how a work is shown.
 * Preservation facts carry no revision here; applying a shown fact again after a
 * re-delivery gives the same state, since a re-delivery repeats a suffix in log order.
 */
export function applyWorkEvent(cur: WorkCursor, e: RecordedEvent): { event: ObjectHistoryEvent | undefined } | undefined {
  const work = workStream(e);
  if (!work) return undefined;
  if (work.stream === 'object') {
    if (Number(e.revision) <= cur.revision) return undefined;
    cur.revision = Number(e.revision);
  } else if (!SHOWN_FACTS.includes(e.type) || cur.state.status === 'absent') {
    return undefined;
  }
  const event = decodeWorkEvent(e);
  if (event) cur.state = evolveObject(cur.state, event);
  return { event };
}

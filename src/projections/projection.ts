import type { EventFilter, RecordedEvent } from '../eventstore/port.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * A projection over the log into the read-model database. `apply` runs inside the
 * transaction that also moves the checkpoint, so a batch is applied exactly once to the
 * tables even though delivery is at-least-once. Handlers must still be idempotent: an
 * online rebuild and a running server may both offer the same batch.
 */
export interface Projection {
  name: string;
  /** Bump when the tables or the handling change: the runtime then rebuilds from the start. */
  version: number;
  filter: EventFilter;
  /** Create tables and indexes if missing. */
  setup(db: ReadModelDb): void;
  /** Drop everything the projection owns (setup is called again afterwards). */
  reset(db: ReadModelDb): void;
  apply(db: ReadModelDb, events: RecordedEvent[]): void;
}

import type { EventStore, StreamHead, StreamHeadIndex } from '../eventstore/port.ts';
import type { Projection } from './projection.ts';
import type { ReadModelDb } from './read-model-db.ts';
import { catchUpProjection, prepareProjection } from './runtime.ts';

/**
 * Every stream's head (revision and hash), for the EventStoreDB profile, whose store can only
 * list its streams by reading all of $all: seals, `verify`, the daily audit and fixity
 * selection read this instead, each call first applying what was appended since the last one.
 * Checkpointed and rebuildable like every projection (drop the read model and it replays).
 */
export const streamHeadsProjection: Projection = {
  name: 'stream-heads',
  version: 1,
  filter: {},
  setup(db) {
    db.exec(`CREATE TABLE IF NOT EXISTS stream_heads (
      stream_id TEXT PRIMARY KEY,
      revision  INTEGER NOT NULL,
      hash      TEXT    NOT NULL
    ) WITHOUT ROWID`);
  },
  reset(db) {
    db.exec('DROP TABLE IF EXISTS stream_heads');
  },
  apply(db, events) {
    // A batch replayed after a crash must not move a head backwards.
    const upsert = db.prepare(
      `INSERT INTO stream_heads (stream_id, revision, hash) VALUES (?, ?, ?)
       ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, hash = excluded.hash
       WHERE excluded.revision > stream_heads.revision`,
    );
    for (const e of events) upsert.run(e.streamId, Number(e.revision), e.metadata.hash);
  },
};

const PAGE = 1000;

export class ProjectedStreamHeads implements StreamHeadIndex {
  constructor(private readonly db: ReadModelDb) {}

  async *list(store: EventStore): AsyncIterable<StreamHead> {
    prepareProjection(this.db, streamHeadsProjection);
    await catchUpProjection(store, this.db, streamHeadsProjection);
    const page = this.db.prepare<[string, number], { stream_id: string; revision: number; hash: string }>(
      'SELECT stream_id, revision, hash FROM stream_heads WHERE stream_id > ? ORDER BY stream_id LIMIT ?',
    );
    let after = '';
    for (;;) {
      const rows = page.all(after, PAGE);
      for (const r of rows) yield { streamId: r.stream_id, revision: BigInt(r.revision), hash: r.hash };
      const last = rows[rows.length - 1];
      if (!last || rows.length < PAGE) return;
      after = last.stream_id;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

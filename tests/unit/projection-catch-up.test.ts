import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { readCheckpoint } from '../../src/projections/checkpoint.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.ts';
import { catchUpProjection, prepareProjection } from '../../src/projections/runtime.ts';
import { testEvent } from '../helpers/events.ts';

/**
 * catchUpProjection (what `thukho audit-report` and `thukho rebuild` run) over a real SQLite
 * log and read model. The projection's rows are UNIQUE by position, so an event applied twice
 * throws instead of passing unnoticed.
 */
const seen: Projection = {
  name: 'seen',
  version: 1,
  filter: { streamPrefixes: ['count-'] },
  setup: (db) => db.exec('CREATE TABLE IF NOT EXISTS seen (position INTEGER NOT NULL UNIQUE)'),
  reset: (db) => db.exec('DROP TABLE IF EXISTS seen'),
  apply(db, events) {
    const insert = db.prepare('INSERT INTO seen (position) VALUES (?)');
    for (const e of events) insert.run(Number(e.position));
  },
};

async function setup(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'thukho-catch-up-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const dbs: ReadModelDb[] = [];
  const openDb = () => {
    const db = openReadModelDb(join(dir, 'readmodel.sqlite'));
    dbs.push(db);
    prepareProjection(db, seen);
    return db;
  };
  t.teardown(async () => {
    for (const db of dbs) db.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  /** `count` events on count- streams, with an unrelated one every fifth; the positions of the count- ones. */
  const append = async (count: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      out.push(Number((await store.append(`count-${i % 3}`, [testEvent('Counted', { i })], 'any')).position));
      if (i % 5 === 0) await store.append('other-1', [testEvent('Ignored', { i })], 'any');
    }
    return out;
  };
  return { store, openDb, append };
}

const rows = (db: ReadModelDb) => db.prepare<[], { position: number }>('SELECT position FROM seen ORDER BY position').all().map((r) => r.position);

test('an empty log: nothing to apply, the checkpoint stays at the start', async (t) => {
  const { store, openDb } = await setup(t);
  const db = openDb();
  t.deepEqual(await catchUpProjection(store, db, seen), { events: 0 });
  t.is(readCheckpoint(db, 'seen')?.position, null);
});

test('applies every matching event once, in batches, and a second call only what came since', async (t) => {
  const { store, openDb, append } = await setup(t);
  const db = openDb();
  const first = await append(40);
  const progress: Array<[number, number]> = [];
  const result = await catchUpProjection(store, db, seen, { batchSize: 7, onProgress: (p) => progress.push([p.events, Number(p.position)]) });
  t.is(result.events, 40);
  t.deepEqual(rows(db), first);
  t.is(readCheckpoint(db, 'seen')?.position, BigInt(first.at(-1) as number));
  t.deepEqual(progress.map(([events]) => events), [7, 14, 21, 28, 35, 40]);

  const second = await append(9);
  t.deepEqual(await catchUpProjection(store, db, seen, { batchSize: 7 }), { events: 9 });
  t.deepEqual(rows(db), [...first, ...second]);
});

test('two catch-ups on two connections at once: each event is applied by exactly one of them', async (t) => {
  const { store, openDb, append } = await setup(t);
  const a = openDb();
  const b = openDb();
  const positions = await append(300);
  const [ra, rb] = await Promise.all([catchUpProjection(store, a, seen, { batchSize: 10 }), catchUpProjection(store, b, seen, { batchSize: 10 })]);
  t.is(ra.events + rb.events, 300);
  t.deepEqual(rows(a), positions);
});

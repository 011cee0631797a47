import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { EventSchemaError, eventSchemas } from '../../src/domain/events.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { readCheckpoint } from '../../src/projections/checkpoint.ts';
import { objectReadModel } from '../../src/projections/object-read-model.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { catchUpProjection, prepareProjection, rebuildProjection } from '../../src/projections/runtime.ts';
import { testEvent } from '../helpers/events.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * What moved in issue 20: a replay no longer parses events of the current schema version
 * with zod (they were parsed when written), and reads the log a page per batch. A damaged
 * row must still be found, by the hash chain; an event of an older version is still
 * validated after its upcast; a replay that stops inside a batch loses nothing and applies
 * nothing twice.
 */
const tempDir = tempDirs(test, 'thukho-replay-trust-');

const registered = (objectId: string) =>
  eventSchemas.ObjectRegistered.parse({
    objectId,
    metadata: { title: `Sách ${objectId}`, language: ['vie'], type: 'Sách' },
    accessLevel: 'open',
  });
const edited = (objectId: string, title: string) => eventSchemas.MetadataEdited.parse({ objectId, changes: { title } });

async function logWithObjects(path: string, objects: number): Promise<SqliteEventStore> {
  const store = new SqliteEventStore(path);
  for (let i = 0; i < objects; i++) {
    const id = `obj-${i}`;
    await store.append(`object-${id}`, [testEvent('ObjectRegistered', registered(id)), testEvent('MetadataEdited', edited(id, `Tựa ${i} đã sửa`))], 'no_stream');
  }
  return store;
}

test('a row altered on disk is no longer refused by the replay, but the chain names it', async (t) => {
  const dir = tempDir();
  const path = join(dir, 'events.sqlite');
  const store = await logWithObjects(path, 3);
  // Damage obj-1's edit the way a disk or a hand would: the payload no schema accepts.
  const raw = new Database(path);
  raw.exec('DROP TRIGGER events_are_immutable');
  raw.prepare("UPDATE events SET data = ? WHERE stream_id = 'object-obj-1' AND revision = 1").run(JSON.stringify({ objectId: 'obj-1', changes: { title: 42 } }));
  raw.close();
  t.false(eventSchemas.MetadataEdited.safeParse({ objectId: 'obj-1', changes: { title: 42 } }).success, 'the damaged payload is one zod refuses');

  const db = openReadModelDb(join(dir, 'rm.sqlite'));
  t.teardown(() => db.close());
  // The replay takes the current-version event as written (see eventData in decode.ts)…
  t.deepEqual(await rebuildProjection(store, db, objectReadModel), { events: 6 });
  // …and the integrity check that covers it is the chain: verify names the row and why.
  const report = await verifyLog(store);
  t.is(report.broken.length, 1);
  t.like(report.broken[0], { streamId: 'object-obj-1', revision: 1n });
  t.regex(report.broken[0]?.reason ?? '', /does not match its hash/);
  await store.close();
});

test('an event of an older schema version is still upcast and validated by the replay', async (t) => {
  const dir = tempDir();
  const store = await logWithObjects(join(dir, 'events.sqlite'), 1);
  // DerivativeCreated is at v2: a v1 fact takes the upcast path and the schema judges it.
  const old = testEvent('DerivativeCreated', { objectId: 'obj-0', fileId: 'missing-everything-else' });
  await store.append('preservation-obj-0', [old], 'any');
  const db = openReadModelDb(join(dir, 'rm.sqlite'));
  t.teardown(async () => {
    db.close();
    await store.close();
  });
  await t.throwsAsync(rebuildProjection(store, db, objectReadModel), { instanceOf: EventSchemaError });
  // Nothing of the refused batch is kept: the checkpoint is where it started.
  t.is(readCheckpoint(db, objectReadModel.name)?.position, null);
});

test('a replay stopped inside a batch resumes after the last committed batch and applies each event once', async (t) => {
  const dir = tempDir();
  const store = await logWithObjects(join(dir, 'events.sqlite'), 20); // 40 events
  t.teardown(() => store.close());
  let failAt: number | null = 23; // the 24th event: inside the third batch of 10
  let applied = 0;
  const counting: Projection = {
    name: 'counting',
    version: 1,
    filter: { streamPrefixes: ['object-'] },
    setup: (db) => db.exec('CREATE TABLE IF NOT EXISTS applied (position INTEGER NOT NULL UNIQUE)'),
    reset: (db) => db.exec('DROP TABLE IF EXISTS applied'),
    apply(db, events) {
      const insert = db.prepare('INSERT INTO applied (position) VALUES (?)');
      for (const e of events) {
        if (applied === failAt) throw new Error('power cut inside the batch');
        insert.run(Number(e.position));
        applied++;
      }
    },
  };
  const db = openReadModelDb(join(dir, 'rm.sqlite'));
  t.teardown(() => db.close());
  prepareProjection(db, counting);
  await t.throwsAsync(catchUpProjection(store, db, counting, { batchSize: 10 }), { message: /power cut/ });
  // The third batch's rows and its checkpoint went together: two whole batches stand.
  t.is(readCheckpoint(db, 'counting')?.position, 20n);
  t.is((db.prepare('SELECT COUNT(*) AS n FROM applied').get() as { n: number }).n, 20);

  failAt = null;
  t.deepEqual(await catchUpProjection(store, db, counting, { batchSize: 10 }), { events: 20 });
  const positions = db.prepare<[], { position: number }>('SELECT position FROM applied ORDER BY position').all().map((r) => r.position);
  t.deepEqual(positions, Array.from({ length: 40 }, (_, i) => i + 1));
  t.is(readCheckpoint(db, 'counting')?.position, 40n);
});

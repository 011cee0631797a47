import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { pino } from 'pino';
import type { EventStore } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { readCheckpoint } from '../../src/projections/checkpoint.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { openReadModelDb, type ReadModelDb } from '../../src/projections/read-model-db.ts';
import { ProjectionRunner, type ProjectionStatus, prepareProjection, rebuildProjection } from '../../src/projections/runtime.ts';
import { testEvent } from '../helpers/events.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The projection runtime over a real SQLite log and read-model file. The test projection
 * records one row per event under UNIQUE constraints, so applying any event twice throws
 * instead of passing unnoticed.
 */
const logger = pino({ level: 'silent' });

const root = mkdtempSync(join(tmpdir(), 'thukho-projections-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function paths() {
  const dir = join(root, `case-${n++}`);
  return { events: join(dir, 'events.sqlite'), readModel: join(dir, 'readmodel.sqlite') };
}

interface Calls {
  applies: number;
  events: number;
  failures: number;
  resets: number;
  /** Events applied through each database handle (to tell two runners apart). */
  byDb: Map<ReadModelDb, number>;
}

function countingProjection(options: { version?: number; failFirst?: number; onApply?: () => void } = {}) {
  const calls: Calls = { applies: 0, events: 0, failures: 0, resets: 0, byDb: new Map() };
  const version = options.version ?? 1;
  const projection: Projection = {
    name: 'counter',
    version,
    filter: { streamPrefixes: ['count-'] },
    setup(db) {
      db.exec(`CREATE TABLE IF NOT EXISTS counted (
        position INTEGER NOT NULL UNIQUE,
        event_id TEXT NOT NULL UNIQUE,
        stream_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        version INTEGER NOT NULL,
        UNIQUE (stream_id, revision)
      )`);
    },
    reset(db) {
      calls.resets++;
      db.exec('DROP TABLE IF EXISTS counted');
    },
    apply(db, events) {
      calls.applies++;
      options.onApply?.();
      if (calls.failures < (options.failFirst ?? 0)) {
        calls.failures++;
        throw new Error(`boom ${calls.failures}`);
      }
      const insert = db.prepare('INSERT INTO counted (position, event_id, stream_id, revision, version) VALUES (?, ?, ?, ?, ?)');
      for (const e of events) {
        if (!e.streamId.startsWith('count-')) throw new Error(`filter let ${e.streamId} through`);
        insert.run(Number(e.position), e.id, e.streamId, Number(e.revision), version);
      }
      calls.events += events.length;
      calls.byDb.set(db, (calls.byDb.get(db) ?? 0) + events.length);
    },
  };
  return { projection, calls };
}

/** Appends `count` single-event appends over a few streams, with unrelated events between. */
async function appendEvents(store: EventStore, count: number, perAppend = 1): Promise<bigint> {
  let last = 0n;
  for (let i = 0; i < count; i += perAppend) {
    const k = Math.min(perAppend, count - i);
    const events = Array.from({ length: k }, (_, j) => testEvent('Counted', { i: i + j }));
    last = (await store.append(`count-${i % 7}`, events, 'any')).position;
    if (i % 5 === 0) await store.append(`other-${i % 3}`, [testEvent('Ignored', { i })], 'any');
  }
  return last;
}

async function logPositions(store: EventStore): Promise<number[]> {
  const out: number[] = [];
  for await (const e of store.readAll({ filter: { streamPrefixes: ['count-'] } })) out.push(Number(e.position));
  return out;
}

function tablePositions(db: ReadModelDb): number[] {
  return db.prepare<[], { position: number }>('SELECT position FROM counted ORDER BY position').all().map((r) => r.position);
}

async function until(cond: () => boolean, timeoutMs = scaledTimeout(60_000)): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(2);
  }
  return cond();
}

test('runner: catches up on existing events, then follows live ones', async (t) => {
  const p = paths();
  const store = new SqliteEventStore(p.events, { pollIntervalMs: 20 });
  const db = openReadModelDb(p.readModel);
  const { projection, calls } = countingProjection();
  const runner = new ProjectionRunner(store, db, projection, logger, { batchSize: 25 });
  t.teardown(async () => {
    await runner.stop();
    db.close();
    await store.close();
  });

  const caughtUpTo = await appendEvents(store, 120, 4);
  t.is(runner.status().state, 'starting');
  await runner.start();
  t.true(await runner.waitForPosition(caughtUpTo, scaledTimeout(60_000)));
  t.deepEqual(tablePositions(db), await logPositions(store));
  t.is(tablePositions(db).length, 120);
  t.true(calls.applies >= 120 / 25, 'applied in batches of at most 25');
  t.true(await until(() => runner.status().state === 'live'));
  t.is(runner.status().position, String(caughtUpTo));

  // Live: events appended now arrive without a restart.
  const live: bigint[] = [];
  for (let i = 0; i < 10; i++) live.push((await store.append('count-live', [testEvent('Counted', { live: i })], 'any')).position);
  t.true(await runner.waitForPosition(live[live.length - 1] as bigint, scaledTimeout(60_000)));
  t.is(tablePositions(db).length, 130);
  t.deepEqual(tablePositions(db), await logPositions(store));
  t.is(readCheckpoint(db, 'counter')?.position, live[live.length - 1]);

  // An event the projection does not handle moves the head, not the projection: no lag while idle.
  await store.append('other-tail', [testEvent('Ignored', {})], 'any');
  const head = (await store.headPosition()) as bigint;
  t.true(head > (live[live.length - 1] as bigint));
  t.true(await until(() => runner.lagBehind(head) === 0), `lag ${runner.lagBehind(head)}`);

  const status = runner.status();
  t.like(status, { name: 'counter', state: 'live', retries: 0, lastError: null });
  // A position already applied resolves at once.
  t.true(await runner.waitForPosition(1n, 0));
  await runner.stop();
  t.is(runner.status().state, 'stopped');
  // After stop, a wait for the future resolves false rather than hanging.
  // Answered before anything else gets to run (a timer of zero included), not at its timeout (an hour).
  const answer = runner.waitForPosition(head + 1000n, 3_600_000);
  const first = await Promise.race([answer, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 0))]);
  t.is(first, false, 'answered at once, not at the timeout');
});

test('runner: a restart resumes from the checkpoint without re-applying anything', async (t) => {
  const p = paths();
  let store = new SqliteEventStore(p.events, { pollIntervalMs: 20 });
  let db = openReadModelDb(p.readModel);
  const first = countingProjection();
  const runner1 = new ProjectionRunner(store, db, first.projection, logger, { batchSize: 16 });
  await runner1.start();
  const firstLast = await appendEvents(store, 40, 3);
  t.true(await runner1.waitForPosition(firstLast, scaledTimeout(60_000)));
  await runner1.stop();
  t.is(first.calls.events, 40);
  t.is(readCheckpoint(db, 'counter')?.position, firstLast);
  db.close();
  await store.close();

  // New handles, as after a process restart; more events arrived meanwhile.
  store = new SqliteEventStore(p.events, { pollIntervalMs: 20 });
  db = openReadModelDb(p.readModel);
  const secondLast = await appendEvents(store, 25, 2);
  const second = countingProjection();
  const runner2 = new ProjectionRunner(store, db, second.projection, logger, { batchSize: 16 });
  t.teardown(async () => {
    await runner2.stop();
    db.close();
    await store.close();
  });
  await runner2.start();
  t.true(await runner2.waitForPosition(secondLast, scaledTimeout(60_000)));
  t.is(second.calls.events, 25, 'only the events after the checkpoint are applied');
  t.is(second.calls.resets, 0);
  t.deepEqual(tablePositions(db), await logPositions(store));
  t.is(tablePositions(db).length, 65);
  t.like(runner2.status(), { retries: 0, lastError: null });
});

test('runner: a failing apply shows "retrying" with the error, then recovers and applies each event once', async (t) => {
  const p = paths();
  const store = new SqliteEventStore(p.events, { pollIntervalMs: 20 });
  const db = openReadModelDb(p.readModel);
  const seen: ProjectionStatus[] = [];
  let runner: ProjectionRunner;
  const { projection, calls } = countingProjection({ failFirst: 2, onApply: () => seen.push(runner.status()) });
  // Backoff: 200 ms after the first failure, 300 ms (the cap) after the second.
  runner = new ProjectionRunner(store, db, projection, logger, { batchSize: 1000, maxBackoffMs: 300 });
  t.teardown(async () => {
    await runner.stop();
    db.close();
    await store.close();
  });

  const last = await appendEvents(store, 30, 3);
  await runner.start();
  // Seen from outside while it backs off.
  t.true(await until(() => runner.status().state === 'retrying'));
  const during = runner.status();
  t.is(during.state, 'retrying');
  t.regex(during.lastError ?? '', /^boom [12]$/);
  t.truthy(during.lastErrorAt);
  t.true(during.retries >= 1);
  t.is(during.position, null, 'nothing applied yet');

  t.true(await runner.waitForPosition(last, scaledTimeout(60_000)));
  t.is(calls.applies, 3);
  t.is(calls.events, 30);
  t.deepEqual(tablePositions(db), await logPositions(store));
  // Seen from inside each attempt: the status the attempt started with.
  t.like(seen[1], { state: 'retrying', retries: 1, lastError: 'boom 1' });
  t.like(seen[2], { state: 'retrying', retries: 2, lastError: 'boom 2' });

  const after = runner.status();
  t.is(after.retries, 0);
  t.is(after.lastError, 'boom 2', 'the last error stays visible after recovery');
  t.is(after.position, String(last));
  // Recovered and caught up: the runner is live again (health checks look at this).
  t.true(await until(() => runner.status().state === 'live'), `state is ${runner.status().state}`);

  const more = (await store.append('count-more', [testEvent('Counted', { more: true })], 'any')).position;
  t.true(await runner.waitForPosition(more, scaledTimeout(60_000)));
  t.is(calls.events, 31);
  t.is(tablePositions(db).length, 31);
});

test('prepareProjection: a version bump resets the tables and the runner replays from the start', async (t) => {
  const p = paths();
  const store = new SqliteEventStore(p.events, { pollIntervalMs: 20 });
  const db = openReadModelDb(p.readModel);
  t.teardown(async () => {
    db.close();
    await store.close();
  });
  const v1 = countingProjection({ version: 1 });
  const runner1 = new ProjectionRunner(store, db, v1.projection, logger);
  await runner1.start();
  const last = await appendEvents(store, 20);
  t.true(await runner1.waitForPosition(last, scaledTimeout(60_000)));
  await runner1.stop();
  t.deepEqual(readCheckpoint(db, 'counter'), { version: 1, position: last });

  // Same version again: nothing is reset.
  prepareProjection(db, v1.projection, logger);
  t.is(v1.calls.resets, 0);
  t.deepEqual(readCheckpoint(db, 'counter'), { version: 1, position: last });

  const v2 = countingProjection({ version: 2 });
  const runner2 = new ProjectionRunner(store, db, v2.projection, logger);
  await runner2.start();
  t.is(v2.calls.resets, 1, 'reset once for the new version');
  t.deepEqual(readCheckpoint(db, 'counter')?.version, 2);
  t.true(await runner2.waitForPosition(last, scaledTimeout(60_000)));
  await runner2.stop();
  t.is(v2.calls.events, 20, 'every event replayed into the new tables');
  const versions = db.prepare<[], { version: number; n: number }>('SELECT version, COUNT(*) AS n FROM counted GROUP BY version').all();
  t.deepEqual(versions, [{ version: 2, n: 20 }]);
  t.deepEqual(readCheckpoint(db, 'counter'), { version: 2, position: last });

  // And a second start of v2 does not reset again.
  prepareProjection(db, v2.projection, logger);
  t.is(v2.calls.resets, 1);
});

/** A store whose readAll gives the event loop a turn every `every` events, as a slow disk or network would. */
function yielding(store: EventStore, every: number): EventStore {
  return {
    kind: store.kind,
    append: (streamId, events, expected) => store.append(streamId, events, expected),
    readStream: (streamId, options) => store.readStream(streamId, options),
    async *readAll(options) {
      let i = 0;
      for await (const e of store.readAll(options)) {
        yield e;
        if (++i % every === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    },
    subscribeToAll: (options) => store.subscribeToAll(options),
    listStreams: () => store.listStreams(),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

for (const connections of ['one connection', 'two connections'] as const) {
  test(`rebuildProjection while a runner works (${connections}): every event ends up applied exactly once`, async (t) => {
    const p = paths();
    const store = new SqliteEventStore(p.events, { pollIntervalMs: 10 });
    const runnerDb = openReadModelDb(p.readModel);
    const rebuildDb = connections === 'one connection' ? runnerDb : openReadModelDb(p.readModel);
    const { projection, calls } = countingProjection();
    const runner = new ProjectionRunner(store, runnerDb, projection, logger, { batchSize: 50, maxBackoffMs: 50 });
    t.teardown(async () => {
      await runner.stop();
      if (rebuildDb !== runnerDb) rebuildDb.close();
      runnerDb.close();
      await store.close();
    });
    await appendEvents(store, 3000, 50);

    // First while the runner is still catching up (both walk the same old events), then
    // while it is live; writers keep appending throughout, so the runner keeps applying.
    for (const phase of ['runner catching up', 'runner live'] as const) {
      if (phase === 'runner catching up') void runner.start();
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await store.append(`count-w${written % 5}`, [testEvent('Counted', { w: written }), testEvent('Counted', { w: written + 1 })], 'any');
          written += 2;
        }
      })();

      calls.byDb.clear();
      const before = calls.events;
      const progress: bigint[] = [];
      const result = await rebuildProjection(yielding(store, 200), rebuildDb, projection, (pr) => progress.push(pr.position), 50);
      const byRebuild = calls.byDb.get(rebuildDb) ?? 0;
      writing = false;
      await writer;

      const final = (await store.append('count-final', [testEvent('Counted', { phase })], 'any')).position;
      t.true(await runner.waitForPosition(final, scaledTimeout(60_000)), `${phase}: runner status ${JSON.stringify(runner.status())}`);

      const inLog = await logPositions(store);
      const inTable = tablePositions(runnerDb);
      t.is(inTable.length, inLog.length, `${phase}: one row per event`);
      t.deepEqual(inTable, inLog, phase);
      t.is(readCheckpoint(runnerDb, 'counter')?.position, final, phase);
      t.like(runner.status(), { lastError: null, retries: 0 }, phase);
      if (rebuildDb !== runnerDb) t.is(result.events, byRebuild, `${phase}: the rebuild reports what it applied itself`);
      t.log(
        `${phase}: rebuild applied ${result.events} events in ${progress.length} batches, ` +
          `${calls.events - before} applied in all; ${written} written meanwhile`,
      );
    }
  });
}

test('runner: a catch-up gives the event loop a turn between batches (timers and HTTP are served meanwhile)', async (t) => {
  const p = paths();
  const store = new SqliteEventStore(p.events, { pollIntervalMs: 20 });
  const db = openReadModelDb(p.readModel);
  const { projection } = countingProjection();
  const runner = new ProjectionRunner(store, db, projection, logger, { batchSize: 50 });
  t.teardown(async () => {
    await runner.stop();
    db.close();
    await store.close();
  });
  const head = await appendEvents(store, 3000, 100);
  await runner.start();
  // A timer set as the catch-up starts fires while it is still going: the log is read in
  // microtasks, so before each batch gave the loop a turn it fired only once all was applied.
  const seenAt = await new Promise<bigint | null>((resolve) => setTimeout(() => resolve(runner.appliedPosition()), 0));
  t.true(seenAt === null || seenAt < head, `the timer fired at position ${seenAt} of ${head}`);
  t.true(await runner.waitForPosition(head, scaledTimeout(60_000)));
});

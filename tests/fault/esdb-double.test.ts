import { setTimeout as sleep } from 'node:timers/promises';
import { EventStoreDBClient } from '@eventstore/db-client';
import test from 'ava';
import { pino } from 'pino';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { CorruptEventError } from '../../src/eventstore/envelope.ts';
import { EsdbEventStore, EventStoreProbeError } from '../../src/eventstore/esdb.ts';
import { verifyStreamChain } from '../../src/eventstore/hash-chain.ts';
import { computeSeal } from '../../src/eventstore/seal.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { EventStoreUnavailableError, type RecordedEvent, WrongExpectedVersionError } from '../../src/eventstore/port.ts';
import { readCheckpoint } from '../../src/projections/checkpoint.ts';
import type { Projection } from '../../src/projections/projection.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { ProjectionRunner } from '../../src/projections/runtime.ts';
import { ProjectedStreamHeads } from '../../src/projections/stream-heads.ts';
import { type EsdbDoubleOptions, EsdbDouble } from '../esdb-double/server.ts';
import { collect, testEvent } from '../helpers/events.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * What a real EventStoreDB rarely shows on demand, provoked on the gRPC protocol double
 * (tests/esdb-double) and met through the real client and our adapter: racing clients, a
 * lost append reply, a subscription dropped by the server, undecodable stored bytes,
 * `throwOnAppendFailure=false`, and reads that would start inside a record.
 */
const logger = pino({ level: 'silent' });

async function setup(t: { teardown: (fn: () => Promise<void>) => void }, options: EsdbDoubleOptions = {}, query = '') {
  const double = await EsdbDouble.start(options);
  const stores: EsdbEventStore[] = [];
  const open = () => {
    const store = EsdbEventStore.connect(double.connectionString + query);
    stores.push(store);
    return store;
  };
  t.teardown(async () => {
    for (const s of stores) await s.close();
    await double.stop();
  });
  return { double, open };
}

const paths: Array<[string, EsdbDoubleOptions]> = [
  ['Append', {}],
  ['BatchAppend', { batchAppend: true }],
];

/** One row per event under UNIQUE constraints: applying an event twice throws. */
function countingProjection(): Projection {
  return {
    name: 'counter',
    version: 1,
    filter: { streamPrefixes: ['count-'] },
    setup(db) {
      db.exec('CREATE TABLE IF NOT EXISTS counted (position INTEGER NOT NULL UNIQUE, event_id TEXT NOT NULL UNIQUE)');
    },
    reset(db) {
      db.exec('DROP TABLE IF EXISTS counted');
    },
    apply(db, events) {
      const insert = db.prepare('INSERT INTO counted (position, event_id) VALUES (?, ?)');
      for (const e of events) insert.run(Number(e.position), e.id);
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(20);
}

for (const [path, options] of paths) {
  test(`${path}: two clients race on one stream: exactly one wins, the other gets WrongExpectedVersion, the chain holds`, async (t) => {
    const { double, open } = await setup(t, options);
    const a = open();
    const b = open();
    await a.append('object-race', [testEvent('Registered', {})], 'no_stream');
    // b's append lands on the server between a's read of the head and a's append.
    let bWon: Promise<unknown> = Promise.resolve();
    double.beforeNextAppend(async () => {
      bWon = b.append('object-race', [testEvent('EditedByB', {})], 0n);
      await bWon;
    });
    const lost = await t.throwsAsync(a.append('object-race', [testEvent('EditedByA', {})], 0n), {
      instanceOf: WrongExpectedVersionError,
    });
    await t.notThrowsAsync(bWon);
    t.is(lost?.actual, 1n);
    const events = await collect(a.readStream('object-race'));
    t.deepEqual(events.map((e) => e.type), ['Registered', 'EditedByB']);
    t.true((await verifyStreamChain('object-race', b.readStream('object-race'))).ok);
  });

  test(`${path}: with expected revision 'any', a client that lost a race chains onto the winner`, async (t) => {
    const { double, open } = await setup(t, options);
    const a = open();
    const b = open();
    await a.append('object-any', [testEvent('Registered', {})], 'no_stream');
    double.beforeNextAppend(async () => {
      await b.append('object-any', [testEvent('FixityChecked', {})], 'any');
    });
    const r = await a.append('object-any', [testEvent('FixityChecked', {})], 'any');
    t.is(r.nextExpectedRevision, 2n);
    const chain = await verifyStreamChain('object-any', a.readStream('object-any'));
    t.true(chain.ok);
    t.is(chain.count, 3);
  });

  test(`${path}: throwOnAppendFailure=false: a lost race is an error, not a success whose events vanish`, async (t) => {
    const { double, open } = await setup(t, options, '&throwOnAppendFailure=false');
    const a = open();
    const b = open();
    await a.append('object-quiet', [testEvent('Registered', {})], 'no_stream');
    double.beforeNextAppend(async () => {
      await b.append('object-quiet', [testEvent('EditedByB', {})], 0n);
    });
    const mine = testEvent('EditedByA', {});
    const outcome = await a.append('object-quiet', [mine], 0n).then(
      (r) => ({ ok: r }),
      (err: unknown) => ({ err }),
    );
    const stored = await collect(a.readStream('object-quiet'));
    if ('ok' in outcome) {
      // Reported as written: then it must be there.
      t.true(stored.some((e) => e.id === mine.id), 'append reported success but its event is not in the stream');
    } else {
      t.true(outcome.err instanceof WrongExpectedVersionError);
      t.is((outcome.err as WrongExpectedVersionError).actual, 1n);
    }
    t.deepEqual(stored.map((e) => e.type), ['Registered', 'EditedByB']);
  });

  // Serial: the client's batch append path rejects every batch append in flight in the whole
  // process when one connection fails (its pending appends are kept in one module-wide map).
  test.serial(`${path}: a lost append reply is re-sent with the same event ids and written once`, async (t) => {
    const { double, open } = await setup(t, options);
    const store = open();
    const ctx = { actor: { id: 'staff-1', role: 'staff' } };
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'lost1', metadata: { title: 'Sách' }, accessLevel: 'open' }, ctx);
    double.loseNextAppendReplies(1);
    const result = await executeObjectCommand(
      store,
      { type: 'EditMetadata', objectId: 'lost1', changes: { title: 'Truyện Kiều' } },
      ctx,
      0n,
    );
    const events = await collect(store.readStream('object-lost1'));
    t.is(events.length, 2, 'the edit was written exactly once');
    t.is(result.revision, 1n);
    t.is(events[1]?.id, result.events[0]?.id);
    t.is(events[1]?.position, result.position ?? undefined);
    t.true((await verifyStreamChain('object-lost1', store.readStream('object-lost1'))).ok);
  });
}

test('a subscription dropped by the server mid-catch-up resumes from the checkpoint: nothing lost, nothing applied twice', async (t) => {
  const { double, open } = await setup(t);
  const store = open();
  let last = 0n;
  for (let i = 0; i < 120; i++) {
    last = (await store.append(`count-${i % 5}`, [testEvent('Counted', { i })], 'any')).position;
    if (i % 10 === 0) await store.append('other-1', [testEvent('Ignored', { i })], 'any');
  }
  const db = openReadModelDb(':memory:');
  let drops = 0;
  const projection = countingProjection();
  const apply = projection.apply.bind(projection);
  projection.apply = (d, events) => {
    apply(d, events);
    // The first batch is in; the rest of the backlog is still on its way.
    if (drops === 0) drops += double.dropSubscriptions();
  };
  const runner = new ProjectionRunner(store, db, projection, logger, { batchSize: 10, maxBackoffMs: 50 });
  await runner.start();
  t.teardown(() => runner.stop());
  t.true(await runner.waitForPosition(last, scaledTimeout(60_000)));
  t.is(drops, 1);
  // Live events after a second drop, once the runner follows the log live again.
  await until(() => double.liveSubscriptions === 1);
  t.is(double.dropSubscriptions(), 1);
  for (let i = 120; i < 130; i++) last = (await store.append(`count-${i % 5}`, [testEvent('Counted', { i })], 'any')).position;
  t.true(await runner.waitForPosition(last, scaledTimeout(60_000)));
  const rows = db.prepare('SELECT COUNT(*) AS n FROM counted').get() as { n: number };
  t.is(rows.n, 130);
  t.is(readCheckpoint(db, 'counter')?.position, last);
  // The first subscription and one after each drop, each from the checkpoint, never from the start.
  const subscriptions = double.allReads.filter((r) => r.subscription);
  t.is(subscriptions.length, 3);
  t.is(subscriptions[0]?.from, 'start');
  t.true(subscriptions.slice(1).every((r) => typeof r.from === 'bigint'));
});

const corruptions: Array<[string, { data?: string; metadata?: string }]> = [
  ['bad JSON metadata', { metadata: '{"eventId": "x", truncated' }],
  ['bad JSON data', { data: '{"title": "Truy' }],
];

for (const [what, bytes] of corruptions) {
  test(`an undecodable event (${what}) stops the subscription there: nothing after it is delivered or checkpointed`, async (t) => {
    const { double, open } = await setup(t);
    const store = open();
    const written: bigint[] = [];
    for (let i = 0; i < 40; i++) written.push((await store.append('count-1', [testEvent('Counted', { i })], 'any')).position);
    double.corrupt('count-1', 2n, bytes);

    const sub = store.subscribeToAll({ fromPosition: 'start', filter: { streamPrefixes: ['count-'] } });
    const seen: RecordedEvent[] = [];
    const err = await t.throwsAsync(
      (async () => {
        for await (const e of sub) {
          seen.push(e);
          // A slow consumer: the events behind the damaged one arrive meanwhile.
          await sleep(10);
        }
      })(),
      { instanceOf: CorruptEventError },
    );
    t.is(err?.revision, 2n);
    t.deepEqual(seen.map((e) => e.revision), [0n, 1n]);

    const db = openReadModelDb(':memory:');
    const runner = new ProjectionRunner(store, db, countingProjection(), logger, { maxBackoffMs: 50 });
    await runner.start();
    t.teardown(() => runner.stop());
    await until(() => runner.status().retries >= 2);
    t.is(readCheckpoint(db, 'counter')?.position, written[1]);
    t.regex(runner.status().lastError ?? '', /count-1@2/);

    await t.throwsAsync(collect(store.readAll()), { instanceOf: CorruptEventError });
  });
}

test('reads never start inside a record; the double refuses one that does', async (t) => {
  const { double, open } = await setup(t);
  const store = open();
  const first = await store.append('object-pos', [testEvent('A', {}), testEvent('B', {})], 'no_stream');
  await store.append('object-pos', [testEvent('C', {})], 'any');
  double.writeSystemEvent();
  const head = await store.headPosition();
  t.true(head !== null && double.isRecordBoundary(head));
  t.false(double.isRecordBoundary(first.position + 1n), 'positions are byte offsets, p + 1 is inside a record');

  const after = await collect(store.readAll({ after: first.position }));
  t.deepEqual(after.map((e) => e.type), ['C']);
  t.deepEqual(await collect(store.readAll({ after: head ?? undefined })), []);
  t.is(double.invalidPositionRequests, 0);

  // What `p + 1n` used to ask for: the server cannot start there.
  const client = EventStoreDBClient.connectionString(double.connectionString);
  t.teardown(() => client.dispose());
  const inside = { commit: first.position + 1n, prepare: first.position + 1n };
  await t.throwsAsync(collect(client.readAll({ fromPosition: inside })));
  t.is(double.invalidPositionRequests, 1);
});

test('the probe at start accepts a supported server and the kurrentdb:// scheme', async (t) => {
  const double = await EsdbDouble.start({ serverVersion: '24.10.0' });
  t.teardown(() => double.stop());
  const seed = EsdbEventStore.connect(double.connectionString);
  await seed.append('object-probe', [testEvent('A', {}), testEvent('B', {})], 'no_stream');
  double.writeSystemEvent();
  await seed.close();
  for (const scheme of ['esdb', 'kurrentdb', 'kdb']) {
    const store = await EsdbEventStore.open(double.connectionString.replace(/^esdb/, scheme));
    t.is((await collect(store.readStream('object-probe'))).length, 2, scheme);
    await store.close();
  }
});

const refusals: Array<[string, EsdbDoubleOptions & { denyAllReads?: boolean }, RegExp]> = [
  ['a server older than 22.10', { serverVersion: '21.10.5' }, /phiên bản máy chủ 21\.10\.5.*\/ EventStoreDB cannot be used: server version 21\.10\.5 is not supported.*Upgrade/],
  ['a server without ServerFeatures', { noServerFeatures: true }, /quá cũ.*too old \(no ServerFeatures\)/],
  ['a user who may not read $all', { denyAllReads: true }, /không được đọc \$all.*may not read \$all.*\$ops or \$admins/],
];

for (const [what, options, message] of refusals) {
  test(`the probe at start refuses ${what} with one bilingual error`, async (t) => {
    const double = await EsdbDouble.start(options);
    t.teardown(() => double.stop());
    double.denyAllReads = options.denyAllReads ?? false;
    const err = await t.throwsAsync(EsdbEventStore.open(double.connectionString), { instanceOf: EventStoreProbeError });
    t.regex(err?.message ?? '', message);
    t.regex(err?.message ?? '', /^Không dùng được EventStoreDB: .* \/ EventStoreDB cannot be used: /);
  });
}

test('the probe reports an unreachable server as unavailable, in both languages', async (t) => {
  const err = await t.throwsAsync(EsdbEventStore.open('esdb://127.0.0.1:1?tls=false&defaultDeadline=3000'), {
    instanceOf: EventStoreUnavailableError,
  });
  t.regex(err?.message ?? '', /không kết nối được máy chủ.*cannot reach the server.*THUKHO_EVENTSTORE/);
});

test('a connection string with another scheme is refused by name', (t) => {
  const err = t.throws(() => EsdbEventStore.connect('http://127.0.0.1:2113'), { instanceOf: RangeError });
  t.regex(err?.message ?? '', /"http".*kurrentdb:\/\//);
});

test('listStreams, verify and seals read the stream-heads projection: a second call reads only what is new, never $all backwards', async (t) => {
  const double = await EsdbDouble.start();
  t.teardown(() => double.stop());
  const db = openReadModelDb(':memory:');
  const store = EsdbEventStore.connect(double.connectionString, { streamHeads: new ProjectedStreamHeads(db) });
  t.teardown(() => store.close());
  for (let i = 0; i < 60; i++) await store.append(`object-${i % 6}`, [testEvent('A', { i })], 'any');
  double.writeSystemEvent();

  const first = await collect(store.listStreams());
  t.is(first.length, 6);
  const heads = new Map(first.map((h) => [h.streamId, h]));
  for (const h of first) {
    const [newest] = await collect(store.readStream(h.streamId, { direction: 'backwards', maxCount: 1 }));
    t.is(newest?.revision, h.revision);
    t.is(newest?.metadata.hash, h.hash);
  }

  const last = await store.append('object-2', [testEvent('B', {})], 'any');
  await store.append('collection-1', [testEvent('C', {})], 'no_stream');
  const before = double.allReads.length;
  const report = await verifyLog(store);
  t.deepEqual(report.broken, []);
  t.is(report.streams, 7);
  const seal = await computeSeal(store);
  t.is(seal.streams, 7);
  const reads = double.allReads.slice(before).filter((r) => !r.subscription);
  t.false(reads.some((r) => r.direction === 'forwards' && r.from === 'start'), 'no read of $all from its start');
  // Forward reads start at the checkpoint and carry only what came after the last call: the
  // record at the checkpoint, the server's own event and the two new ones.
  t.true(reads.filter((r) => r.direction === 'forwards').every((r) => r.sent <= 4));
  // Backward reads are headPosition's, a page at a time.
  t.true(reads.filter((r) => r.direction === 'backwards').every((r) => r.count <= 32n));
  t.is((await collect(store.listStreams())).find((h) => h.streamId === 'object-2')?.revision, heads.get('object-2')!.revision + 1n);
  t.is(readCheckpoint(db, 'stream-heads')?.position, (await store.headPosition()) ?? undefined);
  t.true(last.position <= (readCheckpoint(db, 'stream-heads')?.position ?? 0n));
});

test('an EventStoreDB store opened without a stream-heads index refuses to list streams instead of scanning $all', async (t) => {
  const double = await EsdbDouble.start();
  t.teardown(() => double.stop());
  const store = EsdbEventStore.connect(double.connectionString);
  t.teardown(() => store.close());
  t.throws(() => store.listStreams(), { message: /stream-heads index/ });
  t.is(double.allReads.length, 0);
});

test("headPosition pages backwards past a run of the server's own events", async (t) => {
  const double = await EsdbDouble.start();
  t.teardown(() => double.stop());
  const store = EsdbEventStore.connect(double.connectionString);
  t.teardown(() => store.close());
  t.is(await store.headPosition(), null);
  const ours = await store.append('object-h', [testEvent('A', {})], 'no_stream');
  for (let i = 0; i < 70; i++) double.writeSystemEvent();
  t.is(await store.headPosition(), ours.position);
  const backwards = double.allReads.filter((r) => r.direction === 'backwards');
  t.true(backwards.length >= 3 && backwards.every((r) => r.count === 32n));
});

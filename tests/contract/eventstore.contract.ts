import { randomUUID } from 'node:crypto';
import type { TestFn } from 'ava';
import { verifyStreamChain } from '../../src/eventstore/hash-chain.ts';
import {
  type EventStore,
  IdempotencyConflictError,
  type RecordedEvent,
  WrongExpectedVersionError,
} from '../../src/eventstore/port.ts';
import { collect, testEvent } from '../helpers/events.ts';

/**
 * The one contract every event store adapter must keep (EventStoreDB's semantics). Runs on
 * the SQLite adapter always and on EventStoreDB when THUKHO_TEST_ESDB names a server.
 * Stream names carry a random prefix so the suite can run against a live server that keeps
 * data from earlier runs.
 */
export function eventStoreContract(test: TestFn, name: string, open: () => Promise<EventStore>): void {
  const stores: EventStore[] = [];
  const fresh = async () => {
    const store = await open();
    stores.push(store);
    return { store, s: (stream: string) => `c${randomUUID().slice(0, 8)}-${stream}` };
  };
  test.after.always(async () => {
    for (const store of stores) await store.close();
  });

  test(`${name}: append to a new stream, read it back with a valid hash chain`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-a');
    const r = await store.append(stream, [testEvent('A', { n: 1 }), testEvent('B', { n: 2, text: 'Truyện Kiều 傳翹' })], 'no_stream');
    t.is(r.nextExpectedRevision, 1n);
    const events = await collect(store.readStream(stream));
    t.deepEqual(events.map((e) => e.type), ['A', 'B']);
    t.deepEqual(events.map((e) => e.revision), [0n, 1n]);
    t.deepEqual(events[1]?.data, { n: 2, text: 'Truyện Kiều 傳翹' });
    t.is(events[1]?.metadata.prevHash, events[0]?.metadata.hash);
    t.is(events[1]?.position, r.position);
    const chain = await verifyStreamChain(stream, store.readStream(stream));
    t.true(chain.ok);
  });

  test(`${name}: expected revision is enforced and the error carries the actual revision`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-b');
    await store.append(stream, [testEvent('A', {})], 'no_stream');
    const stale = await t.throwsAsync(store.append(stream, [testEvent('A', {})], 5n), {
      instanceOf: WrongExpectedVersionError,
    });
    t.is(stale?.actual, 0n);
    const exists = await t.throwsAsync(store.append(stream, [testEvent('A', {})], 'no_stream'), {
      instanceOf: WrongExpectedVersionError,
    });
    t.is(exists?.actual, 0n);
    const missing = await t.throwsAsync(store.append(s('object-missing'), [testEvent('A', {})], 'stream_exists'), {
      instanceOf: WrongExpectedVersionError,
    });
    t.is(missing?.actual, 'no_stream');
    const ok = await store.append(stream, [testEvent('A', {})], 0n);
    t.is(ok.nextExpectedRevision, 1n);
    const any = await store.append(stream, [testEvent('A', {})], 'any');
    t.is(any.nextExpectedRevision, 2n);
    const se = await store.append(stream, [testEvent('A', {})], 'stream_exists');
    t.is(se.nextExpectedRevision, 3n);
  });

  test(`${name}: a rejected append writes none of its events`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-c');
    await store.append(stream, [testEvent('A', {})], 'no_stream');
    await t.throwsAsync(store.append(stream, [testEvent('X', {}), testEvent('Y', {})], 7n));
    const events = await collect(store.readStream(stream));
    t.deepEqual(events.map((e) => e.type), ['A']);
  });

  test(`${name}: re-sending an append with the same event ids is idempotent`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-d');
    const batch = [testEvent('A', { i: 1 }), testEvent('B', { i: 2 })];
    const first = await store.append(stream, batch, 'no_stream');
    const again = await store.append(stream, batch, 'no_stream');
    t.deepEqual(again, first);
    const anyAgain = await store.append(stream, batch, 'any');
    t.deepEqual(anyAgain, first);
    t.is((await collect(store.readStream(stream))).length, 2);
    // The same first id with different companions is not a retry.
    await t.throwsAsync(store.append(stream, [batch[0]!, testEvent('C', {})], 'any'), {
      instanceOf: IdempotencyConflictError,
    });
    t.is((await collect(store.readStream(stream))).length, 2);
  });

  test(`${name}: readStream backwards, from a revision, with a max count`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-e');
    await store.append(stream, Array.from({ length: 10 }, (_, i) => testEvent('N', { i })), 'no_stream');
    const back = await collect(store.readStream(stream, { direction: 'backwards', maxCount: 3 }));
    t.deepEqual(back.map((e) => e.revision), [9n, 8n, 7n]);
    const from = await collect(store.readStream(stream, { fromRevision: 4n, maxCount: 2 }));
    t.deepEqual(from.map((e) => e.revision), [4n, 5n]);
    const backFrom = await collect(store.readStream(stream, { direction: 'backwards', fromRevision: 2n }));
    t.deepEqual(backFrom.map((e) => e.revision), [2n, 1n, 0n]);
    // Reading on from the revision after the last one read: the events since, or none.
    t.deepEqual(await collect(store.readStream(stream, { fromRevision: 10n })), []);
    t.deepEqual(await collect(store.readStream(s('object-none'))), []);
  });

  test(`${name}: readAll keeps the global order with increasing positions`, async (t) => {
    const { store, s } = await fresh();
    const a = s('object-f');
    const b = s('object-g');
    const start = (await store.headPosition()) ?? undefined;
    await store.append(a, [testEvent('A1', {})], 'any');
    await store.append(b, [testEvent('B1', {})], 'any');
    await store.append(a, [testEvent('A2', {})], 'any');
    const all = (await collect(store.readAll({ after: start }))).filter(
      (e) => e.streamId === a || e.streamId === b,
    );
    t.deepEqual(all.map((e) => e.type), ['A1', 'B1', 'A2']);
    for (let i = 1; i < all.length; i++) t.true(all[i]!.position > all[i - 1]!.position);
    const onlyA = await collect(store.readAll({ after: start, filter: { streamPrefixes: [a] } }));
    t.deepEqual(onlyA.map((e) => e.type), ['A1', 'A2']);
    t.true(((await store.headPosition()) ?? 0n) >= all[2]!.position);
  });

  test(`${name}: a subscription catches up, then delivers live events, filtered`, async (t) => {
    const { store, s } = await fresh();
    const prefix = s('object-');
    const from = (await store.headPosition()) ?? 'start';
    await store.append(`${prefix}1`, [testEvent('Wanted', { i: 1 }), testEvent('Other', { i: 2 })], 'any');
    await store.append(s('collection-1'), [testEvent('Wanted', { i: 3 })], 'any');
    const sub = store.subscribeToAll({ fromPosition: from, filter: { streamPrefixes: [prefix], eventTypes: ['Wanted'] } });
    const seen: RecordedEvent[] = [];
    const done = (async () => {
      for await (const e of sub) {
        seen.push(e);
        if (seen.length === 2) break;
      }
    })();
    await sub.caughtUp;
    await store.append(`${prefix}2`, [testEvent('Other', { i: 4 }), testEvent('Wanted', { i: 5 })], 'any');
    await done;
    await sub.close();
    t.deepEqual(seen.map((e) => (e.data as { i: number }).i), [1, 5]);
  });

  test(`${name}: a subscription from a position delivers only what came after it`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-h');
    const first = await store.append(stream, [testEvent('A', { i: 1 })], 'any');
    await store.append(stream, [testEvent('A', { i: 2 })], 'any');
    const sub = store.subscribeToAll({ fromPosition: first.position, filter: { streamPrefixes: [stream] } });
    const it = sub[Symbol.asyncIterator]();
    const next = await it.next();
    t.deepEqual((next.value as RecordedEvent).data, { i: 2 });
    await sub.close();
  });

  test(`${name}: concurrent appends all land and the chain still holds`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-i');
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) => store.append(stream, [testEvent('C', { i })], 'any')),
    );
    t.deepEqual(
      results.map((r) => r.nextExpectedRevision).sort((x, y) => (x < y ? -1 : 1)),
      Array.from({ length: 32 }, (_, i) => BigInt(i)),
    );
    const chain = await verifyStreamChain(stream, store.readStream(stream));
    t.true(chain.ok);
    t.is(chain.count, 32);
  });

  test(`${name}: of concurrent appends with the same expected revision exactly one wins`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-j');
    await store.append(stream, [testEvent('A', {})], 'no_stream');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () => store.append(stream, [testEvent('B', {})], 0n)),
    );
    t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) {
      if (o.status === 'rejected') t.true(o.reason instanceof WrongExpectedVersionError);
    }
  });

  test(`${name}: listStreams gives every stream with its head hash`, async (t) => {
    const { store, s } = await fresh();
    const stream = s('object-k');
    await store.append(stream, [testEvent('A', {}), testEvent('B', {})], 'any');
    const last = (await collect(store.readStream(stream, { direction: 'backwards', maxCount: 1 })))[0];
    const heads = await collect(store.listStreams());
    const head = heads.find((h) => h.streamId === stream);
    t.is(head?.revision, 1n);
    t.is(head?.hash, last?.metadata.hash);
  });
}

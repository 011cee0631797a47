import { randomUUID } from 'node:crypto';
import test from 'ava';
import { EsdbEventStore } from '../../src/eventstore/esdb.ts';
import { EventStoreUnavailableError } from '../../src/eventstore/port.ts';
import { collect, testEvent } from '../helpers/events.ts';

/**
 * No EventStoreDB server runs on this machine: these checks only cover what the adapter does
 * without one (parsing the connection string, validating input, reporting an unreachable
 * server). Its behaviour against a server is covered by the contract suite when
 * THUKHO_TEST_ESDB is set.
 */

// Port 1 on the loopback refuses connections at once, so nothing waits for a timeout.
const UNREACHABLE = 'esdb://127.0.0.1:1?tls=false&defaultDeadline=3000';

test('connect parses the connection string without connecting', async (t) => {
  const store = EsdbEventStore.connect('esdb://localhost:2113?tls=false');
  t.is(store.kind, 'esdb');
  await t.notThrowsAsync(store.close());
});

test('connect rejects a connection string that is not esdb://', (t) => {
  t.throws(() => EsdbEventStore.connect('http://localhost:2113'));
});

test('append validates stream and event ids before any network call', async (t) => {
  const store = EsdbEventStore.connect(UNREACHABLE);
  t.teardown(() => store.close());
  await t.throwsAsync(store.append('$all', [testEvent('A', {})], 'any'), { instanceOf: RangeError });
  await t.throwsAsync(store.append('object-1', [testEvent('A', {}, 'not-a-uuid')], 'any'), { instanceOf: RangeError });
});

test('an unreachable server is reported as EventStoreUnavailableError', async (t) => {
  const store = EsdbEventStore.connect(UNREACHABLE);
  t.teardown(() => store.close());
  await t.throwsAsync(store.ping(), { instanceOf: EventStoreUnavailableError });
  await t.throwsAsync(store.headPosition(), { instanceOf: EventStoreUnavailableError });
  await t.throwsAsync(store.append(`object-${randomUUID()}`, [testEvent('A', {})], 'any'), {
    instanceOf: EventStoreUnavailableError,
  });
  await t.throwsAsync(collect(store.readStream('object-1')), { instanceOf: EventStoreUnavailableError });
  await t.throwsAsync(collect(store.subscribeToAll({ fromPosition: 'start' })), {
    instanceOf: EventStoreUnavailableError,
  });
});

test('a closed store refuses appends', async (t) => {
  const store = EsdbEventStore.connect(UNREACHABLE);
  await store.close();
  await t.throwsAsync(store.append('object-1', [testEvent('A', {})], 'any'), { message: /closed/ });
});

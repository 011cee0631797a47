import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { testEvent } from '../helpers/events.ts';

/**
 * A filtered subscription that is caught up polls from the log's head, not from its last
 * match: the user read model (no user events in a big log) rescanned the whole log five times
 * a second, and every search shared the CPU with that scan.
 */
const root = mkdtempSync(join(tmpdir(), 'thukho-subscription-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test('a caught-up filtered subscription polls from the head, not from its last match', async (t) => {
  const store = new SqliteEventStore(join(root, 'events.sqlite'), { pollIntervalMs: 10 });
  t.teardown(() => store.close());
  await store.append('user-a', [testEvent('Wanted', { i: 0 })], 'any');
  let head = 0n;
  for (let i = 0; i < 30; i++) head = (await store.append(`other-${i}`, [testEvent('Ignored', { i })], 'any')).position;

  const afters: number[] = [];
  const readPage = store.readPage.bind(store);
  store.readPage = (after, limit, filter) => {
    afters.push(after);
    return readPage(after, limit, filter);
  };
  const sub = store.subscribeToAll({ fromPosition: 'start', filter: { streamPrefixes: ['user-'], eventTypes: ['Wanted'] } });
  const seen: string[] = [];
  const reading = (async () => {
    for await (const e of sub) seen.push(e.type);
  })();
  await sub.caughtUp;
  while (afters.length < 3) await sleep(10);
  await sub.close();
  await reading;

  t.deepEqual(seen, ['Wanted']);
  t.is(afters[0], 0);
  t.true(afters.slice(1).every((a) => a === Number(head)), `polls after the first start at ${afters.slice(1).join(', ')}, the head is ${head}`);
});

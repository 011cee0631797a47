import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { inLanes } from '../../src/work-lanes.ts';

test('inLanes: every item once, in list order, never more than `width` at once, and `width` at once when there is work', async (t) => {
  const items = Array.from({ length: 25 }, (_, i) => i);
  const started: number[] = [];
  let running = 0;
  let most = 0;
  await inLanes(items, 4, async (i) => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await sleep(i % 3);
    running--;
  });
  t.deepEqual(started, items);
  t.is(most, 4);
});

test('inLanes: after a failure no new item starts, the running ones finish, then the first failure is thrown', async (t) => {
  const started: number[] = [];
  const finished: number[] = [];
  const err = await t.throwsAsync(
    inLanes([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      if (i === 1) throw new Error('tệp 1 hỏng');
      await sleep(30);
      finished.push(i);
      if (i === 0) throw new Error('tệp 0 cũng hỏng, nhưng sau');
    }),
  );
  t.is(err?.message, 'tệp 1 hỏng');
  t.deepEqual(started, [0, 1]);
  t.deepEqual(finished, [0], 'the item running when the failure came was awaited');
});

test('inLanes: fewer items than lanes, and no items at all', async (t) => {
  const seen: string[] = [];
  await inLanes(['a', 'b'], 8, async (s) => {
    seen.push(s);
  });
  t.deepEqual(seen, ['a', 'b']);
  await t.notThrowsAsync(inLanes([], 4, async () => {
    throw new Error('never called');
  }));
});

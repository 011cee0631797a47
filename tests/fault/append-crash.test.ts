import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { collect, testEvent } from '../helpers/events.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Crash safety of the embedded log: a process appending with several concurrent writers
 * (so the group commit holds several appends per transaction) is SIGKILLed at a random
 * moment, three times over on the same file. Every append must be all-or-nothing, every
 * acknowledged append must survive, and the log must still verify and take appends.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'tests/fault/fixtures/append-forever.ts');
const CYCLES = 3;

const dir = mkdtempSync(join(tmpdir(), 'thukho-fault-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

interface Cycle {
  acked: Set<string>;
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** Starts the appender, waits for "ready" and a random 200–800 ms, then SIGKILLs it. */
async function runAndKill(path: string): Promise<Cycle> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', FIXTURE, path], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = new Set<string>();
  let stderr = '';
  let buffered = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') onReady();
      else if (line.startsWith('ack ')) acked.add(line.slice(4));
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const outcome = await Promise.race([
    ready.then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
    // A hang guard only: starting node and tsx takes long on a busy machine.
    sleep(scaledTimeout(3 * 60_000), undefined, { ref: false }).then(() => 'timeout' as const),
  ]);
  if (outcome !== 'ready') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`fixture did not become ready (${outcome}); stderr:\n${stderr}`);
  }
  await sleep(200 + randomInt(601));
  child.kill('SIGKILL');
  const { code, signal } = await exited;
  // Lines already in the pipe when the process died are still delivered: drain them.
  await new Promise<void>((resolve) => {
    if (child.stdout?.readableEnded) resolve();
    else child.stdout?.once('end', () => resolve());
  });
  return { acked, stderr, code, signal };
}

test('SIGKILL during concurrent appends: every append is all-or-nothing, acknowledged appends survive, the chain holds', async (t) => {
  const path = join(dir, 'events.sqlite');
  const acked = new Set<string>();
  const totals: number[] = [];
  for (let i = 0; i < CYCLES; i++) {
    const cycle = await runAndKill(path);
    t.is(cycle.signal, 'SIGKILL', `cycle ${i + 1}: the fixture must die by the kill, not by itself\n${cycle.stderr}`);
    t.true(cycle.acked.size > 0, `cycle ${i + 1}: nothing was acknowledged`);
    for (const b of cycle.acked) acked.add(b);
    const store = new SqliteEventStore(path);
    totals.push(Number((await store.headPosition()) ?? 0n));
    await store.close();
  }
  t.log(`events after each kill: ${totals.join(', ')}; acknowledged batches: ${acked.size}`);
  // Each restart reopened the killed file (recovering its WAL) and appended more.
  for (let i = 1; i < totals.length; i++) t.true((totals[i] as number) > (totals[i - 1] as number));

  const store = new SqliteEventStore(path);
  t.teardown(() => store.close());
  const all = await collect(store.readAll());
  t.true(all.length > 0);

  // Positions strictly increase over $all.
  for (let i = 1; i < all.length; i++) {
    if (!((all[i] as RecordedEvent).position > (all[i - 1] as RecordedEvent).position)) {
      t.fail(`position ${(all[i] as RecordedEvent).position} follows ${(all[i - 1] as RecordedEvent).position}`);
    }
  }

  // All-or-nothing: a batch that is in the log is there whole, in order, in one stream.
  const batches = new Map<string, RecordedEvent[]>();
  for (const e of all) {
    const { batch } = e.data as { batch: string };
    const list = batches.get(batch) ?? [];
    list.push(e);
    batches.set(batch, list);
  }
  const partial: string[] = [];
  for (const [batch, events] of batches) {
    const ok =
      events.length === 20 &&
      events.every(
        (e, i) =>
          e.streamId === events[0]?.streamId &&
          (e.data as { i: number; of: number }).i === i &&
          (e.data as { of: number }).of === 20 &&
          e.revision === (events[0] as RecordedEvent).revision + BigInt(i) &&
          e.position === (events[0] as RecordedEvent).position + BigInt(i),
      );
    if (!ok) partial.push(`${batch}: ${events.length} events`);
  }
  t.deepEqual(partial, [], 'every batch occurs 0 or 20 times, contiguously');
  t.is(all.length, batches.size * 20);

  // Durability: what the store acknowledged before the kill is in the log.
  const lost = [...acked].filter((b) => !batches.has(b));
  t.deepEqual(lost, [], 'acknowledged batches lost by the kill');

  // Each stream's revisions are 0..n without gaps, in position order.
  const revisions = new Map<string, bigint>();
  for (const e of all) {
    const expected = (revisions.get(e.streamId) ?? -1n) + 1n;
    if (e.revision !== expected) t.fail(`${e.streamId}: revision ${e.revision} where ${expected} was expected`);
    revisions.set(e.streamId, e.revision);
  }
  t.true(revisions.size <= 50);
  const heads = await collect(store.listStreams());
  t.deepEqual(
    heads.map((h) => [h.streamId, h.revision]),
    [...revisions.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    'the recorded heads are the last events',
  );

  const report = await verifyLog(store);
  t.deepEqual(report.broken, []);
  t.is(report.events, all.length);
  t.is(report.streams, revisions.size);

  // The log still takes appends, with optimistic concurrency against the recovered heads.
  const [streamId, revision] = [...revisions.entries()][0] as [string, bigint];
  const appended = await store.append(streamId, [testEvent('AfterCrash', { n: 1 }), testEvent('AfterCrash', { n: 2 })], revision);
  t.is(appended.nextExpectedRevision, revision + 2n);
  t.true(appended.position > (all[all.length - 1] as RecordedEvent).position);
  await store.append('object-after-crash', [testEvent('AfterCrash', { n: 3 })], 'no_stream');
  const after = await verifyLog(store);
  t.deepEqual(after.broken, []);
  t.is(after.events, all.length + 3);
});

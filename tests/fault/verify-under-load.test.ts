import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import Database from 'better-sqlite3';
import { chainEvents } from '../../src/eventstore/hash-chain.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { testEvent } from '../helpers/events.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * `verify` on a live system: workers keep appending while the log is verified. An append that
 * lands between the listing of the stream heads and the reading of a stream is not tampering,
 * and must never be reported as such (the daily audit would cry "the log was altered"). A real
 * tamper made during the same load must still be caught.
 *
 * The appenders run in a child process (tests/fault/fixtures/append-steadily.ts), so they are
 * truly concurrent with the verification, on their own connection to the same SQLite file.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'tests/fault/fixtures/append-steadily.ts');
const RUNS = 100;
/** The fixture's streams. */
const STREAMS = 100;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-verify-load-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the appenders and resolves once they have committed their first append. */
async function startAppenders(t: { teardown(fn: () => Promise<void> | void): void }, path: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve();
    });
  });
  const outcome = await Promise.race([ready.then(() => 'ready' as const), exited.then(() => 'exited' as const)]);
  if (outcome !== 'ready') throw new Error(`the appenders exited before appending; stderr:\n${stderr}`);
  return child;
}

test(`verify run ${RUNS} times while another process appends to 100 streams: no false alarm; a tamper made under the same load is caught`, async (t) => {
  const path = join(tempDir(t), 'events.sqlite');
  const store = new SqliteEventStore(path);
  t.teardown(() => store.close());
  // A log of some size first, so that each verification takes long enough for appends to land in it.
  for (let s = 0; s < STREAMS; s++) {
    await store.append(`object-load${s}`, Array.from({ length: 40 }, (_, n) => testEvent('LoadTestAppended', { n, note: 'Thư khố' })), 'any');
  }
  const child = await startAppenders(t, path);

  const falseAlarms: string[] = [];
  let overlapped = 0;
  for (let i = 0; i < RUNS; i++) {
    const before = await store.headPosition();
    const report = await verifyLog(store);
    const after = await store.headPosition();
    if (after !== before) overlapped++;
    for (const b of report.broken) falseAlarms.push(`run ${i + 1}: ${b.streamId} @ revision ${b.revision}: ${b.reason}`);
  }
  t.is(child.exitCode, null, 'the appenders were still running');
  t.log(`${overlapped} of ${RUNS} runs had appends land while they read the log (${await store.headPosition()} events in the end)`);
  // Without appends landing mid-verify the test would prove nothing.
  t.true(overlapped >= RUNS / 4, `only ${overlapped} runs overlapped an append`);
  t.deepEqual(falseAlarms, [], 'a concurrent append was reported as tampering');

  // The attack, under the same load: the data of an event the appenders wrote is edited in the SQLite file.
  const db = new Database(path);
  t.teardown(() => db.close());
  db.pragma(`busy_timeout = ${scaledTimeout(60_000)}`);
  const target = db
    .prepare<[], { position: number; stream_id: string; revision: number; event_id: string }>("SELECT position, stream_id, revision, event_id FROM events WHERE revision >= 40 ORDER BY position DESC LIMIT 1")
    .get();
  if (!target) throw new Error('the appenders have written nothing');
  db.exec('DROP TRIGGER events_are_immutable');
  const changed = db.prepare("UPDATE events SET data = json_set(data, '$.note', 'Giả mạo / forged') WHERE position = ?").run(target.position);
  t.is(changed.changes, 1);

  for (let i = 0; i < 5; i++) {
    const report = await verifyLog(store);
    t.deepEqual(
      report.broken,
      [{ streamId: target.stream_id, revision: BigInt(target.revision), eventId: target.event_id, reason: 'content does not match its hash (event was altered)' }],
      `run ${i + 1} after the tamper`,
    );
    await sleep(20);
  }
  t.is(child.exitCode, null, 'the appenders were still running');
});

test('verify still names events stored past a stream\'s recorded head (inserted without moving the head)', async (t) => {
  const path = join(tempDir(t), 'events.sqlite');
  const store = new SqliteEventStore(path);
  t.teardown(() => store.close());
  await store.append('object-a', [testEvent('Registered', { n: 0 }), testEvent('Edited', { n: 1 })], 'no_stream');
  await store.append('object-b', [testEvent('Registered', { n: 0 })], 'no_stream');
  const head = (await headsOf(store)).get('object-a');
  if (!head) throw new Error('object-a has no head');

  // Chained correctly onto the real head, so only the head table shows the insertion.
  const db = new Database(path);
  t.teardown(() => db.close());
  const [forged] = chainEvents(head.hash, [testEvent('Edited', { n: 2, note: 'chèn vào / inserted' })]);
  if (!forged) throw new Error('nothing chained');
  db.prepare('INSERT INTO events (stream_id, revision, event_id, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'object-a',
    2,
    forged.id,
    forged.type,
    forged.dataJson,
    JSON.stringify(forged.metadata),
    Date.now(),
  );

  const report = await verifyLog(store);
  t.deepEqual(report.broken, [
    {
      streamId: 'object-a',
      revision: 2n,
      eventId: forged.id,
      reason: 'the stream continues past its recorded head, revision 1 (events inserted?)',
    },
  ]);
});

async function headsOf(store: SqliteEventStore): Promise<Map<string, { revision: bigint; hash: string }>> {
  const heads = new Map<string, { revision: bigint; hash: string }>();
  for await (const h of store.listStreams()) heads.set(h.streamId, { revision: h.revision, hash: h.hash });
  return heads;
}

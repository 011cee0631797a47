import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadPreservationAt, recordFact, recordFacts } from '../../src/application/machine-facts.ts';
import { factsSummaryStream } from '../../src/application/streams.ts';
import type { PreservationEvent } from '../../src/domain/events.ts';
import { evolvePreservationSummary, initialPreservationSummary } from '../../src/domain/preservation.ts';
import { executeObjectCommand, objectStream, preservationStream } from '../../src/application/object-commands.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { CountingStore } from '../helpers/counting-store.ts';
import { testEvent } from '../helpers/events.ts';
import { fixityFact, firstFacts, laterFacts, pageFile, replicationFact, ROOTS } from '../helpers/work-history.ts';

/**
 * What an operation costs as a work's history grows, counted in events read from a real
 * SQLite log (the timings are in bench/history): recording a fact reads heads only, an edit
 * never reads machine facts, a bulk ingest reads each event about once, and a process that
 * has folded nothing reads the object stream once.
 */
const root = mkdtempSync(join(tmpdir(), 'thukho-history-cost-'));
const stores: SqliteEventStore[] = [];
let n = 0;
test.after.always(async () => {
  for (const s of stores) await s.close();
  rmSync(root, { recursive: true, force: true });
});

const path = () => join(root, `events-${n++}.sqlite`);
function open(file: string): SqliteEventStore {
  const store = new SqliteEventStore(file);
  stores.push(store);
  return store;
}

const cataloguer = { actor: { id: 'thu', role: 'staff' } };
const worker = { actor: { id: 'worker:fixity', role: 'admin' } };

/** A registered work with `pages` files and `facts` machine facts; returns the object stream's revision. */
async function work(store: SqliteEventStore, objectId: string, pages: number, facts: number): Promise<bigint> {
  let { revision } = await executeObjectCommand(
    store,
    { type: 'RegisterObject', objectId, metadata: { title: 'Đại Nam thực lục chính biên' }, accessLevel: 'open' },
    cataloguer,
  );
  const files = Array.from({ length: pages }, (_, i) => pageFile(objectId, i));
  for (const file of files) ({ revision } = await executeObjectCommand(store, { type: 'RecordFileIngested', objectId, file }, cataloguer));
  if (facts > 0) {
    const all = [...firstFacts(objectId, files), ...laterFacts(objectId, files, facts)].slice(0, facts);
    for (let i = 0; i < all.length; i += 500) await recordFacts(store, objectId, all.slice(i, i + 500), worker);
  }
  return revision;
}

for (const facts of [0, 2000]) {
  test(`recording a fact on a work with ${facts} facts reads at most the two heads`, async (t) => {
    const file = path();
    await work(open(file), 'sach', 3, facts);
    // A process that has read nothing yet, then the same process again.
    const counting = new CountingStore(open(file));
    for (const round of ['cold', 'warm']) {
      counting.reset();
      const recorded = await recordFact(counting, 'sach', fixityFact('sach', ROOTS[0], pageFile('sach', 0)), worker);
      t.true(counting.read() <= 2, `${round}: read ${counting.read()} events (${[...counting.byStream].join('; ')})`);
      t.true(counting.read(preservationStream('sach')) <= 1, round);
      t.is(recorded.revision, BigInt(facts + (round === 'cold' ? 0 : 1)), round);
    }
  });
}

test('an edit reads no machine facts, in a fresh process and a warm one', async (t) => {
  const file = path();
  let revision = await work(open(file), 'sach', 3, 2000);
  for (const round of ['cold', 'warm']) {
    const counting = new CountingStore(open(file));
    if (round === 'warm') {
      // The same process edited the work before: it has the object stream folded.
      ({ revision } = await executeObjectCommand(counting, { type: 'EditMetadata', objectId: 'sach', changes: { subject: 'Sử triều Nguyễn' } }, cataloguer, revision));
    }
    counting.reset();
    const result = await executeObjectCommand(
      counting,
      { type: 'EditMetadata', objectId: 'sach', changes: { title: `Đại Nam thực lục, ${round}` } },
      cataloguer,
      revision,
    );
    revision = result.revision;
    t.is(result.events.length, 1, round);
    t.is(counting.read('preservation-'), 0, round);
    t.false(counting.calls.some((s) => s.startsWith('preservation-')), `${round}: ${counting.calls.join(', ')}`);
  }
});

test('ingesting 300 files one by one reads each event about once, not the stream once per file', async (t) => {
  const file = path();
  const counting = new CountingStore(open(file));
  // Another process (a cataloguer's edit every 100 files) appends meanwhile: the ingest must
  // read what it did not write, and only that.
  const other = open(file);
  await executeObjectCommand(counting, { type: 'RegisterObject', objectId: 'sach', metadata: { title: 'Gia Định thành thông chí' }, accessLevel: 'open' }, cataloguer);
  const N = 300;
  for (let i = 0; i < N; i++) {
    await executeObjectCommand(counting, { type: 'RecordFileIngested', objectId: 'sach', file: pageFile('sach', i) }, cataloguer);
    if (i % 100 === 99) await executeObjectCommand(other, { type: 'EditMetadata', objectId: 'sach', changes: { extent: `${i + 1} tờ` } }, cataloguer);
  }
  const streamLength = N + 1 + 3;
  t.true(counting.read() <= 3 * N, `read ${counting.read()} events for ${N} files (a replay per file would be ~${(N * N) / 2})`);
  t.is(counting.read('preservation-'), 0);
  const after = await executeObjectCommand(counting, { type: 'EditMetadata', objectId: 'sach', changes: { language: ['lzh'] } }, cataloguer);
  t.is(after.revision, BigInt(streamLength));
  t.is(after.state.status === 'active' ? after.state.files.length : -1, N);
  t.is(after.state.status === 'active' ? after.state.metadata.extent : undefined, '300 tờ');
});

test('an edit in a process that has folded nothing reads the object stream exactly once', async (t) => {
  const file = path();
  const revision = await work(open(file), 'sach', 20, 2000);
  const counting = new CountingStore(open(file));
  const result = await executeObjectCommand(counting, { type: 'EditMetadata', objectId: 'sach', changes: { creator: 'Quốc sử quán triều Nguyễn' } }, cataloguer, revision);
  t.is(result.revision, revision + 1n);
  t.deepEqual(counting.calls, [objectStream('sach')]);
  t.is(counting.read(), Number(revision) + 1);
  t.is(counting.read(objectStream('sach')), Number(revision) + 1);
});

test('a process that has read nothing of an old work starts from its latest summary, not from its first fact', async (t) => {
  const file = path();
  const store = open(file);
  await work(store, 'cu', 20, 3000);
  // The first cold fold reads every fact once and leaves a summary behind...
  const first = new CountingStore(open(file));
  const before = await loadPreservationAt(first, 'cu');
  t.true(first.read() >= 3000, `the first cold fold read ${first.read()} events`);
  t.is(before.revision, 2999n);
  const summaries = await collect(store.readStream(factsSummaryStream('cu')));
  t.deepEqual(summaries.map((e) => e.type), ['PreservationSummarized']);
  // ...so the next process reads the summary and what came after it.
  await recordFacts(store, 'cu', [fixityFact('cu', ROOTS[1], pageFile('cu', 3)), replicationFact('cu', ROOTS[2], 20)], worker);
  const next = new CountingStore(open(file));
  const after = await loadPreservationAt(next, 'cu');
  t.true(next.byStream.get(preservationStream('cu'))! <= 3, `read ${[...next.byStream].join('; ')}`);
  t.is(after.revision, 3001n);
  // The same answer as a full fold of every fact.
  const full = (await collect(store.readStream(preservationStream('cu')))).reduce(
    (s, e) => evolvePreservationSummary(s, { type: e.type, data: e.data } as PreservationEvent),
    initialPreservationSummary,
  );
  t.deepEqual(after.summary, full);
});

test('a summary that does not match the log it names is not used', async (t) => {
  const file = path();
  const store = open(file);
  await work(store, 'lech', 5, 600);
  const truth = await loadPreservationAt(new CountingStore(open(file)), 'lech');
  // A summary claiming the work has no derivatives, pinned to a hash the log does not have.
  await store.append(
    factsSummaryStream('lech'),
    [testEvent('PreservationSummarized', { objectId: 'lech', upTo: 599, hash: 'f'.repeat(64), summary: { derivatives: {}, derivativeFailures: {}, replicated: {} } })],
    'any',
  );
  const cold = new CountingStore(open(file));
  const loaded = await loadPreservationAt(cold, 'lech');
  t.deepEqual(loaded.summary, truth.summary);
  t.true(cold.byStream.get(preservationStream('lech'))! >= 600, 'it folded every fact instead');
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

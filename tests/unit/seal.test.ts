import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { eventSchemas } from '../../src/domain/events.ts';
import type { EventStore, StreamHead } from '../../src/eventstore/port.ts';
import {
  SEAL_STREAM,
  SEALS_DIR,
  type SealFile,
  SealRefusedError,
  computeSeal,
  merkleLeaf,
  merkleRootOf,
  readReplicaSeals,
  sealFileName,
  sealNow,
  verifyAgainstSeals,
} from '../../src/eventstore/seal.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { lastSealKey, SealRunResult, startSealWorker } from '../../workers/seal.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { collect, testEvent } from '../helpers/events.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

const ACTOR = { id: 'test', role: 'admin' };

function tempDir(t: { teardown(fn: () => void): void }, prefix = 'thukho-seal-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openStore(t: { teardown(fn: () => Promise<void>): void }, dir: string): Promise<SqliteEventStore> {
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  t.teardown(() => store.close());
  return store;
}

async function put(store: EventStore, streamId: string, n = 1): Promise<bigint> {
  let position = 0n;
  for (let i = 0; i < n; i++) {
    position = (await store.append(streamId, [testEvent('Something', { streamId, i, salt: randomUUID() })], 'any')).position;
  }
  return position;
}

/** Three object streams, a collection and a user, interleaved in the log. */
async function seed(store: EventStore): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (const s of ['object-a', 'object-b', 'object-c', 'collection-x', 'user-lan']) {
      if (round > 0 && s === 'user-lan') continue;
      await put(store, s);
    }
  }
}

const sha = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

// ---------------------------------------------------------------------------------------
// The tree

test('merkle tree: empty, one leaf, and inner nodes as sha256(0x01 ‖ left ‖ right)', (t) => {
  t.is(merkleRootOf([]), createHash('sha256').digest('hex'));
  const leaf = (s: string) => createHash('sha256').update(s).digest();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(leaf) as [Buffer, Buffer, Buffer, Buffer];
  const one = Buffer.from([1]);
  t.is(merkleRootOf([a]), a.toString('hex'));
  t.is(merkleRootOf([a, b]), sha(one, a, b).toString('hex'));
  t.is(merkleRootOf([a, b, c, d]), sha(one, sha(one, a, b), sha(one, c, d)).toString('hex'));
  // An odd node is promoted unchanged (RFC 6962), not paired with a copy of itself...
  t.is(merkleRootOf([a, b, c]), sha(one, sha(one, a, b), c).toString('hex'));
  // ...so a list with its last leaf repeated does not share the root (CVE-2012-2459).
  t.not(merkleRootOf([a, b, c]), merkleRootOf([a, b, c, c]));
  t.not(merkleRootOf([a, b]), merkleRootOf([b, a]));
});

test('merkle leaf: sha256 of "streamId\\nheadHash\\nrevision"', (t) => {
  const hash = 'ab'.repeat(32);
  t.is(
    merkleLeaf({ streamId: 'object-a', revision: 12n, hash }).toString('hex'),
    createHash('sha256').update(`object-a\n${hash}\n12`).digest('hex'),
  );
});

test('the root changes when any one stream head changes, in hash or in revision', (t) => {
  const heads: StreamHead[] = Array.from({ length: 7 }, (_, i) => ({
    streamId: `object-${i}`,
    revision: BigInt(i),
    hash: createHash('sha256').update(String(i)).digest('hex'),
  }));
  const root = merkleRootOf(heads.map(merkleLeaf));
  const roots = new Set([root]);
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i] as StreamHead;
    const otherHash = heads.map((x, j) => (j === i ? { ...h, hash: `${h.hash.slice(0, 63)}${h.hash.endsWith('0') ? '1' : '0'}` } : x));
    const otherRevision = heads.map((x, j) => (j === i ? { ...h, revision: h.revision + 1n } : x));
    roots.add(merkleRootOf(otherHash.map(merkleLeaf)));
    roots.add(merkleRootOf(otherRevision.map(merkleLeaf)));
  }
  t.is(roots.size, 1 + 2 * heads.length, 'every change gives a root of its own');
});

// ---------------------------------------------------------------------------------------
// computeSeal on a real log

test('computeSeal: one leaf per stream with its newest head; an append to any stream changes the root, to `seal` it does not', async (t) => {
  const store = await openStore(t, tempDir(t));
  await seed(store);
  const before = await computeSeal(store);
  t.is(before.streams, 5);
  t.deepEqual(
    before.heads.map((h) => h.streamId),
    ['collection-x', 'object-a', 'object-b', 'object-c', 'user-lan'],
  );
  const streams = await collect(store.listStreams());
  for (const h of before.heads) t.deepEqual(h, streams.find((s) => s.streamId === h.streamId));
  t.is(before.position, (await store.headPosition()) ?? -1n);
  t.is(before.merkleRoot, merkleRootOf(before.heads.map(merkleLeaf)));

  const roots = new Set([before.merkleRoot]);
  for (const s of ['object-a', 'object-b', 'object-c', 'collection-x', 'user-lan']) {
    await put(store, s);
    const after = await computeSeal(store);
    t.false(roots.has(after.merkleRoot), `an event in ${s} changes the root`);
    roots.add(after.merkleRoot);
  }
  const last = await computeSeal(store);
  await put(store, SEAL_STREAM);
  const withSealEvent = await computeSeal(store);
  t.is(withSealEvent.merkleRoot, last.merkleRoot, 'the seal stream is not a leaf');
  t.is(withSealEvent.streams, 5);
  t.is(withSealEvent.position, last.position + 1n);
});

test('computeSeal as of an older position ignores later events, whether read from the log or from the head list', async (t) => {
  const store = await openStore(t, tempDir(t));
  await seed(store);
  const then = await computeSeal(store);
  await put(store, 'object-a', 3);
  await put(store, 'object-new', 2);
  await put(store, 'collection-x');
  const now = await computeSeal(store);
  t.not(now.merkleRoot, then.merkleRoot);
  t.is(now.streams, 6);

  const fromLog = await computeSeal(store, then.position, { source: 'log' });
  const fromIndex = await computeSeal(store, then.position, { source: 'index' });
  t.deepEqual(fromLog, then);
  t.deepEqual(fromIndex, then);
  // And the head-list path agrees with a full read for the current state too.
  t.deepEqual(await computeSeal(store, now.position, { source: 'log' }), now);
});

test('computeSeal of an empty log: position 0, no streams, the empty root', async (t) => {
  const store = await openStore(t, tempDir(t));
  const seal = await computeSeal(store);
  t.deepEqual(seal, { merkleRoot: createHash('sha256').digest('hex'), position: 0n, streams: 0, heads: [] });
});

// ---------------------------------------------------------------------------------------
// sealNow and verifyAgainstSeals

test('sealNow appends SealCreated to `seal` and writes seal-<position>.json and latest.json durably to every replica', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  const r1 = join(dir, 'replica-1');
  const r2 = join(dir, 'replica-2');
  await OcflStorageRoot.open(r1);
  await OcflStorageRoot.open(r2);
  const replicas = [
    { label: 'replica-1', path: r1 },
    { label: 'nas', path: r2 },
  ];
  await seed(store);
  const expected = await computeSeal(store);
  const outcome = await sealNow(store, replicas, ACTOR, { now: () => new Date('2025-03-01T08:00:00Z') });
  if (outcome.status !== 'sealed') return t.fail('expected a new seal');
  t.deepEqual(outcome.seal, expected);
  t.deepEqual(outcome.failed, []);
  t.deepEqual(
    outcome.writtenTo.map((w) => w.file),
    [join(r1, SEALS_DIR, sealFileName(expected.position)), join(r2, SEALS_DIR, sealFileName(expected.position))],
  );

  const events = await collect(store.readStream(SEAL_STREAM));
  t.is(events.length, 1);
  const event = events[0];
  if (!event) return t.fail('no seal event');
  t.is(event.type, 'SealCreated');
  t.deepEqual(eventSchemas.SealCreated.parse(event.data), {
    merkleRoot: expected.merkleRoot,
    position: expected.position.toString(),
    streams: 5,
    writtenTo: replicas,
  });
  t.is(event.metadata.actor.id, 'test');
  t.is(event.position, expected.position + 1n);

  for (const r of replicas) {
    const sealsDir = join(r.path, SEALS_DIR);
    t.deepEqual(readdirSync(sealsDir).sort(), ['latest.json', sealFileName(expected.position)], 'no temp files left');
    const file = JSON.parse(readFileSync(join(sealsDir, sealFileName(expected.position)), 'utf8')) as SealFile;
    t.deepEqual(JSON.parse(readFileSync(join(sealsDir, 'latest.json'), 'utf8')), file);
    t.is(file.merkleRoot, expected.merkleRoot);
    t.is(file.position, expected.position.toString());
    t.is(file.streams, 5);
    t.is(file.sealedAt, '2025-03-01T08:00:00.000Z');
    t.deepEqual(file.event, { id: event.id, streamId: SEAL_STREAM, revision: '0', position: event.position.toString(), hash: event.metadata.hash });
    t.deepEqual(file.replica, r);
    t.deepEqual(
      file.heads,
      expected.heads.map((h) => ({ streamId: h.streamId, revision: h.revision.toString(), hash: h.hash })),
    );
  }

  // Nothing appended since: no second seal.
  const again = await sealNow(store, replicas, ACTOR);
  t.is(again.status, 'unchanged');
  t.is((await collect(store.readStream(SEAL_STREAM))).length, 1);
  // After new events, a new seal beside the old one.
  await put(store, 'object-b');
  const next = await sealNow(store, replicas, ACTOR);
  if (next.status !== 'sealed') return t.fail('expected a second seal');
  t.is(next.seal.position, event.position + 1n);
  t.is(readdirSync(join(r1, SEALS_DIR)).length, 3);
  t.is(JSON.parse(readFileSync(join(r1, SEALS_DIR, 'latest.json'), 'utf8')).position, next.seal.position.toString());
});

test('verifyAgainstSeals: ok on a clean log, also after later events; no-seal before the first seal', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  const replica = { label: 'replica-1', path: join(dir, 'replica-1') };
  await OcflStorageRoot.open(replica.path);
  await seed(store);

  const none = await verifyAgainstSeals(store, [replica]);
  t.is(none.status, 'no-seal');
  t.is(none.sealsFound, 0);
  t.is(none.seal, null);
  t.deepEqual(none.problems, []);

  const sealed = await sealNow(store, [replica], ACTOR);
  if (sealed.status !== 'sealed') return t.fail('expected a seal');
  const ok = await verifyAgainstSeals(store, [replica]);
  t.is(ok.status, 'ok');
  t.deepEqual(ok.changedStreams, []);
  t.is(ok.sealsFound, 1);
  t.deepEqual(ok.sealEvent, { status: 'ok' });
  t.is(ok.currentRoot, sealed.seal.merkleRoot);
  t.like(ok.seal, { merkleRoot: sealed.seal.merkleRoot, position: sealed.seal.position, streams: 5, eventId: sealed.event.id, foundOn: ['replica-1'] });

  // Legitimate appends after the seal are outside it.
  await put(store, 'object-a', 2);
  await put(store, 'object-z');
  const later = await verifyAgainstSeals(store, [replica]);
  t.is(later.status, 'ok');
  t.deepEqual(later.changedStreams, []);
});

test('verifyAgainstSeals reads the newest usable seal: a damaged newer file is reported and skipped', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  const replica = { label: 'replica-1', path: join(dir, 'replica-1') };
  await OcflStorageRoot.open(replica.path);
  await seed(store);
  const first = await sealNow(store, [replica], ACTOR);
  await put(store, 'object-c');
  const second = await sealNow(store, [replica], ACTOR);
  if (first.status !== 'sealed' || second.status !== 'sealed') return t.fail('expected two seals');

  const path = join(replica.path, SEALS_DIR, sealFileName(second.seal.position));
  const file = JSON.parse(readFileSync(path, 'utf8')) as SealFile;
  // Bit rot in one head: the file no longer gives its own root.
  const damaged = { ...file, heads: file.heads.map((h, i) => (i === 0 ? { ...h, revision: '99' } : h)) };
  writeFileSync(path, JSON.stringify(damaged));

  const seals = await readReplicaSeals(replica);
  t.is(seals.seals, 2);
  t.is(seals.latest?.position, first.seal.position.toString());
  t.is(seals.unusable.length, 1);
  t.regex(seals.unusable[0]?.reason ?? '', /do not give its Merkle root/);

  const report = await verifyAgainstSeals(store, [replica]);
  t.is(report.status, 'ok', 'the log is intact; only the copy is damaged');
  t.is(report.seal?.position, first.seal.position);
  t.is(report.problems.length, 1);
  t.regex(report.problems[0] ?? '', new RegExp(sealFileName(second.seal.position)));
});

test('replicas that hold different seals for the same position are a mismatch', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  const a = { label: 'a', path: join(dir, 'a') };
  const b = { label: 'b', path: join(dir, 'b') };
  await OcflStorageRoot.open(a.path);
  await OcflStorageRoot.open(b.path);
  await seed(store);
  const sealed = await sealNow(store, [a, b], ACTOR);
  if (sealed.status !== 'sealed') return t.fail('expected a seal');
  // Replica b gets a self-consistent seal of another history for the same position.
  const name = sealFileName(sealed.seal.position);
  const file = JSON.parse(readFileSync(join(b.path, SEALS_DIR, name), 'utf8')) as SealFile;
  const heads = file.heads.map((h, i) => (i === 1 ? { ...h, hash: 'cd'.repeat(32) } : h));
  const root = merkleRootOf(heads.map((h) => merkleLeaf({ ...h, revision: BigInt(h.revision) })));
  writeFileSync(join(b.path, SEALS_DIR, name), JSON.stringify({ ...file, heads, merkleRoot: root }));

  const report = await verifyAgainstSeals(store, [a, b]);
  t.is(report.status, 'mismatch');
  t.true(report.problems.some((p) => /hold different seals/.test(p)));
});

test('sealNow: a replica root that does not exist or is an empty mount point (disk not mounted) is not written to, and is reported', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  const good = { label: 'good', path: join(dir, 'good') };
  const gone = { label: 'usb', path: join(dir, 'not-mounted') };
  const empty = { label: 'nas', path: join(dir, 'mount-point') };
  await OcflStorageRoot.open(good.path);
  mkdirSync(empty.path);
  await seed(store);
  const outcome = await sealNow(store, [good, gone, empty], ACTOR);
  if (outcome.status !== 'sealed') return t.fail('expected a seal');
  t.deepEqual(outcome.writtenTo.map((w) => w.label), ['good']);
  t.deepEqual(outcome.failed.map((f) => f.label), ['usb', 'nas']);
  t.regex(outcome.failed[1]?.reason ?? '', /not an OCFL storage root .*thukho replicas init nas/);
  t.false(existsSync(gone.path));
  t.deepEqual(readdirSync(empty.path), [], 'nothing written onto the mount point');
  const event = (await collect(store.readStream(SEAL_STREAM)))[0];
  t.deepEqual(eventSchemas.SealCreated.parse(event?.data).writtenTo, [good], 'the event names only the roots it was written to');

  const report = await verifyAgainstSeals(store, [good, gone]);
  t.is(report.status, 'ok');
  t.true(report.problems.some((p) => p.startsWith('replica usb')));
});

test('sealNow without replicas still seals in the log, and refuses to seal over a log that no longer gives the last root', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  await seed(store);
  const outcome = await sealNow(store, [], ACTOR);
  if (outcome.status !== 'sealed') return t.fail('expected a seal');
  t.deepEqual(outcome.writtenTo, []);
  const event = (await collect(store.readStream(SEAL_STREAM)))[0];
  t.is(eventSchemas.SealCreated.parse(event?.data).merkleRoot, outcome.seal.merkleRoot);
  t.is((await verifyAgainstSeals(store, [])).status, 'no-seal');

  // An event slipped in "before" the seal: the head list now disagrees with the sealed root.
  await store.close();
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(join(dir, 'events.sqlite'));
  db.prepare("UPDATE streams SET head_hash = ? WHERE stream_id = 'object-b'").run('ee'.repeat(32));
  db.close();
  const reopened = await openStore(t, dir);
  await put(reopened, 'object-a');
  const refused = await sealNow(reopened, [], ACTOR).catch((err: unknown) => err);
  t.true(refused instanceof SealRefusedError);
  t.regex((refused as Error).message, /Merkle root/);
});

// ---------------------------------------------------------------------------------------
// The worker

test('the seal worker seals on its schedule, writes to the replicas and keeps the outcome in Redis', async (t) => {
  const dir = tempDir(t);
  const store = await openStore(t, dir);
  const replica = { label: 'replica-1', path: join(dir, 'replica-1') };
  await OcflStorageRoot.open(replica.path);
  await seed(store);
  const redisUrl = 'redis://127.0.0.1:6379';
  const queuePrefix = `thukho-test-seal-${randomUUID()}`;
  const redis = new Redis(redisUrl);
  const worker = await startSealWorker({
    store,
    redisUrl,
    logger: pino({ level: 'silent' }),
    config: { replicas: [replica], sealEveryMinutes: 60, queuePrefix },
  });
  t.teardown(async () => {
    await worker.close();
    const q = new Queue(QUEUES.seal, { connection: redis, prefix: queuePrefix });
    await q.obliterate({ force: true });
    await q.close();
    await redis.del(lastSealKey(queuePrefix));
    redis.disconnect();
  });
  let result: SealRunResult | null = null;
  // The scheduler's first run comes at once; poll for its outcome (a hang guard, scaled).
  const giveUpAt = Date.now() + scaledTimeout(60_000);
  while (Date.now() < giveUpAt && !result) {
    const raw = await redis.get(lastSealKey(queuePrefix));
    if (raw) result = SealRunResult.parse(JSON.parse(raw));
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (!result) return t.fail('the seal worker produced no result');
  const expected = await computeSeal(store, BigInt(result.position ?? '-1'), { source: 'log' });
  t.is(result.status, 'sealed');
  t.is(result.merkleRoot, expected.merkleRoot);
  t.is(result.streams, 5);
  t.deepEqual(result.writtenTo.map((w) => w.label), ['replica-1']);
  t.true(existsSync(join(replica.path, SEALS_DIR, sealFileName(expected.position))));
  t.is((await verifyAgainstSeals(store, [replica])).status, 'ok');
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { canonicalJson, chainEvents, eventHash, genesisHash, verifyStreamChain } from '../../src/eventstore/hash-chain.ts';
import type { EventMetadata, RecordedEvent } from '../../src/eventstore/port.ts';
import { merkleLeaf, merkleRootOf } from '../../src/eventstore/seal.ts';
import { ROOT, run, show } from '../helpers/cli.ts';

/**
 * The hash chain is a format (docs/hash-chain.md): existing logs, seals on replicas and
 * auditors' tools depend on the exact bytes hashed. tests/golden/hash-chain.json holds events
 * with the hashes computed once and frozen; our code must reproduce them exactly, and so must
 * the independent verifier tools/verify-chain.py (Python standard library only). A change of
 * the preimage, the canonical JSON, the genesis or the Merkle tree fails here.
 */
const VERIFIER = join(ROOT, 'tools/verify-chain.py');

interface GoldenEvent {
  streamId: string;
  revision: number;
  position: number;
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata & Record<string, unknown>;
}
interface Golden {
  genesis: Record<string, string>;
  log: GoldenEvent[];
  preimages: string[];
  seal: { position: number; merkleRoot: string; streams: number; eventId: string; leaves: Array<{ streamId: string; revision: number; hash: string; leaf: string }> };
  heads: Record<string, { revision: number; hash: string }>;
  canonicalJson: Array<{ value: unknown; json: string }>;
  tampered: Array<{ name: string; streamId: string; events: GoldenEvent[]; broken: { revision: number; reason: string } }>;
}

const golden = JSON.parse(readFileSync(join(ROOT, 'tests/golden/hash-chain.json'), 'utf8')) as Golden;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const streamIds = [...new Set(golden.log.map((e) => e.streamId))];
const eventsOf = (streamId: string) => golden.log.filter((e) => e.streamId === streamId);

function recorded(e: GoldenEvent): RecordedEvent {
  return { ...e, revision: BigInt(e.revision), position: BigInt(e.position), created: new Date(0) };
}
async function* iterate<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

test('golden: the vectors cover what the format must get right', (t) => {
  const text = readFileSync(join(ROOT, 'tests/golden/hash-chain.json'), 'utf8');
  for (const needle of ['Truyện Kiều', 'Nguyễn Du', '傳翹', '𡦂', '"10"', '"extent": {}', '\\ud800', '\u2028', '1e+21']) {
    t.true(text.includes(needle), `the vectors include ${needle}`);
  }
  t.is(streamIds.length, 5);
  t.is(golden.tampered.length, 8);
});

test('golden: genesis prevHash of each stream is sha256 of "thukho-stream:<streamId>"', (t) => {
  for (const s of streamIds) {
    t.is(genesisHash(s), golden.genesis[s] as string, s);
    t.is(sha256(`thukho-stream:${s}`), golden.genesis[s] as string, s);
  }
});

test('golden: every event hash is sha256 of its frozen preimage, and our code reproduces both', (t) => {
  golden.log.forEach((e, i) => {
    const preimage = golden.preimages[i] as string;
    t.is(sha256(preimage), e.metadata.hash, `${e.streamId}@${e.revision}: the preimage gives the hash`);
    t.is(eventHash(e.type, e.data, e.metadata), e.metadata.hash, `${e.streamId}@${e.revision}`);
    const { hash: _hash, ...unhashed } = e.metadata;
    t.is(`{"data":${canonicalJson(e.data)},"metadata":${canonicalJson(unhashed)},"type":${JSON.stringify(e.type)}}`, preimage);
  });
});

test('golden: chaining the events anew gives the same prevHash and hash for every event', (t) => {
  for (const s of streamIds) {
    const events = eventsOf(s);
    const fresh = events.map(({ id, type, data, metadata: { prevHash: _p, hash: _h, ...metadata } }) => ({ id, type, data, metadata }));
    const chained = chainEvents(golden.genesis[s] as string, fresh);
    t.deepEqual(
      chained.map((c) => [c.metadata.prevHash, c.metadata.hash]),
      events.map((e) => [e.metadata.prevHash, e.metadata.hash]),
      s,
    );
    // What the SQLite adapter stores as the data column is the canonical JSON.
    t.deepEqual(chained.map((c) => c.dataJson), events.map((e) => canonicalJson(e.data)), s);
  }
});

test('golden: every stream verifies, revisions 0.. without gaps, up to the frozen head', async (t) => {
  for (const s of streamIds) {
    const result = await verifyStreamChain(s, iterate(eventsOf(s).map(recorded)));
    t.deepEqual(result, { ok: true, count: eventsOf(s).length, head: golden.heads[s]?.hash as string }, s);
    t.is(eventsOf(s).at(-1)?.revision, golden.heads[s]?.revision);
  }
});

test('golden: canonical JSON of scalars, escapes, key order by UTF-16 code unit', (t) => {
  for (const c of golden.canonicalJson) t.is(canonicalJson(c.value), c.json, c.json);
});

test('golden: the seal\'s Merkle root over the heads at the sealed position', (t) => {
  const heads = new Map<string, GoldenEvent>();
  for (const e of golden.log) if (e.position <= golden.seal.position && e.streamId !== 'seal') heads.set(e.streamId, e);
  const leaves = [...heads.values()]
    .map((e) => ({ streamId: e.streamId, revision: BigInt(e.revision), hash: e.metadata.hash }))
    .sort((a, b) => (a.streamId < b.streamId ? -1 : 1));
  t.deepEqual(
    leaves.map((l) => ({ streamId: l.streamId, revision: Number(l.revision), hash: l.hash, leaf: merkleLeaf(l).toString('hex') })),
    golden.seal.leaves,
  );
  t.is(merkleRootOf(leaves.map(merkleLeaf)), golden.seal.merkleRoot);
  t.is(golden.seal.streams, leaves.length);
  const sealEvent = golden.log.find((e) => e.id === golden.seal.eventId);
  t.like(sealEvent?.data, { merkleRoot: golden.seal.merkleRoot, position: String(golden.seal.position), streams: golden.seal.streams });
});

test('golden: every tampered vector is rejected at the frozen revision, for the frozen reason', async (t) => {
  for (const v of golden.tampered) {
    const result = await verifyStreamChain(v.streamId, iterate(v.events.map(recorded)));
    t.false(result.ok, v.name);
    if (!result.ok) t.like(result.broken, { streamId: v.streamId, revision: BigInt(v.broken.revision), reason: v.broken.reason }, v.name);
  }
});

// ---------------------------------------------------------------------------------------
// The same vectors through the independent verifier

const dir = mkdtempSync(join(tmpdir(), 'thukho-golden-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const python = (args: string[]) => run('python3', args);

/** An export as `thukho export-log` writes it (docs/hash-chain.md, "The export"). */
function exportFile(name: string, events: GoldenEvent[], seal: unknown = null): string {
  const lines = [
    JSON.stringify({ format: 'thukho-log/1', exportedAt: '2026-03-09T00:00:00.000Z', upToPosition: events.at(-1)?.position ?? null, seal }),
    ...events.map((e) => JSON.stringify(e)),
    JSON.stringify({ end: { events: events.length, streams: new Set(events.map((e) => e.streamId)).size } }),
  ];
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const goldenSeal = { eventId: golden.seal.eventId, merkleRoot: golden.seal.merkleRoot, position: golden.seal.position, streams: golden.seal.streams, sealedAt: '2026-03-07T06:16:00.000Z' };

test('verify-chain.py: the golden log verifies, and the seal\'s Merkle root is recomputed', async (t) => {
  const r = await python([VERIFIER, exportFile('golden.jsonl', golden.log, goldenSeal)]);
  t.is(r.code, 0, show(r));
  t.regex(r.stdout, /^OK: 9 events in 5 streams, every hash chain intact$/m, show(r));
  t.true(r.stdout.includes(`OK: seal at position ${golden.seal.position} matches, Merkle root ${golden.seal.merkleRoot} over 3 streams`), show(r));
});

test('verify-chain.py: canonical JSON identical to ours for every golden case (numbers, escapes, lone surrogates, non-BMP keys)', async (t) => {
  const cases = join(dir, 'cases.json');
  writeFileSync(cases, JSON.stringify(golden.canonicalJson.map((c) => c.value)));
  const script = [
    'import importlib.util, json, sys',
    `spec = importlib.util.spec_from_file_location("verify_chain", ${JSON.stringify(VERIFIER)})`,
    'm = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
    `values = json.load(open(${JSON.stringify(cases)}, encoding="utf-8"))`,
    'sys.stdout.write(json.dumps([m.canonical(v) for v in values]))',
  ].join('\n');
  const r = await python(['-c', script]);
  t.is(r.code, 0, show(r));
  t.deepEqual(JSON.parse(r.stdout) as string[], golden.canonicalJson.map((c) => c.json));
});

test('verify-chain.py: every tampered vector fails (exit 1), naming the stream and revision', async (t) => {
  for (const [i, v] of golden.tampered.entries()) {
    const positioned = v.events.map((e, n) => ({ ...e, position: n + 1 }));
    const r = await python([VERIFIER, exportFile(`tampered-${i}.jsonl`, positioned)]);
    t.is(r.code, 1, `${v.name}\n${show(r)}`);
    t.true(r.stdout.startsWith(`BROKEN: line ${v.events.findIndex((e) => e.revision === v.broken.revision) + 2}: ${v.streamId} @ revision ${v.broken.revision} `), `${v.name}\n${show(r)}`);
  }
});

test('verify-chain.py: a seal whose root the heads do not give, a cut export, a replica seal file', async (t) => {
  const forged = { ...goldenSeal, merkleRoot: 'f'.repeat(64) };
  const bad = await python([VERIFIER, exportFile('bad-seal.jsonl', golden.log, forged)]);
  t.is(bad.code, 1, show(bad));
  t.regex(bad.stdout, new RegExp(`BROKEN: seal at position ${golden.seal.position}: `), show(bad));

  const file = exportFile('cut.jsonl', golden.log, goldenSeal);
  writeFileSync(file, readFileSync(file, 'utf8').split('\n').slice(0, 5).join('\n'));
  const cut = await python([VERIFIER, file]);
  t.is(cut.code, 1, show(cut));
  t.regex(cut.stdout, /BROKEN: the export ends without its end line/, show(cut));

  // A seal as `thukho seal` copies it to a replica (src/eventstore/seal.ts), checked against the log.
  const replica = {
    format: 'thukho-seal/1',
    merkleRoot: golden.seal.merkleRoot,
    position: String(golden.seal.position),
    streams: golden.seal.streams,
    heads: golden.seal.leaves.map((l) => ({ streamId: l.streamId, revision: String(l.revision), hash: l.hash })),
  };
  const replicaFile = join(dir, `seal-${golden.seal.position}.json`);
  writeFileSync(replicaFile, JSON.stringify(replica));
  const ok = await python([VERIFIER, exportFile('no-seal-line.jsonl', golden.log), replicaFile]);
  t.is(ok.code, 0, show(ok));
  t.regex(ok.stdout, /OK: seal at position 50 matches/, show(ok));
  const rewritten = { ...replica, heads: replica.heads.map((h, i) => (i === 1 ? { ...h, hash: '0'.repeat(64) } : h)) };
  writeFileSync(replicaFile, JSON.stringify(rewritten));
  const mismatch = await python([VERIFIER, exportFile('no-seal-line-2.jsonl', golden.log), replicaFile]);
  t.is(mismatch.code, 1, show(mismatch));
  t.regex(mismatch.stdout, new RegExp(`stream ${golden.seal.leaves[1]?.streamId} was sealed at revision`), show(mismatch));
});

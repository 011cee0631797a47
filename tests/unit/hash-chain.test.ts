import test from 'ava';
import {
  canonicalJson,
  chainEvents,
  eventHash,
  genesisHash,
  verifyStreamChain,
} from '../../src/eventstore/hash-chain.ts';
import type { EventMetadata, NewEvent, RecordedEvent } from '../../src/eventstore/port.ts';
import { testEvent } from '../helpers/events.ts';

// ---------------------------------------------------------------------------------------
// canonicalJson

test('canonicalJson: key order does not matter', (t) => {
  const a = canonicalJson({ b: 1, a: 2, c: { y: true, x: null } });
  const b = canonicalJson({ c: { x: null, y: true }, a: 2, b: 1 });
  t.is(a, b);
  t.is(a, '{"a":2,"b":1,"c":{"x":null,"y":true}}');
});

test('canonicalJson: nested arrays and objects, array order kept, no whitespace', (t) => {
  const value = { z: [{ b: [3, { d: 1, c: 2 }], a: 'x' }, [[], {}]], a: [2, 1] };
  t.is(canonicalJson(value), '{"a":[2,1],"z":[{"a":"x","b":[3,{"c":2,"d":1}]},[[],{}]]}');
  t.not(canonicalJson([1, 2]), canonicalJson([2, 1]));
  // A canonical string is valid JSON that means the same value.
  t.deepEqual(JSON.parse(canonicalJson(value)), value);
});

test('canonicalJson: keys are sorted by UTF-16 code unit', (t) => {
  t.is(canonicalJson({ é: 1, a: 2, Z: 3, '10': 4, '9': 5, ă: 6 }), '{"10":4,"9":5,"Z":3,"a":2,"é":1,"ă":6}');
});

test('canonicalJson: Vietnamese and Han-Nôm text is kept as characters, not escaped', (t) => {
  const s = canonicalJson({ title: 'Truyện Kiều 傳翹', 'tác giả': 'Nguyễn Du' });
  // "title" sorts before "tác giả": 'i' (U+0069) < 'á' (U+00E1).
  t.is(s, '{"title":"Truyện Kiều 傳翹","tác giả":"Nguyễn Du"}');
  t.false(s.includes('\\u'));
});

test('canonicalJson: NFC and NFD spellings are different bytes (no silent normalisation)', (t) => {
  t.not(canonicalJson({ t: 'Kiều'.normalize('NFC') }), canonicalJson({ t: 'Kiều'.normalize('NFD') }));
});

test('canonicalJson: scalars, escapes and undefined as JSON.stringify has them', (t) => {
  t.is(canonicalJson('a"b\\c\n'), JSON.stringify('a"b\\c\n'));
  t.is(canonicalJson(null), 'null');
  t.is(canonicalJson(0), '0');
  t.is(canonicalJson(false), 'false');
  t.is(canonicalJson(undefined), 'null');
  // An undefined property is dropped, an undefined array slot is null: as after a JSON round trip.
  t.is(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
  t.is(canonicalJson([undefined, 1]), '[null,1]');
});

// ---------------------------------------------------------------------------------------
// Building recorded events by hand

function record(streamId: string, chained: Array<NewEvent & { metadata: EventMetadata }>, from = 0n): RecordedEvent[] {
  return chained.map((e, i) => ({
    id: e.id,
    streamId,
    revision: from + BigInt(i),
    position: 1000n + from + BigInt(i),
    type: e.type,
    data: e.data,
    metadata: e.metadata,
    created: new Date('2025-01-01T00:00:00Z'),
  }));
}

async function* iterate(events: RecordedEvent[]): AsyncIterable<RecordedEvent> {
  for (const e of events) yield e;
}

const STREAM = 'object-hn-0001';

function sampleStream(streamId = STREAM): RecordedEvent[] {
  const batch = [
    testEvent('ObjectRegistered', { objectId: 'hn-0001', metadata: { title: 'Đại Nam thực lục' }, accessLevel: 'open' }),
    testEvent('MetadataEdited', { objectId: 'hn-0001', changes: { creator: 'Quốc sử quán' } }),
    testEvent('AccessPolicyChanged', { objectId: 'hn-0001', from: 'open', to: 'restricted' }),
    testEvent('ObjectWithdrawn', { objectId: 'hn-0001', reason: 'Trả lại' }),
  ];
  return record(streamId, chainEvents(genesisHash(streamId), batch));
}

// ---------------------------------------------------------------------------------------
// genesisHash and chainEvents

test('genesisHash: deterministic, 64 hex digits, different per stream id', (t) => {
  t.regex(genesisHash(STREAM), /^[0-9a-f]{64}$/);
  t.is(genesisHash(STREAM), genesisHash(STREAM));
  t.not(genesisHash('object-a'), genesisHash('object-b'));
  t.not(genesisHash('object-a'), genesisHash('collection-a'));
});

test('chainEvents: each prevHash is the hash before it, starting at the given head', (t) => {
  const head = genesisHash(STREAM);
  const batch = [testEvent('A', { n: 1 }), testEvent('B', { n: 2 }), testEvent('C', { n: 3 })];
  const chained = chainEvents(head, batch);
  t.is(chained.length, 3);
  t.is(chained[0]?.metadata.prevHash, head);
  t.is(chained[1]?.metadata.prevHash, chained[0]?.metadata.hash);
  t.is(chained[2]?.metadata.prevHash, chained[1]?.metadata.hash);
  for (const [i, e] of chained.entries()) {
    const given = batch[i];
    if (!given) return t.fail();
    t.regex(e.metadata.hash, /^[0-9a-f]{64}$/);
    t.is(e.metadata.hash, eventHash(e.type, e.data, e.metadata));
    // The rest of the envelope is kept as given.
    t.is(e.id, given.id);
    t.deepEqual(e.data, given.data);
    t.like(e.metadata, given.metadata);
  }
  // The input events are not modified.
  t.false('hash' in (batch[0]?.metadata ?? {}));
  t.false('prevHash' in (batch[0]?.metadata ?? {}));
});

test('chainEvents: two batches chained one after the other equal one batch chained at once', (t) => {
  const batch = [testEvent('A', { n: 1 }), testEvent('B', { n: 2 }), testEvent('C', { n: 3 })];
  const all = chainEvents(genesisHash(STREAM), batch);
  const first = chainEvents(genesisHash(STREAM), batch.slice(0, 1));
  const rest = chainEvents(first[0]?.metadata.hash ?? '', batch.slice(1));
  t.deepEqual([...first, ...rest], all);
});

test('eventHash: the hash depends on type, data and metadata but not on the stored hash or key order', (t) => {
  const [e] = chainEvents(genesisHash(STREAM), [testEvent('A', { a: 1, b: 2 })]);
  if (!e) return t.fail();
  const h = eventHash(e.type, e.data, e.metadata);
  t.is(eventHash(e.type, { b: 2, a: 1 }, e.metadata), h);
  t.is(eventHash(e.type, e.data, { ...e.metadata, hash: '0'.repeat(64) }), h);
  t.not(eventHash('B', e.data, e.metadata), h);
  t.not(eventHash(e.type, { a: 1, b: 3 }, e.metadata), h);
  t.not(eventHash(e.type, e.data, { ...e.metadata, occurredAt: '1999-01-01T00:00:00.000Z' }), h);
});

// ---------------------------------------------------------------------------------------
// verifyStreamChain

test('verify: an intact stream holds, with its count and head', async (t) => {
  const events = sampleStream();
  const result = await verifyStreamChain(STREAM, iterate(events));
  t.deepEqual(result, { ok: true, count: 4, head: events[3]?.metadata.hash ?? '' });
});

test('verify: an empty stream holds with the genesis hash as head', async (t) => {
  t.deepEqual(await verifyStreamChain(STREAM, iterate([])), { ok: true, count: 0, head: genesisHash(STREAM) });
});

test('verify: a JSON round trip with keys reordered (as a database may store them) still holds', async (t) => {
  const reorder = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(reorder);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)]));
    }
    return v;
  };
  const events = sampleStream().map((e) => ({
    ...e,
    data: reorder(JSON.parse(JSON.stringify(e.data))),
    metadata: reorder(JSON.parse(JSON.stringify(e.metadata))) as EventMetadata,
  }));
  t.true((await verifyStreamChain(STREAM, iterate(events))).ok);
});

test('verify: altered data is found at the altered event', async (t) => {
  const events = sampleStream();
  const e = events[1];
  if (!e) return t.fail();
  events[1] = { ...e, data: { objectId: 'hn-0001', changes: { creator: 'Người khác' } } };
  const result = await verifyStreamChain(STREAM, iterate(events));
  if (result.ok) return t.fail('tampering went unnoticed');
  t.is(result.count, 1);
  t.is(result.broken.revision, 1n);
  t.is(result.broken.eventId, e.id);
  t.is(result.broken.streamId, STREAM);
  t.regex(result.broken.reason, /altered/);
});

test('verify: an altered event type is found', async (t) => {
  const events = sampleStream();
  const e = events[2];
  if (!e) return t.fail();
  events[2] = { ...e, type: 'MetadataEdited' };
  const result = await verifyStreamChain(STREAM, iterate(events));
  t.false(result.ok);
  if (!result.ok) t.is(result.broken.revision, 2n);
});

test('verify: an extra metadata key is found (it is part of what is hashed)', async (t) => {
  const events = sampleStream();
  const e = events[0];
  if (!e) return t.fail();
  events[0] = { ...e, metadata: { ...e.metadata, approvedBy: 'giám đốc' } as EventMetadata };
  const result = await verifyStreamChain(STREAM, iterate(events));
  if (result.ok) return t.fail('tampering went unnoticed');
  t.is(result.count, 0);
  t.is(result.broken.revision, 0n);
  t.regex(result.broken.reason, /altered/);
});

test('verify: a changed actor in the metadata is found', async (t) => {
  const events = sampleStream();
  const e = events[3];
  if (!e) return t.fail();
  events[3] = { ...e, metadata: { ...e.metadata, actor: { id: 'someone-else', role: 'admin' } } };
  const result = await verifyStreamChain(STREAM, iterate(events));
  t.false(result.ok);
  if (!result.ok) t.is(result.broken.revision, 3n);
});

test('verify: a removed event shows as a revision gap', async (t) => {
  const events = sampleStream();
  events.splice(1, 1);
  const result = await verifyStreamChain(STREAM, iterate(events));
  if (result.ok) return t.fail('removal went unnoticed');
  t.is(result.count, 1);
  t.is(result.broken.revision, 2n);
  t.regex(result.broken.reason, /revision 1 is missing/);
});

test('verify: a removed event with revisions renumbered breaks the prevHash link', async (t) => {
  const events = sampleStream();
  events.splice(1, 1);
  const renumbered = events.map((e, i) => ({ ...e, revision: BigInt(i) }));
  const result = await verifyStreamChain(STREAM, iterate(renumbered));
  if (result.ok) return t.fail('removal went unnoticed');
  t.is(result.broken.revision, 1n);
  t.regex(result.broken.reason, /prevHash/);
});

test('verify: a swapped prevHash is found', async (t) => {
  const events = sampleStream();
  const e2 = events[2];
  const e0 = events[0];
  if (!e2 || !e0) return t.fail();
  events[2] = { ...e2, metadata: { ...e2.metadata, prevHash: e0.metadata.hash } };
  const result = await verifyStreamChain(STREAM, iterate(events));
  if (result.ok) return t.fail('tampering went unnoticed');
  t.is(result.count, 2);
  t.is(result.broken.revision, 2n);
  t.regex(result.broken.reason, /prevHash/);
});

test('verify: an altered event whose hash was recomputed breaks the link to the next event', async (t) => {
  const events = sampleStream();
  const e = events[1];
  if (!e) return t.fail();
  const data = { objectId: 'hn-0001', changes: { creator: 'Người khác' } };
  events[1] = { ...e, data, metadata: { ...e.metadata, hash: eventHash(e.type, data, e.metadata) } };
  const result = await verifyStreamChain(STREAM, iterate(events));
  if (result.ok) return t.fail('tampering went unnoticed');
  t.is(result.count, 2);
  t.is(result.broken.revision, 2n);
  t.regex(result.broken.reason, /prevHash/);
});

test('verify: a whole stream moved under another stream id is found at its first event', async (t) => {
  const events = sampleStream('object-a').map((e) => ({ ...e, streamId: 'object-b' }));
  t.true((await verifyStreamChain('object-a', iterate(sampleStream('object-a')))).ok);
  const result = await verifyStreamChain('object-b', iterate(events));
  if (result.ok) return t.fail('the move went unnoticed');
  t.is(result.broken.revision, 0n);
  t.regex(result.broken.reason, /prevHash/);
});

test('verify: swapping two events is found', async (t) => {
  const events = sampleStream();
  const [e1, e2] = [events[1], events[2]];
  if (!e1 || !e2) return t.fail();
  events[1] = { ...e2, revision: 1n };
  events[2] = { ...e1, revision: 2n };
  const result = await verifyStreamChain(STREAM, iterate(events));
  if (result.ok) return t.fail('the swap went unnoticed');
  t.is(result.broken.revision, 1n);
});

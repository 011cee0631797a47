import test from 'ava';
import { parseOaiArguments } from '../../src/application/oai.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import {
  countOaiRecords,
  earliestOaiDatestamp,
  findOaiRecord,
  iterateOaiRecords,
  listOaiSets,
  oaiReadModel,
  oaiVisible,
} from '../../src/projections/oai-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { recordedEvent } from '../helpers/events.ts';

/**
 * The OAI read model's rules, event by event: the harvest order is the position where a work
 * first became visible; withdrawn works and works hidden after they were visible are deleted
 * records for good; a work never visible never appears; datestamps move only with what a
 * harvester sees; re-delivered batches change nothing. And the argument rules of the spec.
 */
const at = (e: RecordedEvent, iso: string): RecordedEvent => ({ ...e, metadata: { ...e.metadata, occurredAt: iso } });

function setup(policy: 'hidden' | 'metadata' = 'hidden') {
  const db = openReadModelDb(':memory:');
  const p = oaiReadModel({ restricted: policy });
  p.setup(db);
  let position = 0n;
  const revisions = new Map<string, bigint>();
  const ev = (stream: string, type: string, data: unknown, iso = '2020-01-01T00:00:00.000Z') => {
    const rev = revisions.get(stream) ?? 0n;
    revisions.set(stream, rev + 1n);
    return at(recordedEvent(stream, rev, ++position, type, data), iso);
  };
  const apply = (...events: RecordedEvent[]) => db.transaction(() => p.apply(db, events))();
  const all = () => [...iterateOaiRecords(db, {}, 0, 1000)];
  return { db, p, ev, apply, all };
}

const registered = (objectId: string, accessLevel = 'open', extra: Record<string, unknown> = {}) => ({ objectId, metadata: { title: objectId, ...extra }, accessLevel });

test('the access decision for an anonymous visitor says what is harvested, by policy', (t) => {
  t.true(oaiVisible('open', 'active', 'hidden'));
  t.false(oaiVisible('restricted', 'active', 'hidden'));
  t.true(oaiVisible('restricted', 'active', 'metadata'));
  t.false(oaiVisible('confidential', 'active', 'metadata'));
  t.false(oaiVisible('open', 'withdrawn', 'metadata'));
});

test('order, deleted records, never-visible works and datestamps', (t) => {
  const { db, ev, apply, all } = setup();
  const a1 = ev('object-a', 'ObjectRegistered', registered('a', 'open', { collectionId: 'c' }), '2024-03-01T10:00:00.400Z');
  const b1 = ev('object-b', 'ObjectRegistered', registered('b', 'confidential'), '2024-03-01T10:00:01.000Z');
  const c1 = ev('object-c', 'ObjectRegistered', registered('c', 'restricted'), '2024-03-01T10:00:02.000Z');
  apply(a1, b1, c1, ev('collection-c', 'CollectionCreated', { collectionId: 'c', title: 'Bộ C' }));
  t.deepEqual(all().map((r) => r.objectId), ['a']);
  t.is(findOaiRecord(db, 'b'), undefined);
  t.is(findOaiRecord(db, 'a')?.datestamp, '2024-03-01T10:00:00Z');
  t.deepEqual(listOaiSets(db), [{ spec: 'c', name: 'Bộ C' }]);

  // b becomes open later: it sorts after a, at the position where it became visible.
  const b2 = ev('object-b', 'AccessPolicyChanged', { objectId: 'b', from: 'confidential', to: 'open' }, '2024-03-02T00:00:00.000Z');
  apply(b2);
  t.deepEqual(all().map((r) => [r.objectId, r.seq]), [['a', Number(a1.position)], ['b', Number(b2.position)]]);

  // a withdrawn: deleted, keeps its place and set, stamped when it went.
  apply(ev('object-a', 'ObjectWithdrawn', { objectId: 'a', reason: 'trùng' }, '2024-03-03T08:00:00.000Z'));
  const a = findOaiRecord(db, 'a')!;
  t.true(a.deleted);
  t.is(a.seq, Number(a1.position));
  t.is(a.setSpec, 'c');
  t.is(a.datestamp, '2024-03-03T08:00:00Z');
  t.deepEqual(listOaiSets(db), [], 'a set with no visible work is not listed');

  // b made confidential: deleted; an edit while hidden does not move its datestamp.
  apply(ev('object-b', 'AccessPolicyChanged', { objectId: 'b', from: 'open', to: 'confidential' }, '2024-03-04T00:00:00.000Z'));
  apply(ev('object-b', 'MetadataEdited', { objectId: 'b', changes: { title: 'B mới' } }, '2024-03-05T00:00:00.000Z'));
  t.true(findOaiRecord(db, 'b')!.deleted);
  t.is(findOaiRecord(db, 'b')!.datestamp, '2024-03-04T00:00:00Z');
  // Opened again: the same place, its current metadata, stamped now.
  apply(ev('object-b', 'AccessPolicyChanged', { objectId: 'b', from: 'confidential', to: 'open' }, '2024-03-06T00:00:00.000Z'));
  const b = findOaiRecord(db, 'b')!;
  t.false(b.deleted);
  t.is(b.seq, Number(b2.position));
  t.is(JSON.parse(b.metadata).title, 'B mới');
  t.is(b.datestamp, '2024-03-06T00:00:00Z');

  t.is(earliestOaiDatestamp(db), '2024-03-03T08:00:00Z');
  t.is(countOaiRecords(db, { from: '2024-03-04T00:00:00Z' }), 1);
  t.is(countOaiRecords(db, { until: '2024-03-03T08:00:00Z' }), 1);
  t.is(countOaiRecords(db, { set: 'c' }), 1);
});

test('a re-delivered batch changes nothing', (t) => {
  const { ev, apply, all } = setup();
  const events = [ev('object-a', 'ObjectRegistered', registered('a')), ev('object-a', 'MetadataEdited', { objectId: 'a', changes: { title: 'A2' } }, '2024-01-01T00:00:00.000Z')];
  apply(...events);
  const once = all();
  apply(...events);
  t.deepEqual(all(), once);
  t.is(JSON.parse(once[0]!.metadata).title, 'A2');
});

test('with the metadata policy restricted works are harvested', (t) => {
  const { ev, apply, all } = setup('metadata');
  apply(ev('object-r', 'ObjectRegistered', registered('r', 'restricted')));
  t.deepEqual(all().map((r) => [r.objectId, r.deleted]), [['r', false]]);
  t.not(oaiReadModel({ restricted: 'metadata' }).version, oaiReadModel({ restricted: 'hidden' }).version, 'changing the policy rebuilds');
});

test('arguments: the spec\'s rules for verbs, repeats, exclusivity and dates', (t) => {
  const codes = (qs: string) => {
    const r = parseOaiArguments([...new URLSearchParams(qs).entries()]);
    return r.ok ? r.request : r.errors.map((e) => e.code);
  };
  t.deepEqual(codes('verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&until=2024-01-01'), {
    verb: 'ListRecords',
    metadataPrefix: 'oai_dc',
    from: '2024-01-01T00:00:00Z',
    until: '2024-01-01T23:59:59Z',
  });
  t.deepEqual(codes('verb=ListIdentifiers&resumptionToken=x'), { verb: 'ListIdentifiers', resumptionToken: 'x' });
  t.deepEqual(codes('verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T10:00:00Z&until=2024-01-01T09:59:59Z'), ['badArgument']);
  t.deepEqual(codes('verb=ListRecords&metadataPrefix=oai_dc&from=2023-02-29'), ['badArgument']);
  t.deepEqual(codes('verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T24:00:00Z'), ['badArgument']);
  t.deepEqual(codes('verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T00:00Z'), ['badArgument']);
  t.deepEqual(codes('verb=Identify&verb=ListSets'), ['badVerb']);
  t.deepEqual(codes('verb=GetRecord'), ['badArgument', 'badArgument']);
  t.deepEqual(codes('verb=ListSets&resumptionToken=a&resumptionToken=b'), ['badArgument']);
});

import { createHash } from 'node:crypto';
import test from 'ava';
import { DomainError } from '../../src/domain/errors.ts';
import { type IngestedFile, type ObjectHistoryEvent, parseEventData } from '../../src/domain/events.ts';
import { decideObject, evolveObject, initialObjectState, type ObjectCommand, type ObjectState } from '../../src/domain/object.ts';
import { folio, labelsFromPattern, rangeCanvases, readingPages } from '../../src/domain/page-structure.ts';

/** Page labels and the table of contents: the pattern generator, and what the decider accepts. */

test('{f} counts folios with their side: tờ 1a, tờ 1b, tờ 2a', (t) => {
  t.deepEqual(labelsFromPattern('tờ {f}', 5), ['tờ 1a', 'tờ 1b', 'tờ 2a', 'tờ 2b', 'tờ 3a']);
  t.deepEqual([1, 2, 3, 4].map(folio), ['1a', '1b', '2a', '2b']);
});

test('{n} counts pages from start, and {f} from start too', (t) => {
  t.deepEqual(labelsFromPattern('Trang {n}', 3), ['Trang 1', 'Trang 2', 'Trang 3']);
  t.deepEqual(labelsFromPattern('{n}', 3, 5), ['5', '6', '7']);
  t.deepEqual(labelsFromPattern('tờ {f}', 3, 3), ['tờ 2a', 'tờ 2b', 'tờ 3a']);
  t.deepEqual(labelsFromPattern('  {n} ({f})  ', 2), ['1 (1a)', '2 (1b)']);
});

test('a pattern without a placeholder, with an unknown one, or a bad start is refused in both languages', (t) => {
  for (const [pattern, start] of [['tờ', 1], ['tờ {x}', 1], ['', 1], ['{n}', 0], ['{n}', 1.5], ['a\u0000{n}', 1]] as const) {
    const err = t.throws(() => labelsFromPattern(pattern, 2, start), { instanceOf: DomainError }, pattern);
    t.is(err?.code, 'invalid-input');
    t.truthy(err?.messages.vi && err.messages.en);
  }
  t.throws(() => labelsFromPattern(`${'x'.repeat(199)}{n}`, 10), { instanceOf: DomainError });
});

// ---------------------------------------------------------------------------------------

const ID = 'hn-0001';
const hex = (a: string, s: string) => createHash(a).update(s).digest('hex');
function file(fileId: string, pages?: number): IngestedFile {
  return {
    fileId,
    name: `${fileId}.tif`,
    role: 'master',
    size: 1000,
    mediaType: 'image/tiff',
    digests: { sha512: hex('sha512', fileId), sha256: hex('sha256', fileId) },
    image: { width: 400, height: 600, ...(pages ? { pages } : {}) },
    storage: { ocflObjectId: `urn:thukho:${ID}`, version: 'v1', path: `content/${fileId}.tif` },
  };
}
const given: ObjectHistoryEvent[] = [
  { type: 'ObjectRegistered', data: { objectId: ID, metadata: { title: 'Truyện Kiều' }, accessLevel: 'open' } },
  { type: 'FileIngested', data: { ...file('a'), objectId: ID, sequence: 0 } },
  { type: 'FileIngested', data: { ...file('b', 3), objectId: ID, sequence: 1 } },
];
const fold = (events: ObjectHistoryEvent[]): ObjectState => events.reduce<ObjectState>(evolveObject, initialObjectState);
const state = fold(given);

function run(s: ObjectState, command: ObjectCommand) {
  const events = decideObject(command, s);
  // What the decider emits must be what the log accepts.
  for (const e of events) parseEventData(e.type, 1, e.data);
  return { events, state: events.reduce<ObjectState>((st, e) => evolveObject(st, e), s) };
}

test('reading pages list every page of a multi-page master', (t) => {
  if (state.status === 'absent') return t.fail();
  t.deepEqual(readingPages(state.files).map((p) => p.imageId), ['a', 'b', 'b~p2', 'b~p3']);
});

test('a pattern labels every page in one PageLabelsSet; running it again changes nothing', (t) => {
  const first = run(state, { type: 'SetPageLabels', objectId: ID, pattern: 'tờ {f}' });
  t.is(first.events.length, 1);
  t.deepEqual(first.events[0], {
    type: 'PageLabelsSet',
    data: {
      objectId: ID,
      pattern: 'tờ {f}',
      labels: [
        { fileId: 'a', label: 'tờ 1a' },
        { fileId: 'b', label: 'tờ 1b' },
        { fileId: 'b', page: 2, label: 'tờ 2a' },
        { fileId: 'b', page: 3, label: 'tờ 2b' },
      ],
    },
  });
  if (first.state.status === 'absent') return t.fail();
  t.deepEqual(first.state.pageLabels, { a: 'tờ 1a', b: 'tờ 1b', 'b~p2': 'tờ 2a', 'b~p3': 'tờ 2b' });
  t.deepEqual(decideObject({ type: 'SetPageLabels', objectId: ID, pattern: 'tờ {f}' }, first.state), []);

  // One by one: only what differs is recorded; an empty label clears the page's.
  const edited = run(first.state, {
    type: 'SetPageLabels',
    objectId: ID,
    labels: [{ fileId: 'a', label: 'bìa' }, { fileId: 'b', label: 'tờ 1b' }, { fileId: 'b', page: 3, label: '' }],
  });
  t.deepEqual(edited.events[0]?.data, { objectId: ID, labels: [{ fileId: 'a', label: 'bìa' }, { fileId: 'b', page: 3, label: '' }] });
  if (edited.state.status === 'absent') return t.fail();
  t.deepEqual(edited.state.pageLabels, { a: 'bìa', b: 'tờ 1b', 'b~p2': 'tờ 2a' });
});

test('labels must name existing pages, once each, and be short well-formed text', (t) => {
  const bad: Array<ObjectCommand & { type: 'SetPageLabels' }> = [
    { type: 'SetPageLabels', objectId: ID, labels: [{ fileId: 'zzz', label: 'x' }] },
    { type: 'SetPageLabels', objectId: ID, labels: [{ fileId: 'b', page: 4, label: 'x' }] },
    { type: 'SetPageLabels', objectId: ID, labels: [{ fileId: 'a', label: 'x' }, { fileId: 'a', label: 'y' }] },
    { type: 'SetPageLabels', objectId: ID, labels: [{ fileId: 'a', label: 'x'.repeat(201) }] },
    { type: 'SetPageLabels', objectId: ID, labels: [{ fileId: 'a', label: 'x\ud800' }] },
  ];
  for (const c of bad) {
    const err = t.throws(() => decideObject(c, state), { instanceOf: DomainError });
    t.is(err?.code, 'invalid-input');
    t.regex(err?.messages.vi ?? '', /\p{L}/u);
  }
  const absent = t.throws(() => decideObject({ type: 'SetPageLabels', objectId: ID, pattern: '{n}' }, initialObjectState), { instanceOf: DomainError });
  t.is(absent?.code, 'not-found');
});

test('a table of contents starts on existing pages in reading order, and its ranges run to the next start', (t) => {
  const set = run(state, {
    type: 'SetStructure',
    objectId: ID,
    ranges: [{ label: 'Bìa', fileId: 'a' }, { label: 'Hồi 1', fileId: 'b', page: 2 }],
  });
  t.deepEqual(set.events, [{ type: 'StructureSet', data: { objectId: ID, ranges: [{ label: 'Bìa', fileId: 'a' }, { label: 'Hồi 1', fileId: 'b', page: 2 }] } }]);
  if (set.state.status === 'absent') return t.fail();
  const pages = readingPages(set.state.files);
  t.deepEqual(rangeCanvases(set.state.structure ?? [], pages, ['a', 'b', 'b~p2', 'b~p3']), [
    { label: 'Bìa', imageIds: ['a', 'b'] },
    { label: 'Hồi 1', imageIds: ['b~p2', 'b~p3'] },
  ]);
  // Pages without a canvas yet are left out; an entry with none is not shown.
  t.deepEqual(rangeCanvases(set.state.structure ?? [], pages, ['a', 'b']), [{ label: 'Bìa', imageIds: ['a', 'b'] }]);
  t.deepEqual(decideObject({ type: 'SetStructure', objectId: ID, ranges: [{ label: ' Bìa ', fileId: 'a' }, { label: 'Hồi 1', fileId: 'b', page: 2 }] }, set.state), []);
  const cleared = run(set.state, { type: 'SetStructure', objectId: ID, ranges: [] });
  t.is(cleared.events.length, 1);
  t.false(cleared.state.status !== 'absent' && 'structure' in cleared.state);

  const outOfOrder = t.throws(() => decideObject({ type: 'SetStructure', objectId: ID, ranges: [{ label: 'B', fileId: 'b' }, { label: 'A', fileId: 'a' }] }, state), { instanceOf: DomainError });
  t.is(outOfOrder?.code, 'invalid-order');
  for (const ranges of [[{ label: 'x', fileId: 'nope' }], [{ label: '  ', fileId: 'a' }], [{ label: 'x', fileId: 'b', page: 9 }]]) {
    t.is(t.throws(() => decideObject({ type: 'SetStructure', objectId: ID, ranges }, state), { instanceOf: DomainError })?.code, 'invalid-input');
  }
});

test('an edit keeps its reason, on the metadata change and on an access change made with it', (t) => {
  const r = run(state, { type: 'EditMetadata', objectId: ID, changes: { title: 'Kim Vân Kiều' }, accessLevel: 'restricted', reason: ' nhan đề theo bản 1871 ' });
  t.deepEqual(r.events, [
    { type: 'MetadataEdited', data: { objectId: ID, changes: { title: 'Kim Vân Kiều' }, reason: 'nhan đề theo bản 1871' } },
    { type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'restricted', reason: 'nhan đề theo bản 1871' } },
  ]);
});

import { createHash } from 'node:crypto';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { DomainError, type DomainErrorCode } from '../../src/domain/errors.ts';
import { type DerivativeInfo, type IngestedFile, OBJECT_DECISION_TYPES, type ObjectEvent, type ObjectHistoryEvent, type PreservationEvent } from '../../src/domain/events.ts';
import { Metadata, MetadataChanges } from '../../src/domain/metadata.ts';
import {
  decideObject,
  evolveObject,
  initialObjectState,
  type ObjectCommand,
  type ObjectState,
} from '../../src/domain/object.ts';

/**
 * The object decider as given / when / then tables: fold `given` with evolveObject, run
 * decideObject on `when`, and expect either exactly `then` events or a DomainError code.
 */
interface Case {
  name: string;
  given: ObjectHistoryEvent[];
  when: ObjectCommand;
  then: ObjectEvent[] | DomainErrorCode;
}

function fold(events: ObjectHistoryEvent[]): ObjectState {
  return events.reduce<ObjectState>((state, e) => evolveObject(state, e), initialObjectState);
}

function check(t: ExecutionContext, c: Case): void {
  const state = fold(c.given);
  if (typeof c.then === 'string') {
    const err = t.throws(() => decideObject(c.when, state), { instanceOf: DomainError });
    t.is(err?.code, c.then);
    // Every domain error speaks both languages.
    t.truthy(err?.messages.vi);
    t.truthy(err?.messages.en);
  } else {
    t.deepEqual(decideObject(c.when, state), c.then);
  }
}

function table(prefix: string, cases: Case[]): void {
  for (const c of cases) test(`${prefix}: ${c.name}`, (t) => check(t, c));
}

// ---------------------------------------------------------------------------------------
// Fixtures

const ID = 'hn-0001';
const baseMetadata: Metadata = {
  title: 'Đại Nam thực lục',
  creator: 'Quốc sử quán triều Nguyễn',
  date: '1820',
  yearFrom: 1820,
  yearTo: 1820,
  language: ['lzh'],
};

const registered: ObjectEvent = {
  type: 'ObjectRegistered',
  data: { objectId: ID, metadata: baseMetadata, accessLevel: 'open' },
};
const withdrawn: ObjectEvent = { type: 'ObjectWithdrawn', data: { objectId: ID, reason: 'Trả lại cho chủ sở hữu' } };

function hex(algorithm: 'sha512' | 'sha256' | 'md5', seed: string): string {
  return createHash(algorithm).update(seed).digest('hex');
}

/** A file whose digests are derived from `content`: same content, same digests. */
function file(fileId: string, content: string = fileId): IngestedFile {
  return {
    fileId,
    name: `${fileId}.tif`,
    role: 'master',
    size: 1000 + content.length,
    mediaType: 'image/tiff',
    digests: { sha512: hex('sha512', content), sha256: hex('sha256', content) },
    image: { width: 4000, height: 6000, bitDepth: 8 },
    storage: { ocflObjectId: `urn:thukho:${ID}`, version: 'v1', path: `content/${fileId}.tif` },
  };
}

function ingested(f: IngestedFile, sequence: number): ObjectEvent {
  return { type: 'FileIngested', data: { ...f, objectId: ID, sequence } };
}

const fa = file('page-1');
const fb = file('page-2');
const fc = file('page-3');
const threeFiles: ObjectEvent[] = [registered, ingested(fa, 0), ingested(fb, 1), ingested(fc, 2)];

// ---------------------------------------------------------------------------------------
// RegisterObject

table('RegisterObject', [
  {
    name: 'registers a new object with its metadata and access level',
    given: [],
    when: { type: 'RegisterObject', objectId: ID, metadata: baseMetadata, accessLevel: 'restricted' },
    then: [{ type: 'ObjectRegistered', data: { objectId: ID, metadata: baseMetadata, accessLevel: 'restricted' } }],
  },
  {
    name: 'an id that already exists is rejected',
    given: [registered],
    when: { type: 'RegisterObject', objectId: ID, metadata: { title: 'Khác' }, accessLevel: 'open' },
    then: 'already-exists',
  },
  {
    name: 'a withdrawn id cannot be registered again',
    given: [registered, withdrawn],
    when: { type: 'RegisterObject', objectId: ID, metadata: { title: 'Khác' }, accessLevel: 'open' },
    then: 'already-exists',
  },
  {
    name: 'yearFrom/yearTo are derived from a free-text date when both are absent',
    given: [],
    when: {
      type: 'RegisterObject',
      objectId: ID,
      metadata: { title: 'Địa bạ', date: 'khoảng 1820–1840' },
      accessLevel: 'open',
    },
    then: [
      {
        type: 'ObjectRegistered',
        data: {
          objectId: ID,
          metadata: { title: 'Địa bạ', date: 'khoảng 1820–1840', yearFrom: 1820, yearTo: 1840 },
          accessLevel: 'open',
        },
      },
    ],
  },
  {
    name: 'a reign-era date is derived too (Tự Đức thứ 5 → 1852)',
    given: [],
    when: { type: 'RegisterObject', objectId: ID, metadata: { title: 'Sắc phong', date: 'Tự Đức thứ 5' }, accessLevel: 'open' },
    then: [
      {
        type: 'ObjectRegistered',
        data: {
          objectId: ID,
          metadata: { title: 'Sắc phong', date: 'Tự Đức thứ 5', yearFrom: 1852, yearTo: 1852 },
          accessLevel: 'open',
        },
      },
    ],
  },
  {
    name: 'a year the cataloguer gave is kept, not overwritten from the date',
    given: [],
    when: {
      type: 'RegisterObject',
      objectId: ID,
      metadata: { title: 'Sắc phong', date: 'thế kỷ XIX', yearFrom: 1850 },
      accessLevel: 'open',
    },
    then: [
      {
        type: 'ObjectRegistered',
        data: { objectId: ID, metadata: { title: 'Sắc phong', date: 'thế kỷ XIX', yearFrom: 1850 }, accessLevel: 'open' },
      },
    ],
  },
  {
    name: 'a date that says nothing mappable adds no years',
    given: [],
    when: { type: 'RegisterObject', objectId: ID, metadata: { title: 'Gia phả', date: 'không rõ' }, accessLevel: 'open' },
    then: [
      {
        type: 'ObjectRegistered',
        data: { objectId: ID, metadata: { title: 'Gia phả', date: 'không rõ' }, accessLevel: 'open' },
      },
    ],
  },
  {
    name: 'yearFrom after yearTo is rejected',
    given: [],
    when: {
      type: 'RegisterObject',
      objectId: ID,
      metadata: { title: 'Gia phả', yearFrom: 1900, yearTo: 1800 },
      accessLevel: 'open',
    },
    then: 'invalid-input',
  },
  {
    name: 'yearFrom equal to yearTo is fine',
    given: [],
    when: { type: 'RegisterObject', objectId: ID, metadata: { title: 'Gia phả', yearFrom: 1900, yearTo: 1900 }, accessLevel: 'open' },
    then: [
      {
        type: 'ObjectRegistered',
        data: { objectId: ID, metadata: { title: 'Gia phả', yearFrom: 1900, yearTo: 1900 }, accessLevel: 'open' },
      },
    ],
  },
]);

// ---------------------------------------------------------------------------------------
// EditMetadata

table('EditMetadata', [
  {
    name: 'a changed title yields MetadataEdited with only that change',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { title: 'Đại Nam thực lục chính biên' } },
    then: [{ type: 'MetadataEdited', data: { objectId: ID, changes: { title: 'Đại Nam thực lục chính biên' } } }],
  },
  {
    name: 'an edit that changes nothing yields no events',
    given: [registered],
    when: {
      type: 'EditMetadata',
      objectId: ID,
      changes: { title: baseMetadata.title, creator: baseMetadata.creator, language: ['lzh'] },
    },
    then: [],
  },
  {
    name: 'unchanged fields are dropped from a partly changing edit',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { title: baseMetadata.title, language: ['lzh', 'vie'] } },
    then: [{ type: 'MetadataEdited', data: { objectId: ID, changes: { language: ['lzh', 'vie'] } } }],
  },
  {
    name: 'null clears a field that is set',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { creator: null } },
    then: [{ type: 'MetadataEdited', data: { objectId: ID, changes: { creator: null } } }],
  },
  {
    name: 'null on a field that is not set changes nothing',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { description: null } },
    then: [],
  },
  {
    name: 'a new date re-derives the year range',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { date: 'thế kỷ XIX' } },
    then: [
      {
        type: 'MetadataEdited',
        data: { objectId: ID, changes: { date: 'thế kỷ XIX', yearFrom: 1801, yearTo: 1900 } },
      },
    ],
  },
  {
    name: 'a new date with years set in the same edit keeps the editor’s years',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { date: 'thế kỷ XIX', yearFrom: 1850, yearTo: 1860 } },
    then: [
      {
        type: 'MetadataEdited',
        data: { objectId: ID, changes: { date: 'thế kỷ XIX', yearFrom: 1850, yearTo: 1860 } },
      },
    ],
  },
  {
    name: 'clearing the date clears the derived years',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { date: null } },
    then: [{ type: 'MetadataEdited', data: { objectId: ID, changes: { date: null, yearFrom: null, yearTo: null } } }],
  },
  {
    name: 'a yearFrom after the stored yearTo is rejected',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { yearFrom: 1900 } },
    then: 'invalid-input',
  },
  {
    name: 'an accessLevel change yields AccessPolicyChanged',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: {}, accessLevel: 'confidential' },
    then: [{ type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'confidential' } }],
  },
  {
    name: 'metadata and access level change together: MetadataEdited then AccessPolicyChanged',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { extent: '120 tờ' }, accessLevel: 'restricted' },
    then: [
      { type: 'MetadataEdited', data: { objectId: ID, changes: { extent: '120 tờ' } } },
      { type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'restricted' } },
    ],
  },
  {
    name: 'the same accessLevel yields no AccessPolicyChanged',
    given: [registered],
    when: { type: 'EditMetadata', objectId: ID, changes: { title: baseMetadata.title }, accessLevel: 'open' },
    then: [],
  },
  {
    name: 'the access level is compared with the current one, after earlier changes',
    given: [registered, { type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'restricted' } }],
    when: { type: 'EditMetadata', objectId: ID, changes: {}, accessLevel: 'restricted' },
    then: [],
  },
  {
    name: 'a withdrawn object cannot be edited',
    given: [registered, withdrawn],
    when: { type: 'EditMetadata', objectId: ID, changes: { title: 'Mới' } },
    then: 'withdrawn',
  },
  {
    name: 'an absent object cannot be edited',
    given: [],
    when: { type: 'EditMetadata', objectId: ID, changes: { title: 'Mới' } },
    then: 'not-found',
  },
]);

// ---------------------------------------------------------------------------------------
// RecordFileIngested

table('RecordFileIngested', [
  {
    name: 'the first file gets sequence 0',
    given: [registered],
    when: { type: 'RecordFileIngested', objectId: ID, file: fa },
    then: [ingested(fa, 0)],
  },
  {
    name: 'later files are numbered after the existing ones',
    given: [registered, ingested(fa, 0), ingested(fb, 1)],
    when: { type: 'RecordFileIngested', objectId: ID, file: fc },
    then: [ingested(fc, 2)],
  },
  {
    name: 'the same bytes (sha512) twice yield no event',
    given: [registered, ingested(fa, 0)],
    when: { type: 'RecordFileIngested', objectId: ID, file: fa },
    then: [],
  },
  {
    name: 'the same bytes under another file id are still stored once',
    given: [registered, ingested(fa, 0)],
    when: { type: 'RecordFileIngested', objectId: ID, file: file('page-9', 'page-1') },
    then: [],
  },
  {
    name: 'the same file id with a different digest is rejected',
    given: [registered, ingested(fa, 0)],
    when: { type: 'RecordFileIngested', objectId: ID, file: file('page-1', 'other bytes') },
    then: 'already-exists',
  },
  {
    name: 'a withdrawn object takes no files',
    given: [registered, withdrawn],
    when: { type: 'RecordFileIngested', objectId: ID, file: fa },
    then: 'withdrawn',
  },
  {
    name: 'an absent object takes no files',
    given: [],
    when: { type: 'RecordFileIngested', objectId: ID, file: fa },
    then: 'not-found',
  },
]);

// ---------------------------------------------------------------------------------------
// ReorderFiles

table('ReorderFiles', [
  {
    name: 'a permutation yields FilesReordered',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-3', 'page-1', 'page-2'] },
    then: [{ type: 'FilesReordered', data: { objectId: ID, order: ['page-3', 'page-1', 'page-2'] } }],
  },
  {
    name: 'the current order yields no events',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-1', 'page-2', 'page-3'] },
    then: [],
  },
  {
    name: 'a missing file is rejected',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-3', 'page-1'] },
    then: 'invalid-order',
  },
  {
    name: 'a duplicated file is rejected',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-3', 'page-1', 'page-1'] },
    then: 'invalid-order',
  },
  {
    name: 'a duplicate that keeps the length but drops a file is rejected',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-1', 'page-1', 'page-2', 'page-3'] },
    then: 'invalid-order',
  },
  {
    name: 'an unknown file is rejected',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-3', 'page-1', 'page-4'] },
    then: 'invalid-order',
  },
  {
    name: 'an extra unknown file is rejected',
    given: threeFiles,
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-1', 'page-2', 'page-3', 'page-4'] },
    then: 'invalid-order',
  },
  {
    name: 'the order is compared with the current (already reordered) order',
    given: [...threeFiles, { type: 'FilesReordered', data: { objectId: ID, order: ['page-2', 'page-3', 'page-1'] } }],
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-2', 'page-3', 'page-1'] },
    then: [],
  },
  {
    name: 'a withdrawn object cannot be reordered',
    given: [...threeFiles, withdrawn],
    when: { type: 'ReorderFiles', objectId: ID, order: ['page-3', 'page-1', 'page-2'] },
    then: 'withdrawn',
  },
  {
    name: 'an absent object cannot be reordered',
    given: [],
    when: { type: 'ReorderFiles', objectId: ID, order: [] },
    then: 'not-found',
  },
]);

// ---------------------------------------------------------------------------------------
// ChangeAccessPolicy and WithdrawObject

table('ChangeAccessPolicy', [
  {
    name: 'a new level yields AccessPolicyChanged with the reason',
    given: [registered],
    when: { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'restricted', reason: 'Tài liệu dễ rách' },
    then: [
      {
        type: 'AccessPolicyChanged',
        data: { objectId: ID, from: 'open', to: 'restricted', reason: 'Tài liệu dễ rách' },
      },
    ],
  },
  {
    name: 'without a reason the event has no reason key',
    given: [registered],
    when: { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'confidential' },
    then: [{ type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'confidential' } }],
  },
  {
    name: 'the same level yields no events',
    given: [registered],
    when: { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'open', reason: 'không đổi' },
    then: [],
  },
  {
    name: 'from is the level after earlier changes',
    given: [registered, { type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'confidential' } }],
    when: { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'open' },
    then: [{ type: 'AccessPolicyChanged', data: { objectId: ID, from: 'confidential', to: 'open' } }],
  },
  {
    name: 'a withdrawn object keeps its policy',
    given: [registered, withdrawn],
    when: { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'restricted' },
    then: 'withdrawn',
  },
  {
    name: 'an absent object has no policy to change',
    given: [],
    when: { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'restricted' },
    then: 'not-found',
  },
]);

table('WithdrawObject', [
  {
    name: 'an active object is withdrawn',
    given: [registered],
    when: { type: 'WithdrawObject', objectId: ID, reason: 'Trả lại cho chủ sở hữu' },
    then: [withdrawn],
  },
  {
    name: 'withdrawing twice is rejected',
    given: [registered, withdrawn],
    when: { type: 'WithdrawObject', objectId: ID, reason: 'lần hai' },
    then: 'withdrawn',
  },
  {
    name: 'an absent object cannot be withdrawn',
    given: [],
    when: { type: 'WithdrawObject', objectId: ID, reason: 'không có' },
    then: 'not-found',
  },
]);

// ---------------------------------------------------------------------------------------
// evolveObject

test('evolve: registration, edits and clearing build the metadata', (t) => {
  const state = fold([
    registered,
    { type: 'MetadataEdited', data: { objectId: ID, changes: { title: 'Tên mới', creator: null, extent: '3 quyển' } } },
  ]);
  t.deepEqual(state, {
    status: 'active',
    objectId: ID,
    metadata: { title: 'Tên mới', date: '1820', yearFrom: 1820, yearTo: 1820, language: ['lzh'], extent: '3 quyển' },
    accessLevel: 'open',
    files: [],
  });
});

test('evolve: FileIngested keeps the sequence and drops the objectId from the stored file', (t) => {
  const state = fold([registered, ingested(fa, 0), ingested(fb, 1)]);
  if (state.status === 'absent') return t.fail('object should exist');
  t.deepEqual(state.files, [
    { ...fa, sequence: 0 },
    { ...fb, sequence: 1 },
  ]);
});

test('evolve: FilesReordered puts files in the new order and renumbers their sequence', (t) => {
  const state = fold([...threeFiles, { type: 'FilesReordered', data: { objectId: ID, order: ['page-3', 'page-1', 'page-2'] } }]);
  if (state.status === 'absent') return t.fail('object should exist');
  t.deepEqual(
    state.files.map((f) => [f.fileId, f.sequence]),
    [
      ['page-3', 0],
      ['page-1', 1],
      ['page-2', 2],
    ],
  );
  // The next file is numbered after all of them.
  t.deepEqual(decideObject({ type: 'RecordFileIngested', objectId: ID, file: file('page-4') }, state), [
    ingested(file('page-4'), 3),
  ]);
});

test('evolve: AccessPolicyChanged and ObjectWithdrawn update level, status and reason', (t) => {
  const state = fold([
    registered,
    { type: 'AccessPolicyChanged', data: { objectId: ID, from: 'open', to: 'restricted' } },
    withdrawn,
  ]);
  if (state.status === 'absent') return t.fail('object should exist');
  t.is(state.status, 'withdrawn');
  t.is(state.accessLevel, 'restricted');
  t.is(state.withdrawnReason, 'Trả lại cho chủ sở hữu');
  t.is(state.metadata.title, baseMetadata.title);
});

test('evolve: an event on an absent object leaves it absent', (t) => {
  t.deepEqual(evolveObject(initialObjectState, withdrawn), { status: 'absent' });
});

test('decide → evolve round trip: a register, ingest, reorder, edit sequence reaches the expected state', (t) => {
  let state: ObjectState = initialObjectState;
  const commands: ObjectCommand[] = [
    { type: 'RegisterObject', objectId: ID, metadata: { title: 'Hương ước', date: 'Minh Mạng năm thứ 3' }, accessLevel: 'open' },
    { type: 'RecordFileIngested', objectId: ID, file: fa },
    { type: 'RecordFileIngested', objectId: ID, file: fb },
    { type: 'ReorderFiles', objectId: ID, order: ['page-2', 'page-1'] },
    { type: 'EditMetadata', objectId: ID, changes: { date: 'Gia Long 1' }, accessLevel: 'restricted' },
  ];
  for (const c of commands) state = decideObject(c, state).reduce(evolveObject, state);
  if (state.status === 'absent') return t.fail('object should exist');
  t.deepEqual(state.metadata, { title: 'Hương ước', date: 'Gia Long 1', yearFrom: 1802, yearTo: 1802 });
  t.is(state.accessLevel, 'restricted');
  t.deepEqual(
    state.files.map((f) => [f.fileId, f.sequence]),
    [
      ['page-2', 0],
      ['page-1', 1],
    ],
  );
});

// ---------------------------------------------------------------------------------------
// The Metadata schema

test('Metadata: a title typed in NFD (decomposed diacritics) is stored NFC', (t) => {
  const nfd = 'Truyện Kiều — Nguyễn Du'.normalize('NFD');
  const nfc = 'Truyện Kiều — Nguyễn Du'.normalize('NFC');
  t.not(nfd, nfc, 'the fixture really is decomposed');
  const parsed = Metadata.parse({ title: nfd, creator: 'Nguyễn Du'.normalize('NFD'), alternativeTitle: ['Đoạn trường tân thanh'.normalize('NFD')] });
  t.is(parsed.title, nfc);
  t.is(parsed.creator, 'Nguyễn Du'.normalize('NFC'));
  t.deepEqual(parsed.alternativeTitle, ['Đoạn trường tân thanh'.normalize('NFC')]);
});

test('Metadata: text is trimmed and Han-Nôm is kept as is', (t) => {
  const parsed = Metadata.parse({ title: '  傳翹  ', description: ' Bản Liễu Văn Đường \n' });
  t.is(parsed.title, '傳翹');
  t.is(parsed.description, 'Bản Liễu Văn Đường');
});

test('Metadata: an unknown field is rejected (strict)', (t) => {
  t.false(Metadata.safeParse({ title: 'Gia phả', publisher: 'Liễu Văn Đường' }).success);
  t.true(Metadata.safeParse({ title: 'Gia phả' }).success);
});

test('Metadata: a missing or blank title is rejected', (t) => {
  t.false(Metadata.safeParse({}).success);
  t.false(Metadata.safeParse({ creator: 'Nguyễn Du' }).success);
  t.false(Metadata.safeParse({ title: '' }).success);
  t.false(Metadata.safeParse({ title: '   \n' }).success);
});

test('Metadata: languages must be ISO 639-3 codes', (t) => {
  t.true(Metadata.safeParse({ title: 'Gia phả', language: ['vie', 'lzh'] }).success);
  t.false(Metadata.safeParse({ title: 'Gia phả', language: ['vi'] }).success);
  t.false(Metadata.safeParse({ title: 'Gia phả', language: ['VIE'] }).success);
  t.false(Metadata.safeParse({ title: 'Gia phả', language: ['tiếng Việt'] }).success);
  t.false(Metadata.safeParse({ title: 'Gia phả', language: 'vie' }).success);
});

test('Metadata: years must be integers in range and rights must be a URI', (t) => {
  t.false(Metadata.safeParse({ title: 'Gia phả', yearFrom: 1820.5 }).success);
  t.false(Metadata.safeParse({ title: 'Gia phả', yearTo: 2300 }).success);
  t.false(Metadata.safeParse({ title: 'Gia phả', rights: 'bản quyền của thư viện' }).success);
  t.true(Metadata.safeParse({ title: 'Gia phả', rights: 'http://rightsstatements.org/vocab/InC/1.0/' }).success);
});

test('MetadataChanges: null clears optional fields but the title cannot be cleared', (t) => {
  t.deepEqual(MetadataChanges.parse({ creator: null, date: null }), { creator: null, date: null });
  t.false(MetadataChanges.safeParse({ title: null }).success);
  t.false(MetadataChanges.safeParse({ title: ' ' }).success);
  t.false(MetadataChanges.safeParse({ nonsense: 1 }).success);
  t.is(MetadataChanges.parse({ title: 'Tự Đức'.normalize('NFD') }).title, 'Tự Đức'.normalize('NFC'));
});

// ---------------------------------------------------------------------------------------
// Machine facts: not the object decider's; folded for the read models, from either stream

function derivative(f: IngestedFile, pyramidSeed = 'p'): DerivativeInfo {
  return {
    masterSha512: f.digests.sha512,
    width: 4000,
    height: 6000,
    pyramid: { sha256: hex('sha256', pyramidSeed), size: 123_456, levels: 6 },
    tileSize: 256,
    scaleFactors: [1, 2, 4, 8, 16, 32],
    tiles: 500,
    sizes: [{ width: 125, height: 188 }],
    software: 'sharp test',
  };
}
const created = (f: IngestedFile, seed = 'p'): PreservationEvent => ({ type: 'DerivativeCreated', data: { ...derivative(f, seed), objectId: ID, fileId: f.fileId } });

test('no command of the object decider produces a machine fact', (t) => {
  const state = fold(threeFiles);
  const commands: ObjectCommand[] = [
    { type: 'EditMetadata', objectId: ID, changes: { subject: 'Địa chí' } },
    { type: 'ReorderFiles', objectId: ID, order: ['page-3', 'page-1', 'page-2'] },
    { type: 'ChangeAccessPolicy', objectId: ID, accessLevel: 'restricted' },
    { type: 'WithdrawObject', objectId: ID, reason: 'trùng lặp' },
  ];
  for (const c of commands) {
    for (const e of decideObject(c, state)) t.true((OBJECT_DECISION_TYPES as readonly string[]).includes(e.type), `${c.type} → ${e.type}`);
  }
});

test('facts an older log keeps on the object stream change no decision', (t) => {
  const legacy: PreservationEvent[] = [
    created(fa),
    { type: 'FixityChecked', data: { objectId: ID, fileId: 'page-1', target: 'master', path: 'v1/content/a', storageRoot: { label: 'primary', path: '/srv' }, outcome: 'pass', algorithm: 'sha512', expected: { sha512: fa.digests.sha512 }, actual: { sha512: fa.digests.sha512 }, bytes: 10, durationMs: 1 } },
    { type: 'FileReplicated', data: { objectId: ID, version: 'v1', replica: { label: 'nas', path: '/mnt/nas' }, files: 1, bytes: 10 } },
  ];
  const edit: ObjectCommand = { type: 'EditMetadata', objectId: ID, changes: { subject: 'Địa chí' } };
  t.deepEqual(decideObject(edit, fold([...threeFiles, ...legacy])), decideObject(edit, fold(threeFiles)));
});

test('a derivative made after a failure clears the failure; reordering keeps it', (t) => {
  const failed: PreservationEvent = { type: 'DerivativeFailed', data: { objectId: ID, fileId: 'page-1', masterSha512: fa.digests.sha512, reason: 'x', attempts: 5 } };
  const state = fold([...threeFiles, failed, created(fa), { type: 'FilesReordered', data: { objectId: ID, order: ['page-3', 'page-1', 'page-2'] } }]);
  if (state.status !== 'active') return t.fail();
  const p1 = state.files.find((f) => f.fileId === 'page-1');
  t.is(p1?.derivativeFailure, undefined);
  t.is(p1?.derivative?.pyramid.sha256, hex('sha256', 'p'));
  t.is(p1?.sequence, 1);
});

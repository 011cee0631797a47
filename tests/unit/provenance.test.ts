import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { executeObjectCommand, objectStream, preservationStream } from '../../src/application/object-commands.ts';
import {
  PREMIS_EVENT_TYPE_CODES,
  type Provenance,
  objectProvenance,
  premisEventType,
  verifyFixityConsistency,
} from '../../src/application/provenance.ts';
import { createUser } from '../../src/application/users.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { EVENT_TYPES, type EventData, type IngestedFile } from '../../src/domain/events.ts';
import type { PreservationEvent } from '../../src/domain/events.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { collect, testEvent } from '../helpers/events.ts';
import { recordDerivative, recordFact } from '../../src/application/machine-facts.ts';

/**
 * Provenance from a real SQLite log: each event as a PREMIS 3 event with the right
 * id.loc.gov terms, agents, linked objects and outcome; the stream's hash chain, intact and
 * tampered with; and the fixity-consistency check over object streams.
 */
const root = mkdtempSync(join(tmpdir(), 'thukho-provenance-'));
const stores: SqliteEventStore[] = [];
test.after.always(async () => {
  for (const s of stores) await s.close();
  rmSync(root, { recursive: true, force: true });
});
const newStore = () => {
  const store = new SqliteEventStore(join(root, `events-${stores.length}.sqlite`));
  stores.push(store);
  return store;
};

const hex = (c: string, len: number) => c.repeat(len);
const staff = { actor: { id: 'thu', role: 'staff' } };
const fixityWorker = { actor: { id: 'worker:fixity', role: 'admin' } };
const derivativeWorker = { actor: { id: 'worker:derivatives', role: 'admin' } };
const primary = { label: 'primary', path: '/srv/thukho/ocfl' };
const replica = { label: 'replica-1', path: '/mnt/replica/ocfl' };
const ID = 'http://id.loc.gov/vocabulary/preservation';

function ingested(objectId: string, fileId: string, c: string): IngestedFile {
  return {
    fileId,
    name: `${fileId}.tif`,
    role: 'master',
    size: 123_456,
    mediaType: 'image/tiff',
    digests: { sha512: hex(c, 128), sha256: hex(c, 64) },
    image: { width: 100, height: 80 },
    storage: { ocflObjectId: objectId, version: 'v1', path: `v1/content/${fileId}/${fileId}.tif` },
  };
}

function fixity(objectId: string, data: Partial<EventData<'FixityChecked'>>): PreservationEvent {
  return {
    type: 'FixityChecked',
    data: {
      objectId,
      fileId: 'f1',
      target: 'master',
      path: 'v1/content/f1/f1.tif',
      storageRoot: primary,
      outcome: 'pass',
      algorithm: 'sha512',
      expected: { sha512: hex('a', 128) },
      actual: { sha512: hex('a', 128) },
      bytes: 123_456,
      durationMs: 12,
      ...data,
    },
  };
}

const derivative = (c: string) => ({
  masterSha512: hex(c, 128),
  width: 100,
  height: 80,
  pyramid: { sha256: hex('d', 64), size: 2000, levels: 1 },
  tileSize: 512,
  scaleFactors: [1],
  tiles: 1,
  sizes: [{ width: 100, height: 80 }],
  software: 'sharp 0.35 (libvips 8.17)',
});

const preserve = (store: SqliteEventStore, objectId: string, event: PreservationEvent, ctx = fixityWorker) =>
  recordFact(store, objectId, event, ctx);

/** One object's whole life: registered, a master ingested, edited, derived, checked, replicated, damaged, repaired, withdrawn. */
async function seedLife(store: SqliteEventStore, objectId = 'kieu'): Promise<void> {
  await createUser(store, 'thu', 'Nguyễn Thị Thư', 'curator', { actor: { id: 'test', role: 'admin' } });
  await executeObjectCommand(
    store,
    { type: 'RegisterObject', objectId, metadata: { title: 'Truyện Kiều 金雲翹傳' }, accessLevel: 'open' },
    { ...staff, now: () => new Date('2024-05-01T08:00:00.000Z') },
  );
  await executeObjectCommand(store, { type: 'RecordFileIngested', objectId, file: ingested(objectId, 'f1', 'a') }, staff);
  await executeObjectCommand(store, { type: 'EditMetadata', objectId, changes: { title: 'Đoạn trường tân thanh', creator: 'Nguyễn Du' } }, staff);
  await recordDerivative(store, objectId, 'f1', derivative('a'), derivativeWorker);
  await preserve(store, objectId, fixity(objectId, {}));
  await preserve(store, objectId, { type: 'FileReplicated', data: { objectId, version: 'v1', replica, files: 1, bytes: 123_456 } });
  await preserve(
    store,
    objectId,
    fixity(objectId, { fileId: 'f1', outcome: 'fail', failure: 'changed', actual: { sha512: hex('b', 128) } }),
  );
  await preserve(store, objectId, {
    type: 'FileRepaired',
    data: { objectId, fileId: 'f1', target: 'master', path: 'v1/content/f1/f1.tif', storageRoot: primary, from: replica, sha512: hex('a', 128), failure: 'changed' },
  });
  await preserve(store, objectId, {
    type: 'FileDamaged',
    data: {
      objectId,
      fileId: 'f1',
      target: 'derivative',
      path: 'derivatives/aa/pyramid.tif',
      storageRoot: primary,
      failure: 'missing',
      tried: [{ root: replica, reason: 'derivatives are not replicated' }],
    },
  });
  await executeObjectCommand(store, { type: 'ChangeAccessPolicy', objectId, accessLevel: 'restricted', reason: 'bản quyền' }, staff);
  await executeObjectCommand(store, { type: 'WithdrawObject', objectId, reason: 'chuyển về kho lưu trữ quốc gia' }, staff);
  // Preservation goes on after withdrawal: the bytes are still kept.
  await preserve(store, objectId, fixity(objectId, { fileId: 'f1' }));
}

test('every event of both streams of the work becomes a PREMIS event, in log order, with its id.loc.gov eventType', async (t) => {
  const store = newStore();
  await seedLife(store);
  const p = await objectProvenance(store, 'kieu');
  const recorded = [...(await collect(store.readStream(objectStream('kieu')))), ...(await collect(store.readStream(preservationStream('kieu'))))].sort(
    (a, b) => Number(a.position - b.position),
  );
  t.deepEqual(
    p.events.map((e) => e.record.streamId),
    recorded.map((r) => r.streamId),
  );
  t.deepEqual(
    [...new Set(recorded.map((r) => r.streamId))].sort(),
    ['object-kieu', 'preservation-kieu'],
  );
  t.deepEqual(
    p.events.map((e) => [e.record.type, e.eventType.value, e.eventType.valueURI]),
    [
      ['ObjectRegistered', 'accession', `${ID}/eventType/acc`],
      ['FileIngested', 'ingestion', `${ID}/eventType/ing`],
      ['MetadataEdited', 'metadata modification', `${ID}/eventType/mem`],
      ['DerivativeCreated', 'creation', `${ID}/eventType/cre`],
      ['FixityChecked', 'fixity check', `${ID}/eventType/fix`],
      ['FileReplicated', 'replication', `${ID}/eventType/rep`],
      ['FixityChecked', 'fixity check', `${ID}/eventType/fix`],
      ['FileRepaired', 'recovery', `${ID}/eventType/rec`],
      ['FileDamaged', 'fixity check', `${ID}/eventType/fix`],
      ['AccessPolicyChanged', 'policy assignment', `${ID}/eventType/poa`],
      ['ObjectWithdrawn', 'deaccession', `${ID}/eventType/dea`],
      ['FixityChecked', 'fixity check', `${ID}/eventType/fix`],
    ],
  );
  t.true(p.events.every((e) => e.eventType.authority === 'eventType' && e.eventType.authorityURI === `${ID}/eventType`));
  t.deepEqual(
    p.events.map((e) => e.eventIdentifier),
    recorded.map((r) => ({ type: 'UUID', value: r.id })),
  );
  t.deepEqual(
    p.events.map((e) => e.record.revision),
    recorded.map((r) => Number(r.revision)),
  );
  t.is(p.events[0]?.eventDateTime, '2024-05-01T08:00:00.000Z');
  t.deepEqual(p.events[0]?.eventDetailInformation.eventDetail, {
    vi: 'Tiếp nhận tài liệu “Truyện Kiều 金雲翹傳” vào kho (mức truy cập: mở).',
    en: 'Object “Truyện Kiều 金雲翹傳” accessioned (access level: open).',
  });
  t.regex(p.events[2]?.eventDetailInformation.eventDetail.vi ?? '', /^Sửa siêu dữ liệu: .*title.*; nhan đề mới “Đoạn trường tân thanh”\.$/);
  t.deepEqual(p.unreadable, []);
});

test('a fixity check reads as a sentence in both languages, with expected and actual digests in its outcome', async (t) => {
  const store = newStore();
  await seedLife(store);
  const p = await objectProvenance(store, 'kieu');
  const pass = p.events[4];
  const fail = p.events[6];
  t.deepEqual(pass?.eventDetailInformation.eventDetail, {
    vi: 'Kiểm tra tính toàn vẹn SHA-512 của tệp “f1.tif” trên primary: đạt',
    en: 'SHA-512 fixity check of file “f1.tif” on primary: pass',
  });
  t.deepEqual(pass?.eventOutcomeInformation.eventOutcome, {
    value: 'success',
    authority: 'eventOutcome',
    authorityURI: `${ID}/eventOutcome`,
    valueURI: `${ID}/eventOutcome/suc`,
  });
  t.deepEqual(fail?.eventDetailInformation.eventDetail, {
    vi: 'Kiểm tra tính toàn vẹn SHA-512 của tệp “f1.tif” trên primary: không đạt (nội dung đã thay đổi)',
    en: 'SHA-512 fixity check of file “f1.tif” on primary: fail (content changed)',
  });
  t.is(fail?.eventOutcomeInformation.eventOutcome.value, 'fail');
  t.is(fail?.eventOutcomeInformation.eventOutcome.valueURI, `${ID}/eventOutcome/fai`);
  const detail = fail?.eventOutcomeInformation.eventOutcomeDetail;
  t.deepEqual(detail?.expected, { sha512: hex('a', 128) });
  t.deepEqual(detail?.actual, { sha512: hex('b', 128) });
  t.is(detail?.failure, 'changed');
  t.true(detail?.note.en.includes(`SHA-512 expected ${hex('a', 128)}, actual ${hex('b', 128)}`));
  t.true(detail?.note.vi.includes(`SHA-512 mong đợi ${hex('a', 128)}, thực tế ${hex('b', 128)}`));
  t.deepEqual(
    fail?.linkingObjectIdentifier.map((o) => [o.type, o.value, o.role.value, o.role.valueURI]),
    [
      ['thukho object id', 'kieu', 'source', `${ID}/eventRelatedObjectRole/sou`],
      ['thukho file id', 'f1', 'source', `${ID}/eventRelatedObjectRole/sou`],
      ['OCFL content path', 'v1/content/f1/f1.tif', 'source', `${ID}/eventRelatedObjectRole/sou`],
    ],
  );
  // A derivative that could not be served from any copy: a failed fixity check of the derivative.
  const damaged = p.events[8];
  t.is(damaged?.eventOutcomeInformation.eventOutcome.value, 'fail');
  t.regex(damaged?.eventDetailInformation.eventDetail.en ?? '', /the derivative of file “f1\.tif” on primary \(file missing\)/);
  t.deepEqual(damaged?.linkingObjectIdentifier.at(-1)?.type, 'thukho derivative path');
  // The repair made the file again: the file is its outcome.
  const repaired = p.events[7];
  t.deepEqual(
    repaired?.linkingObjectIdentifier.map((o) => [o.type, o.role.value]),
    [['thukho object id', 'source'], ['thukho file id', 'outcome'], ['OCFL content path', 'outcome']],
  );
  t.is(repaired?.eventDetailInformation.eventDetail.vi, 'Khôi phục tệp “f1.tif” trên primary từ bản sao trên replica-1 (lỗi trước đó: nội dung đã thay đổi).');
});

test('agents: users by their name, workers as software; each event links its actor with the role it acted in', async (t) => {
  const store = newStore();
  await seedLife(store);
  const p = await objectProvenance(store, 'kieu');
  t.deepEqual(
    p.agents.map((a) => [a.agentIdentifier.type, a.agentIdentifier.value, a.agentName, a.agentType.value, a.agentType.valueURI, a.roles]),
    [
      ['thukho actor id', 'thu', 'Nguyễn Thị Thư', 'person', `${ID}/agentType/per`, ['staff']],
      ['thukho actor id', 'worker:derivatives', 'thukho worker:derivatives', 'software', `${ID}/agentType/sof`, ['admin']],
      ['thukho actor id', 'worker:fixity', 'thukho worker:fixity', 'software', `${ID}/agentType/sof`, ['admin']],
    ],
  );
  const ingest = p.events[1];
  t.deepEqual(ingest?.linkingAgentIdentifier, [
    {
      type: 'thukho actor id',
      value: 'thu',
      actorRole: 'staff',
      agentType: 'person',
      role: { value: 'implementer', authority: 'eventRelatedAgentRole', authorityURI: `${ID}/eventRelatedAgentRole`, valueURI: `${ID}/eventRelatedAgentRole/imp` },
    },
  ]);
  const check = p.events[4];
  t.deepEqual(check?.linkingAgentIdentifier.map((a) => [a.value, a.actorRole, a.agentType, a.role.valueURI]), [
    ['worker:fixity', 'admin', 'software', `${ID}/eventRelatedAgentRole/exe`],
  ]);
});

test('the object and its files: identifiers, fixity with the LoC hash-function terms, size, format, original name, OCFL location', async (t) => {
  const store = newStore();
  await seedLife(store);
  const p = await objectProvenance(store, 'kieu');
  t.is(p.objectId, 'kieu');
  t.is(p.streamId, 'object-kieu');
  t.deepEqual(p.object.objectIdentifier, { type: 'thukho object id', value: 'kieu' });
  t.is(p.object.title, 'Đoạn trường tân thanh');
  t.is(p.object.status, 'withdrawn');
  t.is(p.object.accessLevel, 'restricted');
  t.deepEqual(p.object.files, [
    {
      objectIdentifier: { type: 'thukho file id', value: 'f1' },
      sequence: 0,
      originalName: 'f1.tif',
      role: 'master',
      mediaType: 'image/tiff',
      size: 123_456,
      fixity: [
        {
          messageDigestAlgorithm: { value: 'SHA-512', authority: 'cryptographicHashFunctions', authorityURI: `${ID}/cryptographicHashFunctions`, valueURI: `${ID}/cryptographicHashFunctions/sha512` },
          messageDigest: hex('a', 128),
        },
        {
          messageDigestAlgorithm: { value: 'SHA-256', authority: 'cryptographicHashFunctions', authorityURI: `${ID}/cryptographicHashFunctions`, valueURI: `${ID}/cryptographicHashFunctions/sha256` },
          messageDigest: hex('a', 64),
        },
      ],
      storage: { ocflObjectId: 'kieu', version: 'v1', contentPath: 'v1/content/f1/f1.tif' },
    },
  ]);
});

test('every thukho event type maps to a term of the LoC eventType vocabulary', (t) => {
  // The vocabulary as published at id.loc.gov/vocabulary/preservation/eventType (2018-09-24), label → code.
  const LOC_EVENT_TYPES: Record<string, string> = {
    accession: 'acc', appraisal: 'app', capture: 'cap', compiling: 'cop', compression: 'com', creation: 'cre',
    deaccession: 'dea', decompression: 'dec', deletion: 'del', decryption: 'der', 'digital signature validation': 'dig',
    dissemination: 'dis', 'digital signature generation': 'dsg', displaying: 'dsp', encryption: 'enc', execution: 'exe',
    exporting: 'exp', extraction: 'ext', 'forensic feature analysis': 'ffa', 'filename change': 'fil', 'fixity check': 'fix',
    'format identification': 'for', imaging: 'ima', 'ingestion end': 'ine', ingestion: 'ing', 'ingestion start': 'ins',
    interpreting: 'int', 'information package creation': 'ipc', 'information package merging': 'ipm',
    'information package splitting': 'ips', 'metadata extraction': 'mee', 'metadata modification': 'mem',
    'message digest calculation': 'mes', migration: 'mig', modification: 'mod', normalization: 'nor', packing: 'pac',
    'policy assignment': 'poa', printing: 'prt', quarantine: 'qua', recovery: 'rec', redaction: 'red', refreshment: 'ref',
    rendering: 'ren', replication: 'rep', transfer: 'tra', unpacking: 'unp', unquarantine: 'unq', validation: 'val',
    'virus check': 'vir',
  };
  for (const [label, code] of Object.entries(PREMIS_EVENT_TYPE_CODES)) t.is(LOC_EVENT_TYPES[label], code, label);
  for (const type of EVENT_TYPES) {
    const term = premisEventType(type);
    t.is(term.valueURI, `${ID}/eventType/${LOC_EVENT_TYPES[term.value]}`, type);
  }
});

test('an unknown object is a not-found domain error, and so is an id that cannot name a stream', async (t) => {
  const store = newStore();
  await seedLife(store);
  const err = await t.throwsAsync(objectProvenance(store, 'khong-co'), { instanceOf: DomainError });
  t.is(err?.code, 'not-found');
  t.is((await t.throwsAsync(objectProvenance(store, '../kieu'), { instanceOf: DomainError }))?.code, 'not-found');
  // The user stream exists, but it is not an object.
  t.is((await t.throwsAsync(objectProvenance(store, 'thu'), { instanceOf: DomainError }))?.code, 'not-found');
});

// ---------------------------------------------------------------------------------------
// The hash chain

interface Row {
  position: number;
  event_id: string;
  type: string;
  data: string;
}

function tamper(path: string, streamId: string, revision: number, edit: (data: Record<string, unknown>) => void): Row {
  const db = new Database(path);
  try {
    const row = db.prepare<[string, number], Row>('SELECT position, event_id, type, data FROM events WHERE stream_id = ? AND revision = ?').get(streamId, revision);
    if (!row) throw new Error(`no event ${streamId}@${revision}`);
    const data = JSON.parse(row.data) as Record<string, unknown>;
    edit(data);
    db.exec('DROP TRIGGER events_are_immutable');
    db.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify(data), row.position);
    return row;
  } finally {
    db.close();
  }
}

test('chain: intact for an untouched stream, with its head hash', async (t) => {
  const store = newStore();
  await seedLife(store);
  const p = await objectProvenance(store, 'kieu');
  const recorded = await collect(store.readStream(objectStream('kieu')));
  t.deepEqual(p.chain, { status: 'intact', events: recorded.length, head: recorded.at(-1)?.metadata.hash });
  t.true(p.events.every((e) => e.record.chainVerified));
});

test('chain: an event edited in SQLite breaks the chain at its revision; the history is still shown, marked unverified from there', async (t) => {
  const path = join(root, 'tampered.sqlite');
  const first = new SqliteEventStore(path);
  await seedLife(first);
  await first.close();
  const row = tamper(path, 'object-kieu', 2, (d) => {
    (d.changes as Record<string, unknown>).title = 'Giả mạo';
  });
  t.is(row.type, 'MetadataEdited');

  const store = new SqliteEventStore(path);
  t.teardown(() => store.close());
  const p: Provenance = await objectProvenance(store, 'kieu');
  t.deepEqual(p.chain, {
    status: 'broken',
    events: 2,
    revision: 2,
    eventId: row.event_id,
    reason: 'content does not match its hash (event was altered)',
  });
  t.is(p.events.length, 12);
  // The object stream is unverified from the altered event on; the preservation stream's chain still holds.
  t.is(p.factsChain.status, 'intact');
  t.deepEqual(
    p.events.map((e) => e.record.chainVerified),
    p.events.map((e) => (e.record.streamId === 'object-kieu' ? e.record.revision < 2 : true)),
  );
  t.regex(p.events[2]?.eventDetailInformation.eventDetail.vi ?? '', /“Giả mạo”/);
});

test('chain: an event whose payload no longer fits its schema is listed as unreadable, not dropped silently', async (t) => {
  const path = join(root, 'unreadable.sqlite');
  const first = new SqliteEventStore(path);
  await seedLife(first);
  await first.close();
  const row = tamper(path, 'preservation-kieu', 1, (d) => {
    d.outcome = 'maybe';
  });
  t.is(row.type, 'FixityChecked');

  const store = new SqliteEventStore(path);
  t.teardown(() => store.close());
  const p = await objectProvenance(store, 'kieu');
  t.is(p.chain.status, 'intact');
  t.is(p.factsChain.status, 'broken');
  t.is(p.factsChain.status === 'broken' ? p.factsChain.revision : -1, 1);
  t.is(p.events.length, 11);
  t.false(p.events.some((e) => e.record.streamId === 'preservation-kieu' && e.record.revision === 1));
  t.is(p.unreadable.length, 1);
  t.like(p.unreadable[0], { streamId: 'preservation-kieu', revision: 1, eventId: row.event_id, type: 'FixityChecked' });
  t.regex(p.unreadable[0]?.reason ?? '', /does not match its schema/);
});

// ---------------------------------------------------------------------------------------
// Fixity consistency

/** An object whose preservation events contradict the log in every way the check knows (and some that agree). */
async function seedInconsistent(store: SqliteEventStore): Promise<void> {
  const id = 'lech';
  await executeObjectCommand(store, { type: 'RegisterObject', objectId: id, metadata: { title: 'Lệch' }, accessLevel: 'open' }, staff); // 0
  await executeObjectCommand(store, { type: 'RecordFileIngested', objectId: id, file: ingested(id, 'f1', 'a') }, staff); // 1
  // From here on, revisions of preservation-lech.
  await recordDerivative(store, id, 'f1', derivative('a'), derivativeWorker); // 0
  await preserve(store, id, fixity(id, { fileId: 'f1' })); // 1: consistent
  await preserve(store, id, fixity(id, { fileId: 'f1', expected: { sha512: hex('b', 128) }, actual: { sha512: hex('b', 128) } })); // 2
  await preserve(store, id, fixity(id, { fileId: 'f1', actual: { sha512: hex('c', 128) } })); // 3
  await preserve(
    store,
    id,
    fixity(id, { fileId: 'f1', target: 'derivative', algorithm: 'sha256', expected: { sha256: hex('e', 64) }, actual: { sha256: hex('e', 64) } }),
  ); // 4
  await preserve(
    store,
    id,
    fixity(id, { fileId: 'f1', target: 'derivative', algorithm: 'sha256', expected: { sha256: hex('d', 64) }, actual: { sha256: hex('d', 64) } }),
  ); // 5: consistent
  const repaired = (sha512: string): PreservationEvent => ({
    type: 'FileRepaired',
    data: { objectId: id, fileId: 'f1', target: 'master', path: 'v1/content/f1/f1.tif', storageRoot: primary, from: replica, sha512, failure: 'changed' },
  });
  await preserve(store, id, repaired(hex('f', 128))); // 6
  await preserve(store, id, repaired(hex('a', 128))); // 7: consistent
  const { fileId: _none, ...inventoryCheck } = fixity(id, {
    target: 'inventory',
    path: 'inventory.json',
    expected: { sha512: hex('9', 128) },
    actual: { sha512: hex('9', 128) },
  }).data as EventData<'FixityChecked'>;
  await preserve(store, id, { type: 'FixityChecked', data: inventoryCheck }); // 8: consistent (inventories have no digest in the log)
  await preserve(store, id, fixity(id, { fileId: 'f1', outcome: 'fail', failure: 'changed' })); // 9: fails with the expected digest
  // object-lech 2: written past the application, on the object stream as older versions did
  // (and as a buggy or hostile writer could): a check of a file never ingested.
  await store.append(objectStream(id), [testEvent('FixityChecked', fixity(id, { fileId: 'ghost' }).data)], 'any');
}

test('fixity consistency: every contradiction with FileIngested / DerivativeCreated is named by stream, revision and reason', async (t) => {
  const store = newStore();
  await seedLife(store, 'kieu'); // consistent throughout (and a user stream, which is not walked)
  await seedInconsistent(store);
  const progress: number[] = [];
  const report = await verifyFixityConsistency(store, 'all', (p) => progress.push(p.streams));
  t.deepEqual(
    report.problems.map((p) => [p.streamId, Number(p.revision), p.code]),
    [
      ['preservation-lech', 2, 'expected-differs'],
      ['preservation-lech', 3, 'pass-with-different-digest'],
      ['preservation-lech', 4, 'expected-differs'],
      ['preservation-lech', 6, 'repaired-differs'],
      ['preservation-lech', 9, 'fail-with-same-digest'],
      ['object-lech', 2, 'unknown-file'],
    ],
  );
  t.is(report.streams, 2);
  t.deepEqual(progress, [1, 2]);
  t.is(report.checked, 4 + 10);
  const recorded = await collect(store.readStream(preservationStream('lech')));
  t.is(report.problems[0]?.eventId, recorded[2]?.id);
  t.is(
    report.problems[0]?.reason,
    `expected SHA-512 ${hex('b', 16)}… differs from the one recorded at ingest (FileIngested), ${hex('a', 16)}…, for file f1.`,
  );
  t.regex(report.problems[0]?.messages.vi ?? '', /SHA-512 mong đợi b{16}… khác với giá trị ghi khi nạp/);
  t.regex(report.problems[2]?.reason ?? '', /SHA-256 e{16}… differs from the one recorded when the derivative was made/);
  t.regex(report.problems[5]?.reason ?? '', /names file ghost, which was not ingested before it/);
});

test('fixity consistency: one object only, and an unknown one is not found', async (t) => {
  const store = newStore();
  await seedLife(store, 'kieu');
  await seedInconsistent(store);
  const kieu = await verifyFixityConsistency(store, { objectId: 'kieu' });
  t.deepEqual(kieu.problems, []);
  t.is(kieu.streams, 1);
  t.is(kieu.checked, 4);
  const lech = await verifyFixityConsistency(store, { objectId: 'lech' });
  t.is(lech.problems.length, 6);
  const err = await t.throwsAsync(verifyFixityConsistency(store, { objectId: 'khong-co' }), { instanceOf: DomainError });
  t.is(err?.code, 'not-found');
});

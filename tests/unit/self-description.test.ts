import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { KeyedLock } from '../../src/application/keyed-lock.ts';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { objectOcflIdFor, ocflUser, parseOcflId, SEALS_OCFL_ID } from '../../src/application/ocfl-ids.ts';
import { Describer, type DescriptionServices } from '../../src/application/self-description.ts';
import { describeWork, eventJsonLine, eventsPath, RECORD_PATH } from '../../src/application/work-description.ts';
import { verifyStreamChain } from '../../src/eventstore/hash-chain.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { descriptionQueue, dueDescriptions, markDescribed } from '../../src/projections/description-queue.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';

const staff = { actor: { id: 'lan', role: 'curator' } };

async function setup(t: { teardown(fn: () => void): void }): Promise<DescriptionServices> {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-describe-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  t.teardown(() => {
    void store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, ocfl: await OcflStorageRoot.open(join(dir, "ocfl")), stagingDir: dir, locks: new KeyedLock(join(dir, "locks")) };
}

test('an event line has one fixed shape: the stored envelope with its position (golden)', (t) => {
  const e: RecordedEvent = {
    id: '01JDESC0000000000000000000',
    streamId: 'object-abc',
    revision: 2n,
    position: 17n,
    type: 'MetadataEdited',
    data: { objectId: 'abc', changes: { title: 'Truyện Kiều' } },
    metadata: {
      eventId: '01JDESC0000000000000000000',
      schemaVersion: 1,
      occurredAt: '2026-12-04T08:00:00.000Z',
      actor: { id: 'lan', role: 'curator' },
      correlationId: 'c1',
      causationId: null,
      prevHash: 'a'.repeat(64),
      hash: 'b'.repeat(64),
    },
    created: new Date(0),
  };
  t.is(
    eventJsonLine(e),
    '{"streamId":"object-abc","revision":2,"position":"17","id":"01JDESC0000000000000000000","type":"MetadataEdited",' +
      '"data":{"objectId":"abc","changes":{"title":"Truyện Kiều"}},"metadata":{"eventId":"01JDESC0000000000000000000","schemaVersion":1,' +
      '"occurredAt":"2026-12-04T08:00:00.000Z","actor":{"id":"lan","role":"curator"},"correlationId":"c1","causationId":null,' +
      `"prevHash":"${'a'.repeat(64)}","hash":"${'b'.repeat(64)}"}}`,
  );
});

test('ids are URIs and actors have addresses; a legacy bare id still names a work', (t) => {
  t.is(objectOcflIdFor('abc'), 'info:thukho/object/abc');
  t.deepEqual(parseOcflId('info:thukho/object/abc'), { kind: 'object', id: 'abc' });
  t.deepEqual(parseOcflId('info:thukho/collection/han-nom'), { kind: 'collection', id: 'han-nom' });
  t.deepEqual(parseOcflId(SEALS_OCFL_ID), { kind: 'seals' });
  t.deepEqual(parseOcflId('sach-cu'), { kind: 'object', id: 'sach-cu' });
  t.deepEqual(ocflUser({ id: 'worker:fixity' }), { name: 'worker:fixity', address: 'info:thukho/agent/worker%3Afixity' });
});

test('a description is a function of the log: the same twice, and its event lines verify as a chain on their own', async (t) => {
  const s = await setup(t);
  await executeObjectCommand(s.store, { type: 'RegisterObject', objectId: 'kieu', metadata: { title: 'Truyện Kiều 金雲翹傳' }, accessLevel: 'restricted' }, staff);
  await executeObjectCommand(s.store, { type: 'EditMetadata', objectId: 'kieu', changes: { creator: 'Nguyễn Du' } }, staff);
  const a = await describeWork(s.store, 'kieu');
  const b = await describeWork(s.store, 'kieu');
  t.deepEqual(a, b);
  const files = new Map(a?.files.map((f) => [f.logicalPath, f.content]));
  const record = JSON.parse(files.get(RECORD_PATH) as string) as { accessLevel: string; metadata: { title: string; creator: string }; ocflId: string };
  t.is(record.accessLevel, 'restricted');
  t.is(record.metadata.creator, 'Nguyễn Du');
  t.is(record.ocflId, 'info:thukho/object/kieu');
  t.regex(files.get('thukho/dc.xml') as string, /<dc:creator>Nguyễn Du<\/dc:creator>/);
  t.regex(files.get('thukho/premis.xml') as string, /premis/);
  const lines = (files.get(eventsPath('object')) as string).trim().split('\n').map((l) => JSON.parse(l) as { revision: number; position: string; metadata: RecordedEvent['metadata'] } & Omit<RecordedEvent, 'revision' | 'position'>);
  t.is(lines.length, 2);
  async function* each() {
    for (const l of lines) yield { ...l, revision: BigInt(l.revision), position: BigInt(l.position), created: new Date() } as RecordedEvent;
  }
  const chain = await verifyStreamChain('object-kieu', each());
  t.true(chain.ok);
});

test('edits arriving while a version is written share the next one; every caller is answered with its change in OCFL', async (t) => {
  const s = await setup(t);
  const describer = new Describer(s);
  await executeObjectCommand(s.store, { type: 'RegisterObject', objectId: 'sach', metadata: { title: 'Sách 0' }, accessLevel: 'open' }, staff);
  const first = describer.describe({ kind: 'object', id: 'sach' });
  const waits: Array<Promise<unknown>> = [];
  for (let i = 1; i <= 10; i++) {
    await executeObjectCommand(s.store, { type: 'EditMetadata', objectId: 'sach', changes: { title: `Sách ${i}` } }, staff);
    waits.push(describer.describe({ kind: 'object', id: 'sach' }));
  }
  await Promise.all([first, ...waits]);
  const inventory = await s.ocfl.readInventory(objectOcflIdFor('sach'));
  t.truthy(inventory);
  const versions = Object.keys(inventory?.versions ?? {}).length;
  t.true(versions <= 3, `${versions} versions for 11 changes`);
  const record = JSON.parse(await readFile(await s.ocfl.contentFile(objectOcflIdFor('sach'), RECORD_PATH), 'utf8')) as { metadata: { title: string } };
  t.is(record.metadata.title, 'Sách 10');
  t.deepEqual(inventory?.versions[inventory.head]?.user, { name: 'lan', address: 'info:thukho/agent/lan' });
  // Nothing new: no version.
  t.is((await describer.describe({ kind: 'object', id: 'sach' }))?.version, null);
  t.deepEqual((await validateStorageRoot(s.ocfl.root)).filter((i) => i.code.startsWith('E') || i.code === 'W005' || i.code === 'W008'), []);
});

test("the description queue: a person's change is due now, a machine fact after the delay, replication never; a row changed meanwhile stays", async (t) => {
  const db = openReadModelDb(':memory:');
  t.teardown(() => db.close());
  const q = descriptionQueue({ factsDelayMs: 600_000 });
  q.setup(db);
  const at = '2026-12-04T08:00:00.000Z';
  const ev = (streamId: string, type: string) => ({ streamId, type, metadata: { occurredAt: at } }) as unknown as RecordedEvent;
  q.apply(db, [ev('object-a', 'MetadataEdited'), ev('preservation-b', 'FixityChecked'), ev('preservation-c', 'FileReplicated'), ev('collection-k', 'CollectionCreated'), ev('seal', 'SealCreated')]);
  const now = Date.parse(at);
  t.deepEqual(dueDescriptions(db, now, 10).map((r) => r.subject).sort(), ['collection:k', 'object:a', 'seals']);
  t.deepEqual(dueDescriptions(db, now + 600_000, 10).map((r) => r.subject).sort(), ['collection:k', 'object:a', 'object:b', 'seals']);
  const [row] = dueDescriptions(db, now, 10).filter((r) => r.subject === 'object:a');
  q.apply(db, [ev('object-a', 'MetadataEdited')]);
  markDescribed(db, row!);
  t.true(dueDescriptions(db, now, 10).some((r) => r.subject === 'object:a'), 'an edit that arrived during the write keeps the row');
});

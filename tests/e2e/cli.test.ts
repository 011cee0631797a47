import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { EmbeddedSearchIndex } from '../../src/search/embedded.ts';
import { parseSearchQuery } from '../../src/search/port.ts';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { executeCollectionCommand, executeObjectCommand } from '../../src/application/object-commands.ts';
import { createUser } from '../../src/application/users.ts';
import type { AccessLevel } from '../../src/domain/metadata.ts';
import { eventHash } from '../../src/eventstore/hash-chain.ts';
import type { EventMetadata } from '../../src/eventstore/port.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { objectReadModel } from '../../src/projections/object-read-model.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { ProjectionRunner } from '../../src/projections/runtime.ts';
import { userReadModel } from '../../src/projections/user-read-model.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { show, thukho } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The `thukho` command as an operator runs it: a real process (`node bin/thukho.js`), real
 * SQLite files in a temporary data directory, exit codes and output checked.
 */
const ACTOR = { actor: { id: 'test', role: 'staff' } };
const logger = pino({ level: 'silent' });

const tempDir = tempDirs(test, 'thukho-cli-');

// ---------------------------------------------------------------------------------------
// verify

/** Five objects, each registered and edited three times (revisions 0..3), and a collection. */
async function seedSmallLog(dir: string): Promise<void> {
  await OcflStorageRoot.open(join(dir, 'ocfl'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'han-nom', title: 'Hán Nôm' }, ACTOR);
  for (const id of ['obj-a', 'obj-b', 'obj-c', 'obj-d', 'obj-e']) {
    await executeObjectCommand(
      store,
      { type: 'RegisterObject', objectId: id, metadata: { title: `Truyện Kiều ${id}`, collectionId: 'han-nom' }, accessLevel: 'open' },
      ACTOR,
    );
    for (let i = 1; i <= 3; i++) {
      await executeObjectCommand(store, { type: 'EditMetadata', objectId: id, changes: { title: `Truyện Kiều ${id} (bản ${i})` } }, ACTOR);
    }
  }
  await store.close();
}

interface EventRow {
  position: number;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
}

function openTamper(dir: string): Database.Database {
  return new Database(join(dir, 'events.sqlite'));
}

function rowAt(db: Database.Database, streamId: string, revision: number): EventRow {
  const row = db.prepare<[string, number], EventRow>('SELECT * FROM events WHERE stream_id = ? AND revision = ?').get(streamId, revision);
  if (!row) throw new Error(`no event ${streamId}@${revision}`);
  return row;
}

interface JsonReport {
  streams: number;
  events: number;
  broken: Array<{ streamId: string; revision: number; eventId: string; reason: string }>;
}

test('verify: a clean log passes (exit 0, OK); an edited event in the middle of a stream is named by stream and revision (exit 1)', async (t) => {
  const dir = tempDir();
  await seedSmallLog(dir);

  const clean = await thukho(dir, ['verify']);
  t.is(clean.code, 0, show(clean));
  // The summary line is written by the progress reporter, on stderr.
  t.regex(clean.stdout + clean.stderr, /OK: 6 luồng \/ streams, 21 sự kiện \/ events/, show(clean));
  const cleanJson = await thukho(dir, ['verify', '--json']);
  t.is(cleanJson.code, 0, show(cleanJson));
  const cleanReport = JSON.parse(cleanJson.stdout) as JsonReport & { fixity: { problems: unknown[] }; seals: { status: string } };
  t.like(cleanReport, { streams: 6, events: 21, broken: [] });
  t.deepEqual(cleanReport.fixity.problems, []);
  // No replicas configured: nothing to check the log against, and the report says so.
  t.is(cleanReport.seals.status, 'no-seal');

  const db = openTamper(dir);
  const target = rowAt(db, 'object-obj-b', 2);
  t.is(target.type, 'MetadataEdited');
  db.exec('DROP TRIGGER events_are_immutable');
  const changed = db
    .prepare("UPDATE events SET data = json_set(data, '$.changes.title', 'Giả mạo') WHERE position = ?")
    .run(target.position);
  t.is(changed.changes, 1);
  t.not(rowAt(db, 'object-obj-b', 2).data, target.data);
  db.close();

  const broken = await thukho(dir, ['verify']);
  t.is(broken.code, 1, show(broken));
  t.regex(broken.stdout, new RegExp(`object-obj-b @ revision 2 \\(event ${target.event_id}\\): content does not match its hash`), show(broken));
  // Only that stream is reported: the chain stops at the first break and other streams are intact.
  t.is(broken.stdout.trim().split('\n').length, 1, show(broken));
  t.regex(broken.stderr, /HỎNG \/ BROKEN: 1 luồng/);

  const json = await thukho(dir, ['verify', '--json']);
  t.is(json.code, 1, show(json));
  const report = JSON.parse(json.stdout) as JsonReport;
  t.deepEqual(report.broken, [
    { streamId: 'object-obj-b', revision: 2, eventId: target.event_id, reason: 'content does not match its hash (event was altered)' },
  ]);
  // Events before the break are counted, the rest of the broken stream is not.
  t.is(report.events, 21 - 2);
});

test('verify: deleting the last event of a stream is named by stream and the missing revision (exit 1)', async (t) => {
  const dir = tempDir();
  await seedSmallLog(dir);
  const db = openTamper(dir);
  const last = rowAt(db, 'object-obj-c', 3);
  db.exec('DROP TRIGGER events_are_permanent');
  t.is(db.prepare('DELETE FROM events WHERE position = ?').run(last.position).changes, 1);
  db.close();

  const r = await thukho(dir, ['verify']);
  t.is(r.code, 1, show(r));
  t.regex(r.stdout, /object-obj-c @ revision 3: the stream ends at revision 2 but its recorded head is revision 3/, show(r));
  t.is(r.stdout.trim().split('\n').length, 1, show(r));
});

test('verify: an edited event whose own hash was recomputed is caught at the NEXT event (prevHash mismatch)', async (t) => {
  const dir = tempDir();
  await seedSmallLog(dir);
  const db = openTamper(dir);
  const target = rowAt(db, 'object-obj-d', 1);
  const next = rowAt(db, 'object-obj-d', 2);
  const data = JSON.parse(target.data) as { changes: { title: string } };
  data.changes.title = 'Giả mạo';
  const metadata = JSON.parse(target.metadata) as EventMetadata;
  const oldHash = metadata.hash;
  metadata.hash = eventHash(target.type, data, metadata);
  t.not(metadata.hash, oldHash);
  db.exec('DROP TRIGGER events_are_immutable');
  db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(JSON.stringify(data), JSON.stringify(metadata), target.position);
  db.close();

  const r = await thukho(dir, ['verify', '--json']);
  t.is(r.code, 1, show(r));
  const report = JSON.parse(r.stdout) as JsonReport;
  // Revision 1 is self-consistent now; revision 2 still points at its old hash.
  t.deepEqual(report.broken, [
    { streamId: 'object-obj-d', revision: 2, eventId: next.event_id, reason: 'prevHash does not match the previous event’s hash' },
  ]);

  const text = await thukho(dir, ['verify']);
  t.is(text.code, 1, show(text));
  t.regex(text.stdout, new RegExp(`object-obj-d @ revision 2 \\(event ${next.event_id}\\): prevHash does not match`), show(text));
});

test('verify: an edited and re-hashed LAST event is caught against the stream head (named at its own revision)', async (t) => {
  const dir = tempDir();
  await seedSmallLog(dir);
  const db = openTamper(dir);
  const target = rowAt(db, 'object-obj-e', 3);
  const data = JSON.parse(target.data) as { changes: { title: string } };
  data.changes.title = 'Giả mạo';
  const metadata = JSON.parse(target.metadata) as EventMetadata;
  metadata.hash = eventHash(target.type, data, metadata);
  db.exec('DROP TRIGGER events_are_immutable');
  db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(JSON.stringify(data), JSON.stringify(metadata), target.position);
  db.close();

  const r = await thukho(dir, ['verify', '--json']);
  t.is(r.code, 1, show(r));
  const report = JSON.parse(r.stdout) as JsonReport;
  t.is(report.broken.length, 1, r.stdout);
  const [b] = report.broken;
  t.is(b?.streamId, 'object-obj-e');
  // There is no next event, so only the head recorded in `streams` betrays the change.
  t.is(b?.revision, 3, 'the altered event is revision 3; no revision 4 exists');
  t.regex(b?.reason ?? '', /last event's hash does not match the stream's recorded head/);
});

/** Rewrites object-obj-a from revision 1 on with recomputed hashes and head: every chain still verifies. */
function rechainObjA(dir: string): void {
  const db = openTamper(dir);
  db.exec('DROP TRIGGER events_are_immutable');
  let prevHash = (JSON.parse(rowAt(db, 'object-obj-a', 0).metadata) as EventMetadata).hash;
  for (let rev = 1; rev <= 3; rev++) {
    const row = rowAt(db, 'object-obj-a', rev);
    const data = JSON.parse(row.data) as { changes: { title: string } };
    if (rev === 1) data.changes.title = 'Giả mạo';
    const metadata = JSON.parse(row.metadata) as EventMetadata;
    metadata.prevHash = prevHash;
    metadata.hash = eventHash(row.type, data, metadata);
    db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(JSON.stringify(data), JSON.stringify(metadata), row.position);
    prevHash = metadata.hash;
  }
  db.prepare('UPDATE streams SET head_hash = ? WHERE stream_id = ?').run(prevHash, 'object-obj-a');
  db.close();
}

test('verify: without seals, a tamperer who re-chains the rest of the stream and rewrites its head is not caught (the documented limit)', async (t) => {
  const dir = tempDir();
  await seedSmallLog(dir);
  rechainObjA(dir);
  const r = await thukho(dir, ['verify']);
  t.is(r.code, 0, show(r));
});

test('verify: with a seal on a replica, the same re-chained rewrite is named (exit 1)', async (t) => {
  const dir = tempDir();
  const replica = join(dir, 'replica');
  const env = { THUKHO_REPLICAS: `nas=${replica}` };
  await seedSmallLog(dir);
  t.is((await thukho(dir, ['replicas', 'init', 'nas'], env)).code, 0);
  const sealed = await thukho(dir, ['seal'], env);
  t.is(sealed.code, 0, show(sealed));
  t.is((await thukho(dir, ['verify'], env)).code, 0);
  rechainObjA(dir);
  const r = await thukho(dir, ['verify'], env);
  t.is(r.code, 1, show(r));
  t.regex(r.stdout + r.stderr, /object-obj-a/, show(r));
});

// ---------------------------------------------------------------------------------------
// rebuild

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0').slice(-len);

/** A collection and 30 objects with edits, access changes, files, a reorder and a withdrawal. */
async function seedRepository(dir: string): Promise<{ objectEvents: number; userEvents: number }> {
  await OcflStorageRoot.open(join(dir, 'ocfl'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const levels: AccessLevel[] = ['open', 'restricted', 'confidential'];
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'sac-phong', title: 'Sắc phong', description: 'Sắc phong triều Nguyễn' }, ACTOR);
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'dia-ba', title: 'Địa bạ' }, ACTOR);
  await executeCollectionCommand(store, { type: 'EditCollection', collectionId: 'dia-ba', title: 'Địa bạ triều Nguyễn', description: 'Sổ ruộng đất' }, ACTOR);
  for (let i = 0; i < 30; i++) {
    const objectId = `doc-${String(i).padStart(3, '0')}`;
    await executeObjectCommand(
      store,
      {
        type: 'RegisterObject',
        objectId,
        metadata: {
          title: `Sắc phong số ${i}`,
          date: `năm Minh Mạng thứ ${i + 1}`,
          language: ['lzh', 'vie'],
          ...(i % 3 === 0 ? {} : { collectionId: i % 3 === 1 ? 'sac-phong' : 'dia-ba' }),
        },
        accessLevel: levels[i % 3] as AccessLevel,
      },
      ACTOR,
    );
    if (i % 2 === 0) {
      await executeObjectCommand(store, { type: 'EditMetadata', objectId, changes: { description: `Mô tả ${i}`, creator: 'Nội các' } }, ACTOR);
    }
    if (i % 4 === 1) {
      await executeObjectCommand(store, { type: 'EditMetadata', objectId, changes: { title: `Sắc phong số ${i} (đã sửa)`, date: '1830' } }, ACTOR);
    }
    if (i % 5 === 2) {
      await executeObjectCommand(store, { type: 'ChangeAccessPolicy', objectId, accessLevel: 'open', reason: 'hết hạn hạn chế' }, ACTOR);
    }
    if (i % 6 === 0) {
      for (let f = 0; f < 3; f++) {
        await executeObjectCommand(
          store,
          {
            type: 'RecordFileIngested',
            objectId,
            file: {
              // File ids are unique across objects here: see the report about files.file_id.
              fileId: `${objectId}-p${f + 1}`,
              name: `trang-${f + 1}.tif`,
              role: 'master',
              size: 1000 + i * 10 + f,
              mediaType: 'image/tiff',
              digests: { sha512: hex(i * 10 + f + 1, 128), sha256: hex(i * 10 + f + 1, 64) },
              image: { width: 4000, height: 3000 },
              storage: { ocflObjectId: `thukho:${objectId}`, version: 'v1', path: `content/trang-${f + 1}.tif` },
            },
          },
          ACTOR,
        );
      }
    }
  }
  await executeObjectCommand(store, { type: 'ReorderFiles', objectId: 'doc-006', order: ['doc-006-p3', 'doc-006-p1', 'doc-006-p2'] }, ACTOR);
  await executeObjectCommand(store, { type: 'EditMetadata', objectId: 'doc-004', changes: { description: null }, accessLevel: 'restricted' }, ACTOR);
  await executeObjectCommand(store, { type: 'WithdrawObject', objectId: 'doc-007', reason: 'Trùng lặp với doc-001' }, ACTOR);
  await createUser(store, 'lan', 'Nguyễn Thị Lan', 'curator', ACTOR);
  await createUser(store, 'minh', 'Trần Minh', 'reader', ACTOR);

  let objectEvents = 0;
  let userEvents = 0;
  for await (const e of store.readAll()) {
    if (e.streamId.startsWith('user-')) userEvents++;
    else objectEvents++;
  }
  await store.close();
  return { objectEvents, userEvents };
}

type Dump = Record<string, unknown[]>;
function dumpReadModel(dir: string, tables: Array<[string, string]>): Dump {
  const db = new Database(join(dir, 'readmodel.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return Object.fromEntries(tables.map(([table, key]) => [table, db.prepare(`SELECT * FROM ${table} ORDER BY ${key}`).all()]));
  } finally {
    db.close();
  }
}

function deleteReadModel(dir: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `readmodel.sqlite${suffix}`), { force: true });
  if (existsSync(join(dir, 'readmodel.sqlite'))) throw new Error('read model still there');
}

const OBJECT_TABLES: Array<[string, string]> = [
  ['objects', 'id'],
  ['files', 'file_id'],
  ['collections', 'id'],
];

test('rebuild objects: from no read model at all, the CLI rebuilds the same tables the live runner built', async (t) => {
  const dir = tempDir();
  const { objectEvents, userEvents } = await seedRepository(dir);

  // The read model as a running server builds it: a ProjectionRunner, in small batches.
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const head = (await store.headPosition()) as bigint;
  const db = openReadModelDb(join(dir, 'readmodel.sqlite'));
  const runners = [objectReadModel, userReadModel].map((p) => new ProjectionRunner(store, db, p, logger, { batchSize: 7 }));
  for (const r of runners) r.start();
  // Each projection's checkpoint stops at the last event it handles; wait for each.
  let lastObjectPos = 0n;
  let lastUserPos = 0n;
  for await (const e of store.readAll()) {
    if (e.streamId.startsWith('user-')) lastUserPos = e.position;
    else lastObjectPos = e.position;
  }
  t.true(await runners[0]!.waitForPosition(lastObjectPos, scaledTimeout(60_000)));
  t.true(await runners[1]!.waitForPosition(lastUserPos, scaledTimeout(60_000)));
  t.is(lastUserPos, head);
  for (const r of runners) await r.stop();
  db.close();
  await store.close();

  const before = dumpReadModel(dir, OBJECT_TABLES);
  t.is(before.objects?.length, 30);
  t.is(before.collections?.length, 2);
  t.is(before.files?.length, 15); // 5 objects (doc-000, -006, -012, -018, -024) × 3 files
  const usersBefore = dumpReadModel(dir, [['users', 'id']]);
  t.is(usersBefore.users?.length, 2);
  // The seed did reach the read model: spot checks.
  const withdrawn = before.objects?.find((o) => (o as { id: string }).id === 'doc-007') as { status: string };
  t.is(withdrawn.status, 'withdrawn');
  const reordered = (before.files ?? []).filter((f) => (f as { object_id: string }).object_id === 'doc-006') as Array<{ file_id: string; sequence: number }>;
  t.deepEqual(Object.fromEntries(reordered.map((f) => [f.file_id, f.sequence])), { 'doc-006-p3': 0, 'doc-006-p1': 1, 'doc-006-p2': 2 });

  deleteReadModel(dir);
  const rebuilt = await thukho(dir, ['rebuild', 'objects']);
  t.is(rebuilt.code, 0, show(rebuilt));
  t.regex(rebuilt.stderr, new RegExp(`rebuild objects: ${objectEvents} sự kiện / events in [0-9.]+ s`), show(rebuilt));
  t.deepEqual(dumpReadModel(dir, OBJECT_TABLES), before);
  // Only the named projection was rebuilt.
  const rm = new Database(join(dir, 'readmodel.sqlite'), { readonly: true });
  t.falsy(rm.prepare("SELECT 1 FROM sqlite_master WHERE name = 'users'").get());
  rm.close();

  deleteReadModel(dir);
  const all = await thukho(dir, ['rebuild', 'all']);
  t.is(all.code, 0, show(all));
  t.regex(all.stderr, new RegExp(`rebuild objects: ${objectEvents} sự kiện`), show(all));
  t.regex(all.stderr, new RegExp(`rebuild users: ${userEvents} sự kiện`), show(all));
  t.deepEqual(dumpReadModel(dir, OBJECT_TABLES), before);
  t.deepEqual(dumpReadModel(dir, [['users', 'id']]), usersBefore);

  // Rebuilding over an existing read model (not deleted) gives the same tables too.
  const again = await thukho(dir, ['rebuild', 'objects']);
  t.is(again.code, 0, show(again));
  t.deepEqual(dumpReadModel(dir, OBJECT_TABLES), before);

  // `all` rebuilt the search index too; `rebuild search` alone makes it again from nothing.
  t.regex(all.stderr, /rebuild search: \d+ sự kiện/, show(all));
  rmSync(join(dir, 'search.sqlite'), { force: true });
  const search = await thukho(dir, ['rebuild', 'search']);
  t.is(search.code, 0, show(search));
  t.regex(search.stderr, /rebuild search: \d+ sự kiện \/ events in [0-9.]+ s/, show(search));
  const index = new EmbeddedSearchIndex(join(dir, 'search.sqlite'));
  const browse = await index.search(parseSearchQuery({}, { confidential: true, restrictedText: true }));
  await index.close();
  const shown = (before.objects ?? []).filter((o) => (o as { status: string }).status !== 'withdrawn');
  t.is(browse.total, shown.length, 'every work that is not withdrawn is in the index');
});

test('rebuild: an unknown projection exits 2 and names the valid ones', async (t) => {
  const dir = tempDir();
  const r = await thukho(dir, ['rebuild', 'nope']);
  t.is(r.code, 2, show(r));
  t.regex(r.stderr, /no projection "nope"/);
  t.regex(r.stderr, /objects, users, manifests, dispatcher, fixity, page-text, stats, oai, description-queue, search, all/);
  t.false(existsSync(join(dir, 'readmodel.sqlite')), 'nothing is created for a bad name');
});

// ---------------------------------------------------------------------------------------
// users

test('users add: prints the new token on stdout; a bad role is refused', async (t) => {
  const dir = tempDir();
  const r = await thukho(dir, ['users', 'add', 'lan', '--name', 'Nguyễn Thị Lan', '--role', 'curator']);
  t.is(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 1, 'stdout holds the token and nothing else, for scripts');
  t.regex(lines[0] ?? '', /^thk_[A-Za-z0-9_-]{43}$/);
  t.regex(r.stderr, /Đã tạo "lan" \(curator\)/);

  // The token authenticates once the users projection has seen the event.
  const rebuilt = await thukho(dir, ['rebuild', 'users']);
  t.is(rebuilt.code, 0, show(rebuilt));
  const list = await thukho(dir, ['users', 'list']);
  t.is(list.code, 0, show(list));
  t.is(list.stdout, 'lan\tcurator\tactive\tNguyễn Thị Lan\n');

  const bad = await thukho(dir, ['users', 'add', 'minh', '--name', 'Trần Minh', '--role', 'boss']);
  t.not(bad.code, 0, show(bad));
  t.is(bad.stdout, '');
  t.regex(bad.stderr, /role must be one of reader, auditor, curator, admin/);

  const dup = await thukho(dir, ['users', 'add', 'lan', '--name', 'Nguyễn Thị Lan']);
  t.is(dup.code, 1, show(dup));
  t.is(dup.stdout, '', 'no token for a refused account');
});

// ---------------------------------------------------------------------------------------
// configuration

for (const [variable, value] of [
  ['THUKHO_PORT', 'abc'],
  ['THUKHO_EVENTSTORE', 'mysql://x'],
  ['THUKHO_LOG_LEVEL', 'loud'],
  ['REDIS_URL', 'http://127.0.0.1:6379'],
] as const) {
  test(`configuration: ${variable}=${value} stops verify with exit 2 and one line naming the variable`, async (t) => {
    const dir = tempDir();
    const r = await thukho(dir, ['verify'], { [variable]: value });
    t.is(r.code, 2, show(r));
    t.is(r.stdout, '');
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    t.is(lines.length, 1, show(r));
    t.regex(lines[0] ?? '', new RegExp(`configuration error: ${variable}: .*\\(got "${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\)$`));
    t.false(existsSync(join(dir, 'events.sqlite')), 'nothing is opened with a bad configuration');
  });
}

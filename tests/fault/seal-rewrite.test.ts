import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import Database from 'better-sqlite3';
import { executeCollectionCommand, executeObjectCommand } from '../../src/application/object-commands.ts';
import { verifySealsForCli } from '../../src/cli/seal-command.ts';
import { eventSchemas } from '../../src/domain/events.ts';
import { eventHash, genesisHash } from '../../src/eventstore/hash-chain.ts';
import type { EventMetadata } from '../../src/eventstore/port.ts';
import { SEAL_STREAM, SEALS_DIR, type SealFile, SealRefusedError, computeSeal, sealNow, verifyAgainstSeals } from '../../src/eventstore/seal.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { collect } from '../helpers/events.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';

/**
 * THE ATTACK seals exist for. Someone with write access to the SQLite log edits an event in
 * the middle of a stream and, knowing how the chain is made, recomputes that event's hash and
 * every later hash of the stream with the real hash-chain functions, rewrites the stream's
 * recorded head, and even rewrites the `seal` stream so that the seals in the log match the
 * forged history. Every chain check passes: that is asserted first. Only the seal copied to
 * a replica root, out of the rewriter's reach, can still name the stream.
 */
const ACTOR = { actor: { id: 'test', role: 'staff' } };
const SEALER = { id: 'worker:seal', role: 'admin' };
const FORGED_TITLE = 'Giả mạo — bản đã bị sửa';

interface Row {
  position: number;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

interface Scene {
  dir: string;
  path: string;
  replica: { label: string; path: string };
  /** The newest seal's file on the replica, before the attack. */
  sealed: SealFile;
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-seal-attack-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function edit(store: SqliteEventStore, objectId: string, title: string): Promise<void> {
  await executeObjectCommand(store, { type: 'EditMetadata', objectId, changes: { title } }, ACTOR);
}

/**
 * A collection and five objects (registered, edited three times), sealed; more edits, sealed
 * again; then the log goes on past the last seal (obj-c too, so its current head is beyond
 * the sealed one).
 */
async function scene(t: { teardown(fn: () => void): void }): Promise<Scene> {
  const dir = tempDir(t);
  const path = join(dir, 'events.sqlite');
  const replica = { label: 'nas', path: join(dir, 'replica-nas') };
  await OcflStorageRoot.open(replica.path);
  const store = new SqliteEventStore(path);
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'han-nom', title: 'Hán Nôm' }, ACTOR);
  for (const id of ['obj-a', 'obj-b', 'obj-c', 'obj-d', 'obj-e']) {
    await executeObjectCommand(
      store,
      { type: 'RegisterObject', objectId: id, metadata: { title: `Truyện Kiều ${id}`, collectionId: 'han-nom' }, accessLevel: 'open' },
      ACTOR,
    );
    for (let i = 1; i <= 3; i++) await edit(store, id, `Truyện Kiều ${id} (bản ${i})`);
  }
  const first = await sealNow(store, [replica], SEALER);
  await edit(store, 'obj-a', 'Truyện Kiều obj-a (bản 4)');
  await edit(store, 'obj-c', 'Truyện Kiều obj-c (bản 4)');
  const second = await sealNow(store, [replica], SEALER);
  await edit(store, 'obj-c', 'Truyện Kiều obj-c (bản 5)');
  await edit(store, 'obj-b', 'Truyện Kiều obj-b (bản 4)');
  await store.close();
  if (first.status !== 'sealed' || second.status !== 'sealed') throw new Error('the scene needs two seals');
  const sealed = JSON.parse(readFileSync(join(replica.path, SEALS_DIR, `seal-${second.seal.position}.json`), 'utf8')) as SealFile;
  return { dir, path, replica, sealed };
}

/** Re-chains one stream from `fromRevision` on: `change` edits the data of the events it wants. */
function rechain(
  db: Database.Database,
  streamId: string,
  fromRevision: number,
  change: (row: Row, data: Record<string, unknown>) => void,
  options: { rewriteHead: boolean } = { rewriteHead: true },
): void {
  const rows = db.prepare<[string], Row>('SELECT position, revision, type, data, metadata FROM events WHERE stream_id = ? ORDER BY revision').all(streamId);
  let prevHash = genesisHash(streamId);
  for (const row of rows) {
    const metadata = JSON.parse(row.metadata) as EventMetadata;
    if (row.revision >= fromRevision) {
      const data = JSON.parse(row.data) as Record<string, unknown>;
      change(row, data);
      metadata.prevHash = prevHash;
      metadata.hash = eventHash(row.type, data, metadata);
      db.prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?').run(JSON.stringify(data), JSON.stringify(metadata), row.position);
    }
    prevHash = metadata.hash;
  }
  if (options.rewriteHead) db.prepare('UPDATE streams SET head_hash = ? WHERE stream_id = ?').run(prevHash, streamId);
}

function openRaw(path: string): Database.Database {
  const db = new Database(path);
  db.exec('DROP TRIGGER IF EXISTS events_are_immutable');
  return db;
}

/** Edit obj-c's revision 1 (before both seals) and re-chain everything after it. */
function forgeObjectHistory(path: string): void {
  const db = openRaw(path);
  rechain(db, 'object-obj-c', 1, (row, data) => {
    if (row.revision === 1) (data.changes as { title: string }).title = FORGED_TITLE;
  });
  db.close();
}

/** The thorough rewriter: every SealCreated in the log gets the root of the forged history. */
async function forgeSealStream(path: string): Promise<void> {
  const store = new SqliteEventStore(path);
  const roots = new Map<number, string>();
  for (const e of await collect(store.readStream(SEAL_STREAM))) {
    const { position } = eventSchemas.SealCreated.parse(e.data);
    roots.set(Number(e.revision), (await computeSeal(store, BigInt(position), { source: 'log' })).merkleRoot);
  }
  await store.close();
  const db = openRaw(path);
  rechain(db, SEAL_STREAM, 0, (row, data) => {
    data.merkleRoot = roots.get(row.revision);
  });
  db.close();
}

const sink = () => {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { stream, text: () => text };
};

test('a history rewritten with recomputed hashes, heads and seal stream passes every chain check, and the replica seal names the stream', async (t) => {
  const s = await scene(t);
  const sealedC = s.sealed.heads.find((h) => h.streamId === 'object-obj-c');
  t.is(sealedC?.revision, '4', 'the newest seal has obj-c at revision 4; revision 5 came after it');

  const before = new SqliteEventStore(s.path);
  const clean = await verifyLog(before);
  t.deepEqual(clean.broken, []);
  t.is((await verifyAgainstSeals(before, [s.replica])).status, 'ok');
  await before.close();

  forgeObjectHistory(s.path);
  await forgeSealStream(s.path);

  const store = new SqliteEventStore(s.path);
  t.teardown(() => store.close());

  // 1. The forgery took, and plain chains do not see it.
  const forged = (await collect(store.readStream('object-obj-c', { fromRevision: 1n, maxCount: 1 })))[0];
  t.is((forged?.data as { changes: { title: string } }).changes.title, FORGED_TITLE);
  const chains = await verifyLog(store);
  t.deepEqual(chains.broken, [], 'the attack plain hash chains miss');
  t.is(chains.streams, clean.streams);
  t.is(chains.events, clean.events);

  // 2. The seal stream in the log now vouches for the forged history.
  const logSeals = await collect(store.readStream(SEAL_STREAM));
  t.is(logSeals.length, 2);
  const lastInLog = eventSchemas.SealCreated.parse(logSeals[1]?.data);
  t.is(lastInLog.position, s.sealed.position);
  t.not(lastInLog.merkleRoot, s.sealed.merkleRoot);
  t.is(lastInLog.merkleRoot, (await computeSeal(store, BigInt(s.sealed.position), { source: 'log' })).merkleRoot);

  // 3. The replica copy names exactly the rewritten stream, and the rewritten seal event.
  const report = await verifyAgainstSeals(store, [s.replica]);
  t.is(report.status, 'mismatch');
  t.deepEqual(report.changedStreams.map((c) => c.streamId), ['object-obj-c']);
  const [changed] = report.changedStreams;
  t.deepEqual(changed?.sealedHead, { revision: 4n, hash: sealedC?.hash });
  const forgedAt4 = (await collect(store.readStream('object-obj-c', { fromRevision: 4n, maxCount: 1 })))[0];
  t.deepEqual(changed?.currentHeadAtPosition, { revision: 4n, hash: forgedAt4?.metadata.hash });
  t.not(changed?.currentHeadAtPosition?.hash, sealedC?.hash);
  t.is(report.sealEvent.status, 'altered');
  t.regex('detail' in report.sealEvent ? report.sealEvent.detail : '', /Merkle root .* instead of /);
  t.is(report.seal?.position, BigInt(s.sealed.position));
  t.is(report.sealsFound, 2);

  // 4. What `thukho verify` prints, and its exit code.
  const out = sink();
  const err = sink();
  const cli = await verifySealsForCli({ replicas: [s.replica], dataDir: s.dir }, store, {
    out: out.stream,
    progressStream: err.stream as unknown as NodeJS.WriteStream,
  });
  t.is(cli.exitCode, 1);
  t.regex(err.text(), /DẤU NIÊM PHONG KHÔNG KHỚP \/ SEAL MISMATCH at position \d+.*1 luồng/);
  t.regex(out.text(), /✗ object-obj-c: niêm phong \/ sealed revision 4 /);
  t.regex(out.text(), /✗ seal: /);
  t.notRegex(out.text(), /object-obj-[abde]/);

  // 5. The next seal is refused: sealing now would bless the forgery.
  const files = readdirSync(join(s.replica.path, SEALS_DIR)).sort();
  await executeObjectCommand(store, { type: 'EditMetadata', objectId: 'obj-e', changes: { subject: 'Hán Nôm' } }, ACTOR);
  const refused = await sealNow(store, [s.replica], SEALER).catch((e: unknown) => e);
  if (!(refused instanceof SealRefusedError)) return t.fail(`expected SealRefusedError, got ${String(refused)}`);
  t.deepEqual(refused.changed.map((c) => c.streamId), ['object-obj-c']);
  t.deepEqual(readdirSync(join(s.replica.path, SEALS_DIR)).sort(), files, 'no seal file was written');
  t.is((await collect(store.readStream(SEAL_STREAM))).length, 2, 'no seal event was appended');
});

test('a rewriter who leaves the seal stream alone is named the same way; the seal event itself checks out', async (t) => {
  const s = await scene(t);
  forgeObjectHistory(s.path);
  const store = new SqliteEventStore(s.path);
  t.teardown(() => store.close());
  t.deepEqual((await verifyLog(store)).broken, []);
  const report = await verifyAgainstSeals(store, [s.replica]);
  t.is(report.status, 'mismatch');
  t.deepEqual(report.changedStreams.map((c) => c.streamId), ['object-obj-c']);
  t.deepEqual(report.sealEvent, { status: 'ok' });
  t.not(report.currentRoot, s.sealed.merkleRoot);
});

test('a rewriter who deletes the seal stream from the log is caught by the replica copy', async (t) => {
  const s = await scene(t);
  forgeObjectHistory(s.path);
  const db = openRaw(s.path);
  db.exec('DROP TRIGGER IF EXISTS events_are_permanent');
  db.prepare('DELETE FROM events WHERE stream_id = ?').run(SEAL_STREAM);
  db.prepare('DELETE FROM streams WHERE stream_id = ?').run(SEAL_STREAM);
  db.close();
  const store = new SqliteEventStore(s.path);
  t.teardown(() => store.close());
  t.deepEqual((await verifyLog(store)).broken, [], 'no trace left in the log');
  const report = await verifyAgainstSeals(store, [s.replica]);
  t.is(report.status, 'mismatch');
  t.deepEqual(report.changedStreams.map((c) => c.streamId), ['object-obj-c']);
  t.is(report.sealEvent.status, 'missing');
});

test('after an investigation, --force seals over the change; the new seal records what it was forced over', async (t) => {
  const s = await scene(t);
  forgeObjectHistory(s.path);
  await forgeSealStream(s.path);
  const store = new SqliteEventStore(s.path);
  t.teardown(() => store.close());
  const outcome = await sealNow(store, [s.replica], SEALER, { force: true });
  if (outcome.status !== 'sealed') return t.fail('expected a forced seal');
  t.deepEqual(outcome.forcedOver, ['object-obj-c', SEAL_STREAM]);
  const file = JSON.parse(readFileSync(outcome.writtenTo[0]?.file ?? '', 'utf8')) as SealFile;
  t.deepEqual(file.forcedOver, ['object-obj-c', SEAL_STREAM]);
  const report = await verifyAgainstSeals(store, [s.replica]);
  t.is(report.status, 'ok', 'the new seal matches the log as it now is');
  t.true(report.problems.some((p) => /--force over changes in: object-obj-c, seal/.test(p)), 'and says it was forced');
});

test('the heads are recomputed from the events, not taken from the head table: a rewrite that leaves the table alone is named too', async (t) => {
  const s = await scene(t);
  const db = openRaw(s.path);
  rechain(
    db,
    'object-obj-d',
    2,
    (row, data) => {
      if (row.revision === 2) (data.changes as { title: string }).title = FORGED_TITLE;
    },
    { rewriteHead: false },
  );
  db.close();
  const store = new SqliteEventStore(s.path);
  t.teardown(() => store.close());
  // The head table still holds the sealed head, so a seal check that trusted it would pass.
  const head = (await collect(store.listStreams())).find((h) => h.streamId === 'object-obj-d');
  t.is(head?.hash, s.sealed.heads.find((h) => h.streamId === 'object-obj-d')?.hash);
  const report = await verifyAgainstSeals(store, [s.replica]);
  t.is(report.status, 'mismatch');
  t.deepEqual(report.changedStreams.map((c) => c.streamId), ['object-obj-d']);
});

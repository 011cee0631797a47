import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { executeCollectionCommand, executeObjectCommand } from '../../src/application/object-commands.ts';
import { eventHash } from '../../src/eventstore/hash-chain.ts';
import type { EventMetadata } from '../../src/eventstore/port.ts';
import { SEALS_DIR, sealNow } from '../../src/eventstore/seal.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { ROOT, run, show, thukho } from '../helpers/cli.ts';

/**
 * An auditor's check, end to end: a real repository, `thukho export-log` run as a process,
 * and the export checked by tools/verify-chain.py (Python standard library, none of our code).
 * Then tampering, in the export and in the SQLite log itself, must make the verifier fail
 * naming the event.
 */
const ACTOR = { actor: { id: 'test', role: 'staff' } };
const VERIFIER = join(ROOT, 'tools/verify-chain.py');
const python = (...args: string[]) => run('python3', [VERIFIER, ...args]);

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'thukho-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A collection and five objects edited three times, sealed onto a replica, then edited again. */
async function repository(dir: string): Promise<{ replica: string; sealPosition: bigint }> {
  const replica = join(dir, 'replica-nas');
  await OcflStorageRoot.open(replica);
  await OcflStorageRoot.open(join(dir, 'ocfl'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'han-nom', title: 'Hán Nôm — 漢喃' }, ACTOR);
  for (const id of ['obj-a', 'obj-b', 'obj-c', 'obj-d', 'obj-e']) {
    await executeObjectCommand(
      store,
      { type: 'RegisterObject', objectId: id, metadata: { title: `Truyện Kiều 傳翹 ${id}`, collectionId: 'han-nom' }, accessLevel: 'open' },
      ACTOR,
    );
    for (let i = 1; i <= 3; i++) {
      await executeObjectCommand(store, { type: 'EditMetadata', objectId: id, changes: { title: `Truyện Kiều 𡦂 ${id} (bản ${i})` } }, ACTOR);
    }
  }
  const sealed = await sealNow(store, [{ label: 'nas', path: replica }], { id: 'worker:seal', role: 'admin' });
  if (sealed.status !== 'sealed') throw new Error('no seal was made');
  await executeObjectCommand(store, { type: 'EditMetadata', objectId: 'obj-a', changes: { title: 'Truyện Kiều obj-a (bản 4)' } }, ACTOR);
  await store.close();
  return { replica, sealPosition: sealed.seal.position };
}

interface Line {
  streamId: string;
  revision: number;
  position: number;
  id: string;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

const linesOf = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('export-log → verify-chain.py passes; the events are exactly as stored; the seal on the replica is recomputed', async (t) => {
  const dir = tempDir(t);
  const { replica, sealPosition } = await repository(dir);
  const file = join(dir, 'audit', 'export.jsonl');
  mkdirSync(join(dir, 'audit'));

  const exported = await thukho(dir, ['export-log', '--out', file]);
  t.is(exported.code, 0, show(exported));
  t.regex(exported.stderr, /exported 23 sự kiện \/ events, 7 luồng \/ streams/, show(exported));

  const checked = await python(file);
  t.is(checked.code, 0, show(checked));
  t.regex(checked.stdout, /^OK: 23 events in 7 streams, every hash chain intact$/m, show(checked));
  t.regex(checked.stdout, new RegExp(`^OK: seal at position ${sealPosition} matches, Merkle root [0-9a-f]{64} over 6 streams$`, 'm'), show(checked));
  const withReplica = await python(file, join(replica, SEALS_DIR, `seal-${sealPosition}.json`));
  t.is(withReplica.code, 0, show(withReplica));

  // Every event line holds the stored row's data and metadata, in log order.
  const lines = linesOf(readFileSync(file, 'utf8'));
  t.like(lines[0], { format: 'thukho-log/1', upToPosition: 23, seal: { position: Number(sealPosition), streams: 6 } });
  t.deepEqual(lines.at(-1), { end: { events: 23, streams: 7 } });
  const db = new Database(join(dir, 'events.sqlite'), { readonly: true });
  const rows = db.prepare<[], { stream_id: string; revision: number; position: number; event_id: string; type: string; data: string; metadata: string }>('SELECT * FROM events ORDER BY position').all();
  db.close();
  t.deepEqual(
    lines.slice(1, -1),
    rows.map((r) => ({ streamId: r.stream_id, revision: r.revision, position: r.position, id: r.event_id, type: r.type, data: JSON.parse(r.data) as unknown, metadata: JSON.parse(r.metadata) as unknown })),
  );

  // The same export on stdout.
  const onStdout = await thukho(dir, ['export-log']);
  t.is(onStdout.code, 0, show(onStdout));
  t.deepEqual(linesOf(onStdout.stdout).slice(1), lines.slice(1));
});

test('an event edited in the export: verify-chain.py fails naming it; re-hashed along its stream, the seal still names the rewrite', async (t) => {
  const dir = tempDir(t);
  await repository(dir);
  const file = join(dir, 'export.jsonl');
  t.is((await thukho(dir, ['export-log', '--out', file])).code, 0);
  const lines = linesOf(readFileSync(file, 'utf8'));
  const at = lines.findIndex((l) => l.streamId === 'object-obj-b' && l.revision === 2);
  const target = lines[at] as unknown as Line;
  (target.data.changes as { title: string }).title = 'Giả mạo';
  writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

  const r = await python(file);
  t.is(r.code, 1, show(r));
  t.is(r.stdout.trim(), `BROKEN: line ${at + 1}: object-obj-b @ revision 2 (event ${target.id}): content does not match its hash (event was altered)`);

  // A rewriter who knows the format re-hashes the event and every later one of the stream:
  // every chain holds again, and only the seal (made before) still tells.
  let prev = '';
  for (const l of lines.slice(1, -1) as unknown as Line[]) {
    if (l.streamId !== 'object-obj-b' || l.revision < 2) continue;
    if (l.revision > 2) l.metadata.prevHash = prev;
    l.metadata.hash = eventHash(l.type, l.data, l.metadata);
    prev = l.metadata.hash;
  }
  writeFileSync(file, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const rehashed = await python(file);
  t.is(rehashed.code, 1, show(rehashed));
  t.regex(rehashed.stdout, /^OK: 23 events in 7 streams, every hash chain intact$/m, show(rehashed));
  t.regex(rehashed.stdout, /^BROKEN: seal at position \d+: the heads give Merkle root [0-9a-f]{64} over 6 streams, the seal says [0-9a-f]{64} over 6$/m, show(rehashed));
});

test('an event edited in the SQLite log, then exported again: verify-chain.py fails naming it', async (t) => {
  const dir = tempDir(t);
  await repository(dir);
  const db = new Database(join(dir, 'events.sqlite'));
  const row = db.prepare<[], { position: number; event_id: string }>("SELECT position, event_id FROM events WHERE stream_id = 'object-obj-c' AND revision = 1").get();
  if (!row) throw new Error('no object-obj-c@1');
  db.exec('DROP TRIGGER events_are_immutable');
  t.is(db.prepare("UPDATE events SET data = json_set(data, '$.changes.title', 'Giả mạo') WHERE position = ?").run(row.position).changes, 1);
  db.close();

  const file = join(dir, 'export.jsonl');
  const exported = await thukho(dir, ['export-log', '--out', file]);
  t.is(exported.code, 0, show(exported));
  const r = await python(file);
  t.is(r.code, 1, show(r));
  t.is(r.stdout.trim(), `BROKEN: line ${row.position + 1}: object-obj-c @ revision 1 (event ${row.event_id}): content does not match its hash (event was altered)`);
});

test('export-log refuses a missing repository (exit 2, naming its absolute path) and creates nothing', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'khong-co');
  const r = await thukho(missing, ['export-log', '--out', join(dir, 'export.jsonl')]);
  t.is(r.code, 2, show(r));
  t.true(r.stderr.includes(`no repository at ${missing}`), show(r));
  t.true(r.stderr.includes(join(missing, 'events.sqlite')), show(r));
  t.false(existsSync(missing));
  t.false(existsSync(join(dir, 'export.jsonl')));
});

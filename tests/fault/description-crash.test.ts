import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { objectOcflIdFor } from '../../src/application/ocfl-ids.ts';
import { createUser } from '../../src/application/users.ts';
import { RECORD_PATH } from '../../src/application/work-description.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import { poll } from '../helpers/api.ts';
import { freePort, type Running, signalGroup, sleep, startThukho, waitForHealth } from '../helpers/cli.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * kill -9 while edits are being written as OCFL versions: each work's object stays valid
 * (an interrupted version is never committed), and once the server runs again every work's
 * head version describes its newest acknowledged edit, without anyone asking.
 */
const WORKS = 6;

async function editLoop(port: number, token: string, ids: string[], acknowledged: Map<string, string>, stop: { now: boolean; acks: number }) {
  let n = 0;
  while (!stop.now) {
    const id = ids[n % ids.length] as string;
    const title = `Bản sửa ${n} của ${id}`;
    n++;
    try {
      const read = await fetch(`http://127.0.0.1:${port}/api/objects/${id}`, { headers: { authorization: `Bearer ${token}` } });
      const etag = read.headers.get('etag') ?? '"0"';
      await read.arrayBuffer();
      const res = await fetch(`http://127.0.0.1:${port}/api/objects/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': etag },
        body: JSON.stringify({ title }),
      });
      if (res.status === 200) {
        acknowledged.set(id, title);
        stop.acks++;
      }
      await res.arrayBuffer();
    } catch {
      return; // the server is gone
    }
  }
}

async function recordTitle(root: OcflStorageRoot, id: string): Promise<string | null> {
  try {
    const record = JSON.parse(await readFile(await root.contentFile(objectOcflIdFor(id), RECORD_PATH), 'utf8')) as { metadata: { title: string } };
    return record.metadata.title;
  } catch {
    return null;
  }
}

test('kill -9 during edits: every object stays valid, and the descriptions catch up on the next start', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const dataDir = mkdtempSync(join(tmpdir(), 'thukho-describe-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  const { token } = await createUser(store, 'staff', 'Cán bộ', 'curator', { actor: { id: 'test', role: 'admin' } });
  const ids = Array.from({ length: WORKS }, (_, i) => `sach-${i}`);
  for (const id of ids) {
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: id, metadata: { title: `Sách ${id}` }, accessLevel: 'open' }, { actor: { id: 'test', role: 'admin' } });
  }
  await store.close();

  const acknowledged = new Map<string, string>();
  const port = await freePort();
  const env = { THUKHO_PORT: String(port), THUKHO_HOST: '127.0.0.1', THUKHO_OCR: 'off' };
  let running: Running | undefined;
  t.teardown(() => {
    if (running && running.child.exitCode === null) signalGroup(running, 'SIGKILL');
  });
  for (let round = 0; round < 3; round++) {
    running = startThukho(dataDir, ['serve', '--no-workers'], env);
    await waitForHealth(running, port);
    const stop = { now: false, acks: 0 };
    const loops = [0, 1, 2].map(() => editLoop(port, token, ids, acknowledged, stop));
    // Killed at a random moment once edits are being acknowledged (on a busy machine the first
    // may take seconds), and the moment stretched like the machine is.
    await poll(`an acknowledged edit in round ${round + 1}`, 60_000, async () => (stop.acks > 0 ? true : undefined), 20);
    await sleep(scaledTimeout(400 + Math.floor(Math.random() * 800)));
    signalGroup(running, 'SIGKILL');
    await running.exited;
    stop.now = true;
    await Promise.all(loops);
  }
  t.true(acknowledged.size > 0, 'some edits were acknowledged');

  // Nothing committed half: the validator finds no error in any object (a version directory
  // left uncommitted by the kill is reported by incompleteVersion, not as damage).
  const root = await OcflStorageRoot.open(join(dataDir, 'ocfl'));

  running = startThukho(dataDir, ['serve', '--no-workers'], env);
  await waitForHealth(running, port);
  // No request: the description queue alone brings every work up to its last acknowledged edit.
  for (const id of ids) {
    // The log's current title: the newest edit that was committed, acknowledged or not.
    const current = (await (await fetch(`http://127.0.0.1:${port}/api/objects/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { title: string };
    const title = current.title;
    // Waited for as long as it takes (a hang guard only): the queue is slow on a busy machine, not wrong.
    const seen = await poll(`${id}: the head version describing "${title}"`, 60_000, async () => {
      const now = await recordTitle(root, id);
      return now === title ? now : undefined;
    }).catch(async () => recordTitle(root, id));
    t.is(seen, title, `${id}: the head version describes the newest edit in the log`);
  }
  signalGroup(running, 'SIGTERM');
  await running.exited;
  for (const id of ids) t.is(await root.incompleteVersion(objectOcflIdFor(id)), null, `${id} has no uncommitted version left`);
  const issues = (await validateStorageRoot(join(dataDir, 'ocfl'))).filter((i) => i.code.startsWith('E') || i.code === 'W005' || i.code === 'W008');
  t.deepEqual(issues, []);
});

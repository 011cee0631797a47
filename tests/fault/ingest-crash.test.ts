import { type ChildProcess, spawn } from 'node:child_process';
import { objectOcflIdFor } from '../../src/application/ocfl-ids.ts';
import { mastersIn } from '../helpers/ocfl.ts';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createUser } from '../../src/application/users.ts';
import { executeObjectCommand } from '../../src/application/object-commands.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { page } from '../helpers/images.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * kill -9 the server at random points during a 50-file ingest over HTTP, three times,
 * then restart and send everything again. Afterwards: every event's file exists with its
 * digest, every stored file has its event, the OCFL root validates, nothing is doubled.
 */
const FILES = 50;

function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bin/thukho.js', 'serve', '--no-workers'], {
    env: { ...process.env, THUKHO_DATA_DIR: dataDir, THUKHO_PORT: String(port), THUKHO_HOST: '127.0.0.1', THUKHO_LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:6379' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('serving at')) resolve(child);
    });
    child.stderr?.on('data', () => {});
    child.once('exit', (code) => reject(new Error(`server exited early (${code}): ${out}`)));
  });
}

async function upload(port: number, token: string, objectId: string, body: Buffer, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/api/objects/${objectId}/files?name=${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'image/tiff' },
    body: new Uint8Array(body),
  });
  await res.arrayBuffer();
  return res.status;
}

test('kill -9 during a 50-file ingest loses nothing and doubles nothing', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const dataDir = mkdtempSync(join(tmpdir(), 'thukho-ingest-crash-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  try {
    const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    const { token } = await createUser(store, 'staff', 'Cán bộ', 'curator', { actor: { id: 'test', role: 'admin' } });
    await executeObjectCommand(store, { type: 'RegisterObject', objectId: 'sach', metadata: { title: 'Sách thử' }, accessLevel: 'open' }, { actor: { id: 'test', role: 'staff' } });
    await store.close();
    const pages = await Promise.all(Array.from({ length: FILES }, (_, i) => page(`Trang ${i + 1} — 第${i + 1}頁`, { width: 900, height: 700 })));

    for (let round = 0; round < 3; round++) {
      const server = await startServer(dataDir, port);
      const exited = new Promise((r) => server.once('exit', r));
      const uploads = (async () => {
        for (let i = 0; i < FILES; i += 4) {
          await Promise.all(pages.slice(i, i + 4).map((b, j) => upload(port, token, 'sach', b, `trang_${i + j + 1}.tif`).catch(() => 0)));
        }
      })();
      // A random kill point, stretched like the machine so that it still falls inside the ingest when it is busy.
      await new Promise((r) => setTimeout(r, scaledTimeout(300 + Math.random() * 1500)));
      server.kill('SIGKILL');
      await exited;
      await uploads;
    }

    // Restart (reconcile runs at start-up), then send everything again.
    const server = await startServer(dataDir, port);
    const statuses: number[] = [];
    for (let i = 0; i < FILES; i++) statuses.push(await upload(port, token, 'sach', pages[i] as Buffer, `trang_${i + 1}.tif`));
    t.true(statuses.every((s) => s === 200 || s === 201), statuses.join(','));
    const object = (await (await fetch(`http://127.0.0.1:${port}/api/objects/sach`)).json()) as { files: Array<{ name: string; digests: { sha512: string }; storage: { path: string } }> };
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));

    t.is(object.files.length, FILES);
    t.is(new Set(object.files.map((f) => f.digests.sha512)).size, FILES);
    const ocfl = await OcflStorageRoot.open(join(dataDir, 'ocfl'));
    const root = ocfl.objectRoot(objectOcflIdFor('sach'));
    for (const f of object.files) {
      const bytes = await readFile(join(dataDir, 'ocfl', root, f.storage.path));
      t.is(createHash('sha512').update(bytes).digest('hex'), f.digests.sha512);
    }
    const inventory = await ocfl.readInventory(objectOcflIdFor('sach'));
    const stored = new Set(mastersIn(inventory));
    t.deepEqual([...stored].sort(), object.files.map((f) => f.digests.sha512).sort());
    t.deepEqual(await validateStorageRoot(join(dataDir, 'ocfl')), []);
    t.deepEqual(readdirSync(join(dataDir, 'ingest-journal')).filter((n) => !n.startsWith('.')), []);
    const check = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    t.deepEqual((await verifyLog(check)).broken, []);
    await check.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

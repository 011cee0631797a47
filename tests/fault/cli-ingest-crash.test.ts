import { spawn } from 'node:child_process';
import { objectOcflIdFor } from '../../src/application/ocfl-ids.ts';
import { mastersIn } from '../helpers/ocfl.ts';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { executeCollectionCommand, loadObject } from '../../src/application/object-commands.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { verifyLog } from '../../src/eventstore/verify.ts';
import { validateStorageRoot } from '../../src/storage/ocfl-validate.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { page } from '../helpers/images.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/** kill -9 `thukho ingest` at random points of a 50-file batch, three times; then re-run it to the end. */
function runIngest(dataDir: string, batch: string, killAfterMs?: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/thukho.js', 'ingest', batch, '--collection', 'kho'], {
      env: { ...process.env, THUKHO_DATA_DIR: dataDir, THUKHO_LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('kill -9 of a bulk ingest, then a re-run, leaves every file once with its event', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const work = mkdtempSync(join(tmpdir(), 'thukho-cli-crash-'));
  const dataDir = join(work, 'repo');
  const batch = join(work, 'batch');
  try {
    const rows = ['folder,title'];
    for (let o = 0; o < 5; o++) {
      mkdirSync(join(batch, `sach-${o}`), { recursive: true });
      rows.push(`sach-${o},Sách số ${o}`);
      for (let p = 1; p <= 10; p++) writeFileSync(join(batch, `sach-${o}`, `trang_${p}.tif`), await page(`Sách ${o} trang ${p}`, { width: 900, height: 700 }));
    }
    writeFileSync(join(batch, 'metadata.csv'), `${rows.join('\n')}\n`);
    const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: 'kho', title: 'Kho' }, { actor: { id: 'test', role: 'staff' } });
    await store.close();

    // Random kill points, stretched like the machine so that they still fall inside the batch when it is busy.
    for (let round = 0; round < 3; round++) await runIngest(dataDir, batch, scaledTimeout(1200 + Math.random() * 1500));
    t.is(await runIngest(dataDir, batch), 0);

    const check = new SqliteEventStore(join(dataDir, 'events.sqlite'));
    const ocfl = await OcflStorageRoot.open(join(dataDir, 'ocfl'));
    for (let o = 0; o < 5; o++) {
      const { state } = await loadObject(check, `sach-${o}`);
      if (state.status !== 'active') {
        t.fail(`sach-${o} missing`);
        continue;
      }
      t.deepEqual(state.files.map((f) => f.name), Array.from({ length: 10 }, (_, i) => `trang_${i + 1}.tif`));
      const inventory = await ocfl.readInventory(objectOcflIdFor(`sach-${o}`));
      t.deepEqual(mastersIn(inventory).sort(), state.files.map((f) => f.digests.sha512).sort());
      for (const f of state.files) {
        const bytes = await readFile(join(dataDir, 'ocfl', ocfl.objectRoot(objectOcflIdFor(`sach-${o}`)), f.storage.path));
        t.is(createHash('sha512').update(bytes).digest('hex'), f.digests.sha512);
      }
    }
    t.deepEqual((await verifyLog(check)).broken, []);
    await check.close();
    t.deepEqual(await validateStorageRoot(join(dataDir, 'ocfl')), []);
    t.deepEqual(readdirSync(join(dataDir, 'ingest-journal')).filter((n) => !n.startsWith('.')), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

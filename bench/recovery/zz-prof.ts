import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverFromRoot } from '../../src/application/recover.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
async function main() {
  const from = process.argv[2] as string;
  const dir = mkdtempSync(join(tmpdir(), 'rprof-'));
  const store = new SqliteEventStore(join(dir, 'e.sqlite'));
  const target = { path: join(dir, 'ocfl'), root: await OcflStorageRoot.open(join(dir, 'ocfl')) };
  const t0 = performance.now();
  let last = '';
  const r = await recoverFromRoot({ from, store, target, onProgress: (p) => { if (p.phase !== last) { console.log(p.phase, (performance.now() - t0).toFixed(0)); last = p.phase; } } });
  console.log('end', (performance.now() - t0).toFixed(0), r.events);
}
void main();

import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Command } from 'commander';
import { keptOnlyInLog, RECOVERY_RECORD, recoverFromRoot, type RecoveryReport } from '../application/recover.ts';
import { SqliteEventStore } from '../eventstore/sqlite.ts';
import { projectionsFor } from '../projections/all.ts';
import { openReadModelDb } from '../projections/read-model-db.ts';
import { rebuildProjection } from '../projections/runtime.ts';
import { rebuildSearchIndex } from '../projections/search-runner.ts';
import { openSearchIndex } from '../search/open.ts';
import { writeFileDurable } from '../storage/durable-file.ts';
import { OcflStorageRoot } from '../storage/ocfl.ts';
import { loadCliConfig } from './cli-config.ts';
import { progress } from './progress.ts';

/**
 * `thukho recover --from ROOT`: the whole repository back from one OCFL storage root (see
 * application/recover.ts), into the configured data directory, which must hold no
 * repository yet. Exit 0 when everything on the root was recovered and its seal verified,
 * 1 when something could not be (named, with the reason), 2 when it could not start.
 */
const PHASES = {
  read: 'đọc mô tả / reading descriptions',
  copy: 'chép đối tượng / copying objects',
  log: 'ghi nhật ký / writing the log',
} as const;

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length === 0;
  } catch {
    return true;
  }
}

function fail(message: string): never {
  process.stderr.write(`thukho recover: ${message}\n`);
  process.exit(2);
}

export function recoverCommand(): Command {
  return new Command('recover')
    .description('Dựng lại kho từ một gốc lưu trữ OCFL / rebuild the repository from one OCFL storage root alone')
    .requiredOption('--from <root>', 'gốc OCFL còn lại (chính hoặc bản sao) / the surviving OCFL storage root (primary or a replica)')
    .option('--json', 'báo cáo dạng JSON / report as JSON')
    .action(async (opts: { from: string; json?: boolean }) => {
      const cfg = loadCliConfig();
      if (cfg.eventStore.kind !== 'sqlite') {
        fail('chỉ khôi phục vào hồ sơ nhúng (nhật ký SQLite) / recovery writes the embedded profile\'s SQLite log; unset THUKHO_EVENTSTORE');
      }
      if (existsSync(cfg.eventStore.path)) fail(`đã có nhật ký tại ${cfg.eventStore.path}; hãy dùng thư mục dữ liệu trống / a log already exists at ${cfg.eventStore.path}; point THUKHO_DATA_DIR at an empty directory`);
      if (!(await isEmptyDir(cfg.ocflRoot))) fail(`${cfg.ocflRoot} không trống / is not empty; recovery needs an empty data directory`);
      let from: OcflStorageRoot;
      try {
        from = await OcflStorageRoot.openExisting(opts.from);
      } catch (err) {
        fail(`không mở được / cannot open ${opts.from}: ${(err as Error).message}`);
      }
      if (from.root === (await OcflStorageRoot.open(cfg.ocflRoot)).root) fail('--from là chính gốc đích / --from is the target root itself');

      const store = new SqliteEventStore(cfg.eventStore.path);
      const target = { path: cfg.ocflRoot, root: await OcflStorageRoot.open(cfg.ocflRoot) };
      let bar = progress(PHASES.read, 'objects');
      let phase: keyof typeof PHASES = 'read';
      const report = await recoverFromRoot({
        from: from.root,
        store,
        target,
        onProgress: (p) => {
          if (p.phase !== phase) {
            bar.finish(`${PHASES[phase]}: xong / done`);
            phase = p.phase;
            bar = progress(PHASES[phase], p.phase === 'log' ? 'streams' : 'objects');
          }
          bar.update(p.done, p.total);
        },
      });
      bar.finish(`${PHASES[phase]}: xong / done`);
      await writeFileDurable(cfg.dataDir, RECOVERY_RECORD, `${JSON.stringify({ recoveredAt: new Date().toISOString(), ...report }, null, 2)}\n`);

      // Every read model and the search index, from the recovered log.
      const db = openReadModelDb(cfg.readModelPath);
      for (const projection of Object.values(projectionsFor(cfg))) {
        const rb = progress(`rebuild ${projection.name}`, 'events');
        const r = await rebuildProjection(store, db, projection, (p) => rb.update(Number(p.position), Number(p.head)));
        rb.finish(`rebuild ${projection.name}: ${r.events} events`);
      }
      db.close();
      const index = openSearchIndex(cfg);
      const sb = progress('rebuild search', 'events');
      const s = await rebuildSearchIndex(store, index, (p) => sb.update(Number(p.position), Number(p.head)));
      sb.finish(`rebuild search: ${s.events} events`);
      await index.close();
      await store.close();

      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else printReport(report, cfg.dataDir);
      process.exitCode = report.notRecovered.length || report.seal.status === 'mismatch' ? 1 : 0;
    });
}

function printReport(r: RecoveryReport, dataDir: string): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const count = (kind: string) => r.recovered.filter((s) => s.kind === kind).length;
  out(`Khôi phục từ / recovered from ${r.from}:`);
  out(`  ${count('object')} tài liệu / works, ${count('collection')} bộ sưu tập / collections, niêm phong / seals: ${count('seals') ? 'có / yes' : 'không / none'}`);
  out(`  ${r.streams} luồng / streams, ${r.events} sự kiện / events, chuỗi băm từng luồng đã kiểm / every stream's hash chain verified`);
  const upTo = r.recovered.map((s) => s.completeUpTo).filter((p): p is string => p !== null).map(BigInt);
  if (upTo.length) out(`  đầy đủ đến vị trí nhật ký / complete up to log position ${upTo.reduce((a, b) => (a > b ? a : b))} (mỗi tài liệu: xem / per work: ${dataDir}/${RECOVERY_RECORD})`);
  if (r.notRecovered.length) {
    out(`KHÔNG khôi phục được / NOT recovered: ${r.notRecovered.length}`);
    for (const u of r.notRecovered) out(`  ✗ ${u.ocflId}: ${u.reason}`);
  }
  const seal = r.seal;
  if (seal.status === 'no-seal') out('Niêm phong / seal: không có trên gốc này / none on this root; each stream\'s chain is all that was checked');
  else {
    out(`Niêm phong / seal at position ${seal.position} (${seal.sealedAt}): ${seal.status === 'verified' ? 'KHỚP / verified' : 'KHÔNG KHỚP / MISMATCH'}, ${seal.matching} streams match`);
    for (const m of seal.mismatched) out(`  ✗ ${m.streamId}: ${m.reason}`);
  }
  const accounts = seal.notInOcfl.filter((s) => s.startsWith('user-')).length;
  const access = seal.notInOcfl.filter(keptOnlyInLog).length - accounts;
  if (accounts || access) {
    out(`  Không có trong OCFL (chủ ý) / not kept in OCFL by design: ${accounts} tài khoản / accounts, ${access} ngày thống kê / days of reading statistics.`);
    out('  Tài khoản: khôi phục từ bản sao lưu nhật ký (ops/restore) hoặc tạo lại bằng `thukho users add` / accounts: restore the log backup (ops/restore) or re-create them with `thukho users add`.');
  }
}

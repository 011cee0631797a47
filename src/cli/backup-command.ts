import { resolve } from 'node:path';
import { Command } from 'commander';
import { BackupNotStartedError, takeBackup } from '../application/backup.ts';
import { BackupRefusedError } from '../application/backup-manifest.ts';
import { restoreBackup, RestoreRefusedError } from '../application/restore.ts';
import { createLogger } from '../logger.ts';
import { loadCliConfig } from './cli-config.ts';
import { progress } from './progress.ts';
import { requireRepository } from './repository.ts';

/**
 * `thukho backup --to DIR` and `thukho restore --from DIR`, for people and for timers (ops/backup,
 * ops/restore, later Ansible): nothing is asked, the outcome is one line on stdout, progress
 * and JSON logs on stderr, and the exit code says it all:
 *
 *   0  done
 *   1  it failed: the backup could not be written (what was written has no backup.json and is
 *      never restored), or the backup is refused (cut short, altered, a broken hash chain)
 *   2  refused before anything was done: no repository, a destination that is not empty, a
 *      profile it does not cover
 */

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

const STEP_LABELS: Record<string, string> = {
  'read-models': 'sao lưu mô hình đọc / read models',
  log: 'sao lưu nhật ký / event log',
  ocfl: 'chép kho OCFL / OCFL root',
  ocr: 'chép kết quả OCR / OCR outputs',
  digests: 'tính SHA-256 / digests',
  manifest: 'ghi backup.json / manifest',
  verify: 'kiểm tra bản sao lưu / verifying the backup',
  copy: 'khôi phục / restoring',
  chain: 'kiểm tra chuỗi băm / hash chains',
};

/** One progress line per step, each finished when the next begins. */
function stepProgress() {
  let current: { step: string; bar: ReturnType<typeof progress>; done: number } | null = null;
  return {
    update(p: { step: string; done: number; total?: number; detail?: string }) {
      if (current?.step !== p.step) {
        current?.bar.finish(`${STEP_LABELS[current.step] ?? current.step}: ${current.done.toLocaleString('en-US')} ✓`);
        current = { step: p.step, bar: progress(STEP_LABELS[p.step] ?? p.step, p.step === 'verify' ? 'B' : p.step === 'chain' ? 'events' : p.step === 'ocfl' || p.step === 'ocr' || p.step === 'digests' ? 'files' : 'steps'), done: 0 };
      }
      current.done = p.done;
      current.bar.update(p.done, p.total, p.detail);
    },
    end() {
      current?.bar.finish(`${STEP_LABELS[current.step] ?? current.step}: ${current.done.toLocaleString('en-US')} ✓`);
      current = null;
    },
  };
}

export function backupCommand(): Command {
  return new Command('backup')
    .description('Sao lưu nhật ký, mô hình đọc và kho OCFL khi máy chủ vẫn chạy / back up the log, read models and OCFL root while the server runs')
    .requiredOption('--to <dir>', 'the new backup directory (must not exist, or be empty)')
    .option('--previous <dir>', 'an earlier complete backup: unchanged files become hard links to it (rsync --link-dest)')
    .option('--ocfl-on-replica', 'do not copy the OCFL root: a replica in THUKHO_REPLICAS already holds it (noted in backup.json)')
    .option('--json', 'print backup.json’s summary as JSON')
    .action(async (opts: { to: string; previous?: string; ocflOnReplica?: boolean; json?: boolean }) => {
      const config = loadCliConfig();
      await requireRepository(config, 'backup');
      const logger = createLogger(config.logLevel, 'thukho-backup');
      const to = resolve(opts.to);
      const bar = stepProgress();
      try {
        const s = await takeBackup(config, {
          to,
          ...(opts.previous ? { previous: resolve(opts.previous) } : {}),
          ocflOnReplica: opts.ocflOnReplica === true,
          onProgress: (p) => bar.update(p),
          logger,
        });
        bar.end();
        const m = s.manifest;
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ dir: s.dir, createdAt: m.createdAt, finishedAt: m.finishedAt, log: m.log, ocfl: m.ocfl, totals: m.totals, reused: s.reused, trimmed: s.trimmed }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `Đã sao lưu / backed up: ${to}\n` +
            `  ${m.totals.files} tệp / files, ${formatBytes(m.totals.bytes)}${s.reused ? ` (${s.reused} liên kết cứng tới bản trước / hard-linked to the previous backup)` : ''}\n` +
            `  nhật ký / log: vị trí lúc bắt đầu / head at start ${m.log.headAtStart ?? 0}, trong bản sao / in the copy ${m.log.headInCopy ?? 0}\n` +
            (m.ocfl.mode === 'replica'
              ? `  kho OCFL không chép: nằm trên bản sao / OCFL root not copied, held by replica(s): ${m.ocfl.replicas.map((r) => `${r.label}=${r.path}`).join(', ')}\n`
              : '') +
            (s.trimmed.length ? `  bỏ ${s.trimmed.length} phiên bản OCFL đang ghi dở / left out ${s.trimmed.length} OCFL version(s) being written\n` : '') +
            (s.previousIgnored ? `  ! không dùng bản trước / previous backup not used: ${s.previousIgnored}\n` : ''),
        );
      } catch (err) {
        bar.end();
        if (err instanceof BackupNotStartedError) {
          process.stderr.write(`thukho backup: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        logger.error({ err, to }, 'backup failed');
        process.stderr.write(
          `thukho backup: THẤT BẠI / FAILED: ${(err as Error).message}\n` +
            `  ${to} không có backup.json nên sẽ không bao giờ được khôi phục; xoá nó đi / has no backup.json and will never be restored: remove it\n`,
        );
        process.exitCode = 1;
      }
    });
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('Khôi phục từ bản sao lưu (kiểm tra từng tệp trước) / restore from a backup, every file verified first')
    .requiredOption('--from <dir>', 'a backup directory written by `thukho backup`')
    .option('--force', 'move a non-empty data directory aside (DIR.before-restore-TIME) instead of refusing; nothing is deleted')
    .option('--ocfl-from <dir>', 'for a backup made with --ocfl-on-replica: the replica’s OCFL storage root to copy the masters from')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { from: string; force?: boolean; ocflFrom?: string; json?: boolean }) => {
      const config = loadCliConfig();
      const logger = createLogger(config.logLevel, 'thukho-restore');
      const from = resolve(opts.from);
      const bar = stepProgress();
      try {
        const s = await restoreBackup(config, {
          from,
          force: opts.force === true,
          ...(opts.ocflFrom ? { ocflFrom: resolve(opts.ocflFrom) } : {}),
          onProgress: (p) => bar.update(p),
          logger,
        });
        bar.end();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ from, createdAt: s.manifest.createdAt, restored: s.restored, movedAside: s.movedAside, log: s.log }, null, 2)}\n`);
          return;
        }
        const lines = [
          `Đã khôi phục / restored from ${from} (sao lưu lúc / backed up at ${s.manifest.createdAt})`,
          ...s.restored.map((r) => `  ${r.part} → ${r.to}${r.files ? ` (${r.files} tệp / files, ${formatBytes(r.bytes)})` : ''}`),
          `  nhật ký / log: ${s.log.events} sự kiện / events, ${s.log.streams} luồng / streams, chuỗi băm nguyên vẹn / hash chains intact`,
          ...s.movedAside.map((m) => `  dữ liệu cũ đã dời sang / what was there is now at ${m.to} (xoá khi không cần / remove it when no longer needed)`),
          '  Ảnh phái sinh sẽ được làm lại khi cần; chạy `thukho serve`, rồi `thukho verify` / derivatives are made again as needed; start `thukho serve`, then run `thukho verify`',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      } catch (err) {
        bar.end();
        if (err instanceof BackupRefusedError) {
          process.stderr.write(`thukho restore: TỪ CHỐI / REFUSED: bản sao lưu không dùng được, không thay đổi gì / the backup cannot be used; nothing was changed\n`);
          for (const p of err.problems.slice(0, 50)) process.stderr.write(`  ✗ ${p}\n`);
          if (err.problems.length > 50) process.stderr.write(`  … +${err.problems.length - 50}\n`);
          process.exitCode = 1;
          return;
        }
        if (err instanceof RestoreRefusedError) {
          process.stderr.write(`thukho restore: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        logger.error({ err, from }, 'restore failed');
        process.stderr.write(`thukho restore: THẤT BẠI / FAILED: ${(err as Error).message}; nơi khôi phục không bị thay đổi / the destination was not changed\n`);
        process.exitCode = 1;
      }
    });
}

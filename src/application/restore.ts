import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { SqliteEventStore } from '../eventstore/sqlite.ts';
import { verifyLog } from '../eventstore/verify.ts';
import { searchIndexPath } from '../search/open.ts';
import { fsyncDir } from '../storage/durable-file.ts';
import { isStorageRoot } from '../storage/ocfl.ts';
import { rsyncTree } from '../storage/rsync.ts';
import { type BackupManifest, BackupRefusedError, LOG_FILE, PART_DIRS, READ_MODEL_FILE, readManifest, SEARCH_INDEX_FILE, verifyBackup } from './backup-manifest.ts';

/**
 * `thukho restore --from DIR`: puts a backup back where the configuration says the repository
 * lives. Nothing is touched until the backup has proved whole (every file's SHA-256 against
 * backup.json) and its event log's hash chains verify. Everything is assembled in a temp
 * directory beside its destination and renamed into place; a destination that holds anything
 * is refused, or with `force` moved aside (never deleted, never overwritten).
 */

export interface RestoreProgress {
  step: 'verify' | 'copy' | 'chain';
  done: number;
  total?: number;
  detail?: string;
}

export interface RestoreOptions {
  from: string;
  /** Move a non-empty destination aside (`<dest>.before-restore-<time>`) instead of refusing. */
  force?: boolean;
  /** For a backup whose masters are on a replica: that replica's OCFL storage root, copied in. */
  ocflFrom?: string;
  onProgress?: (p: RestoreProgress) => void;
  logger?: Logger;
  now?: () => Date;
}

export interface RestoreSummary {
  manifest: BackupManifest;
  /** Where each part went. */
  restored: Array<{ part: string; to: string; files: number; bytes: number }>;
  /** Destinations that held something and were moved aside (force). */
  movedAside: Array<{ from: string; to: string }>;
  log: { streams: number; events: number; head: string | null };
}

/** A restore refused before anything was changed (a destination in use, a missing replica). */
export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

const within = (parent: string, child: string) => child === parent || child.startsWith(parent + sep);

async function holdsAnything(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length > 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') return true;
    throw err;
  }
}

function syncFilesystem(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sync', ['-f', dir], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`sync -f ${dir}: exit ${code}`))));
  });
}

/** One piece of the backup and where it belongs. */
interface Placement {
  part: string;
  /** In the backup (a file or a directory), or an absolute replica path for `ocflFrom`. */
  from: string;
  to: string;
  kind: 'file' | 'tree';
  files: number;
  bytes: number;
}

export async function restoreBackup(config: Config, options: RestoreOptions): Promise<RestoreSummary> {
  const say = options.onProgress ?? (() => {});
  const { logger } = options;
  if (config.eventStore.kind !== 'sqlite') {
    throw new RestoreRefusedError('thukho restore khôi phục hồ sơ nhúng (nhật ký SQLite) / thukho restore restores the embedded profile (SQLite log): unset THUKHO_EVENTSTORE');
  }
  // The manifest alone says where everything goes: a destination in use is refused before
  // the backup's every byte is read.
  const manifest = await readManifest(options.from);

  const count = (prefix: string) => {
    const fs = manifest.files.filter((f) => f.path === prefix || f.path.startsWith(`${prefix}/`));
    return { files: fs.length, bytes: fs.reduce((n, f) => n + f.size, 0) };
  };
  const placements: Placement[] = [{ part: 'event-log', from: join(options.from, LOG_FILE), to: config.eventStore.path, kind: 'file', ...count(LOG_FILE) }];
  if (count(READ_MODEL_FILE).files) placements.push({ part: 'read-models', from: join(options.from, READ_MODEL_FILE), to: config.readModelPath, kind: 'file', ...count(READ_MODEL_FILE) });
  if (count(SEARCH_INDEX_FILE).files && config.search.kind === 'embedded') {
    placements.push({ part: 'search-index', from: join(options.from, SEARCH_INDEX_FILE), to: searchIndexPath(config), kind: 'file', ...count(SEARCH_INDEX_FILE) });
  }
  if (manifest.ocfl.mode === 'copied') {
    placements.push({ part: 'ocfl', from: join(options.from, PART_DIRS.ocfl), to: config.ocflRoot, kind: 'tree', ...count(PART_DIRS.ocfl) });
  } else if (options.ocflFrom) {
    if (!(await isStorageRoot(options.ocflFrom))) throw new RestoreRefusedError(`${options.ocflFrom} không phải kho OCFL / is not an OCFL storage root (no 0=ocfl_1.1)`);
    placements.push({ part: 'ocfl (replica)', from: options.ocflFrom, to: config.ocflRoot, kind: 'tree', files: 0, bytes: 0 });
  } else {
    const where = manifest.ocfl.replicas.map((r) => `${r.label}=${r.path}`).join(', ');
    throw new RestoreRefusedError(
      `bản sao lưu không chứa kho OCFL (nằm trên bản sao ${where}); thêm --ocfl-from ĐƯỜNG_DẪN / ` +
        `the backup holds no OCFL root (a replica held it: ${where}); add --ocfl-from PATH naming that replica's root`,
    );
  }
  if (count(PART_DIRS.ocr).files) placements.push({ part: 'ocr', from: join(options.from, PART_DIRS.ocr), to: join(config.derivativesDir, 'ocr'), kind: 'tree', ...count(PART_DIRS.ocr) });

  // Units renamed into place whole: the data directory, and whatever lies outside it.
  const units = [config.dataDir];
  for (const p of placements) if (!units.some((u) => within(u, p.to))) units.push(p.to);
  const busy: string[] = [];
  for (const u of units) if (await holdsAnything(u)) busy.push(u);
  if (busy.length && !options.force) {
    throw new RestoreRefusedError(
      `nơi khôi phục đã có dữ liệu: ${busy.join(', ')}; dừng thukho và dùng thư mục trống, hoặc --force để dời dữ liệu cũ sang bên / ` +
        `the restore destination is not empty: ${busy.join(', ')}; stop thukho and use an empty directory, or --force to move what is there aside (nothing is deleted)`,
    );
  }

  await verifyBackup(options.from, (p) => say({ step: 'verify', done: p.bytes, total: p.totalBytes, detail: `${p.files} files` }));
  logger?.info({ from: options.from, files: manifest.totals.files, createdAt: manifest.createdAt }, 'restore: backup verified');

  const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const staged = new Map<string, string>();
  try {
    for (const u of units) {
      const tmp = join(dirname(u), `.${u.split(sep).pop() ?? 'data'}.restore-${randomUUID()}`);
      // A unit is a directory, except a log file kept outside the data directory (THUKHO_EVENTSTORE=sqlite:PATH).
      const isFile = placements.some((p) => p.kind === 'file' && p.to === u);
      await mkdir(isFile ? dirname(tmp) : tmp, { recursive: true, mode: 0o700 });
      staged.set(u, tmp);
    }
    const stagedPath = (to: string) => {
      const unit = units.find((u) => within(u, to)) as string;
      return join(staged.get(unit) as string, relative(unit, to));
    };
    let done = 0;
    for (const p of placements) {
      const dest = stagedPath(p.to);
      say({ step: 'copy', done, total: placements.length, detail: p.part });
      if (p.kind === 'file') {
        await mkdir(dirname(dest), { recursive: true });
        await copyFile(p.from, dest);
      } else {
        await mkdir(dest, { recursive: true });
        await rsyncTree(p.from, dest, { exclude: ['/.lock-*'] });
      }
      say({ step: 'copy', done: ++done, total: placements.length, detail: p.part });
    }

    // The restored log must verify before it becomes the record.
    const store = new SqliteEventStore(stagedPath(config.eventStore.path));
    let report;
    let head: bigint | null;
    try {
      report = await verifyLog(store, (p) => say({ step: 'chain', done: p.events, detail: `${p.streams} streams` }));
      head = await store.headPosition();
    } finally {
      await store.close();
    }
    if (report.broken.length) {
      throw new BackupRefusedError(
        options.from,
        report.broken.slice(0, 20).map((b) => `${b.streamId} @ revision ${b.revision}: chuỗi băm hỏng / broken hash chain: ${b.reason}`),
      );
    }

    for (const tmp of staged.values()) await syncFilesystem(tmp);
    const movedAside: RestoreSummary['movedAside'] = [];
    for (const u of units) {
      if (existsSync(u)) {
        if (await holdsAnything(u)) {
          const aside = `${u}.before-restore-${stamp}`;
          await rename(u, aside);
          movedAside.push({ from: u, to: aside });
          logger?.warn({ from: u, to: aside }, 'restore: what was there was moved aside');
        } else await rmdir(u);
      }
      await mkdir(dirname(u), { recursive: true });
      await rename(staged.get(u) as string, u);
      staged.delete(u);
      await fsyncDir(dirname(u));
    }
    const summary: RestoreSummary = {
      manifest,
      restored: placements.map((p) => ({ part: p.part, to: p.to, files: p.files, bytes: p.bytes })),
      movedAside,
      log: { streams: report.streams, events: report.events, head: head?.toString() ?? null },
    };
    logger?.info({ from: options.from, restored: summary.restored, movedAside, log: summary.log }, 'restore finished');
    return summary;
  } finally {
    for (const tmp of staged.values()) await rm(tmp, { recursive: true, force: true });
  }
}

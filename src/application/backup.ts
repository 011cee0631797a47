import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { searchIndexPath } from '../search/open.ts';
import { fsyncDir, writeNewFile } from '../storage/durable-file.ts';
import { checkFile } from '../storage/fixity.ts';
import { Inventory, OcflStorageRoot } from '../storage/ocfl.ts';
import { rsyncTree } from '../storage/rsync.ts';
import { backupSqlite, logHead } from '../storage/sqlite-backup.ts';
import { inLanes } from '../work-lanes.ts';
import {
  BACKUP_FORMAT,
  type BackupFile,
  type BackupManifest,
  LOG_FILE,
  listFiles,
  MANIFEST_NAME,
  PART_DIRS,
  READ_MODEL_FILE,
  readManifest,
  SEARCH_INDEX_FILE,
  thukhoVersion,
} from './backup-manifest.ts';

/**
 * `thukho backup --to DIR`: a backup a running server does not notice, and that restores to
 * a repository holding everything acknowledged before it began.
 *
 * Order is what makes it consistent without stopping anything:
 *   1. the read models (SQLite online backup): a read model must never be ahead of the log it
 *      is restored with, or it would show works the log does not hold; taken first, it can
 *      only be behind, and projections catch up from their checkpoints at start;
 *   2. the event log (online backup): everything acknowledged so far, and perhaps more;
 *   3. the OCFL storage root (rsync): bytes are in OCFL before the event naming them is
 *      appended, so every file the log copy names is already there to be copied. A version
 *      being written meanwhile may be copied half: it is removed from the copy (its event
 *      is not in the log copy either); a version committed meanwhile is copied whole;
 *   4. OCR outputs (rsync; content-addressed, written before their event, like OCFL);
 *   5. every file hashed, the disk synced, and backup.json written and fsynced last.
 *
 * Not copied: derivative pyramids and tiles (made again from the masters), caches, the
 * private redis (jobs are enqueued again from the log; sessions end), worker records, fixity
 * run journals, staging, the ingest journal (its intents are for versions the log does not
 * name, which are removed from the copy), and the generated session secret (a secret need
 * not lie in every backup: a new one is made at start, and signed-in users sign in again).
 */

export interface BackupProgress {
  step: 'read-models' | 'log' | 'ocfl' | 'ocr' | 'digests' | 'manifest';
  done: number;
  total?: number;
  detail?: string;
}

export interface BackupOptions {
  /** The new backup's directory: it must not exist, or be empty. */
  to: string;
  /**
   * An earlier complete backup: files of the storage root that have not changed become hard
   * links to its copies (rsync --link-dest) and keep their digests, so a daily backup reads
   * and writes only what is new.
   */
  previous?: string;
  /** The masters are not copied: a replica (THUKHO_REPLICAS) already holds them. */
  ocflOnReplica?: boolean;
  onProgress?: (p: BackupProgress) => void;
  logger?: Logger;
  now?: () => Date;
}

export interface BackupSummary {
  dir: string;
  manifest: BackupManifest;
  /** Half-written OCFL versions left out of the copy (written while the backup ran). */
  trimmed: string[];
  /** Files whose digest came from the previous backup (hard links). */
  reused: number;
  /** Why `previous` was not used, when it was given and could not be. */
  previousIgnored?: string;
}

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

/** Refused before anything was written (a profile it does not cover, a destination in use). */
export class BackupNotStartedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupNotStartedError';
  }
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries.length === 0;
}

/** `sync -f`: everything written to the backup's filesystem is on disk before backup.json says it is whole. */
function syncFilesystem(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sync', ['-f', dir], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new BackupError(`sync -f ${dir}: exit ${code}`))));
  });
}

/** Every OCFL object root under `root` (a directory holding its `0=ocfl_object_…` declaration). */
async function objectRoots(root: string, rel = ''): Promise<string[]> {
  const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
  if (entries.some((e) => e.isFile() && e.name.startsWith('0=ocfl_object_'))) return [rel];
  const found: string[] = [];
  for (const e of entries) if (e.isDirectory() && (rel !== '' || e.name !== 'extensions')) found.push(...(await objectRoots(root, rel ? `${rel}/${e.name}` : e.name)));
  return found;
}

/**
 * Removes from the copied storage root what a write in progress left half-copied: a version
 * beyond its root inventory's head, an object whose first version was not committed, temp
 * files, a sidecar copied after the commit and the inventory before it. The storage root's own
 * clean-up does it (the same code that mends a crash); committed versions are never touched.
 */
async function trimUncommitted(copyRoot: string): Promise<string[]> {
  const storage = await OcflStorageRoot.openExisting(copyRoot);
  const trimmed: string[] = [];
  for (const rel of await objectRoots(copyRoot)) {
    const dir = join(copyRoot, ...rel.split('/'));
    const inventory = await readFile(join(dir, 'inventory.json'), 'utf8').catch(() => null);
    const id = inventory === null ? null : (() => {
      try {
        const v = (JSON.parse(inventory) as { id?: unknown }).id;
        return typeof v === 'string' ? v : null;
      } catch {
        return null;
      }
    })();
    if (id === null) {
      // No committed inventory: a first version still being written when it was copied.
      await rm(dir, { recursive: true, force: true });
      trimmed.push(rel);
      continue;
    }
    const where = await storage.incompleteVersion(id);
    if (where !== null && (await storage.discardIncompleteVersion(id))) trimmed.push(rel);
    if (await rollBackUncopiedHead(dir)) trimmed.push(rel);
  }
  // The clean-up takes each object's lock file in the copy's root; a backup holds none.
  for (const e of await readdir(copyRoot)) if (e.startsWith('.lock-')) await rm(join(copyRoot, e), { force: true });
  return trimmed;
}

/**
 * rsync lists an object's directory before it copies the root inventory: a version committed in
 * between leaves a copy whose inventory names a version directory the copy lacks, or holds only
 * in part. Such a version was committed after the log copy was taken (its bytes precede its
 * event), so the copy goes back to the newest version it holds whole, whose own inventory and
 * sidecar (every version directory keeps them) become the root's again. Returns whether it did.
 */
export async function rollBackUncopiedHead(dir: string): Promise<boolean> {
  let json: unknown = null;
  try {
    json = JSON.parse(await readFile(join(dir, 'inventory.json'), 'utf8'));
  } catch {
    // unreadable: left to validation, which reports it
  }
  const parsed = Inventory.safeParse(json);
  if (!parsed.success) return false; // not ours to mend: validation reports it
  const inventory = parsed.data;
  const present = async (rel: string) => (await stat(join(dir, ...rel.split('/'))).catch(() => null)) !== null;
  // The root manifest names every version's content, so it says what each version must hold.
  const whole = async (version: string) =>
    (await present(`${version}/inventory.json`)) &&
    (await present(`${version}/inventory.json.${inventory.digestAlgorithm}`)) &&
    (await Promise.all(Object.values(inventory.manifest).flat().filter((p) => p.startsWith(`${version}/`)).map(present))).every(Boolean);
  // Newest first; several versions may have been committed while the object was copied.
  const versions = Object.keys(inventory.versions).sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)));
  if (versions[0] === undefined || (await whole(versions[0]))) return false;
  let keep: string | undefined;
  for (const v of versions.slice(1)) {
    if (await whole(v)) {
      keep = v;
      break;
    }
  }
  if (keep === undefined) {
    // No version was copied whole: the object did not exist when the log was copied.
    await rm(dir, { recursive: true, force: true });
    return true;
  }
  for (const v of versions) {
    if (v === keep) break;
    await rm(join(dir, v), { recursive: true, force: true });
  }
  const sidecar = `inventory.json.${inventory.digestAlgorithm}`;
  for (const name of await readdir(dir)) if (name.startsWith('inventory.json.')) await rm(join(dir, name), { force: true });
  await copyFile(join(dir, keep, 'inventory.json'), join(dir, 'inventory.json'));
  await copyFile(join(dir, keep, sidecar), join(dir, sidecar));
  await fsyncDir(dir);
  return true;
}

/** The previous backup's manifest, if it is a complete backup whose files can be trusted to be what it says. */
async function previousManifest(dir: string): Promise<{ manifest: BackupManifest } | { ignored: string }> {
  try {
    return { manifest: await readManifest(dir) };
  } catch (err) {
    return { ignored: (err as Error).message };
  }
}

export async function takeBackup(config: Config, options: BackupOptions): Promise<BackupSummary> {
  const { to, logger } = options;
  const say = options.onProgress ?? (() => {});
  const now = options.now ?? (() => new Date());
  if (config.eventStore.kind !== 'sqlite') {
    throw new BackupNotStartedError(
      'thukho backup sao lưu hồ sơ nhúng (nhật ký SQLite); nhật ký EventStoreDB/KurrentDB sao lưu bằng công cụ của cụm / ' +
        'thukho backup backs up the embedded profile (SQLite log); back up an EventStoreDB/KurrentDB log with the cluster’s own tools',
    );
  }
  if (options.ocflOnReplica && config.replicas.length === 0) {
    throw new BackupNotStartedError(
      'không có bản sao nào (THUKHO_REPLICAS) giữ kho OCFL; bỏ --ocfl-on-replica để chép kho / no replica (THUKHO_REPLICAS) holds the OCFL root: leave out --ocfl-on-replica to copy it',
    );
  }
  if (!(await isEmptyOrAbsent(to))) throw new BackupNotStartedError(`${to} đã có dữ liệu; chọn thư mục mới / ${to} is not empty: choose a new directory`);

  const createdAt = now().toISOString();
  const headAtStart = logHead(config.eventStore.path);
  logger?.info({ to, headAtStart: headAtStart?.toString() ?? null }, 'backup started');
  await mkdir(join(to, PART_DIRS.readModels), { recursive: true });
  await mkdir(join(to, PART_DIRS.log), { recursive: true });

  // 1. Read models first (see the module comment): never ahead of the log copy.
  const readModels: Array<[string, string]> = [[config.readModelPath, READ_MODEL_FILE]];
  if (config.search.kind === 'embedded') readModels.push([searchIndexPath(config), SEARCH_INDEX_FILE]);
  let n = 0;
  for (const [source, rel] of readModels) {
    if (!existsSync(source)) continue;
    say({ step: 'read-models', done: n, total: readModels.length, detail: rel });
    await backupSqlite(source, join(to, ...rel.split('/')));
    say({ step: 'read-models', done: ++n, total: readModels.length, detail: rel });
  }

  // 2. The log.
  say({ step: 'log', done: 0, total: 1 });
  await backupSqlite(config.eventStore.path, join(to, ...LOG_FILE.split('/')));
  const headInCopy = logHead(join(to, ...LOG_FILE.split('/')));
  say({ step: 'log', done: 1, total: 1, detail: `position ${headInCopy ?? 0}` });
  logger?.info({ headInCopy: headInCopy?.toString() ?? null }, 'backup: event log copied');

  const previous = options.previous ? await previousManifest(options.previous) : null;
  const prev = previous && 'manifest' in previous ? { dir: options.previous as string, manifest: previous.manifest } : null;
  if (previous && 'ignored' in previous) logger?.warn({ previous: options.previous, reason: previous.ignored }, 'backup: previous backup not used');

  // 3. The storage root.
  let trimmed: string[] = [];
  if (!options.ocflOnReplica) {
    let files = 0;
    await rsyncTree(config.ocflRoot, join(to, PART_DIRS.ocfl), {
      exclude: ['/.lock-*'],
      ...(prev && prev.manifest.ocfl.mode === 'copied' ? { linkDest: join(prev.dir, PART_DIRS.ocfl) } : {}),
      onFile: () => say({ step: 'ocfl', done: ++files }),
    });
    trimmed = await trimUncommitted(join(to, PART_DIRS.ocfl));
    if (trimmed.length) logger?.info({ trimmed }, 'backup: versions being written while copied were left out');
  }

  // 4. OCR outputs.
  const ocrDir = join(config.derivativesDir, 'ocr');
  if (existsSync(ocrDir)) {
    let files = 0;
    await rsyncTree(ocrDir, join(to, PART_DIRS.ocr), {
      exclude: ['.*.tmp'],
      ...(prev ? { linkDest: join(prev.dir, PART_DIRS.ocr) } : {}),
      onFile: () => say({ step: 'ocr', done: ++files }),
    });
  }

  // 5. Digests: a file hard-linked to the previous backup's copy (same inode) keeps its digest.
  const known = new Map<string, BackupFile>((prev?.manifest.files ?? []).map((f) => [f.path, f]));
  const paths = (await listFiles(to)).filter((p) => p !== MANIFEST_NAME).sort();
  const files: BackupFile[] = [];
  let reused = 0;
  let hashed = 0;
  await inLanes(paths, 2, async (path) => {
    const abs = join(to, ...path.split('/'));
    const st = await stat(abs);
    const before = known.get(path);
    if (prev && before && before.size === st.size && before.mtimeMs === st.mtimeMs) {
      const old = await stat(join(prev.dir, ...path.split('/'))).catch(() => null);
      if (old && old.ino === st.ino && old.dev === st.dev) {
        files.push({ ...before });
        reused++;
        say({ step: 'digests', done: ++hashed, total: paths.length });
        return;
      }
    }
    const check = await checkFile(abs, {}, { algorithms: ['sha256'] });
    if (check.outcome !== 'pass' || check.actual.sha256 === undefined) throw new BackupError(`${abs}: ${check.detail ?? check.failure ?? 'unreadable'}`);
    files.push({ path, size: check.bytes, sha256: check.actual.sha256, mtimeMs: st.mtimeMs });
    say({ step: 'digests', done: ++hashed, total: paths.length });
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt,
    finishedAt: now().toISOString(),
    thukhoVersion: thukhoVersion(),
    log: { headAtStart: headAtStart?.toString() ?? null, headInCopy: headInCopy?.toString() ?? null },
    ocfl: options.ocflOnReplica ? { mode: 'replica', replicas: config.replicas.map((r) => ({ label: r.label, path: r.path })) } : { mode: 'copied' },
    files,
    totals: { files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) },
  };
  // Last: once backup.json is there, every byte it names is on disk.
  say({ step: 'manifest', done: 0, total: 1 });
  await syncFilesystem(to);
  await writeNewFile(join(to, MANIFEST_NAME), `${JSON.stringify(manifest, null, 1)}\n`);
  await fsyncDir(to);
  say({ step: 'manifest', done: 1, total: 1 });
  logger?.info({ to, files: manifest.totals.files, bytes: manifest.totals.bytes, reused, trimmed: trimmed.length }, 'backup finished');
  return {
    dir: to,
    manifest,
    trimmed,
    reused,
    ...(previous && 'ignored' in previous ? { previousIgnored: previous.ignored } : {}),
  };
}


import { readFileSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { checkFile } from '../storage/fixity.ts';
import { inLanes } from '../work-lanes.ts';

/**
 * `backup.json`, the last file a backup writes (fsynced after every other byte is on disk): a
 * backup directory without it was cut short and is refused. It lists every file of the backup
 * with its size and SHA-256, so that a restore can prove, before it touches anything, that the
 * backup is whole and unaltered.
 *
 * A backup directory:
 *
 *   backup.json
 *   log/events.sqlite              the event log (SQLite online backup API)
 *   read-models/readmodel.sqlite   the read models (idem; rebuildable, kept for a fast start)
 *   read-models/search.sqlite      the embedded search index (idem)
 *   ocfl/…                         the OCFL storage root (rsync -a), unless a replica holds it
 *   ocr/…                          OCR outputs (ALTO, hOCR, text) from THUKHO_DERIVATIVES_DIR/ocr
 */
export const BACKUP_FORMAT = 'thukho-backup/1';
export const MANIFEST_NAME = 'backup.json';

export const PART_DIRS = { log: 'log', readModels: 'read-models', ocfl: 'ocfl', ocr: 'ocr' } as const;
export const LOG_FILE = `${PART_DIRS.log}/events.sqlite`;
export const READ_MODEL_FILE = `${PART_DIRS.readModels}/readmodel.sqlite`;
export const SEARCH_INDEX_FILE = `${PART_DIRS.readModels}/search.sqlite`;

const Position = z.string().regex(/^\d+$/, 'a log position (digits)');

/** A path inside the backup: relative, "/"-separated, under one of the parts, never climbing out. */
const BackupPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '' || s === '.' || s === '..'), 'a relative path inside the backup')
  .refine((p) => Object.values(PART_DIRS).includes(p.split('/')[0] as never), 'a path under log/, read-models/, ocfl/ or ocr/');

export const BackupFile = z
  .object({
    path: BackupPath,
    size: z.number().int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Lets the next backup take the digest of a file it hard-linked (rsync --link-dest) instead of reading it again. */
    mtimeMs: z.number(),
  })
  .strict();
export type BackupFile = z.infer<typeof BackupFile>;

export const BackupManifest = z
  .object({
    format: z.literal(BACKUP_FORMAT),
    createdAt: z.string().datetime(),
    finishedAt: z.string().datetime(),
    thukhoVersion: z.string().min(1),
    log: z
      .object({
        /** The log's head when the backup began: every event at or before it is in the copy. */
        headAtStart: Position.nullable(),
        /** The copy's own head (events appended while the backup ran may be in it too). */
        headInCopy: Position.nullable(),
      })
      .strict(),
    ocfl: z.discriminatedUnion('mode', [
      z.object({ mode: z.literal('copied') }).strict(),
      z.object({ mode: z.literal('replica'), replicas: z.array(z.object({ label: z.string(), path: z.string() }).strict()).min(1) }).strict(),
    ]),
    files: z.array(BackupFile),
    totals: z.object({ files: z.number().int().min(0), bytes: z.number().int().min(0) }).strict(),
  })
  .strict();
export type BackupManifest = z.infer<typeof BackupManifest>;

export function thukhoVersion(): string {
  const pkg = z.object({ version: z.string() }).safeParse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));
  return pkg.success ? pkg.data.version : 'unknown';
}

/** A backup that must not be restored, with every reason found (bilingual, one line each). */
export class BackupRefusedError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(`bản sao lưu ${dir} không dùng được / the backup ${dir} cannot be used: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5})` : ''}`);
    this.name = 'BackupRefusedError';
  }
}

/** Every regular file under `dir`, as "/"-separated paths relative to it; anything else (a link, a device) is reported. */
export async function listFiles(dir: string, strange: string[] = [], prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, strange, rel)));
    else if (entry.isFile()) out.push(rel);
    else strange.push(rel);
  }
  return out;
}

/** backup.json read back and checked against its schema; throws BackupRefusedError. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  let raw: string;
  try {
    raw = await readFile(join(dir, MANIFEST_NAME), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new BackupRefusedError(dir, [
      code === 'ENOENT'
        ? `không có ${MANIFEST_NAME}: bản sao lưu chưa xong hoặc bị cắt ngang, hay đây không phải bản sao lưu / no ${MANIFEST_NAME}: the backup never finished (it was cut short), or this is not a backup`
        : `không đọc được ${MANIFEST_NAME} / cannot read ${MANIFEST_NAME}: ${(err as Error).message}`,
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new BackupRefusedError(dir, [`${MANIFEST_NAME} không phải JSON hợp lệ (bị cắt?) / ${MANIFEST_NAME} is not valid JSON (cut short?)`]);
  }
  const parsed = BackupManifest.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new BackupRefusedError(dir, [`${MANIFEST_NAME} sai định dạng / ${MANIFEST_NAME} is not a ${BACKUP_FORMAT} manifest: ${issues.join('; ')}`]);
  }
  const m = parsed.data;
  if (m.totals.files !== m.files.length || m.totals.bytes !== m.files.reduce((n, f) => n + f.size, 0)) {
    throw new BackupRefusedError(dir, [`${MANIFEST_NAME}: tổng số không khớp danh sách tệp / totals do not add up to the file list`]);
  }
  if (!m.files.some((f) => f.path === LOG_FILE)) throw new BackupRefusedError(dir, [`${MANIFEST_NAME}: không có nhật ký sự kiện / names no event log (${LOG_FILE})`]);
  return m;
}

/**
 * Proves a backup whole and unaltered: its manifest, then every file it names (present, same
 * size, same SHA-256) and no file it does not name. Throws BackupRefusedError naming each
 * problem; reads every byte once.
 */
export async function verifyBackup(dir: string, onProgress?: (p: { files: number; bytes: number; totalBytes: number }) => void): Promise<BackupManifest> {
  const manifest = await readManifest(dir);
  const problems: string[] = [];
  const strange: string[] = [];
  const present = new Set((await listFiles(dir, strange)).filter((p) => p !== MANIFEST_NAME));
  for (const s of strange) problems.push(`${s}: không phải tệp thường / not a regular file`);
  for (const f of manifest.files) if (!present.has(f.path)) problems.push(`${f.path}: thiếu / missing`);
  const named = new Set(manifest.files.map((f) => f.path));
  for (const p of present) if (!named.has(p)) problems.push(`${p}: có trong thư mục nhưng không có trong ${MANIFEST_NAME} / present but not in ${MANIFEST_NAME}`);
  let files = 0;
  let bytes = 0;
  await inLanes(
    manifest.files.filter((f) => present.has(f.path)),
    2,
    async (f) => {
      const path = join(dir, ...f.path.split('/'));
      const st = await lstat(path);
      if (st.size !== f.size) problems.push(`${f.path}: ${st.size} bytes, ${MANIFEST_NAME} ghi / records ${f.size}`);
      else {
        const check = await checkFile(path, { sha256: f.sha256, size: f.size }, { algorithms: ['sha256'] });
        if (check.outcome !== 'pass') problems.push(`${f.path}: SHA-256 không khớp / does not match (${check.failure ?? ''}${check.detail ? `: ${check.detail}` : ''})`);
      }
      files++;
      bytes += f.size;
      onProgress?.({ files, bytes, totalBytes: manifest.totals.bytes });
    },
  );
  if (problems.length) throw new BackupRefusedError(dir, problems.sort());
  return manifest;
}

import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Writes that survive a crash or a power cut: a file's bytes are fsynced before anything
 * names it, a file appears whole or not at all (temp file, fsync, rename), and the directory
 * is fsynced so that the new name itself is on disk. Preservation depends on this order:
 * the event that names a file is appended only after these return.
 */

export type FsStep = 'mkdir' | 'write' | 'fsync' | 'rename';
/**
 * Called before each filesystem change; throwing from it makes that step fail as if the
 * filesystem had (fault-injection tests throw ENOSPC or wait there to be killed).
 */
export type FsFaultHook = (step: FsStep, path: string) => void | Promise<void>;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * fsync a directory, so that entries created, renamed or removed in it are durable.
 *
 * Some filesystems cannot fsync a directory at all and say so with EINVAL (FUSE and network
 * mounts, procfs) or EBADF/EISDIR: there the entries are as durable as that filesystem makes
 * them and no retry can do better, so this returns as PostgreSQL's fsync_fname does. Every
 * other error is thrown (EIO above all): it means the new name may not be on disk, and the
 * caller must not record a file as stored: swallowing those would let the log name bytes
 * that a power cut could lose.
 */
export async function fsyncDir(dir: string, hook?: FsFaultHook): Promise<void> {
  await hook?.('fsync', dir);
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'EINVAL' && code !== 'EBADF' && code !== 'EISDIR') throw err;
  } finally {
    await handle.close();
  }
}

/** fsync a file that is already written (one moved into place from elsewhere). */
export async function fsyncFile(path: string, hook?: FsFaultHook): Promise<void> {
  await hook?.('fsync', path);
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A new file holding `data` (mode 0644), fsynced; never over an existing one (EEXIST). */
export async function writeNewFile(path: string, data: string | Uint8Array, hook?: FsFaultHook): Promise<void> {
  await hook?.('write', path);
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await hook?.('fsync', path);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `data` in a new temp file `.<name>.<uuid>.tmp` in `dir`, fsynced; returns its path. Nothing is left when it fails. */
export async function writeTempFile(dir: string, name: string, data: string | Uint8Array, hook?: FsFaultHook): Promise<string> {
  const tmp = join(dir, `.${name}.${randomUUID()}.tmp`);
  try {
    await writeNewFile(tmp, data, hook);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  return tmp;
}

/**
 * `dir/name` replaced by a file holding `data`, whole or not at all: temp file, fsync,
 * rename. The directory is not fsynced: callers that write several files fsync it once.
 */
export async function replaceFile(dir: string, name: string, data: string | Uint8Array, hook?: FsFaultHook): Promise<void> {
  const tmp = await writeTempFile(dir, name, data, hook);
  try {
    await hook?.('rename', join(dir, name));
    await rename(tmp, join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

/** replaceFile, then fsync the directory: once this returns, `dir/name` holds `data` after any crash. */
export async function writeFileDurable(dir: string, name: string, data: string | Uint8Array, hook?: FsFaultHook): Promise<void> {
  await replaceFile(dir, name, data, hook);
  await fsyncDir(dir, hook);
}

/** [parent of firstCreated, firstCreated, ..., deepest]: the directories whose entries changed. */
export function createdChain(firstCreated: string, deepest: string): string[] {
  const first = resolve(firstCreated);
  const target = resolve(deepest);
  const out = [dirname(first)];
  for (let d = target; d.length >= first.length && d.startsWith(first); d = dirname(d)) out.splice(1, 0, d);
  return out;
}

/** mkdir -p, then fsync every directory that got a new entry (the parent of the first one created, and each created one). */
export async function mkdirDurable(path: string, hook?: FsFaultHook): Promise<void> {
  await hook?.('mkdir', path);
  const created = await mkdir(path, { recursive: true });
  if (created) for (const d of createdChain(created, path)) await fsyncDir(d, hook);
}

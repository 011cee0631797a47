import { spawn } from 'node:child_process';

/**
 * Copies a directory tree with Debian's `rsync -a` (permissions, times and hard links kept;
 * `--link-dest` makes an unchanged file a hard link to the previous backup's copy, so that a
 * daily backup of a storage root whose files are written once costs only what is new).
 */
export class RsyncError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'RsyncError';
  }
}

/** rsync's "some files vanished before they could be transferred": a temp file of a write in progress. */
const VANISHED = 24;

export interface RsyncOptions {
  /** Paths (rsync patterns, anchored with a leading "/") left out. */
  exclude?: string[];
  /** A previous copy of the same tree: unchanged files become hard links to it. */
  linkDest?: string;
  /** Called with each file rsync names as it copies it (progress). */
  onFile?: (relPath: string) => void;
}

/** `from/` copied into `to/` (created). Resolves with the files rsync reported; throws RsyncError. */
export function rsyncTree(from: string, to: string, options: RsyncOptions = {}): Promise<{ vanished: boolean }> {
  const args = ['-a', '--out-format=%n'];
  for (const pattern of options.exclude ?? []) args.push(`--exclude=${pattern}`);
  if (options.linkDest) args.push(`--link-dest=${options.linkDest}`);
  args.push(`${from.replace(/\/+$/, '')}/`, `${to.replace(/\/+$/, '')}/`);
  return new Promise((resolve, reject) => {
    const child = spawn('rsync', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line && !line.endsWith('/')) options.onFile?.(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 8000) stderr += chunk;
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new RsyncError(
          err.code === 'ENOENT'
            ? 'không tìm thấy lệnh rsync; cài bằng `apt-get install rsync` / rsync is not installed: `apt-get install rsync`'
            : `rsync: ${err.message}`,
          null,
        ),
      );
    });
    child.once('close', (code) => {
      if (code === 0 || code === VANISHED) resolve({ vanished: code === VANISHED });
      else reject(new RsyncError(`rsync ${from} → ${to} thất bại / failed (exit ${code}): ${stderr.trim().slice(0, 2000)}`, code));
    });
  });
}

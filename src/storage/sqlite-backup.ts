import Database from 'better-sqlite3';
import { fsyncFile } from './durable-file.ts';

/**
 * A consistent copy of a live SQLite database through SQLite's online backup API, never a copy
 * of the file: a file copied while the server writes may hold half a transaction, and in WAL
 * mode the newest commits are not in the main file at all.
 *
 * The whole copy is one backup step: one read transaction, which in WAL mode does not hold up
 * the server's writers. Copied in many small steps instead, every commit of another process
 * between two steps would restart the copy from the first page, and on a busy log it might
 * never finish.
 */
export async function backupSqlite(source: string, dest: string): Promise<{ pages: number }> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const result = await db.backup(dest, { progress: () => 0x7fffffff });
    // A copy in rollback-journal mode is one self-contained file: reading it (as restore and
    // the manifest do) leaves no -wal/-shm beside it. Whoever opens it for real sets WAL again.
    const copy = new Database(dest);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    await fsyncFile(dest);
    return { pages: result.totalPages };
  } finally {
    db.close();
  }
}

/** The highest position in an event log file (null when it holds no event), read without writing to it. */
export function logHead(path: string): bigint | null {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    const row = db.prepare<[], { p: bigint | null }>('SELECT MAX(position) AS p FROM events').get();
    return row?.p ?? null;
  } finally {
    db.close();
  }
}

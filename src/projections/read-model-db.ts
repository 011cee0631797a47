import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The read-model database: a separate SQLite file holding every projection's tables and
 * checkpoints. It is a cache of the log and may be deleted at any time; projections
 * rebuild it. `synchronous=NORMAL` is enough here for the same reason: a lost commit is
 * replayed from the checkpoint, which commits in the same transaction as the writes.
 */
export type ReadModelDb = Database.Database;

export function openReadModelDb(path: string): ReadModelDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS projection_checkpoints (
      name       TEXT PRIMARY KEY,
      version    INTEGER NOT NULL,
      position   INTEGER,
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
  `);
  return db;
}

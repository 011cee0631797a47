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

/**
 * A read-only connection of the same read model, opened on first use, for answers that iterate a
 * statement while they stream (OAI-PMH): an iterating statement keeps its connection busy, and
 * the shared one is where the projections write. An in-memory model has no second connection.
 */
export interface ReadModelReader {
  get(): ReadModelDb;
  close(): void;
}

export function readModelReader(db: ReadModelDb): ReadModelReader {
  let reader: ReadModelDb | undefined;
  return {
    get() {
      if (db.memory) return db;
      if (reader?.open) return reader;
      reader = new Database(db.name, { readonly: true, fileMustExist: true });
      reader.pragma('busy_timeout = 10000');
      return reader;
    },
    close() {
      if (reader?.open) reader.close();
      reader = undefined;
    },
  };
}

const statements = new WeakMap<ReadModelDb, Map<string, Database.Statement>>();

/**
 * `sql` prepared once per database, for lookups on every request (a manifest, a work):
 * preparing costs more than the lookup itself. SQLite prepares it again by itself should a
 * projection's rebuild change the tables under it. For `get` and `all`, never `iterate`,
 * which holds the statement until the loop ends.
 */
export function statement<P extends unknown[], R>(db: ReadModelDb, sql: string): Database.Statement<P, R> {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let prepared = cache.get(sql);
  if (!prepared) cache.set(sql, (prepared = db.prepare(sql)));
  return prepared as Database.Statement<P, R>;
}

import type { ReadModelDb } from './read-model-db.ts';

export interface Checkpoint {
  version: number;
  /** Position of the last applied event, or null when nothing has been applied. */
  position: bigint | null;
}

export function readCheckpoint(db: ReadModelDb, name: string): Checkpoint | undefined {
  const row = db
    .prepare<[string], { version: number; position: number | null }>(
      'SELECT version, position FROM projection_checkpoints WHERE name = ?',
    )
    .get(name);
  if (!row) return undefined;
  return { version: row.version, position: row.position === null ? null : BigInt(row.position) };
}

export function writeCheckpoint(db: ReadModelDb, name: string, checkpoint: Checkpoint): void {
  db.prepare(
    `INSERT INTO projection_checkpoints (name, version, position, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET version = excluded.version, position = excluded.position, updated_at = excluded.updated_at`,
  ).run(name, checkpoint.version, checkpoint.position === null ? null : Number(checkpoint.position), new Date().toISOString());
}

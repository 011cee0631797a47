import { createHash } from 'node:crypto';
import type { Role } from '../domain/access-policy.ts';
import { isEventType, parseEventData, type UserEvent } from '../domain/events.ts';
import { evolveUser, type UserState } from '../domain/user.ts';
import type { Projection } from './projection.ts';
import type { ReadModelDb } from './read-model-db.ts';

/** Accounts by token hash, for authenticating API requests. */
const USER_TYPES = ['UserCreated', 'UserTokenRotated', 'UserRoleChanged', 'UserDisabled', 'UserEnabled'];

export const userReadModel: Projection = {
  name: 'users',
  version: 1,
  filter: { streamPrefixes: ['user-'], eventTypes: USER_TYPES },
  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS users (
        id         TEXT PRIMARY KEY,
        revision   INTEGER NOT NULL,
        name       TEXT NOT NULL,
        role       TEXT NOT NULL,
        status     TEXT NOT NULL,
        token_hash TEXT NOT NULL,
        state      TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS users_by_token ON users (token_hash);
    `);
  },
  reset(db) {
    db.exec('DROP TABLE IF EXISTS users;');
  },
  apply(db, events) {
    const get = db.prepare<[string], { revision: number; state: string }>('SELECT revision, state FROM users WHERE id = ?');
    const put = db.prepare(
      `INSERT INTO users (id, revision, name, role, status, token_hash, state) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, name = excluded.name, role = excluded.role,
         status = excluded.status, token_hash = excluded.token_hash, state = excluded.state`,
    );
    for (const e of events) {
      if (!isEventType(e.type) || !USER_TYPES.includes(e.type)) continue;
      const id = e.streamId.slice('user-'.length);
      const row = get.get(id);
      if (row && Number(e.revision) <= row.revision) continue;
      const event = { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as UserEvent;
      const state = evolveUser(row ? (JSON.parse(row.state) as UserState) : { status: 'absent' }, event);
      if (state.status === 'absent') continue;
      put.run(id, Number(e.revision), state.name, state.role, state.status, state.tokenHash, JSON.stringify(state));
    }
  },
};

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface AuthenticatedUser {
  id: string;
  name: string;
  role: Role;
}

export function findUserByToken(db: ReadModelDb, token: string): AuthenticatedUser | undefined {
  const row = db
    .prepare<[string], { id: string; name: string; role: Role }>(
      "SELECT id, name, role FROM users WHERE token_hash = ? AND status = 'active'",
    )
    .get(hashToken(token));
  return row ?? undefined;
}

export function listUsers(db: ReadModelDb): Array<AuthenticatedUser & { status: string }> {
  return db.prepare<[], AuthenticatedUser & { status: string }>('SELECT id, name, role, status FROM users ORDER BY id').all();
}

import { createHash } from 'node:crypto';
import { type Role, roleWithin } from '../domain/access-policy.ts';
import { isEventType, parseEventData, USER_EVENT_TYPES, type UserEvent } from '../domain/events.ts';
import { evolveUser, type UserState } from '../domain/user.ts';
import type { Projection } from './projection.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * Accounts by id (for sessions and sign-in) and API tokens by hash (for Bearer requests).
 * Requests check the account's current row every time, so a disabled account or a role
 * taken away takes effect with the next request after the event is projected.
 */
const USER_TYPES: readonly string[] = USER_EVENT_TYPES;

export const userReadModel: Projection = {
  name: 'users',
  // v2: several named, scoped tokens per account (api_tokens) and password hashes.
  // v3: the library whose staff the account is (library_id).
  version: 3,
  filter: { streamPrefixes: ['user-'], eventTypes: [...USER_EVENT_TYPES] },
  setup(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS users (
        id            TEXT PRIMARY KEY,
        revision      INTEGER NOT NULL,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL,
        status        TEXT NOT NULL,
        password_hash TEXT,
        library_id    TEXT,
        state         TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS api_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL,
        name       TEXT NOT NULL,
        role       TEXT
      );
      CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens (user_id);
    `);
  },
  reset(db) {
    db.exec('DROP TABLE IF EXISTS users; DROP TABLE IF EXISTS api_tokens;');
  },
  apply(db, events) {
    const get = db.prepare<[string], { revision: number; state: string }>('SELECT revision, state FROM users WHERE id = ?');
    const put = db.prepare(
      `INSERT INTO users (id, revision, name, role, status, password_hash, library_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, name = excluded.name, role = excluded.role,
         status = excluded.status, password_hash = excluded.password_hash, library_id = excluded.library_id, state = excluded.state`,
    );
    const dropTokens = db.prepare('DELETE FROM api_tokens WHERE user_id = ?');
    const putToken = db.prepare('INSERT OR REPLACE INTO api_tokens (token_hash, user_id, name, role) VALUES (?, ?, ?, ?)');
    for (const e of events) {
      if (!isEventType(e.type) || !USER_TYPES.includes(e.type)) continue;
      const id = e.streamId.slice('user-'.length);
      const row = get.get(id);
      if (row && Number(e.revision) <= row.revision) continue;
      const event = { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as UserEvent;
      const state = evolveUser(row ? (JSON.parse(row.state) as UserState) : { status: 'absent' }, event);
      if (state.status === 'absent') continue;
      put.run(id, Number(e.revision), state.name, state.role, state.status, state.passwordHash ?? null, state.libraryId ?? null, JSON.stringify(state));
      dropTokens.run(id);
      for (const [name, token] of Object.entries(state.tokens)) putToken.run(token.hash, id, name, token.role ?? null);
    }
  },
};

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface AuthenticatedUser {
  id: string;
  name: string;
  /** What this request may do: the token's scope, or the account's role. */
  role: Role;
  /** The library whose staff the account is (its tokens are scoped to it too); absent: the whole instance. */
  library?: string;
}

const withLibrary = <T extends { library: string | null }>(row: T): Omit<T, 'library'> & { library?: string } => {
  const { library, ...rest } = row;
  return library === null ? rest : { ...rest, library };
};

/**
 * The active account a token belongs to, acting with the token's scope. A token scoped
 * beyond the account's current role (the role was lowered after it was issued) opens nothing.
 */
export function findUserByToken(db: ReadModelDb, token: string): (AuthenticatedUser & { tokenName: string }) | undefined {
  const row = db
    .prepare<[string], { id: string; name: string; role: Role; scope: Role | null; tokenName: string; library: string | null }>(
      `SELECT u.id, u.name, u.role, t.role AS scope, t.name AS tokenName, u.library_id AS library FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = ? AND u.status = 'active'`,
    )
    .get(hashToken(token));
  if (!row) return undefined;
  if (row.scope !== null && !roleWithin(row.scope, row.role)) return undefined;
  return { id: row.id, name: row.name, role: row.scope ?? row.role, tokenName: row.tokenName, ...(row.library !== null ? { library: row.library } : {}) };
}

export interface Account extends AuthenticatedUser {
  status: 'active' | 'disabled';
  passwordHash: string | undefined;
}

export function findAccount(db: ReadModelDb, id: string): Account | undefined {
  const row = db
    .prepare<[string], { id: string; name: string; role: Role; status: 'active' | 'disabled'; passwordHash: string | null; library: string | null }>(
      'SELECT id, name, role, status, password_hash AS passwordHash, library_id AS library FROM users WHERE id = ?',
    )
    .get(id);
  return row ? { ...withLibrary(row), passwordHash: row.passwordHash ?? undefined } : undefined;
}

export function listUsers(db: ReadModelDb): Array<AuthenticatedUser & { status: string }> {
  return db
    .prepare<[], { id: string; name: string; role: Role; status: string; library: string | null }>('SELECT id, name, role, status, library_id AS library FROM users ORDER BY id')
    .all()
    .map(withLibrary);
}

export function listTokens(db: ReadModelDb, userId: string): Array<{ name: string; role: Role | null }> {
  return db.prepare<[string], { name: string; role: Role | null }>('SELECT name, role FROM api_tokens WHERE user_id = ? ORDER BY name').all(userId);
}

import { randomBytes } from 'node:crypto';
import type { Role } from '../domain/access-policy.ts';
import type { UserEvent } from '../domain/events.ts';
import { decideUser, evolveUser, initialUserState, type UserCommand, type UserState } from '../domain/user.ts';
import type { EventStore } from '../eventstore/port.ts';
import { hashToken } from '../projections/user-read-model.ts';
import { type CommandContext, type Decider, handleCommand } from './command-handler.ts';
import { hashPassword } from './passwords.ts';

export const userStream = (userId: string) => `user-${userId}`;

const userDecider: Decider<UserState, UserCommand, UserEvent> = {
  initial: initialUserState,
  evolve: evolveUser,
  decide: decideUser,
};

/** API tokens: 32 random bytes, prefixed so that a leaked token is recognisable in a scan. */
export function newToken(): string {
  return `thk_${randomBytes(32).toString('base64url')}`;
}

/** A new account for scripts: it gets its "default" API token, returned once. */
export async function createUser(store: EventStore, userId: string, name: string, role: Role, context: CommandContext, libraryId?: string) {
  const token = newToken();
  const result = await handleCommand(
    store,
    userStream(userId),
    userDecider,
    { type: 'CreateUser', userId, name, role, tokenHash: hashToken(token), ...(libraryId !== undefined ? { libraryId } : {}) },
    context,
  );
  return { token, position: result.position };
}

/** A new account that signs in on the site with a password; it starts without API tokens (`issueToken`). */
export async function createUserWithPassword(
  store: EventStore,
  userId: string,
  name: string,
  role: Role,
  password: string,
  context: CommandContext,
  libraryId?: string,
) {
  const passwordHash = await hashPassword(password);
  const result = await handleCommand(
    store,
    userStream(userId),
    userDecider,
    { type: 'CreateUser', userId, name, role, passwordHash, ...(libraryId !== undefined ? { libraryId } : {}) },
    context,
  );
  return { position: result.position };
}

/** A new "default" token; the account's status is unchanged (a disabled account stays disabled). */
export async function rotateToken(store: EventStore, userId: string, context: CommandContext) {
  const token = newToken();
  const result = await handleCommand(store, userStream(userId), userDecider, { type: 'RotateToken', userId, tokenHash: hashToken(token) }, context);
  return { token, position: result.position, status: result.state.status };
}

/** A named token, scoped to `role` when given (no higher than the account's); the token is returned once. */
export async function issueToken(store: EventStore, userId: string, tokenName: string, role: Role | undefined, context: CommandContext) {
  const token = newToken();
  const result = await handleCommand(
    store,
    userStream(userId),
    userDecider,
    { type: 'IssueToken', userId, tokenName, tokenHash: hashToken(token), ...(role !== undefined ? { role } : {}) },
    context,
  );
  return { token, position: result.position, status: result.state.status };
}

export async function setPassword(store: EventStore, userId: string, password: string, context: CommandContext) {
  const passwordHash = await hashPassword(password);
  return handleCommand(store, userStream(userId), userDecider, { type: 'SetPassword', userId, passwordHash }, context);
}

export function runUserCommand(store: EventStore, command: UserCommand, context: CommandContext) {
  return handleCommand(store, userStream(command.userId), userDecider, command, context);
}

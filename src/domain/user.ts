import { DomainError } from './errors.ts';
import { type Role, roleWithin } from './access-policy.ts';
import type { UserEvent } from './events.ts';

export type { UserEvent };

/**
 * Accounts (`user-<id>` streams): a role, an argon2id password hash for signing in on the
 * site, and named API tokens for scripts. Only hashes are ever stored (SHA-256 of a token,
 * argon2id of a password), so the log holds nothing that opens the repository by itself.
 */
export interface ApiToken {
  hash: string;
  /** What the token may do; absent: whatever the account's role allows at the time. */
  role?: Role;
}

/** The token older accounts were created with (and `users rotate` replaces). */
export const DEFAULT_TOKEN = 'default';

export type UserState =
  | { status: 'absent' }
  | {
      status: 'active' | 'disabled';
      userId: string;
      name: string;
      role: Role;
      tokens: Record<string, ApiToken>;
      passwordHash?: string;
      /** The library whose staff the account is; absent: the whole instance. */
      libraryId?: string;
    };

export const initialUserState: UserState = { status: 'absent' };

export type UserCommand =
  | { type: 'CreateUser'; userId: string; name: string; role: Role; tokenHash?: string; passwordHash?: string; libraryId?: string }
  | { type: 'RotateToken'; userId: string; tokenHash: string }
  | { type: 'ChangeRole'; userId: string; role: Role }
  | { type: 'ChangeLibrary'; userId: string; libraryId: string | null }
  | { type: 'DisableUser'; userId: string }
  | { type: 'EnableUser'; userId: string }
  | { type: 'SetPassword'; userId: string; passwordHash: string }
  | { type: 'IssueToken'; userId: string; tokenName: string; tokenHash: string; role?: Role }
  | { type: 'RevokeToken'; userId: string; tokenName: string };

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  if (command.type === 'CreateUser') {
    if (state.status !== 'absent') {
      throw new DomainError('already-exists', {
        vi: `Người dùng "${command.userId}" đã tồn tại.`,
        en: `User "${command.userId}" already exists.`,
      });
    }
    const { userId, name, role, tokenHash, passwordHash, libraryId } = command;
    const events: UserEvent[] = [
      { type: 'UserCreated', data: { userId, name, role, ...(tokenHash ? { tokenHash } : {}), ...(libraryId !== undefined ? { libraryId } : {}) } },
    ];
    if (passwordHash) events.push({ type: 'UserPasswordSet', data: { userId, passwordHash } });
    return events;
  }
  if (state.status === 'absent') {
    throw new DomainError('not-found', {
      vi: `Không tìm thấy người dùng "${command.userId}".`,
      en: `User "${command.userId}" does not exist.`,
    });
  }
  switch (command.type) {
    case 'RotateToken':
      return [{ type: 'UserTokenRotated', data: { userId: command.userId, tokenHash: command.tokenHash } }];
    case 'ChangeRole':
      return command.role === state.role ? [] : [{ type: 'UserRoleChanged', data: { userId: command.userId, role: command.role } }];
    case 'ChangeLibrary':
      return command.libraryId === (state.libraryId ?? null)
        ? []
        : [{ type: 'UserLibraryChanged', data: { userId: command.userId, libraryId: command.libraryId } }];
    case 'DisableUser':
      return state.status === 'disabled' ? [] : [{ type: 'UserDisabled', data: { userId: command.userId } }];
    case 'EnableUser':
      return state.status === 'active' ? [] : [{ type: 'UserEnabled', data: { userId: command.userId } }];
    case 'SetPassword':
      return [{ type: 'UserPasswordSet', data: { userId: command.userId, passwordHash: command.passwordHash } }];
    case 'IssueToken': {
      if (Object.hasOwn(state.tokens, command.tokenName)) {
        throw new DomainError('already-exists', {
          vi: `Tài khoản "${command.userId}" đã có mã truy cập tên "${command.tokenName}"; hãy thu hồi mã đó trước hoặc chọn tên khác.`,
          en: `Account "${command.userId}" already has a token named "${command.tokenName}"; revoke it first or choose another name.`,
        });
      }
      if (command.role !== undefined && !roleWithin(command.role, state.role)) {
        throw new DomainError('invalid-input', {
          vi: `Mã truy cập không được có quyền "${command.role}" vượt quá vai trò "${state.role}" của tài khoản "${command.userId}".`,
          en: `A token cannot have role "${command.role}", beyond account "${command.userId}"'s role "${state.role}".`,
        });
      }
      const { userId, tokenName, tokenHash, role } = command;
      return [{ type: 'ApiTokenIssued', data: { userId, tokenName, tokenHash, ...(role !== undefined ? { role } : {}) } }];
    }
    case 'RevokeToken':
      if (!Object.hasOwn(state.tokens, command.tokenName)) {
        throw new DomainError('not-found', {
          vi: `Tài khoản "${command.userId}" không có mã truy cập tên "${command.tokenName}" (các mã: ${Object.keys(state.tokens).join(', ') || 'không có'}).`,
          en: `Account "${command.userId}" has no token named "${command.tokenName}" (its tokens: ${Object.keys(state.tokens).join(', ') || 'none'}).`,
        });
      }
      return [{ type: 'ApiTokenRevoked', data: { userId: command.userId, tokenName: command.tokenName } }];
  }
}

export function evolveUser(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserCreated') {
    const { userId, name, role, tokenHash, libraryId } = event.data;
    return {
      status: 'active',
      userId,
      name,
      role,
      tokens: tokenHash ? { [DEFAULT_TOKEN]: { hash: tokenHash } } : {},
      ...(libraryId !== undefined ? { libraryId } : {}),
    };
  }
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'UserTokenRotated':
      // A new token for a disabled account stays unusable until `users enable`: an operator
      // rotating every token after a leak must not reopen the accounts of people who left.
      return {
        ...state,
        status: event.data.reenables ? 'active' : state.status,
        tokens: { ...state.tokens, [DEFAULT_TOKEN]: { hash: event.data.tokenHash } },
      };
    case 'UserRoleChanged':
      return { ...state, role: event.data.role };
    case 'UserLibraryChanged': {
      const { libraryId: _old, ...rest } = state;
      return event.data.libraryId === null ? rest : { ...rest, libraryId: event.data.libraryId };
    }
    case 'UserDisabled':
      return { ...state, status: 'disabled' };
    case 'UserEnabled':
      return { ...state, status: 'active' };
    case 'UserPasswordSet':
      return { ...state, passwordHash: event.data.passwordHash };
    case 'ApiTokenIssued': {
      const { tokenName, tokenHash, role } = event.data;
      return { ...state, tokens: { ...state.tokens, [tokenName]: { hash: tokenHash, ...(role !== undefined ? { role } : {}) } } };
    }
    case 'ApiTokenRevoked': {
      const { [event.data.tokenName]: _revoked, ...tokens } = state.tokens;
      return { ...state, tokens };
    }
  }
}

import { DomainError } from './errors.ts';
import type { Role } from './access-policy.ts';
import type { UserEvent } from './events.ts';

export type { UserEvent };

/**
 * Staff and reader accounts (`user-<id>` streams). Only a SHA-256 of each API token is
 * ever stored, so the log holds nothing that opens the API by itself.
 */
export type UserState =
  | { status: 'absent' }
  | { status: 'active' | 'disabled'; userId: string; name: string; role: Role; tokenHash: string };

export const initialUserState: UserState = { status: 'absent' };

export type UserCommand =
  | { type: 'CreateUser'; userId: string; name: string; role: Role; tokenHash: string }
  | { type: 'RotateToken'; userId: string; tokenHash: string }
  | { type: 'ChangeRole'; userId: string; role: Role }
  | { type: 'DisableUser'; userId: string }
  | { type: 'EnableUser'; userId: string };

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  if (command.type === 'CreateUser') {
    if (state.status !== 'absent') {
      throw new DomainError('already-exists', {
        vi: `Người dùng "${command.userId}" đã tồn tại.`,
        en: `User "${command.userId}" already exists.`,
      });
    }
    const { type: _t, ...data } = command;
    return [{ type: 'UserCreated', data }];
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
    case 'DisableUser':
      return state.status === 'disabled' ? [] : [{ type: 'UserDisabled', data: { userId: command.userId } }];
    case 'EnableUser':
      return state.status === 'active' ? [] : [{ type: 'UserEnabled', data: { userId: command.userId } }];
  }
}

export function evolveUser(state: UserState, event: UserEvent): UserState {
  if (event.type === 'UserCreated') return { status: 'active', ...event.data };
  if (state.status === 'absent') return state;
  switch (event.type) {
    case 'UserTokenRotated':
      // A new token for a disabled account stays unusable until `users enable`: an operator
      // rotating every token after a leak must not reopen the accounts of people who left.
      return { ...state, status: event.data.reenables ? 'active' : state.status, tokenHash: event.data.tokenHash };
    case 'UserRoleChanged':
      return { ...state, role: event.data.role };
    case 'UserDisabled':
      return { ...state, status: 'disabled' };
    case 'UserEnabled':
      return { ...state, status: 'active' };
  }
}

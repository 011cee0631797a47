import test from 'ava';
import { parseEventData } from '../../src/domain/events.ts';
import { decideUser, evolveUser, initialUserState, type UserEvent, type UserState } from '../../src/domain/user.ts';

/**
 * The user decider as given / when / then tables, and the status each history leaves: a
 * rotation never re-enables an account (only UserEnabled does), except in v1 history written
 * before `users enable` existed, whose meaning the upcaster keeps.
 */
const ID = 'lan';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const created: UserEvent = { type: 'UserCreated', data: { userId: ID, name: 'Nguyễn Thị Lan', role: 'staff', tokenHash: HASH_A } };
const disabled: UserEvent = { type: 'UserDisabled', data: { userId: ID } };
const enabled: UserEvent = { type: 'UserEnabled', data: { userId: ID } };
const rotated: UserEvent = { type: 'UserTokenRotated', data: { userId: ID, tokenHash: HASH_B } };

const fold = (events: UserEvent[]): UserState => events.reduce<UserState>((s, e) => evolveUser(s, e), initialUserState);
const statusOf = (events: UserEvent[]) => fold(events).status;

test('EnableUser: a disabled account gets UserEnabled; an active one gets nothing', (t) => {
  t.deepEqual(decideUser({ type: 'EnableUser', userId: ID }, fold([created, disabled])), [enabled]);
  t.deepEqual(decideUser({ type: 'EnableUser', userId: ID }, fold([created])), []);
  t.deepEqual(decideUser({ type: 'EnableUser', userId: ID }, fold([created, disabled, enabled])), []);
});

test('EnableUser on an account that does not exist is refused in both languages', (t) => {
  const err = t.throws(() => decideUser({ type: 'EnableUser', userId: ID }, initialUserState));
  t.regex(err?.message ?? '', /lan/);
});

test('a rotation keeps the status: a disabled account stays disabled with its new token', (t) => {
  t.deepEqual(decideUser({ type: 'RotateToken', userId: ID, tokenHash: HASH_B }, fold([created, disabled])), [rotated]);
  const state = fold([created, disabled, rotated]);
  t.is(state.status, 'disabled');
  t.is(state.status !== 'absent' ? state.tokenHash : null, HASH_B);
  t.is(statusOf([created, rotated]), 'active');
  t.is(statusOf([created, disabled, rotated, enabled]), 'active');
  t.is(statusOf([created, disabled, enabled, disabled]), 'disabled');
});

test('a v1 rotation (before `users enable`) still re-enables, as it did when it was written', (t) => {
  const v1 = parseEventData('UserTokenRotated', 1, { userId: ID, tokenHash: HASH_B });
  t.deepEqual(v1, { userId: ID, tokenHash: HASH_B, reenables: true });
  t.is(statusOf([created, disabled, { type: 'UserTokenRotated', data: v1 }]), 'active');
  // A v2 payload is taken as written.
  const v2 = parseEventData('UserTokenRotated', 2, { userId: ID, tokenHash: HASH_B });
  t.deepEqual(v2, { userId: ID, tokenHash: HASH_B });
  t.is(statusOf([created, disabled, { type: 'UserTokenRotated', data: v2 }]), 'disabled');
});

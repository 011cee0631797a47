import test from 'ava';
import { parseEventData } from '../../src/domain/events.ts';
import { decideUser, evolveUser, initialUserState, type UserCommand, type UserEvent, type UserState } from '../../src/domain/user.ts';

/**
 * The user decider as given / when / then tables, and the status each history leaves: a
 * rotation never re-enables an account (only UserEnabled does), except in v1 history written
 * before `users enable` existed, whose meaning the upcaster keeps.
 */
const ID = 'lan';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const created: UserEvent = { type: 'UserCreated', data: { userId: ID, name: 'Nguyễn Thị Lan', role: 'curator', tokenHash: HASH_A } };
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
  t.is(state.status !== 'absent' ? state.tokens.default?.hash : null, HASH_B);
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

test('old logs: a v1 account or role change naming `staff` reads back as `curator`; other roles as written', (t) => {
  t.deepEqual(parseEventData('UserCreated', 1, { userId: ID, name: 'Lan', role: 'staff', tokenHash: HASH_A }), { userId: ID, name: 'Lan', role: 'curator', tokenHash: HASH_A });
  t.deepEqual(parseEventData('UserRoleChanged', 1, { userId: ID, role: 'staff' }), { userId: ID, role: 'curator' });
  t.deepEqual(parseEventData('UserCreated', 1, { userId: ID, name: 'Lan', role: 'reader', tokenHash: HASH_A }).role, 'reader');
  t.deepEqual(parseEventData('UserRoleChanged', 1, { userId: ID, role: 'admin' }).role, 'admin');
  // `staff` is no role of today's schema: only the upcaster may bring it in.
  t.throws(() => parseEventData('UserCreated', 2, { userId: ID, name: 'Lan', role: 'staff' }));
  t.throws(() => parseEventData('UserRoleChanged', 2, { userId: ID, role: 'staff' }));
});

const PHC = '$argon2id$v=19$m=19456,t=2,p=1$Oh7fcUnofS0APMMOBbpwEA$DNXKZ6ctL3Wx9iSSdyYZ6sWxnVjDCc3tAidsfb1aq6c';
const decide = (command: UserCommand, history: UserEvent[]) => decideUser(command, fold(history));

test('CreateUser with a password: the account and its argon2id hash, no token', (t) => {
  const events = decide({ type: 'CreateUser', userId: ID, name: 'Lan', role: 'reader', passwordHash: PHC }, []);
  t.deepEqual(events, [
    { type: 'UserCreated', data: { userId: ID, name: 'Lan', role: 'reader' } },
    { type: 'UserPasswordSet', data: { userId: ID, passwordHash: PHC } },
  ]);
  const state = fold(events);
  t.like(state, { status: 'active', role: 'reader', passwordHash: PHC, tokens: {} });
});

test('a password hash that is not argon2id PHC is refused by the schema', (t) => {
  t.throws(() => parseEventData('UserPasswordSet', 1, { userId: ID, passwordHash: 'hunter2' }));
  t.throws(() => parseEventData('UserPasswordSet', 1, { userId: ID, passwordHash: PHC.replace('argon2id', 'argon2i') }));
  t.is(parseEventData('UserPasswordSet', 1, { userId: ID, passwordHash: PHC }).passwordHash, PHC);
});

test('tokens: several per account, by name; a name in use is refused; revoking removes only that one', (t) => {
  const issued = decide({ type: 'IssueToken', userId: ID, tokenName: 'ocr-script', tokenHash: HASH_B, role: 'reader' }, [created]);
  t.deepEqual(issued, [{ type: 'ApiTokenIssued', data: { userId: ID, tokenName: 'ocr-script', tokenHash: HASH_B, role: 'reader' } }]);
  const history = [created, ...issued];
  t.deepEqual(Object.keys((fold(history) as { tokens: object }).tokens).sort(), ['default', 'ocr-script']);
  const again = t.throws(() => decide({ type: 'IssueToken', userId: ID, tokenName: 'ocr-script', tokenHash: 'c'.repeat(64) }, history));
  t.regex(again?.message ?? '', /already has a token named "ocr-script"/);
  const revoked = decide({ type: 'RevokeToken', userId: ID, tokenName: 'default' }, history);
  t.deepEqual(revoked, [{ type: 'ApiTokenRevoked', data: { userId: ID, tokenName: 'default' } }]);
  t.deepEqual((fold([...history, ...revoked]) as { tokens: object }).tokens, { 'ocr-script': { hash: HASH_B, role: 'reader' } });
  const missing = t.throws(() => decide({ type: 'RevokeToken', userId: ID, tokenName: 'nope' }, history));
  t.regex(missing?.message ?? '', /no token named "nope" \(its tokens: default, ocr-script\)/);
});

test('a token is scoped no higher than its account: a curator cannot issue an admin or auditor token', (t) => {
  for (const role of ['admin', 'auditor'] as const) {
    const err = t.throws(() => decide({ type: 'IssueToken', userId: ID, tokenName: 'x', tokenHash: HASH_B, role }, [created]));
    t.regex(err?.message ?? '', /beyond account "lan"'s role "curator"/);
  }
  for (const role of ['curator', 'reader', 'public'] as const) {
    t.is(decide({ type: 'IssueToken', userId: ID, tokenName: 'x', tokenHash: HASH_B, role }, [created]).length, 1);
  }
});

test('library: an account made for a district library keeps it; ChangeLibrary moves it or (null) makes it instance-wide, and repeats nothing', (t) => {
  const district: UserEvent = { type: 'UserCreated', data: { userId: ID, name: 'Lan', role: 'curator', libraryId: 'quan-1' } };
  t.deepEqual(decideUser({ type: 'CreateUser', userId: ID, name: 'Lan', role: 'curator', libraryId: 'quan-1' }, initialUserState), [district]);
  const state = fold([district]);
  t.is(state.status !== 'absent' ? state.libraryId : 'absent', 'quan-1');
  t.deepEqual(decideUser({ type: 'ChangeLibrary', userId: ID, libraryId: 'quan-1' }, state), []);
  const moved: UserEvent = { type: 'UserLibraryChanged', data: { userId: ID, libraryId: 'quan-2' } };
  t.deepEqual(decideUser({ type: 'ChangeLibrary', userId: ID, libraryId: 'quan-2' }, state), [moved]);
  const cleared: UserEvent = { type: 'UserLibraryChanged', data: { userId: ID, libraryId: null } };
  t.deepEqual(decideUser({ type: 'ChangeLibrary', userId: ID, libraryId: null }, fold([district, moved])), [cleared]);
  const wide = fold([district, moved, cleared]);
  t.false(wide.status !== 'absent' && 'libraryId' in wide);
  t.deepEqual(decideUser({ type: 'ChangeLibrary', userId: ID, libraryId: null }, fold([created])), []);
  // Accounts made before libraries read back instance-wide.
  t.false('libraryId' in (parseEventData('UserCreated', 2, created.data) as object));
  t.deepEqual(parseEventData('UserLibraryChanged', 1, { userId: ID, libraryId: null }), { userId: ID, libraryId: null });
});

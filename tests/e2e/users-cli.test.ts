import { join } from 'node:path';
import test from 'ava';
import { verifyPassword } from '../../src/application/passwords.ts';
import { openReadModelDb } from '../../src/projections/read-model-db.ts';
import { findAccount, listTokens } from '../../src/projections/user-read-model.ts';
import { cliEnv, ROOT, run, show, thukho } from '../helpers/cli.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

/**
 * `thukho users` as an operator types it: a password from stdin (never an argument), roles
 * granted and revoked, named scoped tokens printed once and revoked by name.
 */
const tempDir = tempDirs(test, 'thukho-users-cli-');
const PASSWORD = 'Phòng đọc tầng hai';

/** `printf '%s\n' "$PW" | thukho ARGS`: the password never appears in the command line. */
const withPassword = (dir: string, password: string, args: string[]) =>
  run('/bin/sh', ['-c', `printf '%s\\n' "$PW" | "${process.execPath}" "${join(ROOT, 'bin/thukho.js')}" "$@"`, 'thukho', ...args], { ...cliEnv(dir), PW: password });

test('users add --password-stdin, grant, token (scoped, named), tokens, revoke --token, revoke', async (t) => {
  const dir = tempDir();
  const added = await withPassword(dir, PASSWORD, ['users', 'add', 'lan', '--name', 'Nguyễn Thị Lan', '--role', 'reader', '--password-stdin']);
  t.is(added.code, 0, show(added));
  t.is(added.stdout, '', 'no token for an account that signs in with a password');
  t.regex(added.stderr, /sign in at \/sign-in/);

  const short = await withPassword(dir, 'ngắn', ['users', 'add', 'minh', '--password-stdin']);
  t.is(short.code, 1, show(short));
  t.regex(short.stderr, /10 to 1000 characters/);

  const tooHigh = await thukho(dir, ['users', 'token', 'lan', '--name', 'x', '--role', 'auditor']);
  t.is(tooHigh.code, 1, show(tooHigh));
  t.regex(tooHigh.stderr, /beyond account "lan"'s role "reader"/);

  t.is((await thukho(dir, ['users', 'grant', 'lan', 'curator'])).code, 0);
  const token = await thukho(dir, ['users', 'token', 'lan', '--name', 'ocr-script', '--role', 'reader']);
  t.is(token.code, 0, show(token));
  t.regex(token.stdout, /^thk_[A-Za-z0-9_-]{43}\n$/, 'the token alone on stdout');
  t.is((await thukho(dir, ['users', 'token', 'lan', '--name', 'ocr-script'])).code, 1, 'a name in use is refused');

  t.is((await thukho(dir, ['rebuild', 'users'])).code, 0);
  t.is((await thukho(dir, ['users', 'tokens', 'lan'])).stdout, 'ocr-script\treader\n');
  t.is((await thukho(dir, ['users', 'list'])).stdout, 'lan\tcurator\tactive\tNguyễn Thị Lan\n');
  const db = openReadModelDb(join(dir, 'readmodel.sqlite'));
  const account = findAccount(db, 'lan');
  db.close();
  t.true(await verifyPassword(account?.passwordHash, PASSWORD), 'the stored argon2id hash checks the piped password');

  t.is((await thukho(dir, ['users', 'revoke', 'lan', '--token', 'ocr-script'])).code, 0);
  const revoked = await thukho(dir, ['users', 'revoke', 'lan']);
  t.is(revoked.code, 0, show(revoked));
  t.regex(revoked.stderr, /"lan" is now a reader/);
  t.is((await thukho(dir, ['rebuild', 'users'])).code, 0);
  t.is((await thukho(dir, ['users', 'tokens', 'lan'])).stdout, '');
  t.is((await thukho(dir, ['users', 'list'])).stdout, 'lan\treader\tactive\tNguyễn Thị Lan\n');
  const db2 = openReadModelDb(join(dir, 'readmodel.sqlite'));
  t.deepEqual(listTokens(db2, 'lan'), []);
  db2.close();

  const staff = await thukho(dir, ['users', 'grant', 'lan', 'staff']);
  t.not(staff.code, 0);
  t.regex(staff.stderr, /role must be one of reader, auditor, curator, admin/);
});

test('users list and tokens read the log on a repository no server has run on yet', async (t) => {
  const dir = tempDir();
  const added = await withPassword(dir, PASSWORD, ['users', 'add', 'quan-tri', '--name', 'Quản trị', '--role', 'admin', '--password-stdin']);
  t.is(added.code, 0, show(added));
  const listed = await thukho(dir, ['users', 'list']);
  t.is(listed.code, 0, show(listed));
  t.is(listed.stdout, 'quan-tri\tadmin\tactive\tQuản trị\n');
  t.is((await thukho(dir, ['users', 'token', 'quan-tri', '--name', 'ansible'])).code, 0);
  t.is((await thukho(dir, ['users', 'tokens', 'quan-tri'])).stdout, 'ansible\t(account role)\n', 'a token made a moment ago is listed without a rebuild');
});

test('users create --library, set-library ID LIB, set-library ID --none: the account is one library’s staff, then the whole instance’s', async (t) => {
  const dir = tempDir();
  // A library that is not registered is refused (a typo, usually), and no account is made.
  const typo = await thukho(dir, ['users', 'create', 'huong', '--role', 'curator', '--library', 'huyen-a']);
  t.is(typo.code, 1, show(typo));
  t.regex(typo.stderr, /Không có thư viện "huyen-a".*thukho libraries add huyen-a/);
  t.regex(typo.stderr, /There is no library "huyen-a"; register it first/);
  t.is((await thukho(dir, ['users', 'list'])).stdout, '');
  for (const lib of ['huyen-a', 'huyen-b']) t.is((await thukho(dir, ['libraries', 'add', lib, '--name-vi', `Thư viện ${lib}`])).code, 0);
  const made = await thukho(dir, ['users', 'create', 'huong', '--role', 'curator', '--library', 'huyen-a']);
  t.is(made.code, 0, show(made));
  t.is((await thukho(dir, ['users', 'list'])).stdout, 'huong\tcurator\tactive\thuong\thuyen-a\n');
  const moved = await thukho(dir, ['users', 'set-library', 'huong', 'huyen-b']);
  t.is(moved.code, 0, show(moved));
  t.regex(moved.stderr, /now acts for library "huyen-b"/);
  t.regex((await thukho(dir, ['users', 'set-library', 'huong', 'huyen-b'])).stderr, /nothing changed/);
  const unknown = await thukho(dir, ['users', 'set-library', 'huong', 'huyen-x']);
  t.is(unknown.code, 1, show(unknown));
  t.regex(unknown.stderr, /There is no library "huyen-x"/);
  t.is((await thukho(dir, ['users', 'list'])).stdout, 'huong\tcurator\tactive\thuong\thuyen-b\n', 'unchanged');
  const both = await thukho(dir, ['users', 'set-library', 'huong', 'huyen-c', '--none']);
  t.is(both.code, 2, show(both));
  t.regex(both.stderr, /exactly one of/);
  t.is((await thukho(dir, ['users', 'set-library', 'huong', '--none'])).code, 0);
  t.is((await thukho(dir, ['users', 'list'])).stdout, 'huong\tcurator\tactive\thuong\n');
  t.is((await thukho(dir, ['users', 'set-library', 'huong', 'Sai Mã'])).code === 0, false, 'a bad library id is refused');
});

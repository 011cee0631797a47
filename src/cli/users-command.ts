import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { requireKnownLibrary } from '../application/libraries.ts';
import { createUser, createUserWithPassword, issueToken, rotateToken, runUserCommand, setPassword } from '../application/users.ts';
import { ACCOUNT_ROLES, type AccountRole } from '../domain/access-policy.ts';
import { TokenName } from '../domain/events.ts';
import { ID_PATTERN } from '../domain/metadata.ts';
import type { EventStore } from '../eventstore/port.ts';
import { openEventStore } from '../eventstore/open.ts';
import { listTokens, listUsers, userReadModel } from '../projections/user-read-model.ts';
import { OcflStorageRoot } from '../storage/ocfl.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';
import { requireRepository, withCaughtUpReadModels } from './repository.ts';

/**
 * `thukho users …`: accounts, roles, passwords and API tokens. Secrets go one way only: a
 * password comes in on stdin (never as an argument, which `ps` and shell history show), a
 * new token goes out on stdout, once, alone on its line for scripts; everything else is
 * said on stderr.
 *
 * - add ID [--name N] [--role R] [--password-stdin]: with a password the account signs in on
 *   the site and has no token yet; without, it gets its "default" token (printed).
 * - password ID: set or change the password (from stdin).
 * - grant ID ROLE: give the account a role. revoke ID: back to `reader` (what a staff member
 *   who leaves a post keeps); revoke ID --token LABEL: remove one API token instead.
 *   Either way the account's sessions and the tokens beyond its new role stop at once.
 * - token ID [--role R] [--name LABEL]: a new named token, scoped to R (no higher than the
 *   account's role); tokens ID lists them. rotate ID: a new "default" token.
 * - disable ID / enable ID; list.
 * - add … --library LIB: the account is that library's staff (its staff rights hold only for
 *   that library's works, collections and figures); set-library ID LIB|--none moves it, or
 *   makes it instance-wide (provincial staff).
 */
const parseRole = (value: string): AccountRole => {
  if (!(ACCOUNT_ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`role must be one of ${ACCOUNT_ROLES.join(', ')}`);
  return value as AccountRole;
};
const parseUserId = (value: string): string => {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError('user id: lowercase letters, digits, "-" or "_"');
  return value;
};
const parseLibraryId = (value: string): string => {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError('library id: lowercase letters, digits, "-" or "_"');
  return value;
};
const parseTokenName = (value: string): string => {
  const parsed = TokenName.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`token name: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return value;
};

/** The first line of stdin: a password piped in (`printf '%s' "$PW" | thukho users add …`). */
async function passwordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Mật khẩu (rồi Enter) / password (then Enter): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (process.stdin.isTTY && chunk.toString().includes('\n')) break;
  }
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Open the log (after checking a repository is there), run, close. */
async function withStore<T>(command: string, run: (store: EventStore, homeLibraryId: string) => Promise<T>): Promise<T> {
  const cfg = loadCliConfig();
  await requireRepository(cfg, command);
  const store = await openEventStore(cfg.eventStore);
  try {
    return await run(store, cfg.libraryId);
  } finally {
    await store.close();
  }
}

const say = (vi: string, en: string) => process.stderr.write(`${vi} / ${en}\n`);

export function usersCommand(): Command {
  const users = new Command('users').description('Quản lý tài khoản / manage accounts, roles, passwords and API tokens');

  users
    .command('add')
    .alias('create')
    .argument('<id>', 'account name, e.g. "lan-nguyen" (lowercase letters, digits, "-" or "_")', parseUserId)
    .option('--name <name>', 'full name (default: the account name)')
    .option('--role <role>', `one of ${ACCOUNT_ROLES.join(', ')}`, parseRole, 'reader' as AccountRole)
    .option('--password-stdin', 'read a password from stdin: the account signs in on the site (no token is made)')
    .option('--library <id>', "the library whose staff the account is (default: the whole instance)", parseLibraryId)
    .action(async (id: string, opts: { name?: string; role: AccountRole; passwordStdin?: boolean; library?: string }) => {
      const cfg = loadCliConfig();
      // The first command of a new installation may be this one: it makes the whole repository
      // (log and storage root), which the commands that only read then find.
      await OcflStorageRoot.open(cfg.ocflRoot);
      const password = opts.passwordStdin ? await passwordFromStdin() : undefined;
      const store = await openEventStore(cfg.eventStore);
      try {
        // An account scoped to a library that is not registered would see nothing as staff: a typo, usually.
        if (opts.library !== undefined) await requireKnownLibrary(store, opts.library, cfg.libraryId);
        const name = opts.name ?? id;
        if (password !== undefined) {
          await createUserWithPassword(store, id, name, opts.role, password, { actor: CLI_ACTOR }, opts.library);
          say(`Đã tạo "${id}" (${opts.role}); đăng nhập tại /sign-in.`, `created "${id}" (${opts.role}); sign in at /sign-in.`);
        } else {
          const { token } = await createUser(store, id, name, opts.role, { actor: CLI_ACTOR }, opts.library);
          process.stdout.write(`${token}\n`);
          say(`Đã tạo "${id}" (${opts.role}). Mã trên chỉ hiện một lần`, 'the token above is shown once.');
        }
      } finally {
        await store.close();
      }
    });

  users
    .command('password')
    .description('set or change the password (read from stdin)')
    .argument('<id>', 'account name', parseUserId)
    .action(async (id: string) => {
      const password = await passwordFromStdin();
      await withStore('users password', (store) => setPassword(store, id, password, { actor: CLI_ACTOR }));
      say(`Đã đặt mật khẩu cho "${id}".`, `password set for "${id}".`);
    });

  users
    .command('grant')
    .description('give the account a role (its sessions end: it signs in again)')
    .argument('<id>', 'account name', parseUserId)
    .argument('<role>', `one of ${ACCOUNT_ROLES.join(', ')}`, parseRole)
    .action(async (id: string, role: AccountRole) => {
      const result = await withStore('users grant', (store) => runUserCommand(store, { type: 'ChangeRole', userId: id, role }, { actor: CLI_ACTOR }));
      if (result.events.length) say(`"${id}" giờ có vai trò ${role}.`, `"${id}" now has role ${role}.`);
      else say(`"${id}" đã có vai trò ${role}; không có gì thay đổi.`, `"${id}" already has role ${role}; nothing changed.`);
    });

  users
    .command('set-library')
    .description("make the account a library's staff, or with --none the whole instance's (its sessions keep going, with the new scope)")
    .argument('<id>', 'account name', parseUserId)
    .argument('[library]', 'library id', parseLibraryId)
    .option('--none', 'no library: the account acts for the whole instance (provincial staff)')
    .action(async (id: string, library: string | undefined, opts: { none?: boolean }) => {
      if ((library === undefined) === (opts.none !== true)) {
        process.stderr.write('Cần đúng một trong hai: mã thư viện hoặc --none / give exactly one of: a library id, or --none\n');
        process.exitCode = 2;
        return;
      }
      const libraryId = library ?? null;
      const result = await withStore('users set-library', async (store, home) => {
        if (libraryId !== null) await requireKnownLibrary(store, libraryId, home);
        return runUserCommand(store, { type: 'ChangeLibrary', userId: id, libraryId }, { actor: CLI_ACTOR });
      });
      const where = libraryId === null ? { vi: 'toàn hệ thống', en: 'the whole instance' } : { vi: `thư viện "${libraryId}"`, en: `library "${libraryId}"` };
      if (result.events.length) say(`"${id}" giờ thuộc ${where.vi}.`, `"${id}" now acts for ${where.en}.`);
      else say(`"${id}" đã thuộc ${where.vi}; không có gì thay đổi.`, `"${id}" already acts for ${where.en}; nothing changed.`);
    });

  users
    .command('revoke')
    .description('take the account back to reader; with --token LABEL, remove that API token instead')
    .argument('<id>', 'account name', parseUserId)
    .option('--token <label>', 'the API token to remove', parseTokenName)
    .action(async (id: string, opts: { token?: string }) => {
      if (opts.token) {
        const tokenName = opts.token;
        await withStore('users revoke', (store) => runUserCommand(store, { type: 'RevokeToken', userId: id, tokenName }, { actor: CLI_ACTOR }));
        say(`Đã thu hồi mã "${tokenName}" của "${id}".`, `token "${tokenName}" of "${id}" revoked.`);
        return;
      }
      const result = await withStore('users revoke', (store) => runUserCommand(store, { type: 'ChangeRole', userId: id, role: 'reader' }, { actor: CLI_ACTOR }));
      if (result.events.length) say(`"${id}" giờ chỉ là bạn đọc (reader).`, `"${id}" is now a reader.`);
      else say(`"${id}" đã là bạn đọc; không có gì thay đổi.`, `"${id}" was a reader already; nothing changed.`);
    });

  users
    .command('token')
    .description('issue a named API token (printed once), scoped to --role (no higher than the account\'s)')
    .argument('<id>', 'account name', parseUserId)
    .option('--role <role>', 'what the token may do (default: whatever the account\'s role allows)', parseRole)
    .option('--name <label>', 'a label to find and revoke it by (default: token-<random>)', parseTokenName)
    .action(async (id: string, opts: { role?: AccountRole; name?: string }) => {
      const label = opts.name ?? `token-${randomBytes(3).toString('hex')}`;
      const { token, status } = await withStore('users token', (store) => issueToken(store, id, label, opts.role, { actor: CLI_ACTOR }));
      process.stdout.write(`${token}\n`);
      say(`Mã "${label}" của "${id}" chỉ hiện một lần`, `token "${label}" of "${id}" is shown once.`);
      if (status === 'disabled') say(`Tài khoản "${id}" đang bị khoá: mã chưa dùng được.`, `account "${id}" is disabled: the token works only after \`thukho users enable ${id}\`.`);
    });

  users
    .command('tokens')
    .description('the account\'s API tokens by label and scope (from the read model)')
    .argument('<id>', 'account name', parseUserId)
    .action(async (id: string) => {
      const cfg = loadCliConfig();
      await requireRepository(cfg, 'users tokens');
      await withCaughtUpReadModels(cfg, [userReadModel], (db) => {
        for (const t of listTokens(db, id)) process.stdout.write(`${t.name}\t${t.role ?? '(account role)'}\n`);
      });
    });

  users
    .command('rotate')
    .description('a new "default" token (the old one stops working; a disabled account stays disabled)')
    .argument('<id>', 'user id', parseUserId)
    .action(async (id: string) => {
      const { token, status } = await withStore('users rotate', (store) => rotateToken(store, id, { actor: CLI_ACTOR }));
      process.stdout.write(`${token}\n`);
      if (status === 'disabled') {
        process.stderr.write(
          `Tài khoản "${id}" vẫn bị khoá: mã mới chỉ dùng được sau \`thukho users enable ${id}\` / ` +
            `account "${id}" stays disabled: the new token works only after \`thukho users enable ${id}\`\n`,
        );
      }
    });

  users
    .command('disable')
    .description('lock the account: its sessions and tokens stop at once')
    .argument('<id>', 'user id', parseUserId)
    .action(async (id: string) => {
      await withStore('users disable', (store) => runUserCommand(store, { type: 'DisableUser', userId: id }, { actor: CLI_ACTOR }));
    });

  users
    .command('enable')
    .description('re-enable a disabled account (its current tokens work again; `users rotate` for a new one)')
    .argument('<id>', 'user id', parseUserId)
    .action(async (id: string) => {
      const result = await withStore('users enable', (store) => runUserCommand(store, { type: 'EnableUser', userId: id }, { actor: CLI_ACTOR }));
      process.stderr.write(
        result.events.length
          ? `Đã mở lại tài khoản "${id}" / account "${id}" enabled\n`
          : `Tài khoản "${id}" vẫn đang hoạt động, không có gì thay đổi / account "${id}" was already enabled; nothing changed\n`,
      );
    });

  users
    .command('list')
    .description('accounts as the server sees them (from the read model)')
    .action(async () => {
      const cfg = loadCliConfig();
      await requireRepository(cfg, 'users list');
      await withCaughtUpReadModels(cfg, [userReadModel], (db) => {
        // The library is the last column, so that scripts reading the first four keep working.
        for (const u of listUsers(db)) process.stdout.write(`${u.id}\t${u.role}\t${u.status}\t${u.name}${u.library !== undefined ? `\t${u.library}` : ''}\n`);
      });
    });

  return users;
}

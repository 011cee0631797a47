import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ACCOUNT_ROLES, isInstanceAdmin, type Role } from '../../domain/access-policy.ts';
import { TokenName } from '../../domain/events.ts';
import { Id } from '../../domain/metadata.ts';
import { PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS } from '../../application/passwords.ts';
import { requireKnownLibrary } from '../../application/libraries.ts';
import { createUser, createUserWithPassword, issueToken, runUserCommand } from '../../application/users.ts';
import { findAccount, listTokens, listUsers } from '../../projections/user-read-model.ts';
import { type Actor, requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';

/**
 * Accounts for administrators (contract 12): list, add, change a role, disable and enable,
 * and API tokens (listed by name, issued once, revoked). Every change is a command on the
 * account's stream with the admin as actor; the answer waits for the users read model, so the
 * list a screen reloads shows it, and a disabled account or revoked token is refused from the
 * next request on.
 *
 * A repository keeps one working administrator: nobody disables or demotes themselves, and
 * the last active admin is neither disabled nor demoted (409, with the reason).
 */
export const CreateUserBody = z
  .object({
    id: Id,
    name: z.string().trim().min(1).max(200),
    role: z.enum(ACCOUNT_ROLES),
    password: z.string().min(PASSWORD_MIN_CHARS).max(PASSWORD_MAX_CHARS).optional(),
    /** The library whose staff the account is; absent: the whole instance (provincial staff). */
    library: Id.optional(),
  })
  .strict();
export const RoleBody = z.object({ role: z.enum(ACCOUNT_ROLES) }).strict();
/** null: the whole instance. */
export const LibraryBody = z.object({ library: Id.nullable() }).strict();
export const IssueTokenBody = z.object({ name: TokenName, role: z.enum(ACCOUNT_ROLES).optional() }).strict();

const ADMINS = { vi: 'quản trị viên toàn hệ thống (admin không gắn với một thư viện)', en: 'an instance-wide administrator (an admin of no single library)' };
const USERS_CATCH_UP_MS = 5000;

function requireAdmin(ctx: Context): Actor {
  return requireRole(ctx, isInstanceAdmin, ADMINS);
}

function notFound(id: string): Problem {
  return new Problem(404, 'not-found', { vi: `Không có người dùng "${id}".`, en: `There is no user "${id}".` });
}

function keepOneAdmin(code: string, messages: { vi: string; en: string }): Problem {
  return new Problem(409, code, messages);
}

export interface UserRow {
  id: string;
  name: string;
  role: Role;
  status: string;
  /** The library whose staff the account is; null: the whole instance. */
  library: string | null;
  hasPassword: boolean;
  tokens: Array<{ name: string; role: Role | null }>;
}

export function userRows(services: AppServices): UserRow[] {
  return listUsers(services.readDb).map((u) => ({
    id: u.id,
    name: u.name,
    role: u.role,
    status: u.status,
    library: u.library ?? null,
    hasPassword: findAccount(services.readDb, u.id)?.passwordHash !== undefined,
    tokens: listTokens(services.readDb, u.id),
  }));
}

export function userRoutes(services: AppServices): Router {
  const router = new Router();
  const runner = services.projections.find((p) => p.projection.name === 'users');
  const caughtUp = async (position: bigint | null) => {
    if (runner && position !== null) await runner.waitForPosition(position, USERS_CATCH_UP_MS);
  };
  const context = (actor: Actor, ctx: Context) => ({ actor, correlationId: ctx.get('x-request-id') || randomUUID() });
  const existing = (id: string) => {
    const account = findAccount(services.readDb, Id.parse(id));
    if (!account) throw notFound(id);
    return account;
  };
  const activeAdmins = () => listUsers(services.readDb).filter((u) => u.role === 'admin' && u.status === 'active').length;
  const view = (id: string) => userRows(services).find((u) => u.id === id);
  // An account scoped to a library that is not registered would see nothing as staff: a typo, usually.
  const requireLibrary = async (library: string | null | undefined) => {
    if (library !== null && library !== undefined) await requireKnownLibrary(services.store, library, services.config.libraryId);
  };

  router.get('/api/users', (ctx) => {
    requireAdmin(ctx);
    ctx.set('Cache-Control', 'private, no-store');
    ctx.body = { users: userRows(services) };
  });

  router.post('/api/users', async (ctx) => {
    const actor = requireAdmin(ctx);
    const body = CreateUserBody.parse(await readJson(ctx, services.config.maxJsonBytes));
    await requireLibrary(body.library);
    const c = context(actor, ctx);
    let token: string | undefined;
    let position: bigint | null;
    if (body.password !== undefined) {
      position = (await createUserWithPassword(services.store, body.id, body.name, body.role, body.password, c, body.library)).position;
    } else {
      const made = await createUser(services.store, body.id, body.name, body.role, c, body.library);
      position = made.position;
      token = made.token;
    }
    await caughtUp(position);
    ctx.status = 201;
    ctx.set('Location', `/api/users/${body.id}`);
    ctx.set('Cache-Control', 'no-store');
    // Without a password the account is a script's: its "default" token, shown this once.
    ctx.body = { ...view(body.id), ...(token ? { token } : {}) };
  });

  router.put('/api/users/:id/role', async (ctx) => {
    const actor = requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    const { role } = RoleBody.parse(await readJson(ctx, services.config.maxJsonBytes));
    if (account.role === 'admin' && role !== 'admin') {
      if (account.id === actor.id) {
        throw keepOneAdmin('own-admin-role', {
          vi: 'Bạn không thể tự bỏ quyền quản trị của mình; hãy nhờ một quản trị viên khác làm việc này.',
          en: 'You cannot take away your own administrator role; ask another administrator to do it.',
        });
      }
      if (account.status === 'active' && activeAdmins() <= 1) {
        throw keepOneAdmin('last-admin', {
          vi: `"${account.id}" là quản trị viên duy nhất còn hoạt động; kho cần ít nhất một quản trị viên.`,
          en: `"${account.id}" is the only active administrator; the repository needs at least one.`,
        });
      }
    }
    const result = await runUserCommand(services.store, { type: 'ChangeRole', userId: account.id, role }, context(actor, ctx));
    await caughtUp(result.position);
    ctx.body = view(account.id);
  });

  router.put('/api/users/:id/library', async (ctx) => {
    const actor = requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    const { library } = LibraryBody.parse(await readJson(ctx, services.config.maxJsonBytes));
    await requireLibrary(library);
    if (account.id === actor.id && library !== null && account.library === undefined) {
      // An administrator who scopes themselves could no longer see the other libraries, nor undo it.
      throw keepOneAdmin('own-library', {
        vi: 'Bạn không thể tự giới hạn tài khoản của mình vào một thư viện; hãy nhờ một quản trị viên khác làm việc này.',
        en: 'You cannot limit your own account to one library; ask another administrator to do it.',
      });
    }
    const wideAdmins = listUsers(services.readDb).filter((u) => u.role === 'admin' && u.status === 'active' && u.library === undefined).length;
    if (library !== null && account.role === 'admin' && account.status === 'active' && account.library === undefined && wideAdmins <= 1) {
      throw keepOneAdmin('last-admin', {
        vi: `"${account.id}" là quản trị viên duy nhất của toàn hệ thống; kho cần ít nhất một quản trị viên không giới hạn vào một thư viện.`,
        en: `"${account.id}" is the only administrator of the whole instance; the repository needs at least one not limited to a library.`,
      });
    }
    const result = await runUserCommand(services.store, { type: 'ChangeLibrary', userId: account.id, libraryId: library }, context(actor, ctx));
    await caughtUp(result.position);
    ctx.body = view(account.id);
  });

  router.post('/api/users/:id/disable', async (ctx) => {
    const actor = requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    if (account.id === actor.id) {
      throw keepOneAdmin('disable-self', {
        vi: 'Bạn không thể tự khoá tài khoản của mình: kho cần một quản trị viên còn làm việc được. Hãy nhờ một quản trị viên khác.',
        en: 'You cannot disable your own account: the repository must keep a working administrator. Ask another administrator.',
      });
    }
    if (account.role === 'admin' && account.status === 'active' && activeAdmins() <= 1) {
      throw keepOneAdmin('last-admin', {
        vi: `"${account.id}" là quản trị viên duy nhất còn hoạt động; kho cần ít nhất một quản trị viên.`,
        en: `"${account.id}" is the only active administrator; the repository needs at least one.`,
      });
    }
    const result = await runUserCommand(services.store, { type: 'DisableUser', userId: account.id }, context(actor, ctx));
    await caughtUp(result.position);
    ctx.body = view(account.id);
  });

  router.post('/api/users/:id/enable', async (ctx) => {
    const actor = requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    const result = await runUserCommand(services.store, { type: 'EnableUser', userId: account.id }, context(actor, ctx));
    await caughtUp(result.position);
    ctx.body = view(account.id);
  });

  router.get('/api/users/:id/tokens', (ctx) => {
    requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    ctx.set('Cache-Control', 'private, no-store');
    ctx.body = { userId: account.id, tokens: listTokens(services.readDb, account.id) };
  });

  router.post('/api/users/:id/tokens', async (ctx) => {
    const actor = requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    const body = IssueTokenBody.parse(await readJson(ctx, services.config.maxJsonBytes));
    const issued = await issueToken(services.store, account.id, body.name, body.role, context(actor, ctx));
    await caughtUp(issued.position);
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    // The only time the token is ever shown: the log and the read model keep its hash.
    ctx.body = { userId: account.id, name: body.name, role: body.role ?? null, token: issued.token };
  });

  router.delete('/api/users/:id/tokens/:name', async (ctx) => {
    const actor = requireAdmin(ctx);
    const account = existing(ctx.params.id as string);
    const tokenName = TokenName.parse(ctx.params.name);
    const result = await runUserCommand(services.store, { type: 'RevokeToken', userId: account.id, tokenName }, context(actor, ctx));
    await caughtUp(result.position);
    ctx.status = 204;
  });

  return router;
}

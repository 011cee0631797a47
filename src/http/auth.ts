import type { Context, Next } from 'koa';
import { isStaff, type Role, type Viewer } from '../domain/access-policy.ts';
import { findUserByToken } from '../projections/user-read-model.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';
import { Problem } from './problem.ts';

/**
 * Who is asking: `Authorization: Bearer <token>` names a user (tokens come from
 * `thukho users add`); without it the request is anonymous, role `public`. A token that
 * matches nobody is refused rather than treated as anonymous, so that a typo is noticed.
 */
export interface Actor {
  id: string;
  role: Role;
}

export interface AuthState {
  actor: Actor;
  viewer: Viewer;
}

/** `inReadingRoom`: whether a client address (ctx.ip: X-Forwarded-For only with trust proxy) is the reading room's. */
export function authMiddleware(db: ReadModelDb, inReadingRoom: (ip: string) => boolean) {
  return async (ctx: Context, next: Next) => {
    // What is visible, and whether the request is refused, depends on this header: so does
    // every answer, and a shared cache must keep one copy per token (anonymous: one for all).
    ctx.vary('Authorization');
    const header = ctx.get('authorization');
    let actor: Actor = { id: 'anonymous', role: 'public' };
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      const user = m ? findUserByToken(db, m[1] as string) : undefined;
      if (!user) {
        ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
        throw new Problem(401, 'invalid-token', {
          vi: 'Mã truy cập (token) không hợp lệ hoặc đã bị thu hồi.',
          en: 'The access token is invalid or has been revoked.',
        });
      }
      actor = { id: user.id, role: user.role };
    }
    const state: AuthState = { actor, viewer: { role: actor.role, ...(inReadingRoom(ctx.ip) ? { inReadingRoom: true } : {}) } };
    Object.assign(ctx.state, state);
    await next();
  };
}

export function authOf(ctx: Context): AuthState {
  return ctx.state as AuthState;
}

export function requireStaff(ctx: Context): Actor {
  const { actor } = authOf(ctx);
  if (isStaff(actor)) return actor;
  if (actor.role === 'public') {
    ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
    throw new Problem(401, 'authentication-required', {
      vi: 'Cần đăng nhập bằng mã truy cập của cán bộ thư viện (Authorization: Bearer …).',
      en: 'A staff access token is required (Authorization: Bearer …).',
    });
  }
  throw new Problem(403, 'forbidden', {
    vi: 'Chỉ cán bộ thư viện mới được thực hiện thao tác này.',
    en: 'Only library staff may do this.',
  });
}

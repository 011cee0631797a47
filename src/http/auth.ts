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
  /** The signed-in session, for requests that have one (access events hash it, never store it). */
  sessionId?: string;
}

export function authMiddleware(db: ReadModelDb) {
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
    const state: AuthState = { actor, viewer: { role: actor.role } };
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

/**
 * The answer for restricted material the viewer may not see: anonymous readers are asked
 * to sign in (401), signed-in readers without the right are refused (403).
 */
export function restrictedProblem(ctx: Context): Problem {
  if (authOf(ctx).viewer.role === 'public') {
    ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
    return new Problem(401, 'authentication-required', {
      vi: 'Tài liệu này chỉ dành cho bạn đọc đã đăng ký hoặc tại phòng đọc; hãy đăng nhập (Authorization: Bearer …).',
      en: 'This material is for registered readers or the reading room only; sign in (Authorization: Bearer …).',
    });
  }
  return new Problem(403, 'restricted', {
    vi: 'Tài liệu này chỉ dành cho bạn đọc đã đăng ký hoặc tại phòng đọc.',
    en: 'This material is for registered readers or the reading room only.',
  });
}

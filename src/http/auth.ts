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

export function authMiddleware(db: ReadModelDb) {
  return async (ctx: Context, next: Next) => {
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

/** Host names and IP literals with an optional port: anything else in Host is refused, not echoed into documents. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The URL the outside world reaches us at: THUKHO_PUBLIC_URL, else the request's own host. */
export function publicBase(publicUrl: string | undefined, ctx: Context): string {
  if (publicUrl) return publicUrl;
  if (!HOST.test(ctx.host)) {
    throw new Problem(400, 'invalid-host', {
      vi: 'Tiêu đề Host không hợp lệ; không thể tạo địa chỉ cho tài liệu IIIF.',
      en: 'The Host header is not a valid host name; IIIF addresses cannot be made from it.',
    });
  }
  return `${ctx.protocol}://${ctx.host}`;
}

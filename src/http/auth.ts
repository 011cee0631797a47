import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { canReadRestricted, canWrite, isStaff, type Role, type Viewer } from '../domain/access-policy.ts';
import { type Account, findAccount, findUserByToken } from '../projections/user-read-model.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';
import { readForm } from './body.ts';
import { Problem } from './problem.ts';
import { type IiifTokenStore, isIiifToken } from './iiif-tokens.ts';
import { credentialStamp, type Session, type SessionStore } from './sessions.ts';
import { sameSecret, signValue, unsignValue } from './signed-value.ts';

/**
 * Who is asking. Scripts send `Authorization: Bearer <token>` (tokens come from `thukho users
 * add|token`); people sign in on the site and carry a session cookie. Without either the
 * request is anonymous, role `public`. A token that matches nobody is refused rather than
 * treated as anonymous, so that a typo is noticed; a session cookie that no longer names a
 * live session (signed out, expired, account disabled or its role changed) is dropped and
 * the request goes on as anonymous, as a browser expects.
 *
 * IIIF viewers on any site (iiif/auth-services.ts) get read access to restricted images, never
 * more: with an access token from the IIIF token service in `Authorization: Bearer iiif_…`
 * (info.json, the probe), or with the access cookie the IIIF access service set (tiles, which
 * a viewer loads as plain images). Both name a session and count as a reader's, whatever the
 * account's role: a page elsewhere that a curator happens to visit cannot have it show
 * confidential images. Both serve GET and HEAD only.
 *
 * Every request checks the account's current row in the users read model, so disabling an
 * account or changing its role ends its sessions and stops its tokens with the next request;
 * a new password ends the sessions signed in with the old one.
 */
export interface Actor {
  id: string;
  role: Role;
}

export interface AuthState {
  actor: Actor;
  viewer: Viewer;
  /** How the request was authenticated (`iiif`: an IIIF access token or the IIIF access cookie). */
  via: 'anonymous' | 'token' | 'session' | 'iiif';
  /** The session's id, when signed in on the site or through IIIF (for per-session statistics and IIIF tokens; never logged). */
  sessionId?: string;
  /** The session's CSRF token, for forms rendered into its pages. */
  csrfToken?: string;
  /** The signed-in person, for the site's header. */
  user?: { id: string; name: string };
}

export const SESSION_COOKIE = 'thukho_session';
const SESSION_PURPOSE = 'session';
export const IIIF_COOKIE = 'thukho_iiif';
const IIIF_PURPOSE = 'iiif-access';
const READS = new Set(['GET', 'HEAD']);

/** Methods that change something: a cookie alone must not be enough for them (CSRF). */
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = 'csrf';

export interface AuthDeps {
  db: ReadModelDb;
  sessions: SessionStore;
  /** Signs the session cookie. */
  secret: Buffer;
  logger: Logger;
  /** Whether a client address (ctx.ip: X-Forwarded-For only with trust proxy) is the reading room's. */
  inReadingRoom: (ip: string) => boolean;
  iiifTokens: IiifTokenStore;
  /** The home library's id (THUKHO_LIBRARY_ID): what works and collections naming no library belong to. */
  homeLibrary: string;
  /**
   * Resolves true when the users read model has applied something new, false at the timeout
   * (or when it applies nothing more). A token that matches nobody is looked at again as it
   * catches up: see TOKEN_GRACE_MS.
   */
  usersApplied?: (timeoutMs: number) => Promise<boolean>;
}

/**
 * How long an unknown token waits for the users read model before it is refused. `thukho
 * users token` writes to the log from another process, which this server's read model takes
 * in within a poll of the log (200 ms on the embedded profile); a script that makes a token
 * and uses it at once (an Ansible play, a test) must not get a 401 meanwhile. A wrong token
 * costs its sender this long, which also slows guessing.
 */
const TOKEN_GRACE_MS = 3000;

/** A cookie that holds `value` signed for `purpose` (never readable by script); null clears it. */
function setSignedCookie(ctx: Context, secret: Buffer, name: string, purpose: string, value: string | null, maxAgeSeconds: number, sameSite: 'lax' | 'none'): void {
  ctx.cookies.set(name, value ? signValue(secret, purpose, value) : null, {
    path: '/',
    httpOnly: true,
    sameSite,
    secure: ctx.secure,
    overwrite: true,
    ...(value ? { maxAge: maxAgeSeconds * 1000 } : {}),
  });
}

export function setSessionCookie(ctx: Context, secret: Buffer, session: Session | null, maxAgeSeconds: number): void {
  // HttpOnly: no script reads it; SameSite=Lax: not sent on cross-site POSTs; Secure whenever
  // the request came over TLS (behind a proxy: THUKHO_TRUST_PROXY and X-Forwarded-Proto).
  setSignedCookie(ctx, secret, SESSION_COOKIE, SESSION_PURPOSE, session?.id ?? null, maxAgeSeconds, 'lax');
}

/**
 * The IIIF access cookie: the session's id again, signed for another purpose so that it never
 * passes for a session cookie. Viewers on other sites load our tiles as images, which carry
 * only SameSite=None cookies, and those must be Secure: over plain HTTP it is Lax, and works
 * for viewers on this site (any port of this host) only.
 */
export function setIiifCookie(ctx: Context, secret: Buffer, sessionId: string | null, maxAgeSeconds: number): void {
  setSignedCookie(ctx, secret, IIIF_COOKIE, IIIF_PURPOSE, sessionId, maxAgeSeconds, ctx.secure ? 'none' : 'lax');
}

/** The session id the request's cookie names (signature checked), if any. */
export function sessionIdOf(ctx: Context, secret: Buffer): string | undefined {
  return unsignValue(secret, SESSION_PURPOSE, ctx.cookies.get(SESSION_COOKIE));
}

const invalidToken = () =>
  new Problem(401, 'invalid-token', {
    vi: 'Mã truy cập (token) không hợp lệ hoặc đã bị thu hồi.',
    en: 'The access token is invalid or has been revoked.',
  });

const ANONYMOUS: AuthState = { actor: { id: 'anonymous', role: 'public' }, viewer: { role: 'public' }, via: 'anonymous' };

/** A session lasts while its account is active, with the role and the password it signed in with. */
function stillValid(session: Session, account: Account): boolean {
  return account.status === 'active' && account.role === session.role && credentialStamp(account.passwordHash) === session.credential;
}

/** What an IIIF token or cookie of an account with `role` may see: a reader's view at most. */
function iiifViewer(role: Role): Viewer {
  return { role: canReadRestricted({ role }) ? 'reader' : 'public' };
}

export function authMiddleware(deps: AuthDeps) {
  const { db, sessions, secret, logger, inReadingRoom, iiifTokens, homeLibrary } = deps;
  const scoped = (library: string | undefined): Pick<Viewer, 'library' | 'homeLibrary'> => (library !== undefined ? { library, homeLibrary } : {});

  /** The live session `id` names and its account; a session no longer valid is ended. */
  async function liveSession(id: string): Promise<{ session: Session; account: Account } | undefined> {
    let session: Session | undefined;
    try {
      session = await sessions.get(id);
    } catch (err) {
      // Without Redis nobody is signed in; the public site and API tokens still work.
      logger.warn({ err: (err as Error).message }, 'session store unavailable: request treated as anonymous');
      return undefined;
    }
    const account = session ? findAccount(db, session.userId) : undefined;
    if (!session || !account || !stillValid(session, account)) {
      if (session) await sessions.destroy(session.id).catch(() => {});
      return undefined;
    }
    return { session, account };
  }

  async function fromSession(ctx: Context): Promise<AuthState | undefined> {
    const id = sessionIdOf(ctx, secret);
    if (!id) return undefined;
    const live = await liveSession(id);
    if (!live) {
      setSessionCookie(ctx, secret, null, 0);
      return undefined;
    }
    const { session, account } = live;
    const actor: Actor = { id: account.id, role: account.role };
    // The library is read from the account's current row: moving an account takes effect with its next request.
    const viewer: Viewer = { role: actor.role, ...scoped(account.library) };
    return { actor, viewer, via: 'session', sessionId: session.id, csrfToken: session.csrf, user: { id: account.id, name: account.name } };
  }

  /** A reader's view through a session that signed in for an IIIF viewer (see iiifViewer). */
  async function throughIiif(sessionId: string): Promise<AuthState | undefined> {
    const live = await liveSession(sessionId);
    if (!live) return undefined;
    const viewer = iiifViewer(live.account.role);
    return { actor: { id: live.account.id, role: viewer.role }, viewer, via: 'iiif', sessionId };
  }

  async function fromIiifCookie(ctx: Context): Promise<AuthState | undefined> {
    if (!READS.has(ctx.method)) return undefined;
    const id = unsignValue(secret, IIIF_PURPOSE, ctx.cookies.get(IIIF_COOKIE));
    return id ? throughIiif(id) : undefined;
  }

  /**
   * An IIIF access token: the view of the session it was issued to, or nobody's (one issued to
   * the reading room). Unknown, expired or used from another page's origin, it counts as no
   * token at all: the viewer then sees the 401 and the services that lead to a new one.
   */
  async function fromIiifToken(ctx: Context, token: string): Promise<AuthState | undefined> {
    if (!READS.has(ctx.method)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
      throw invalidToken();
    }
    let grant;
    try {
      grant = await iiifTokens.find(token);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'IIIF token store unavailable: request treated as anonymous');
      return undefined;
    }
    if (!grant) return undefined;
    const origin = ctx.get('origin');
    if (origin && origin !== grant.origin) return undefined;
    if (!grant.sessionId) return { ...ANONYMOUS, via: 'iiif' };
    return throughIiif(grant.sessionId);
  }

  return async (ctx: Context, next: Next) => {
    // What is visible, and whether the request is refused, depends on these headers: so does
    // every answer, and a shared cache must keep one copy per token or cookie.
    ctx.vary('Authorization');
    ctx.vary('Cookie');
    const header = ctx.get('authorization');
    let state: AuthState;
    const bearer = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
    if (bearer !== undefined && isIiifToken(bearer)) {
      state = (await fromIiifToken(ctx, bearer)) ?? { ...ANONYMOUS };
    } else if (header) {
      let user = bearer !== undefined ? findUserByToken(db, bearer) : undefined;
      if (!user && bearer !== undefined && deps.usersApplied) {
        const deadline = Date.now() + TOKEN_GRACE_MS;
        while (!user && Date.now() < deadline && (await deps.usersApplied(deadline - Date.now()))) user = findUserByToken(db, bearer);
      }
      if (!user) {
        ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
        throw invalidToken();
      }
      // A token of a library's account is scoped to that library as the account is.
      const viewer: Viewer = { role: user.role, ...scoped(user.library) };
      state = { actor: { id: user.id, role: user.role }, viewer, via: 'token' };
    } else {
      state = (await fromSession(ctx)) ?? (await fromIiifCookie(ctx)) ?? { ...ANONYMOUS };
    }
    if (inReadingRoom(ctx.ip)) state.viewer = { ...state.viewer, inReadingRoom: true };
    Object.assign(ctx.state, state);
    // A browser sends the cookie with any request, including one a hostile page makes it send:
    // a change made on a cookie's authority must also carry the session's token. (Bearer
    // requests are exempt: a browser never adds that header by itself.)
    if (state.via === 'session' && UNSAFE.has(ctx.method)) await requireCsrf(ctx, state.csrfToken);
    await next();
  };
}

async function requireCsrf(ctx: Context, expected: string | undefined): Promise<void> {
  // X-XSRF-TOKEN: what axios sends, from the XSRF-TOKEN cookie the queue board is given (staff/jobs.ts).
  let given = ctx.get(CSRF_HEADER) || ctx.get('x-xsrf-token') || undefined;
  if (!given && ctx.is('application/x-www-form-urlencoded')) given = (await readForm(ctx)).get(CSRF_FIELD) ?? undefined;
  if (sameSecret(given, expected)) return;
  throw new Problem(403, 'csrf-token-invalid', {
    vi: 'Thiếu hoặc sai mã chống giả mạo yêu cầu (CSRF): gửi lại biểu mẫu từ trang của thư viện, hoặc gửi tiêu đề X-CSRF-Token.',
    en: 'The anti-forgery (CSRF) token is missing or wrong: submit the form again from the library’s page, or send the X-CSRF-Token header.',
  });
}

export function authOf(ctx: Context): AuthState {
  return ctx.state as AuthState;
}

function unauthenticated(ctx: Context, what: { vi: string; en: string }): Problem {
  ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
  return new Problem(401, 'authentication-required', {
    vi: `Cần đăng nhập (trên trang /sign-in, hoặc mã truy cập Authorization: Bearer …) với tài khoản ${what.vi}.`,
    en: `Sign in (on /sign-in, or with an access token, Authorization: Bearer …) as ${what.en}.`,
  });
}

/**
 * The actor when `allowed` holds for them; otherwise 401 for anonymous requests (sign in)
 * and 403 for signed-in ones whose role does not allow it.
 */
export function requireRole(ctx: Context, allowed: (viewer: Viewer) => boolean, who: { vi: string; en: string }): Actor {
  // The viewer, not the bare actor: a rule may depend on the account's library (isInstanceAdmin).
  const { actor, viewer } = authOf(ctx);
  if (allowed(viewer)) return actor;
  if (actor.role === 'public') throw unauthenticated(ctx, who);
  throw new Problem(403, 'forbidden', {
    vi: `Vai trò "${actor.role}" không được làm việc này; cần tài khoản ${who.vi}.`,
    en: `Role "${actor.role}" may not do this; it needs ${who.en}.`,
  });
}

/** Reads for staff (admin, curator, auditor): provenance, fixity, audit reports, event streams. */
export function requireStaff(ctx: Context): Actor {
  return requireRole(ctx, isStaff, { vi: 'cán bộ thư viện', en: 'library staff' });
}

/** Changes to the repository (admin, curator): the actor is recorded on every event written. */
export function requireWriter(ctx: Context): Actor {
  return requireRole(ctx, canWrite, { vi: 'cán bộ biên mục (curator) hoặc quản trị (admin)', en: 'a curator or an administrator' });
}

import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { verifyPassword } from '../../application/passwords.ts';
import { findAccount } from '../../projections/user-read-model.ts';
import { authOf, sessionIdOf, setSessionCookie } from '../auth.ts';
import { readForm } from '../body.ts';
import type { AppServices } from '../services.ts';
import { ACCOUNT_TEXT as A, type Bilingual, tooManyAttempts } from '../site/i18n.ts';
import type { PageContext } from '../site/layout.ts';
import { BadRequest, parseQuery } from '../site/request.ts';
import { signInPage, signOutPage } from '../site/sign-in-pages.ts';
import { credentialStamp } from '../sessions.ts';
import { sameSecret, signValue, unsignValue } from '../signed-value.ts';

/**
 * GET/POST /sign-in and /sign-out on the public site.
 *
 * - Login CSRF: before sign-in there is no session to hold a token, so the form carries a
 *   random token that must equal the one in a signed, HttpOnly cookie (double submit).
 * - Session fixation: signing in always makes a new session (and ends the one the browser
 *   had), so an id planted in the browser beforehand never becomes a signed-in session.
 * - Throttling: failures per account and per client address (sign-in-throttle.ts); past the
 *   limit, 429 with Retry-After, and the password is not checked at all.
 * - The return address is a path on this site only (no open redirect).
 */
export interface SitePageKit {
  pageContext(ctx: Context, params: Map<string, string> | undefined): PageContext;
  send(ctx: Context, status: number, body: string): void;
}

const CSRF_COOKIE = 'thukho_csrf';
const CSRF_PURPOSE = 'sign-in-form';

/** A same-site path to go back to: "/…" but not "//host" or "/\host" (browsers read both as another site). */
export function safeReturn(raw: string | null | undefined): string {
  if (!raw || raw.length > 2000 || !raw.startsWith('/') || raw.startsWith('//')) return '/';
  // Backslashes and control characters are where browsers and servers disagree about URLs.
  if (/[\\\u0000-\u001f\u007f]/.test(raw)) return '/';
  if (/^\/sign-(in|out)(?:[/?#]|$)/.test(raw)) return '/';
  return raw;
}

export function signInRoutes(router: Router, services: AppServices, kit: SitePageKit): void {
  const { readDb, config, logger } = services;
  const { sessions, throttle, cookieSecret } = services.accounts;

  const show = (ctx: Context, status: number, body: string) => {
    kit.send(ctx, status, body);
    // Pages with a CSRF token and a name: never stored by any cache.
    ctx.set('Cache-Control', 'no-store');
  };

  /** The pre-session form token: the one the browser's cookie holds, or a new one in a new cookie. */
  const formToken = (ctx: Context): string => {
    const existing = unsignValue(cookieSecret, CSRF_PURPOSE, ctx.cookies.get(CSRF_COOKIE));
    if (existing) return existing;
    const token = randomBytes(32).toString('base64url');
    ctx.cookies.set(CSRF_COOKIE, signValue(cookieSecret, CSRF_PURPOSE, token), { path: '/sign-in', httpOnly: true, sameSite: 'strict', secure: ctx.secure, overwrite: true });
    return token;
  };

  const form = (ctx: Context, page: PageContext, status: number, returnTo: string, extra: { account?: string; error?: Bilingual } = {}) => {
    const auth = authOf(ctx);
    const csrf = auth.via === 'session' && auth.csrfToken ? auth.csrfToken : formToken(ctx);
    show(ctx, status, signInPage(page, { csrf, returnTo, ...extra, ...(auth.user ? { signedInAs: auth.user.name } : {}) }));
  };

  // The site's strict query reading; these pages need nothing from a query they cannot read.
  const queryOf = (ctx: Context): Map<string, string> => {
    try {
      return parseQuery(ctx.querystring);
    } catch (err) {
      if (err instanceof BadRequest) return new Map();
      throw err;
    }
  };

  router.get('/sign-in', (ctx) => {
    const query = queryOf(ctx);
    const page = kit.pageContext(ctx, query);
    form(ctx, page, 200, safeReturn(query.get('return')));
  });

  router.post('/sign-in', async (ctx) => {
    const fields = await readForm(ctx);
    const page = kit.pageContext(ctx, undefined);
    const returnTo = safeReturn(fields.get('return'));
    const account = (fields.get('account') ?? '').trim().toLowerCase().slice(0, 100);
    const password = fields.get('password') ?? '';
    const auth = authOf(ctx);
    // A signed-in browser's form carries its session's token, which auth.ts has checked.
    if (auth.via !== 'session' && !sameSecret(fields.get('csrf') ?? undefined, unsignValue(cookieSecret, CSRF_PURPOSE, ctx.cookies.get(CSRF_COOKIE)))) {
      return form(ctx, page, 403, returnTo, { account, error: A.formExpired });
    }
    try {
      const wait = await throttle.retryAfter(account, ctx.ip);
      if (wait > 0) {
        ctx.set('Retry-After', String(wait));
        return form(ctx, page, 429, returnTo, { account, error: tooManyAttempts(wait) });
      }
      const found = findAccount(readDb, account);
      // Unknown, disabled and password-less accounts cost the same argon2id check as a real one.
      const ok = await verifyPassword(found?.status === 'active' ? found.passwordHash : undefined, password);
      if (!ok || !found) {
        await throttle.failed(account, ctx.ip);
        logger.info({ account, ip: ctx.ip }, 'sign-in failed');
        return form(ctx, page, 401, returnTo, { account, error: A.wrongCredentials });
      }
      await throttle.succeeded(account);
      const previous = sessionIdOf(ctx, cookieSecret);
      if (previous) await sessions.destroy(previous);
      const session = await sessions.create(found.id, found.role, credentialStamp(found.passwordHash));
      setSessionCookie(ctx, cookieSecret, session, config.sessions.maxSeconds);
      ctx.cookies.set(CSRF_COOKIE, null, { path: '/sign-in' });
      logger.info({ account: found.id, role: found.role }, 'signed in');
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(returnTo);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'sign-in: session store unavailable');
      return form(ctx, page, 503, returnTo, { account, error: A.unavailable });
    }
  });

  // Who the browser is signed in as, and the token its scripts send back (X-CSRF-Token) with a
  // write. Readable only by pages of this site: the answer is for cookie-holders, and CORS
  // `*` never lets another site's script read a credentialed answer.
  router.get('/api/session', (ctx) => {
    const auth = authOf(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body =
      auth.via === 'session' && auth.user
        ? { signedIn: true, user: auth.user, role: auth.actor.role, csrfToken: auth.csrfToken }
        : { signedIn: false, role: auth.actor.role };
  });

  router.get('/sign-out', (ctx) => {
    const page = kit.pageContext(ctx, queryOf(ctx));
    const auth = authOf(ctx);
    show(ctx, 200, signOutPage(page, auth.via === 'session' && auth.user && auth.csrfToken ? { csrf: auth.csrfToken, name: auth.user.name } : {}));
  });

  // auth.ts has checked the session's CSRF token: a page elsewhere cannot sign a reader out.
  router.post('/sign-out', async (ctx) => {
    const auth = authOf(ctx);
    if (auth.sessionId) {
      await sessions.destroy(auth.sessionId).catch((err: Error) => logger.warn({ err: err.message }, 'sign-out: session store unavailable'));
      logger.info({ account: auth.actor.id }, 'signed out');
    }
    setSessionCookie(ctx, cookieSecret, null, 0);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/');
  });
}

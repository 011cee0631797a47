import Router from '@koa/router';
import type { Context } from 'koa';
import { decideAccess } from '../../domain/access-decision.ts';
import { holdingLibrary } from '../../domain/access-policy.ts';
import { canReadRestricted } from '../../domain/access-policy.ts';
import {
  AUTH_PATHS,
  AUTH_TEXT,
  type ProbeStatus,
  probeResult,
  type TokenErrorProfile,
  tokenErrorMessage,
  tokenErrorMessageV1,
  tokenMessage,
  tokenMessageV1,
} from '../../iiif/auth-services.ts';
import { imageFileLookup } from '../../projections/object-read-model.ts';
import { authOf, setIiifCookie } from '../auth.ts';
import { imageNotFound } from './iiif-image.ts';
import { validOrigin } from '../origin.ts';
import { Problem } from '../problem.ts';
import { publicBase } from '../public-base.ts';
import type { AppServices } from '../services.ts';
import { html, SafeHtml } from '../site/html.ts';

/**
 * The IIIF authorization services (see iiif/auth-services.ts for what is declared where):
 *
 * - probe `GET /iiif/auth/probe/{imageId}`: the status the image's requests would get with
 *   the request's credentials (the access token in Authorization, or none), as an
 *   AuthProbeResult2; cross-origin readable like the rest of /iiif. Unknown and confidential
 *   images are a 404, as on the image service itself.
 * - access `GET /iiif/auth/access?origin=…`: opened by a viewer in a window. Signed in, it sets
 *   the IIIF access cookie and closes itself; otherwise it sends the reader to /sign-in, which
 *   comes back here. (It is also Auth 1.0's login service.)
 * - `GET /iiif/auth/reading-room`: the external access service; clients never open it (they go
 *   straight to the token service), a person who does is told what it means.
 * - token `GET /iiif/auth/token?messageId=…&origin=…` (Auth 2.0) and `/iiif/auth/v1/token`
 *   (Auth 1.0, which also answers JSON without messageId): loaded by the viewer in an iframe,
 *   posts the token (or why none) to the viewer's page, and to its origin only.
 * - logout `GET /iiif/auth/logout`: the site's sign-out page.
 *
 * Tokens and cookies are a reader's view at most, and only for reading (auth.ts).
 */
const CLOSE_SCRIPT = `${AUTH_PATHS.access}/close.js`;
const POST_SCRIPT = `${AUTH_PATHS.token}/post.js`;

/** Closes the window the viewer opened, once the access cookie is set. */
const CLOSE_JS = 'window.close();\n';
/** Posts the page's message to its parent (the viewer), to the origin written beside it. */
const POST_JS = `(function () {
  var data = JSON.parse(document.getElementById('iiif-message').textContent);
  window.parent.postMessage(data.message, data.target);
})();
`;

/** A messageId as clients make them: short and printable (it goes back into the message). */
function validMessageId(raw: string | undefined): string | undefined {
  return raw !== undefined && raw.length > 0 && raw.length <= 200 && /^[\x21-\x7e]+$/.test(raw) ? raw : undefined;
}

function single(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  return typeof value === 'string' ? value : undefined;
}

/** A small page of ours that runs only our own script (`script`), for the windows and frames of the flow. */
function sendPage(ctx: Context, status: number, body: SafeHtml, options: { script?: string; framed?: boolean } = {}): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors ${options.framed ? '*' : "'none'"}`,
  );
  // The token page is made to be framed by a viewer on any site: it holds no UI to click.
  if (options.framed) ctx.remove('X-Frame-Options');
  const doc = html`<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>thukho</title></head>
<body>${body}${options.script ? html`<script src="${options.script}"></script>` : ''}</body>
</html>
`;
  ctx.body = doc.toString();
}

const paragraph = (m: { vi: readonly string[]; en: readonly string[] }) => html`<p lang="vi">${m.vi[0]}</p><p lang="en">${m.en[0]}</p>`;

export function iiifAuthRoutes(services: AppServices): Router {
  const router = new Router();
  const lookup = imageFileLookup(services.readDb);
  const { cookieSecret, iiifTokens } = services.accounts;
  const allowedOrigins = services.config.iiifAuthOrigins;
  const base = (ctx: Context) => publicBase(services.config.publicUrl, ctx);

  router.get(`${AUTH_PATHS.probe}/:imageId`, (ctx) => {
    const imageId = ctx.params.imageId as string;
    const file = lookup(imageId);
    const { viewer } = authOf(ctx);
    const decision = file ? decideAccess(file.accessLevel, file.status, viewer, 'content', holdingLibrary(viewer, file.libraryId)) : undefined;
    if (!file || !decision || decision.outcome === 'absent') {
      ctx.set('Cache-Control', 'no-store');
      throw imageNotFound(imageId);
    }
    const status: ProbeStatus = decision.outcome === 'allow' ? 200 : decision.outcome === 'gone' ? 410 : 401;
    // The answer is about the credentials sent: no cache may give it to anyone else.
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = probeResult(base(ctx), imageId, status);
  });

  router.get(AUTH_PATHS.access, (ctx) => {
    const auth = authOf(ctx);
    const origin = validOrigin(single(ctx, 'origin'));
    if (auth.via !== 'session' || !auth.sessionId) {
      const back = `${AUTH_PATHS.access}${origin ? `?origin=${encodeURIComponent(origin)}` : ''}`;
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 303;
      ctx.redirect(`/sign-in?return=${encodeURIComponent(back)}`);
      return;
    }
    if (!canReadRestricted(auth.viewer)) {
      sendPage(ctx, 403, paragraph(AUTH_TEXT.missingNote));
      return;
    }
    setIiifCookie(ctx, cookieSecret, auth.sessionId, services.config.sessions.maxSeconds);
    sendPage(
      ctx,
      200,
      html`<h1>${AUTH_TEXT.heading.vi[0]} / ${AUTH_TEXT.heading.en[0]}</h1>
<p lang="vi">Bạn đã đăng nhập; cửa sổ này sẽ tự đóng. Nếu không, hãy đóng nó và quay lại trang xem ảnh.</p>
<p lang="en">You are signed in; this window closes by itself. If it does not, close it and go back to the viewer.</p>`,
      { script: CLOSE_SCRIPT },
    );
  });

  router.get(AUTH_PATHS.readingRoom, (ctx) => {
    sendPage(
      ctx,
      200,
      html`<h1>${AUTH_TEXT.readingRoom.vi[0]} / ${AUTH_TEXT.readingRoom.en[0]}</h1>
<p lang="vi">Máy tính trong phòng đọc của thư viện xem được tài liệu hạn chế mà không cần đăng nhập. Ở nơi khác, hãy đăng nhập bằng tài khoản bạn đọc.</p>
<p lang="en">Computers in the library’s reading room show restricted material without signing in. Elsewhere, sign in with a reader account.</p>`,
    );
  });

  router.get(AUTH_PATHS.logout, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect('/sign-out');
  });

  /**
   * A token for the request's view, or why there is none. `origin` null: asked for as JSON by
   * a program, not for a page; the token then works only for requests without an Origin.
   */
  const grant = async (ctx: Context, origin: string | undefined | null): Promise<{ accessToken: string; expiresIn: number } | TokenErrorProfile> => {
    if (origin === undefined || (origin !== null && allowedOrigins && !allowedOrigins.includes(origin))) return 'invalidOrigin';
    const bound = origin ?? '';
    const auth = authOf(ctx);
    if (auth.sessionId && canReadRestricted(auth.viewer)) return iiifTokens.issue({ sessionId: auth.sessionId, origin: bound });
    if (auth.viewer.inReadingRoom) return iiifTokens.issue({ origin: bound });
    return 'missingAspect';
  };

  /** The page the viewer's iframe loads: it posts `message` to the viewer, at `origin` only (an error, holding no secret, to any). */
  const postPage = (ctx: Context, message: Record<string, unknown>, origin: string | undefined) => {
    // No `<` in it, so nothing in a messageId can end the element early.
    const data = JSON.stringify({ message, target: origin ?? '*' }).replace(/</g, '\\u003c');
    sendPage(ctx, 200, html`<script type="application/json" id="iiif-message">${new SafeHtml(data)}</script>`, { script: POST_SCRIPT, framed: true });
  };

  const tokenRoute = (version: 1 | 2) => async (ctx: Context) => {
    const rawMessageId = single(ctx, 'messageId');
    const messageId = validMessageId(rawMessageId);
    const rawOrigin = single(ctx, 'origin');
    const origin = validOrigin(rawOrigin);
    if (rawMessageId === undefined && version === 1) {
      // Auth 1.0 lets a client that is not a browser page ask for the token as JSON.
      const result = await grantOrUnavailable(ctx, () => grant(ctx, null));
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'application/json';
      if (typeof result === 'string') {
        ctx.status = result === 'missingAspect' ? 401 : 400;
        ctx.body = tokenErrorMessageV1(undefined, result);
      } else {
        ctx.body = tokenMessageV1(undefined, result);
      }
      return;
    }
    if (messageId === undefined) {
      ctx.set('Cache-Control', 'no-store');
      throw new Problem(400, 'invalid-token-request', {
        vi: 'Dịch vụ cấp mã IIIF cần tham số messageId (ngắn, chỉ ký tự in được) và origin của trang xem ảnh.',
        en: 'The IIIF token service needs a messageId parameter (short, printable characters only) and the origin of the viewer page.',
      });
    }
    const result = await grantOrUnavailable(ctx, () => grant(ctx, origin));
    if (typeof result === 'string') {
      postPage(ctx, version === 2 ? tokenErrorMessage(messageId, result) : tokenErrorMessageV1(messageId, result), result === 'invalidOrigin' ? undefined : origin);
    } else {
      postPage(ctx, version === 2 ? tokenMessage(messageId, result) : tokenMessageV1(messageId, result), origin);
    }
  };

  /** Without Redis no token can be kept: the client is told so (503), not given a 500. */
  const grantOrUnavailable = async <T>(ctx: Context, make: () => Promise<T>): Promise<T> => {
    try {
      return await make();
    } catch (err) {
      services.logger.warn({ err: (err as Error).message }, 'IIIF token store unavailable');
      ctx.set('Retry-After', '30');
      throw new Problem(503, 'token-store-unavailable', {
        vi: 'Tạm thời không cấp được mã truy cập; hãy thử lại sau ít phút.',
        en: 'Access tokens cannot be issued just now; try again in a few minutes.',
      });
    }
  };

  router.get(AUTH_PATHS.token, tokenRoute(2));
  router.get(AUTH_PATHS.tokenV1, tokenRoute(1));

  const script = (body: string) => (ctx: Context) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = body;
  };
  router.get(CLOSE_SCRIPT, script(CLOSE_JS));
  router.get(POST_SCRIPT, script(POST_JS));

  return router;
}

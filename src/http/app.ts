import Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import type { Logger } from 'pino';
import { type AuthDeps, authMiddleware } from './auth.ts';
import { cors } from './cors.ts';
import { openApiDocument } from './openapi.ts';
import { ipRangeMatcher } from './ip-ranges.ts';
import { Problem, problemMiddleware, sendProblem } from './problem.ts';
import { publicBase } from './public-base.ts';
import { closeOnUnreadBody, urlLength } from './request-limits.ts';
import { securityHeaders } from './security-headers.ts';
import { collectionRoutes } from './routes/collections.ts';
import { libraryRoutes } from './routes/libraries.ts';
import { fileRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { iiifAuthRoutes } from './routes/iiif-auth.ts';
import { imageRoutes } from './routes/iiif-image.ts';
import { presentationRoutes } from './routes/iiif-presentation.ts';
import { textRoutes } from './routes/iiif-text.ts';
import { ocrRoutes } from './routes/iiif-ocr.ts';
import { provenanceRoutes } from './routes/provenance.ts';
import { exportRoutes } from './routes/exports.ts';
import { auditRoutes } from './routes/audit.ts';
import { objectRoutes } from './routes/objects.ts';
import { oaiRoutes } from './routes/oai.ts';
import { searchRoutes } from './routes/search.ts';
import { siteRoutes } from './routes/site.ts';
import { siteKit } from './site/site-route.ts';
import { staffRoutes } from './staff/routes.ts';
import { statsRoutes } from './routes/stats.ts';
import { jobRoutes } from './routes/jobs.ts';
import { preservationRoutes } from './routes/preservation.ts';
import { userRoutes } from './routes/users.ts';
import type { AppServices } from './services.ts';

/** Every method some route answers (named in the 501 answer). */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * A method no route implements (TRACE, PROPFIND, MKCOL…) is 501 (RFC 9110 §15.6.2), one a
 * path does not take is 405 with Allow (§15.5.6). The router sets the status and Allow;
 * this gives them a problem+json body. Neither is a server fault: nothing to log as one.
 */
async function methodProblems(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.body != null || (ctx.status !== 405 && ctx.status !== 501)) return;
  const allow = ctx.response.get('Allow');
  sendProblem(
    ctx,
    ctx.status === 405
      ? new Problem(405, 'method-not-allowed', {
          vi: `${ctx.path} không nhận phương thức ${ctx.method}; dùng: ${allow}.`,
          en: `${ctx.path} does not take ${ctx.method}; use: ${allow}.`,
        })
      : new Problem(501, 'method-not-implemented', {
          vi: `Máy chủ không hỗ trợ phương thức ${ctx.method}; dùng: ${ALLOWED_METHODS}.`,
          en: `The server does not implement ${ctx.method}; use: ${ALLOWED_METHODS}.`,
        }),
  );
}

/**
 * A client that hangs up before its request body is in (an upload given up, a lost
 * connection) makes the route fail on a stream error: that is the client's doing, not a
 * server fault. Logged as what it is; 499 (nginx's "client closed request") in the access
 * log and metrics; nobody is left to read an answer.
 */
function clientAborts(logger: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
    } catch (err) {
      // The body never arrived in full and the connection is gone. (A route that refuses a body
      // stops reading it too, but its connection is still there for the answer.)
      if (ctx.req.complete || ctx.writable) throw err;
      logger.info({ method: ctx.method, path: ctx.path, reason: err instanceof Error ? err.message : String(err) }, 'client aborted the request');
      ctx.status = 499;
    }
  };
}

/** The users read model's next apply, for the auth middleware (absent where this process runs no users projection). */
function usersApplied(services: AppServices): AuthDeps['usersApplied'] {
  const users = services.projections.find((p) => p.projection.name === 'users');
  if (!users) return undefined;
  return (timeoutMs) => users.waitForPosition((users.appliedPosition() ?? -1n) + 1n, timeoutMs);
}

/**
 * The koa application: cross-cutting middleware once (timing and access log, security
 * headers, problem+json errors, CORS for the IIIF surface, auth), then thin routes.
 */
export function createApp(services: AppServices): Koa {
  const app = new Koa();
  // X-Forwarded-* are believed only when an operator says a proxy sets them (THUKHO_TRUST_PROXY).
  app.proxy = services.config.trustProxy;
  const { logger, metrics } = services;
  // Errors that never reach a route (a client that hangs up mid-body) are the client's
  // business: log them, do not print stack traces to the console.
  app.on('error', (err: Error) => logger.warn({ err: err.message }, 'connection error'));

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.inc('thukho_http_requests_total', 'HTTP requests by route and status', { method: ctx.method, route: String(route), status: String(ctx.status) });
      metrics.inc('thukho_http_request_seconds_sum', 'Total time spent answering HTTP requests', { route: String(route) }, ms / 1000);
      logger.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  });
  // Before the error handler: problem+json answers carry them too.
  app.use(securityHeaders());
  app.use(closeOnUnreadBody());
  app.use(problemMiddleware(logger));
  app.use(clientAborts(logger));
  app.use(urlLength());
  app.use(cors());
  app.use(
    authMiddleware({
      db: services.readDb,
      sessions: services.accounts.sessions,
      secret: services.accounts.cookieSecret,
      logger,
      inReadingRoom: ipRangeMatcher(services.config.readingRoom),
      iiifTokens: services.accounts.iiifTokens,
      homeLibrary: services.config.libraryId,
      usersApplied: usersApplied(services),
    }),
  );
  app.use(methodProblems);

  const root = new Router();
  const kit = siteKit(services);
  root.get('/api/openapi.json', (ctx) => {
    ctx.body = openApiDocument(publicBase(services.config.publicUrl, ctx));
  });
  // The Image API first: tiles are most of the requests, and every router passed on the way
  // costs a cached tile its route matching (no other router has paths under /iiif/3/ that the
  // image routes answer; the presentation routes were already after them).
  const routers = [
    imageRoutes(services),
    root,
    healthRoutes(services),
    objectRoutes(services),
    provenanceRoutes(services),
    exportRoutes(services),
    auditRoutes(services),
    statsRoutes(services),
    preservationRoutes(services),
    jobRoutes(services),
    userRoutes(services),
    fileRoutes(services),
    collectionRoutes(services),
    libraryRoutes(services),
    searchRoutes(services),
    iiifAuthRoutes(services),
    presentationRoutes(services),
    textRoutes(services),
    ocrRoutes(services),
    oaiRoutes(services),
    siteRoutes(services, kit),
    staffRoutes(services, kit),
  ];
  for (const router of routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}

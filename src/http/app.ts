import Router from '@koa/router';
import Koa from 'koa';
import { authMiddleware } from './auth.ts';
import { openApiDocument } from './openapi.ts';
import { problemMiddleware } from './problem.ts';
import { collectionRoutes } from './routes/collections.ts';
import { fileRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { imageRoutes } from './routes/iiif-image.ts';
import { presentationRoutes } from './routes/iiif-presentation.ts';
import { provenanceRoutes } from './routes/provenance.ts';
import { auditRoutes } from './routes/audit.ts';
import { objectRoutes } from './routes/objects.ts';
import { siteRoutes } from './routes/site.ts';
import type { AppServices } from './services.ts';

/**
 * The koa application: cross-cutting middleware once (timing and access log, problem+json
 * errors, CORS for the public read surface, auth), then thin routes.
 */
export function createApp(services: AppServices): Koa {
  const app = new Koa();
  app.proxy = true;
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
  app.use(problemMiddleware(logger));
  app.use(async (ctx, next) => {
    // Reads are public by design (IIIF clients fetch cross-origin); writes need a bearer token, not cookies.
    ctx.set('Access-Control-Allow-Origin', '*');
    if (ctx.method === 'OPTIONS') {
      ctx.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, PATCH, OPTIONS');
      ctx.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match, X-Request-Id');
      ctx.set('Access-Control-Expose-Headers', 'ETag, Location');
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', 'ETag, Location');
    await next();
  });
  app.use(authMiddleware(services.readDb));

  const root = new Router();
  root.get('/api/openapi.json', (ctx) => {
    ctx.body = openApiDocument(services.config.publicUrl ?? `${ctx.protocol}://${ctx.host}`);
  });
  for (const router of [root, healthRoutes(services), objectRoutes(services), provenanceRoutes(services), auditRoutes(services), fileRoutes(services), collectionRoutes(services), imageRoutes(services), presentationRoutes(services), siteRoutes(services)]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  return app;
}

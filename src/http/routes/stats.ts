import Router from '@koa/router';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Id } from '../../domain/metadata.ts';
import { hasStatsTables, STATS_TABLES, StatsPeriod, statsCsv, statsReport } from '../../projections/stats-read-model.ts';
import { canReadStatistics } from '../../domain/access-policy.ts';
import { authOf, requireRole } from '../auth.ts';
import { figuresScope } from '../access.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';
import { reportLibraries } from '../../projections/library-map.ts';

/**
 * GET /api/stats?from=YYYY-MM-DD&to=YYYY-MM-DD[&collection=][&library=][&format=json|csv][&table=]:
 * usage statistics for library staff (they name confidential works). Days are UTC, `to`
 * included. What was recorded before the request is in the answer: the access log's buffer
 * is flushed and the statistics projection waited for (each for a bounded time: a slow log
 * gives a report that may lack the last seconds, never a hung request).
 */
const StatsQuery = z
  .object({
    from: z.string({ error: '"from" là bắt buộc (YYYY-MM-DD) / "from" is required (YYYY-MM-DD)' }),
    to: z.string({ error: '"to" là bắt buộc (YYYY-MM-DD) / "to" is required (YYYY-MM-DD)' }),
    collection: Id.optional(),
    library: Id.optional(),
    format: z.enum(['json', 'csv']).default('json'),
    table: z.enum(STATS_TABLES).default('works'),
  })
  .strict();

const CATCH_UP_MS = 2000;

export function statsRoutes(services: AppServices): Router {
  const router = new Router();
  const runner = services.projections.find((p) => p.projection.name === 'stats');
  router.get('/api/stats', async (ctx) => {
    requireRole(ctx, canReadStatistics, { vi: 'kiểm soát viên (auditor) hoặc quản trị (admin)', en: 'an auditor or an administrator' });
    const query = StatsQuery.parse(ctx.query);
    // A library's staff: their library's figures, whatever (or whoever) they ask for.
    const library = figuresScope(authOf(ctx).viewer, query.library);
    const period = StatsPeriod.parse({ from: query.from, to: query.to });
    if (!runner || !hasStatsTables(services.readDb)) {
      throw new Problem(503, 'stats-not-ready', {
        vi: 'Thống kê sử dụng chưa được xây dựng; hãy thử lại sau.',
        en: 'Usage statistics have not been built yet; try again later.',
      });
    }
    const access = services.access;
    if (access) {
      await Promise.race([access.flush(), sleep(CATCH_UP_MS, undefined, { ref: false })]);
      const written = access.lastPosition();
      if (written !== null) await runner.waitForPosition(written, CATCH_UP_MS);
    }
    const report = statsReport(services.readDb, {
      ...period,
      collectionId: query.collection,
      libraryId: library,
      libraries: reportLibraries(services.readDb, services.config),
    });
    ctx.set('Cache-Control', 'no-store');
    if (query.format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      const name = `thukho-stats-${query.table}-${period.from}-${period.to}${library ? `-${library}` : ''}${query.collection ? `-${query.collection}` : ''}.csv`;
      ctx.set('Content-Disposition', `attachment; filename="${name}"`);
      ctx.body = statsCsv(report, query.table);
    } else {
      ctx.body = report;
    }
  });
  return router;
}

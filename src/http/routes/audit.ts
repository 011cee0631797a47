import Router from '@koa/router';
import { z } from 'zod';
import { fixityAuditReport } from '../../application/audit-report.ts';
import { AuditPeriod, auditReportCsv, hasFixityTables } from '../../projections/fixity-read-model.ts';
import { authOf, requireStaff } from '../auth.ts';
import { figuresScope } from '../access.ts';
import { Id } from '../../domain/metadata.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';

/**
 * GET /api/audit/report?from=&to=&format=json|csv — the fixity audit report for staff (see
 * auditReport in the fixity read model). Dates are days (YYYY-MM-DD, in the server's time
 * zone, `to` included) or ISO 8601 date-times. `library=`: only the works that library holds;
 * a library's staff always get their library's (see figuresScope).
 */
const ReportQuery = z.object({ from: z.string(), to: z.string(), library: Id.optional(), format: z.enum(['json', 'csv']).default('json') });

export function auditRoutes(services: AppServices): Router {
  const router = new Router();
  router.get('/api/audit/report', async (ctx) => {
    requireStaff(ctx);
    const query = ReportQuery.parse(ctx.query);
    const library = figuresScope(authOf(ctx).viewer, query.library);
    const period = AuditPeriod.parse({ from: query.from, to: query.to });
    if (!hasFixityTables(services.readDb)) {
      throw new Problem(503, 'fixity-not-ready', {
        vi: 'Mô hình đọc kiểm tra tính toàn vẹn chưa được xây dựng; hãy thử lại sau.',
        en: 'The fixity read model has not been built yet; try again later.',
      });
    }
    const report = await fixityAuditReport(services.readDb, services.store, services.config, period, library);
    ctx.set('Cache-Control', 'no-store');
    if (query.format === 'csv') {
      ctx.type = 'text/csv; charset=utf-8';
      const name = `fixity-audit-${query.from.slice(0, 10)}-${query.to.slice(0, 10)}${library ? `-${library}` : ''}.csv`.replace(/[^A-Za-z0-9._-]/g, '_');
      ctx.set('Content-Disposition', `attachment; filename="${name}"`);
      ctx.body = auditReportCsv(report);
    } else {
      ctx.body = { ...report, libraryId: library ?? null };
    }
  });
  return router;
}

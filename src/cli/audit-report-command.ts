import { Command, Option } from 'commander';
import { ZodError } from 'zod';
import { loadCliConfig } from './cli-config.ts';
import { requireRepository, withCaughtUpReadModels } from './repository.ts';
import { fixityAuditReport } from '../application/audit-report.ts';
import { Id } from '../domain/metadata.ts';
import { AuditPeriod, auditReportCsv, fixityReadModel } from '../projections/fixity-read-model.ts';
import { objectReadModel } from '../projections/object-read-model.ts';

/**
 * `thukho audit-report --from DATE --to DATE [--library ID] [--format csv|json]`: per collection and per library, what fixity
 * checking did in a period (see auditReport). The fixity read model is brought up to the end
 * of the log first, so that the report is complete whether or not a server is running.
 */

export function auditReportCommand(): Command {
  return new Command('audit-report')
    .description('Báo cáo kiểm tra tính toàn vẹn theo bộ sưu tập và thư viện / fixity audit report per collection and library')
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD) or an ISO 8601 date-time')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD, included) or an ISO 8601 date-time')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('--library <id>', 'only the works this library holds (as held now)')
    .addOption(new Option('--by <rows>', 'CSV rows per collection or per library (JSON has both)').choices(['collection', 'library']).default('collection'))
    .action(async (opts: { from: string; to: string; library?: string; format: 'csv' | 'json'; by: 'collection' | 'library' }) => {
      let period: { from: Date; to: Date };
      let libraryId: string | undefined;
      try {
        period = AuditPeriod.parse({ from: opts.from, to: opts.to });
        libraryId = opts.library === undefined ? undefined : Id.parse(opts.library);
      } catch (err) {
        const issues = err instanceof ZodError ? err.issues.map((i) => i.message).join('; ') : (err as Error).message;
        process.stderr.write(`thukho audit-report: ${issues}\n`);
        process.exitCode = 2;
        return;
      }
      const config = loadCliConfig();
      await requireRepository(config, 'audit-report');
      // The object read model too: it says which library holds each collection.
      await withCaughtUpReadModels(config, [fixityReadModel, objectReadModel], async (db, store) => {
        const report = await fixityAuditReport(db, store, config, period, libraryId);
        process.stdout.write(opts.format === 'json' ? `${JSON.stringify({ ...report, libraryId: libraryId ?? null }, null, 2)}\n` : auditReportCsv(report, opts.by));
      });
    });
}

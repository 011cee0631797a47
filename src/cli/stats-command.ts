import { Command, Option } from 'commander';
import { ZodError } from 'zod';
import { Id } from '../domain/metadata.ts';
import { objectReadModel } from '../projections/object-read-model.ts';
import { STATS_TABLES, type StatsTable, StatsPeriod, statsCsv, statsReport, statsReadModel } from '../projections/stats-read-model.ts';
import { loadCliConfig } from './cli-config.ts';
import { reportLibraries } from '../projections/library-map.ts';
import { requireRepository, withCaughtUpReadModels } from './repository.ts';

/**
 * `thukho stats --from DAY --to DAY [--collection ID] [--library ID] [--format csv|json] [--table …]`: usage
 * statistics for the province's periodic reports (see statsReport). The statistics and the
 * object read model (for titles) are brought up to the end of the log first, so that the
 * report is complete whether or not a server is running. Access events a running server
 * still holds in memory (at most 5 s worth by default) are not in the log yet.
 */
export function statsCommand(): Command {
  return new Command('stats')
    .description('Thống kê sử dụng (xem, tải, tìm kiếm) / usage statistics: views, downloads, searches')
    .requiredOption('--from <day>', 'first day, YYYY-MM-DD (UTC)')
    .requiredOption('--to <day>', 'last day, YYYY-MM-DD (UTC, included)')
    .option('--collection <id>', 'only works that were in this collection when used')
    .option('--library <id>', "only works of this library's collections (as held now)")
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .addOption(new Option('--table <table>', 'which table the CSV holds (JSON has them all)').choices([...STATS_TABLES]).default('works'))
    .action(async (opts: { from: string; to: string; collection?: string; library?: string; format: 'csv' | 'json'; table: StatsTable }) => {
      let period: StatsPeriod;
      let collectionId: string | undefined;
      let libraryId: string | undefined;
      try {
        period = StatsPeriod.parse({ from: opts.from, to: opts.to });
        collectionId = opts.collection === undefined ? undefined : Id.parse(opts.collection);
        libraryId = opts.library === undefined ? undefined : Id.parse(opts.library);
      } catch (err) {
        const issues = err instanceof ZodError ? err.issues.map((i) => i.message).join('; ') : (err as Error).message;
        process.stderr.write(`thukho stats: ${issues}\n`);
        process.exitCode = 2;
        return;
      }
      const config = loadCliConfig();
      await requireRepository(config, 'stats');
      await withCaughtUpReadModels(config, [statsReadModel, objectReadModel], (db) => {
        const report = statsReport(db, { ...period, collectionId, libraryId, libraries: reportLibraries(db, config) });
        process.stdout.write(opts.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : statsCsv(report, opts.table));
      });
    });
}

import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { importSaf } from '../application/saf-import.ts';
import { CLI_ACTOR } from './cli-config.ts';
import { progress } from './progress.ts';
import { parseCollection, runImport } from './run-import.ts';

/**
 * `thukho import-saf DIR [--collection ID] [--dry-run] [--json]`: a DSpace Simple Archive
 * Format export becomes works (src/application/saf-import.ts). Exit 0 when every item is in,
 * 1 when an item was refused or something was not applied, 2 when the run could not start.
 */

export function importSafCommand(): Command {
  return new Command('import-saf')
    .description('Nhập bản xuất DSpace (Simple Archive Format) / import a DSpace Simple Archive Format export')
    .argument('<dir>', 'the export folder: one folder per item, each with dublin_core.xml and contents')
    .option('--collection <id>', 'the collection the new works belong to', parseCollection)
    .option('--dry-run', 'check everything, write nothing')
    .option('--json', 'print the summary as JSON (works created, changed, unchanged, refused; files; bytes)')
    .action(async (dir: string, opts: { collection?: string; dryRun?: boolean; json?: boolean }) => {
      if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
        process.stderr.write(`thukho import-saf: "${dir}" không phải thư mục / is not a folder\n`);
        process.exitCode = 2;
        return;
      }
      await runImport('import-saf', { dryRun: opts.dryRun === true, json: opts.json === true }, (ingest) =>
        importSaf(ingest, {
          dir,
          ...(opts.collection ? { collectionId: opts.collection } : {}),
          dryRun: opts.dryRun === true,
          actor: CLI_ACTOR,
          progress,
        }),
      );
    });
}

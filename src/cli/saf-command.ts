import { stat } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { closeIngest, openIngest } from '../application/open-ingest.ts';
import { reconcileIngests } from '../application/reconcile.ts';
import { importSaf } from '../application/saf-import.ts';
import { ID_PATTERN } from '../domain/metadata.ts';
import { openEventStore } from '../eventstore/open.ts';
import { SealRefusedError, sealNow } from '../eventstore/seal.ts';
import { createLogger } from '../logger.ts';
import { type BulkIngestSummary, formatSummary, hasProblems } from './bulk-ingest.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';

/**
 * `thukho import-saf DIR [--collection ID] [--dry-run] [--json]`: a DSpace Simple Archive
 * Format export becomes works (src/application/saf-import.ts). Exit 0 when every item is in,
 * 1 when an item was refused or something was not applied, 2 when the run could not start.
 */
const parseCollection = (value: string): string => {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError('collection id: lowercase letters, digits, "-" or "_"');
  return value;
};

/** The bulk-ingest report, with works a re-run found as they were said to be "already here". */
export function formatSafSummary(summary: BulkIngestSummary): string {
  const text = formatSummary(summary).replace(/^Không đổi \/ unchanged \((\d+)\):$/m, 'Đã có trong kho, không đổi / already here, unchanged ($1):');
  const nothing = !summary.dryRun && summary.works.length > 0 && summary.works.every((w) => w.outcome === 'unchanged');
  return nothing ? `Không có gì thay đổi: mọi mục đã có trong kho / nothing changed: every item is already here\n${text}` : text;
}

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
      const cfg = loadCliConfig();
      const logger = createLogger(cfg.logLevel);
      const store = await openEventStore(cfg.eventStore);
      const ingest = await openIngest(cfg, store);
      try {
        // A run stopped mid-commit left an intent in the journal: finish or discard it first.
        const reconciled = await reconcileIngests(ingest, logger);
        if (reconciled.completed || reconciled.discarded) logger.warn({ ...reconciled }, 'reconciled interrupted ingests');
        const summary = await importSaf(ingest, {
          dir,
          ...(opts.collection ? { collectionId: opts.collection } : {}),
          dryRun: opts.dryRun === true,
          actor: CLI_ACTOR,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSafSummary(summary));
        process.exitCode = hasProblems(summary) ? 1 : 0;
        if (!opts.dryRun && summary.files.ingested > 0) {
          // As after a bulk ingest: a lot of history at once is sealed now rather than within the hour.
          const sealed = await sealNow(store, cfg.replicas, CLI_ACTOR);
          if (sealed.status === 'sealed') process.stderr.write(`niêm phong / sealed: ${sealed.seal.merkleRoot} @ ${sealed.seal.position}\n`);
        }
      } catch (err) {
        process.stderr.write(`thukho import-saf: ${(err as Error).message}\n`);
        process.exitCode = err instanceof SealRefusedError ? 1 : 2;
      } finally {
        await closeIngest(ingest);
        await store.close();
      }
    });
}

import { InvalidArgumentError } from 'commander';
import type { BulkIngestSummary } from '../application/import-report.ts';
import type { IngestServices } from '../application/ingest.ts';
import { closeIngest, openIngest } from '../application/open-ingest.ts';
import { reconcileIngests } from '../application/reconcile.ts';
import { ID_PATTERN } from '../domain/metadata.ts';
import { openEventStore } from '../eventstore/open.ts';
import { SealRefusedError, sealNow } from '../eventstore/seal.ts';
import { createLogger } from '../logger.ts';
import { hasProblems } from './bulk-ingest.ts';
import { CLI_ACTOR, loadCliConfig } from './cli-config.ts';
import { formatImportSummary } from './import-summary.ts';

/**
 * What every `thukho import-…` command does around its importer: open the event store and
 * ingest services, finish or discard a commit an earlier run left in the journal, run the
 * import, print its summary, seal the new history, and close everything whatever happened.
 * Exit 0 when every work is in, 1 when one was refused or a value not applied (or sealing was
 * refused), 2 when the run could not start.
 */
export async function runImport(
  command: string,
  opts: { dryRun: boolean; json: boolean },
  run: (ingest: IngestServices) => Promise<BulkIngestSummary>,
): Promise<void> {
  const cfg = loadCliConfig();
  const logger = createLogger(cfg.logLevel);
  const store = await openEventStore(cfg.eventStore);
  const ingest = await openIngest(cfg, store);
  try {
    // A run stopped mid-commit left an intent in the journal: finish or discard it first.
    const reconciled = await reconcileIngests(ingest, logger);
    if (reconciled.completed || reconciled.discarded) logger.warn({ ...reconciled }, 'reconciled interrupted ingests');
    const summary = await run(ingest);
    process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : formatImportSummary(summary));
    process.exitCode = hasProblems(summary) ? 1 : 0;
    if (!opts.dryRun && summary.files.ingested > 0) {
      // As after a bulk ingest: a lot of history at once is sealed now rather than within the hour.
      const sealed = await sealNow(store, cfg.replicas, CLI_ACTOR);
      if (sealed.status === 'sealed') process.stderr.write(`niêm phong / sealed: ${sealed.seal.merkleRoot} @ ${sealed.seal.position}\n`);
    }
  } catch (err) {
    process.stderr.write(`thukho ${command}: ${(err as Error).message}\n`);
    process.exitCode = err instanceof SealRefusedError ? 1 : 2;
  } finally {
    await closeIngest(ingest);
    await store.close();
  }
}

/** `--collection <id>` of an import command. */
export const parseCollection = (value: string): string => {
  if (!ID_PATTERN.test(value)) throw new InvalidArgumentError('collection id: lowercase letters, digits, "-" or "_"');
  return value;
};

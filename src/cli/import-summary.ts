import type { BulkIngestSummary } from '../application/import-report.ts';
import { formatSummary } from './bulk-ingest.ts';

/**
 * The end-of-run report of an import from another system (import-saf, import-iiif): the
 * bulk-ingest report, with the works a re-run found as they were said to be "already here",
 * and a run that changed nothing saying so first.
 */
export function formatImportSummary(summary: BulkIngestSummary): string {
  const text = formatSummary(summary).replace(/^Không đổi \/ unchanged \((\d+)\):$/m, 'Đã có trong kho, không đổi / already here, unchanged ($1):');
  const nothing = !summary.dryRun && summary.works.length > 0 && summary.works.every((w) => w.outcome === 'unchanged');
  return nothing ? `Không có gì thay đổi: mọi mục đã có trong kho / nothing changed: every item is already here\n${text}` : text;
}

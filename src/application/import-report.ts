import type { Bilingual } from '../domain/errors.ts';
import { RevisionConflictError } from './command-handler.ts';
import type { IngestOutcome } from './ingest.ts';

/**
 * The report every import run makes (`thukho ingest`, `import-saf`, `import-iiif`): what it did
 * to each work, and the totals. Application code, not CLI: the importers build it, the CLI only
 * prints it (src/cli/import-summary.ts).
 */

export interface Rejection {
  folder: string;
  file?: string;
  reason: string;
}

export type WorkOutcome = 'created' | 'changed' | 'unchanged' | 'refused';

/** What one run did to one work (in a dry run: what it would do). */
export interface WorkReport {
  folder: string;
  objectId?: string;
  title?: string;
  outcome: WorkOutcome;
  /** Fields this run changed on an existing work: metadata fields, `accessLevel`, `pageLabels`. */
  changed: string[];
  files: { ingested: number; skipped: number; duplicates: number; rejected: number };
  /** What the sheet asks for that was not done, and why (the work may still be created or changed). */
  notApplied: Array<{ field: string; reason: string }>;
  /** Why nothing was done to the work (outcome `refused`). */
  reason?: string;
  withdrawn?: true;
}

export interface BulkIngestSummary {
  dryRun: boolean;
  objects: { registered: number; existing: number; total: number };
  files: { ingested: number; skipped: number; duplicates: number; total: number };
  bytes: { ingested: number; total: number };
  /** Folders refused and files rejected, each with its reason. */
  rejected: Rejection[];
  works: WorkReport[];
  seconds: number;
}

/**
 * Where a long import says how far it is: the CLI passes its progress line (src/cli/progress.ts),
 * which this shape matches; without one a run is silent.
 */
export interface ImportProgress {
  update(done: number, total?: number, detail?: string): void;
  finish(message: string): void;
}
export type ImportProgressFactory = (label: string, unit: string) => ImportProgress;
export const silentProgress: ImportProgressFactory = () => ({ update() {}, finish() {} });

/** A run's summary before anything is done: what it will try, from the plan. */
export function startingSummary(
  planned: ReadonlyArray<{ files: ReadonlyArray<{ size: number }> }>,
  dryRun: boolean,
  rejected: Rejection[],
  works: WorkReport[],
): BulkIngestSummary {
  return {
    dryRun,
    objects: { registered: 0, existing: 0, total: planned.length },
    files: { ingested: 0, skipped: 0, duplicates: 0, total: planned.reduce((n, o) => n + o.files.length, 0) },
    bytes: { ingested: 0, total: planned.reduce((n, o) => n + o.files.reduce((m, f) => m + f.size, 0), 0) },
    rejected,
    works,
    seconds: 0,
  };
}

export const emptyFiles = (): WorkReport['files'] => ({ ingested: 0, skipped: 0, duplicates: 0, rejected: 0 });

/** A work refused before anything was done to it: said in the work list and among the rejections. */
export function refuseWork(
  rejected: Rejection[],
  works: WorkReport[],
  refused: { folder: string; reason: string; objectId?: string | undefined; title?: string | undefined },
): void {
  const { folder, reason, objectId, title } = refused;
  rejected.push({ folder, reason });
  works.push({ folder, ...(objectId ? { objectId } : {}), ...(title ? { title } : {}), outcome: 'refused', changed: [], files: emptyFiles(), notApplied: [], reason });
}

/**
 * A commit's outcomes counted into the run and the work: a file new to the work is ingested
 * (with its size, `sizes` in the same order), one whose content the work already held is a duplicate.
 */
export function countCommitted(summary: BulkIngestSummary, report: WorkReport, outcomes: readonly IngestOutcome[], sizes: readonly number[]): void {
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'created') {
      summary.files.ingested++;
      report.files.ingested++;
      summary.bytes.ingested += sizes[i] ?? 0;
    } else {
      summary.files.duplicates++;
      report.files.duplicates++;
    }
  });
}

/** A bilingual message as one line of a report. */
export const both = (m: Bilingual): string => `${m.vi} / ${m.en}`;

/** An error as one line for people: both languages when it carries them. */
export function reasonOf(err: unknown): string {
  if (err instanceof RevisionConflictError) {
    const who = err.winner ? ` (${err.winner.actor.id}, ${err.winner.occurredAt})` : '';
    return `tài liệu vừa được người khác sửa${who}, không ghi đè; hãy chạy lại / someone else changed the work meanwhile${who}; not overwritten, run again`;
  }
  const messages = (err as { messages?: { vi?: unknown; en?: unknown } }).messages;
  if (messages && typeof messages.vi === 'string' && typeof messages.en === 'string') return `${messages.vi} / ${messages.en}`;
  return err instanceof Error ? err.message : String(err);
}

import type { Config } from '../config.ts';
import { latestSeal } from '../eventstore/seal.ts';
import type { EventStore } from '../eventstore/port.ts';
import { auditReport, withLibraryRows } from '../projections/fixity-read-model.ts';
import { reportLibraries } from '../projections/library-map.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';

/**
 * The fixity audit report of a period, as `GET /api/audit/report` and `thukho audit-report`
 * give it: rows per collection and per library, the newest seal, and with `libraryId` only
 * the works that library holds now.
 */
export async function fixityAuditReport(
  db: ReadModelDb,
  store: EventStore,
  config: Pick<Config, 'libraryId' | 'institution' | 'fixity'>,
  period: { from: Date; to: Date },
  libraryId?: string,
) {
  const figures = auditReport(db, {
    ...period,
    cycleDays: config.fixity.cycleDays,
    collectionCycleDays: config.fixity.collectionCycleDays,
    heldBy: libraryId === undefined ? undefined : { libraryId, home: config.libraryId },
  });
  return { ...withLibraryRows(figures, reportLibraries(db, config)), seal: await latestSeal(store) };
}

import { DomainError } from './errors.ts';
import type { DerivativeInfo, ObjectHistoryEvent, PreservationEvent } from './events.ts';
import { pageImageId } from './page-image.ts';

/**
 * Machine facts about a work (derivatives, fixity checks, replication, repair, damage) go on
 * its own `preservation-<id>` stream. Recording one reads that stream's head and appends:
 * nothing a person decides depends on them, so there is no state to decide from, and a
 * work checked every day for decades costs the same to record as a new one.
 */

/** The one rule a fact must keep: it is about the work whose stream it goes on. */
export function preservationFact<E extends PreservationEvent>(objectId: string, event: E): E {
  if (event.data.objectId !== objectId) {
    throw new DomainError(
      'invalid-input',
      {
        vi: `Sự kiện bảo quản ${event.type} nói về tài liệu "${event.data.objectId}", không phải "${objectId}".`,
        en: `The preservation event ${event.type} is about object "${event.data.objectId}", not "${objectId}".`,
      },
      { objectId, about: event.data.objectId },
    );
  }
  return event;
}

/**
 * What later work needs to know of a work's machine facts: the latest derivative (or why it
 * failed) of each page image, keyed by its image id (the file id for page 1, see
 * page-image.ts), and the highest OCFL version each replica holds. Folded from either
 * stream, so that facts written on `object-<id>` by older versions count too.
 */
export interface PreservationSummary {
  derivatives: Record<string, DerivativeInfo>;
  derivativeFailures: Record<string, { reason: string; attempts: number }>;
  /** Replica label → highest OCFL version number copied and verified there. */
  replicated: Record<string, number>;
}

export const initialPreservationSummary: PreservationSummary = { derivatives: {}, derivativeFailures: {}, replicated: {} };

const versionNumber = (v: string) => Number(/^v(\d+)$/.exec(v)?.[1] ?? 0);

export function evolvePreservationSummary(summary: PreservationSummary, event: ObjectHistoryEvent): PreservationSummary {
  switch (event.type) {
    case 'DerivativeCreated': {
      const { objectId: _o, fileId, ...info } = event.data;
      const key = pageImageId(fileId, info.page ?? 1);
      const { [key]: _failure, ...derivativeFailures } = summary.derivativeFailures;
      return { ...summary, derivatives: { ...summary.derivatives, [key]: info }, derivativeFailures };
    }
    case 'DerivativeFailed': {
      const { fileId, page, reason, attempts } = event.data;
      return { ...summary, derivativeFailures: { ...summary.derivativeFailures, [pageImageId(fileId, page ?? 1)]: { reason, attempts } } };
    }
    case 'FileReplicated': {
      const { label } = event.data.replica;
      const n = versionNumber(event.data.version);
      if (n <= (summary.replicated[label] ?? 0)) return summary;
      return { ...summary, replicated: { ...summary.replicated, [label]: n } };
    }
    default:
      return summary;
  }
}

/** Facts written on the object stream by older versions, followed by the preservation stream's. */
export function combineSummaries(older: PreservationSummary, newer: PreservationSummary): PreservationSummary {
  const replicated = { ...older.replicated };
  for (const [label, n] of Object.entries(newer.replicated)) replicated[label] = Math.max(n, replicated[label] ?? 0);
  const derivativeFailures = { ...older.derivativeFailures, ...newer.derivativeFailures };
  for (const fileId of Object.keys(newer.derivatives)) delete derivativeFailures[fileId];
  return { derivatives: { ...older.derivatives, ...newer.derivatives }, derivativeFailures, replicated };
}

import { holdingLibrary, isStaff, rightsFor, scopedLibrary, type Viewer } from '../domain/access-policy.ts';
import { fileStatuses, fixityStates, type ObjectView, workScope } from '../projections/object-read-model.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';
import { QUEUES } from '../queue/queues.ts';
import type { AppServices } from './services.ts';

/**
 * What staff see of a work beyond its record: each file's ingest status and the work's
 * fixity in one word. One place, so that the API and the staff screens never disagree.
 */

/** The clock and cycle a fixity state is judged by (overdue = not verified within a cycle). */
export function fixityClock(services: Pick<AppServices, 'config'>): { nowMs: number; cycleMs: number } {
  return { nowMs: Date.now(), cycleMs: services.config.fixity.cycleDays * 86_400_000 };
}

/** Whether `viewer` is staff for this work (a library's staff: of its holding library only). */
export function staffFor(db: ReadModelDb, viewer: Viewer, objectId: string): boolean {
  if (!isStaff(viewer)) return false;
  if (scopedLibrary(viewer) === undefined) return true;
  return isStaff(rightsFor(viewer, holdingLibrary(viewer, workScope(db, objectId)?.libraryId)));
}

export function staffObjectView(services: Pick<AppServices, 'config' | 'readDb'>, viewer: Viewer, view: ObjectView) {
  if (!staffFor(services.readDb, viewer, view.id)) return view;
  const { config, readDb } = services;
  const statuses = fileStatuses(readDb, view, { ocr: config.ocr.enabled, replicas: config.replicas.length, ocrQueue: QUEUES.ocr });
  const fixity = fixityStates(readDb, [view.id], fixityClock(services)).get(view.id);
  return { ...view, files: view.files.map((f) => ({ ...f, status: statuses.get(f.fileId) })), fixity };
}

/** List items with their fixity state, for staff (others get the items as they are). */
export function withFixity<T extends { id: string }>(services: Pick<AppServices, 'config' | 'readDb'>, viewer: Viewer, items: readonly T[], clock = fixityClock(services)): Array<T & { fixity?: string }> {
  if (!isStaff(viewer)) return [...items];
  const mine = items.filter((o) => staffFor(services.readDb, viewer, o.id));
  const states = fixityStates(services.readDb, mine.map((o) => o.id), clock);
  return items.map((o) => (states.has(o.id) ? { ...o, fixity: states.get(o.id) } : { ...o }));
}

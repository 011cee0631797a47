import { holdingLibrary as holdingOf, isStaff, rightsFor, scopedLibrary, type Viewer } from '../domain/access-policy.ts';
import { fileStatuses, fixityStates, getLibrary, holdingLibraryOf, type LibraryName, type ObjectView, workScope } from '../projections/object-read-model.ts';
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
  return isStaff(rightsFor(viewer, holdingOf(viewer, workScope(db, objectId)?.libraryId)));
}

/** The library holding a work, as its record shows it (the home library named by THUKHO_INSTITUTION unless registered). */
export interface HoldingLibrary {
  id: string;
  name: LibraryName;
  code?: string;
  home: boolean;
  /** The library record's revision (-1: the home library without a record): part of the record's ETag. */
  revision: number;
}

export function holdingLibrary(services: Pick<AppServices, 'config' | 'readDb'>, objectId: string): HoldingLibrary {
  const { config, readDb } = services;
  const id = holdingLibraryOf(readDb, config.libraryId)(objectId);
  const library = getLibrary(readDb, id, { id: config.libraryId, name: config.institution });
  return {
    id,
    name: library?.name ?? { vi: id },
    ...(library?.code ? { code: library.code } : {}),
    home: id === config.libraryId,
    revision: library?.revision ?? -1,
  };
}

/** A work's record with its holding library (`library`: id, name, code). */
export function withHoldingLibrary<T extends { id: string }>(services: Pick<AppServices, 'config' | 'readDb'>, view: T): T & { library: Omit<HoldingLibrary, 'revision'> } {
  const { revision: _revision, ...library } = holdingLibrary(services, view.id);
  return { ...view, library };
}

export function staffObjectView(services: Pick<AppServices, 'config' | 'readDb'>, viewer: Viewer, plain: ObjectView) {
  const view = withHoldingLibrary(services, plain);
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

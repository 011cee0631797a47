import { canReadRestricted, isStaff, rightsFor, scopedLibrary, type Viewer } from './access-policy.ts';
import { ACCESS_LEVELS, type AccessLevel } from './metadata.ts';

/**
 * The one access decision, asked by every surface (API, site, search, manifests, collections,
 * tiles, info.json, thumbnails, downloads, page text, OCR files, Content Search).
 *
 * - `open`: anyone.
 * - `restricted`: the catalogue record is public and findable; the content (images, files,
 *   page text, downloads) is for signed-in readers and the reading room's IP ranges.
 * - `confidential`: staff only; for everyone else it does not exist, record included.
 * - A withdrawn work is gone for everyone but staff, who keep seeing all of it.
 *
 * Whether the viewer may read restricted material is `canReadRestricted`, whether staff `isStaff`:
 * the role list itself is the accounts' business, not this decision's. Whose staff they are is
 * `rightsFor`'s: a library's staff are readers for another library's works.
 */

/** Which part of a work is asked for: its catalogue record, or what it holds. */
export type AccessSubject = 'record' | 'content';
export const ACCESS_SUBJECTS = ['record', 'content'] as const satisfies readonly AccessSubject[];

export type WorkStatus = 'active' | 'withdrawn';
export const WORK_STATUSES = ['active', 'withdrawn'] as const satisfies readonly WorkStatus[];

/**
 * Why not: `absent` (answer as if nothing were there, 404: never reveal that it exists),
 * `sign-in` (signing in or coming to the reading room would allow it, 401), `gone` (withdrawn, 410).
 */
export type AccessRefusal = 'absent' | 'sign-in' | 'gone';

export interface AccessAllowed {
  outcome: 'allow';
  /**
   * A shared cache may keep the answer: open, active material only. Anything else depends on
   * who asks, and must not outlive a policy change in a cache that serves others.
   */
  publicCache: boolean;
  /** The viewer may take the original files away (and so be offered them). */
  download: boolean;
}

export type AccessDecision = AccessAllowed | { outcome: AccessRefusal };

/**
 * No library's id (ids are never empty): what a list may show of works held by a library that
 * is not the viewer's, and what anonymous surfaces (OAI-PMH, sitemaps) decide, where the
 * holding library changes nothing.
 */
export const ANOTHER_LIBRARY = '';

/** `holdingLibrary`: the library that holds the work (see holdingLibraryOf in the read model). */
export function decideAccess(level: AccessLevel, status: WorkStatus, asking: Viewer, what: AccessSubject, holdingLibrary: string): AccessDecision {
  const viewer = rightsFor(asking, holdingLibrary);
  const staff = isStaff(viewer);
  if (level === 'confidential' && !staff) return { outcome: 'absent' };
  if (status === 'withdrawn' && !staff) return { outcome: 'gone' };
  const readsContent = level !== 'restricted' || canReadRestricted(viewer) || viewer.inReadingRoom === true;
  if (what === 'content' && !readsContent) return { outcome: 'sign-in' };
  return { outcome: 'allow', publicCache: level === 'open' && status === 'active', download: readsContent };
}

export function isAllowed(decision: AccessDecision): decision is AccessAllowed {
  return decision.outcome === 'allow';
}

/**
 * The levels at which `what` of an active work held by `holdingLibrary` is allowed to `viewer`:
 * for filtering lists in one query. Without a library: the works of any library not the
 * viewer's own (for an account without a library, every work).
 */
export function allowedLevels(viewer: Viewer, what: AccessSubject, holdingLibrary: string = ANOTHER_LIBRARY): AccessLevel[] {
  return ACCESS_LEVELS.filter((level) => isAllowed(decideAccess(level, 'active', viewer, what, holdingLibrary)));
}

/** Whether a list may show `viewer` withdrawn works (at the levels they are allowed) held by `holdingLibrary`. */
export function seesWithdrawn(viewer: Viewer, holdingLibrary: string = ANOTHER_LIBRARY): boolean {
  return isAllowed(decideAccess('open', 'withdrawn', viewer, 'record', holdingLibrary));
}

export interface LevelScope {
  levels: AccessLevel[];
  withdrawn: boolean;
}

/**
 * What a list may show `viewer`, for one query: the levels (and whether withdrawn works) of
 * any library's works, and for a library's staff, those of their own library's works apart
 * (`own`). Lists filter `(library is own AND level IN own.levels) OR level IN levels`.
 */
export interface ListScope extends LevelScope {
  own?: LevelScope & { library: string };
}

export function listScope(viewer: Viewer, what: AccessSubject): ListScope {
  const elsewhere: LevelScope = { levels: allowedLevels(viewer, what), withdrawn: seesWithdrawn(viewer) };
  const library = scopedLibrary(viewer);
  if (library === undefined) return elsewhere;
  return { ...elsewhere, own: { library, levels: allowedLevels(viewer, what, library), withdrawn: seesWithdrawn(viewer, library) } };
}

const OUTSIDER: Viewer = { role: 'public' };

/**
 * Whether every decision for `viewer` is the one an anonymous visitor outside the reading
 * room gets: only then may a list made for them (which can show any level's records and
 * thumbnails) be kept by a shared cache, since a cache cannot tell who asks from where.
 */
export function decidedLikeEveryone(viewer: Viewer): boolean {
  return ACCESS_LEVELS.every((level) =>
    WORK_STATUSES.every((status) =>
      ACCESS_SUBJECTS.every((what) => {
        // A library's staff differ from everyone at their own library's works already.
        const a = decideAccess(level, status, viewer, what, viewer.library ?? ANOTHER_LIBRARY);
        const b = decideAccess(level, status, OUTSIDER, what, ANOTHER_LIBRARY);
        return a.outcome === b.outcome && (!isAllowed(a) || !isAllowed(b) || (a.publicCache === b.publicCache && a.download === b.download));
      }),
    ),
  );
}

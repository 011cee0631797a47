import { canReadRestricted, isStaff, type Viewer } from './access-policy.ts';
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
 * the role list itself is the accounts' business, not this decision's.
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

export function decideAccess(level: AccessLevel, status: WorkStatus, viewer: Viewer, what: AccessSubject): AccessDecision {
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

/** The levels at which `what` of an active work is allowed to `viewer`: for filtering lists in one query. */
export function allowedLevels(viewer: Viewer, what: AccessSubject): AccessLevel[] {
  return ACCESS_LEVELS.filter((level) => isAllowed(decideAccess(level, 'active', viewer, what)));
}

/** Whether a list may show `viewer` withdrawn works (at the levels they are allowed). */
export function seesWithdrawn(viewer: Viewer): boolean {
  return isAllowed(decideAccess('open', 'withdrawn', viewer, 'record'));
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
        const a = decideAccess(level, status, viewer, what);
        const b = decideAccess(level, status, OUTSIDER, what);
        return a.outcome === b.outcome && (!isAllowed(a) || !isAllowed(b) || (a.publicCache === b.publicCache && a.download === b.download));
      }),
    ),
  );
}

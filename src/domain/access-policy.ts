import type { AccessLevel } from './metadata.ts';

/**
 * The one access check, used by every surface (API, search, manifests, tiles, OAI-PMH,
 * exports). `confidential` objects are invisible to non-staff: not even their metadata.
 */
export const ROLES = ['public', 'reader', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Viewer {
  role: Role;
  /** True when the request comes from the reading room's IP ranges. */
  inReadingRoom?: boolean;
}

export function canSee(level: AccessLevel, viewer: Viewer): boolean {
  switch (level) {
    case 'open':
      return true;
    case 'restricted':
      return viewer.role !== 'public' || viewer.inReadingRoom === true;
    case 'confidential':
      return isStaff(viewer);
  }
}

/** Levels a viewer may see, for filtering lists and search in one query. */
export function visibleLevels(viewer: Viewer): AccessLevel[] {
  return (['open', 'restricted', 'confidential'] as const).filter((l) => canSee(l, viewer));
}

/** Library staff: may edit, and may see confidential material. */
export function isStaff(viewer: Viewer): boolean {
  return viewer.role === 'staff' || viewer.role === 'admin';
}

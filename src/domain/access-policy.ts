/**
 * Who is asking, as the access decision (access-decision.ts) sees them: a role, and whether
 * the request comes from the reading room.
 */
export const ROLES = ['public', 'reader', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Viewer {
  role: Role;
  /** True when the request comes from the reading room's IP ranges. */
  inReadingRoom?: boolean;
}

/** Library staff: may edit, and may see confidential material. */
export function isStaff(viewer: Viewer): boolean {
  return viewer.role === 'staff' || viewer.role === 'admin';
}

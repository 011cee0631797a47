/**
 * Who is asking, as the access decision (access-decision.ts) sees them: a role, and whether
 * the request comes from the reading room.
 *
 * Roles: `public` is the anonymous visitor; accounts are `reader` (registered researcher),
 * `auditor` (reads provenance, fixity and statistics; changes nothing), `curator` (ingests
 * and edits) and `admin` (all of it; accounts are managed with the CLI, which acts as admin).
 * Logs written before these roles name `staff`, which reads back as `curator` (see the
 * upcasters in events.ts).
 */
export const ROLES = ['public', 'reader', 'auditor', 'curator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** What an account may be given (`public` is no account: it is everyone who is not signed in). */
export const ACCOUNT_ROLES = ['reader', 'auditor', 'curator', 'admin'] as const satisfies readonly Role[];
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

/**
 * Logs written before these roles name one staff role, `staff`, which could ingest and edit:
 * today's curator. Any other value is returned as it is.
 */
export function renamedRole(value: unknown): unknown {
  return value === 'staff' ? 'curator' : value;
}

/** A role as an event's envelope names it; an unknown one is taken for the anonymous visitor, who may least. */
export function roleFromLog(value: string): Role {
  const role = renamedRole(value);
  return (ROLES as readonly unknown[]).includes(role) ? (role as Role) : 'public';
}

export interface Viewer {
  role: Role;
  /** True when the request comes from the reading room's IP ranges. */
  inReadingRoom?: boolean;
  /**
   * The library whose staff the account is: its staff rights hold only for that library's
   * works, collections and figures (see rightsFor). Absent: the whole instance (provincial
   * staff, and every account made before libraries).
   */
  library?: string;
  /**
   * The instance's home library (THUKHO_LIBRARY_ID), given with `library`: works and
   * collections that name no library are the home library's.
   */
  homeLibrary?: string;
}

/** The library holding material whose record names `libraryId` (none: the home library's). */
export function holdingLibrary(viewer: Viewer, libraryId: string | null | undefined): string {
  return libraryId ?? viewer.homeLibrary ?? '';
}

/**
 * What each role may do. Curator and auditor are not ranked: neither holds all of the
 * other's rights. `see-confidential` also opens provenance, fixity and audit reports.
 */
type Right = 'read-restricted' | 'see-confidential' | 'read-statistics' | 'write';
const RIGHTS: Record<Role, ReadonlySet<Right>> = {
  public: new Set(),
  reader: new Set(['read-restricted']),
  auditor: new Set(['read-restricted', 'see-confidential', 'read-statistics']),
  curator: new Set(['read-restricted', 'see-confidential', 'write']),
  admin: new Set(['read-restricted', 'see-confidential', 'read-statistics', 'write']),
};

/** May read restricted material: any signed-in account (the reading room decides apart). */
export function canReadRestricted(viewer: Viewer): boolean {
  return RIGHTS[viewer.role].has('read-restricted');
}

/** Library staff (admin, curator, auditor): see confidential material, provenance and fixity. */
export function isStaff(viewer: Viewer): boolean {
  return RIGHTS[viewer.role].has('see-confidential');
}

/** May change the repository: ingest, edit, reorder, withdraw, change a work's access level. */
export function canWrite(viewer: Viewer): boolean {
  return RIGHTS[viewer.role].has('write');
}

/** May read usage statistics (auditor, admin). */
export function canReadStatistics(viewer: Viewer): boolean {
  return RIGHTS[viewer.role].has('read-statistics');
}

/**
 * Whether `narrower` grants nothing that `role` does not: an API token's scope must be within
 * its account's role, at issue and again on every request (a role taken away takes the token's
 * rights with it).
 */
export function roleWithin(narrower: Role, role: Role): boolean {
  for (const right of RIGHTS[narrower]) if (!RIGHTS[role].has(right)) return false;
  return true;
}

/**
 * The ONE rule of library scope: what `viewer` may do with material (a work, a collection, a
 * figure) held by `holdingLibrary`. An account that is one library's staff keeps its staff
 * rights (see-confidential, write, read-statistics) for that library's material only; for any
 * other library's it is exactly a registered reader. Accounts without a library (provincial
 * staff, and every account made before libraries) act for the whole instance, unchanged.
 */
export function rightsFor(viewer: Viewer, holdingLibrary: string): Viewer {
  if (viewer.library === undefined || viewer.library === holdingLibrary) return viewer;
  if (!RIGHTS[viewer.role].has('read-restricted')) return viewer;
  return { role: 'reader', ...(viewer.inReadingRoom ? { inReadingRoom: true } : {}) };
}

/** Whether the account acts for one library only (its staff rights hold there alone). */
export function scopedLibrary(viewer: Viewer): string | undefined {
  return viewer.library !== undefined && RIGHTS[viewer.role].size > RIGHTS.reader.size ? viewer.library : undefined;
}

/**
 * Manages the instance itself (accounts, the libraries sharing it): an administrator with no
 * library. One library's administrator would otherwise be able to give itself, or anyone, the
 * whole instance.
 */
export function isInstanceAdmin(viewer: Viewer): boolean {
  return viewer.role === 'admin' && viewer.library === undefined;
}

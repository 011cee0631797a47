import type { Context } from 'koa';
import { type AccessAllowed, type AccessDecision, type AccessRefusal, decidedLikeEveryone, isAllowed } from '../domain/access-decision.ts';
import { canReadStatistics, canWrite, holdingLibrary, isStaff, rightsFor, scopedLibrary, type Viewer } from '../domain/access-policy.ts';
import type { Bilingual } from '../domain/errors.ts';
import { collectionScope, type ObjectLookup, workScope } from '../projections/object-read-model.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';
import { Problem } from './problem.ts';

/**
 * The access decision as HTTP: the status of a refusal, and the Cache-Control of every
 * answer a decision governs. A shared cache may keep only what anyone may have, and must ask
 * again before each use (`no-cache`), so that a work made confidential is refused at once
 * even where an open copy was kept; a refusal is never kept (`no-store`), so that a work
 * opened later is not refused from a cache.
 */
export const REFUSAL_STATUS: Record<AccessRefusal, 401 | 404 | 410> = { absent: 404, 'sign-in': 401, gone: 410 };

const SHARED = 'public, no-cache';
const PRIVATE = 'private, no-cache';

export function cacheControlFor(allowed: AccessAllowed): string {
  return allowed.publicCache ? SHARED : PRIVATE;
}

/** Cache-Control of a list (search, collections, site pages) made for `viewer`. */
export function listCacheControl(viewer: Viewer): string {
  return decidedLikeEveryone(viewer) ? SHARED : PRIVATE;
}

const SIGN_IN_MESSAGES: Bilingual = {
  vi: 'Tài liệu này chỉ dành cho bạn đọc đã đăng ký hoặc tại phòng đọc của thư viện; hãy đăng nhập (trang /sign-in, hoặc Authorization: Bearer …) hoặc đến phòng đọc.',
  en: 'This material is for registered readers or the library’s reading room; sign in (on /sign-in, or Authorization: Bearer …) or come to the reading room.',
};

/** What to say when the answer is a refusal: the 404 is the surface's own (it names what was asked for). */
export interface RefusalWords {
  absent: () => Problem;
  /** What was withdrawn, e.g. `Tài liệu "x"` / `Object "x"`; and the reason, where it may be told. */
  gone: { vi: string; en: string; reason?: string };
}

/**
 * Sets the Cache-Control the decision calls for; returns the allowance, or throws the problem
 * that answers the refusal.
 */
export function requireAccess(ctx: Context, decision: AccessDecision, words: RefusalWords): AccessAllowed {
  if (!isAllowed(decision)) refuse(ctx, decision.outcome, words);
  ctx.set('Cache-Control', cacheControlFor(decision));
  return decision;
}

/** A work found through the object read model, or the refusal thrown (see requireAccess). */
export function objectAccess(ctx: Context, found: ObjectLookup, absent: () => Problem): Extract<ObjectLookup, { found: true }> {
  if (!found.found) {
    const reason = found.withdrawnReason;
    refuse(ctx, found.refusal, { absent, gone: { ...withdrawnWork(found.objectId), ...(reason ? { reason } : {}) } });
  }
  ctx.set('Cache-Control', cacheControlFor(found.access));
  return found;
}

export function withdrawnWork(objectId: string): { vi: string; en: string } {
  return { vi: `Tài liệu "${objectId}"`, en: `Object "${objectId}"` };
}

/** The problem that answers a refusal, with the sign-in challenge on a 401; never kept by a cache. */
export function refuse(ctx: Context, refusal: AccessRefusal, words: RefusalWords): never {
  ctx.set('Cache-Control', 'no-store');
  switch (refusal) {
    case 'absent':
      throw words.absent();
    case 'sign-in':
      ctx.set('WWW-Authenticate', 'Bearer realm="thukho"');
      throw new Problem(401, 'authentication-required', SIGN_IN_MESSAGES);
    case 'gone': {
      const { vi, en, reason } = words.gone;
      throw new Problem(
        410,
        'withdrawn',
        reason !== undefined
          ? { vi: `${vi} đã được rút khỏi kho. Lý do: ${reason}`, en: `${en} has been withdrawn. Reason: ${reason}` }
          : { vi: `${vi} đã được rút khỏi kho.`, en: `${en} has been withdrawn.` },
        reason !== undefined ? { reason } : {},
      );
    }
  }
}

/**
 * Library scope on what a route does to one work, collection or set of figures (see rightsFor
 * in the domain): a library's staff keep their staff rights for their library's material only.
 * Accounts without a library pass untouched: these checks read nothing for them.
 */
export type StaffRight = 'write' | 'staff' | 'statistics';

const HAS: Record<StaffRight, (viewer: Viewer) => boolean> = { write: canWrite, staff: isStaff, statistics: canReadStatistics };

function otherLibrary(library: string, what: { vi: string; en: string }, right: StaffRight): Problem {
  const doing = right === 'write' ? { vi: 'thay đổi', en: 'change' } : { vi: 'xem hồ sơ cán bộ của', en: 'read the staff records of' };
  return new Problem(403, 'other-library', {
    vi: `Tài khoản của bạn là cán bộ thư viện "${library}": bạn không được ${doing.vi} ${what.vi} của thư viện khác.`,
    en: `Your account is staff of library "${library}": you may not ${doing.en} ${what.en} of another library.`,
  });
}

/**
 * A library's staff acting on another library's work: 404 when the work is confidential (they
 * may not learn it exists: exactly what a reader gets), else 403 with the reason. An unknown
 * work passes: the route answers for it as before.
 */
export function requireWorkRight(db: ReadModelDb, viewer: Viewer, objectId: string, right: StaffRight, absent: () => Problem): void {
  const library = scopedLibrary(viewer);
  if (library === undefined) return;
  const work = workScope(db, objectId);
  if (!work) return;
  const rights = rightsFor(viewer, holdingLibrary(viewer, work.libraryId));
  if (HAS[right](rights)) return;
  if (work.accessLevel === 'confidential' && !isStaff(rights)) throw absent();
  throw otherLibrary(library, { vi: `tài liệu "${objectId}"`, en: `object "${objectId}"` }, right);
}

/**
 * A library's staff may put works and child collections only in their library's collections,
 * and edit only those. No collection: the home library's (a work without one is the home
 * library's). An unknown collection passes: the route answers for it as before.
 */
export function requireCollectionRight(db: ReadModelDb, viewer: Viewer, collectionId: string | null | undefined, right: StaffRight): void {
  const library = scopedLibrary(viewer);
  if (library === undefined) return;
  const held = collectionId ? collectionScope(db, collectionId) : { libraryId: null };
  if (!held) return;
  if (HAS[right](rightsFor(viewer, holdingLibrary(viewer, held.libraryId)))) return;
  throw otherLibrary(
    library,
    collectionId ? { vi: `bộ sưu tập "${collectionId}"`, en: `collection "${collectionId}"` } : { vi: 'tài liệu không thuộc bộ sưu tập nào (của thư viện chính)', en: 'works outside any collection (the home library’s)' },
    right,
  );
}

/** A library's staff may name only their own library (creating or moving a collection). */
export function requireOwnLibrary(viewer: Viewer, libraryId: string | null | undefined): void {
  const library = scopedLibrary(viewer);
  if (library === undefined || libraryId === undefined || holdingLibrary(viewer, libraryId) === library) return;
  throw otherLibrary(library, { vi: `thư viện "${libraryId ?? viewer.homeLibrary}"`, en: `library "${libraryId ?? viewer.homeLibrary}"` }, 'write');
}

/**
 * The ONE rule of figures (usage statistics, the fixity audit report, the preservation
 * summary, the staff screens showing them): the library whose figures `viewer` gets, given the
 * library it asked for (`library=`). An account without a library gets what it asked for
 * (undefined: every library's). A library's staff get their library's and no other's: the
 * filter is forced, so rows and totals are that library's alone; naming another library is a
 * 403 with the reason, never an empty answer that would look like "no use".
 */
export function figuresScope(viewer: Viewer, asked?: string): string | undefined {
  const library = scopedLibrary(viewer);
  if (library === undefined) return asked;
  if (asked !== undefined && asked !== library) {
    throw new Problem(403, 'other-library', {
      vi: `Tài khoản của bạn là cán bộ thư viện "${library}": bạn chỉ xem được số liệu của thư viện mình, không xem được số liệu của thư viện "${asked}" (thư viện khác).`,
      en: `Your account is staff of library "${library}": you see your library’s figures only, not those of library "${asked}" (another library).`,
    });
  }
  return library;
}

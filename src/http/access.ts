import type { Context } from 'koa';
import { type AccessAllowed, type AccessDecision, type AccessRefusal, decidedLikeEveryone, isAllowed } from '../domain/access-decision.ts';
import type { Viewer } from '../domain/access-policy.ts';
import type { Bilingual } from '../domain/errors.ts';
import type { ObjectLookup } from '../projections/object-read-model.ts';
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

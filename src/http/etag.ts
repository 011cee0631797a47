import type { Context } from 'koa';
import { Problem } from './problem.ts';

/** Revisions travel as strong ETags ("3"); If-Match takes the same form (quotes optional). */
export function setRevisionEtag(ctx: Context, revision: number | bigint): void {
  ctx.set('ETag', `"${revision}"`);
}

export function ifMatchRevision(ctx: Context): bigint | undefined {
  const raw = ctx.get('if-match').trim();
  if (!raw) return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(raw);
  if (!m) {
    throw new Problem(400, 'invalid-if-match', {
      vi: `If-Match phải là số phiên bản (revision) của tài liệu, ví dụ "3"; nhận được ${raw}.`,
      en: `If-Match must be the object's revision, e.g. "3"; got ${raw}.`,
    });
  }
  return BigInt(m[1] as string);
}

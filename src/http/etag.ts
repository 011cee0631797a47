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

/**
 * An edit must say which revision it was made against (RFC 6585 §3: 428 Precondition
 * Required): without it, two people editing one record would silently overwrite each other.
 */
export function requireIfMatch(ctx: Context): bigint {
  const expected = ifMatchRevision(ctx);
  if (expected !== undefined) return expected;
  throw new Problem(428, 'if-match-required', {
    vi: 'Cần gửi kèm tiêu đề If-Match với phiên bản (ETag) đã đọc, ví dụ If-Match: "3": hãy GET bản ghi, rồi gửi lại sửa đổi với ETag của nó.',
    en: 'Send If-Match with the revision (ETag) you read, e.g. If-Match: "3": GET the record, then send your edit with its ETag.',
  });
}

/**
 * Answers 304 when If-None-Match names `etag` (weak comparison, RFC 9110 §13.1.2), after
 * setting it. koa's ctx.fresh is not used: it judges only a response already marked 2xx.
 */
export function notModified(ctx: Context, etag: string): boolean {
  ctx.set('ETag', etag);
  const header = ctx.get('if-none-match').trim();
  if (!header) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  if (header === '*' || header.split(',').some((tag) => opaque(tag) === opaque(etag))) {
    ctx.status = 304;
    return true;
  }
  return false;
}

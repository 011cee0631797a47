import type { Context } from 'koa';
import { Problem } from './problem.ts';

/**
 * Reads a JSON request body with a size limit, refusing early (by Content-Length) and
 * while streaming (for chunked bodies), so that an oversized body costs us no memory.
 */
export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  if (!ctx.is('application/json', 'application/*+json')) {
    throw new Problem(415, 'unsupported-media-type', {
      vi: 'Nội dung phải là JSON (Content-Type: application/json).',
      en: 'The body must be JSON (Content-Type: application/json).',
    });
  }
  const tooLarge = () =>
    new Problem(413, 'body-too-large', {
      vi: `Nội dung quá lớn (tối đa ${limit} byte).`,
      en: `The body is too large (at most ${limit} bytes).`,
    }, { limit });
  const declared = Number(ctx.get('content-length') || 'NaN');
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      // Answer, then close: reading the rest of an oversized body would only waste time.
      ctx.set('Connection', 'close');
      throw tooLarge();
    }
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    throw new Problem(400, 'empty-body', { vi: 'Thiếu nội dung JSON.', en: 'The JSON body is missing.' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Problem(400, 'malformed-json', {
      vi: `JSON không hợp lệ: ${(err as Error).message}`,
      en: `Malformed JSON: ${(err as Error).message}`,
    });
  }
}

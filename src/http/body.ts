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
  const text = await readText(ctx, limit);
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

/** The body as UTF-8 text, refused past `limit` bytes (by Content-Length, and while streaming). */
async function readText(ctx: Context, limit: number): Promise<string> {
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
  return Buffer.concat(chunks).toString('utf8');
}

/** Forms are a few short fields (a name, a password, a CSRF token): a small cap. */
const FORM_LIMIT = 16 * 1024;

/**
 * An HTML form's body (application/x-www-form-urlencoded), read once per request: the CSRF
 * check and the route that handles the form both ask for it.
 */
export async function readForm(ctx: Context): Promise<URLSearchParams> {
  const state = ctx.state as { form?: URLSearchParams };
  if (state.form) return state.form;
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new Problem(415, 'unsupported-media-type', {
      vi: 'Nội dung phải là một biểu mẫu (Content-Type: application/x-www-form-urlencoded).',
      en: 'The body must be a form (Content-Type: application/x-www-form-urlencoded).',
    });
  }
  state.form = new URLSearchParams(await readText(ctx, FORM_LIMIT));
  return state.form;
}

import { ID_PATTERN } from '../../domain/metadata.ts';
import { type Bilingual, T } from './i18n.ts';

/**
 * Reading the site's query strings strictly: a malformed percent-encoding is an error (a
 * 400 page), not text with replacement characters; bad numbers and ids are errors too,
 * with the reason in both languages.
 */
export class BadRequest extends Error {
  constructor(readonly messages: Bilingual) {
    super(messages.en);
    this.name = 'BadRequest';
  }
}

/** `a=1&b=x+y` → first value of each name; throws BadRequest on invalid UTF-8 percent-encodings. */
export function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const rawKey = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw new BadRequest(T.badEncoding);
    }
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

/** A path segment as the router gave it; the router leaves undecodable segments as they came. */
export function validId(raw: string | undefined): string {
  if (raw !== undefined && ID_PATTERN.test(raw)) return raw;
  throw new BadRequest(T.badId);
}

export function parsePage(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 1;
  if (!/^[1-9]\d{0,5}$/.test(raw)) throw new BadRequest(T.badPage);
  return Number(raw);
}

export const MAX_QUERY_CHARS = 500;

export function parseSearchQuery(raw: string | undefined): string {
  const q = (raw ?? '').normalize('NFC').trim();
  if (q.length > MAX_QUERY_CHARS) throw new BadRequest(T.queryTooLong);
  return q;
}

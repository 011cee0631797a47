import { ID_PATTERN } from '../../domain/metadata.ts';
import type { Filters } from './catalogue-search.ts';
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

function bad(name: string, vi: string, en: string): BadRequest {
  return new BadRequest({ vi: `Tham số "${name}" không hợp lệ: ${vi}`, en: `Invalid "${name}" parameter: ${en}` });
}

/** Facet filters from the query; absent or empty parameters are no filter. */
export function parseFilters(params: ReadonlyMap<string, string>): Filters {
  const filters: Filters = {};
  const collection = params.get('collection');
  if (collection) {
    if (!ID_PATTERN.test(collection)) throw bad('collection', 'cần một mã bộ sưu tập.', 'a collection id is expected.');
    filters.collection = collection;
  }
  const language = params.get('language');
  if (language) {
    if (!/^[a-z]{3}$/.test(language)) throw bad('language', 'cần mã ISO 639-3, ví dụ "vie".', 'an ISO 639-3 code such as "vie" is expected.');
    filters.language = language;
  }
  const type = params.get('type')?.normalize('NFC').trim();
  if (type) {
    if (type.length > 200) throw bad('type', 'quá dài.', 'too long.');
    filters.type = type;
  }
  const century = params.get('century');
  if (century) {
    if (!/^-?[1-9]\d?$/.test(century)) throw bad('century', 'cần một số thế kỷ, ví dụ 19.', 'a century number such as 19 is expected.');
    filters.century = Number(century);
  }
  return filters;
}

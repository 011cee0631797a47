import { foldVietnamese } from '../../domain/vietnamese-fold.ts';
import type { ObjectView } from '../../projections/object-read-model.ts';

/**
 * The interim catalogue search of the public site, over the objects a viewer may see: every
 * query word must occur in the folded catalogue text (no diacritics, đ → d, lower case;
 * Han characters one by one, since Han-Nôm is written without spaces). Facets are counted
 * the usual multi-select way: each facet over the other filters, so that a chosen value still
 * shows its alternatives. Pure functions; replaced by the search index when it exists.
 */

export interface Filters {
  collection?: string;
  language?: string;
  type?: string;
  century?: number;
}

export const FACETS = ['collection', 'language', 'type', 'century'] as const;
export type FacetName = (typeof FACETS)[number];

export interface FacetValue {
  value: string;
  count: number;
  selected: boolean;
}

/** A run of text; `mark` runs are where a query word matched. */
export interface Segment {
  text: string;
  mark: boolean;
}

export interface Hit {
  object: ObjectView;
  title: Segment[];
  snippet: Segment[];
}

export interface SearchRequest {
  q: string;
  filters: Filters;
  /** 1-based. */
  page: number;
  pageSize: number;
}

export interface SearchOutcome {
  terms: string[];
  total: number;
  page: number;
  pageCount: number;
  hits: Hit[];
  facets: Record<FacetName, FacetValue[]>;
}

const MAX_TERMS = 32;
const HAN_OR_OTHER = /\p{Script=Han}|[^\p{Script=Han}]+/gu;

/** Folded query words: split at anything that is not a letter or digit, Han characters one each. */
export function queryTerms(q: string): string[] {
  const terms = new Set<string>();
  for (const word of foldVietnamese(q.normalize('NFC')).split(/[^\p{L}\p{N}]+/u)) {
    for (const part of word.match(HAN_OR_OTHER) ?? []) {
      if (part) terms.add(part);
    }
  }
  return [...terms].slice(0, MAX_TERMS);
}

/** Year → century: 1 … 100 is the 1st, 1801 … 1900 the 19th; years before 1 count back (−99 … 0 is 1st BCE → -1). */
export function centuryOf(year: number): number {
  return year >= 1 ? Math.ceil(year / 100) : -(Math.floor(-year / 100) + 1);
}

/**
 * `text` folded, with where each folded code unit came from: [starts[i], ends[i]) in `text`.
 * A code point that folds to nothing (a combining mark) is added to the range of the one
 * before it, so that a highlight never cuts a letter from its diacritics.
 */
export function foldWithMap(text: string): { folded: string; starts: number[]; ends: number[] } {
  let folded = '';
  const starts: number[] = [];
  const ends: number[] = [];
  let prevFrom = 0;
  let i = 0;
  for (const cp of text) {
    const f = foldVietnamese(cp);
    if (f.length === 0) {
      for (let k = prevFrom; k < ends.length; k++) ends[k] = i + cp.length;
    } else {
      prevFrom = starts.length;
      for (let k = 0; k < f.length; k++) {
        starts.push(i);
        ends.push(i + cp.length);
      }
      folded += f;
    }
    i += cp.length;
  }
  return { folded, starts, ends };
}

/** `text` cut into plain and marked runs where any of the (folded) terms occurs. */
export function highlight(text: string, terms: readonly string[]): Segment[] {
  if (!text) return [];
  if (terms.length === 0) return [{ text, mark: false }];
  const { folded, starts, ends } = foldWithMap(text);
  const ranges: Array<[number, number]> = [];
  for (const term of terms) {
    for (let at = folded.indexOf(term); at !== -1; at = folded.indexOf(term, at + 1)) {
      ranges.push([starts[at] as number, ends[at + term.length - 1] as number]);
    }
  }
  if (ranges.length === 0) return [{ text, mark: false }];
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const out: Segment[] = [];
  let pos = 0;
  for (const [s, e] of merged) {
    if (s > pos) out.push({ text: text.slice(pos, s), mark: false });
    out.push({ text: text.slice(s, e), mark: true });
    pos = e;
  }
  if (pos < text.length) out.push({ text: text.slice(pos), mark: false });
  return out;
}

/** A window of about `max` characters of `text` from `from`, cut at spaces, with ellipses. */
function excerpt(text: string, from: number, max: number): { text: string; before: boolean; after: boolean } {
  let start = Math.max(0, from);
  let end = Math.min(text.length, start + max);
  if (end === text.length) start = Math.max(0, end - max);
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space !== -1 && space - start < 20 && space < end) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start + max / 2) end = space;
  }
  // Never split a surrogate pair at either edge.
  if (start > 0 && /[\uDC00-\uDFFF]/.test(text[start] ?? '')) start--;
  if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end] ?? '')) end++;
  return { text: text.slice(start, end), before: start > 0, after: end < text.length };
}

const SNIPPET_CHARS = 220;

/** Snippet sources, with line breaks and runs of spaces made single spaces (a snippet is one line). */
function snippetFields(o: ObjectView): string[] {
  return [o.description, o.subject, o.alternativeTitle?.join('; ')]
    .map((s) => s?.replace(/\s+/g, ' ').trim())
    .filter((s): s is string => !!s);
}

/** A short passage of description, subject or alternative titles, around the first match if any. */
export function snippet(o: ObjectView, terms: readonly string[], max = SNIPPET_CHARS): Segment[] {
  const fields = snippetFields(o);
  let chosen: { text: string; from: number } | undefined;
  for (const field of fields) {
    if (terms.length === 0) break;
    const { folded, starts } = foldWithMap(field);
    const positions = terms.map((t) => folded.indexOf(t)).filter((p) => p !== -1);
    if (positions.length) {
      const first = starts[Math.min(...positions)] as number;
      chosen = { text: field, from: first - Math.floor(max / 4) };
      break;
    }
  }
  chosen ??= fields[0] ? { text: fields[0], from: 0 } : undefined;
  if (!chosen) return [];
  const cut = excerpt(chosen.text, chosen.from, max);
  return [
    ...(cut.before ? [{ text: '… ', mark: false }] : []),
    ...highlight(cut.text, terms),
    ...(cut.after ? [{ text: ' …', mark: false }] : []),
  ];
}

interface Prepared {
  title: string;
  alternativeTitle: string;
  creator: string;
  identifier: string;
  rest: string;
}

// Folding is the costly part; an object's text only changes with its revision.
const preparedCache = new Map<string, Prepared>();
const PREPARED_CACHE_MAX = 20_000;

function prepare(o: ObjectView): Prepared {
  const key = `${o.id}\u0000${o.revision}`;
  const hit = preparedCache.get(key);
  if (hit) return hit;
  const p: Prepared = {
    title: foldVietnamese(o.title),
    alternativeTitle: foldVietnamese((o.alternativeTitle ?? []).join('\n')),
    creator: foldVietnamese(o.creator ?? ''),
    identifier: foldVietnamese(o.identifier ?? ''),
    rest: foldVietnamese(`${o.subject ?? ''}\n${o.description ?? ''}`),
  };
  if (preparedCache.size >= PREPARED_CACHE_MAX) preparedCache.clear();
  preparedCache.set(key, p);
  return p;
}

const WEIGHTS: Array<[keyof Prepared, number]> = [['title', 4], ['alternativeTitle', 3], ['creator', 2], ['identifier', 2], ['rest', 1]];

/** 0 when some term occurs nowhere; otherwise higher for matches in the title and other names. */
export function score(o: ObjectView, terms: readonly string[]): number {
  if (terms.length === 0) return 1;
  const p = prepare(o);
  let total = 0;
  for (const term of terms) {
    let best = 0;
    for (const [field, weight] of WEIGHTS) {
      if (weight > best && p[field].includes(term)) best = weight;
    }
    if (best === 0) return 0;
    total += best;
  }
  return total;
}

export function facetValues(o: ObjectView, facet: FacetName): string[] {
  switch (facet) {
    case 'collection':
      return o.collectionId ? [o.collectionId] : [];
    case 'language':
      return [...new Set(o.language ?? [])];
    case 'type':
      return o.type ? [o.type] : [];
    case 'century':
      return o.yearFrom === undefined ? [] : [String(centuryOf(o.yearFrom))];
  }
}

function filterValue(filters: Filters, facet: FacetName): string | undefined {
  const v = filters[facet];
  return v === undefined ? undefined : String(v);
}

function passes(o: ObjectView, filters: Filters, except?: FacetName): boolean {
  for (const facet of FACETS) {
    if (facet === except) continue;
    const wanted = filterValue(filters, facet);
    if (wanted !== undefined && !facetValues(o, facet).includes(wanted)) return false;
  }
  return true;
}

function countFacet(objects: readonly ObjectView[], facet: FacetName, filters: Filters): FacetValue[] {
  const counts = new Map<string, number>();
  for (const o of objects) {
    if (!passes(o, filters, facet)) continue;
    for (const v of facetValues(o, facet)) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const selected = filterValue(filters, facet);
  // A chosen value that nothing matches any more still shows, so that it can be removed.
  if (selected !== undefined && !counts.has(selected)) counts.set(selected, 0);
  const values = [...counts].map(([value, count]) => ({ value, count, selected: value === selected }));
  if (facet === 'century') return values.sort((a, b) => Number(a.value) - Number(b.value));
  return values.sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}

const newestFirst = (a: ObjectView, b: ObjectView) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0);

/** Search `objects` (already only those the viewer may see). An out-of-range page gives no hits. */
export function searchCatalogue(objects: readonly ObjectView[], req: SearchRequest): SearchOutcome {
  const terms = queryTerms(req.q);
  const scored: Array<{ o: ObjectView; s: number }> = [];
  for (const o of objects) {
    const s = score(o, terms);
    if (s > 0) scored.push({ o, s });
  }
  const matching = scored.map((x) => x.o);
  const facets = Object.fromEntries(FACETS.map((f) => [f, countFacet(matching, f, req.filters)])) as Record<FacetName, FacetValue[]>;
  const results = scored.filter((x) => passes(x.o, req.filters)).sort((a, b) => b.s - a.s || newestFirst(a.o, b.o));
  const pageSize = Math.max(1, req.pageSize);
  const pageCount = Math.max(1, Math.ceil(results.length / pageSize));
  const window = results.slice((req.page - 1) * pageSize, req.page * pageSize);
  return {
    terms,
    total: results.length,
    page: req.page,
    pageCount,
    hits: window.map(({ o }) => ({ object: o, title: highlight(o.title, terms), snippet: snippet(o, terms) })),
    facets,
  };
}

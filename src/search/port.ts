import { z } from 'zod';
import { allowedLevels } from '../domain/access-decision.ts';
import { scopedLibrary, type Viewer } from '../domain/access-policy.ts';
import type { Bilingual } from '../domain/errors.ts';
import { type AccessLevel, ACCESS_LEVELS, Id, LanguageCode, type Metadata } from '../domain/metadata.ts';

/**
 * The search port: what the search projection writes and what the site and the API ask.
 * Two adapters keep it (embedded SQLite FTS5, Typesense), checked by one contract suite
 * (tests/contract/search.contract.ts). Both analyse text with `text-folding.ts`, so they
 * answer alike.
 *
 * Access is decided inside the query, from what the caller says the viewer may see: a
 * confidential work the viewer may not see is in no hit, facet count or total; a restricted
 * work's catalogue record is findable by everyone, its page text only by those who may read it.
 */

/** One per work: every catalogue field, as the object read model holds it. */
export interface WorkDocument {
  kind: 'work';
  id: string;
  accessLevel: AccessLevel;
  metadata: Metadata;
}

/** A word's box on the page image, in canvas pixels; `start`/`end` are UTF-16 offsets into the page text. */
export interface WordBox {
  start: number;
  end: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One per page that has text (OCR or transcription). */
export interface PageDocument {
  kind: 'page';
  /** Unique across the repository (the page's file id does). */
  id: string;
  workId: string;
  canvasId: string;
  label: string;
  /** Reading order within the work, from 0. */
  order: number;
  text: string;
  words?: WordBox[];
}

export type SearchDocument = WorkDocument | PageDocument;

/** Deleting a work deletes its pages too (a withdrawal); a page alone goes when its file does. */
export type DocumentRef = { kind: 'work'; id: string } | { kind: 'page'; id: string };

/** Where the projection feeding an index has got to; kept by the index so both move together. */
export interface IndexCheckpoint {
  version: number;
  /** Log position of the last event applied, or null when nothing has been applied yet. */
  position: bigint | null;
}

/** What the viewer may see, from the access decision (`visibilityFor`). */
export interface Visibility {
  /** May see confidential works at all (staff). */
  confidential: boolean;
  /** May read the page text of restricted works (signed-in readers, the reading room). */
  restrictedText: boolean;
  /**
   * A library's own staff, who may see more of that library's works than of the others'
   * (whose works they see as a reader does): the same two rights for the works of `works`.
   */
  own?: { works: CollectionCondition; confidential: boolean; restrictedText: boolean };
}

/** Works by their collection: in these collections, or (works in no collection included) in none of them. */
export interface CollectionCondition {
  mode: 'in' | 'not-in';
  collections: string[];
}

function meetsCondition(c: CollectionCondition, collection: string | null | undefined): boolean {
  const listed = collection !== null && collection !== undefined && c.collections.includes(collection);
  return c.mode === 'in' ? listed : !listed;
}

function rightsOver(viewer: Viewer, holdingLibrary?: string): Pick<Visibility, 'confidential' | 'restrictedText'> {
  return {
    confidential: allowedLevels(viewer, 'record', holdingLibrary).includes('confidential'),
    restrictedText: allowedLevels(viewer, 'content', holdingLibrary).includes('restricted'),
  };
}

/**
 * Withdrawn works are not in the index, so the decision for active works is the whole answer.
 * `libraries` says which works are a library's own (see LibraryMap); without it a library's
 * staff see every work as they see other libraries' (less than they may open, never more).
 */
export function visibilityFor(viewer: Viewer, libraries?: LibraryMap): Visibility {
  const elsewhere = rightsOver(viewer);
  const library = scopedLibrary(viewer);
  if (library === undefined || libraries === undefined) return elsewhere;
  const own = rightsOver(viewer, library);
  if (own.confidential === elsewhere.confidential && own.restrictedText === elsewhere.restrictedText) return elsewhere;
  return { ...elsewhere, own: { works: libraryCollections(libraries, [library]), ...own } };
}

/** Levels whose catalogue records the viewer may find (of another library's works, when `own` is set). */
export function findableLevels(v: Pick<Visibility, 'confidential'>): AccessLevel[] {
  return v.confidential ? [...ACCESS_LEVELS] : ['open', 'restricted'];
}

/** Levels whose page text the viewer may search and read (of another library's works, when `own` is set). */
export function readableLevels(v: Pick<Visibility, 'confidential' | 'restrictedText'>): AccessLevel[] {
  return ACCESS_LEVELS.filter((l) => l === 'open' || (l === 'restricted' && v.restrictedText) || (l === 'confidential' && v.confidential));
}

/** Whether the viewer may search and read the page text of a work at `level` in `collection`. */
export function mayRead(v: Visibility, level: AccessLevel, collection: string | null | undefined): boolean {
  const rights = v.own && meetsCondition(v.own.works, collection) ? v.own : v;
  return readableLevels(rights).includes(level);
}

export const FACETS = ['library', 'collection', 'language', 'type', 'century', 'hasText', 'accessLevel'] as const;
export type FacetName = (typeof FACETS)[number];

export const SORTS = ['relevance', 'title', 'date', 'date-desc'] as const;
export type Sort = (typeof SORTS)[number];

export const MAX_QUERY_CHARS = 2000;
export const MAX_QUERY_TERMS = 64;
export const MAX_PER_PAGE = 100;
/** Deep paging is for crawlers; a reader refines the query instead. */
export const MAX_PAGE = 500;

const oneOrMany = <T extends z.ZodType>(value: T) =>
  z.union([value, z.array(value).min(1).max(20)]).transform((v) => (Array.isArray(v) ? v : [v]) as Array<z.output<T>>);

const Century = z.coerce.number().int().min(-30).max(22);
const Bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);

const Filters = z
  .object({
    library: oneOrMany(Id),
    collection: oneOrMany(Id),
    language: oneOrMany(LanguageCode),
    // Stored types are NFC (metadata.ts); a URL may carry the same words decomposed.
    type: oneOrMany(z.string().min(1).max(200).transform((s) => s.normalize('NFC'))),
    century: oneOrMany(Century),
    hasText: Bool,
    accessLevel: oneOrMany(z.enum(ACCESS_LEVELS)),
  })
  .partial()
  .strict();

/** A search as the HTTP layer or the site hands it over; strings are accepted where a query string gives them. */
export const SearchQueryInput = z
  .object({
    q: z.string().max(MAX_QUERY_CHARS).default(''),
    filters: Filters.default({}),
    sort: z.enum(SORTS).default('relevance'),
    page: z.coerce.number().int().min(1).max(MAX_PAGE).default(1),
    perPage: z.coerce.number().int().min(1).max(MAX_PER_PAGE).default(20),
    /** Matching pages shown under each work (the first ones in reading order). */
    pageHitsPerWork: z.coerce.number().int().min(0).max(10).default(3),
  })
  .strict();

export type SearchFilters = z.output<typeof Filters>;
export type SearchQuery = z.output<typeof SearchQueryInput> & { visibility: Visibility; libraries?: LibraryMap };

/**
 * Which library holds the works of each collection, as the object read model has it now.
 * The index keeps only a work's collection: a work's library is read through this map at
 * query time, so moving a collection to another library needs no reindexing and the facet
 * never lags the library records. A work in no collection, or in a collection the map does
 * not name, is the home library's (as the read model's holding library is).
 */
export interface LibraryMap {
  home: string;
  /** Collections of libraries other than the home one (home entries may be present too). */
  byCollection: ReadonlyMap<string, string>;
}

/** Every work in the home library `home`: what a query made without the read model gets. */
export const HOME_ONLY: LibraryMap = { home: 'home', byCollection: new Map() };

export function libraryOfCollection(map: LibraryMap, collection: string | null | undefined): string {
  return (collection ? map.byCollection.get(collection) : undefined) ?? map.home;
}

/**
 * A library filter as a condition on the work's collection: with the home library chosen,
 * every collection except those of libraries not chosen (works in no collection included);
 * without it, only the collections of the chosen libraries.
 */
export function libraryCollections(map: LibraryMap, chosen: readonly string[]): CollectionCondition {
  const wanted = new Set(chosen);
  if (wanted.has(map.home)) {
    return { mode: 'not-in', collections: [...map.byCollection].filter(([, lib]) => !wanted.has(lib)).map(([c]) => c).sort() };
  }
  return { mode: 'in', collections: [...map.byCollection].filter(([, lib]) => wanted.has(lib)).map(([c]) => c).sort() };
}

/** A search the viewer typed wrongly: the HTTP layer answers 400 with these messages. */
export class SearchQueryError extends Error {
  readonly messages: Bilingual;
  readonly issues: Array<{ field: string; message: string }>;

  constructor(messages: Bilingual, issues: Array<{ field: string; message: string }>) {
    super(messages.en);
    this.name = 'SearchQueryError';
    this.messages = messages;
    this.issues = issues;
  }
}

/** Validate untrusted search input (unknown filters, bad values, too long) into a query. */
export function parseSearchQuery(input: unknown, visibility: Visibility, libraries?: LibraryMap): SearchQuery {
  const parsed = SearchQueryInput.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : ''),
      message:
        i.code === 'unrecognized_keys'
          ? `không có bộ lọc / no such filter or field: ${i.keys.join(', ')} (bộ lọc / filters: ${FACETS.join(', ')})`
          : i.message,
    }));
    const list = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; ');
    throw new SearchQueryError({ vi: `Yêu cầu tìm kiếm không hợp lệ: ${list}`, en: `Invalid search: ${list}` }, issues);
  }
  return { ...parsed.data, visibility, ...(libraries ? { libraries } : {}) };
}

/**
 * The search engine cannot be reached or refused us (down, overloaded, wrong key): not the
 * viewer's fault, so the HTTP layer answers 503 with these messages. Never carries a key.
 */
export class SearchUnavailableError extends Error {
  readonly messages: Bilingual;

  // No `cause`: the HTTP client's errors carry its request config, API key header included.
  constructor(detail: string) {
    super(`Search is unavailable: ${detail}`);
    this.name = 'SearchUnavailableError';
    this.messages = {
      vi: 'Tìm kiếm tạm thời không dùng được; xin thử lại sau ít phút',
      en: 'Search is temporarily unavailable; please try again in a few minutes',
    };
  }
}

export function tooManyTerms(count: number): SearchQueryError {
  return new SearchQueryError(
    {
      vi: `Câu tìm có ${count} từ, tối đa ${MAX_QUERY_TERMS}; hãy rút gọn`,
      en: `The query has ${count} words, at most ${MAX_QUERY_TERMS} are allowed; shorten it`,
    },
    [{ field: 'q', message: `at most ${MAX_QUERY_TERMS} words` }],
  );
}

/** A run of text; `mark` runs are where the query matched. */
export interface Segment {
  text: string;
  mark: boolean;
}

export interface PageHit {
  pageId: string;
  canvasId: string;
  label: string;
  order: number;
  snippet: Segment[];
  /** IIIF media fragment `x,y,w,h` of the first match in the snippet, when the page has word boxes. */
  xywh?: string;
}

export interface WorkHit {
  work: WorkDocument;
  title: Segment[];
  /** A passage of the record (description, subject, alternative titles) around a match. */
  snippet: Segment[];
  /** How many pages the viewer may read matched (0 when only the record matched). */
  pageMatches: number;
  /** The first `pageHitsPerWork` matching pages in reading order. */
  pageHits: PageHit[];
}

export interface FacetValue {
  value: string;
  count: number;
  selected: boolean;
}

export interface SearchResult {
  total: number;
  page: number;
  perPage: number;
  pageCount: number;
  hits: WorkHit[];
  /** Counted the multi-select way: each facet over every filter but its own. */
  facets: Record<FacetName, FacetValue[]>;
}

export type SchemaStatus = 'created' | 'current' | 'migrated';

export interface SearchIndex {
  /**
   * Create the schema, or migrate it. `migrated` means the old index was dropped: the caller
   * must rebuild it from the log (the checkpoint is gone with it).
   */
  ensureSchema(): Promise<SchemaStatus>;
  /** Insert or replace documents by id; idempotent. With a checkpoint, both move together where the engine allows. */
  upsert(docs: readonly SearchDocument[], checkpoint?: IndexCheckpoint): Promise<void>;
  /** Delete by id; missing ids are not an error. */
  delete(refs: readonly DocumentRef[], checkpoint?: IndexCheckpoint): Promise<void>;
  readCheckpoint(): Promise<IndexCheckpoint | undefined>;
  /** Drop every document and the checkpoint (a rebuild). */
  clear(): Promise<void>;
  /** Throws SearchQueryError for a query the viewer must change; never an engine error for any text. */
  search(query: SearchQuery): Promise<SearchResult>;
  close(): Promise<void>;
}

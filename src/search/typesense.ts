import Typesense from 'typesense';
import { z } from 'zod';
import { centuryOf } from '../domain/year-range.ts';
import { ACCESS_LEVELS, type AccessLevel, type Metadata } from '../domain/metadata.ts';
import { facetValues } from './facet-values.ts';
import {
  type DocumentRef,
  FACETS,
  type FacetName,
  type CollectionCondition,
  type FacetValue,
  findableLevels,
  HOME_ONLY,
  type IndexCheckpoint,
  type LibraryMap,
  libraryCollections,
  libraryOfCollection,
  MAX_QUERY_TERMS,
  mayRead,
  type PageDocument,
  type PageHit,
  readableLevels,
  type SchemaStatus,
  type SearchDocument,
  type SearchFilters,
  type SearchIndex,
  type SearchQuery,
  type SearchResult,
  SearchUnavailableError,
  tooManyTerms,
  type Visibility,
  type WordBox,
  type WorkDocument,
  type WorkHit,
} from './port.ts';
import { boxOf, highlight, snippet } from './snippet.ts';
import { indexText, type QueryTerm, queryTerms, tokenize, type Token, wellFormed } from './text-folding.ts';
import { titleSortKey } from './title-sort-key.ts';
import type { TypesenseConnection } from './typesense-url.ts';
import { recordSnippet, workFieldText } from './work-record.ts';

/**
 * The Typesense adapter (the cluster profile). Three collections under a prefix: works (one
 * document per work), pages (one per page with text) and meta (schema version, checkpoint).
 *
 * Text is analysed by `text-folding.ts`, as in the embedded adapter, and Typesense only splits
 * what we give it at spaces: each `*_f` field holds folded tokens joined by spaces (a Han or
 * Nôm character is a token of its own, so Typesense sees one character per token), and the
 * query `q` is built from the same tokens: a word as itself, a run of Han characters as a
 * quoted phrase. Nothing the viewer types reaches `q` or `filter_by` as syntax: tokens are
 * letters, digits and marks only, and filter values are our own ids, enums, numbers or hex.
 *
 * Ranking: `query_by_weights` in the order title > alternative title > creator, call number >
 * subject > description > other catalogue text > `all_f` (every record field at once, so
 * that words spread over two fields still match: Typesense matches a query per field). Then
 * an exact-diacritic bonus through `_eval` over `exact`, the hex of every token as written
 * (hex, because Typesense folds diacritics in strings it indexes and compares), then the
 * title sort key. Works whose record matched rank before works matched only by page text.
 *
 * A work matches when its record has every query term or a page the viewer may read has them
 * all. Typesense cannot join the two collections in one query, so a search with words runs in
 * three steps: (1) the matched work ids in rank order from both collections (pages grouped by
 * work, at most MATCH_CAP works); (2) total, hits and facets over those ids with the filters,
 * one query per facet without its own filter (multi-select); (3) the best pages of the works
 * shown. Page documents carry their work's access level (`none` until the work is indexed),
 * set again by update-by-filter whenever the work is upserted.
 *
 * Checkpoints are written after the documents they cover (Typesense has no transactions):
 * a crash in between replays those events, and upserts are idempotent.
 */

// A change drops every collection, and the projection rebuilds them.
// 2: `collection_key` (the library facet reads it).
const SCHEMA_VERSION = 2;

/** Works matched by words are ranked in memory up to this many; beyond, the least relevant drop out of the total. */
export const MATCH_CAP = 2000;
/** Collections counted for the library facet; an instance with more would undercount the last ones. */
const MAX_COLLECTIONS = 10_000;
// Typesense's largest page of results.
const BATCH = 250;

const WORK_FIELDS = [
  ['title', 15],
  ['alt', 10],
  ['creator', 7],
  ['identifier', 7],
  ['subject', 5],
  ['description', 3],
  ['other', 2],
  ['all', 1],
] as const;
const QUERY_BY = WORK_FIELDS.map(([f]) => `${f}_f`).join(',');
const QUERY_BY_WEIGHTS = WORK_FIELDS.map(([, w]) => w).join(',');

// Typesense never folds, splits or lower-cases hex: an exact token survives as written.
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');


/** Collection schemas; field names are part of SCHEMA_VERSION. */
function schemas(prefix: string) {
  const text = (name: string) => ({ name, type: 'string' as const });
  return {
    works: {
      name: `${prefix}works`,
      fields: [
        ...WORK_FIELDS.map(([f]) => text(`${f}_f`)),
        { name: 'exact', type: 'string[]' as const },
        { name: 'access', type: 'string' as const, facet: true },
        { name: 'collection', type: 'string' as const, facet: true, optional: true },
        // The collection or NO_COLLECTION, always there: a library filter is a condition on it
        // (including or excluding works in no collection), which an optional field cannot carry.
        { name: 'collection_key', type: 'string' as const, facet: true },
        { name: 'language', type: 'string[]' as const, facet: true, optional: true },
        { name: 'type', type: 'string' as const, facet: true, optional: true },
        { name: 'type_key', type: 'string' as const, optional: true },
        { name: 'century', type: 'int32' as const, facet: true, optional: true },
        { name: 'has_text', type: 'bool' as const, facet: true },
        { name: 'title_key', type: 'string' as const, sort: true },
        // Undated works sort last both ways.
        { name: 'year_asc', type: 'int32' as const },
        { name: 'year_desc', type: 'int32' as const },
      ],
    },
    pages: {
      name: `${prefix}pages`,
      fields: [
        { name: 'work_id', type: 'string' as const, facet: true },
        text('text_f'),
        { name: 'access', type: 'string' as const },
        { name: 'order', type: 'int32' as const },
        { name: 'nonempty', type: 'bool' as const },
      ],
    },
    meta: { name: `${prefix}meta`, fields: [{ name: 'kind', type: 'string' as const }] },
  };
}

// Typesense filter values in backticks (its quoting for values with special characters, which
// has no escape for a backtick itself). Every value we quote is an id, a language code, an enum
// or hex (a free-text `type` goes as the hex of its `type_key`).
const SAFE_VALUE = /^[^`]+$/u;
function quoted(value: string): string {
  if (!SAFE_VALUE.test(value)) throw new Error(`refusing to put ${JSON.stringify(value)} into a Typesense filter`);
  return `\`${value}\``;
}
const inList = (field: string, values: readonly string[]) => `${field}:=[${values.map(quoted).join(',')}]`;
const inNumbers = (field: string, values: readonly number[]) => `${field}:=[${values.map((n) => String(Math.trunc(n))).join(',')}]`;
const and = (parts: ReadonlyArray<string | undefined>) =>
  parts
    .filter((p): p is string => !!p)
    .map((p) => `(${p})`)
    .join(' && ');

/** Typesense `q` from the analysed terms: a word as itself, a run of Han characters as a phrase. */
export function typesenseQuery(terms: readonly QueryTerm[]): string {
  return terms.map((t) => (t.folded.length > 1 ? `"${t.folded.join(' ')}"` : t.folded[0])).join(' ');
}

/** `collection_key` of a work in no collection: not an id (ids start with a letter or digit). */
const NO_COLLECTION = '-';

/** `collection_key` meeting a condition; undefined when every work does. */
function collectionKeyFilter(c: CollectionCondition): string | undefined {
  // No collection listed: a key no work has, so nothing matches.
  if (c.mode === 'in') return inList('collection_key', c.collections.length ? c.collections : ['~']);
  return c.collections.length ? `collection_key:!=[${c.collections.map(quoted).join(',')}]` : undefined;
}

/** Works the viewer may find: at the levels of any library's, or of their own library's works. */
function findableFilter(v: Visibility): string {
  const anywhere = inList('access', findableLevels(v));
  if (!v.own) return anywhere;
  return `(${anywhere}) || (${and([collectionKeyFilter(v.own.works), inList('access', findableLevels(v.own))])})`;
}

/**
 * Levels of the pages a text search may match: pages carry their work's level, not its
 * collection, so a library's staff match at their own library's levels too, and matches in
 * works they may not read are dropped once the works are known (see readableMatches).
 */
function pageLevels(v: Visibility): AccessLevel[] {
  const levels = new Set([...readableLevels(v), ...(v.own ? readableLevels(v.own) : [])]);
  return [...levels];
}

function filterClauses(f: SearchFilters, libraries: LibraryMap, except?: FacetName): string[] {
  const parts: string[] = [];
  if (f.library && except !== 'library') {
    const byLibrary = collectionKeyFilter(libraryCollections(libraries, f.library));
    if (byLibrary) parts.push(byLibrary);
  }
  if (f.collection && except !== 'collection') parts.push(inList('collection', f.collection));
  if (f.language && except !== 'language') parts.push(inList('language', f.language));
  if (f.type && except !== 'type') parts.push(inList('type_key', f.type.map(hex)));
  if (f.century && except !== 'century') parts.push(inNumbers('century', f.century));
  if (f.accessLevel && except !== 'accessLevel') parts.push(inList('access', f.accessLevel));
  if (f.hasText !== undefined && except !== 'hasText') parts.push(`has_text:=${f.hasText}`);
  return parts;
}

const FACET_FIELD: Record<FacetName, string> = {
  // Counted by collection, then summed by library (see libraryCounts).
  library: 'collection_key',
  collection: 'collection',
  language: 'language',
  type: 'type',
  century: 'century',
  hasText: 'has_text',
  accessLevel: 'access',
};

// What we read back from Typesense, checked: a server of another version must fail loudly here.
const Hit = z.object({ document: z.record(z.string(), z.unknown()) });
const SearchResponse = z.object({
  found: z.number(),
  hits: z.array(Hit).optional(),
  grouped_hits: z.array(z.object({ group_key: z.array(z.unknown()), hits: z.array(Hit), found: z.number().optional() })).optional(),
  facet_counts: z
    .array(z.object({ field_name: z.string(), counts: z.array(z.object({ value: z.string(), count: z.number() })) }))
    .optional(),
});
type SearchResponse = z.infer<typeof SearchResponse>;
const MultiSearchResponse = z.object({
  results: z.array(z.union([z.object({ error: z.string(), code: z.number().optional() }), SearchResponse])),
});
const StoredWork = z.object({ id: z.string(), doc: z.string() });
const MatchedWork = z.object({ id: z.string(), access: z.enum(ACCESS_LEVELS), collection: z.string().optional() });
const StoredPage = z.object({
  id: z.string(),
  work_id: z.string(),
  canvas_id: z.string(),
  label: z.string(),
  order: z.number(),
  text: z.string(),
  words: z.string().optional(),
});
const Checkpoint = z.object({ version: z.number(), position: z.string().nullable() });

type SearchParams = Record<string, string | number | boolean>;
type Search = SearchParams & { collection: string };

const httpStatus = (err: unknown): number | undefined =>
  err instanceof Typesense.Errors.TypesenseError ? err.httpStatus : undefined;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

export interface TypesenseIndexOptions {
  /** Collection name prefix, so that several indexes (tests, staging) share one server. */
  prefix?: string;
  /** Per request, before the client tries the next node. */
  timeoutSeconds?: number;
}

export class TypesenseSearchIndex implements SearchIndex {
  private readonly client: InstanceType<typeof Typesense.Client>;
  private readonly names: ReturnType<typeof schemas>;
  private readonly where: string;

  constructor(connection: TypesenseConnection, options: TypesenseIndexOptions = {}) {
    this.names = schemas(options.prefix ?? 'thukho_');
    this.where = connection.nodes.map((n) => `${n.protocol}://${n.host}:${n.port}`).join(', ');
    this.client = new Typesense.Client({
      nodes: connection.nodes,
      apiKey: connection.apiKey,
      connectionTimeoutSeconds: options.timeoutSeconds ?? 10,
      // One try per node: a cluster fails over, a lone server down is reported at once.
      numRetries: connection.nodes.length,
      retryIntervalSeconds: 0.1,
      logLevel: 'silent',
    });
  }

  /** Every engine call goes through here: an outage or a refused key becomes SearchUnavailableError, without the key. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const status = httpStatus(err);
      if (status === 401 || status === 403) throw new SearchUnavailableError(`Typesense at ${this.where} refused the API key (HTTP ${status}) while trying to ${what}`);
      if (status === undefined || status >= 500 || status === 408 || status === 429) {
        const code = status ?? (err instanceof Error && 'code' in err ? String(err.code) : 'no answer');
        throw new SearchUnavailableError(`Typesense at ${this.where} did not answer while trying to ${what} (${code})`);
      }
      throw err;
    }
  }

  private async ignoreMissing<T>(what: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(what, run);
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  private async multiSearch(searches: readonly Search[]): Promise<SearchResponse[]> {
    if (searches.length === 0) return [];
    const raw: unknown = await this.call('search', () => this.client.multiSearch.perform({ searches: searches.map((s) => ({ ...s })) }, {}));
    return MultiSearchResponse.parse(raw).results.map((r, i) => {
      if ('error' in r) throw new Error(`Typesense rejected search ${i} on ${searches[i]?.collection}: ${r.error}`);
      return r;
    });
  }

  private async createCollections(): Promise<void> {
    for (const schema of [this.names.works, this.names.pages, this.names.meta]) {
      await this.call(`create collection ${schema.name}`, () => this.client.collections().create(schema));
    }
    await this.call('write the schema version', () =>
      this.client.collections(this.names.meta.name).documents().upsert({ id: 'schema', kind: 'schema', version: SCHEMA_VERSION }),
    );
  }

  private async dropCollections(names: readonly string[]): Promise<void> {
    for (const name of names) await this.ignoreMissing(`drop collection ${name}`, () => this.client.collections(name).delete());
  }

  async ensureSchema(): Promise<SchemaStatus> {
    const meta = this.names.meta.name;
    const schema = await this.ignoreMissing('read the schema version', () => this.client.collections(meta).documents('schema').retrieve());
    const hasMeta = schema !== undefined || (await this.ignoreMissing('look for the meta collection', () => this.client.collections(meta).retrieve())) !== undefined;
    if (schema && z.object({ version: z.number() }).safeParse(schema).data?.version === SCHEMA_VERSION) {
      const works = await this.ignoreMissing('look for the works collection', () => this.client.collections(this.names.works.name).retrieve());
      const pages = await this.ignoreMissing('look for the pages collection', () => this.client.collections(this.names.pages.name).retrieve());
      if (works && pages) return 'current';
    }
    await this.dropCollections([this.names.works.name, this.names.pages.name, meta]);
    await this.createCollections();
    return hasMeta ? 'migrated' : 'created';
  }

  async upsert(docs: readonly SearchDocument[], checkpoint?: IndexCheckpoint): Promise<void> {
    // The last version of a document in a batch wins, as in a sequence of upserts.
    const works = [...new Map(docs.filter((d): d is WorkDocument => d.kind === 'work').map((d) => [d.id, d])).values()];
    const pages = [...new Map(docs.filter((d): d is PageDocument => d.kind === 'page').map((d) => [d.id, d])).values()];
    if (works.length > 0) {
      const hasText = await this.pagesWithText(works.map((w) => w.id));
      await this.importDocs(this.names.works.name, works.map((w) => workRecord(w, hasText.has(w.id))));
      // The pages take the work's access level, so that text search filters on it directly.
      const byLevel = new Map<AccessLevel, string[]>();
      for (const w of works) byLevel.set(w.accessLevel, [...(byLevel.get(w.accessLevel) ?? []), w.id]);
      for (const [level, ids] of byLevel) {
        for (const chunk of chunks(ids, BATCH)) {
          await this.call('update the access level of pages', () =>
            this.client.collections(this.names.pages.name).documents().update({ access: level }, { filter_by: inList('work_id', chunk) }),
          );
        }
      }
    }
    if (pages.length > 0) {
      const levels = new Map<string, string>(works.map((w) => [w.id, w.accessLevel]));
      const unknown = [...new Set(pages.map((p) => p.workId).filter((id) => !levels.has(id)))];
      for (const [id, level] of await this.accessLevels(unknown)) levels.set(id, level);
      // Lone surrogates become U+FFFD (same length, so word-box offsets stay true).
      await this.importDocs(
        this.names.pages.name,
        pages.map((p) => {
          const text = wellFormed(p.text);
          return {
            id: p.id,
            work_id: p.workId,
            text_f: indexText(tokenize(text), 'folded'),
            access: levels.get(p.workId) ?? 'none',
            order: p.order,
            nonempty: text !== '',
            canvas_id: p.canvasId,
            label: p.label,
            text,
            ...(p.words ? { words: JSON.stringify(p.words) } : {}),
          };
        }),
      );
      await this.refreshHasText(pages.map((p) => p.workId));
    }
    if (checkpoint) await this.writeCheckpoint(checkpoint);
  }

  async delete(refs: readonly DocumentRef[], checkpoint?: IndexCheckpoint): Promise<void> {
    const workIds = refs.filter((r) => r.kind === 'work').map((r) => r.id);
    const pageIds = refs.filter((r) => r.kind === 'page').map((r) => r.id);
    for (const chunk of chunks(workIds, BATCH)) {
      await this.deleteByFilter(this.names.pages.name, inList('work_id', chunk));
      await this.deleteByFilter(this.names.works.name, inList('id', chunk));
    }
    const touched: string[] = [];
    for (const chunk of chunks(pageIds, BATCH)) {
      const [found] = await this.multiSearch([
        { collection: this.names.pages.name, q: '*', filter_by: inList('id', chunk), include_fields: 'work_id', per_page: BATCH },
      ]);
      for (const h of found?.hits ?? []) touched.push(String(h.document.work_id));
      await this.deleteByFilter(this.names.pages.name, inList('id', chunk));
    }
    await this.refreshHasText(touched);
    if (checkpoint) await this.writeCheckpoint(checkpoint);
  }

  async readCheckpoint(): Promise<IndexCheckpoint | undefined> {
    const doc = await this.ignoreMissing('read the checkpoint', () => this.client.collections(this.names.meta.name).documents('checkpoint').retrieve());
    if (!doc) return undefined;
    const cp = Checkpoint.parse(doc);
    return { version: cp.version, position: cp.position === null ? null : BigInt(cp.position) };
  }

  async clear(): Promise<void> {
    await this.dropCollections([this.names.works.name, this.names.pages.name]);
    for (const schema of [this.names.works, this.names.pages]) {
      await this.call(`create collection ${schema.name}`, () => this.client.collections().create(schema));
    }
    await this.ignoreMissing('delete the checkpoint', () => this.client.collections(this.names.meta.name).documents('checkpoint').delete());
  }

  /** Drop all three collections (a test run cleaning up after itself). */
  async drop(): Promise<void> {
    await this.dropCollections([this.names.works.name, this.names.pages.name, this.names.meta.name]);
  }

  async close(): Promise<void> {
    // The client holds no connection open between requests.
  }

  private async writeCheckpoint(cp: IndexCheckpoint): Promise<void> {
    const doc = { id: 'checkpoint', kind: 'checkpoint', version: cp.version, position: cp.position === null ? null : cp.position.toString() };
    await this.call('write the checkpoint', () => this.client.collections(this.names.meta.name).documents().upsert(doc));
  }

  private async importDocs(collection: string, docs: ReadonlyArray<Record<string, unknown>>): Promise<void> {
    for (const chunk of chunks(docs, 1000)) {
      const jsonl = chunk.map((d) => JSON.stringify(d)).join('\n');
      // The client throws an ImportError naming the failed lines; a failed line is our bug, not the viewer's.
      await this.call(`import documents into ${collection}`, () => this.client.collections(collection).documents().import(jsonl, { action: 'upsert' }));
    }
  }

  private async deleteByFilter(collection: string, filter: string): Promise<void> {
    await this.call(`delete documents from ${collection}`, () => this.client.collections(collection).documents().delete({ filter_by: filter }));
  }

  /** The access level of each work that is indexed. */
  private async accessLevels(workIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const chunk of chunks(workIds, BATCH)) {
      const [found] = await this.multiSearch([
        { collection: this.names.works.name, q: '*', filter_by: inList('id', chunk), include_fields: 'id,access', per_page: BATCH },
      ]);
      for (const h of found?.hits ?? []) out.set(String(h.document.id), String(h.document.access));
    }
    return out;
  }

  /** Which of these works have at least one page with text. */
  private async pagesWithText(workIds: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const chunked = chunks([...new Set(workIds)], BATCH);
    const results = await this.multiSearch(
      chunked.map((chunk) => ({
        collection: this.names.pages.name,
        q: '*',
        filter_by: and([inList('work_id', chunk), 'nonempty:=true']),
        facet_by: 'work_id',
        max_facet_values: BATCH,
        per_page: 0,
      })),
    );
    for (const r of results) for (const f of r.facet_counts ?? []) for (const c of f.counts) if (c.count > 0) out.add(c.value);
    return out;
  }

  private async refreshHasText(workIds: readonly string[]): Promise<void> {
    const ids = [...new Set(workIds)];
    if (ids.length === 0) return;
    const withText = await this.pagesWithText(ids);
    const existing = await this.accessLevels(ids);
    const updates = [...existing.keys()].map((id) => ({ id, has_text: withText.has(id) }));
    for (const chunk of chunks(updates, 1000)) {
      const jsonl = chunk.map((d) => JSON.stringify(d)).join('\n');
      await this.call('update has_text of works', () => this.client.collections(this.names.works.name).documents().import(jsonl, { action: 'update' }));
    }
  }

  async search(query: SearchQuery): Promise<SearchResult> {
    const terms = queryTerms(query.q);
    const termCount = terms.reduce((n, t) => n + t.folded.length, 0);
    if (termCount > MAX_QUERY_TERMS) throw tooManyTerms(termCount);
    const findable = findableFilter(query.visibility);
    const readable = pageLevels(query.visibility);
    const libraries = query.libraries ?? HOME_ONLY;

    let matched: Matched | undefined;
    if (terms.length > 0) {
      matched = await this.matchedWorks(terms, findable, readable);
      if (query.visibility.own) matched = await this.readableMatches(matched, query.visibility);
      if (matched.order.length === 0) return emptyResult(query);
    }
    const scope = and([findable, matched ? inList('id', matched.order) : undefined]);
    const facetSearches: Search[] = FACETS.map((f) => ({
      collection: this.names.works.name,
      q: '*',
      filter_by: and([scope, ...filterClauses(query.filters, libraries, f)]),
      facet_by: FACET_FIELD[f],
      // Every collection, for the library facet to sum them all.
      max_facet_values: f === 'library' ? MAX_COLLECTIONS : BATCH,
      per_page: 0,
    }));
    const filtered = and([scope, ...filterClauses(query.filters, libraries)]);

    let total: number;
    let pageWorks: WorkDocument[];
    let facetResults: SearchResponse[];
    if (matched && query.sort === 'relevance') {
      // Relevance is the order of step 1; Typesense gives the filtered ids, we page them.
      const [first, ...facetsFound] = await this.multiSearch([
        { collection: this.names.works.name, q: '*', filter_by: filtered, include_fields: 'id', per_page: BATCH, page: 1 },
        ...facetSearches,
      ]);
      facetResults = facetsFound;
      total = first?.found ?? 0;
      const kept = new Set((first?.hits ?? []).map((h) => String(h.document.id)));
      for (let p = 2; p <= Math.ceil(total / BATCH); p++) {
        const [more] = await this.multiSearch([{ collection: this.names.works.name, q: '*', filter_by: filtered, include_fields: 'id', per_page: BATCH, page: p }]);
        for (const h of more?.hits ?? []) kept.add(String(h.document.id));
      }
      const ids = matched.order.filter((id) => kept.has(id)).slice((query.page - 1) * query.perPage, query.page * query.perPage);
      pageWorks = await this.worksByIds(ids);
    } else {
      const sortBy =
        query.sort === 'date' ? 'year_asc:asc,title_key:asc' : query.sort === 'date-desc' ? 'year_desc:desc,title_key:asc' : 'title_key:asc';
      const [main, ...facetsFound] = await this.multiSearch([
        { collection: this.names.works.name, q: '*', filter_by: filtered, sort_by: sortBy, include_fields: 'id,doc', per_page: query.perPage, page: query.page },
        ...facetSearches,
      ]);
      facetResults = facetsFound;
      total = main?.found ?? 0;
      pageWorks = (main?.hits ?? []).map((h) => parseWork(h.document));
    }

    const facets = Object.fromEntries(
      FACETS.map((f, i) => {
        const counts = (facetResults[i]?.facet_counts?.[0]?.counts ?? []).map((c) => [c.value, c.count] as const);
        return [f, facetValues(f, f === 'library' ? libraryCounts(counts, libraries) : counts, query.filters)];
      }),
    ) as Record<FacetName, FacetValue[]>;
    const folded = new Set(terms.flatMap((t) => t.folded));
    const withPages = matched
      ? pageWorks.filter((w) => (matched.pageMatches.get(w.id) ?? 0) > 0 && mayRead(query.visibility, w.accessLevel, w.metadata.collectionId)).map((w) => w.id)
      : [];
    const pageHits = query.pageHitsPerWork > 0 && withPages.length > 0 ? await this.pageHits(terms, withPages, readable, folded, query.pageHitsPerWork) : new Map<string, PageHit[]>();
    const hits: WorkHit[] = pageWorks.map((work) => ({
      work,
      title: highlight(work.metadata.title, folded),
      snippet: recordSnippet(work.metadata, folded),
      pageMatches: matched?.pageMatches.get(work.id) ?? 0,
      pageHits: pageHits.get(work.id) ?? [],
    }));
    return { total, page: query.page, perPage: query.perPage, pageCount: Math.max(1, Math.ceil(total / query.perPage)), hits, facets };
  }

  /** Step 1: works whose record matches (in Typesense's order), then works matched only by pages the viewer may read. */
  private async matchedWorks(terms: readonly QueryTerm[], findable: string, readable: readonly AccessLevel[]): Promise<Matched> {
    const q = typesenseQuery(terms);
    const exact = [...new Set(terms.flatMap((t) => t.exact))].map(hex);
    const common = { q, prefix: false, num_typos: 0, drop_tokens_threshold: 0, typo_tokens_threshold: 0, split_join_tokens: 'off', per_page: BATCH };
    const order: string[] = [];
    const seen = new Set<string>();
    const pageMatches = new Map<string, number>();
    // Both lists are read a page at a time until together they name MATCH_CAP works.
    const union = new Set<string>();
    for (let p = 1; union.size < MATCH_CAP; p++) {
      const [works, pages] = await this.multiSearch([
        {
          collection: this.names.works.name,
          ...common,
          query_by: QUERY_BY,
          query_by_weights: QUERY_BY_WEIGHTS,
          filter_by: findable,
          sort_by: `_text_match:desc,_eval(${inList('exact', exact)}):desc,title_key:asc`,
          include_fields: 'id',
          page: p,
        },
        {
          collection: this.names.pages.name,
          ...common,
          query_by: 'text_f',
          filter_by: inList('access', readable),
          group_by: 'work_id',
          group_limit: 1,
          sort_by: '_text_match:desc,order:asc',
          include_fields: 'work_id',
          page: p,
        },
      ]);
      const recordHits = (works?.hits ?? []).map((h) => String(h.document.id));
      for (const id of recordHits) if (!seen.has(id)) (seen.add(id), order.push(id), union.add(id));
      const groups = pages?.grouped_hits ?? [];
      for (const g of groups) {
        const id = String(g.group_key[0]);
        pageMatches.set(id, g.found ?? g.hits.length);
        union.add(id);
      }
      if (recordHits.length < BATCH && groups.length < BATCH) break;
    }
    const recordMatched = new Set(seen);
    for (const id of pageMatches.keys()) if (!seen.has(id)) (seen.add(id), order.push(id));
    return { order: order.slice(0, MATCH_CAP), recordMatched, pageMatches };
  }

  /**
   * Step 1 for a library's staff: page matches only in works whose text they may read, now
   * that the works' collections are known (a work found by its record alone stays).
   */
  private async readableMatches(matched: Matched, v: Visibility): Promise<Matched> {
    const ids = [...matched.pageMatches.keys()];
    const readable = new Set<string>();
    for (const chunk of chunks(ids, BATCH)) {
      const [found] = await this.multiSearch([
        { collection: this.names.works.name, q: '*', filter_by: inList('id', chunk), include_fields: 'id,access,collection', per_page: BATCH },
      ]);
      for (const h of found?.hits ?? []) {
        const w = MatchedWork.parse(h.document);
        if (mayRead(v, w.access, w.collection)) readable.add(w.id);
      }
    }
    const pageMatches = new Map([...matched.pageMatches].filter(([id]) => readable.has(id)));
    // A work matched by its record keeps its place; one matched only by pages it may not read goes.
    const order = matched.order.filter((id) => matched.recordMatched.has(id) || readable.has(id));
    return { order, pageMatches, recordMatched: matched.recordMatched };
  }

  private async worksByIds(ids: readonly string[]): Promise<WorkDocument[]> {
    if (ids.length === 0) return [];
    const [found] = await this.multiSearch([
      { collection: this.names.works.name, q: '*', filter_by: inList('id', ids), include_fields: 'id,doc', per_page: ids.length },
    ]);
    const byId = new Map((found?.hits ?? []).map((h) => [String(h.document.id), parseWork(h.document)]));
    return ids.map((id) => byId.get(id)).filter((w): w is WorkDocument => w !== undefined);
  }

  /** Step 3: the best pages of each shown work, snippets cut from the stored text (Typesense's highlight offsets are not UTF-16). */
  private async pageHits(terms: readonly QueryTerm[], workIds: readonly string[], readable: readonly AccessLevel[], folded: ReadonlySet<string>, perWork: number) {
    const [found] = await this.multiSearch([
      {
        collection: this.names.pages.name,
        q: typesenseQuery(terms),
        query_by: 'text_f',
        prefix: false,
        num_typos: 0,
        drop_tokens_threshold: 0,
        typo_tokens_threshold: 0,
        split_join_tokens: 'off',
        filter_by: and([inList('work_id', workIds), inList('access', readable)]),
        group_by: 'work_id',
        group_limit: perWork,
        sort_by: '_text_match:desc,order:asc',
        include_fields: 'id,work_id,canvas_id,label,order,text,words',
        per_page: workIds.length,
      },
    ]);
    const out = new Map<string, PageHit[]>();
    for (const g of found?.grouped_hits ?? []) {
      const hits = g.hits.map((h): PageHit => {
        const p = StoredPage.parse(h.document);
        const cut = snippet(p.text, folded);
        const words = p.words === undefined ? undefined : (JSON.parse(p.words) as WordBox[]);
        const xywh = boxOf(words, cut.firstMatch);
        return { pageId: p.id, canvasId: p.canvas_id, label: p.label, order: p.order, snippet: cut.segments, ...(xywh ? { xywh } : {}) };
      });
      out.set(String(g.group_key[0]), hits);
    }
    return out;
  }
}

interface Matched {
  /** Work ids in rank order. */
  order: string[];
  /** Those found by their record. */
  recordMatched: ReadonlySet<string>;
  /** How many readable pages of each work matched. */
  pageMatches: Map<string, number>;
}

function workRecord(doc: WorkDocument, hasText: boolean): Record<string, unknown> {
  const m = doc.metadata;
  const fields = workFieldText(m);
  const analysed = Object.fromEntries(Object.entries(fields).map(([f, text]) => [f, tokenize(wellFormed(text))])) as Record<keyof typeof fields, Token[]>;
  const all = Object.values(analysed).flat();
  return {
    id: doc.id,
    ...Object.fromEntries(Object.entries(analysed).map(([f, tokens]) => [`${f}_f`, indexText(tokens, 'folded')])),
    all_f: indexText(all, 'folded'),
    exact: [...new Set(all.map((t) => hex(t.exact)))],
    access: doc.accessLevel,
    ...(m.collectionId ? { collection: m.collectionId } : {}),
    collection_key: m.collectionId ?? NO_COLLECTION,
    ...(m.language?.length ? { language: m.language } : {}),
    ...(m.type ? { type: m.type, type_key: hex(m.type) } : {}),
    ...(m.yearFrom === undefined ? {} : { century: centuryOf(m.yearFrom) }),
    has_text: hasText,
    title_key: titleSortKey(m.title),
    year_asc: m.yearFrom ?? 2_147_483_647,
    year_desc: m.yearFrom ?? -2_147_483_648,
    doc: JSON.stringify(doc),
  };
}

/** Works per collection summed into works per library. */
function libraryCounts(byCollection: ReadonlyArray<readonly [string, number]>, libraries: LibraryMap): Array<[string, number]> {
  const out = new Map<string, number>();
  for (const [key, n] of byCollection) {
    const library = libraryOfCollection(libraries, key === NO_COLLECTION ? null : key);
    out.set(library, (out.get(library) ?? 0) + n);
  }
  return [...out];
}

function parseWork(document: Record<string, unknown>): WorkDocument {
  return JSON.parse(StoredWork.parse(document).doc) as WorkDocument;
}

function emptyResult(query: SearchQuery): SearchResult {
  const facets = Object.fromEntries(FACETS.map((f) => [f, facetValues(f, [], query.filters)])) as Record<FacetName, FacetValue[]>;
  return { total: 0, page: query.page, perPage: query.perPage, pageCount: 1, hits: [], facets };
}

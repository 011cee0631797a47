import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { centuryOf } from '../domain/year-range.ts';
import type { AccessLevel, Metadata } from '../domain/metadata.ts';
import {
  type DocumentRef,
  FACETS,
  type FacetName,
  type FacetValue,
  findableLevels,
  HOME_ONLY,
  type IndexCheckpoint,
  libraryCollections,
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
  tooManyTerms,
  type Visibility,
  type WordBox,
  type WorkDocument,
  type WorkHit,
} from './port.ts';
import { boxOf, highlight, snippet } from './snippet.ts';
import { hasAllTerms, indexText, type QueryTerm, queryTerms, termPrefilter, tokenize, wellFormed } from './text-folding.ts';
import { titleSortKey } from './title-sort-key.ts';
import { countFacets, type FacetCombo } from './facet-combos.ts';
import { facetValues } from './facet-values.ts';
import { recordSnippet, type WorkField, workFieldText } from './work-record.ts';

/**
 * The embedded search adapter: SQLite FTS5 in a file of its own (the index is a projection:
 * delete the file and rebuild it from the log).
 *
 * Text is analysed by `text-folding.ts`, not by SQLite: each FTS column holds tokens joined by
 * spaces and the `ascii` tokenizer only splits them again (it keeps every non-ASCII byte, so
 * a Nôm character outside the BMP stays one token). Every field has a folded column and an
 * exact one; a query term matches the folded form OR the exact form, which matches the same
 * documents but lets bm25 rank `kím` above `Kim` for the query `kím`.
 *
 * The MATCH expression is built only from tokens, each quoted by us: a token is letters,
 * digits and marks, so nothing the user types (quotes, `*`, `NEAR(`, `AND`, parentheses)
 * reaches FTS5 as syntax.
 *
 * A work matches when its record has every query term, or when one page the viewer may read
 * has them all. Facets and totals are counted in SQL over the matched works.
 */

// Schema version: a change drops the index, and the projection rebuilds it.
const SCHEMA_VERSION = 6;

/**
 * A page's rowid is its work's key shifted left by PAGE_BITS plus a sequence within the work,
 * so that grouping matched pages by work reads only the rowids FTS5 returns (no lookup per
 * page), and one work's matched pages are one range of them. Work keys come from `work_keys`,
 * given to whichever of a work or its page comes first.
 */
const PAGE_BITS = 24;
const PAGE_SPAN = 2 ** PAGE_BITS;

// bm25 weights: title > alternative title > creator, call number > subject > description >
// other catalogue text > page text. Page bm25 is summed with the record's unscaled (weight 1).
const WORK_FIELDS: ReadonlyArray<readonly [WorkField, number]> = [
  ['title', 10],
  ['alt', 6],
  ['creator', 4],
  ['identifier', 4],
  ['subject', 3],
  ['description', 2],
  ['other', 1.5],
];
const WORK_COLUMNS = WORK_FIELDS.flatMap(([f]) => [`${f}_f`, `${f}_x`]);
const WORK_WEIGHTS = WORK_FIELDS.flatMap(([, w]) => [w, w]).join(', ');


const sqlList = (levels: readonly AccessLevel[]) => levels.map((l) => `'${l}'`).join(', ');
const sqlText = (value: string) => `'${value.replace(/'/g, "''")}'`;

/** Conditions on a work row `w` (its access and collection): the viewer may find it; may read its pages. */
function visibleSql(v: Visibility): { findable: string; readable: string } {
  const at = (levels: readonly AccessLevel[]) => `w.access IN (${sqlList(levels)})`;
  const findable = at(findableLevels(v));
  const readable = at(readableLevels(v));
  if (!v.own) return { findable, readable };
  const listed = v.own.works.collections.map(sqlText).join(', ');
  const own =
    v.own.works.mode === 'in'
      ? listed ? `w.collection IN (${listed})` : '0'
      : listed ? `(w.collection IS NULL OR w.collection NOT IN (${listed}))` : '1';
  return {
    findable: `(${findable} OR (${own} AND ${at(findableLevels(v.own))}))`,
    readable: `(${readable} OR (${own} AND ${at(readableLevels(v.own))}))`,
  };
}

const quote = (tokens: readonly string[]) => `"${tokens.join(' ').replace(/"/g, '""')}"`;

/**
 * FTS5 MATCH for the documents that have every term, without ranking: the folded phrases
 * alone. Every exact phrase folds to its folded one at the same positions, so this matches
 * exactly the documents `matchExpression` matches, and reads each term's posting list once
 * instead of two (half the time for a term on most pages).
 */
export function foldedExpression(terms: readonly QueryTerm[]): string {
  return terms.map((t) => quote(t.folded)).join(' AND ');
}

/** FTS5 MATCH for terms that must all occur; each term as its folded phrase OR its exact one. */
export function matchExpression(terms: readonly QueryTerm[]): string {
  return terms
    .map((t) => {
      const folded = quote(t.folded);
      const exact = quote(t.exact);
      return folded === exact ? folded : `(${folded} OR ${exact})`;
    })
    .join(' AND ');
}

interface ComboRow {
  collection: string | null;
  type: string | null;
  century: number | null;
  has_text: number;
  access: AccessLevel;
  langs: string;
  n: number;
}

interface WorkRow {
  rid: number;
  pages: number | null;
}

interface Found {
  work: WorkDocument;
  /** The work's key: its `works` rowid, and the high bits of its pages' rowids. */
  key: number;
  pages: number;
}

interface PageRow {
  id: string;
  canvas_id: string;
  label: string;
  ord: number;
  text: string;
  words: string | null;
}

type Params = Record<string, string | number>;

const MAX_STATEMENTS = 500;

const TEMP_TABLES = ['matched_pages', 'page_counts', 'page_works', 'record_scores', 'matched'];

/**
 * A query whose terms are on more pages than this is not ranked by each page's bm25: scoring
 * costs about a microsecond a page (a term on 190,000 of 200,000 pages took 120 ms to score,
 * against 22 ms to count by work), and terms that common have an inverse document frequency
 * near zero, so their bm25 barely tells pages apart. Such a query ranks works by their
 * record's bm25, then (page text being the lightest field) by the share of their pages that
 * match; matching, counts, facets and page hits are the same.
 */
const EXACT_PAGE_LIMIT = 5_000;

/** Pages read to find page hits after a search of common terms (see pageHits). */
const PAGE_SCAN_BUDGET = 400;

function openDb(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // A projection: a lost commit is replayed from the checkpoint kept in the same transaction.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  // Each search fills temp tables with the matching pages and works: in memory, not a file.
  db.pragma('temp_store = MEMORY');
  return db;
}

export class EmbeddedSearchIndex implements SearchIndex {
  private db: Database.Database;
  // Prepared statements by SQL text: a search builds its SQL from the query's shape (filters,
  // sort), so a handful of texts recur; preparing one costs as much as running a small one.
  private statements = new Map<string, Database.Statement>();

  constructor(
    private readonly path: string,
    private readonly exactPageLimit = EXACT_PAGE_LIMIT,
  ) {
    this.db = openDb(path);
  }

  async ensureSchema(): Promise<SchemaStatus> {
    const tables = this.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    const version = tables.some((t) => t.name === 'search_meta')
      ? this.db.prepare<[], { value: string }>("SELECT value FROM search_meta WHERE key = 'schema_version'").get()?.value
      : undefined;
    if (version === String(SCHEMA_VERSION)) {
      this.createTempTables();
      return 'current';
    }
    const status: SchemaStatus = tables.length > 0 ? 'migrated' : 'created';
    if (tables.length > 0) {
      // Another schema (or a creation cut short): the file is only a projection, so it goes
      // whole. Dropping the tables instead is not enough: SQLite 3.53's FTS5 leaves the
      // `_content` shadow table of a contentless_unindexed table behind on DROP TABLE, and
      // defensive mode forbids dropping it by name.
      this.db.close();
      this.statements.clear();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${this.path}${suffix}`, { force: true });
      this.db = openDb(this.path);
    }
    const db = this.db;
    db.transaction(() => {
      db.exec(`
        CREATE TABLE search_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        -- pages: how many pages the work has indexed (a common term's share of them ranks works).
        CREATE TABLE work_keys (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, pages INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE works (
          rid        INTEGER PRIMARY KEY,
          id         TEXT NOT NULL UNIQUE,
          access     TEXT NOT NULL,
          collection TEXT,
          type       TEXT,
          century    INTEGER,
          year_from  INTEGER,
          title_key  TEXT NOT NULL,
          has_text   INTEGER NOT NULL DEFAULT 0,
          -- The work's languages, sorted and joined by spaces (codes have none).
          langs      TEXT NOT NULL DEFAULT ''
        );
        -- The document apart: facets and counts scan works, which must stay narrow to be fast.
        CREATE TABLE work_docs (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
        CREATE INDEX works_by_title ON works (title_key);
        CREATE INDEX works_by_year ON works (year_from, title_key);
        -- Covering, in GROUP BY order: browsing counts every facet in one pass over this index.
        CREATE INDEX works_by_facets ON works (collection, type, century, has_text, access, langs);
        CREATE TABLE pages (
          rid       INTEGER PRIMARY KEY,
          id        TEXT NOT NULL UNIQUE,
          work_id   TEXT NOT NULL,
          canvas_id TEXT NOT NULL,
          label     TEXT NOT NULL,
          ord       INTEGER NOT NULL,
          has_text  INTEGER NOT NULL
        );
        -- The text apart: ordering a work's matched pages reads narrow rows, and only the pages
        -- shown have their text read.
        CREATE TABLE page_texts (rid INTEGER PRIMARY KEY, text TEXT NOT NULL, words TEXT);
        CREATE INDEX pages_by_work ON pages (work_id, ord);
        CREATE VIRTUAL TABLE works_fts USING fts5(${WORK_COLUMNS.join(', ')}, tokenize = 'ascii', content = '', contentless_delete = 1);
        CREATE VIRTUAL TABLE pages_fts USING fts5(text_f, text_x, tokenize = 'ascii', content = '', contentless_delete = 1);
      `);
      db.prepare("INSERT INTO search_meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
    })();
    this.createTempTables();
    return status;
  }

  private createTempTables(): void {
    // The search's working set, per connection: the pages that match (by rowid, so one work's
    // pages are one range) and the works that match with their scores.
    this.db.exec(`
      CREATE TEMP TABLE IF NOT EXISTS matched_pages (rid INTEGER PRIMARY KEY, s REAL NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS page_counts (wrid INTEGER PRIMARY KEY, n INTEGER NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS page_works (wrid INTEGER PRIMARY KEY, s REAL NOT NULL, n INTEGER NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS record_scores (wrid INTEGER PRIMARY KEY, s REAL NOT NULL);
      -- The matched works with their own copy of what filters, facets and sorting read, so that
      -- those queries scan this table alone (columns named as in works).
      CREATE TEMP TABLE IF NOT EXISTS matched (
        rid INTEGER PRIMARY KEY, rec REAL, pg REAL, pages INTEGER NOT NULL,
        access TEXT NOT NULL, collection TEXT, type TEXT, century INTEGER, year_from INTEGER, title_key TEXT NOT NULL, has_text INTEGER NOT NULL,
        langs TEXT NOT NULL
      );
    `);
  }

  async upsert(docs: readonly SearchDocument[], checkpoint?: IndexCheckpoint): Promise<void> {
    this.db.transaction(() => {
      const touched = new Set<string>();
      for (const doc of docs) {
        if (doc.kind === 'work') this.putWork(doc);
        else this.putPage(doc);
        touched.add(doc.kind === 'work' ? doc.id : doc.workId);
      }
      for (const id of touched) this.refreshHasText(id);
      if (checkpoint) this.writeCheckpoint(checkpoint);
    })();
  }

  async delete(refs: readonly DocumentRef[], checkpoint?: IndexCheckpoint): Promise<void> {
    this.db.transaction(() => {
      for (const ref of refs) {
        if (ref.kind === 'work') this.deleteWork(ref.id);
        else {
          const workId = this.deletePage(ref.id);
          if (workId !== undefined) this.refreshHasText(workId);
        }
      }
      if (checkpoint) this.writeCheckpoint(checkpoint);
    })();
  }

  async readCheckpoint(): Promise<IndexCheckpoint | undefined> {
    const row = this.statement<[], { value: string }>("SELECT value FROM search_meta WHERE key = 'checkpoint'").get();
    if (!row) return undefined;
    const cp = JSON.parse(row.value) as { version: number; position: string | null };
    return { version: cp.version, position: cp.position === null ? null : BigInt(cp.position) };
  }

  async clear(): Promise<void> {
    this.db.transaction(() => {
      this.db.exec(`
        DELETE FROM works; DELETE FROM work_docs; DELETE FROM work_keys; DELETE FROM pages; DELETE FROM page_texts;
        INSERT INTO works_fts (works_fts) VALUES ('delete-all');
        INSERT INTO pages_fts (pages_fts) VALUES ('delete-all');
        DELETE FROM search_meta WHERE key = 'checkpoint';
      `);
    })();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private statement<P extends object | unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      // Filters of many values make many texts: the oldest goes, so a crafted stream of
      // queries cannot grow the cache without bound.
      if (this.statements.size >= MAX_STATEMENTS) this.statements.delete(this.statements.keys().next().value as string);
      this.statements.set(sql, st);
    }
    return st as Database.Statement<P, R>;
  }

  private writeCheckpoint(cp: IndexCheckpoint): void {
    const value = JSON.stringify({ version: cp.version, position: cp.position === null ? null : cp.position.toString() });
    this.statement("INSERT INTO search_meta (key, value) VALUES ('checkpoint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(value);
  }

  /** The work's key (its `works` rowid), made when the work or one of its pages is first seen. */
  private workKey(workId: string): number {
    const row = this.statement<[string], { rid: number }>('SELECT rid FROM work_keys WHERE id = ?').get(workId);
    return row ? row.rid : Number(this.statement('INSERT INTO work_keys (id) VALUES (?)').run(workId).lastInsertRowid);
  }

  private putWork(doc: WorkDocument): void {
    const m = doc.metadata;
    const existing = this.statement<[string], { rid: number }>('SELECT rid FROM works WHERE id = ?').get(doc.id);
    const row = {
      id: doc.id,
      access: doc.accessLevel,
      collection: m.collectionId ?? null,
      type: m.type ?? null,
      century: m.yearFrom === undefined ? null : centuryOf(m.yearFrom),
      year_from: m.yearFrom ?? null,
      title_key: titleSortKey(m.title),
      langs: [...new Set(m.language ?? [])].sort().join(' '),
    };
    let rid: number;
    if (existing) {
      rid = existing.rid;
      this.statement(
        `UPDATE works SET access = @access, collection = @collection, type = @type, century = @century,
           year_from = @year_from, title_key = @title_key, langs = @langs WHERE rid = @rid`,
      ).run({ ...row, rid });
      this.statement('DELETE FROM works_fts WHERE rowid = ?').run(rid);
    } else {
      rid = this.workKey(doc.id);
      this.statement(
        `INSERT INTO works (rid, id, access, collection, type, century, year_from, title_key, langs)
         VALUES (@rid, @id, @access, @collection, @type, @century, @year_from, @title_key, @langs)`,
      ).run({ ...row, rid });
    }
    this.statement('INSERT INTO work_docs (rid, doc) VALUES (?, ?) ON CONFLICT (rid) DO UPDATE SET doc = excluded.doc').run(rid, JSON.stringify(doc));
    const fields = workFieldText(m);
    const values = WORK_FIELDS.flatMap(([f]) => {
      const tokens = tokenize(wellFormed(fields[f]));
      return [indexText(tokens, 'folded'), indexText(tokens, 'exact')];
    });
    this.statement(`INSERT INTO works_fts (rowid, ${WORK_COLUMNS.join(', ')}) VALUES (?, ${WORK_COLUMNS.map(() => '?').join(', ')})`).run(rid, ...values);
  }

  private putPage(doc: PageDocument): void {
    // Lone surrogates become U+FFFD (same length, so word-box offsets stay true).
    const text = wellFormed(doc.text);
    const row = {
      id: doc.id,
      work_id: doc.workId,
      canvas_id: doc.canvasId,
      label: doc.label,
      ord: doc.order,
      has_text: text.trim() === '' ? 0 : 1,
    };
    const existing = this.statement<[string], { rid: number; work_id: string }>('SELECT rid, work_id FROM pages WHERE id = ?').get(doc.id);
    let rid: number;
    if (existing && existing.work_id === doc.workId) {
      rid = existing.rid;
      this.statement(
        'UPDATE pages SET canvas_id = @canvas_id, label = @label, ord = @ord, has_text = @has_text WHERE rid = @rid',
      ).run({ ...row, rid });
      this.statement('DELETE FROM pages_fts WHERE rowid = ?').run(rid);
    } else {
      // A new page, or one moved to another work: its rowid carries the work, so it gets a new one.
      if (existing) {
        this.deletePage(doc.id);
        this.refreshHasText(existing.work_id);
      }
      const first = this.workKey(doc.workId) * PAGE_SPAN;
      const last = this.statement<[number, number], { rid: number | null }>('SELECT max(rid) AS rid FROM pages WHERE rid >= ? AND rid < ?').get(first, first + PAGE_SPAN)?.rid;
      rid = last == null ? first : last + 1;
      if (rid >= first + PAGE_SPAN) throw new Error(`work ${doc.workId}: more than ${PAGE_SPAN} pages indexed`);
      this.statement('INSERT INTO pages (rid, id, work_id, canvas_id, label, ord, has_text) VALUES (@rid, @id, @work_id, @canvas_id, @label, @ord, @has_text)').run({ ...row, rid });
      this.statement('UPDATE work_keys SET pages = pages + 1 WHERE rid = ?').run(first / PAGE_SPAN);
    }
    this.statement('INSERT INTO page_texts (rid, text, words) VALUES (?, ?, ?) ON CONFLICT (rid) DO UPDATE SET text = excluded.text, words = excluded.words')
      .run(rid, text, doc.words ? JSON.stringify(doc.words) : null);
    const tokens = tokenize(text);
    this.statement('INSERT INTO pages_fts (rowid, text_f, text_x) VALUES (?, ?, ?)').run(rid, indexText(tokens, 'folded'), indexText(tokens, 'exact'));
  }

  private deleteWork(id: string): void {
    const work = this.statement<[string], { rid: number }>('SELECT rid FROM works WHERE id = ?').get(id);
    if (work) {
      this.statement('DELETE FROM works_fts WHERE rowid = ?').run(work.rid);
      this.statement('DELETE FROM works WHERE rid = ?').run(work.rid);
      this.statement('DELETE FROM work_docs WHERE rid = ?').run(work.rid);
    }
    this.statement('DELETE FROM pages_fts WHERE rowid IN (SELECT rid FROM pages WHERE work_id = ?)').run(id);
    this.statement('DELETE FROM page_texts WHERE rid IN (SELECT rid FROM pages WHERE work_id = ?)').run(id);
    this.statement('DELETE FROM pages WHERE work_id = ?').run(id);
    this.statement('UPDATE work_keys SET pages = 0 WHERE id = ?').run(id);
  }

  /** The work the page belonged to, if it existed. */
  private deletePage(id: string): string | undefined {
    const page = this.statement<[string], { rid: number; work_id: string }>('SELECT rid, work_id FROM pages WHERE id = ?').get(id);
    if (!page) return undefined;
    this.statement('DELETE FROM pages_fts WHERE rowid = ?').run(page.rid);
    this.statement('DELETE FROM page_texts WHERE rid = ?').run(page.rid);
    this.statement('DELETE FROM pages WHERE rid = ?').run(page.rid);
    this.statement('UPDATE work_keys SET pages = pages - 1 WHERE rid = ?').run(Math.floor(page.rid / PAGE_SPAN));
    return page.work_id;
  }

  private refreshHasText(workId: string): void {
    this.statement("UPDATE works SET has_text = EXISTS (SELECT 1 FROM pages WHERE work_id = works.id AND has_text) WHERE id = ?")
      .run(workId);
  }

  /**
   * One read transaction per search: its statements see one state of the index, and in WAL
   * mode each statement outside a transaction takes and releases the shared-memory read lock
   * (about 8 µs of system calls: more than a page lookup itself). Synchronous inside, so the
   * per-connection temp tables are never shared by two searches.
   */
  async search(query: SearchQuery): Promise<SearchResult> {
    return this.db.transaction(() => this.searchNow(query))();
  }

  private searchNow(query: SearchQuery): SearchResult {
    const terms = queryTerms(query.q);
    const termCount = terms.reduce((n, t) => n + t.folded.length, 0);
    if (termCount > MAX_QUERY_TERMS) throw tooManyTerms(termCount);
    const visible = visibleSql(query.visibility);
    const match = terms.length ? matchExpression(terms) : undefined;

    // Whether each matching page gets its bm25: see EXACT_PAGE_LIMIT.
    let exact = true;
    if (match) {
      for (const table of TEMP_TABLES) this.statement(`DELETE FROM temp.${table}`).run();
      // Counting the matching pages per work is a fraction of scoring them, and decides how
      // they are ranked; a few thousand are then scored again with bm25. An upsert, not
      // GROUP BY: no sort of every matching rowid, only a lookup among the works.
      this.statement(
        `INSERT INTO temp.page_counts (wrid, n) SELECT rowid >> ${PAGE_BITS}, 1 FROM pages_fts WHERE pages_fts MATCH ?
         ON CONFLICT (wrid) DO UPDATE SET n = n + 1`,
      ).run(foldedExpression(terms));
      const pagesMatched = this.statement<[], { n: number }>('SELECT total(n) AS n FROM temp.page_counts').get()?.n ?? 0;
      exact = pagesMatched <= this.exactPageLimit;
      // bm25 may only run in the statement that does the MATCH, not under an aggregate: the
      // matching pages are kept with their scores, then grouped by work (the rowid's high bits).
      if (exact) this.statement('INSERT INTO temp.matched_pages (rid, s) SELECT rowid, bm25(pages_fts) FROM pages_fts WHERE pages_fts MATCH ?').run(match);
      this.statement(`INSERT INTO temp.record_scores (wrid, s) SELECT rowid, bm25(works_fts, ${WORK_WEIGHTS}) FROM works_fts WHERE works_fts MATCH ?`).run(match);
      this.statement(
        exact
          ? `INSERT INTO temp.page_works (wrid, s, n) SELECT rid >> ${PAGE_BITS}, min(s), count(*) FROM temp.matched_pages GROUP BY 1`
          : 'INSERT INTO temp.page_works (wrid, s, n) SELECT c.wrid, -1.0 * c.n / max(k.pages, 1), c.n FROM temp.page_counts c JOIN work_keys k ON k.rid = c.wrid',
      ).run();
      // A work is found by its record if the viewer may find it, by its pages if they may read them.
      this.statement(
        `INSERT INTO temp.matched (rid, rec, pg, pages, access, collection, type, century, year_from, title_key, has_text, langs)
         SELECT w.rid, r.s, p.s, coalesce(p.n, 0), w.access, w.collection, w.type, w.century, w.year_from, w.title_key, w.has_text, w.langs
           FROM works w
           LEFT JOIN temp.record_scores r ON r.wrid = w.rid
           LEFT JOIN temp.page_works p ON p.wrid = w.rid AND ${visible.readable}
          WHERE w.rid IN (SELECT wrid FROM temp.record_scores UNION SELECT wrid FROM temp.page_works)
            AND ${visible.findable} AND (r.wrid IS NOT NULL OR p.wrid IS NOT NULL)`,
      ).run();
    }
    const from = match ? 'temp.matched w' : 'works w';
    const libraries = query.libraries ?? HOME_ONLY;
    const base = visible.findable;

    const filterSql = (): { where: string; params: Params } => {
      const parts = [base];
      const params: Params = {};
      const f: SearchFilters = query.filters;
      const inList = (name: string, values: ReadonlyArray<string | number>) =>
        values
          .map((v, i) => {
            params[`${name}${i}`] = v;
            return `@${name}${i}`;
          })
          .join(', ');
      if (f.library) {
        const { mode, collections } = libraryCollections(libraries, f.library);
        if (mode === 'in') parts.push(collections.length ? `w.collection IN (${inList('libcol', collections)})` : '0');
        else if (collections.length) parts.push(`(w.collection IS NULL OR w.collection NOT IN (${inList('libcol', collections)}))`);
      }
      if (f.collection) parts.push(`w.collection IN (${inList('collection', f.collection)})`);
      if (f.type) parts.push(`w.type IN (${inList('type', f.type)})`);
      if (f.century) parts.push(`w.century IN (${inList('century', f.century)})`);
      if (f.accessLevel) parts.push(`w.access IN (${inList('access', f.accessLevel)})`);
      if (f.hasText !== undefined) parts.push(`w.has_text = ${f.hasText ? 1 : 0}`);
      if (f.language) {
        // Space-delimited, so that `vi` is not found inside `vie`.
        const any = inList('language', f.language).split(', ').map((p) => `instr(' ' || w.langs || ' ', ' ' || ${p} || ' ') > 0`);
        parts.push(`(${any.join(' OR ')})`);
      }
      return { where: parts.join(' AND '), params };
    };

    const all = filterSql();
    // Every facet and the total from one grouping of what the viewer may find (see facet-combos.ts).
    const combos = this.statement<[], ComboRow>(
      `SELECT w.collection, w.type, w.century, w.has_text, w.access, w.langs, count(*) AS n FROM ${from} WHERE ${base}
        GROUP BY w.collection, w.type, w.century, w.has_text, w.access, w.langs`,
    )
      .all()
      .map((r): FacetCombo => ({
        collection: r.collection,
        type: r.type,
        century: r.century,
        hasText: r.has_text === 1,
        accessLevel: r.access,
        languages: r.langs === '' ? [] : r.langs.split(' '),
        works: r.n,
      }));
    const { total, counts } = countFacets(combos, query.filters, libraries);
    const order =
      query.sort === 'title' || (query.sort === 'relevance' && !match)
        ? 'w.title_key'
        : query.sort === 'relevance'
          ? exact
            ? '(coalesce(w.rec, 0) + coalesce(w.pg, 0)), w.title_key'
            : // Page text below every record field, as its weight is in bm25.
              'w.rec IS NULL, w.rec, w.pg, w.title_key'
          : query.sort === 'date'
            ? 'w.year_from IS NULL, w.year_from, w.title_key'
            : 'w.year_from IS NULL, w.year_from DESC, w.title_key';
    const rows = this.statement<Params, WorkRow>(
        `SELECT w.rid, ${match ? 'w.pages' : 'NULL'} AS pages FROM ${from} WHERE ${all.where}
          ORDER BY ${order} LIMIT @limit OFFSET @offset`,
      )
      .all({ ...all.params, limit: query.perPage, offset: (query.page - 1) * query.perPage });

    const docs = new Map(
      this.statement<[string], { rid: number; doc: string }>('SELECT rid, doc FROM work_docs WHERE rid IN (SELECT value FROM json_each(?))')
        .all(JSON.stringify(rows.map((r) => r.rid)))
        .map((d) => [d.rid, JSON.parse(d.doc) as WorkDocument]),
    );
    const found: Found[] = rows.flatMap((r) => {
      const work = docs.get(r.rid);
      return work ? [{ work, key: r.rid, pages: r.pages ?? 0 }] : [];
    });

    const facets = Object.fromEntries(FACETS.map((f) => [f, facetValues(f, counts[f], query.filters)])) as Record<FacetName, FacetValue[]>;
    const folded = new Set(terms.flatMap((t) => t.folded));
    const pageHits = match && query.pageHitsPerWork > 0 ? this.pageHits(terms, folded, found, query, exact) : new Map<string, PageHit[]>();
    const hits: WorkHit[] = found.map(({ work, pages }) => ({
      work,
      title: highlight(work.metadata.title, folded),
      snippet: recordSnippet(work.metadata, folded),
      pageMatches: pages,
      pageHits: pageHits.get(work.id) ?? [],
    }));
    return {
      total,
      page: query.page,
      perPage: query.perPage,
      pageCount: Math.max(1, Math.ceil(total / query.perPage)),
      hits,
      facets,
    };
  }

  /**
   * The first matching pages, in reading order, of each hit whose text the viewer may read.
   * Reading order, not bm25: within one work the reader wants the pages in the order of the
   * book (as IIIF Content Search gives them).
   *
   * After an exact search they come from the pages the search matched (one rowid range per
   * work). After a search of common terms nothing lists the matching pages, and FTS5 cannot
   * seek one work's range of a long posting list cheaply: the work's pages are read in order
   * and tested with the same tokens, which find a match within the first few pages because
   * such terms are on most of them; at most PAGE_SCAN_BUDGET pages per search are read, so a
   * work where they are rare may show fewer page hits than it has (its `pageMatches` count is
   * exact all the same).
   */
  private pageHits(terms: readonly QueryTerm[], folded: ReadonlySet<string>, found: readonly Found[], query: SearchQuery, exact: boolean): Map<string, PageHit[]> {
    const out = new Map<string, PageHit[]>();
    const hit = (p: PageRow): PageHit => {
      const cut = snippet(p.text, folded);
      const words = p.words === null ? undefined : (JSON.parse(p.words) as WordBox[]);
      const xywh = boxOf(words, cut.firstMatch);
      return { pageId: p.id, canvasId: p.canvas_id, label: p.label, order: p.ord, snippet: cut.segments, ...(xywh ? { xywh } : {}) };
    };
    const shown = found.filter(({ work, pages }) => pages > 0 && mayRead(query.visibility, work.accessLevel, work.metadata.collectionId));
    if (exact) {
      const firstPages = this.statement<{ from: number; to: number; n: number }, PageRow>(
        `WITH shown AS (
           SELECT p.rid, p.id, p.canvas_id, p.label, p.ord
             FROM temp.matched_pages m JOIN pages p ON p.rid = m.rid
            WHERE m.rid >= @from AND m.rid < @to
            ORDER BY p.ord, p.id LIMIT @n
         )
         SELECT shown.id, shown.canvas_id, shown.label, shown.ord, t.text, t.words
           FROM shown JOIN page_texts t ON t.rid = shown.rid ORDER BY shown.ord, shown.id`,
      );
      for (const { work, key } of shown) {
        const from = key * PAGE_SPAN;
        out.set(work.id, firstPages.all({ from, to: from + PAGE_SPAN, n: query.pageHitsPerWork }).map(hit));
      }
      return out;
    }
    // A few pages at a time in reading order, text included: common terms are on most pages,
    // so the first few usually hold the hits, and the rest of the book is never read.
    const inOrder = this.statement<{ from: number; to: number; limit: number; offset: number }, PageRow>(
      `SELECT p.id, p.canvas_id, p.label, p.ord, t.text, t.words FROM (
         SELECT rid, id, canvas_id, label, ord FROM pages
          WHERE rid >= @from AND rid < @to AND has_text ORDER BY ord, id LIMIT @limit OFFSET @offset
       ) p JOIN page_texts t ON t.rid = p.rid ORDER BY p.ord, p.id`,
    );
    const mayHave = termPrefilter(terms);
    let budget = PAGE_SCAN_BUDGET;
    for (const { work, key, pages } of shown) {
      const hits: PageHit[] = [];
      const from = key * PAGE_SPAN;
      for (let offset = 0, limit = query.pageHitsPerWork + 1; budget > 0 && hits.length < query.pageHitsPerWork; ) {
        const batch = inOrder.all({ from, to: from + PAGE_SPAN, limit: Math.min(limit, budget), offset });
        for (const page of batch) {
          if (hits.length >= query.pageHitsPerWork) break;
          if (mayHave(page.text) && hasAllTerms(page.text, terms)) hits.push(hit(page));
        }
        budget -= batch.length;
        if (batch.length < limit || hits.length >= pages) break;
        offset += batch.length;
        limit *= 2;
      }
      out.set(work.id, hits);
    }
    return out;
  }
}

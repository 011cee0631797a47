import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A protocol-level Typesense double: the subset of the REST API (v27–v29) that
 * `src/search/typesense.ts` calls through the real `typesense` client, over a real HTTP socket
 * on 127.0.0.1, with the collections in memory.
 *
 * What it keeps of Typesense:
 * - the `X-TYPESENSE-API-KEY` header (or `x-typesense-api-key` query parameter), else 401;
 * - collections: create (409 when it exists), retrieve, delete (404 when missing); documents are
 *   checked against the schema (a missing required field or a wrong type fails the document,
 *   400; undeclared fields are stored and returned, not indexed);
 * - documents: import of JSONL with action create/upsert/update/emplace (one result line per
 *   document; `update` of a missing id fails that line with 404), get/delete by id, delete and
 *   update (PATCH) by `filter_by`;
 * - search and multi_search (per-search parameters over the common ones from the query
 *   string; a failed search is `{code, error}` in its slot, not an HTTP error): `q`
 *   (`*` for all, words, `"quoted phrases"`), `query_by`, `query_by_weights`, `filter_by`,
 *   `sort_by` (at most three: fields with `:asc|:desc`, `_text_match`, `_eval(filter)`),
 *   `facet_by` (only `facet: true` fields; `max_facet_values`, default 10), `group_by` (only
 *   `facet: true` fields; `group_limit`, default 3; `found` per group), `page`, `per_page`
 *   (0–250, default 10), `include_fields`;
 * - `filter_by` as the adapter writes it: `field:=value`, `field:=[a,b]`, `field:!=value`,
 *   `&&` (binding tighter) and `||`, parentheses, values bare or in backticks; an unknown field
 *   is a 400, as in Typesense;
 * - tokenisation of indexed strings: split on whitespace, lower-cased, diacritics removed and
 *   other non-alphanumeric characters dropped (Typesense's default, without a locale);
 * - strings sort by code point.
 *
 * What it approximates (documented, so that a live run is still needed before trusting ranking):
 * - text match is exact tokens only: a text query must say `prefix=false`, `num_typos=0` and
 *   `drop_tokens_threshold=0` (else 400): typo tolerance, prefix search and token dropping are
 *   not modelled. A document matches when ONE of the `query_by` fields holds every query token
 *   and phrase, as Typesense matches a query per field;
 * - `text_match` is the weight of the best field that matched (times 1000), plus the number of
 *   fields that matched. Typesense's real score also buckets by typos, proximity and token
 *   counts, which are all equal for exact, all-token matches; its field weights order matches
 *   the same way. Ties keep insertion order;
 * - no highlights (the adapter cuts its own snippets), no synonyms, no locale, no vector search.
 */

interface Field {
  name: string;
  type: string;
  facet?: boolean;
  optional?: boolean;
  sort?: boolean;
  index?: boolean;
}

interface Collection {
  name: string;
  fields: Map<string, Field>;
  docs: Map<string, Doc>;
  created_at: number;
}

type Doc = Record<string, unknown> & { id: string };
type Params = Record<string, string>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new HttpError(400, message);

/** Typesense's default tokenizer, for what the double needs: lower case, no diacritics, alphanumerics only. */
export function typesenseTokens(text: string): string[] {
  return text
    .split(/\s+/u)
    .map((t) =>
      t
        .normalize('NFD')
        .replace(/\p{M}/gu, '')
        .normalize('NFC')
        .toLowerCase()
        .replace(/[^\p{L}\p{N}]/gu, ''),
    )
    .filter((t) => t !== '');
}

const compareCodePoints = (a: string, b: string): number => {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

// ---- filter_by ------------------------------------------------------------------------------

type Filter = { and: Filter[] } | { or: Filter[] } | { field: string; op: '=' | '!='; values: string[] };

function parseFilter(text: string): Filter {
  let i = 0;
  const skip = () => {
    while (text[i] === ' ') i++;
  };
  const value = (): string => {
    skip();
    if (text[i] === '`') {
      const end = text.indexOf('`', i + 1);
      if (end === -1) throw bad(`Could not parse the filter query: unbalanced backtick in \`${text}\``);
      const v = text.slice(i + 1, end);
      i = end + 1;
      return v;
    }
    const m = /^[^,\]\s()&|]+/.exec(text.slice(i));
    if (!m) throw bad(`Could not parse the filter query at ${i}: \`${text}\``);
    i += m[0].length;
    return m[0];
  };
  const clause = (): Filter => {
    skip();
    if (text[i] === '(') {
      i++;
      const inner = or();
      skip();
      if (text[i] !== ')') throw bad(`Could not parse the filter query: missing ) in \`${text}\``);
      i++;
      return inner;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*(=|!=)?/.exec(text.slice(i));
    if (!m) throw bad(`Could not parse the filter query at ${i}: \`${text}\``);
    if (!m[2]) throw bad(`the double implements only := and :!= filters, not \`${m[0]}\``);
    i += m[0].length;
    skip();
    const values: string[] = [];
    if (text[i] === '[') {
      i++;
      for (;;) {
        values.push(value());
        skip();
        if (text[i] === ',') i++;
        else if (text[i] === ']') break;
        else throw bad(`Could not parse the filter query: expected , or ] at ${i} in \`${text}\``);
      }
      i++;
    } else values.push(value());
    return { field: m[1] ?? '', op: m[2] as '=' | '!=', values };
  };
  const and = (): Filter => {
    const parts = [clause()];
    for (skip(); text.startsWith('&&', i); skip()) {
      i += 2;
      parts.push(clause());
    }
    return parts.length === 1 ? (parts[0] as Filter) : { and: parts };
  };
  const or = (): Filter => {
    const parts = [and()];
    for (skip(); text.startsWith('||', i); skip()) {
      i += 2;
      parts.push(and());
    }
    return parts.length === 1 ? (parts[0] as Filter) : { or: parts };
  };
  const f = or();
  skip();
  if (i !== text.length) throw bad(`Could not parse the filter query: unexpected \`${text.slice(i)}\``);
  return f;
}

function checkFilterFields(f: Filter, c: Collection): void {
  if ('and' in f) f.and.forEach((p) => checkFilterFields(p, c));
  else if ('or' in f) f.or.forEach((p) => checkFilterFields(p, c));
  else if (f.field !== 'id' && !c.fields.has(f.field)) throw bad(`Could not find a filter field named \`${f.field}\` in the schema.`);
}

function matchesFilter(f: Filter, doc: Doc, c: Collection): boolean {
  if ('and' in f) return f.and.every((p) => matchesFilter(p, doc, c));
  if ('or' in f) return f.or.some((p) => matchesFilter(p, doc, c));
  const type = f.field === 'id' ? 'string' : (c.fields.get(f.field)?.type ?? 'string');
  const raw = doc[f.field];
  const have = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  const equal = (v: unknown, want: string) => {
    if (type.startsWith('int') || type.startsWith('float')) return Number(v) === Number(want);
    if (type.startsWith('bool')) return String(v) === want;
    return String(v) === want;
  };
  const hit = have.some((v) => f.values.some((want) => equal(v, want)));
  return f.op === '=' ? hit : !hit;
}

// ---- documents ------------------------------------------------------------------------------

function checkType(field: Field, value: unknown): boolean {
  const one = (t: string, v: unknown) =>
    t === 'string' ? typeof v === 'string' : t === 'bool' ? typeof v === 'boolean' : t.startsWith('int') ? Number.isInteger(v) : t.startsWith('float') ? typeof v === 'number' : true;
  if (field.type === 'auto') return true;
  if (field.type.endsWith('[]')) return Array.isArray(value) && value.every((v) => one(field.type.slice(0, -2), v));
  return one(field.type, value);
}

function validate(c: Collection, doc: Record<string, unknown>, partial: boolean): void {
  if (doc.id !== undefined && typeof doc.id !== 'string') throw bad('Document\'s `id` field should be a string.');
  for (const field of c.fields.values()) {
    const v = doc[field.name];
    if (v === undefined || v === null) {
      if (!partial && !field.optional) throw bad(`Field \`${field.name}\` has been declared in the schema, but is not found in the document.`);
      continue;
    }
    if (!checkType(field, v)) throw bad(`Field \`${field.name}\` must be ${field.type === 'string[]' ? 'an array of strings' : `a ${field.type}`}.`);
  }
}

// ---- search ---------------------------------------------------------------------------------

type QueryTerm = string[];

function parseQ(q: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(q); m; m = re.exec(q)) {
    if (m[2]?.startsWith('-')) throw bad('the double does not implement exclusion (-token) queries');
    const tokens = typesenseTokens(m[1] ?? m[2] ?? '');
    if (m[1] !== undefined) {
      if (tokens.length > 0) terms.push(tokens);
    } else for (const t of tokens) terms.push([t]);
  }
  return terms;
}

function fieldHas(tokens: readonly string[], term: QueryTerm): boolean {
  outer: for (let i = 0; i + term.length <= tokens.length; i++) {
    for (let j = 0; j < term.length; j++) if (tokens[i + j] !== term[j]) continue outer;
    return true;
  }
  return false;
}

interface Scored {
  doc: Doc;
  seq: number;
  textMatch: number;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let tick = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '`') tick = !tick;
    else if (!tick && (ch === '(' || ch === '[')) depth++;
    else if (!tick && (ch === ')' || ch === ']')) depth--;
    else if (!tick && depth === 0 && ch === ',') {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start).trim());
  return out.filter((p) => p !== '');
}

type SortKey = (s: Scored) => number | string;

function sorter(c: Collection, sortBy: string | undefined): (a: Scored, b: Scored) => number {
  const specs = splitTopLevel(sortBy ?? '_text_match:desc');
  if (specs.length > 3) throw bad('Only upto 3 sort_by fields can be specified.');
  const keys: Array<{ key: SortKey; desc: boolean }> = specs.map((spec) => {
    const m = /^(.*):(asc|desc)$/s.exec(spec);
    if (!m) throw bad(`Bad syntax for sorting field \`${spec}\``);
    const name = (m[1] ?? '').trim();
    const desc = m[2] === 'desc';
    if (name === '_text_match') return { key: (s) => s.textMatch, desc };
    const evalMatch = /^_eval\((.*)\)$/s.exec(name);
    if (evalMatch) {
      const f = parseFilter(evalMatch[1] ?? '');
      checkFilterFields(f, c);
      return { key: (s) => (matchesFilter(f, s.doc, c) ? 1 : 0), desc };
    }
    const field = c.fields.get(name);
    if (!field) throw bad(`Could not find a field named \`${name}\` in the schema for sorting.`);
    if (field.type === 'string' && !field.sort) throw bad(`Could not find a field named \`${name}\` in the schema for sorting.`);
    return { key: (s) => (s.doc[name] as number | string | undefined) ?? '', desc };
  });
  return (a, b) => {
    for (const { key, desc } of keys) {
      const x = key(a);
      const y = key(b);
      const d = typeof x === 'number' && typeof y === 'number' ? x - y : compareCodePoints(String(x), String(y));
      if (d !== 0) return desc ? -d : d;
    }
    return a.seq - b.seq;
  };
}

function pick(doc: Doc, include: string | undefined): Record<string, unknown> {
  if (!include) return doc;
  const fields = include.split(',').map((f) => f.trim());
  return Object.fromEntries(fields.filter((f) => f in doc).map((f) => [f, doc[f]]));
}

const int = (v: string | undefined, dflt: number, name: string): number => {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw bad(`Parameter \`${name}\` must be an unsigned integer.`);
  return n;
};

function search(c: Collection, p: Params): Record<string, unknown> {
  const q = p.q;
  if (q === undefined) throw bad('Parameter `q` is required.');
  const perPage = int(p.per_page, 10, 'per_page');
  if (perPage > 250) throw new HttpError(422, 'Only upto 250 hits can be fetched per page.');
  const page = Math.max(1, int(p.page, 1, 'page'));
  const filter = p.filter_by ? parseFilter(p.filter_by) : undefined;
  if (filter) checkFilterFields(filter, c);

  let terms: QueryTerm[] = [];
  let queryBy: Array<{ name: string; weight: number }> = [];
  if (q.trim() !== '*') {
    if (p.prefix !== 'false' || p.num_typos !== '0' || p.drop_tokens_threshold !== '0') {
      throw bad('the double implements only exact matching: send prefix=false, num_typos=0 and drop_tokens_threshold=0');
    }
    const names = (p.query_by ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw bad('No search fields specified for the query.');
    const weights = p.query_by_weights ? p.query_by_weights.split(',').map(Number) : names.map((_, i) => names.length - i);
    if (weights.length !== names.length) throw bad('Number of weights in `query_by_weights` does not match number of `query_by` fields.');
    queryBy = names.map((name, i) => {
      const f = c.fields.get(name);
      if (!f || !f.type.startsWith('string')) throw bad(`Could not find a field named \`${name}\` in the schema.`);
      return { name, weight: weights[i] ?? 0 };
    });
    terms = parseQ(q);
  }

  const matched: Scored[] = [];
  let seq = 0;
  for (const doc of c.docs.values()) {
    seq++;
    if (filter && !matchesFilter(filter, doc, c)) continue;
    if (queryBy.length === 0) {
      matched.push({ doc, seq, textMatch: 0 });
      continue;
    }
    // An empty query (only punctuation) matches nothing in Typesense when it is not `*`.
    if (terms.length === 0) continue;
    let best = -1;
    let fieldsMatched = 0;
    for (const { name, weight } of queryBy) {
      const raw = doc[name];
      const tokens = typesenseTokens(Array.isArray(raw) ? raw.join(' ') : String(raw ?? ''));
      if (terms.every((t) => fieldHas(tokens, t))) {
        fieldsMatched++;
        best = Math.max(best, weight);
      }
    }
    if (best >= 0) matched.push({ doc, seq, textMatch: best * 1000 + fieldsMatched });
  }
  matched.sort(sorter(c, p.sort_by));

  const facetCounts = (p.facet_by ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((name) => {
      const f = c.fields.get(name);
      if (!f?.facet) throw bad(`Could not find a facet field named \`${name}\` in the schema.`);
      const counts = new Map<string, number>();
      for (const { doc } of matched) {
        const v = doc[name];
        for (const one of v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]) counts.set(String(one), (counts.get(String(one)) ?? 0) + 1);
      }
      const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, int(p.max_facet_values, 10, 'max_facet_values'));
      return { field_name: name, sampled: false, stats: { total_values: counts.size }, counts: top.map(([value, count]) => ({ value, count, highlighted: value })) };
    });

  const hit = (s: Scored) => ({ document: pick(s.doc, p.include_fields), highlights: [], text_match: s.textMatch });
  const base = { facet_counts: facetCounts, out_of: c.docs.size, page, search_time_ms: 0, request_params: { collection_name: c.name, q, per_page: perPage } };
  if (p.group_by) {
    const field = c.fields.get(p.group_by);
    if (!field?.facet) throw bad(`Group by field \`${p.group_by}\` should be a facet field.`);
    const limit = int(p.group_limit, 3, 'group_limit');
    const groups = new Map<string, Scored[]>();
    for (const s of matched) {
      const key = JSON.stringify(s.doc[p.group_by] ?? null);
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    const all = [...groups.values()];
    return {
      ...base,
      found: all.length,
      found_docs: matched.length,
      grouped_hits: all.slice((page - 1) * perPage, page * perPage).map((g) => ({
        group_key: [g[0]?.doc[p.group_by as string]],
        found: g.length,
        hits: g.slice(0, limit).map(hit),
      })),
    };
  }
  return { ...base, found: matched.length, hits: matched.slice((page - 1) * perPage, page * perPage).map(hit) };
}

// ---- server ---------------------------------------------------------------------------------

export class TypesenseDouble {
  readonly collections = new Map<string, Collection>();
  /** Requests answered, by method and route shape, for tests that look at what the adapter asked. */
  readonly requests: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly apiKey: string,
    readonly port: number,
  ) {}

  static async start(apiKey = 'double-key'): Promise<TypesenseDouble> {
    let double: TypesenseDouble | undefined;
    const server = createServer((req, res) => {
      void double?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    double = new TypesenseDouble(server, apiKey, (server.address() as AddressInfo).port);
    return double;
  }

  /** `typesense://KEY@127.0.0.1:PORT`, for the adapter's URL parser. */
  get url(): string {
    return `typesense://${encodeURIComponent(this.apiKey)}@127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, contentType = 'application/json; charset=utf-8') => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://double');
      const params: Params = Object.fromEntries(url.searchParams);
      const key = req.headers['x-typesense-api-key'] ?? params['x-typesense-api-key'];
      delete params['x-typesense-api-key'];
      if (key !== this.apiKey) throw new HttpError(401, 'Forbidden - a valid `x-typesense-api-key` header must be sent.');
      const path = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const method = req.method ?? 'GET';
      this.requests.push(`${method} /${path.map((p, i) => (i % 2 === 1 && path[0] === 'collections' ? ':' : p)).join('/')}`);
      const json = (): Record<string, unknown> => {
        try {
          return JSON.parse(body) as Record<string, unknown>;
        } catch {
          throw bad('Bad JSON.');
        }
      };
      const result = this.route(method, path, params, json, body);
      if (typeof result === 'string') send(200, result, 'text/plain; charset=utf-8');
      else send(result.status ?? 200, result.body);
    } catch (err) {
      if (err instanceof HttpError) send(err.status, { message: err.message });
      else send(500, { message: String(err) });
    }
  }

  private collection(name: string | undefined): Collection {
    const c = this.collections.get(name ?? '');
    if (!c) throw new HttpError(404, `Collection not found`);
    return c;
  }

  private route(method: string, path: string[], params: Params, json: () => Record<string, unknown>, body: string): string | { status?: number; body: unknown } {
    const [root, name, sub, id, extra] = path;
    if (method === 'GET' && root === 'health' && !name) return { body: { ok: true } };
    if (root === 'multi_search' && method === 'POST' && !name) {
      const searches = json().searches;
      if (!Array.isArray(searches)) throw bad('Missing `searches` array.');
      const results = searches.map((s: unknown) => {
        try {
          const own = Object.fromEntries(Object.entries(s as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
          const merged: Params = { ...params, ...own };
          return search(this.collection(merged.collection), merged);
        } catch (err) {
          if (err instanceof HttpError) return { code: err.status, error: err.message };
          throw err;
        }
      });
      return { body: { results } };
    }
    if (root !== 'collections') throw new HttpError(404, 'Not Found');
    if (!name) {
      if (method !== 'POST') throw new HttpError(404, 'Not Found');
      const schema = json();
      const cname = String(schema.name ?? '');
      if (!cname) throw bad('Parameter `name` is required.');
      if (this.collections.has(cname)) throw new HttpError(409, `A collection with name \`${cname}\` already exists.`);
      const fields = Array.isArray(schema.fields) ? (schema.fields as Field[]) : [];
      if (fields.length === 0) throw bad('Parameter `fields` is required.');
      this.collections.set(cname, { name: cname, fields: new Map(fields.map((f) => [f.name, f])), docs: new Map(), created_at: Math.floor(Date.now() / 1000) });
      return { status: 201, body: { ...schema, num_documents: 0 } };
    }
    const c = this.collection(name);
    if (!sub) {
      if (method === 'GET') return { body: { name: c.name, fields: [...c.fields.values()], num_documents: c.docs.size, created_at: c.created_at } };
      if (method === 'DELETE') {
        this.collections.delete(c.name);
        return { body: { name: c.name, fields: [...c.fields.values()], num_documents: c.docs.size } };
      }
      throw new HttpError(404, 'Not Found');
    }
    if (sub !== 'documents' || extra) throw new HttpError(404, 'Not Found');
    if (id === 'import' && method === 'POST') return this.importDocs(c, params.action ?? 'create', body);
    if (id === 'search' && method === 'GET') return { body: search(c, params) };
    if (id) {
      const doc = c.docs.get(id);
      if (!doc) throw new HttpError(404, `Could not find a document with id: ${id}`);
      if (method === 'GET') return { body: doc };
      if (method === 'DELETE') {
        c.docs.delete(id);
        return { body: doc };
      }
      throw new HttpError(404, 'Not Found');
    }
    if (method === 'POST') {
      const doc = json();
      const line = this.write(c, params.action ?? 'create', doc);
      if (!line.success) throw new HttpError(line.code ?? 400, line.error ?? '');
      return { status: 201, body: c.docs.get(String(doc.id)) };
    }
    if (method === 'DELETE' || method === 'PATCH') {
      if (!params.filter_by) throw bad('Parameter `filter_by` must be provided.');
      const filter = parseFilter(params.filter_by);
      checkFilterFields(filter, c);
      const hits = [...c.docs.values()].filter((d) => matchesFilter(filter, d, c));
      if (method === 'DELETE') {
        for (const d of hits) c.docs.delete(d.id);
        return { body: { num_deleted: hits.length } };
      }
      const patch = json();
      validate(c, patch, true);
      for (const d of hits) c.docs.set(d.id, { ...d, ...patch, id: d.id });
      return { body: { num_updated: hits.length } };
    }
    throw new HttpError(404, 'Not Found');
  }

  private write(c: Collection, action: string, doc: Record<string, unknown>): { success: boolean; code?: number; error?: string } {
    try {
      if (!['create', 'upsert', 'update', 'emplace'].includes(action)) throw bad(`The \`action\` parameter must be one of create, upsert, update, emplace.`);
      const id = doc.id === undefined ? String(c.docs.size + 1) : doc.id;
      if (typeof id !== 'string') throw bad("Document's `id` field should be a string.");
      const existing = c.docs.get(id);
      if (action === 'create' && existing) throw new HttpError(409, `A document with id ${id} already exists.`);
      if (action === 'update' && !existing) throw new HttpError(404, `Could not find a document with id: ${id}`);
      const next = action === 'upsert' || action === 'create' || !existing ? { ...doc, id } : { ...existing, ...doc, id };
      validate(c, next, false);
      // An upsert of an existing id replaces the document but keeps its place in insertion order.
      c.docs.set(id, next);
      return { success: true };
    } catch (err) {
      if (err instanceof HttpError) return { success: false, code: err.status, error: err.message };
      throw err;
    }
  }

  private importDocs(c: Collection, action: string, body: string): string {
    return body
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line) => {
        let doc: Record<string, unknown>;
        try {
          doc = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return JSON.stringify({ success: false, error: 'Bad JSON.', document: line });
        }
        const r = this.write(c, action, doc);
        return JSON.stringify(r.success ? { success: true } : { success: false, code: r.code, error: r.error, document: line });
      })
      .join('\n');
  }
}

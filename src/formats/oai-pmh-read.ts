import { z } from 'zod';
import { DC_NS, OAI_DC_NS } from './dublin-core.ts';
import { OAI_NS } from './oai-pmh.ts';
import { parseXml, XmlError, type XmlElement } from './xml-parse.ts';

/**
 * Reading another repository's OAI-PMH 2.0 responses (the harvester's side; oai-pmh.ts is our
 * provider's writer). A response is parsed whole with the project's XML parser, then its
 * envelope is checked with zod: what does not look like OAI-PMH is refused as a whole page,
 * a record that is malformed on its own is reported as that record's problem and the others
 * are kept. Metadata is handed back as plain field → texts maps (oai_dc, or MODS reduced to
 * the same Dublin Core elements), so the mapping to our record lives in one place.
 */
export const MODS_NS = 'http://www.loc.gov/mods/v3';

export class OaiResponseError extends Error {
  constructor(readonly kind: 'invalid-xml' | 'not-oai', message: string) {
    super(message);
    this.name = 'OaiResponseError';
  }
}

const OaiErrorSchema = z.object({ code: z.string().min(1).max(100), message: z.string().max(10_000) });
export type OaiErrorRead = z.infer<typeof OaiErrorSchema>;

const HeaderSchema = z.object({
  identifier: z.string().trim().min(1, 'empty identifier').max(1000),
  datestamp: z.string().trim().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?$/, 'datestamp is not YYYY-MM-DD[Thh:mm:ssZ]'),
  setSpecs: z.array(z.string().max(1000)).max(1000),
  deleted: z.boolean(),
});
export type HarvestedHeader = z.infer<typeof HeaderSchema>;

/** Dublin Core element name (title, creator, ...) → its texts, in document order. */
export type DcFields = Partial<Record<DcElement, string[]>>;
export const DC_ELEMENTS = [
  'title', 'creator', 'subject', 'description', 'publisher', 'contributor', 'date', 'type',
  'format', 'identifier', 'source', 'language', 'relation', 'coverage', 'rights',
] as const;
export type DcElement = (typeof DC_ELEMENTS)[number];

export type HarvestedRecord =
  | { ok: true; header: HarvestedHeader; fields?: DcFields }
  /** `identifier` when the header still named one. */
  | { ok: false; identifier?: string; reason: string };

const ResumptionSchema = z.object({
  token: z.string().max(10_000),
  completeListSize: z.coerce.number().int().nonnegative().optional(),
  cursor: z.coerce.number().int().nonnegative().optional(),
});
export type ResumptionRead = z.infer<typeof ResumptionSchema>;

export interface OaiPage {
  responseDate: string;
  errors: OaiErrorRead[];
  records: HarvestedRecord[];
  /** Absent, or with an empty token, on the last page. */
  resumption?: ResumptionRead;
}

const ResponseDate = z.string().trim().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?Z)?$/, 'responseDate is not an OAI-PMH UTC datetime');

const children = (e: XmlElement, ns: string, local: string) => e.children.filter((c) => c.namespace === ns && c.localName === local);

/** All text inside an element, its descendants' included (mixed content such as MODS titles with nonSort). */
function deepText(e: XmlElement): string {
  return e.text + e.children.map(deepText).join('');
}

function cleanText(s: string): string {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim();
}

function parseHeader(h: XmlElement): z.ZodSafeParseResult<HarvestedHeader> {
  const [identifier] = children(h, OAI_NS, 'identifier');
  const [datestamp] = children(h, OAI_NS, 'datestamp');
  return HeaderSchema.safeParse({
    identifier: identifier?.text ?? '',
    datestamp: datestamp?.text ?? '',
    setSpecs: children(h, OAI_NS, 'setSpec').map((s) => s.text.trim()),
    deleted: h.attributes.status === 'deleted',
  });
}

function dcFields(dc: XmlElement): DcFields {
  const out: DcFields = {};
  for (const c of dc.children) {
    if (c.namespace !== DC_NS || !(DC_ELEMENTS as readonly string[]).includes(c.localName)) continue;
    const text = cleanText(deepText(c));
    if (text) (out[c.localName as DcElement] ??= []).push(text);
  }
  return out;
}

/**
 * MODS reduced to Dublin Core after the Library of Congress MODS → simple DC crosswalk, for
 * the elements a catalogue record carries; what has no DC home is left out.
 */
function modsFields(mods: XmlElement): DcFields {
  const out: DcFields = {};
  const add = (k: DcElement, v: string | undefined) => {
    const t = v === undefined ? '' : cleanText(v);
    if (t) (out[k] ??= []).push(t);
  };
  const m = (e: XmlElement, local: string) => children(e, MODS_NS, local);
  for (const ti of m(mods, 'titleInfo')) {
    const title = [...m(ti, 'nonSort'), ...m(ti, 'title')].map(deepText).join(' ');
    const sub = m(ti, 'subTitle').map(deepText).join(' ');
    add('title', sub ? `${title}: ${sub}` : title);
  }
  for (const n of m(mods, 'name')) add('creator', m(n, 'namePart').map(deepText).join(', '));
  for (const s of m(mods, 'subject')) for (const c of s.children) if (c.namespace === MODS_NS) add('subject', deepText(c));
  for (const a of m(mods, 'abstract')) add('description', deepText(a));
  for (const n of m(mods, 'note')) add('description', deepText(n));
  for (const o of m(mods, 'originInfo')) {
    for (const d of [...m(o, 'dateIssued'), ...m(o, 'dateCreated')]) add('date', deepText(d));
    for (const p of m(o, 'publisher')) add('publisher', deepText(p));
  }
  for (const t of m(mods, 'typeOfResource')) add('type', deepText(t));
  for (const p of m(mods, 'physicalDescription')) {
    for (const f of m(p, 'form')) add('format', deepText(f));
    for (const x of m(p, 'extent')) add('format', deepText(x));
  }
  for (const l of m(mods, 'language')) for (const t of m(l, 'languageTerm')) add('language', deepText(t));
  for (const i of m(mods, 'identifier')) add('identifier', deepText(i));
  for (const l of m(mods, 'location')) for (const u of m(l, 'url')) add('identifier', deepText(u));
  for (const r of m(mods, 'accessCondition')) add('rights', r.attributes['xlink:href'] ?? deepText(r));
  for (const r of m(mods, 'relatedItem')) if (r.attributes.type === 'original') for (const ti of m(r, 'titleInfo')) add('source', m(ti, 'title').map(deepText).join(' '));
  return out;
}

function recordOf(r: XmlElement): HarvestedRecord {
  const [h] = children(r, OAI_NS, 'header');
  if (!h) return { ok: false, reason: 'record without a header' };
  const header = parseHeader(h);
  const named = children(h, OAI_NS, 'identifier')[0]?.text.trim();
  const who = named ? { identifier: named } : {};
  if (!header.success) return { ok: false, ...who, reason: header.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  if (header.data.deleted) return { ok: true, header: header.data };
  const [metadata] = children(r, OAI_NS, 'metadata');
  const inner = metadata?.children[0];
  if (!inner) return { ok: false, ...who, reason: 'record without metadata' };
  if (inner.namespace === OAI_DC_NS && inner.localName === 'dc') return { ok: true, header: header.data, fields: dcFields(inner) };
  if (inner.namespace === MODS_NS && inner.localName === 'mods') return { ok: true, header: header.data, fields: modsFields(inner) };
  return { ok: false, ...who, reason: `metadata is <${inner.name}> (${inner.namespace || 'no namespace'}), neither oai_dc nor MODS` };
}

/** One OAI-PMH response body. Throws OaiResponseError when it is not well-formed XML or not OAI-PMH. */
export function readOaiResponse(xml: string): OaiPage {
  let root: XmlElement;
  try {
    root = parseXml(xml.replace(/^\uFEFF/, ''));
  } catch (err) {
    if (err instanceof XmlError) throw new OaiResponseError('invalid-xml', err.message);
    throw err;
  }
  if (root.namespace !== OAI_NS || root.localName !== 'OAI-PMH') {
    throw new OaiResponseError('not-oai', `the root element is <${root.name}> (${root.namespace || 'no namespace'}), not OAI-PMH`);
  }
  const responseDate = ResponseDate.safeParse(children(root, OAI_NS, 'responseDate')[0]?.text ?? '');
  if (!responseDate.success) throw new OaiResponseError('not-oai', responseDate.error.issues[0]?.message ?? 'no responseDate');
  const errors = children(root, OAI_NS, 'error').map((e) => OaiErrorSchema.parse({ code: e.attributes.code ?? '?', message: cleanText(e.text) }));
  const page: OaiPage = { responseDate: responseDate.data, errors, records: [] };
  // GetRecord (one record, asked again by the harvester) reads as a one-record list without a token.
  const [list] = [...children(root, OAI_NS, 'ListRecords'), ...children(root, OAI_NS, 'GetRecord')];
  if (!list) {
    if (errors.length === 0) throw new OaiResponseError('not-oai', 'neither ListRecords, GetRecord nor an error in the response');
    return page;
  }
  page.records = children(list, OAI_NS, 'record').map(recordOf);
  const [token] = children(list, OAI_NS, 'resumptionToken');
  if (token) {
    const parsed = ResumptionSchema.safeParse({
      token: token.text.trim(),
      ...(token.attributes.completeListSize !== undefined ? { completeListSize: token.attributes.completeListSize } : {}),
      ...(token.attributes.cursor !== undefined ? { cursor: token.attributes.cursor } : {}),
    });
    if (!parsed.success) throw new OaiResponseError('not-oai', `bad resumptionToken: ${parsed.error.issues[0]?.message}`);
    page.resumption = parsed.data;
  }
  return page;
}

import { z } from 'zod';
import { parseXml, XmlError, type XmlElement } from './xml-parse.ts';

/**
 * DSpace's Simple Archive Format, the reading side: `dublin_core.xml` and
 * `metadata_<schema>.xml` (`<dublin_core schema="…"><dcvalue element qualifier language>`),
 * the `contents` file (one bitstream a line, tab-separated options) and how DSpace's
 * Dublin Core maps onto our record. Pure: the folder walk is in application/saf-import.ts.
 */
export interface DcValue {
  schema: string;
  element: string;
  qualifier?: string;
  language?: string;
  value: string;
}

/** `dc.contributor.author[vi]`: the key a value is kept under in the import record. */
export const dcKey = (v: Pick<DcValue, 'schema' | 'element' | 'qualifier'>): string =>
  `${v.schema}.${v.element}${v.qualifier ? `.${v.qualifier}` : ''}`;

const Token = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/);
const DcValueElement = z.object({
  name: z.literal('dcvalue'),
  attributes: z
    .object({ element: Token, qualifier: z.string().max(64).optional(), language: z.string().max(32).optional() })
    .passthrough(),
  children: z.array(z.unknown()).max(0, 'a dcvalue holds text only'),
  text: z.string().max(100_000),
});
const DublinCoreRoot = z.object({
  name: z.literal('dublin_core'),
  attributes: z.object({ schema: Token.optional() }).passthrough(),
  children: z.array(z.unknown()).max(5_000),
});

export class SafFormatError extends Error {
  constructor(readonly messages: { vi: string; en: string }) {
    super(messages.en);
    this.name = 'SafFormatError';
  }
}

const issuesOf = (err: z.ZodError) => err.issues.map((i) => `${i.path.join('.') || 'root'}: ${i.message}`).join('; ');

/**
 * The values of one metadata file. `qualifier="none"` is how DSpace's exporter writes "no
 * qualifier"; an empty language or `*` means none given.
 */
export function readMetadataXml(text: string, file: string): { schema: string; values: DcValue[] } {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (err) {
    if (!(err instanceof XmlError)) throw err;
    throw new SafFormatError({
      vi: `${file} không phải XML hợp lệ: ${err.reason} (dòng ${err.line}, cột ${err.column})`,
      en: `${file} is not well-formed XML: ${err.message}`,
    });
  }
  const parsedRoot = DublinCoreRoot.safeParse(root);
  if (!parsedRoot.success) {
    throw new SafFormatError({
      vi: `${file} không phải tệp <dublin_core> của DSpace: ${issuesOf(parsedRoot.error)}`,
      en: `${file} is not a DSpace <dublin_core> file: ${issuesOf(parsedRoot.error)}`,
    });
  }
  const schema = parsedRoot.data.attributes.schema ?? 'dc';
  const values: DcValue[] = [];
  root.children.forEach((child, i) => {
    const v = DcValueElement.safeParse(child);
    if (!v.success) {
      throw new SafFormatError({
        vi: `${file}: phần tử thứ ${i + 1} không phải <dcvalue element="…"> đúng dạng: ${issuesOf(v.error)}`,
        en: `${file}: element ${i + 1} is not a proper <dcvalue element="…">: ${issuesOf(v.error)}`,
      });
    }
    const { element, qualifier, language } = v.data.attributes;
    const value = v.data.text.normalize('NFC').trim();
    if (!value) return;
    values.push({
      schema,
      element,
      ...(qualifier && qualifier !== 'none' ? { qualifier } : {}),
      ...(language && language !== '*' ? { language } : {}),
      value,
    });
  });
  return { schema, values };
}

/** Bundles DSpace makes; ORIGINAL holds the deposited files, the rest DSpace derives or adds. */
export const ORIGINAL_BUNDLE = 'ORIGINAL';
export const DERIVED_BUNDLES = new Set(['THUMBNAIL', 'TEXT', 'LICENSE', 'CC-LICENSE', 'BRANDED_PREVIEW', 'METADATA']);

export interface ContentsLine {
  line: number;
  name: string;
  bundle: string;
  description?: string;
  primary: boolean;
  /** As written after `permissions:`, e.g. `-r 'Anonymous'`. */
  permissions?: string;
  /** DSpace 7's IIIF options (iiif-label, iiif-toc, …), kept for the record. */
  iiif: Record<string, string>;
}

export interface ContentsProblem {
  line: number;
  messages: { vi: string; en: string };
}

/**
 * The `contents` file. A line without a bundle is ORIGINAL (as DSpace's importer reads it).
 * Registered bitstreams (`-r -s N -f path`) and options DSpace does not define are problems,
 * not guesses.
 */
export function parseContents(text: string): { lines: ContentsLine[]; problems: ContentsProblem[] } {
  const lines: ContentsLine[] = [];
  const problems: ContentsProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    const [name, ...options] = raw.split('\t');
    if (!name?.trim()) {
      problems.push({ line, messages: { vi: `contents dòng ${line}: thiếu tên tệp`, en: `contents line ${line}: no file name` } });
      return;
    }
    if (/^-r\s/.test(name)) {
      problems.push({
        line,
        messages: {
          vi: `contents dòng ${line}: dòng tệp "đăng ký" (-r -s … -f …) trỏ vào kho lưu của DSpace, không có byte nào trong thư mục; chưa hỗ trợ`,
          en: `contents line ${line}: a registered bitstream (-r -s … -f …) points into DSpace's assetstore, no bytes are in the folder; not supported`,
        },
      });
      return;
    }
    const entry: ContentsLine = { line, name: name.normalize('NFC'), bundle: ORIGINAL_BUNDLE, primary: false, iiif: {} };
    for (const option of options) {
      const o = option.trim();
      if (!o) continue;
      const colon = o.indexOf(':');
      const key = colon > 0 ? o.slice(0, colon) : o;
      const value = colon > 0 ? o.slice(colon + 1).trim() : '';
      if (key === 'bundle' && value) entry.bundle = value;
      else if (key === 'description') entry.description = value.normalize('NFC');
      else if (key === 'primary') entry.primary = value === 'true';
      else if (key === 'permissions') entry.permissions = value;
      else if (key.startsWith('iiif-')) entry.iiif[key] = value.normalize('NFC');
      else {
        problems.push({
          line,
          messages: {
            vi: `contents dòng ${line} (${name}): tuỳ chọn không rõ "${o}" (DSpace chỉ có bundle:, description:, primary:, permissions:, iiif-…:)`,
            en: `contents line ${line} (${name}): unknown option "${o}" (DSpace defines bundle:, description:, primary:, permissions:, iiif-…:)`,
          },
        });
      }
    }
    if (entry.bundle !== ORIGINAL_BUNDLE && !DERIVED_BUNDLES.has(entry.bundle)) {
      problems.push({
        line,
        messages: {
          vi: `contents dòng ${line} (${name}): gói (bundle) không rõ "${entry.bundle}"; chỉ nhận ORIGINAL (bỏ qua ${[...DERIVED_BUNDLES].join(', ')})`,
          en: `contents line ${line} (${name}): unknown bundle "${entry.bundle}"; only ORIGINAL is ingested (${[...DERIVED_BUNDLES].join(', ')} are skipped)`,
        },
      });
      return;
    }
    lines.push(entry);
  });
  return { lines, problems };
}

/**
 * Whether DSpace let anonymous readers see a bitstream, from its `permissions:` option
 * (`-r 'Group'` read, `-w 'Group'` write). No option: DSpace's defaults applied, unknown here.
 */
export function anonymousCanRead(permissions: string | undefined): boolean | undefined {
  if (permissions === undefined || !permissions.trim()) return undefined;
  const reads = [...permissions.matchAll(/-r\s+'([^']*)'/g)].map((m) => m[1]);
  return reads.some((g) => g?.toLowerCase() === 'anonymous');
}

/** DSpace stores ISO 639-1 (often with a region, `en_US`); our record wants ISO 639-3. */
const ISO_639_1_TO_3: Record<string, string> = {
  vi: 'vie', en: 'eng', fr: 'fra', zh: 'zho', ja: 'jpn', ko: 'kor', de: 'deu', ru: 'rus', es: 'spa', it: 'ita',
  pt: 'por', lo: 'lao', km: 'khm', th: 'tha', la: 'lat', nl: 'nld', pl: 'pol', cs: 'ces', id: 'ind', ms: 'msa',
};

export function languageCode(value: string): string | undefined {
  const v = value.trim().toLowerCase().replace(/[-_].*$/, '');
  if (/^[a-z]{3}$/.test(v)) return v;
  return ISO_639_1_TO_3[v];
}

/** A field of our record that a DSpace value could not go into, and why. */
export interface Unmapped {
  key: string;
  value: string;
  reason: { vi: string; en: string };
}

/**
 * DSpace's values as our record (before validation): the first title is the title, further
 * titles and dc.title.alternative alternative titles; people and subjects joined with "; ";
 * abstracts and descriptions as paragraphs. What has no field of ours (publisher, contributors
 * other than authors, citations, DSpace's own dates and provenance notes) is not lost: the
 * import keeps every value in the work's registration record.
 */
export function mapDublinCore(values: DcValue[]): { metadata: Record<string, unknown>; unmapped: Unmapped[] } {
  const dc = values.filter((v) => v.schema === 'dc' || v.schema === 'dcterms');
  const all = (...keys: string[]) =>
    dc.filter((v) => keys.includes(`${v.element}${v.qualifier ? `.${v.qualifier}` : ''}`)).map((v) => v.value);
  const unique = (xs: string[]) => [...new Set(xs)];
  const unmapped: Unmapped[] = [];
  const metadata: Record<string, unknown> = {};

  const titles = all('title');
  if (titles[0]) metadata.title = titles[0];
  const alternative = unique([...titles.slice(1), ...all('title.alternative', 'alternative')]);
  if (alternative.length) metadata.alternativeTitle = alternative;
  const creators = unique([...all('contributor.author', 'creator'), ...dc.filter((v) => v.element === 'creator' && v.qualifier).map((v) => v.value)]);
  if (creators.length) metadata.creator = creators.join('; ');
  const date = all('date.issued', 'issued')[0] ?? all('date.created', 'created')[0] ?? all('date')[0];
  if (date) metadata.date = date;
  const languages: string[] = [];
  for (const value of all('language.iso', 'language')) {
    const code = languageCode(value);
    if (code) languages.push(code);
    else unmapped.push({ key: 'dc.language.iso', value, reason: { vi: 'không phải mã ngôn ngữ ISO 639 đã biết', en: 'not an ISO 639 code we know' } });
  }
  if (languages.length) metadata.language = unique(languages);
  const subjects = unique(dc.filter((v) => v.element === 'subject').map((v) => v.value));
  if (subjects.length) metadata.subject = subjects.join('; ');
  const descriptions = unique(all('description.abstract', 'abstract', 'description', 'description.tableofcontents', 'tableOfContents'));
  if (descriptions.length) metadata.description = descriptions.join('\n\n');
  const type = all('type')[0];
  if (type) metadata.type = type;
  const format = all('format.medium', 'medium', 'format')[0];
  if (format) metadata.format = format;
  const extent = all('format.extent', 'extent')[0];
  if (extent) metadata.extent = extent;
  // The library's own number first (what a reader would quote), the handle last.
  const identifier =
    all('identifier.other', 'identifier.callnumber', 'identifier.isbn', 'identifier.issn', 'identifier')[0] ?? all('identifier.uri')[0];
  if (identifier) metadata.identifier = identifier;
  const source = all('source', 'source.uri')[0];
  if (source) metadata.source = source;
  const rights = [...all('rights.uri'), ...all('rights')].find((r) => /^https?:\/\/\S+$/.test(r));
  if (rights) metadata.rights = rights;
  else {
    for (const value of all('rights')) {
      unmapped.push({
        key: 'dc.rights',
        value,
        reason: { vi: 'trường quyền của thukho cần một URI (dc.rights.uri); giữ trong hồ sơ nhập', en: "thukho's rights field takes a URI (dc.rights.uri); kept in the import record" },
      });
    }
  }
  return { metadata, unmapped };
}

/** A handle as written in the `handle` file or a handle URL (`https://hdl.handle.net/1/2`, `hdl:1/2`). */
export function handleOf(text: string): string | undefined {
  const t = text.trim();
  const m = /^(?:https?:\/\/(?:hdl\.handle\.net|[^/]+\/handle)\/|hdl:|info:hdl\/)?([0-9][0-9.]*\/[A-Za-z0-9._-]+)$/.exec(t);
  return m?.[1];
}

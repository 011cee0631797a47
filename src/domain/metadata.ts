import { z } from 'zod';
import type { Bilingual } from './errors.ts';
import { wellFormedText } from './well-formed-text.ts';

/**
 * Descriptive metadata, shaped after Dublin Core (the fifteen elements plus a normalised
 * year range). These JSON names are the public API: tests, the OAI-PMH mapping and
 * deployments depend on them. Vietnamese and Han-Nôm text is allowed everywhere; text
 * is stored NFC-normalised so that the same title typed on two keyboards compares equal.
 */
export const ACCESS_LEVELS = ['open', 'restricted', 'confidential'] as const;
export const AccessLevel = z.enum(ACCESS_LEVELS);
export type AccessLevel = z.infer<typeof AccessLevel>;

export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const Id = z
  .string()
  .regex(ID_PATTERN, 'id: 1–64 chữ thường, số, "-" hoặc "_" / lowercase letters, digits, "-" or "_"');

/**
 * Text a person types is checked for lone surrogates and control characters (`typed`); text
 * read back from the log is not, so that a record stored before the check existed stays readable.
 */
const text = (max: number, typed: boolean) => {
  const base = z.string().max(max);
  return (typed ? base.superRefine(wellFormedText) : base).transform((s) => s.normalize('NFC').trim());
};

const nonEmptyText = (max: number, typed: boolean) =>
  text(max, typed).refine((s) => s.length > 0, { message: 'không được để trống / must not be empty' });

// ISO 639-3 (three letters): `vie` Vietnamese, `lzh` Literary Chinese (Hán văn), `fra`, `eng`...
export const LanguageCode = z.string().regex(/^[a-z]{3}$/, 'mã ISO 639-3, ví dụ "vie", "lzh" / an ISO 639-3 code such as "vie" or "lzh"');

const Year = z.number().int().min(-3000).max(2200);

function fieldsOf(typed: boolean) {
  return {
    title: nonEmptyText(2000, typed),
    alternativeTitle: z.array(nonEmptyText(2000, typed)).max(50),
    creator: text(1000, typed),
    date: text(200, typed),
    yearFrom: Year,
    yearTo: Year,
    language: z.array(LanguageCode).max(20),
    subject: text(2000, typed),
    description: text(20000, typed),
    type: text(200, typed),
    format: text(200, typed),
    identifier: text(200, typed),
    source: text(2000, typed),
    rights: (typed ? z.string().superRefine(wellFormedText) : z.string())
      .url('một URI, ví dụ http://rightsstatements.org/vocab/InC/1.0/ / a URI such as http://rightsstatements.org/vocab/InC/1.0/')
      .max(500),
    extent: text(500, typed),
    collectionId: Id,
    /** IIIF reading order; Han-Nôm books read right to left. Unset: from the language (lzh → right-to-left). */
    viewingDirection: z.enum(['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top']),
    /** IIIF behavior of the object as a whole: a bound book is `paged`, loose leaves `individuals`. */
    behavior: z.enum(['paged', 'individuals', 'continuous', 'unordered']),
  } as const;
}

/** The fields as a person types them (checked); `storedMetadataFields` as the log holds them. */
export const metadataFields = fieldsOf(true);
const storedMetadataFields = fieldsOf(false);

export type MetadataField = keyof typeof metadataFields;
export const METADATA_FIELDS = Object.keys(metadataFields) as MetadataField[];

/**
 * What cataloguers and readers call each Dublin Core field, in both languages: the one table
 * behind the IIIF manifest's `metadata` labels and the public site's record.
 */
export const FIELD_LABELS = {
  title: { vi: 'Nhan đề', en: 'Title' },
  alternativeTitle: { vi: 'Nhan đề khác', en: 'Alternative title' },
  creator: { vi: 'Tác giả', en: 'Creator' },
  date: { vi: 'Niên đại', en: 'Date' },
  language: { vi: 'Ngôn ngữ', en: 'Language' },
  subject: { vi: 'Chủ đề', en: 'Subject' },
  description: { vi: 'Mô tả', en: 'Description' },
  type: { vi: 'Loại hình', en: 'Type' },
  format: { vi: 'Khổ', en: 'Format' },
  extent: { vi: 'Quy mô', en: 'Extent' },
  identifier: { vi: 'Ký hiệu', en: 'Identifier' },
  source: { vi: 'Nguồn', en: 'Source' },
  rights: { vi: 'Quyền sử dụng', en: 'Rights' },
  collection: { vi: 'Bộ sưu tập', en: 'Collection' },
} as const satisfies Record<string, Bilingual>;

/** Metadata as stored: title required, every other element optional. */
const metadataOf = (f: typeof metadataFields) =>
  z
  .object({
    title: f.title,
    alternativeTitle: f.alternativeTitle.optional(),
    creator: f.creator.optional(),
    date: f.date.optional(),
    yearFrom: f.yearFrom.optional(),
    yearTo: f.yearTo.optional(),
    language: f.language.optional(),
    subject: f.subject.optional(),
    description: f.description.optional(),
    type: f.type.optional(),
    format: f.format.optional(),
    identifier: f.identifier.optional(),
    source: f.source.optional(),
    rights: f.rights.optional(),
    extent: f.extent.optional(),
    collectionId: f.collectionId.optional(),
    viewingDirection: f.viewingDirection.optional(),
    behavior: f.behavior.optional(),
  })
  .strict();
export const Metadata = metadataOf(metadataFields);
export type Metadata = z.infer<typeof Metadata>;
/** Metadata read back from the log. */
export const StoredMetadata = metadataOf(storedMetadataFields);

/**
 * A change to metadata: each present field is set; `null` clears an optional field.
 * The title can be changed but never cleared.
 */
const metadataChangesOf = (f: typeof metadataFields) =>
  z
  .object({
    title: f.title.optional(),
    alternativeTitle: f.alternativeTitle.nullable().optional(),
    creator: f.creator.nullable().optional(),
    date: f.date.nullable().optional(),
    yearFrom: f.yearFrom.nullable().optional(),
    yearTo: f.yearTo.nullable().optional(),
    language: f.language.nullable().optional(),
    subject: f.subject.nullable().optional(),
    description: f.description.nullable().optional(),
    type: f.type.nullable().optional(),
    format: f.format.nullable().optional(),
    identifier: f.identifier.nullable().optional(),
    source: f.source.nullable().optional(),
    rights: f.rights.nullable().optional(),
    extent: f.extent.nullable().optional(),
    collectionId: f.collectionId.nullable().optional(),
    viewingDirection: f.viewingDirection.nullable().optional(),
    behavior: f.behavior.nullable().optional(),
  })
  .strict();
export const MetadataChanges = metadataChangesOf(metadataFields);
export type MetadataChanges = z.infer<typeof MetadataChanges>;
/** A change read back from the log. */
export const StoredMetadataChanges = metadataChangesOf(storedMetadataFields);

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }
  return a === b;
}

/** The subset of `changes` that actually differs from `current` (empty when nothing changes). */
export function effectiveChanges(current: Metadata, changes: MetadataChanges): MetadataChanges {
  const out: Record<string, unknown> = {};
  for (const field of METADATA_FIELDS) {
    if (!(field in changes)) continue;
    const next = changes[field];
    const now = current[field];
    if (next === undefined) continue;
    if (next === null ? now !== undefined : !sameValue(now, next)) out[field] = next;
  }
  return out as MetadataChanges;
}

export function applyChanges(current: Metadata, changes: MetadataChanges): Metadata {
  const next: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  return next as Metadata;
}

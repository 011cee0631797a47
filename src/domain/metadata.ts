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

const text = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine(wellFormedText)
    .transform((s) => s.normalize('NFC').trim());

const nonEmptyText = (max: number) =>
  text(max).refine((s) => s.length > 0, { message: 'không được để trống / must not be empty' });

// ISO 639-3 (three letters): `vie` Vietnamese, `lzh` Literary Chinese (Hán văn), `fra`, `eng`...
export const LanguageCode = z.string().regex(/^[a-z]{3}$/, 'mã ISO 639-3, ví dụ "vie", "lzh" / an ISO 639-3 code such as "vie" or "lzh"');

const Year = z.number().int().min(-3000).max(2200);

export const metadataFields = {
  title: nonEmptyText(2000),
  alternativeTitle: z.array(nonEmptyText(2000)).max(50),
  creator: text(1000),
  date: text(200),
  yearFrom: Year,
  yearTo: Year,
  language: z.array(LanguageCode).max(20),
  subject: text(2000),
  description: text(20000),
  type: text(200),
  format: text(200),
  identifier: text(200),
  source: text(2000),
  rights: z
    .string()
    .superRefine(wellFormedText)
    .url('một URI, ví dụ http://rightsstatements.org/vocab/InC/1.0/ / a URI such as http://rightsstatements.org/vocab/InC/1.0/')
    .max(500),
  extent: text(500),
  collectionId: Id,
  /** IIIF reading order; Han-Nôm books read right to left. Unset: from the language (lzh → right-to-left). */
  viewingDirection: z.enum(['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top']),
  /** IIIF behavior of the object as a whole: a bound book is `paged`, loose leaves `individuals`. */
  behavior: z.enum(['paged', 'individuals', 'continuous', 'unordered']),
} as const;

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
export const Metadata = z
  .object({
    title: metadataFields.title,
    alternativeTitle: metadataFields.alternativeTitle.optional(),
    creator: metadataFields.creator.optional(),
    date: metadataFields.date.optional(),
    yearFrom: metadataFields.yearFrom.optional(),
    yearTo: metadataFields.yearTo.optional(),
    language: metadataFields.language.optional(),
    subject: metadataFields.subject.optional(),
    description: metadataFields.description.optional(),
    type: metadataFields.type.optional(),
    format: metadataFields.format.optional(),
    identifier: metadataFields.identifier.optional(),
    source: metadataFields.source.optional(),
    rights: metadataFields.rights.optional(),
    extent: metadataFields.extent.optional(),
    collectionId: metadataFields.collectionId.optional(),
    viewingDirection: metadataFields.viewingDirection.optional(),
    behavior: metadataFields.behavior.optional(),
  })
  .strict();
export type Metadata = z.infer<typeof Metadata>;

/**
 * A change to metadata: each present field is set; `null` clears an optional field.
 * The title can be changed but never cleared.
 */
export const MetadataChanges = z
  .object({
    title: metadataFields.title.optional(),
    alternativeTitle: metadataFields.alternativeTitle.nullable().optional(),
    creator: metadataFields.creator.nullable().optional(),
    date: metadataFields.date.nullable().optional(),
    yearFrom: metadataFields.yearFrom.nullable().optional(),
    yearTo: metadataFields.yearTo.nullable().optional(),
    language: metadataFields.language.nullable().optional(),
    subject: metadataFields.subject.nullable().optional(),
    description: metadataFields.description.nullable().optional(),
    type: metadataFields.type.nullable().optional(),
    format: metadataFields.format.nullable().optional(),
    identifier: metadataFields.identifier.nullable().optional(),
    source: metadataFields.source.nullable().optional(),
    rights: metadataFields.rights.nullable().optional(),
    extent: metadataFields.extent.nullable().optional(),
    collectionId: metadataFields.collectionId.nullable().optional(),
    viewingDirection: metadataFields.viewingDirection.nullable().optional(),
    behavior: metadataFields.behavior.nullable().optional(),
  })
  .strict();
export type MetadataChanges = z.infer<typeof MetadataChanges>;

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

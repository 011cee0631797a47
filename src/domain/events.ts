import { z } from 'zod';
import { renamedRole, ROLES } from './access-policy.ts';
import { AccessLevel, Id, LanguageCode, StoredMetadata, StoredMetadataChanges } from './metadata.ts';
import { StoredLibraryFields } from './library.ts';
import { MAX_PAGES } from './page-image.ts';
import { PAGE_LABEL_MAX_CHARS, STRUCTURE_MAX_RANGES } from './page-structure.ts';

/**
 * Every event thukho writes, as zod schemas. Events are read back from a log that may be
 * years old, so each type has a schema version and a chain of upcasters: an old payload is
 * lifted step by step to the current shape before it is parsed. An upcaster is added,
 * never edited, when a payload changes shape.
 */
const Sha512 = z.string().regex(/^[0-9a-f]{128}$/);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Md5 = z.string().regex(/^[0-9a-f]{32}$/);
/** An argon2id hash in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
const PasswordHash = z.string().max(500).regex(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/, 'an argon2id PHC string');
/** A token's label, unique within its account ("default", "ingest-script", "ocr-2026"). */
export const TokenName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, ".", "_" or "-" (64 at most)');

export const FileRole = z.enum(['master', 'access', 'supplement']);
export type FileRole = z.infer<typeof FileRole>;

export const IngestedFile = z.object({
  fileId: Id,
  name: z.string().min(1).max(1024),
  role: FileRole,
  size: z.number().int().nonnegative(),
  mediaType: z.string().min(1).max(200),
  digests: z.object({ sha512: Sha512, sha256: Sha256, md5: Md5.optional() }),
  image: z
    .object({
      width: z.number().int().positive(),
      height: z.number().int().positive(),
      bitDepth: z.number().int().positive().optional(),
      iccProfile: z.string().max(500).optional(),
      dpi: z.number().positive().optional(),
      pages: z.number().int().positive().optional(),
    })
    .optional(),
  pdf: z.object({ version: z.string().max(10), pages: z.number().int().positive().optional() }).optional(),
  storage: z.object({
    ocflObjectId: z.string().min(1),
    version: z.string().regex(/^v\d+$/),
    path: z.string().min(1),
  }),
});
export type IngestedFile = z.infer<typeof IngestedFile>;

/** One OCR output file: stored under the derivatives folder by its digest. */
const OcrOutput = z.object({ sha256: Sha256, size: z.number().int().nonnegative() });

/**
 * Access derivatives of one image master: a tiled pyramidal TIFF, the standard IIIF tile
 * grid cut once, and whole-image sizes. Reproducible from the master, so they live outside
 * OCFL under a folder named by the master's sha512; `pyramid.sha256` pins what was made.
 */
export const DerivativeInfo = z.object({
  masterSha512: Sha512,
  /** Page of a multi-page master (TIFF IFD, 1-based) these are of; absent for page 1. */
  page: z.number().int().min(2).optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  pyramid: z.object({ sha256: Sha256, size: z.number().int().nonnegative(), levels: z.number().int().positive() }),
  tileSize: z.number().int().positive(),
  scaleFactors: z.array(z.number().int().positive()).min(1),
  tiles: z.number().int().nonnegative(),
  sizes: z.array(z.object({ width: z.number().int().positive(), height: z.number().int().positive() })),
  software: z.string().max(200),
});
export type DerivativeInfo = z.infer<typeof DerivativeInfo>;

/** What a fixity check or a repair looked at: a master, a derivative pyramid, or an OCFL inventory. */
export const FixityTarget = z.enum(['master', 'derivative', 'inventory']);
export type FixityTarget = z.infer<typeof FixityTarget>;
/** Why a check failed. */
export const FixityFailure = z.enum(['changed', 'truncated', 'missing', 'unreadable', 'invalid-inventory']);
export type FixityFailure = z.infer<typeof FixityFailure>;
/** A storage root by label ("primary", "replica-1", …) and the path it had when the event was written. */
export const StorageRootRef = z.object({ label: z.string().min(1).max(100), path: z.string().min(1).max(4096) });

/** A page holds a few thousand characters; a dense newspaper page some tens of thousands. */
export const PAGE_TEXT_MAX_CHARS = 200_000;
/** A search query is recorded up to this length: enough for any real search, bounded for a crafted one. */
export const SEARCH_QUERY_MAX_CHARS = 500;

const WordBox = z
  .object({
    start: z.number().int().nonnegative(),
    end: z.number().int().nonnegative(),
    x: z.number().int().nonnegative(),
    y: z.number().int().nonnegative(),
    w: z.number().int().positive(),
    h: z.number().int().positive(),
  })
  .refine((b) => b.end > b.start, { message: 'a word box ends after it starts' });

const PageNumber = z.number().int().min(2).max(MAX_PAGES).optional();
const PageLabelEntry = z.object({ fileId: Id, page: PageNumber, label: z.string().max(PAGE_LABEL_MAX_CHARS) });
const StructureEntry = z.object({ label: z.string().min(1).max(PAGE_LABEL_MAX_CHARS), fileId: Id, page: PageNumber });

const Digests = z.object({ sha512: Sha512.optional(), sha256: Sha256.optional() });

/**
 * The BagIt bag a work came in as (`thukho ingest-bag`): what was verified and what the sender
 * said about it in bag-info.txt, kept whole (every label, repeated labels as lists) because
 * that is the sender's own record of the transfer. Optional and additive: a reader that does
 * not know it loses only this provenance note, never the meaning of the event.
 */
export const BagAccession = z.object({
  /** The bag's folder name as it was read. */
  name: z.string().max(1024),
  bagitVersion: z.string().max(20),
  /** Payload manifest algorithms, every file verified against each, strongest first. */
  verified: z.array(z.string().min(1).max(40)).min(1).max(30),
  /** Tag manifest algorithms verified, strongest first (none when the bag has no tag manifest). */
  tagVerified: z.array(z.string().min(1).max(40)).max(30),
  /** Of data/ as found (and as bag-info.txt said, when it said). */
  payloadOxum: z.string().regex(/^\d+\.\d+$/).max(60),
  /** SHA-256 of the sorted `<sha512>  <path>` lines of every payload file: how a re-import is recognised. */
  fingerprint: Sha256,
  /** bag-info.txt: label as written → values in file order. */
  info: z.record(z.string().min(1).max(200), z.array(z.string().max(10_000)).max(100)).refine((r) => Object.keys(r).length <= 200, 'at most 200 labels'),
});
export type BagAccession = z.infer<typeof BagAccession>;

/**
 * The OAI-PMH record a work was harvested from (`thukho harvest`): the source's own identifier
 * for it, kept so that a re-harvest finds the same work and a reader can trace the record back.
 * Optional and additive, like `bag`.
 */
export const HarvestSource = z.object({
  /** The provider's base URL as harvested. */
  baseUrl: z.string().url().max(2000),
  /** The record's OAI identifier at the source, e.g. oai:repo.example.org:123456789/42. */
  identifier: z.string().min(1).max(1000),
  /** The record's datestamp at the source when it was first harvested. */
  datestamp: z.string().max(40),
  metadataPrefix: z.string().min(1).max(100),
  set: z.string().max(1000).optional(),
});
export type HarvestSource = z.infer<typeof HarvestSource>;

/**
 * The other system a work was brought from (`thukho import-saf`: a DSpace Simple Archive
 * Format item): where it was read, the source's own identifier (a DSpace handle) by which a
 * re-import finds the same work, and the source's record whole (every metadata value, also
 * those with no field of ours). Optional and additive, like `bag`.
 */
export const ImportAccession = z.object({
  /** How it came, e.g. `dspace-saf`. */
  format: z.string().min(1).max(40),
  /** Where it was read, e.g. the archive folder and the item folder. */
  location: z.string().min(1).max(2048),
  /** The source's identifier of the work (a DSpace handle), when it has one. */
  identifier: z.string().min(1).max(500).optional(),
  /** SHA-256 of the sorted `<sha512>  <name>` lines of the files brought in with the work. */
  fingerprint: Sha256,
  /** The source's record: key as the source writes it (e.g. `dc.title[vi]`) → values in order. */
  record: z
    .record(z.string().min(1).max(200), z.array(z.string().max(20_000)).max(200))
    .refine((r) => Object.keys(r).length <= 300, 'at most 300 keys'),
});
export type ImportAccession = z.infer<typeof ImportAccession>;

export const eventSchemas = {
  ObjectRegistered: z.object({
    objectId: Id,
    metadata: StoredMetadata,
    accessLevel: AccessLevel,
    /** Present when the work was accessioned from a BagIt bag. */
    bag: BagAccession.optional(),
    /** Present when the work was harvested over OAI-PMH from another repository. */
    harvest: HarvestSource.optional(),
    /** Present when the work was brought from another system (a DSpace SAF export). */
    imported: ImportAccession.optional(),
  }),
  MetadataEdited: z.object({
    objectId: Id,
    changes: StoredMetadataChanges,
    /** Why the record was edited, as the editor said it (optional; older events have none). */
    reason: z.string().max(2000).optional(),
  }),
  FileIngested: IngestedFile.extend({ objectId: Id, sequence: z.number().int().nonnegative() }),
  FilesReordered: z.object({
    objectId: Id,
    order: z.array(Id),
  }),
  /**
   * Labels of some pages (a page of a multi-page master by `page`, absent for page 1): the
   * label each listed page has from now on; an empty label gives the page back its number.
   * `pattern`/`start` say how the labels were generated, when they were.
   */
  PageLabelsSet: z.object({
    objectId: Id,
    labels: z.array(PageLabelEntry).max(MAX_PAGES),
    pattern: z.string().max(PAGE_LABEL_MAX_CHARS).optional(),
    start: z.number().int().positive().optional(),
  }),
  /** The table of contents, whole: each entry starts at its page and runs to the next entry's start. */
  StructureSet: z.object({
    objectId: Id,
    ranges: z.array(StructureEntry).max(STRUCTURE_MAX_RANGES),
  }),
  AccessPolicyChanged: z.object({
    objectId: Id,
    from: AccessLevel,
    to: AccessLevel,
    reason: z.string().max(2000).optional(),
  }),
  ObjectWithdrawn: z.object({
    objectId: Id,
    reason: z.string().min(1).max(2000),
  }),
  DerivativeCreated: DerivativeInfo.extend({ objectId: Id, fileId: Id }),
  DerivativeFailed: z.object({
    objectId: Id,
    fileId: Id,
    masterSha512: Sha512,
    /** As in DerivativeCreated: absent for page 1. */
    page: z.number().int().min(2).optional(),
    reason: z.string().min(1).max(2000),
    attempts: z.number().int().positive(),
  }),
  FixityChecked: z.object({
    objectId: Id,
    /** The file checked; absent for an inventory. */
    fileId: Id.optional(),
    target: FixityTarget,
    /** Path relative to the storage root (OCFL content path, or the derivative's). */
    path: z.string().min(1).max(4096),
    storageRoot: StorageRootRef,
    outcome: z.enum(['pass', 'fail']),
    failure: FixityFailure.optional(),
    /** sha512 (and sha256) computed in one pass; `algorithm` names the one that decides. */
    algorithm: z.enum(['sha512', 'sha256']),
    expected: Digests,
    actual: Digests,
    bytes: z.number().int().nonnegative(),
    durationMs: z.number().nonnegative(),
    detail: z.string().max(2000).optional(),
  }),
  FileReplicated: z.object({
    objectId: Id,
    /** OCFL object version copied and verified on the replica. */
    version: z.string().regex(/^v\d+$/),
    replica: StorageRootRef,
    files: z.number().int().nonnegative(),
    bytes: z.number().int().nonnegative(),
  }),
  FileRepaired: z.object({
    objectId: Id,
    fileId: Id.optional(),
    target: FixityTarget,
    path: z.string().min(1).max(4096),
    /** The copy that was damaged and has been replaced. */
    storageRoot: StorageRootRef,
    /** The copy whose digest verified, that the bytes came from. */
    from: StorageRootRef,
    sha512: Sha512,
    failure: FixityFailure,
  }),
  FileDamaged: z.object({
    objectId: Id,
    fileId: Id.optional(),
    target: FixityTarget,
    path: z.string().min(1).max(4096),
    storageRoot: StorageRootRef,
    failure: FixityFailure,
    /** Every copy that was tried, and why none could serve. */
    tried: z.array(z.object({ root: StorageRootRef, reason: z.string().max(500) })).max(100),
  }),
  /**
   * The text of one page (a file of the work): read by OCR, taken from a born-digital file, or
   * typed by a transcriber. A later record for the same file replaces the earlier one.
   * `words` place each word on the page image (canvas pixels); `start`/`end` are UTF-16
   * offsets into `text`, so that a search hit can open the page at the matched line.
   */
  PageTextRecorded: z.object({
    objectId: Id,
    fileId: Id,
    /** The page of a multi-page master (a TIFF's or a PDF's); absent for page 1. */
    page: z.number().int().min(2).max(MAX_PAGES).optional(),
    text: z.string().max(PAGE_TEXT_MAX_CHARS),
    source: z.enum(['ocr', 'born-digital', 'transcription']),
    /** The OCR engine and its models, or the tool that extracted the text ("tesseract 5.3 vie+chi_tra"). */
    engine: z.string().min(1).max(200).optional(),
    language: z.array(LanguageCode).max(20).optional(),
    words: z.array(WordBox).max(PAGE_TEXT_MAX_CHARS).optional(),
  }),
  /**
   * A page read by OCR. The three outputs are derivatives stored by digest (re-running with
   * new models adds new files and a new event: the older reading stays in the history, the
   * latest is current). Boxes in the outputs are in full-resolution canvas pixels. Always
   * appended together with the page's PageTextRecorded (source "ocr"), which the read models
   * and the search index take the text from. A blank page is a success with no words.
   */
  OcrCompleted: z.object({
    objectId: Id,
    fileId: Id,
    /** As in DerivativeCreated: absent for page 1. */
    page: z.number().int().min(2).max(MAX_PAGES).optional(),
    masterSha512: Sha512,
    engine: z.object({
      name: z.string().min(1).max(100),
      version: z.string().min(1).max(200),
      models: z.array(z.object({ name: z.string().min(1).max(200), sha256: Sha256 })).max(20),
    }),
    languages: z.array(LanguageCode).min(1).max(20),
    /** Mean word confidence, 0-100; 0 on a blank page. */
    meanConfidence: z.number().min(0).max(100),
    words: z.number().int().nonnegative(),
    /** SHA-256 of the page's plain text (UTF-8, NFC). */
    textSha256: Sha256,
    outputs: z.object({ text: OcrOutput, hocr: OcrOutput, alto: OcrOutput }),
    /** Degrees the page image was turned before it read right. */
    rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).optional(),
    /** Why the first engine's reading was not used, when the fallback engine read the page. */
    fellBack: z.string().max(2000).optional(),
  }),
  OcrFailed: z.object({
    objectId: Id,
    fileId: Id,
    page: z.number().int().min(2).max(MAX_PAGES).optional(),
    masterSha512: Sha512,
    reason: z.string().min(1).max(2000),
    attempts: z.number().int().positive(),
    languages: z.array(z.string().max(20)).max(20).optional(),
  }),
  /**
   * A work's machine facts summed up to a revision of its preservation stream (and the facts
   * older logs keep on its object stream), so that a process that has not read the work yet
   * reads the facts after it, not the whole history. Derived data: `hash` pins the fact it
   * was made at, and a summary that does not match the log is ignored.
   */
  PreservationSummarized: z.object({
    objectId: Id,
    upTo: z.number().int().nonnegative(),
    hash: Sha256,
    summary: z.object({
      derivatives: z.record(z.string(), DerivativeInfo),
      derivativeFailures: z.record(z.string(), z.object({ reason: z.string().max(2000), attempts: z.number().int().positive() })),
      replicated: z.record(z.string(), z.number().int().nonnegative()),
    }),
  }),
  SealCreated: z.object({
    /** Merkle root (sha256, hex) over every stream's head hash, sorted by stream id. */
    merkleRoot: Sha256,
    /** Global log position the seal covers (everything up to and including it). */
    position: z.string().regex(/^\d+$/),
    streams: z.number().int().nonnegative(),
    /** Replica roots the seal was written to. */
    writtenTo: z.array(StorageRootRef).max(100),
  }),
  /**
   * `libraryId`: the library holding the collection's works. Absent (every log before
   * libraries): its parent's library, and for a top collection the home library.
   */
  CollectionCreated: z.object({
    collectionId: Id,
    title: z.string().min(1).max(2000),
    description: z.string().max(20000).optional(),
    parentId: Id.optional(),
    libraryId: Id.optional(),
  }),
  /** `libraryId: null`: back to the parent's (or the home) library. */
  CollectionEdited: z.object({
    collectionId: Id,
    title: z.string().min(1).max(2000).optional(),
    description: z.string().max(20000).nullable().optional(),
    libraryId: Id.nullable().optional(),
  }),
  /** A library sharing this instance (`library-<id>` streams); the home library needs none. */
  LibraryRegistered: z.object({
    libraryId: Id,
    name: StoredLibraryFields.name,
    code: StoredLibraryFields.code.optional(),
    address: StoredLibraryFields.address.optional(),
    contact: StoredLibraryFields.contact.optional(),
    logo: StoredLibraryFields.logo.optional(),
  }),
  /** Fields given replace the old ones; `null` clears an optional one. `name` is replaced whole. */
  LibraryEdited: z.object({
    libraryId: Id,
    name: StoredLibraryFields.name.optional(),
    code: StoredLibraryFields.code.nullable().optional(),
    address: StoredLibraryFields.address.nullable().optional(),
    contact: StoredLibraryFields.contact.nullable().optional(),
    logo: StoredLibraryFields.logo.nullable().optional(),
  }),
  UserCreated: z.object({
    userId: Id,
    name: z.string().min(1).max(200),
    role: z.enum(ROLES),
    /** The account's first API token (named "default"); accounts made with a password start without one. */
    tokenHash: Sha256.optional(),
  }),
  /** A new "default" token in place of the old one (`thukho users rotate`). */
  UserTokenRotated: z.object({
    userId: Id,
    tokenHash: Sha256,
    /**
     * Only in upcast v1 events: before `users enable` existed, a rotation also re-enabled a
     * disabled account, and old history keeps that meaning. A v2 rotation leaves the status.
     */
    reenables: z.literal(true).optional(),
  }),
  UserRoleChanged: z.object({ userId: Id, role: z.enum(ROLES) }),
  UserDisabled: z.object({ userId: Id }),
  UserEnabled: z.object({ userId: Id }),
  /** Only the argon2id hash (PHC string, salt and cost inside) is ever stored: never the password. */
  UserPasswordSet: z.object({ userId: Id, passwordHash: PasswordHash }),
  /**
   * An API token for scripts: only its SHA-256 is stored. `role` narrows what the token may do
   * (never beyond the account's role); without it the token acts with the account's role.
   */
  ApiTokenIssued: z.object({ userId: Id, tokenName: TokenName, tokenHash: Sha256, role: z.enum(ROLES).optional() }),
  ApiTokenRevoked: z.object({ userId: Id, tokenName: TokenName }),
  /**
   * Access events (`access-<yyyy-mm-dd>` streams, UTC day): what readers used, for the
   * library's usage statistics. No person in them: the envelope's actor is the role and a
   * salted session hash whose salt changes every day and is never written down.
   * A work was opened: its manifest fetched (by our reading room or any IIIF viewer), or the
   * page of a work with no images to show opened. `collectionId` is the work's collection
   * when it was opened, so that statistics per collection keep history as it was.
   */
  ObjectViewed: z.object({
    objectId: Id,
    collectionId: Id.optional(),
    accessLevel: AccessLevel,
    via: z.enum(['manifest', 'page']),
  }),
  /** An original (a master or a supplement) was downloaded. Tiles and renders are not downloads: too many, and not a copy of the file. */
  FileDownloaded: z.object({
    objectId: Id,
    fileId: Id,
    collectionId: Id.optional(),
    accessLevel: AccessLevel,
    bytes: z.number().int().nonnegative(),
  }),
  /** A search was run (its first page; the next pages are the same search). */
  SearchPerformed: z.object({
    query: z.string().max(SEARCH_QUERY_MAX_CHARS),
    filters: z.record(z.string().max(50), z.array(z.string().max(200)).max(20)),
    results: z.number().int().nonnegative(),
    surface: z.enum(['site', 'api']),
  }),
} as const;

export type EventType = keyof typeof eventSchemas;
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[];

export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;

/** A domain event as the deciders produce it: type and payload, no envelope. */
export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

/** What people and ingest decide about a work: the `object-<id>` stream, whose revision is the ETag. */
export const OBJECT_DECISION_TYPES = [
  'ObjectRegistered',
  'MetadataEdited',
  'FileIngested',
  'FilesReordered',
  'AccessPolicyChanged',
  'ObjectWithdrawn',
  'PageLabelsSet',
  'StructureSet',
] as const satisfies readonly EventType[];

/**
 * What machines find out about a work: the `preservation-<id>` stream. Logs written before
 * 2026-12 also carry these on `object-<id>`; readers accept them on either stream.
 */
export const PRESERVATION_EVENT_TYPES = [
  'DerivativeCreated',
  'DerivativeFailed',
  'FixityChecked',
  'FileReplicated',
  'FileRepaired',
  'FileDamaged',
  'PageTextRecorded',
  'OcrCompleted',
  'OcrFailed',
] as const satisfies readonly EventType[];

export type ObjectEvent = Extract<DomainEvent, { type: (typeof OBJECT_DECISION_TYPES)[number] }>;
export type PreservationEvent = Extract<DomainEvent, { type: (typeof PRESERVATION_EVENT_TYPES)[number] }>;
/** Everything that is about one work, on either of its streams. */
export type ObjectHistoryEvent = ObjectEvent | PreservationEvent;
export const WORK_EVENT_TYPES: readonly ObjectHistoryEvent['type'][] = [...OBJECT_DECISION_TYPES, ...PRESERVATION_EVENT_TYPES];
export type CollectionEvent = Extract<DomainEvent, { type: 'CollectionCreated' | 'CollectionEdited' }>;
export const LIBRARY_EVENT_TYPES = ['LibraryRegistered', 'LibraryEdited'] as const satisfies readonly EventType[];
export type LibraryEvent = Extract<DomainEvent, { type: (typeof LIBRARY_EVENT_TYPES)[number] }>;
export const USER_EVENT_TYPES = [
  'UserCreated',
  'UserTokenRotated',
  'UserRoleChanged',
  'UserDisabled',
  'UserEnabled',
  'UserPasswordSet',
  'ApiTokenIssued',
  'ApiTokenRevoked',
] as const satisfies readonly EventType[];
export type UserEvent = Extract<DomainEvent, { type: (typeof USER_EVENT_TYPES)[number] }>;
/** What readers did: the `access-<yyyy-mm-dd>` streams, appended in batches off the request path. */
export const ACCESS_EVENT_TYPES = ['ObjectViewed', 'FileDownloaded', 'SearchPerformed'] as const satisfies readonly EventType[];
export type AccessEvent = Extract<DomainEvent, { type: (typeof ACCESS_EVENT_TYPES)[number] }>;

/** Current payload version of each type. Bump it together with a new upcaster. */
export const CURRENT_SCHEMA_VERSION: Record<EventType, number> = {
  ObjectRegistered: 1,
  MetadataEdited: 1,
  FileIngested: 1,
  FilesReordered: 1,
  AccessPolicyChanged: 1,
  ObjectWithdrawn: 1,
  PageLabelsSet: 1,
  StructureSet: 1,
  DerivativeCreated: 2,
  DerivativeFailed: 2,
  FixityChecked: 1,
  FileReplicated: 1,
  FileRepaired: 1,
  FileDamaged: 1,
  PageTextRecorded: 1,
  OcrCompleted: 1,
  OcrFailed: 1,
  PreservationSummarized: 1,
  SealCreated: 1,
  CollectionCreated: 1,
  CollectionEdited: 1,
  LibraryRegistered: 1,
  LibraryEdited: 1,
  UserCreated: 2,
  UserTokenRotated: 2,
  UserRoleChanged: 2,
  UserDisabled: 1,
  UserEnabled: 1,
  UserPasswordSet: 1,
  ApiTokenIssued: 1,
  ApiTokenRevoked: 1,
  ObjectViewed: 1,
  FileDownloaded: 1,
  SearchPerformed: 1,
};

type Upcaster = (data: unknown) => unknown;

/** v1 of the user events may name the old `staff` role (see renamedRole); the schema judges the rest. */
const staffIsCurator: Upcaster = (data) => {
  const d = data as { role?: unknown };
  const role = renamedRole(d.role);
  return role === d.role ? data : { ...(data as object), role };
};
/** upcasters[type][n] lifts a version-n payload to version n+1. */
export const upcasters: Partial<Record<EventType, Record<number, Upcaster>>> = {
  // v2 may name a page (≥ 2) of a multi-page master; every v1 fact is about page 1. The
  // version moves although the field is optional: a thukho that knows only v1 would drop
  // `page` and take page 2's pyramid for page 1's, so it must refuse these instead.
  DerivativeCreated: { 1: (data) => data },
  DerivativeFailed: { 1: (data) => data },
  UserTokenRotated: { 1: (data) => ({ ...(data as object), reenables: true }) },
  UserCreated: { 1: staffIsCurator },
  UserRoleChanged: { 1: staffIsCurator },
};

/** PREMIS 3 eventType (id.loc.gov/vocabulary/preservation/eventType) for each event. */
export const PREMIS_EVENT_TYPE: Record<EventType, string> = {
  ObjectRegistered: 'accession',
  MetadataEdited: 'metadata modification',
  FileIngested: 'ingestion',
  FilesReordered: 'metadata modification',
  AccessPolicyChanged: 'policy assignment',
  ObjectWithdrawn: 'deaccession',
  // Labels and a table of contents describe the work's pages: metadata, like the page order.
  PageLabelsSet: 'metadata modification',
  StructureSet: 'metadata modification',
  // PREMIS has no "derivation"; making access copies is the creation of new files.
  DerivativeCreated: 'creation',
  DerivativeFailed: 'creation',
  FixityChecked: 'fixity check',
  FileReplicated: 'replication',
  FileRepaired: 'recovery',
  // PREMIS has no "damage" event; the failed check that found it is the fixity check.
  FileDamaged: 'fixity check',
  // Text read from a page image is a new representation of it, as a derivative is.
  PageTextRecorded: 'creation',
  OcrCompleted: 'creation',
  OcrFailed: 'creation',
  // Not an event about the work itself but a derived summary of its facts (never shown in
  // provenance); the nearest PREMIS term for recording what is known of an object.
  PreservationSummarized: 'metadata modification',
  SealCreated: 'message digest calculation',
  CollectionCreated: 'creation',
  CollectionEdited: 'metadata modification',
  // A library's record is not a preservation event about a work; as for collections.
  LibraryRegistered: 'creation',
  LibraryEdited: 'metadata modification',
  // Account changes are not preservation events; PREMIS has no closer term than this.
  UserCreated: 'creation',
  UserTokenRotated: 'metadata modification',
  UserRoleChanged: 'policy assignment',
  UserDisabled: 'metadata modification',
  UserEnabled: 'metadata modification',
  UserPasswordSet: 'metadata modification',
  ApiTokenIssued: 'metadata modification',
  ApiTokenRevoked: 'metadata modification',
  // PREMIS 3 has terms for use: showing a work to a reader is "displaying", handing out a
  // copy of a file "dissemination". A search shows records, not a work: the nearest term.
  ObjectViewed: 'displaying',
  FileDownloaded: 'dissemination',
  SearchPerformed: 'displaying',
};

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventSchemas, type);
}

export class EventSchemaError extends Error {
  constructor(
    readonly type: string,
    readonly schemaVersion: number,
    readonly issues: string,
  ) {
    super(`event ${type} v${schemaVersion} does not match its schema: ${issues}`);
    this.name = 'EventSchemaError';
  }
}

/** Lift a stored payload to the current schema version and validate it. */
export function parseEventData<T extends EventType>(type: T, schemaVersion: number, data: unknown): EventData<T> {
  const current = CURRENT_SCHEMA_VERSION[type];
  if (schemaVersion > current) {
    throw new EventSchemaError(type, schemaVersion, `written by a newer thukho (this one knows v${current})`);
  }
  let lifted = data;
  for (let v = schemaVersion; v < current; v++) {
    const up = upcasters[type]?.[v];
    if (!up) throw new EventSchemaError(type, schemaVersion, `no upcaster from v${v}`);
    lifted = up(lifted);
  }
  const parsed = eventSchemas[type].safeParse(lifted);
  if (!parsed.success) throw new EventSchemaError(type, schemaVersion, parsed.error.message);
  return parsed.data as EventData<T>;
}

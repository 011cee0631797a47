import { z } from 'zod';
import { ROLES } from './access-policy.ts';
import { AccessLevel, Id, Metadata, MetadataChanges } from './metadata.ts';

/**
 * Every event thukho writes, as zod schemas. Events are read back from a log that may be
 * years old, so each type has a schema version and a chain of upcasters: an old payload is
 * lifted step by step to the current shape before it is parsed. An upcaster is added,
 * never edited, when a payload changes shape.
 */
const Sha512 = z.string().regex(/^[0-9a-f]{128}$/);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const Md5 = z.string().regex(/^[0-9a-f]{32}$/);

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

/**
 * Access derivatives of one image master: a tiled pyramidal TIFF, the standard IIIF tile
 * grid cut once, and whole-image sizes. Reproducible from the master, so they live outside
 * OCFL under a folder named by the master's sha512; `pyramid.sha256` pins what was made.
 */
export const DerivativeInfo = z.object({
  masterSha512: Sha512,
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

export const eventSchemas = {
  ObjectRegistered: z.object({
    objectId: Id,
    metadata: Metadata,
    accessLevel: AccessLevel,
  }),
  MetadataEdited: z.object({
    objectId: Id,
    changes: MetadataChanges,
  }),
  FileIngested: IngestedFile.extend({ objectId: Id, sequence: z.number().int().nonnegative() }),
  FilesReordered: z.object({
    objectId: Id,
    order: z.array(Id),
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
    reason: z.string().min(1).max(2000),
    attempts: z.number().int().positive(),
  }),
  CollectionCreated: z.object({
    collectionId: Id,
    title: z.string().min(1).max(2000),
    description: z.string().max(20000).optional(),
    parentId: Id.optional(),
  }),
  CollectionEdited: z.object({
    collectionId: Id,
    title: z.string().min(1).max(2000).optional(),
    description: z.string().max(20000).nullable().optional(),
  }),
  UserCreated: z.object({ userId: Id, name: z.string().min(1).max(200), role: z.enum(ROLES), tokenHash: z.string().regex(/^[0-9a-f]{64}$/) }),
  UserTokenRotated: z.object({ userId: Id, tokenHash: z.string().regex(/^[0-9a-f]{64}$/) }),
  UserRoleChanged: z.object({ userId: Id, role: z.enum(ROLES) }),
  UserDisabled: z.object({ userId: Id }),
} as const;

export type EventType = keyof typeof eventSchemas;
export const EVENT_TYPES = Object.keys(eventSchemas) as EventType[];

export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;

/** A domain event as the deciders produce it: type and payload, no envelope. */
export type DomainEvent = { [T in EventType]: { type: T; data: EventData<T> } }[EventType];

export type ObjectEvent = Extract<
  DomainEvent,
  {
    type:
      | 'ObjectRegistered'
      | 'MetadataEdited'
      | 'FileIngested'
      | 'FilesReordered'
      | 'AccessPolicyChanged'
      | 'ObjectWithdrawn'
      | 'DerivativeCreated'
      | 'DerivativeFailed';
  }
>;
export type CollectionEvent = Extract<DomainEvent, { type: 'CollectionCreated' | 'CollectionEdited' }>;
export type UserEvent = Extract<DomainEvent, { type: 'UserCreated' | 'UserTokenRotated' | 'UserRoleChanged' | 'UserDisabled' }>;

/** Current payload version of each type. Bump it together with a new upcaster. */
export const CURRENT_SCHEMA_VERSION: Record<EventType, number> = {
  ObjectRegistered: 1,
  MetadataEdited: 1,
  FileIngested: 1,
  FilesReordered: 1,
  AccessPolicyChanged: 1,
  ObjectWithdrawn: 1,
  DerivativeCreated: 1,
  DerivativeFailed: 1,
  CollectionCreated: 1,
  CollectionEdited: 1,
  UserCreated: 1,
  UserTokenRotated: 1,
  UserRoleChanged: 1,
  UserDisabled: 1,
};

type Upcaster = (data: unknown) => unknown;
/** upcasters[type][n] lifts a version-n payload to version n+1. */
export const upcasters: Partial<Record<EventType, Record<number, Upcaster>>> = {};

/** PREMIS 3 eventType (id.loc.gov/vocabulary/preservation/eventType) for each event. */
export const PREMIS_EVENT_TYPE: Record<EventType, string> = {
  ObjectRegistered: 'accession',
  MetadataEdited: 'metadata modification',
  FileIngested: 'ingestion',
  FilesReordered: 'metadata modification',
  AccessPolicyChanged: 'policy assignment',
  ObjectWithdrawn: 'deaccession',
  // PREMIS has no "derivation"; making access copies is the creation of new files.
  DerivativeCreated: 'creation',
  DerivativeFailed: 'creation',
  CollectionCreated: 'creation',
  CollectionEdited: 'metadata modification',
  // Account changes are not preservation events; PREMIS has no closer term than this.
  UserCreated: 'creation',
  UserTokenRotated: 'metadata modification',
  UserRoleChanged: 'policy assignment',
  UserDisabled: 'metadata modification',
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

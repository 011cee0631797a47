import { DomainError, type Bilingual } from '../domain/errors.ts';
import {
  type EventData,
  EventSchemaError,
  type EventType,
  type FixityFailure,
  type FixityTarget,
  type ObjectHistoryEvent,
  PREMIS_EVENT_TYPE,
  WORK_EVENT_TYPES,
  isEventType,
  parseEventData,
} from '../domain/events.ts';
import { type AccessLevel, ID_PATTERN } from '../domain/metadata.ts';
import { evolveObject, initialObjectState, type ObjectState, type StoredFile } from '../domain/object.ts';
import { CorruptEventError } from '../eventstore/envelope.ts';
import { verifyStreamChain } from '../eventstore/hash-chain.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { objectStream, preservationStream } from './object-commands.ts';
import { readWork } from './work-history.ts';
import { userStream } from './users.ts';

/**
 * The provenance of one object as PREMIS 3: every event of its stream as a PREMIS event
 * (what, when, who, on which file, with what outcome), the agents involved, the files with
 * their fixity, and whether the stream's hash chain still holds. Read straight from the
 * log, not from a read model, so that what staff see is what the log says.
 *
 * Also the fixity-consistency check for `thukho verify`: a fixity check or repair that
 * claims a digest the log never recorded for that file is as suspect as a broken chain.
 */

// ---------------------------------------------------------------------------------------
// Controlled vocabularies (Library of Congress, id.loc.gov/vocabulary/preservation)

const LOC = 'http://id.loc.gov/vocabulary/preservation';

/** A PREMIS stringPlusAuthority: the term, and the vocabulary and URI it comes from. */
export interface AuthorityTerm {
  value: string;
  authority: string;
  authorityURI: string;
  valueURI: string;
}

function term(scheme: string, value: string, code: string): AuthorityTerm {
  return { value, authority: scheme, authorityURI: `${LOC}/${scheme}`, valueURI: `${LOC}/${scheme}/${code}` };
}

/**
 * Codes of the eventType terms PREMIS_EVENT_TYPE uses, as in the LoC vocabulary (revision of
 * 2018-09-24, 50 terms). All of them are real terms: "recovery" (rec) and "policy
 * assignment" (poa) came with the 2017–2018 revisions. The vocabulary has no "derivation"
 * or "damage" event; events.ts already maps those to "creation" and "fixity check".
 */
export const PREMIS_EVENT_TYPE_CODES: Readonly<Record<string, string>> = {
  accession: 'acc',
  creation: 'cre',
  deaccession: 'dea',
  displaying: 'dsp',
  dissemination: 'dis',
  'fixity check': 'fix',
  ingestion: 'ing',
  'message digest calculation': 'mes',
  'metadata modification': 'mem',
  'policy assignment': 'poa',
  recovery: 'rec',
  replication: 'rep',
};

/** The PREMIS eventType of a thukho event type, with its id.loc.gov URI. */
export function premisEventType(type: EventType): AuthorityTerm {
  const label = PREMIS_EVENT_TYPE[type];
  const code = PREMIS_EVENT_TYPE_CODES[label];
  // A new label in events.ts must be looked up in the vocabulary and added above.
  if (!code) throw new Error(`PREMIS eventType "${label}" (for ${type}) has no id.loc.gov code`);
  return term('eventType', label, code);
}

const OUTCOME = { success: term('eventOutcome', 'success', 'suc'), fail: term('eventOutcome', 'fail', 'fai') } as const;
const OBJECT_ROLE = {
  source: term('eventRelatedObjectRole', 'source', 'sou'),
  outcome: term('eventRelatedObjectRole', 'outcome', 'out'),
} as const;
const AGENT_ROLE = {
  implementer: term('eventRelatedAgentRole', 'implementer', 'imp'),
  executingProgram: term('eventRelatedAgentRole', 'executing program', 'exe'),
} as const;
const AGENT_TYPE = { person: term('agentType', 'person', 'per'), software: term('agentType', 'software', 'sof') } as const;
const HASH = {
  sha512: term('cryptographicHashFunctions', 'SHA-512', 'sha512'),
  sha256: term('cryptographicHashFunctions', 'SHA-256', 'sha256'),
  md5: term('cryptographicHashFunctions', 'MD5', 'md5'),
} as const;

/** Identifier types: ours are local to this repository, so they say whose they are. */
export const IDENTIFIER_TYPES = {
  event: 'UUID',
  object: 'thukho object id',
  ocflObject: 'OCFL object id',
  file: 'thukho file id',
  agent: 'thukho actor id',
  contentPath: 'OCFL content path',
  derivativePath: 'thukho derivative path',
  inventoryPath: 'OCFL inventory path',
} as const;

// ---------------------------------------------------------------------------------------
// The provenance document

export interface Identifier {
  type: string;
  value: string;
}

export interface Digests {
  sha512?: string;
  sha256?: string;
}

export interface LinkingObject extends Identifier {
  role: AuthorityTerm;
}

export interface LinkingAgent extends Identifier {
  /** The actor's role in thukho when the event was written (staff, admin, …). */
  actorRole: string;
  agentType: 'person' | 'software';
  role: AuthorityTerm;
}

export interface PremisEvent {
  eventIdentifier: { type: 'UUID'; value: string };
  eventType: AuthorityTerm;
  eventDateTime: string;
  /** What happened, as a sentence in Vietnamese and English. */
  eventDetailInformation: {
    eventDetail: Bilingual;
    /** For a work accessioned from a BagIt bag: the bag's record as the event keeps it (bag-info.txt whole, what was verified). */
    bag?: NonNullable<EventData<'ObjectRegistered'>['bag']>;
    /** For a work brought from another system (DSpace SAF): where from, its identifier there, its record there. */
    imported?: NonNullable<EventData<'ObjectRegistered'>['imported']>;
  };
  eventOutcomeInformation: {
    eventOutcome: AuthorityTerm;
    eventOutcomeDetail?: {
      note: Bilingual;
      expected?: Digests;
      actual?: Digests;
      digests?: Digests;
      failure?: FixityFailure;
    };
  };
  linkingAgentIdentifier: LinkingAgent[];
  linkingObjectIdentifier: LinkingObject[];
  /** Where the event sits in the log (which of the work's streams, at which revision), and whether its hash chain vouches for it. */
  record: { type: EventType; streamId: string; revision: number; chainVerified: boolean };
}

export interface PremisAgent {
  agentIdentifier: Identifier;
  agentName: string;
  agentType: AuthorityTerm;
  /** Every thukho role the actor acted in on this object. */
  roles: string[];
}

export interface ProvenanceFile {
  objectIdentifier: Identifier;
  sequence: number;
  originalName: string;
  role: StoredFile['role'];
  mediaType: string;
  size: number;
  fixity: Array<{ messageDigestAlgorithm: AuthorityTerm; messageDigest: string }>;
  storage: { ocflObjectId: string; version: string; contentPath: string };
}

export type ChainStatus =
  | { status: 'intact'; events: number; head: string }
  | { status: 'broken'; events: number; revision: number; eventId: string; reason: string };

export interface Provenance {
  objectId: string;
  /** The object stream: what people and ingest decided. */
  streamId: string;
  /** The preservation stream: what machines found out (an empty stream is an intact one). */
  factsStreamId: string;
  object: {
    objectIdentifier: Identifier;
    title: string | null;
    status: ObjectState['status'];
    accessLevel: AccessLevel | null;
    files: ProvenanceFile[];
  };
  events: PremisEvent[];
  agents: PremisAgent[];
  chain: ChainStatus;
  factsChain: ChainStatus;
  /** Events of either stream that could not be read as events of a work (never silently dropped). */
  unreadable: Array<{ streamId: string; revision: number; eventId: string; type: string; reason: string }>;
}

function notFound(objectId: string): DomainError {
  return new DomainError(
    'not-found',
    { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` },
    { objectId },
  );
}

function decodeObjectEvent(e: RecordedEvent): { event: ObjectHistoryEvent } | { error: string } {
  if (!isEventType(e.type) || !(WORK_EVENT_TYPES as readonly string[]).includes(e.type)) {
    return { error: `"${e.type}" is not an event of an object stream` };
  }
  try {
    return { event: { type: e.type, data: parseEventData(e.type, e.metadata.schemaVersion, e.data) } as ObjectHistoryEvent };
  } catch (err) {
    if (err instanceof EventSchemaError) return { error: err.message };
    throw err;
  }
}

async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  yield* items;
}

async function chainStatus(streamId: string, events: RecordedEvent[], corrupt?: CorruptEventError): Promise<ChainStatus> {
  const result = await verifyStreamChain(streamId, iterate(events));
  if (!result.ok) {
    const b = result.broken;
    return { status: 'broken', events: result.count, revision: Number(b.revision), eventId: b.eventId, reason: b.reason };
  }
  if (corrupt) {
    return { status: 'broken', events: result.count, revision: Number(corrupt.revision), eventId: '', reason: corrupt.reason };
  }
  return { status: 'intact', events: result.count, head: result.head };
}

// ---------------------------------------------------------------------------------------
// Wording

const q = (s: string) => `“${s}”`;
const bytes = (n: number): Bilingual => ({ vi: `${n.toLocaleString('vi-VN')} byte`, en: `${n.toLocaleString('en-US')} bytes` });
const ALGORITHM_NAME = { sha512: 'SHA-512', sha256: 'SHA-256' } as const;

const LEVEL: Record<AccessLevel, Bilingual> = {
  open: { vi: 'mở', en: 'open' },
  restricted: { vi: 'hạn chế', en: 'restricted' },
  confidential: { vi: 'mật', en: 'confidential' },
};

const FILE_ROLE: Record<StoredFile['role'], Bilingual> = {
  master: { vi: 'bản gốc', en: 'master' },
  access: { vi: 'bản truy cập', en: 'access copy' },
  supplement: { vi: 'tài liệu kèm', en: 'supplement' },
};

const FAILURE: Record<FixityFailure, Bilingual> = {
  changed: { vi: 'nội dung đã thay đổi', en: 'content changed' },
  truncated: { vi: 'tệp bị cắt cụt', en: 'file truncated' },
  missing: { vi: 'không tìm thấy tệp', en: 'file missing' },
  unreadable: { vi: 'không đọc được tệp', en: 'file unreadable' },
  'invalid-inventory': { vi: 'inventory OCFL không hợp lệ', en: 'invalid OCFL inventory' },
};

/** The thing a fixity event is about, as a noun phrase. */
const PAGE_TEXT_SOURCE: Record<EventData<'PageTextRecorded'>['source'], Bilingual> = {
  ocr: { vi: 'nhận dạng chữ (OCR)', en: 'OCR' },
  'born-digital': { vi: 'tệp số gốc', en: 'the born-digital file' },
  transcription: { vi: 'bản chép lại', en: 'a transcription' },
};

/** A page of a file, as a noun phrase: page 1 is the file itself. */
function pageName(name: string, page: number | undefined): Bilingual {
  return page ? { vi: `trang ${page} của tệp ${q(name)}`, en: `page ${page} of file ${q(name)}` } : { vi: `tệp ${q(name)}`, en: `file ${q(name)}` };
}

function targetPhrase(target: FixityTarget, name: string): Bilingual {
  switch (target) {
    case 'master':
      return { vi: `tệp ${q(name)}`, en: `file ${q(name)}` };
    case 'derivative':
      return { vi: `bản phái sinh từ tệp ${q(name)}`, en: `the derivative of file ${q(name)}` };
    case 'inventory':
      return { vi: 'inventory OCFL', en: 'the OCFL inventory' };
  }
}

function digestComparison(expected: Digests, actual: Digests): Bilingual {
  const parts = (['sha512', 'sha256'] as const)
    .filter((a) => expected[a] !== undefined || actual[a] !== undefined)
    .map((a) => ({
      vi: `${ALGORITHM_NAME[a]} mong đợi ${expected[a] ?? '(không có)'}, thực tế ${actual[a] ?? '(không có)'}`,
      en: `${ALGORITHM_NAME[a]} expected ${expected[a] ?? '(none)'}, actual ${actual[a] ?? '(none)'}`,
    }));
  return { vi: `${parts.map((p) => p.vi).join('; ')}.`, en: `${parts.map((p) => p.en).join('; ')}.` };
}

function digestList(d: Digests): Bilingual {
  const list = (['sha512', 'sha256'] as const).flatMap((a) => (d[a] ? [`${ALGORITHM_NAME[a]} ${d[a]}`] : [])).join('; ');
  return { vi: list, en: list };
}

/** Where a work that came as a BagIt bag came from, and what of the bag was verified. */
function bagDetail(bag: NonNullable<EventData<'ObjectRegistered'>['bag']>): Bilingual {
  const info = Object.entries(bag.info)
    .filter(([label]) => label.toLowerCase() !== 'payload-oxum')
    .map(([label, values]) => `${label}: ${values.join(' | ')}`)
    .join('; ');
  const tags = bag.tagVerified.length ? bag.tagVerified.join(', ') : null;
  return {
    vi: ` Từ gói BagIt ${q(bag.name)} (BagIt ${bag.bagitVersion}, Payload-Oxum ${bag.payloadOxum}); đã kiểm tra mọi tệp dữ liệu theo: ${bag.verified.join(', ')}${tags ? `; tệp thẻ theo: ${tags}` : ''}.${info ? ` bag-info.txt: ${info}.` : ''}`,
    en: ` From the BagIt bag ${q(bag.name)} (BagIt ${bag.bagitVersion}, Payload-Oxum ${bag.payloadOxum}); every payload file verified: ${bag.verified.join(', ')}${tags ? `; tag files verified: ${tags}` : ''}.${info ? ` bag-info.txt: ${info}.` : ''}`,
  };
}

/** Where a harvested work's record came from: the source's base URL and its own identifier for the record. */
function harvestDetail(h: NonNullable<EventData<'ObjectRegistered'>['harvest']>): Bilingual {
  const set = h.set ? `, tập ${q(h.set)}` : '';
  const setEn = h.set ? `, set ${q(h.set)}` : '';
  return {
    vi: ` Thu hoạch qua OAI-PMH từ ${h.baseUrl} (bản ghi ${q(h.identifier)}, ${h.metadataPrefix}${set}, ngày bản ghi ${h.datestamp}).`,
    en: ` Harvested over OAI-PMH from ${h.baseUrl} (record ${q(h.identifier)}, ${h.metadataPrefix}${setEn}, datestamp ${h.datestamp}).`,
  };
}

/** Where a work brought from another system came from. */
/** The ways in that `imported` names, in words (an unknown one is named as it is written). */
const IMPORT_FORMATS: Record<string, Bilingual> = {
  'dspace-saf': { vi: 'gói DSpace Simple Archive Format', en: 'the DSpace Simple Archive Format item' },
  iiif: { vi: 'manifest IIIF', en: 'the IIIF manifest' },
};

function importDetail(imported: NonNullable<EventData<'ObjectRegistered'>['imported']>): Bilingual {
  const id = imported.identifier ? ` (${imported.identifier})` : '';
  const what = IMPORT_FORMATS[imported.format] ?? { vi: imported.format, en: imported.format };
  return {
    vi: ` Nhập từ ${what.vi} ${q(imported.location)}${id}.`,
    en: ` Imported from ${what.en} ${q(imported.location)}${id}.`,
  };
}

type Described = {
  detail: Bilingual;
  bag?: NonNullable<EventData<'ObjectRegistered'>['bag']>;
  imported?: NonNullable<EventData<'ObjectRegistered'>['imported']>;
  outcome: keyof typeof OUTCOME;
  outcomeDetail?: NonNullable<PremisEvent['eventOutcomeInformation']['eventOutcomeDetail']>;
  objects: LinkingObject[];
};

function pathIdentifier(target: FixityTarget, path: string): Identifier {
  const type =
    target === 'master' ? IDENTIFIER_TYPES.contentPath : target === 'derivative' ? IDENTIFIER_TYPES.derivativePath : IDENTIFIER_TYPES.inventoryPath;
  return { type, value: path };
}

/** One event in words, with the objects it links to; `before` is the object as the event found it. */
function describe(event: ObjectHistoryEvent, before: ObjectState): Described {
  const objectId = event.data.objectId;
  const object = (role: keyof typeof OBJECT_ROLE): LinkingObject => ({ type: IDENTIFIER_TYPES.object, value: objectId, role: OBJECT_ROLE[role] });
  const fileLink = (fileId: string, role: keyof typeof OBJECT_ROLE): LinkingObject => ({ type: IDENTIFIER_TYPES.file, value: fileId, role: OBJECT_ROLE[role] });
  const files = before.status === 'absent' ? [] : before.files;
  const nameOf = (fileId: string | undefined, fallback: string) => files.find((f) => f.fileId === fileId)?.name ?? fileId ?? fallback;

  switch (event.type) {
    case 'ObjectRegistered': {
      const { metadata, accessLevel, bag, harvest, imported } = event.data;
      const fromBag = bag ? bagDetail(bag) : harvest ? harvestDetail(harvest) : { vi: '', en: '' };
      const from = imported ? importDetail(imported) : { vi: '', en: '' };
      return {
        detail: {
          vi: `Tiếp nhận tài liệu ${q(metadata.title)} vào kho (mức truy cập: ${LEVEL[accessLevel].vi}).${fromBag.vi}${from.vi}`,
          en: `Object ${q(metadata.title)} accessioned (access level: ${LEVEL[accessLevel].en}).${fromBag.en}${from.en}`,
        },
        outcome: 'success',
        objects: [object('outcome')],
        ...(bag ? { bag } : {}),
        ...(imported ? { imported } : {}),
      };
    }
    case 'MetadataEdited': {
      const changes = event.data.changes as Record<string, unknown>;
      const fields = Object.keys(changes).join(', ');
      const title = typeof changes.title === 'string' ? changes.title : undefined;
      const reason = event.data.reason;
      return {
        detail: {
          vi: `Sửa siêu dữ liệu: ${fields}${title !== undefined ? `; nhan đề mới ${q(title)}` : ''}${reason ? `; lý do: ${reason}` : ''}.`,
          en: `Metadata edited: ${fields}${title !== undefined ? `; new title ${q(title)}` : ''}${reason ? `; reason: ${reason}` : ''}.`,
        },
        outcome: 'success',
        objects: [object('outcome')],
      };
    }
    case 'FilesReordered': {
      const n = event.data.order.length;
      return {
        detail: { vi: `Sắp xếp lại thứ tự ${n} tệp (trang).`, en: `Order of ${n} files (pages) changed.` },
        outcome: 'success',
        objects: [object('outcome')],
      };
    }
    case 'PageLabelsSet': {
      const { labels, pattern } = event.data;
      const how = pattern ? { vi: ` theo mẫu ${q(pattern)}`, en: ` from the pattern ${q(pattern)}` } : { vi: '', en: '' };
      return {
        detail: { vi: `Đặt nhãn cho ${labels.length} trang${how.vi}.`, en: `Labels of ${labels.length} pages set${how.en}.` },
        outcome: 'success',
        objects: [object('outcome')],
      };
    }
    case 'StructureSet': {
      const n = event.data.ranges.length;
      return {
        detail: n > 0 ? { vi: `Đặt mục lục (${n} mục).`, en: `Table of contents set (${n} entries).` } : { vi: 'Xoá mục lục.', en: 'Table of contents removed.' },
        outcome: 'success',
        objects: [object('outcome')],
      };
    }
    case 'AccessPolicyChanged': {
      const { from, to, reason } = event.data;
      return {
        detail: {
          vi: `Đổi mức truy cập: ${LEVEL[from].vi} → ${LEVEL[to].vi}${reason ? `; lý do: ${reason}` : ''}.`,
          en: `Access level changed: ${LEVEL[from].en} → ${LEVEL[to].en}${reason ? `; reason: ${reason}` : ''}.`,
        },
        outcome: 'success',
        objects: [object('outcome')],
      };
    }
    case 'ObjectWithdrawn':
      return {
        detail: {
          vi: `Rút tài liệu khỏi kho; lý do: ${event.data.reason}.`,
          en: `Object withdrawn (deaccessioned); reason: ${event.data.reason}.`,
        },
        outcome: 'success',
        objects: [object('source')],
      };
    case 'FileIngested': {
      const f = event.data;
      const size = bytes(f.size);
      return {
        detail: {
          vi: `Nạp tệp ${q(f.name)} (${FILE_ROLE[f.role].vi}, ${f.mediaType}, ${size.vi}) vào phiên bản OCFL ${f.storage.version}.`,
          en: `File ${q(f.name)} (${FILE_ROLE[f.role].en}, ${f.mediaType}, ${size.en}) ingested into OCFL version ${f.storage.version}.`,
        },
        outcome: 'success',
        outcomeDetail: {
          note: {
            vi: `Giá trị băm tính khi nạp: ${digestList(f.digests).vi}.`,
            en: `Message digests computed at ingest: ${digestList(f.digests).en}.`,
          },
          digests: { sha512: f.digests.sha512, sha256: f.digests.sha256 },
        },
        objects: [
          object('outcome'),
          fileLink(f.fileId, 'outcome'),
          { type: IDENTIFIER_TYPES.contentPath, value: f.storage.path, role: OBJECT_ROLE.outcome },
        ],
      };
    }
    case 'DerivativeCreated': {
      const d = event.data;
      const name = nameOf(d.fileId, d.fileId);
      const [vi, en] = d.page ? [`, trang ${d.page}`, `, page ${d.page}`] : ['', ''];
      return {
        detail: {
          vi: `Tạo bản phái sinh từ tệp ${q(name)}${vi}: TIFF kim tự tháp ${d.width}×${d.height}, ${d.pyramid.levels} mức, ${d.tiles} ô (${d.software}).`,
          en: `Access derivative of file ${q(name)}${en} created: pyramidal TIFF ${d.width}×${d.height}, ${d.pyramid.levels} levels, ${d.tiles} tiles (${d.software}).`,
        },
        outcome: 'success',
        outcomeDetail: {
          note: { vi: `SHA-256 của TIFF kim tự tháp: ${d.pyramid.sha256}.`, en: `SHA-256 of the pyramidal TIFF: ${d.pyramid.sha256}.` },
          digests: { sha256: d.pyramid.sha256 },
        },
        objects: [object('source'), fileLink(d.fileId, 'source')],
      };
    }
    case 'DerivativeFailed': {
      const d = event.data;
      const name = nameOf(d.fileId, d.fileId);
      const [vi, en] = d.page ? [`, trang ${d.page},`, `, page ${d.page},`] : ['', ''];
      return {
        detail: {
          vi: `Không tạo được bản phái sinh từ tệp ${q(name)}${vi} sau ${d.attempts} lần thử.`,
          en: `Access derivative of file ${q(name)}${en} could not be made after ${d.attempts} attempts.`,
        },
        outcome: 'fail',
        outcomeDetail: { note: { vi: `Lý do: ${d.reason}`, en: `Reason: ${d.reason}` } },
        objects: [object('source'), fileLink(d.fileId, 'source')],
      };
    }
    case 'FixityChecked': {
      const d = event.data;
      const name = nameOf(d.fileId, d.path);
      const what = targetPhrase(d.target, name);
      const alg = ALGORITHM_NAME[d.algorithm];
      const failure = d.failure ? FAILURE[d.failure] : { vi: '', en: '' };
      const verdict =
        d.outcome === 'pass'
          ? { vi: 'đạt', en: 'pass' }
          : { vi: `không đạt${d.failure ? ` (${failure.vi})` : ''}`, en: `fail${d.failure ? ` (${failure.en})` : ''}` };
      const compared = digestComparison(d.expected, d.actual);
      const extra = d.detail ? { vi: ` ${d.detail}`, en: ` ${d.detail}` } : { vi: '', en: '' };
      return {
        detail: {
          vi: `Kiểm tra tính toàn vẹn ${alg} của ${what.vi} trên ${d.storageRoot.label}: ${verdict.vi}`,
          en: `${alg} fixity check of ${what.en} on ${d.storageRoot.label}: ${verdict.en}`,
        },
        outcome: d.outcome === 'pass' ? 'success' : 'fail',
        outcomeDetail: {
          note: {
            vi: `${compared.vi} Đã đọc ${bytes(d.bytes).vi}.${extra.vi}`,
            en: `${compared.en} Read ${bytes(d.bytes).en}.${extra.en}`,
          },
          expected: d.expected,
          actual: d.actual,
          ...(d.failure ? { failure: d.failure } : {}),
        },
        objects: [
          object('source'),
          ...(d.fileId ? [fileLink(d.fileId, 'source')] : []),
          { ...pathIdentifier(d.target, d.path), role: OBJECT_ROLE.source },
        ],
      };
    }
    case 'FileReplicated': {
      const d = event.data;
      const size = bytes(d.bytes);
      return {
        detail: {
          vi: `Sao chép phiên bản OCFL ${d.version} (${d.files} tệp, ${size.vi}) sang ${d.replica.label} và kiểm tra lại.`,
          en: `OCFL version ${d.version} (${d.files} files, ${size.en}) replicated to ${d.replica.label} and verified.`,
        },
        outcome: 'success',
        objects: [object('source')],
      };
    }
    case 'FileRepaired': {
      const d = event.data;
      const what = targetPhrase(d.target, nameOf(d.fileId, d.path));
      const failure = FAILURE[d.failure];
      return {
        detail: {
          vi: `Khôi phục ${what.vi} trên ${d.storageRoot.label} từ bản sao trên ${d.from.label} (lỗi trước đó: ${failure.vi}).`,
          en: `Recovered ${what.en} on ${d.storageRoot.label} from the copy on ${d.from.label} (was: ${failure.en}).`,
        },
        outcome: 'success',
        outcomeDetail: {
          note: { vi: `SHA-512 sau khi khôi phục: ${d.sha512}.`, en: `SHA-512 after recovery: ${d.sha512}.` },
          actual: { sha512: d.sha512 },
          failure: d.failure,
        },
        objects: [
          object('source'),
          ...(d.fileId ? [fileLink(d.fileId, 'outcome')] : []),
          { ...pathIdentifier(d.target, d.path), role: OBJECT_ROLE.outcome },
        ],
      };
    }
    case 'PageTextRecorded': {
      const d = event.data;
      const name = nameOf(d.fileId, d.fileId);
      const source = PAGE_TEXT_SOURCE[d.source];
      const engine = d.engine ? ` (${d.engine})` : '';
      const chars = [...d.text].length;
      return {
        detail: {
          vi: `Ghi văn bản trang của tệp ${q(name)}: ${chars} ký tự, nguồn ${source.vi}${engine}.`,
          en: `Page text of file ${q(name)} recorded: ${chars} characters, from ${source.en}${engine}.`,
        },
        outcome: 'success',
        objects: [object('source'), fileLink(d.fileId, 'source')],
      };
    }
    case 'OcrCompleted': {
      const d = event.data;
      const name = pageName(nameOf(d.fileId, d.fileId), d.page);
      const models = d.engine.models.map((m) => m.name).join(', ');
      return {
        detail: {
          vi: `Nhận dạng chữ (OCR) ${name.vi} bằng ${d.engine.name} ${d.engine.version} (${d.languages.join('+')}): ${d.words} chữ, độ tin cậy trung bình ${Math.round(d.meanConfidence)}.`,
          en: `OCR of ${name.en} with ${d.engine.name} ${d.engine.version} (${d.languages.join('+')}): ${d.words} words, mean confidence ${Math.round(d.meanConfidence)}.`,
        },
        outcome: 'success',
        outcomeDetail: {
          note: { vi: `Mô hình: ${models || '(không có)'}. SHA-256 của văn bản: ${d.textSha256}.`, en: `Models: ${models || '(none)'}. Text SHA-256: ${d.textSha256}.` },
        },
        objects: [object('source'), fileLink(d.fileId, 'source')],
      };
    }
    case 'OcrFailed': {
      const d = event.data;
      const name = pageName(nameOf(d.fileId, d.fileId), d.page);
      return {
        detail: {
          vi: `Không nhận dạng được chữ ${name.vi} sau ${d.attempts} lần thử: ${d.reason}`,
          en: `OCR of ${name.en} failed after ${d.attempts} attempt(s): ${d.reason}`,
        },
        outcome: 'fail',
        objects: [object('source'), fileLink(d.fileId, 'source')],
      };
    }
    case 'FileDamaged': {
      const d = event.data;
      const what = targetPhrase(d.target, nameOf(d.fileId, d.path));
      const failure = FAILURE[d.failure];
      const tried = d.tried.map((t) => `${t.root.label} (${t.reason})`).join('; ');
      return {
        detail: {
          vi: `Hư hỏng không tự sửa được: ${what.vi} trên ${d.storageRoot.label} (${failure.vi}); không bản sao nào dùng được.`,
          en: `Unrecoverable damage: ${what.en} on ${d.storageRoot.label} (${failure.en}); no copy could serve.`,
        },
        outcome: 'fail',
        outcomeDetail: {
          note: { vi: `Đã thử: ${tried || '(không có bản sao)'}.`, en: `Tried: ${tried || '(no copies)'}.` },
          failure: d.failure,
        },
        objects: [
          object('source'),
          ...(d.fileId ? [fileLink(d.fileId, 'source')] : []),
          { ...pathIdentifier(d.target, d.path), role: OBJECT_ROLE.source },
        ],
      };
    }
  }
}

// ---------------------------------------------------------------------------------------
// Agents

/** Workers and the system act as software; everyone else (users, CLI operators) as a person. */
export function agentKind(actorId: string): 'person' | 'software' {
  return actorId.startsWith('worker:') || actorId.startsWith('system:') || actorId === 'system' ? 'software' : 'person';
}

async function agentName(store: EventStore, actorId: string, kind: 'person' | 'software'): Promise<string> {
  if (kind === 'software') return `thukho ${actorId}`;
  // `thukho` run at a console records the operating-system user it ran as.
  if (actorId.startsWith('cli:')) return actorId.slice(4);
  if (!ID_PATTERN.test(actorId)) return actorId;
  for await (const e of store.readStream(userStream(actorId), { maxCount: 1 })) {
    if (e.type !== 'UserCreated') break;
    try {
      return parseEventData('UserCreated', e.metadata.schemaVersion, e.data).name;
    } catch {
      break;
    }
  }
  return actorId;
}

// ---------------------------------------------------------------------------------------

function provenanceFile(f: StoredFile): ProvenanceFile {
  const fixity: ProvenanceFile['fixity'] = [
    { messageDigestAlgorithm: HASH.sha512, messageDigest: f.digests.sha512 },
    { messageDigestAlgorithm: HASH.sha256, messageDigest: f.digests.sha256 },
  ];
  if (f.digests.md5) fixity.push({ messageDigestAlgorithm: HASH.md5, messageDigest: f.digests.md5 });
  return {
    objectIdentifier: { type: IDENTIFIER_TYPES.file, value: f.fileId },
    sequence: f.sequence,
    originalName: f.name,
    role: f.role,
    mediaType: f.mediaType,
    size: f.size,
    fixity,
    storage: { ocflObjectId: f.storage.ocflObjectId, version: f.storage.version, contentPath: f.storage.path },
  };
}

/** The PREMIS provenance of one object; a DomainError 'not-found' when it has no stream. */
export async function objectProvenance(store: EventStore, objectId: string): Promise<Provenance> {
  if (!ID_PATTERN.test(objectId)) throw notFound(objectId);
  return provenanceOfWork(store, objectId, await readWork(store, objectId));
}

/** The same from a work already read whole (the OCFL description reads it once for everything). */
export async function provenanceOfWork(store: EventStore, objectId: string, work: Awaited<ReturnType<typeof readWork>>): Promise<Provenance> {
  const streamId = objectStream(objectId);
  const factsStreamId = preservationStream(objectId);
  if (work.object.events.length === 0 && !work.object.corrupt) throw notFound(objectId);
  const chain = await chainStatus(streamId, work.object.events, work.object.corrupt);
  const factsChain = await chainStatus(factsStreamId, work.facts.events, work.facts.corrupt);
  const verifiedBelow = (c: ChainStatus) => (c.status === 'intact' ? Number.POSITIVE_INFINITY : c.revision);
  const below = { [streamId]: verifiedBelow(chain), [factsStreamId]: verifiedBelow(factsChain) };

  let state: ObjectState = initialObjectState;
  const events: PremisEvent[] = [];
  const unreadable: Provenance['unreadable'] = [];
  const actors = new Map<string, { kind: 'person' | 'software'; roles: Set<string> }>();
  for (const e of work.merged) {
    const revision = Number(e.revision);
    const decoded = decodeObjectEvent(e);
    if ('error' in decoded) {
      unreadable.push({ streamId: e.streamId, revision, eventId: e.id, type: e.type, reason: decoded.error });
      continue;
    }
    const { event } = decoded;
    const described = describe(event, state);
    state = evolveObject(state, event);
    const actor = e.metadata.actor;
    const kind = agentKind(actor.id);
    const known = actors.get(actor.id) ?? { kind, roles: new Set<string>() };
    known.roles.add(actor.role);
    actors.set(actor.id, known);
    events.push({
      eventIdentifier: { type: IDENTIFIER_TYPES.event, value: e.id },
      eventType: premisEventType(event.type),
      eventDateTime: e.metadata.occurredAt,
      eventDetailInformation: {
        eventDetail: described.detail,
        ...(described.bag ? { bag: described.bag } : {}),
        ...(described.imported ? { imported: described.imported } : {}),
      },
      eventOutcomeInformation: {
        eventOutcome: OUTCOME[described.outcome],
        ...(described.outcomeDetail ? { eventOutcomeDetail: described.outcomeDetail } : {}),
      },
      linkingAgentIdentifier: [
        {
          type: IDENTIFIER_TYPES.agent,
          value: actor.id,
          actorRole: actor.role,
          agentType: kind,
          role: kind === 'software' ? AGENT_ROLE.executingProgram : AGENT_ROLE.implementer,
        },
      ],
      linkingObjectIdentifier: described.objects,
      record: { type: event.type, streamId: e.streamId, revision, chainVerified: revision < (below[e.streamId] ?? 0) },
    });
  }

  const agents: PremisAgent[] = [];
  for (const [id, a] of actors) {
    agents.push({
      agentIdentifier: { type: IDENTIFIER_TYPES.agent, value: id },
      agentName: await agentName(store, id, a.kind),
      agentType: AGENT_TYPE[a.kind],
      roles: [...a.roles].sort(),
    });
  }

  return {
    objectId,
    streamId,
    factsStreamId,
    object: {
      objectIdentifier: { type: IDENTIFIER_TYPES.object, value: objectId },
      title: state.status === 'absent' ? null : state.metadata.title,
      status: state.status,
      accessLevel: state.status === 'absent' ? null : state.accessLevel,
      files: state.status === 'absent' ? [] : state.files.map(provenanceFile),
    },
    events,
    agents,
    chain,
    factsChain,
    unreadable,
  };
}

// ---------------------------------------------------------------------------------------
// Fixity consistency

export type FixityProblemCode =
  | 'unknown-file'
  | 'no-derivative'
  | 'no-reference-digest'
  | 'expected-differs'
  | 'pass-with-different-digest'
  | 'fail-with-same-digest'
  | 'repaired-differs'
  | 'unreadable-event';

export interface FixityProblem {
  streamId: string;
  revision: bigint;
  eventId: string;
  code: FixityProblemCode;
  /** English, like the chain check's reasons; `messages` has both languages. */
  reason: string;
  messages: Bilingual;
}

export interface FixityConsistencyReport {
  streams: number;
  events: number;
  /** FixityChecked and FileRepaired events compared with what the log recorded. */
  checked: number;
  problems: FixityProblem[];
}

const short = (hex: string | undefined) => (hex === undefined ? '(none)' : `${hex.slice(0, 16)}…`);

interface References {
  ingested: Map<string, { sha512: string; sha256: string }>;
  pyramids: Map<string, string>;
}

type Finding = { code: FixityProblemCode; messages: Bilingual };

function checkFixityEvent(d: EventData<'FixityChecked'>, refs: References): Finding[] {
  const findings: Finding[] = [];
  let reference: Digests | undefined;
  if (d.target !== 'inventory') {
    const ingested = d.fileId === undefined ? undefined : refs.ingested.get(d.fileId);
    if (!ingested) {
      return [
        {
          code: 'unknown-file',
          messages: {
            vi: `Kiểm tra tính toàn vẹn nhắc đến tệp ${d.fileId ?? '(không ghi)'} chưa từng được nạp trước đó.`,
            en: `The fixity check names file ${d.fileId ?? '(none)'}, which was not ingested before it.`,
          },
        },
      ];
    }
    if (d.target === 'master') reference = ingested;
    else {
      const pyramid = refs.pyramids.get(d.fileId as string);
      if (pyramid === undefined) {
        return [
          {
            code: 'no-derivative',
            messages: {
              vi: `Kiểm tra bản phái sinh của tệp ${d.fileId} nhưng nhật ký chưa ghi bản phái sinh nào của tệp này.`,
              en: `The check is about the derivative of file ${d.fileId}, but no derivative of it was recorded before.`,
            },
          },
        ];
      }
      reference = { sha256: pyramid };
    }
  }

  const alg = d.algorithm;
  if (reference) {
    if (reference[alg] === undefined || d.expected[alg] === undefined) {
      const missing =
        reference[alg] === undefined
          ? { vi: 'nhật ký không ghi giá trị băm này cho đối tượng được kiểm tra', en: 'the log recorded no such digest for what was checked' }
          : { vi: 'sự kiện không ghi giá trị mong đợi', en: 'the event records no expected value for it' };
      findings.push({
        code: 'no-reference-digest',
        messages: {
          vi: `Kiểm tra quyết định bằng ${ALGORITHM_NAME[alg]} nhưng ${missing.vi}.`,
          en: `The check decides by ${ALGORITHM_NAME[alg]}, but ${missing.en}.`,
        },
      });
    }
    const source =
      d.target === 'master'
        ? { vi: 'khi nạp (FileIngested)', en: 'at ingest (FileIngested)' }
        : { vi: 'khi tạo bản phái sinh (DerivativeCreated)', en: 'when the derivative was made (DerivativeCreated)' };
    for (const a of ['sha512', 'sha256'] as const) {
      if (reference[a] !== undefined && d.expected[a] !== undefined && reference[a] !== d.expected[a]) {
        findings.push({
          code: 'expected-differs',
          messages: {
            vi: `${ALGORITHM_NAME[a]} mong đợi ${short(d.expected[a])} khác với giá trị ghi ${source.vi} ${short(reference[a])} của tệp ${d.fileId}.`,
            en: `expected ${ALGORITHM_NAME[a]} ${short(d.expected[a])} differs from the one recorded ${source.en}, ${short(reference[a])}, for file ${d.fileId}.`,
          },
        });
      }
    }
  } else if (d.expected[alg] === undefined) {
    findings.push({
      code: 'no-reference-digest',
      messages: {
        vi: `Kiểm tra quyết định bằng ${ALGORITHM_NAME[alg]} nhưng sự kiện không ghi giá trị mong đợi.`,
        en: `The check decides by ${ALGORITHM_NAME[alg]}, but the event records no expected value for it.`,
      },
    });
  }

  if (d.outcome === 'pass') {
    for (const a of ['sha512', 'sha256'] as const) {
      const deciding = a === alg;
      const differs = deciding ? d.actual[a] !== d.expected[a] : d.actual[a] !== undefined && d.expected[a] !== undefined && d.actual[a] !== d.expected[a];
      if (differs) {
        findings.push({
          code: 'pass-with-different-digest',
          messages: {
            vi: `Ghi là đạt nhưng ${ALGORITHM_NAME[a]} thực tế ${short(d.actual[a])} khác giá trị mong đợi ${short(d.expected[a])}.`,
            en: `recorded as pass, but the actual ${ALGORITHM_NAME[a]} ${short(d.actual[a])} differs from the expected ${short(d.expected[a])}.`,
          },
        });
      }
    }
  } else if (d.failure !== 'invalid-inventory' && d.actual[alg] !== undefined && d.actual[alg] === d.expected[alg]) {
    // An inventory can be invalid with the bytes its sidecar names; a file cannot fail with its own digest.
    findings.push({
      code: 'fail-with-same-digest',
      messages: {
        vi: `Ghi là không đạt nhưng ${ALGORITHM_NAME[alg]} thực tế trùng với giá trị mong đợi.`,
        en: `recorded as fail, but the actual ${ALGORITHM_NAME[alg]} equals the expected one.`,
      },
    });
  }
  return findings;
}

function checkRepairEvent(d: EventData<'FileRepaired'>, refs: References): Finding[] {
  // Only masters have a sha512 in the log to compare with; derivatives pin sha256, inventories nothing.
  if (d.target !== 'master') return [];
  const ingested = d.fileId === undefined ? undefined : refs.ingested.get(d.fileId);
  if (!ingested) {
    return [
      {
        code: 'unknown-file',
        messages: {
          vi: `Việc khôi phục nhắc đến tệp ${d.fileId ?? '(không ghi)'} chưa từng được nạp trước đó.`,
          en: `The repair names file ${d.fileId ?? '(none)'}, which was not ingested before it.`,
        },
      },
    ];
  }
  if (ingested.sha512 === d.sha512) return [];
  return [
    {
      code: 'repaired-differs',
      messages: {
        vi: `Tệp ${d.fileId} được khôi phục với SHA-512 ${short(d.sha512)}, khác giá trị lúc nạp ${short(ingested.sha512)}.`,
        en: `file ${d.fileId} was repaired to SHA-512 ${short(d.sha512)}, not the one recorded at ingest, ${short(ingested.sha512)}.`,
      },
    },
  ];
}

const unreadable = (reason: string): Finding => ({
  code: 'unreadable-event',
  messages: { vi: `Không đọc được sự kiện: ${reason}`, en: `the event cannot be read: ${reason}` },
});

/** Checks one work's facts against its own record, in log order across its two streams. */
async function checkWork(store: EventStore, objectId: string, report: FixityConsistencyReport): Promise<void> {
  const refs: References = { ingested: new Map(), pyramids: new Map() };
  const problem = (streamId: string, revision: bigint, eventId: string, f: Finding): FixityProblem => ({
    streamId,
    revision,
    eventId,
    code: f.code,
    reason: f.messages.en,
    messages: f.messages,
  });
  const work = await readWork(store, objectId);
  for (const e of work.merged) {
    report.events++;
    if (e.type !== 'FileIngested' && e.type !== 'DerivativeCreated' && e.type !== 'FixityChecked' && e.type !== 'FileRepaired') continue;
    const decoded = decodeObjectEvent(e);
    if ('error' in decoded) {
      report.problems.push(problem(e.streamId, e.revision, e.id, unreadable(decoded.error)));
      continue;
    }
    const { event } = decoded;
    switch (event.type) {
      case 'FileIngested':
        refs.ingested.set(event.data.fileId, event.data.digests);
        break;
      case 'DerivativeCreated':
        // Fixity checks name page 1's pyramid (see the fixity read model).
        if (event.data.page === undefined) refs.pyramids.set(event.data.fileId, event.data.pyramid.sha256);
        break;
      case 'FixityChecked':
        report.checked++;
        for (const f of checkFixityEvent(event.data, refs)) report.problems.push(problem(e.streamId, e.revision, e.id, f));
        break;
      case 'FileRepaired':
        report.checked++;
        for (const f of checkRepairEvent(event.data, refs)) report.problems.push(problem(e.streamId, e.revision, e.id, f));
        break;
    }
  }
  for (const { streamId, read } of [
    { streamId: objectStream(objectId), read: work.object },
    { streamId: preservationStream(objectId), read: work.facts },
  ]) {
    if (read.corrupt) report.problems.push(problem(streamId, read.corrupt.revision, '', unreadable(read.corrupt.reason)));
  }
}

/**
 * Every FixityChecked and FileRepaired must agree with the log: the expected digests are
 * the ones FileIngested (masters) or the latest DerivativeCreated before it (derivatives)
 * recorded, a pass has actual = expected, a fail does not, a repair restores the ingested
 * bytes. `'all'` walks every work (both its streams); progress is reported after each work.
 */
export async function verifyFixityConsistency(
  store: EventStore,
  scope: 'all' | { objectId: string },
  onProgress?: (p: { streams: number; events: number; problems: number }) => void,
): Promise<FixityConsistencyReport> {
  const report: FixityConsistencyReport = { streams: 0, events: 0, checked: 0, problems: [] };
  const visit = async (streamId: string) => {
    await checkWork(store, streamId.slice(objectStream('').length), report);
    report.streams++;
    onProgress?.({ streams: report.streams, events: report.events, problems: report.problems.length });
  };
  if (scope === 'all') {
    for await (const head of store.listStreams()) {
      if (head.streamId.startsWith(objectStream(''))) await visit(head.streamId);
    }
  } else {
    if (!ID_PATTERN.test(scope.objectId)) throw notFound(scope.objectId);
    await visit(objectStream(scope.objectId));
    if (report.events === 0 && report.problems.length === 0) throw notFound(scope.objectId);
  }
  return report;
}

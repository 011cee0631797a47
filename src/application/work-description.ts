import type { ObjectState } from '../domain/object.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import { dublinCoreXml } from '../formats/dublin-core.ts';
import { premisXml } from '../formats/premis.ts';
import { collectionDecider, loadObject } from './object-commands.ts';
import { objectOcflId, SEALS_OCFL_ID, collectionOcflIdFor } from './ocfl-ids.ts';
import { provenanceOfWork } from './provenance.ts';
import { foldStream } from './stream-fold.ts';
import { collectionStream, factsSummaryStream } from './streams.ts';
import { readWholeStream, readWork } from './work-history.ts';

/**
 * What an OCFL object carries about itself, beside its content, so that one storage root
 * alone is the whole repository (DESIGN principle 5): a work's catalogue record (our JSON
 * and Dublin Core), its page order and access level, every event of its streams with its
 * hashes (JSON Lines, one event per line, as in a BagIt export) and PREMIS. Collections and
 * the seal stream get an OCFL object each, holding their streams the same way.
 *
 * Everything here is a function of the log alone (no clock, no host): describing an
 * unchanged work gives the same bytes, which is how a writer knows there is nothing to add.
 */
export const DESCRIPTION_DIR = 'thukho';
export const RECORD_PATH = `${DESCRIPTION_DIR}/record.json`;
export const EVENTS_DIR = `${DESCRIPTION_DIR}/events`;
export const RECORD_FORMAT = 'thukho-record/1';

export interface DescriptionFile {
  logicalPath: string;
  content: string;
}

export interface Description {
  ocflId: string;
  /** `object`, `collection` or `seals`: what recovery rebuilds from it. */
  kind: 'object' | 'collection' | 'seals';
  files: DescriptionFile[];
  /** The newest event described: its actor signs the OCFL version. */
  last: RecordedEvent | null;
}

/** One event as a line: the stored envelope, with the position it had in the log it came from. */
export function eventJsonLine(e: RecordedEvent): string {
  return JSON.stringify({ streamId: e.streamId, revision: Number(e.revision), position: String(e.position), id: e.id, type: e.type, data: e.data, metadata: e.metadata });
}

/** `thukho/events/<stream kind>.jsonl` for a stream, `object-x` → `object.jsonl`. */
export function eventsPath(kind: string): string {
  return `${EVENTS_DIR}/${kind}.jsonl`;
}

const lines = (events: readonly RecordedEvent[]) => (events.length ? `${events.map(eventJsonLine).join('\n')}\n` : '');

function headsOf(...streams: Array<readonly RecordedEvent[]>): Record<string, { revision: string; hash: string; position: string }> {
  const heads: Record<string, { revision: string; hash: string; position: string }> = {};
  for (const events of streams) {
    const last = events.at(-1);
    if (last) heads[last.streamId] = { revision: String(last.revision), hash: last.metadata.hash, position: String(last.position) };
  }
  return heads;
}

const newest = (...events: Array<RecordedEvent | undefined>) =>
  events.filter((e): e is RecordedEvent => e !== undefined).reduce<RecordedEvent | null>((a, b) => (a === null || b.position > a.position ? b : a), null);

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * A work's description, or null when it has no stream. A stream that cannot be read whole
 * throws: an OCFL version must never carry half a history as if it were all of it.
 */
export async function describeWork(store: EventStore, objectId: string): Promise<Description | null> {
  const work = await readWork(store, objectId);
  const corrupt = work.object.corrupt ?? work.facts.corrupt;
  if (corrupt) throw corrupt;
  if (work.object.events.length === 0) return null;
  const summaries = await readWholeStream(store, factsSummaryStream(objectId));
  if (summaries.corrupt) throw summaries.corrupt;
  const { state } = await loadObject(store, objectId);
  if (state.status === 'absent') return null;
  const ocflId = objectOcflId(objectId, state);
  const provenance = await provenanceOfWork(store, objectId, work);
  const record = workRecord(objectId, ocflId, state, headsOf(work.object.events, work.facts.events, summaries.events));
  const files: DescriptionFile[] = [
    { logicalPath: RECORD_PATH, content: json(record) },
    { logicalPath: `${DESCRIPTION_DIR}/dc.xml`, content: dublinCoreXml(state.metadata, objectId) },
    { logicalPath: `${DESCRIPTION_DIR}/premis.xml`, content: premisXml(provenance) },
    { logicalPath: eventsPath('object'), content: lines(work.object.events) },
    { logicalPath: eventsPath('preservation'), content: lines(work.facts.events) },
  ];
  if (summaries.events.length) files.push({ logicalPath: eventsPath('facts-summary'), content: lines(summaries.events) });
  return { ocflId, kind: 'object', files, last: newest(work.object.events.at(-1), work.facts.events.at(-1), summaries.events.at(-1)) };
}

function workRecord(objectId: string, ocflId: string, state: Exclude<ObjectState, { status: 'absent' }>, heads: ReturnType<typeof headsOf>) {
  const pages = [...state.files].sort((a, b) => a.sequence - b.sequence);
  return {
    format: RECORD_FORMAT,
    kind: 'object',
    id: objectId,
    ocflId,
    status: state.status,
    ...(state.withdrawnReason ? { withdrawnReason: state.withdrawnReason } : {}),
    accessLevel: state.accessLevel,
    metadata: state.metadata,
    // Page order: each file's place, name and bytes, with the logical path it has in this object.
    files: pages.map((f) => ({
      sequence: f.sequence,
      fileId: f.fileId,
      name: f.name,
      role: f.role,
      mediaType: f.mediaType,
      size: f.size,
      digests: f.digests,
      logicalPath: `${f.fileId}/${f.name}`,
      ...(f.image ? { image: f.image } : {}),
      ...(f.pdf ? { pdf: f.pdf } : {}),
    })),
    /** Each stream's newest event in this version: recovery says "complete up to" from these. */
    streams: heads,
  };
}

export async function describeCollection(store: EventStore, collectionId: string): Promise<Description | null> {
  const streamId = collectionStream(collectionId);
  const read = await readWholeStream(store, streamId);
  if (read.corrupt) throw read.corrupt;
  if (read.events.length === 0) return null;
  const { state } = await foldStream(store, streamId, collectionDecider);
  const ocflId = collectionOcflIdFor(collectionId);
  return {
    ocflId,
    kind: 'collection',
    files: [
      { logicalPath: RECORD_PATH, content: json({ format: RECORD_FORMAT, kind: 'collection', id: collectionId, ocflId, state, streams: headsOf(read.events) }) },
      { logicalPath: eventsPath('collection'), content: lines(read.events) },
    ],
    last: read.events.at(-1) ?? null,
  };
}

export async function describeSeals(store: EventStore, sealStream: string): Promise<Description | null> {
  const read = await readWholeStream(store, sealStream);
  if (read.corrupt) throw read.corrupt;
  if (read.events.length === 0) return null;
  return {
    ocflId: SEALS_OCFL_ID,
    kind: 'seals',
    files: [
      { logicalPath: RECORD_PATH, content: json({ format: RECORD_FORMAT, kind: 'seals', ocflId: SEALS_OCFL_ID, streams: headsOf(read.events) }) },
      { logicalPath: eventsPath('seal'), content: lines(read.events) },
    ],
    last: read.events.at(-1) ?? null,
  };
}

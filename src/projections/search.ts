import { objectStream } from '../application/streams.ts';
import { readWholeStream, readWork, type StreamRead } from '../application/work-history.ts';
import { type EventData, OBJECT_DECISION_TYPES, parseEventData } from '../domain/events.ts';
import { evolveObject, initialObjectState, type ObjectState } from '../domain/object.ts';
import type { EventFilter, EventStore, RecordedEvent } from '../eventstore/port.ts';
import { textImageId } from '../domain/page-image.ts';
import { canvasUrl, pageImages } from '../iiif/manifest.ts';
import type { DocumentRef, PageDocument, SearchDocument, SearchIndex } from '../search/port.ts';
import { decodeWorkEvent, workStream } from './decode.ts';
import { BASE_PLACEHOLDER } from './manifest-read-model.ts';

/**
 * The search projection: keeps a search index (either adapter, through the port) current with
 * the log. One document per registered, not withdrawn work, one per page with text.
 *
 * Documents are made from each touched work's current state, read from its streams, not from
 * the batch alone: a page's order and label come from the work's file order, and a reorder
 * moves pages whose text came long ago. Current state is never older than the batch, so
 * applying a batch again, or after later events were already applied, writes the same
 * documents: the projection is idempotent, and the index converges on the log.
 *
 * The checkpoint lives in the index (`upsert(docs, checkpoint)`), so that documents and the
 * position move together where the engine allows it (the embedded adapter: one transaction).
 */
export const SEARCH_PROJECTION = {
  name: 'search',
  /** Bump when documents change shape or meaning: the index is then cleared and rebuilt. */
  version: 1,
  filter: {
    streamPrefixes: ['object-', 'preservation-'],
    // FileIngested changes no document: a new file has no text yet and goes after the others.
    eventTypes: [...OBJECT_DECISION_TYPES.filter((t) => t !== 'FileIngested'), 'PageTextRecorded'],
  } satisfies EventFilter,
} as const;

type PageText = EventData<'PageTextRecorded'>;

/** What a batch did to one work (record edits, policy changes and withdrawals need no note: the work's document is always re-made). */
interface Touched {
  /** Files were reordered: every page with text gets its new order and label. */
  reordered: boolean;
  /** Page text recorded in this batch, the latest per file. */
  pages: Map<string, PageText>;
}

/**
 * A work's state and, when asked, the latest text of each of its pages. The preservation
 * stream (every page's text, fixity checks) is read only when needed: for the texts, or
 * for the derivatives of later pages of a multi-page master, which make those pages canvases.
 */
async function loadWork(store: EventStore, objectId: string, withTexts: boolean): Promise<{ state: ObjectState; texts: Map<string, PageText> }> {
  // A record that cannot be parsed stops the projection (the runner reports it) rather than
  // indexing a work from part of its history.
  const whole = (read: StreamRead) => {
    if (read.corrupt) throw read.corrupt;
    return read.events;
  };
  const object = whole(await readWholeStream(store, objectStream(objectId)));
  let state = evolveAll(initialObjectState, object);
  const texts = new Map<string, PageText>();
  const multiPage = state.status !== 'absent' && state.files.some((f) => (f.image?.pages ?? 1) > 1 || f.pdf !== undefined);
  if (!withTexts && !multiPage) return { state, texts };
  const work = await readWork(store, objectId, object);
  whole(work.object);
  whole(work.facts);
  state = evolveAll(initialObjectState, work.merged);
  if (withTexts) {
    for (const e of work.merged) {
      if (e.type !== 'PageTextRecorded') continue;
      const data = parseEventData('PageTextRecorded', e.metadata.schemaVersion, e.data);
      texts.set(textImageId(data), data);
    }
  }
  return { state, texts };
}

function evolveAll(state: ObjectState, events: readonly RecordedEvent[]): ObjectState {
  for (const e of events) {
    const event = decodeWorkEvent(e);
    if (event) state = evolveObject(state, event);
  }
  return state;
}

/**
 * The page's canvas (with the manifests' placeholder base: the HTTP layer puts in the public
 * base), its order among the work's canvases, and its label, the page number. Only images
 * are canvases: text of any other file has no page to open and is not indexed.
 */
function pageDocument(objectId: string, state: Exclude<ObjectState, { status: 'absent' }>, text: PageText): PageDocument | undefined {
  const imageId = textImageId(text);
  const order = pageImages(state).findIndex((p) => p.imageId === imageId);
  if (order < 0) return undefined;
  return {
    kind: 'page',
    id: imageId,
    workId: objectId,
    canvasId: canvasUrl(BASE_PLACEHOLDER, objectId, imageId),
    label: String(order + 1),
    order,
    text: text.text,
    ...(text.words?.length ? { words: text.words } : {}),
  };
}

function touchedWorks(events: readonly RecordedEvent[]): Map<string, Touched> {
  const works = new Map<string, Touched>();
  for (const e of events) {
    const work = workStream(e);
    if (!work) continue;
    let t = works.get(work.objectId);
    if (!t) {
      t = { reordered: false, pages: new Map() };
      works.set(work.objectId, t);
    }
    if (e.type === 'PageTextRecorded') {
      const data = parseEventData('PageTextRecorded', e.metadata.schemaVersion, e.data);
      t.pages.set(textImageId(data), data);
    } else if (e.type === 'FilesReordered') {
      t.reordered = true;
    }
  }
  return works;
}

/** What a batch of events changes in the index. */
export async function searchChanges(store: EventStore, events: readonly RecordedEvent[]): Promise<{ upserts: SearchDocument[]; deletes: DocumentRef[] }> {
  const upserts: SearchDocument[] = [];
  const deletes: DocumentRef[] = [];
  for (const [objectId, touched] of touchedWorks(events)) {
    const { state, texts: allTexts } = await loadWork(store, objectId, touched.reordered);
    if (state.status === 'absent') continue;
    if (state.status === 'withdrawn') {
      deletes.push({ kind: 'work', id: objectId });
      continue;
    }
    // Page documents carry no access level: the index takes it from the work's document,
    // which goes with every batch that touches the work (it may not exist yet on a rebuild).
    upserts.push({ kind: 'work', id: objectId, accessLevel: state.accessLevel, metadata: state.metadata });
    const texts = touched.reordered ? allTexts : touched.pages;
    for (const text of texts.values()) {
      const page = pageDocument(objectId, state, text);
      if (page) upserts.push(page);
    }
  }
  return { upserts, deletes };
}

/** Applies a batch to the index and moves its checkpoint to the batch's last event. */
export async function applySearchBatch(store: EventStore, index: SearchIndex, events: readonly RecordedEvent[]): Promise<bigint | null> {
  const last = events[events.length - 1];
  if (!last) return null;
  const { upserts, deletes } = await searchChanges(store, events);
  const checkpoint = { version: SEARCH_PROJECTION.version, position: last.position };
  // The checkpoint goes with the last write: a crash between the two replays the batch.
  if (deletes.length) await index.delete(deletes);
  await index.upsert(upserts, checkpoint);
  return last.position;
}

import { DomainError } from '../domain/errors.ts';
import { type DerivativeInfo, type EventData, type ObjectHistoryEvent, parseEventData, type PreservationEvent } from '../domain/events.ts';
import {
  combineSummaries,
  evolvePreservationSummary,
  initialPreservationSummary,
  type PreservationSummary,
  preservationFact,
} from '../domain/preservation.ts';
import { type AppendResult, type EventStore, EventStoreUnavailableError, WrongExpectedVersionError } from '../eventstore/port.ts';
import { appendOnce, type CommandContext, envelope, streamExists } from './command-handler.ts';
import { pageImageId } from '../domain/page-image.ts';
import { type Fold, foldStream, isFolded } from './stream-fold.ts';
import { factsSummaryStream, objectStream, preservationStream } from './streams.ts';

/**
 * Recording what a worker found out about a work: read the head of its preservation stream,
 * append. Never a replay of the work's history, and never a conflict with a person's edit
 * (the object stream is not touched). Concurrent recorders of one work (fixity on two roots,
 * replication, derivatives) race only for the preservation stream's head, and the loser
 * appends again on the new head.
 */
const RETRIES = 20;

export interface RecordedFacts {
  events: Array<PreservationEvent & { id: string }>;
  /** The preservation stream's revision after the append. */
  revision: bigint;
  position: bigint;
}

async function headRevision(store: EventStore, streamId: string): Promise<bigint> {
  for await (const e of store.readStream(streamId, { direction: 'backwards', fromRevision: 'end', maxCount: 1 })) return e.revision;
  return -1n;
}

function notFound(objectId: string): DomainError {
  return new DomainError('not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId });
}

/**
 * `ifAt`: append only if the preservation stream is still at this revision (a recorder that
 * decided what to record from the facts up to there, and must not record them twice when
 * another process raced it); a WrongExpectedVersionError otherwise.
 */
export async function recordFacts(
  store: EventStore,
  objectId: string,
  facts: PreservationEvent[],
  context: CommandContext,
  options: { ifAt?: bigint } = {},
): Promise<RecordedFacts> {
  const checked = facts.map((f) => preservationFact(objectId, f));
  if (checked.length === 0) throw new Error('recordFacts: nothing to record');
  if (!(await streamExists(store, objectStream(objectId)))) throw notFound(objectId);
  const streamId = preservationStream(objectId);
  // Ids are minted once: a re-send after a lost reply, or after losing the race for the
  // head, carries the same events.
  const { withIds, newEvents } = envelope(checked, context);
  for (let attempt = 0; ; attempt++) {
    const head = options.ifAt ?? (await headRevision(store, streamId));
    let result: AppendResult;
    try {
      result = await appendOnce(store, streamId, newEvents, head < 0n ? 'no_stream' : head);
    } catch (err) {
      if (err instanceof WrongExpectedVersionError && options.ifAt === undefined && attempt < RETRIES) continue;
      throw err;
    }
    return { events: withIds, revision: result.nextExpectedRevision, position: result.position };
  }
}

export function recordFact(store: EventStore, objectId: string, fact: PreservationEvent, context: CommandContext): Promise<RecordedFacts> {
  return recordFacts(store, objectId, [fact], context);
}

const summaryFold: Fold<PreservationSummary, ObjectHistoryEvent> = {
  initial: initialPreservationSummary,
  evolve: evolvePreservationSummary,
};

/**
 * A work's machine facts summed up: those an older thukho wrote on the object stream, then
 * the preservation stream's. Folded once per process and then read from where it stopped.
 */
export async function loadPreservation(store: EventStore, objectId: string): Promise<PreservationSummary> {
  return (await loadPreservationAt(store, objectId)).summary;
}

/**
 * When a fold that starts cold reads more facts than this past the latest summary, it writes a
 * new one: at least 500, and twice the summary's own entries, so that summaries never take
 * more room in the log than about half the facts they stand for, and a cold read of a work
 * costs about as much as its summary, whatever its age.
 */
export function summaryThreshold(summary: PreservationSummary): number {
  const entries = Object.keys(summary.derivatives).length + Object.keys(summary.derivativeFailures).length + Object.keys(summary.replicated).length;
  return Math.max(500, 2 * entries);
}
const SUMMARY_ACTOR = { actor: { id: 'thukho:facts-summary', role: 'admin' } } as const;

/**
 * The latest summary of a work's facts, if it still matches the log: the fact at its `upTo`
 * must carry the hash it names (a summary made from another history is not used).
 */
async function latestSummary(store: EventStore, objectId: string): Promise<{ summary: PreservationSummary; upTo: bigint } | undefined> {
  let data: EventData<'PreservationSummarized'> | undefined;
  for await (const e of store.readStream(factsSummaryStream(objectId), { direction: 'backwards', fromRevision: 'end', maxCount: 1 })) {
    if (e.type === 'PreservationSummarized') data = parseEventData('PreservationSummarized', e.metadata.schemaVersion, e.data);
  }
  if (!data || data.objectId !== objectId) return undefined;
  const upTo = BigInt(data.upTo);
  return (await factHash(store, objectId, upTo)) === data.hash ? { summary: data.summary, upTo } : undefined;
}

/** The hash of the fact at `revision` of a work's preservation stream, if there is one. */
async function factHash(store: EventStore, objectId: string, revision: bigint): Promise<string | undefined> {
  for await (const e of store.readStream(preservationStream(objectId), { fromRevision: revision, maxCount: 1 })) {
    if (e.revision === revision) return e.metadata.hash;
  }
  return undefined;
}

/** The summary and the preservation stream's revision it was folded up to (-1: no facts yet). */
export async function loadPreservationAt(store: EventStore, objectId: string): Promise<{ summary: PreservationSummary; revision: bigint }> {
  const streamId = preservationStream(objectId);
  // A process that has not folded this work yet starts from its latest summary, if any.
  const cold = !isFolded(store, streamId, summaryFold);
  const start = cold ? await latestSummary(store, objectId) : undefined;
  const [legacy, current] = await Promise.all([
    foldStream(store, objectStream(objectId), summaryFold),
    foldStream(store, streamId, summaryFold, start ? { state: start.summary, revision: start.upTo } : undefined),
  ]);
  // Combining is idempotent, so a summary that already holds the legacy facts is no problem.
  const summary = combineSummaries(legacy.state, current.state);
  if (cold && current.revision - (start?.upTo ?? -1n) > BigInt(summaryThreshold(summary))) {
    await summarise(store, objectId, summary, current.revision);
  }
  return { summary, revision: current.revision };
}

/**
 * Appends a summary of the facts up to `upTo`. Only ever a shortcut: if it cannot be written
 * (the store is busy, another process wrote one), the next fold reads a little more.
 */
async function summarise(store: EventStore, objectId: string, summary: PreservationSummary, upTo: bigint): Promise<void> {
  const hash = await factHash(store, objectId, upTo);
  if (hash === undefined) return;
  const { newEvents } = envelope([{ type: 'PreservationSummarized', data: { objectId, upTo: Number(upTo), hash, summary } }], SUMMARY_ACTOR);
  try {
    await store.append(factsSummaryStream(objectId), newEvents, 'any');
  } catch (err) {
    if (!(err instanceof WrongExpectedVersionError) && !(err instanceof EventStoreUnavailableError)) throw err;
  }
}

/** Text a page carries itself (a born-digital PDF's text layer), recorded with its derivative. */
export type OwnPageText = Omit<EventData<'PageTextRecorded'>, 'objectId' | 'fileId' | 'page'>;

/** What became of one page of a master: its derivative (and its own text, if any), or why none can be made. */
export type PageDerivativeOutcome =
  | { page: number; info: DerivativeInfo; text?: OwnPageText }
  | { page: number; failure: { masterSha512: string; reason: string; attempts: number } };

/**
 * Records the derivatives (and the pages that failed, and the text a page carries itself) of
 * one master, or of a batch of a long PDF's pages, in one append, so that a crash never leaves
 * some of them recorded and the job closed. A derivative already on
 * record with the same pyramid is the same fact, and a failure is not recorded over what is
 * already known of that page (a failure after a success would hide the derivative). Returns
 * how many facts it appended.
 */
export async function recordPageDerivatives(
  store: EventStore,
  objectId: string,
  fileId: string,
  outcomes: readonly PageDerivativeOutcome[],
  context: CommandContext,
): Promise<number> {
  const summary = await loadPreservation(store, objectId);
  const facts: PreservationEvent[] = [];
  for (const outcome of outcomes) {
    const key = pageImageId(fileId, outcome.page);
    const page = outcome.page > 1 ? { page: outcome.page } : {};
    if ('info' in outcome) {
      if (summary.derivatives[key]?.pyramid.sha256 === outcome.info.pyramid.sha256) continue;
      facts.push({ type: 'DerivativeCreated', data: { ...outcome.info, objectId, fileId } });
      // Right after its page's derivative, in the same append: whoever opens an OCR job on
      // DerivativeCreated sees the page's text in the same batch, and no page is read twice.
      if (outcome.text) facts.push({ type: 'PageTextRecorded', data: { objectId, fileId, ...page, ...outcome.text } });
    } else {
      if (summary.derivatives[key] || summary.derivativeFailures[key]) continue;
      facts.push({ type: 'DerivativeFailed', data: { objectId, fileId, ...page, ...outcome.failure } });
    }
  }
  if (facts.length > 0) await recordFacts(store, objectId, facts, context);
  return facts.length;
}

/** Records one page's derivative unless the same pyramid is already on record; whether it appended. */
export async function recordDerivative(
  store: EventStore,
  objectId: string,
  fileId: string,
  info: DerivativeInfo,
  context: CommandContext,
): Promise<boolean> {
  return (await recordPageDerivatives(store, objectId, fileId, [{ page: info.page ?? 1, info }], context)) > 0;
}

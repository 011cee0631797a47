import { DomainError } from '../domain/errors.ts';
import type { DerivativeInfo, ObjectHistoryEvent, PreservationEvent } from '../domain/events.ts';
import {
  combineSummaries,
  evolvePreservationSummary,
  initialPreservationSummary,
  type PreservationSummary,
  preservationFact,
} from '../domain/preservation.ts';
import { type AppendResult, type EventStore, WrongExpectedVersionError } from '../eventstore/port.ts';
import { appendOnce, type CommandContext, envelope } from './command-handler.ts';
import { type Fold, foldStream } from './stream-fold.ts';
import { objectStream, preservationStream } from './streams.ts';

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
  if ((await headRevision(store, objectStream(objectId))) < 0n) throw notFound(objectId);
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

/** The summary and the preservation stream's revision it was folded up to (-1: no facts yet). */
export async function loadPreservationAt(store: EventStore, objectId: string): Promise<{ summary: PreservationSummary; revision: bigint }> {
  const [legacy, current] = await Promise.all([
    foldStream(store, objectStream(objectId), summaryFold),
    foldStream(store, preservationStream(objectId), summaryFold),
  ]);
  return { summary: combineSummaries(legacy.state, current.state), revision: current.revision };
}

/**
 * Records a derivative unless the same pyramid is already on record: re-made derivatives of
 * the same master with the same bytes are the same fact. Returns whether it appended.
 */
export async function recordDerivative(
  store: EventStore,
  objectId: string,
  fileId: string,
  info: DerivativeInfo,
  context: CommandContext,
): Promise<boolean> {
  const summary = await loadPreservation(store, objectId);
  if (summary.derivatives[fileId]?.pyramid.sha256 === info.pyramid.sha256) return false;
  await recordFact(store, objectId, { type: 'DerivativeCreated', data: { ...info, objectId, fileId } }, context);
  return true;
}

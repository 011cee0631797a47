import { CorruptEventError } from './envelope.ts';
import { type BrokenLink, verifyStreamChain } from './hash-chain.ts';
import type { EventStore, RecordedEvent, StreamHead } from './port.ts';

/**
 * Walks every stream of the log and checks its hash chain, and that the chain ends at the
 * head the store records for the stream (a truncated stream shows up there).
 *
 * Safe on a live system: each stream is read up to the head listed for it, so an append that
 * lands between the listing and the reading is not mistaken for tampering. An event found past
 * the listed head is reported only if, listed again afterwards, the store still records a head
 * before it: a real append moves the head in the same commit, an event slipped in by hand does
 * not. Events appended during the walk are checked by the next run.
 */
export interface VerifyReport {
  streams: number;
  events: number;
  broken: BrokenLink[];
}

export async function verifyLog(
  store: EventStore,
  onProgress?: (p: { streams: number; events: number }) => void,
): Promise<VerifyReport> {
  const report: VerifyReport = { streams: 0, events: 0, broken: [] };
  const pastHead = new Map<string, RecordedEvent>();
  for await (const head of store.listStreams()) {
    report.streams++;
    try {
      const result = await verifyStreamChain(head.streamId, upToHead(store, head, (e) => pastHead.set(head.streamId, e)));
      report.events += result.count;
      if (!result.ok) report.broken.push(result.broken);
      else if (BigInt(result.count - 1) < head.revision) {
        report.broken.push({
          streamId: head.streamId,
          revision: BigInt(result.count),
          eventId: '',
          reason: `the stream ends at revision ${result.count - 1} but its recorded head is revision ${head.revision} with another hash (events removed?)`,
        });
      } else if (result.head !== head.hash) {
        // Same length, different last hash: the last event was altered and re-hashed (or the head edited).
        report.broken.push({
          streamId: head.streamId,
          revision: head.revision,
          eventId: '',
          reason: `the last event's hash does not match the stream's recorded head hash (event altered and re-hashed?)`,
        });
      }
    } catch (err) {
      if (!(err instanceof CorruptEventError)) throw err;
      report.broken.push({ streamId: err.streamId, revision: err.revision, eventId: '', reason: err.reason });
    }
    onProgress?.({ streams: report.streams, events: report.events });
  }
  if (pastHead.size > 0) {
    for await (const head of store.listStreams()) {
      const beyond = pastHead.get(head.streamId);
      if (beyond && beyond.revision > head.revision) {
        report.broken.push({
          streamId: head.streamId,
          revision: beyond.revision,
          eventId: beyond.id,
          reason: `the stream continues past its recorded head, revision ${head.revision} (events inserted?)`,
        });
      }
    }
  }
  return report;
}

/** The stream's events up to `head`; the first event past it, if any, goes to `onPastHead`. */
async function* upToHead(store: EventStore, head: StreamHead, onPastHead: (e: RecordedEvent) => void): AsyncIterable<RecordedEvent> {
  for await (const e of store.readStream(head.streamId, { maxCount: Number(head.revision) + 2 })) {
    if (e.revision > head.revision) {
      onPastHead(e);
      return;
    }
    yield e;
  }
}

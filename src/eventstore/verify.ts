import { CorruptEventError } from './envelope.ts';
import { type BrokenLink, verifyStreamChain } from './hash-chain.ts';
import type { EventStore } from './port.ts';

/**
 * Walks every stream of the log and checks its hash chain, and that the chain ends at the
 * head the store records for the stream (a truncated stream shows up there).
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
  for await (const head of store.listStreams()) {
    report.streams++;
    try {
      const result = await verifyStreamChain(head.streamId, store.readStream(head.streamId));
      report.events += result.count;
      if (!result.ok) report.broken.push(result.broken);
      else if (BigInt(result.count - 1) < head.revision) {
        report.broken.push({
          streamId: head.streamId,
          revision: BigInt(result.count),
          eventId: '',
          reason: `the stream ends at revision ${result.count - 1} but its recorded head is revision ${head.revision} with another hash (events removed?)`,
        });
      } else if (BigInt(result.count - 1) > head.revision) {
        report.broken.push({
          streamId: head.streamId,
          revision: head.revision + 1n,
          eventId: '',
          reason: `the stream continues past its recorded head, revision ${head.revision} (events inserted?)`,
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
  return report;
}

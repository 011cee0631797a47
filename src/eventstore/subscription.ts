import type { RecordedEvent, Subscription } from './port.ts';

const STREAM_ID = /^[\p{L}\p{N}][\p{L}\p{N}_.:$-]{0,199}$/u;

export function checkStreamId(streamId: string): void {
  if (!STREAM_ID.test(streamId)) {
    throw new RangeError(`stream id ${JSON.stringify(streamId)} is not valid: use letters, digits, "-", "_", ".", ":" (max 200)`);
  }
}

const PAGE = 500;

/**
 * A catch-up subscription built from "read a page after position P" and "wait until there
 * may be more". It reads until a page comes back short (caught up), then waits and reads
 * again: live events arrive the same way as old ones, so there is no gap at the switch.
 */
export function subscriptionFromPolling(source: {
  fromPosition: bigint | 'start';
  readPage: (after: bigint, limit: number) => RecordedEvent[];
  waitForMore: (signal: AbortSignal) => Promise<void>;
  /**
   * The newest committed position, read before a page: a short filtered page has examined
   * every event up to it, so the next poll starts there instead of at the last match (a
   * filter that matches nothing recent would otherwise rescan the log's tail on every poll).
   * Only for a store whose positions are committed in order.
   */
  committedHead?: () => bigint | null;
}): Subscription {
  const abort = new AbortController();
  let markCaughtUp: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => {
    markCaughtUp = resolve;
  });
  let after = source.fromPosition === 'start' ? 0n : source.fromPosition;

  async function* iterate(): AsyncGenerator<RecordedEvent> {
    while (!abort.signal.aborted) {
      const head = source.committedHead?.() ?? null;
      const page = source.readPage(after, PAGE);
      for (const e of page) {
        if (abort.signal.aborted) return;
        after = e.position;
        yield e;
      }
      if (page.length < PAGE) {
        if (head !== null && head > after) after = head;
        markCaughtUp();
        await source.waitForMore(abort.signal);
      }
    }
  }

  const iterator = iterate();
  return {
    caughtUp,
    [Symbol.asyncIterator]: () => iterator,
    async close() {
      abort.abort();
      markCaughtUp();
    },
  };
}

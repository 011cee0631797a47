import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamHead,
  SubscribeOptions,
  Subscription,
} from '../../src/eventstore/port.ts';

/**
 * A real store that counts the events it hands out (readStream and readAll, by stream): how
 * much history an operation read, a cost no busy machine can blur. Being its own instance,
 * it also has its own stream-fold cache: a new wrapper is a process that has folded nothing.
 */
export class CountingStore implements EventStore {
  readonly kind: EventStore['kind'];
  /** Events handed out, per stream, since the last reset. */
  readonly byStream = new Map<string, number>();
  /** readStream/readAll calls since the last reset ('$all' for readAll). */
  readonly calls: string[] = [];

  constructor(readonly inner: EventStore) {
    this.kind = inner.kind;
  }

  /** Events handed out since the last reset, from streams whose id starts with `prefix`. */
  read(prefix = ''): number {
    let n = 0;
    for (const [streamId, count] of this.byStream) if (streamId.startsWith(prefix)) n += count;
    return n;
  }

  reset(): void {
    this.byStream.clear();
    this.calls.length = 0;
  }

  private count(e: RecordedEvent): void {
    this.byStream.set(e.streamId, (this.byStream.get(e.streamId) ?? 0) + 1);
  }

  async *readStream(streamId: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    this.calls.push(streamId);
    for await (const e of this.inner.readStream(streamId, options)) {
      this.count(e);
      yield e;
    }
  }

  async *readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    this.calls.push('$all');
    for await (const e of this.inner.readAll(options)) {
      this.count(e);
      yield e;
    }
  }

  append(streamId: string, events: NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    return this.inner.append(streamId, events, expected);
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    return this.inner.subscribeToAll(options);
  }

  listStreams(): AsyncIterable<StreamHead> {
    return this.inner.listStreams();
  }

  headPosition(): Promise<bigint | null> {
    return this.inner.headPosition();
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

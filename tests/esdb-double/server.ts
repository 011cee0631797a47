import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import serverFeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import serverFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';

/**
 * A protocol-level EventStoreDB double: the Streams and ServerFeatures gRPC services that
 * `@eventstore/db-client` 6 calls, over a real HTTP/2 socket on 127.0.0.1, with the log in
 * memory. It keeps the server's semantics that our adapter depends on:
 *
 * - positions are byte offsets into a transaction file: each record starts where the previous
 *   one ended, records have different sizes, so `p + 1` is never a record boundary; every
 *   event is its own implicitly committed record, so its commit and prepare positions are
 *   both its offset. A read or subscription from a position that is not a record boundary
 *   is refused (INVALID_ARGUMENT), as a real server cannot parse a record from mid-record;
 * - $all forward reads include the record at the start position, backward reads exclude it,
 *   subscriptions deliver strictly after it;
 * - a missing stream answers StreamNotFound; a wrong expected revision answers
 *   WrongExpectedVersion with the actual revision; re-sending the same event ids at the same
 *   expected revision (or with `any`) succeeds again without writing;
 * - catch-up subscriptions: confirmation, the existing events (server-side filters on stream
 *   prefix / regex or event type prefix / regex, with checkpoints), CaughtUp (servers from
 *   23.10; `caughtUp: false` leaves it out like older servers), then live events;
 * - the server writes events of its own ($-prefixed streams and types) into $all.
 *
 * Faults on demand: a lost append reply (committed, then the call fails), subscriptions
 * dropped by the server, undecodable stored bytes, $all reads denied.
 */

export interface EsdbDoubleOptions {
  /** Advertise Streams/BatchAppend in ServerFeatures, so the client uses its batch append path. */
  batchAppend?: boolean;
  /** Send CaughtUp when a subscription has sent everything that existed (servers from 23.10). */
  caughtUp?: boolean;
  /** The version ServerFeatures reports. */
  serverVersion?: string;
  /** Answer ServerFeatures with UNIMPLEMENTED, like servers before 21.10. */
  noServerFeatures?: boolean;
}

interface StoredRecord {
  streamId: string;
  revision: bigint;
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
  created: bigint;
  position: bigint;
}

interface Proposed {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  metadata: Uint8Array;
}

type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: bigint };

type AppendOutcome =
  | { ok: true; last: StoredRecord }
  | { ok: false; current: bigint | null };

interface LiveSubscription {
  call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>;
  accepts: (r: StoredRecord) => boolean;
  filtered: boolean;
  scanned: number;
  /** False while catching up: appends reach it through the catch-up pages, not directly. */
  live: boolean;
}

/** How many scanned records a filtered subscription passes between checkpoints. */
const CHECKPOINT_EVERY = 32;
/** How many records a catching-up subscription is sent per turn of the event loop, as a server reads pages. */
const CATCH_UP_PAGE = 16;
/** Where the first record starts: the real log begins with records of the server's own. */
const FIRST_POSITION = 1_342n;

export class EsdbDouble {
  private readonly server = new grpc.Server();
  private readonly records: StoredRecord[] = [];
  private readonly boundaries = new Set<bigint>();
  private readonly streams = new Map<string, StoredRecord[]>();
  private readonly subscriptions = new Set<LiveSubscription>();
  private end = FIRST_POSITION;
  private port = 0;
  private lostReplies = 0;
  private beforeCommit: (() => Promise<void>) | null = null;
  private readonly options: Required<EsdbDoubleOptions>;
  /** Reads and subscriptions refused because they started inside a record. */
  invalidPositionRequests = 0;
  /** Every $all read and subscription received, for tests that count them. */
  readonly allReads: Array<{
    direction: 'forwards' | 'backwards';
    subscription: boolean;
    from: 'start' | 'end' | bigint;
    /** The most events asked for (the client's maxCount). */
    count: bigint;
    sent: number;
  }> = [];
  /** When set, $all reads and subscriptions are refused as for a user without permission. */
  denyAllReads = false;

  private constructor(options: EsdbDoubleOptions) {
    this.options = {
      batchAppend: options.batchAppend ?? false,
      caughtUp: options.caughtUp ?? true,
      serverVersion: options.serverVersion ?? '24.10.0',
      noServerFeatures: options.noServerFeatures ?? false,
    };
    this.boundaries.add(this.end);
    this.writeSystemEvent();
  }

  static async start(options: EsdbDoubleOptions = {}): Promise<EsdbDouble> {
    const double = new EsdbDouble(options);
    double.server.addService(streamsGrpc.StreamsService, {
      read: (call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>) => double.read(call),
      append: (
        call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>,
        callback: grpc.sendUnaryData<streamsPb.AppendResp>,
      ) => double.append(call, callback),
      batchAppend: (call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>) =>
        double.batchAppend(call),
      delete: unimplemented,
      tombstone: unimplemented,
    });
    double.server.addService(serverFeaturesGrpc.ServerFeaturesService, {
      getSupportedMethods: (
        _call: grpc.ServerUnaryCall<unknown, serverFeaturesPb.SupportedMethods>,
        callback: grpc.sendUnaryData<serverFeaturesPb.SupportedMethods>,
      ) => double.supportedMethods(callback),
    });
    double.port = await new Promise<number>((resolve, reject) => {
      double.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
    return double;
  }

  get connectionString(): string {
    return `esdb://127.0.0.1:${this.port}?tls=false`;
  }

  async stop(): Promise<void> {
    for (const sub of this.subscriptions) sub.call.end();
    this.subscriptions.clear();
    this.server.forceShutdown();
  }

  // ---------------------------------------------------------------------------------------
  // faults and inspection

  /** The next `n` appends are committed, but their callers get UNAVAILABLE instead of the reply. */
  loseNextAppendReplies(n = 1): void {
    this.lostReplies += n;
  }

  /**
   * Runs `fn` when the next append arrives, before it is committed: another client's write
   * slips in between our adapter's read of the head and its append, deterministically.
   */
  beforeNextAppend(fn: () => Promise<void>): void {
    this.beforeCommit = fn;
  }

  private async runBeforeCommit(): Promise<void> {
    const fn = this.beforeCommit;
    this.beforeCommit = null;
    await fn?.();
  }

  /**
   * Ends every open subscription with UNAVAILABLE, as a server shutting down or losing
   * leadership; one still catching up loses the pages it was not sent yet.
   */
  dropSubscriptions(): number {
    const n = this.subscriptions.size;
    for (const sub of this.subscriptions) sub.call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Server is shutting down.' });
    this.subscriptions.clear();
    return n;
  }

  /** Subscriptions that have caught up and receive appends as they happen. */
  get liveSubscriptions(): number {
    return [...this.subscriptions].filter((s) => s.live).length;
  }

  /** Replaces the stored bytes of an event, as disk damage or a foreign writer would. */
  corrupt(streamId: string, revision: bigint, bytes: { data?: string; metadata?: string }): void {
    const r = this.streams.get(streamId)?.[Number(revision)];
    if (!r) throw new Error(`no event ${streamId}@${revision}`);
    if (bytes.data !== undefined) r.data = Buffer.from(bytes.data, 'utf8');
    if (bytes.metadata !== undefined) r.metadata = Buffer.from(bytes.metadata, 'utf8');
  }

  /** An event of the server's own (statistics and the like land in $all all the time). */
  writeSystemEvent(): void {
    this.commit('$stats-127.0.0.1:2113', { kind: 'any' }, [
      {
        id: randomUUID(),
        type: '$statsCollected',
        contentType: 'application/json',
        data: Buffer.from(JSON.stringify({ 'proc-cpu': 0.1 })),
        metadata: new Uint8Array(),
      },
    ]);
  }

  /** Where the next record will start (the end of the transaction file). */
  get endPosition(): bigint {
    return this.end;
  }

  isRecordBoundary(position: bigint): boolean {
    return this.boundaries.has(position);
  }

  // ---------------------------------------------------------------------------------------
  // ServerFeatures

  private supportedMethods(callback: grpc.sendUnaryData<serverFeaturesPb.SupportedMethods>): void {
    if (this.options.noServerFeatures) {
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'Method not found' });
      return;
    }
    const methods = [
      ['event_store.client.streams.streams', 'read', ['position', 'events']],
      ['event_store.client.streams.streams', 'append', []],
      ['event_store.client.streams.streams', 'delete', []],
      ['event_store.client.streams.streams', 'tombstone', []],
      ...(this.options.batchAppend ? [['event_store.client.streams.streams', 'batchappend', []] as const] : []),
    ] as const;
    const reply = new serverFeaturesPb.SupportedMethods();
    reply.setEventStoreServerVersion(this.options.serverVersion);
    reply.setMethodsList(
      methods.map(([service, method, features]) => {
        const m = new serverFeaturesPb.SupportedMethod();
        m.setServiceName(service);
        m.setMethodName(method);
        m.setFeaturesList([...features]);
        return m;
      }),
    );
    callback(null, reply);
  }

  // ---------------------------------------------------------------------------------------
  // the log

  private commit(streamId: string, expected: Expected, proposed: Proposed[]): AppendOutcome {
    const stream = this.streams.get(streamId) ?? [];
    const head = stream.length > 0 ? BigInt(stream.length - 1) : null;

    // Idempotency: the same ids already written where this append would have gone.
    const first = proposed[0];
    if (first) {
      const start =
        expected.kind === 'revision' ? Number(expected.revision) + 1 : expected.kind === 'no_stream' ? 0 : stream.findIndex((r) => r.id === first.id);
      if (start >= 0 && stream[start]?.id === first.id) {
        const written = proposed.every((p, i) => stream[start + i]?.id === p.id);
        const last = stream[start + proposed.length - 1];
        if (written && last) return { ok: true, last };
      }
    }

    const ok =
      expected.kind === 'any' ||
      (expected.kind === 'no_stream' && head === null) ||
      (expected.kind === 'stream_exists' && head !== null) ||
      (expected.kind === 'revision' && head === expected.revision);
    if (!ok) return { ok: false, current: head };

    let last: StoredRecord | undefined;
    for (const p of proposed) {
      const record: StoredRecord = {
        streamId,
        revision: BigInt(stream.length),
        id: p.id,
        type: p.type,
        contentType: p.contentType,
        data: p.data,
        metadata: p.metadata,
        created: BigInt(Date.now()) * 10_000n,
        position: this.end,
      };
      stream.push(record);
      this.records.push(record);
      // A record's size: header, stream name, type, data and metadata, as in a TF chunk.
      this.end += 58n + BigInt(Buffer.byteLength(streamId) + Buffer.byteLength(p.type) + p.data.length + p.metadata.length) + 31n;
      this.boundaries.add(this.end);
      last = record;
    }
    this.streams.set(streamId, stream);
    if (!last) return stream.length > 0 ? { ok: true, last: stream[stream.length - 1] as StoredRecord } : { ok: false, current: null };
    const fresh = proposed.length;
    for (const sub of [...this.subscriptions]) if (sub.live) for (const r of stream.slice(-fresh)) this.deliver(sub, r);
    return { ok: true, last };
  }

  // ---------------------------------------------------------------------------------------
  // Append (one call per append)

  private append(
    call: grpc.ServerReadableStream<streamsPb.AppendReq, streamsPb.AppendResp>,
    callback: grpc.sendUnaryData<streamsPb.AppendResp>,
  ): void {
    let options: streamsPb.AppendReq.Options | undefined;
    const proposed: Proposed[] = [];
    call.on('data', (req: streamsPb.AppendReq) => {
      if (req.hasOptions()) options = req.getOptions();
      const m = req.getProposedMessage();
      if (m) proposed.push(toProposed(m));
    });
    call.on('end', () => void this.runBeforeCommit().then(() => {
      if (!options) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: 'append without options' });
        return;
      }
      const streamId = streamName(options.getStreamIdentifier());
      const expected: Expected = options.hasRevision()
        ? { kind: 'revision', revision: BigInt(options.getRevision()) }
        : options.hasNoStream()
          ? { kind: 'no_stream' }
          : options.hasStreamExists()
            ? { kind: 'stream_exists' }
            : { kind: 'any' };
      const outcome = this.commit(streamId, expected, proposed);
      if (outcome.ok && this.takeLostReply()) {
        callback({ code: grpc.status.UNAVAILABLE, details: 'Connection reset by peer' });
        return;
      }
      const resp = new streamsPb.AppendResp();
      if (outcome.ok) {
        const success = new streamsPb.AppendResp.Success();
        success.setCurrentRevision(String(outcome.last.revision));
        const position = new streamsPb.AppendResp.Position();
        position.setCommitPosition(String(outcome.last.position));
        position.setPreparePosition(String(outcome.last.position));
        success.setPosition(position);
        resp.setSuccess(success);
      } else {
        const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
        if (outcome.current === null) wrong.setCurrentNoStream(new sharedPb.Empty());
        else wrong.setCurrentRevision(String(outcome.current));
        if (expected.kind === 'revision') wrong.setExpectedRevision(String(expected.revision));
        else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new sharedPb.Empty());
        else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new sharedPb.Empty());
        else wrong.setExpectedAny(new sharedPb.Empty());
        resp.setWrongExpectedVersion(wrong);
      }
      callback(null, resp);
    }));
  }

  private takeLostReply(): boolean {
    if (this.lostReplies <= 0) return false;
    this.lostReplies--;
    return true;
  }

  // ---------------------------------------------------------------------------------------
  // BatchAppend (one long-lived call, requests told apart by correlation id)

  private batchAppend(call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>): void {
    const pending = new Map<string, { options: streamsPb.BatchAppendReq.Options | undefined; proposed: Proposed[] }>();
    call.on('data', (req: streamsPb.BatchAppendReq) => {
      const correlation = req.getCorrelationId()?.getString() ?? '';
      const entry = pending.get(correlation) ?? { options: undefined, proposed: [] };
      pending.set(correlation, entry);
      if (req.hasOptions()) entry.options = req.getOptions();
      for (const m of req.getProposedMessagesList()) entry.proposed.push(toProposed(m));
      if (!req.getIsFinal()) return;
      pending.delete(correlation);
      const options = entry.options;
      if (!options) return;
      void this.runBeforeCommit().then(() => this.batchCommit(call, correlation, options, entry.proposed));
    });
    call.on('end', () => call.end());
  }

  private batchCommit(
    call: grpc.ServerDuplexStream<streamsPb.BatchAppendReq, streamsPb.BatchAppendResp>,
    correlation: string,
    options: streamsPb.BatchAppendReq.Options,
    proposed: Proposed[],
  ): void {
    const streamId = streamName(options.getStreamIdentifier());
    const expected: Expected = options.hasStreamPosition()
      ? { kind: 'revision', revision: BigInt(options.getStreamPosition()) }
      : options.hasNoStream()
        ? { kind: 'no_stream' }
        : options.hasStreamExists()
          ? { kind: 'stream_exists' }
          : { kind: 'any' };
    const outcome = this.commit(streamId, expected, proposed);
    if (outcome.ok && this.takeLostReply()) {
      // The connection goes down with the reply: every append in flight on it fails.
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'Connection reset by peer' });
      return;
    }
    const resp = new streamsPb.BatchAppendResp();
    const correlationId = new sharedPb.UUID();
    correlationId.setString(correlation);
    resp.setCorrelationId(correlationId);
    resp.setStreamIdentifier(options.getStreamIdentifier());
    if (outcome.ok) {
      const success = new streamsPb.BatchAppendResp.Success();
      success.setCurrentRevision(String(outcome.last.revision));
      const position = new sharedPb.AllStreamPosition();
      position.setCommitPosition(String(outcome.last.position));
      position.setPreparePosition(String(outcome.last.position));
      success.setPosition(position);
      resp.setSuccess(success);
    } else {
      const wrong = new sharedPb.WrongExpectedVersion();
      if (outcome.current === null) wrong.setCurrentNoStream(new emptyPb.Empty());
      else wrong.setCurrentStreamRevision(String(outcome.current));
      if (expected.kind === 'revision') wrong.setExpectedStreamPosition(String(expected.revision));
      else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new emptyPb.Empty());
      else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new emptyPb.Empty());
      else wrong.setExpectedAny(new emptyPb.Empty());
      const details = new anyPb.Any();
      details.pack(wrong.serializeBinary(), 'event_store.client.WrongExpectedVersion');
      const status = new statusPb.Status();
      status.setCode(9);
      status.setMessage('Wrong expected version.');
      status.setDetails(details);
      resp.setError(status);
    }
    call.write(resp);
  }

  // ---------------------------------------------------------------------------------------
  // Read: stream reads, $all reads, $all subscriptions

  private read(call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>): void {
    const options = call.request.getOptions();
    if (!options) {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'read without options' });
      return;
    }
    const backwards = options.getReadDirection() === streamsPb.ReadReq.Options.ReadDirection.BACKWARDS;
    const stream = options.getStream();
    if (stream) {
      if (options.hasSubscription()) {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'stream subscriptions are not in this double' });
        return;
      }
      this.readStream(call, stream, backwards, BigInt(options.getCount()));
      return;
    }
    const all = options.getAll();
    if (!all) {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'read of neither a stream nor $all' });
      return;
    }
    const subscription = options.hasSubscription();
    const logged: (typeof this.allReads)[number] = {
      direction: backwards ? 'backwards' : 'forwards',
      subscription,
      from: 'start',
      count: options.hasCount() ? BigInt(options.getCount()) : 0n,
      sent: 0,
    };
    this.allReads.push(logged);
    if (this.denyAllReads) {
      const metadata = new grpc.Metadata();
      metadata.set('exception', 'access-denied');
      call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'Access denied.', metadata });
      return;
    }
    let from: 'start' | 'end' | bigint = all.hasStart() ? 'start' : all.hasEnd() ? 'end' : 'start';
    const pos = all.getPosition();
    if (pos) {
      const commit = BigInt(pos.getCommitPosition());
      const prepare = BigInt(pos.getPreparePosition());
      if (commit !== prepare || !this.isRecordBoundary(commit)) {
        this.invalidPositionRequests++;
        call.emit('error', {
          code: grpc.status.INVALID_ARGUMENT,
          details: `Invalid position C:${commit}/P:${prepare}: no record starts there.`,
        });
        return;
      }
      from = commit;
    }
    logged.from = from;
    const accepts = this.filterOf(options);
    if (subscription) {
      this.subscribeAll(call, from, accepts, options.hasFilter());
      return;
    }
    const count = BigInt(options.getCount());
    let sent = 0n;
    const ordered = backwards ? [...this.records].reverse() : this.records;
    for (const r of ordered) {
      if (sent >= count) break;
      if (from !== 'start' && from !== 'end') {
        if (backwards ? r.position >= from : r.position < from) continue;
      } else if (from === 'end' && !backwards) {
        break;
      }
      if (!accepts(r)) continue;
      call.write(eventResp(r));
      sent++;
      logged.sent++;
    }
    call.end();
  }

  private readStream(
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    options: streamsPb.ReadReq.Options.StreamOptions,
    backwards: boolean,
    count: bigint,
  ): void {
    const identifier = options.getStreamIdentifier();
    const events = this.streams.get(streamName(identifier));
    if (!events || events.length === 0) {
      const notFound = new streamsPb.ReadResp.StreamNotFound();
      notFound.setStreamIdentifier(identifier);
      const resp = new streamsPb.ReadResp();
      resp.setStreamNotFound(notFound);
      call.write(resp);
      call.end();
      return;
    }
    const last = BigInt(events.length - 1);
    const from = options.hasRevision() ? BigInt(options.getRevision()) : options.hasEnd() ? (backwards ? last : last + 1n) : backwards ? -1n : 0n;
    let sent = 0n;
    const ordered = backwards ? [...events].reverse() : events;
    for (const r of ordered) {
      if (sent >= count) break;
      if (backwards ? r.revision > from : r.revision < from) continue;
      call.write(eventResp(r));
      sent++;
    }
    call.end();
  }

  private subscribeAll(
    call: grpc.ServerWritableStream<streamsPb.ReadReq, streamsPb.ReadResp>,
    from: 'start' | 'end' | bigint,
    accepts: (r: StoredRecord) => boolean,
    filtered: boolean,
  ): void {
    const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
    confirmation.setSubscriptionId(randomUUID());
    const first = new streamsPb.ReadResp();
    first.setConfirmation(confirmation);
    call.write(first);
    const sub: LiveSubscription = { call, accepts, filtered, scanned: 0, live: false };
    this.subscriptions.add(sub);
    const forget = () => this.subscriptions.delete(sub);
    call.on('cancelled', forget);
    call.on('close', forget);
    call.on('error', forget);
    let next = from === 'start' ? 0 : from === 'end' ? this.records.length : this.records.findIndex((r) => r.position > from);
    if (next < 0) next = this.records.length;
    // Catch-up goes out a page per turn, so appends made meanwhile join the pages; the switch
    // to live happens in the turn that sends the last page: nothing is missed or sent twice.
    const page = () => {
      if (!this.subscriptions.has(sub)) return;
      for (let n = 0; n < CATCH_UP_PAGE && next < this.records.length; n++) this.deliver(sub, this.records[next++] as StoredRecord);
      if (next < this.records.length) {
        setImmediate(page);
        return;
      }
      if (this.options.caughtUp) {
        const resp = new streamsPb.ReadResp();
        resp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
        call.write(resp);
      }
      sub.live = true;
    };
    page();
  }

  private deliver(sub: LiveSubscription, r: StoredRecord): void {
    if (sub.accepts(r)) sub.call.write(eventResp(r));
    if (sub.filtered && ++sub.scanned % CHECKPOINT_EVERY === 0) {
      const checkpoint = new streamsPb.ReadResp.Checkpoint();
      checkpoint.setCommitPosition(String(r.position));
      checkpoint.setPreparePosition(String(r.position));
      const resp = new streamsPb.ReadResp();
      resp.setCheckpoint(checkpoint);
      sub.call.write(resp);
    }
  }

  private filterOf(options: streamsPb.ReadReq.Options): (r: StoredRecord) => boolean {
    const filter = options.getFilter();
    if (!filter) return () => true;
    const onStream = filter.hasStreamIdentifier();
    const expression = onStream ? filter.getStreamIdentifier() : filter.getEventType();
    if (!expression) return () => true;
    const prefixes = expression.getPrefixList();
    const regex = expression.getRegex() ? new RegExp(expression.getRegex()) : null;
    return (r) => {
      const subject = onStream ? r.streamId : r.type;
      if (prefixes.length > 0) return prefixes.some((p) => subject.startsWith(p));
      return regex ? regex.test(subject) : true;
    };
  }
}

function unimplemented(call: { emit: (event: 'error', err: unknown) => void }, callback?: grpc.sendUnaryData<unknown>): void {
  const err = { code: grpc.status.UNIMPLEMENTED, details: 'not in this double' };
  if (callback) callback(err);
  else call.emit('error', err);
}

function streamName(identifier: sharedPb.StreamIdentifier | undefined): string {
  return Buffer.from(identifier?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');
}

function toProposed(m: streamsPb.AppendReq.ProposedMessage | streamsPb.BatchAppendReq.ProposedMessage): Proposed {
  const id = m.getId();
  return {
    id: (id?.getString() ?? '').toLowerCase(),
    type: m.getMetadataMap().get('type') ?? '',
    contentType: m.getMetadataMap().get('content-type') ?? 'application/octet-stream',
    data: m.getData_asU8(),
    metadata: m.getCustomMetadata_asU8(),
  };
}

function eventResp(r: StoredRecord): streamsPb.ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  const id = new sharedPb.UUID();
  id.setString(r.id);
  recorded.setId(id);
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(r.streamId, 'utf8'));
  recorded.setStreamIdentifier(identifier);
  recorded.setStreamRevision(String(r.revision));
  recorded.setCommitPosition(String(r.position));
  recorded.setPreparePosition(String(r.position));
  recorded.getMetadataMap().set('type', r.type);
  recorded.getMetadataMap().set('content-type', r.contentType);
  recorded.getMetadataMap().set('created', String(r.created));
  recorded.setData(r.data);
  recorded.setCustomMetadata(r.metadata);
  const event = new streamsPb.ReadResp.ReadEvent();
  event.setEvent(recorded);
  event.setCommitPosition(String(r.position));
  const resp = new streamsPb.ReadResp();
  resp.setEvent(event);
  return resp;
}

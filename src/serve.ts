import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { type Config, ConfigError } from './config.ts';
import type { Bilingual } from './domain/errors.ts';
import { closeIngest, openIngest } from './application/open-ingest.ts';
import { reconcileIngests } from './application/reconcile.ts';
import { openEventStore } from './eventstore/open.ts';
import type { EventStore } from './eventstore/port.ts';
import { createApp } from './http/app.ts';
import { resolveSessionSecret } from './http/session-secret.ts';
import { RedisIiifTokenStore } from './http/iiif-tokens.ts';
import { RedisSessionStore } from './http/sessions.ts';
import { RedisSignInThrottle } from './http/sign-in-throttle.ts';
import { Metrics } from './http/metrics.ts';
import { openReadModelDb, type ReadModelDb, readModelReader } from './projections/read-model-db.ts';
import { ProjectionRunner } from './projections/runtime.ts';
import { fileURLToPath } from 'node:url';
import { AuditResult, lastAuditKey } from './queue/queues.ts';
import { redisConnectionOptions, resolveRedis } from './queue/redis.ts';
import { type SupervisedWorker, superviseWorker } from './queue/supervisor.ts';
import { stopOrphanWorkers } from './queue/worker-records.ts';
import { workersToRun } from '../workers/index.ts';
import { readReplicationLag } from '../workers/replication.ts';
import { SealRunResult, lastSealKey } from '../workers/seal.ts';
import { damagedFiles, hasFixityTables } from './projections/fixity-read-model.ts';
import { Queue } from 'bullmq';
import { DerivativeStore } from './iiif/derivative-store.ts';
import { FixityPool } from './storage/fixity-pool.ts';
import { isStorageRoot } from './storage/ocfl.ts';
import { ImageService, type RememberedResponse } from './iiif/image-service.ts';
import { RenderBudget } from './iiif/render-budget.ts';
import { RenderRate } from './iiif/render-rate.ts';
import { DiskCache, MemoryLru } from './iiif/response-cache.ts';
import { projectionsFor } from './projections/all.ts';
import { outboxCounts } from './projections/dispatcher.ts';
import { DispatchPump } from './queue/dispatch-pump.ts';
import { DescriptionPump } from './projections/description-pump.ts';
import { ManifestBuilder } from './projections/manifest-builder.ts';
import { pendingDescriptionCount } from './projections/description-queue.ts';
import { Describer } from './application/self-description.ts';
import { type DerivativeJob, JOB_OPTIONS, QUEUES, type QueueKey, queueConnection, type ReplicationJob } from './queue/queues.ts';
import { type QueueDepth, readQueueStatus } from './queue/queue-status.ts';
import { SearchProjectionRunner } from './projections/search-runner.ts';
import { openSearchIndex } from './search/open.ts';
import { AccessLog } from './application/access-log.ts';
import { RedisDailySalts } from './queue/access-salts.ts';
import type { SearchIndex } from './search/port.ts';

/**
 * Composition root of `thukho serve`: open the event store and the read models, start the
 * projections, the redis connection and the HTTP server; stop all of it in reverse order.
 */
export interface RunningServer {
  url: string;
  port: number;
  store: EventStore;
  readDb: ReadModelDb;
  projections: ProjectionRunner[];
  search: SearchProjectionRunner;
  /**
   * Writes what description-queue.ts says is due. `describeNow()` brings every OCFL
   * description up to the log as this process sees it (tests, `thukho recover` drills).
   */
  describeNow(): Promise<number>;
  stop(): Promise<void>;
}

export interface ServeOptions {
  /** Run the workers as child processes (the embedded profile's default). */
  workers?: boolean;
}

const BIN = fileURLToPath(new URL('../bin/thukho.js', import.meta.url));
/** Failed OCR jobs staff see on /health; `thukho jobs failed` lists them all. */
const FAILED_OCR_SHOWN = 20;
/** How long a request (and the stop) waits for a description version before going on without it. */
const DESCRIBE_WAIT_MS = 60_000;

/**
 * A start-up failure the operator can act on (the port is taken, another thukho uses the data
 * directory): `thukho serve` prints its message as one line and exits 2, no stack trace.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

function listenFailure(err: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.host}:${config.port}`;
  if (err.code === 'EADDRINUSE') {
    return new StartupError(`cổng ${where} đang được một chương trình khác dùng / port ${where} is already in use: stop the other server, or set THUKHO_PORT`, { cause: err });
  }
  if (err.code === 'EACCES') {
    return new StartupError(`không được phép mở cổng ${where} / not allowed to listen on ${where} (ports below 1024 need root): set THUKHO_PORT, e.g. 8080 behind a reverse proxy`, { cause: err });
  }
  if (err.code === 'EADDRNOTAVAIL') {
    return new StartupError(`máy này không có địa chỉ ${config.host} / ${config.host} is not an address of this machine: check THUKHO_HOST`, { cause: err });
  }
  return err;
}

/** Requests node's parser refuses, by its error code; anything else is malformed. */
const CLIENT_ERRORS: Record<string, { status: number; title: string; code: string; messages: Bilingual }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    title: 'Request Header Fields Too Large',
    code: 'headers-too-large',
    messages: { vi: 'Tiêu đề của yêu cầu quá lớn (tối đa 16 KiB).', en: 'The request headers are too large (at most 16 KiB).' },
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request Timeout',
    code: 'request-timeout',
    messages: { vi: 'Tiêu đề của yêu cầu đến quá chậm; kết nối bị đóng.', en: 'The request headers arrived too slowly; the connection is closed.' },
  },
  malformed: {
    status: 400,
    title: 'Bad Request',
    code: 'bad-request',
    messages: {
      vi: 'Yêu cầu HTTP không đúng cú pháp (ví dụ: ký tự không phải ASCII chưa được mã hoá trong đường dẫn).',
      en: 'Malformed HTTP request (for example, non-ASCII characters not percent-encoded in the path).',
    },
  },
};

export async function startServer(config: Config, logger: Logger, options: ServeOptions = {}): Promise<RunningServer> {
  // Workers an earlier server left running (it was killed) would join this one's redis with
  // that server's configuration: stopped before that redis exists. Only records whose server
  // is gone are acted on, so another live thukho's workers are safe.
  // Before anything starts: a secret file anyone may read stops start-up with one line.
  let cookieSecret: Buffer;
  try {
    cookieSecret = resolveSessionSecret(config);
  } catch (err) {
    throw err instanceof ConfigError ? new StartupError(err.message, { cause: err }) : err;
  }
  const workerRecords = join(config.dataDir, 'workers');
  await stopOrphanWorkers(workerRecords, logger);
  // First: the embedded redis-server's owner record says whether another thukho runs on this
  // data directory, and nothing of that one's (its interrupted ingests) may be touched then.
  const redis = await resolveRedis({ redisUrl: config.redisUrl, dataDir: config.dataDir, logger });
  const store = await openEventStore(config.eventStore);
  const readDb = openReadModelDb(config.readModelPath);
  const reader = readModelReader(readDb);
  const searchIndex = openSearchIndex(config);
  // Uploads are digested in a pool thread, not on the thread that answers readers: inline, the
  // SHA-512 + SHA-256 of one 100 MB scan took the event loop about half a second, in 64 KB
  // steps between tile requests (profile in issue 20). The thread runs at the workers'
  // niceness, so readers come first; one thread leaves the other core to the main thread.
  // An MD5 (THUKHO_MD5, or sent by the client) is still computed inline. The thread ends after
  // a minute without uploads: it holds about 37 MB, and a server waits most of its life.
  const hashPool = new FixityPool(1, { nice: config.workers.nice, idleMs: 60_000 });
  const ingest = { ...(await openIngest(config, store)), hashPool };
  const reconciled = await reconcileIngests(ingest, logger);
  if (reconciled.completed || reconciled.discarded) logger.warn({ ...reconciled }, 'reconciled interrupted ingests');
  // Connection errors while stopping are the stop itself (a systemd stop signals the whole
  // unit, redis included): not worth a line in the operator's terminal.
  let closing = false;
  const redisClient = new Redis({ ...redisConnectionOptions(redis.url), lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redisClient.on('error', (err) => {
    if (!closing) logger.warn({ err: err.message }, 'redis connection error');
  });
  await redisClient.connect().catch(() => {});

  const metrics = new Metrics();
  // Off (THUKHO_ACCESS_EVENTS=off): no access events, no usage statistics (and the bench's baseline).
  const access = config.accessEvents.enabled
    ? new AccessLog({
        store,
        salts: new RedisDailySalts(redisClient, config.queuePrefix, logger),
        logger,
        maxBuffered: config.accessEvents.maxBuffered,
        flushEveryMs: config.accessEvents.flushEveryMs,
        batchSize: 500,
      })
    : null;
  access?.start();
  const projections = Object.values(projectionsFor(config)).map((p) => new ProjectionRunner(store, readDb, p, logger));
  // The object read model's runner: writes wait on it (read-your-writes), caches watch it.
  const objects = projections.find((p) => p.projection.name === 'objects')!;
  await Promise.all(projections.map((p) => p.start()));
  const search = new SearchProjectionRunner(store, searchIndex, logger);
  await search.start();

  // The outbox pump and the image server's "make it again" share one queue client.
  const queueRedis = queueConnection(redis.url);
  queueRedis.on('error', (err) => {
    if (!closing) logger.warn({ err: err.message }, 'queue redis connection error');
  });
  const derivativeQueue = new Queue(QUEUES.derivatives, { connection: queueRedis, prefix: config.queuePrefix });
  const replicationQueue = new Queue(QUEUES.replication, { connection: queueRedis, prefix: config.queuePrefix });
  // Enqueued even where this machine runs no OCR worker (THUKHO_OCR=off): another one reads them.
  const ocrQueue = new Queue(QUEUES.ocr, { connection: queueRedis, prefix: config.queuePrefix });
  // The other queues are only looked at (their depth and failures, for /health).
  const queues: Record<QueueKey, Queue> = {
    audit: new Queue(QUEUES.audit, { connection: queueRedis, prefix: config.queuePrefix }),
    derivatives: derivativeQueue,
    replication: replicationQueue,
    ocr: ocrQueue,
    fixity: new Queue(QUEUES.fixity, { connection: queueRedis, prefix: config.queuePrefix }),
    seal: new Queue(QUEUES.seal, { connection: queueRedis, prefix: config.queuePrefix }),
  };
  // Without a listener BullMQ prints every connection error with its stack to stderr; the
  // connection's own listener above has already logged it.
  for (const queue of Object.values(queues)) queue.on('error', () => {});
  const pump = new DispatchPump({
    db: readDb,
    queues: { [QUEUES.derivatives]: derivativeQueue, [QUEUES.replication]: replicationQueue, [QUEUES.ocr]: ocrQueue },
    jobOptions: JOB_OPTIONS,
    redis: queueRedis,
    markerKey: `${config.queuePrefix}:dispatch:epoch`,
    logger,
  });
  pump.start();
  // Description files are staged in a folder of their own, on the storage filesystem: the
  // uploads' staging stays what tests and operators read it as (uploads in flight). Only this
  // server writes there, so what a previous run left is swept.
  const describing = join(config.storageDir, 'describing');
  await rm(describing, { recursive: true, force: true });
  await mkdir(describing, { recursive: true });
  const describer = new Describer({ ...ingest, stagingDir: describing });
  const descriptionPump = new DescriptionPump({
    db: readDb,
    write: (subject) => describer.describe(subject),
    // A work's new version goes to the replicas at once, like an ingest's; collections and
    // seals, which have no facts stream to record it in, wait for the replication sweep.
    written: async (subject, v) => {
      if (subject.kind !== 'object' || !v.version || !v.lastEventId || config.replicas.length === 0) return;
      const job: ReplicationJob = { objectId: subject.id, ocflObjectId: v.ocflId, version: v.version, cause: v.lastEventId };
      await replicationQueue
        .add('replicate', job, { ...JOB_OPTIONS[QUEUES.replication], jobId: `describe-${subject.id}-${v.version}` })
        .catch((err: Error) => logger.warn({ err: err.message, objectId: subject.id }, 'could not ask for the replication of a description version; the sweep will copy it'));
    },
    logger,
  });
  descriptionPump.start();
  // Manifests left stale while a work's derivatives arrive and that then went quiet.
  const manifestBuilder = new ManifestBuilder({ db: readDb, logger });
  manifestBuilder.start();

  const derivatives = new DerivativeStore(config.derivativesDir);
  const renderBudget = new RenderBudget({ concurrent: config.iiif.renders, perClient: config.iiif.rendersPerClient, queued: config.iiif.renderQueue });
  const images = new ImageService({
    derivatives,
    masterPath: (file) => ingest.ocfl.contentPathOnDisk(file.ocflObjectId, file.contentPath),
    limits: { maxWidth: config.iiif.maxWidth, maxHeight: config.iiif.maxHeight, maxArea: config.iiif.maxArea },
    tileSize: config.iiif.tileSize,
    maxPixels: config.maxPixels,
    masterRenderMaxPixels: config.iiif.masterRenderMaxPixels,
    budget: renderBudget,
    rate: new RenderRate({ megapixelsPerMinute: config.iiif.renderMegapixelsPerMinute }),
    memory: new MemoryLru<RememberedResponse>(config.iiif.memoryCacheBytes),
    disk: new DiskCache(config.iiif.cacheDir, config.iiif.diskCacheBytes),
    requestDerivative: (file) => {
      const job: DerivativeJob = { objectId: file.objectId, fileId: file.fileId, masterSha512: file.sha512, cause: 'missing' };
      // A derivative that was made and is gone: one job while one is waiting or running,
      // however many requests find it gone; a later loss is requested again. One never made
      // (still queued from ingest, or failed): at most one job per file per ten minutes, so
      // that requests for a master that cannot be decoded do not become a stream of failures.
      const deduplication = file.hasDerivative ? { id: `missing-${file.fileId}` } : { id: `unmade-${file.fileId}`, ttl: 600_000 };
      derivativeQueue
        .add('derive', job, { ...JOB_OPTIONS[QUEUES.derivatives], deduplication })
        .then(() => logger.warn({ fileId: file.fileId }, 'derivative missing or not made yet: requested'))
        .catch((err: Error) => logger.warn({ err: err.message, fileId: file.fileId }, 'could not request the derivative again'));
    },
  });

  let accessSeen = { written: 0, full: 0, failed: 0 };
  metrics.onCollect(async () => {
    const head = await store.headPosition().catch(() => null);
    if (head !== null) metrics.set('thukho_eventstore_head_position', 'Global position of the newest event', {}, Number(head));
    for (const p of [...projections, search]) {
      const s = p.status();
      metrics.set('thukho_projection_position', 'Last position applied by each projection', { projection: s.name }, Number(s.position ?? 0));
      if (head !== null) metrics.set('thukho_projection_lag', 'Positions the projection is behind the log', { projection: s.name }, p.lagBehind(head));
      metrics.set('thukho_projection_retrying', '1 while the projection is failing and retrying', { projection: s.name }, s.state === 'retrying' ? 1 : 0);
    }
    const describing = pendingDescriptionCount(readDb);
    metrics.set('thukho_description_pending', 'Works, collections and seals whose OCFL description version is still to be written', {}, describing.total);
    metrics.set('thukho_description_due', 'Of those, the ones due now (a person\'s change, or machine facts past THUKHO_DESCRIBE_FACTS_MINUTES)', {}, describing.due);
    if (hasFixityTables(readDb)) {
      metrics.set('thukho_fixity_damaged_files', 'Stored files damaged on every copy (no good copy left)', {}, damagedFiles(readDb).length);
    }
    const replication = await readReplicationLag(redisClient, config.queuePrefix).catch(() => null);
    for (const r of replication?.replicas ?? []) {
      metrics.set('thukho_replication_behind_objects', 'Objects a replica lacks or holds at an older version', { replica: r.label }, r.behind);
      metrics.set('thukho_replication_differs_objects', 'Objects whose replica copy is not a copy of the primary', { replica: r.label }, r.differs);
    }
    // Only while the queue connection is up: its commands would wait for redis otherwise.
    const depth = queueRedis.status === 'ready' ? await Promise.race([readQueueStatus(queues, 0), sleep(2000, null, { ref: false })]).catch(() => null) : null;
    for (const [key, counts] of Object.entries(depth?.depths ?? {}) as Array<[QueueKey, QueueDepth]>) {
      for (const [state, n] of Object.entries(counts)) {
        metrics.set('thukho_queue_jobs', 'Jobs in each background queue: waiting, active, delayed (waiting to retry), failed (out of attempts)', { queue: QUEUES[key], state }, n);
      }
    }
    const renders = renderBudget.load;
    metrics.set('thukho_iiif_renders', 'Image renders (not pre-cut, not cached) running or waiting for a turn', { state: 'running' }, renders.running);
    metrics.set('thukho_iiif_renders', 'Image renders (not pre-cut, not cached) running or waiting for a turn', { state: 'waiting' }, renders.queued);
    if (access) {
      const counts = access.counts();
      metrics.set('thukho_access_events_buffered', 'Access events waiting in memory to be appended', {}, counts.buffered);
      // Counters kept by the access log; each scrape adds what happened since the last one.
      const seen = { written: counts.written, full: counts.dropped.full, failed: counts.dropped.failed };
      metrics.inc('thukho_access_events_written_total', 'Access events appended to the log', {}, seen.written - accessSeen.written);
      for (const reason of ['full', 'failed'] as const) {
        metrics.inc('thukho_access_events_dropped_total', 'Access events lost: buffer full (the log was slow) or the append failed', { reason }, seen[reason] - accessSeen[reason]);
      }
      accessSeen = seen;
    }
    const outbox = outboxCounts(readDb);
    for (const state of ['pending', 'enqueued'] as const) {
      metrics.set('thukho_dispatch_jobs', 'Background jobs caused by events and not yet finished, by state', { state }, outbox[state]);
    }
  });

  let children: SupervisedWorker[] = [];

  const app = createApp({
    config,
    accounts: {
      sessions: new RedisSessionStore(redisClient, config.queuePrefix, config.sessions),
      throttle: new RedisSignInThrottle(redisClient, config.queuePrefix, config.signIn),
      cookieSecret,
      // An hour, or the session's idle time if shorter: a viewer asks for another when it runs out.
      iiifTokens: new RedisIiifTokenStore(redisClient, config.queuePrefix, Math.min(3600, config.sessions.idleSeconds)),
    },
    logger,
    store,
    readDb,
    readModelReader: reader,
    projections,
    objects,
    search,
    metrics,
    ingest,
    describe: async (subject) => {
      // The change is in the log whatever happens here: a version that cannot be written
      // now is the pump's to retry (the row stays in description_pending).
      const written = describer.describe(subject).then(
        () => false,
        (err: Error) => {
          logger.error({ err: err.message, subject }, 'description version not written now; it will be retried');
          return false;
        },
      );
      if (config.describeEdits !== 'wait') return;
      // Bounded: the edit is durable in the log, so a version that does not come is no reason
      // for a request to hang; what it was doing goes to the log for whoever looks.
      const late = await Promise.race([written, sleep(DESCRIBE_WAIT_MS, true, { ref: false })]);
      if (late) {
        logger.error({ subject, waitedMs: DESCRIBE_WAIT_MS, ocflSteps: ingest.ocfl.recentSteps() }, 'description version not written in time; answered without it (it stays pending)');
      }
    },
    images,
    access,
    lastAudit: async () => {
      const raw = await redisClient.get(lastAuditKey(config.queuePrefix)).catch(() => null);
      if (!raw) return null;
      const parsed = AuditResult.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data : null;
    },
    queueStatus: () => readQueueStatus(queues, FAILED_OCR_SHOWN),
    queues,
    preservationStatus: async () => {
      const [replication, sealRaw, readable] = await Promise.all([
        readReplicationLag(redisClient, config.queuePrefix).catch(() => null),
        redisClient.get(lastSealKey(config.queuePrefix)).catch(() => null),
        Promise.all(config.replicas.map((r) => isStorageRoot(r.path))),
      ]);
      const seal = sealRaw ? SealRunResult.safeParse(JSON.parse(sealRaw)) : null;
      const unreadableReplicas = config.replicas.filter((_r, i) => !readable[i]).map((r) => ({ label: r.label, path: r.path }));
      return { replication, seal: seal?.success ? seal.data : null, unreadableReplicas };
    },
    pingRedis: async () => {
      // Only a client that is not already reconnecting by itself: a second connect() beside
      // ioredis' own retry leaves a reconnect loop that outlives disconnect() and the stop.
      if (!closing && (redisClient.status === 'wait' || redisClient.status === 'end')) await redisClient.connect().catch(() => {});
      await redisClient.ping();
    },
  });
  // Slow clients (slow-loris): the headers must be in within headersTimeout (checked every
  // second, not node's default 30 s), and a connection silent for idleTimeout is closed. A
  // whole request has no time limit (node's default is 5 minutes): an upload of many
  // gigabytes takes as long as it takes, so long as it moves. Headers are at most node's
  // 16 KiB (larger: 431, below), the URL at most MAX_URL_BYTES (414, see request-limits.ts).
  const server: Server = createServer(
    { headersTimeout: config.http.headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: 1000 },
    app.callback(),
  );
  server.setTimeout(config.http.idleTimeoutMs);
  server.listen(config.port, config.host);
  // Requests node's parser refuses (raw non-ASCII bytes in the path, oversized headers) never
  // reach koa: answer them as problem+json too, not with a bare status line.
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => {
    if (!socket.writable) return socket.destroy();
    const refusal = CLIENT_ERRORS[err.code ?? ''] ?? CLIENT_ERRORS.malformed!;
    // A HEAD answer has no body, or the client reads it as the next response.
    const head = err.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    const body = JSON.stringify({
      type: `/problems/${refusal.code}`,
      title: refusal.title,
      status: refusal.status,
      detail: refusal.messages.vi,
      messages: refusal.messages,
    });
    socket.end(
      `HTTP/1.1 ${refusal.status} ${refusal.title}\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      closing = true;
      server.closeAllConnections();
      // At once: each may take its 7 s grace when redis is gone, and one after another they
      // would break the 10 s stop.
      await Promise.all(children.map((c) => c.stop()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // No request can record any more: what is buffered goes to the log before it closes.
      await access?.stop();
      await pump.stop();
      if (await Promise.race([descriptionPump.stop().then(() => false), sleep(DESCRIBE_WAIT_MS, true, { ref: false })])) {
        logger.error({ waitedMs: DESCRIBE_WAIT_MS, ocflSteps: ingest.ocfl.recentSteps() }, 'a description version was still being written at stop; left to the next start (it stays pending)');
      }
      await manifestBuilder.stop();
      for (const p of projections) await p.stop();
      // A queue's close waits on its connection, for ever when redis is gone: bounded.
      const queuesClosed = Promise.all(Object.values(queues).map((q) => q.close())).catch(() => {});
      await Promise.race([queuesClosed, sleep(2000, undefined, { ref: false })]);
      await search.stop();
      await searchIndex.close();
      queueRedis.disconnect();
      redisClient.disconnect();
      await redis.stop();
      await closeIngest(ingest);
      await hashPool.close();
      await store.close();
      reader.close();
      readDb.close();
    })();
    return stopping;
  };

  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
    });
  } catch (err) {
    await stop();
    throw listenFailure(err as NodeJS.ErrnoException, config);
  }
  // Children share our redis (the private one's socket, or REDIS_URL) and our event store;
  // started once the port is ours, so that a refused start leaves none behind.
  if (options.workers) {
    children = workersToRun(config).map((name) =>
      superviseWorker(name, process.execPath, [BIN, 'worker', name], { ...process.env, REDIS_URL: redis.url }, workerRecords, logger, { nice: config.workers.nice, scheduling: config.workers.scheduling }),
    );
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = config.publicUrl ?? `http://${host}:${port}`;
  logger.info({ url, eventStore: store.kind }, 'thukho is serving');
  const describeNow = async () => {
    const queue = projections.find((p) => p.projection.name === 'description-queue');
    const head = await store.headPosition();
    if (queue && head !== null) await queue.waitForPosition(head, 30_000);
    return descriptionPump.flush(Number.POSITIVE_INFINITY);
  };
  return { url, port, store, readDb, projections, search, describeNow, stop };
}

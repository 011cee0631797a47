import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { loadPreservationAt, recordFacts } from '../src/application/machine-facts.ts';
import { parseOcflId } from '../src/application/ocfl-ids.ts';
import type { Config } from '../src/config.ts';
import { DomainError } from '../src/domain/errors.ts';
import { type EventStore, WrongExpectedVersionError } from '../src/eventstore/port.ts';
import { QUEUES, ReplicationJob, queueConnection } from '../src/queue/queues.ts';
import {
  openStorageRoots,
  ReplicaError,
  type ReplicatedVersion,
  ReplicationError,
  replicateObject,
  replicationLag,
  type StorageRootSet,
  versionContent,
} from '../src/storage/replicas.ts';

/**
 * The replication worker: copies each new OCFL version to every replica root (one job per
 * FileIngested, jobId = that event's id, made by the dispatcher) and appends one
 * FileReplicated per replica and version. A failed copy is retried with backoff (the job
 * options in JOB_OPTIONS); what did get copied is recorded first.
 *
 * A periodic sweep (and one at start) compares every object's inventory sidecar on each
 * replica with the primary's, catches up whatever is behind (a replica added later, a job
 * lost with Redis and not yet re-sent), and keeps the lag in Redis for /health and /metrics.
 *
 * Recording reads the object's stream and appends only the (replica, version) pairs it does
 * not show yet, with the revision read as the expected one: a crash between the copy and
 * the append is made good by the retry, and two workers never record the same copy twice.
 */

export const REPLICATION_QUEUE = QUEUES.replication;
export { ReplicationJob };

/** The sweep's job (a job scheduler, plus one at start). */
export const ReplicationSweepJob = z.object({ kind: z.literal('sweep') }).strict();
export type ReplicationSweepJob = z.infer<typeof ReplicationSweepJob>;

const ACTOR = { actor: { id: 'worker:replication', role: 'admin' } };

// ---------------------------------------------------------------------------------------------
// Lag in Redis

/** The last sweep's measure (JSON). */
export const replicationLagKey = (queuePrefix: string) => `${queuePrefix}:replication:lag`;
/** OCFL ids a replica was behind on at the last sweep; each finished job removes its id, so SCARD is live. */
export const replicationBehindKey = (queuePrefix: string, label: string) => `${queuePrefix}:replication:behind:${label}`;

export const ReplicationLagSummary = z.object({
  measuredAt: z.string(),
  durationMs: z.number().nonnegative(),
  /** Committed objects on the primary. */
  objects: z.number().int().nonnegative(),
  replicas: z.array(
    z.object({
      label: z.string(),
      path: z.string(),
      /** Objects the replica lacks or has at an older version. */
      behind: z.number().int().nonnegative(),
      /** Objects whose replica copy is not a copy of the primary's: someone must look. */
      differs: z.number().int().nonnegative(),
      /** A few of the ids that differ, for the log and /health. */
      differsSample: z.array(z.string()).max(20),
    }),
  ),
});
export type ReplicationLagSummary = z.infer<typeof ReplicationLagSummary>;

/**
 * The lag for /health and /metrics: the last sweep's measure, with `behind` made live (what
 * jobs finished since then is taken off). Null before the first sweep. Versions ingested
 * since the sweep are not in it: they are the replication rows still open in the outbox.
 */
export async function readReplicationLag(redis: Redis, queuePrefix: string): Promise<ReplicationLagSummary | null> {
  const raw = await redis.get(replicationLagKey(queuePrefix));
  if (raw === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = ReplicationLagSummary.safeParse(json);
  if (!parsed.success) return null;
  const summary = parsed.data;
  for (const r of summary.replicas) r.behind = await redis.scard(replicationBehindKey(queuePrefix, r.label));
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Recording

interface Missing {
  replica: { label: string; path: string };
  version: string;
  files: number;
  bytes: number;
}

/**
 * Appends FileReplicated for every version a replica holds that the work's facts do not
 * record yet (`fresh`: the counts of versions just copied; the others are counted on the
 * replica). Returns how many were appended; 0 when the object has no stream (yet).
 */
export async function recordReplications(
  store: EventStore,
  roots: StorageRootSet,
  objectId: string,
  ocflObjectId: string,
  fresh: ReplicatedVersion[],
  causationId?: string,
): Promise<number> {
  // Two workers may find the same copy unrecorded: each appends only if no fact landed since
  // it read, and the loser reads again and finds it recorded.
  for (let attempt = 0; ; attempt++) {
    const { summary, revision } = await loadPreservationAt(store, objectId);
    const missing: Missing[] = [];
    for (const replica of roots.replicas) {
      const inventory = await replica.root.readInventory(ocflObjectId).catch(() => null);
      if (!inventory) continue;
      const versions = Object.keys(inventory.versions).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
      for (const version of versions) {
        // Versions reach a replica in order, so the highest one recorded covers those below it.
        if (Number(version.slice(1)) <= (summary.replicated[replica.label] ?? 0)) continue;
        const just = fresh.find((f) => f.replica.label === replica.label && f.version === version);
        const counts = just ?? (await versionContent(replica, ocflObjectId, version)) ?? { files: 0, bytes: 0 };
        missing.push({ replica: { label: replica.label, path: replica.path }, version, files: counts.files, bytes: counts.bytes });
      }
    }
    if (missing.length === 0) return 0;
    try {
      await recordFacts(
        store,
        objectId,
        missing.map((m) => ({ type: 'FileReplicated', data: { objectId, ...m } })),
        { ...ACTOR, ...(causationId ? { causationId } : {}) },
        { ifAt: revision },
      );
      return missing.length;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'not-found') return 0;
      if (err instanceof WrongExpectedVersionError && attempt < 10) continue;
      throw err;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The worker

export interface ReplicationWorker {
  queue: Queue;
  worker: Worker;
  roots: StorageRootSet;
  /** Runs one sweep now, in this process (tests, `thukho verify`). */
  sweep(): Promise<SweepResult>;
  close(): Promise<void>;
}

export interface SweepResult {
  lag: ReplicationLagSummary;
  replicated: number;
  recorded: number;
  failed: number;
}

export type ReplicationOutcome =
  | { outcome: 'replicated'; versions: Array<{ replica: string; version: string }>; recorded: number }
  | { outcome: 'sweep'; replicated: number; recorded: number; failed: number };

export async function startReplicationWorker(options: {
  store: EventStore;
  redisUrl: string;
  logger: Logger;
  config: Config;
  concurrency?: number;
  /** How often the sweep measures lag and catches up (default 15 minutes). */
  sweepEveryMs?: number;
}): Promise<ReplicationWorker> {
  const { store, logger, config } = options;
  const prefix = config.queuePrefix;
  // Opened again at every sweep: a replica mounted since is picked up, one unmounted left out.
  const openRoots = async () => {
    const opened = await openStorageRoots(config);
    for (const u of opened.unavailable) {
      logger.warn({ replica: u.label, path: u.path, reason: u.reason }, 'replica skipped, nothing written to it: not an OCFL storage root (a disk not mounted?); a new replica is made with `thukho replicas init LABEL`');
    }
    return opened;
  };
  let roots = await openRoots();
  const queueRedis = queueConnection(options.redisUrl);
  const workerRedis = queueConnection(options.redisUrl);

  const forget = async (ocflObjectId: string, labels: string[]) => {
    for (const label of labels) await queueRedis.srem(replicationBehindKey(prefix, label), ocflObjectId);
  };

  /** Copies, records what was copied (also when a replica failed), then reports the failure. */
  const replicateAndRecord = async (objectId: string, ocflObjectId: string, causationId?: string) => {
    let done: ReplicatedVersion[];
    let failure: ReplicationError | null = null;
    try {
      done = await replicateObject(roots, ocflObjectId);
    } catch (err) {
      if (!(err instanceof ReplicationError)) throw err;
      failure = err;
      done = err.replicated;
    }
    const recorded = await recordReplications(store, roots, objectId, ocflObjectId, done, causationId);
    const failed = new Set(failure?.failures.map((f) => f.replica.label) ?? []);
    await forget(ocflObjectId, roots.replicas.map((r) => r.label).filter((l) => !failed.has(l)));
    for (const d of done) logger.info({ objectId, replica: d.replica.label, version: d.version, files: d.files, bytes: d.bytes }, 'version replicated');
    if (failure) throw failure;
    return { done, recorded };
  };

  const sweep = async (progress?: (p: number) => void): Promise<SweepResult> => {
    const started = Date.now();
    roots = await openRoots();
    let replicated = 0;
    let recorded = 0;
    let failed = 0;
    // Without replicas there is nothing to compare: no need to walk the primary's tree.
    let lag = roots.replicas.length ? await replicationLag(roots) : { objects: 0, replicas: [] };
    const behind = [...new Set(lag.replicas.flatMap((r) => r.behind))];
    for (const [i, ocflObjectId] of behind.entries()) {
      try {
        const owner = parseOcflId(ocflObjectId);
        if (owner.kind === 'object') {
          const r = await replicateAndRecord(owner.id, ocflObjectId);
          replicated += r.done.length;
          recorded += r.recorded;
        } else {
          // A collection's or the seals' object: copied, with no facts stream to record it in.
          replicated += (await replicateObject(roots, ocflObjectId)).length;
          await forget(ocflObjectId, roots.replicas.map((r) => r.label));
        }
      } catch (err) {
        failed++;
        logger.error({ objectId: ocflObjectId, err: (err as Error).message }, 'sweep could not replicate an object');
      }
      progress?.(Math.round(((i + 1) / behind.length) * 100));
    }
    if (behind.length > 0) lag = await replicationLag(roots);
    const summary: ReplicationLagSummary = {
      measuredAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      objects: lag.objects,
      replicas: lag.replicas.map((r) => ({ label: r.label, path: r.path, behind: r.behind.length, differs: r.differs.length, differsSample: r.differs.slice(0, 20) })),
    };
    const tx = queueRedis.multi();
    for (const r of lag.replicas) {
      tx.del(replicationBehindKey(prefix, r.label));
      if (r.behind.length) tx.sadd(replicationBehindKey(prefix, r.label), ...r.behind);
    }
    tx.set(replicationLagKey(prefix), JSON.stringify(summary));
    await tx.exec();
    for (const r of summary.replicas) {
      if (r.differs > 0) logger.error({ replica: r.label, objects: r.differsSample }, 'replica holds copies that are not the primary\'s: look at them');
    }
    logger.info({ objects: summary.objects, replicas: summary.replicas.map((r) => ({ label: r.label, behind: r.behind, differs: r.differs })), replicated, failed }, 'replication sweep done');
    return { lag: summary, replicated, recorded, failed };
  };

  const process = async (job: Job): Promise<ReplicationOutcome> => {
    if (job.name === 'sweep') {
      if (!ReplicationSweepJob.safeParse(job.data).success) throw new UnrecoverableError('bad replication sweep payload');
      const r = await sweep((p) => void job.updateProgress(p));
      return { outcome: 'sweep', replicated: r.replicated, recorded: r.recorded, failed: r.failed };
    }
    const parsed = ReplicationJob.safeParse(job.data);
    // A malformed payload will never get better: fail it without retries.
    if (!parsed.success) throw new UnrecoverableError(`bad replication job payload: ${parsed.error.message}`);
    const data = parsed.data;
    try {
      const { done, recorded } = await replicateAndRecord(data.objectId, data.ocflObjectId, data.cause);
      return { outcome: 'replicated', versions: done.map((d) => ({ replica: d.replica.label, version: d.version })), recorded };
    } catch (err) {
      // The primary lacks the object the log names: reconcile's business; retrying may see it.
      if (err instanceof ReplicaError && err.code === 'not-found') logger.warn({ objectId: data.objectId }, 'object to replicate is not in the primary storage root');
      throw err;
    }
  };

  const queue = new Queue(REPLICATION_QUEUE, { connection: queueRedis, prefix });
  await queue.upsertJobScheduler(
    'replication-sweep',
    { every: options.sweepEveryMs ?? 15 * 60_000 },
    { name: 'sweep', data: { kind: 'sweep' }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 } } },
  );
  // One sweep at start catches up replicas configured since the last run.
  await queue.add('sweep', { kind: 'sweep' }, { jobId: 'sweep-at-start', removeOnComplete: true, removeOnFail: true });
  const worker = new Worker(REPLICATION_QUEUE, process, {
    connection: workerRedis,
    prefix,
    concurrency: options.concurrency ?? 2,
    // Copying a large object to a slow NAS takes a while; the lock is renewed meanwhile.
    lockDuration: 5 * 60_000,
  });
  worker.on('failed', (job, err) => logger.error({ job: job?.id, err: err.message }, 'replication job failed'));
  return {
    queue,
    worker,
    get roots() {
      return roots;
    },
    sweep: () => sweep(),
    async close() {
      await worker.close();
      await queue.close();
      queueRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}

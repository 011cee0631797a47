import Router from '@koa/router';
import type { Queue } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Id } from '../../domain/metadata.ts';
import { FIXITY_STATES, fixitySummary } from '../../projections/fixity-summary.ts';
import { fixityObjectJobId, type FixityJob } from '../../queue/queues.ts';
import { authOf, requireStaff } from '../auth.ts';
import { figuresScope, requireWorkRight } from '../access.ts';
import { Problem } from '../problem.ts';
import type { AppServices, PreservationStatus } from '../services.ts';

/**
 * The preservation dashboard's API: GET /api/preservation/summary (fixity state of the whole
 * repository and replication lag per root) and POST /api/objects/:id/fixity-check (check every
 * copy of one work now, on the fixity queue).
 *
 * Who may ask for a re-check: any staff member, auditors included. A check changes no record
 * a person decided; it only reads the bytes and writes what it found to the preservation
 * stream, which is exactly what an auditor is there to ask for.
 */
export const SummaryQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200), library: Id.optional() }).strict();

/** Replication lag per configured replica root, as the replication worker last measured it. */
export interface RootLag {
  label: string;
  path: string;
  /** Versions the replica lacks; null when never measured or the root cannot be read. */
  behind: number | null;
  differs: number | null;
  readable: boolean;
  measuredAt: string | null;
}

export function rootLags(status: PreservationStatus, replicas: ReadonlyArray<{ label: string; path: string }>): RootLag[] {
  const measured = status.replication;
  return replicas.map((r) => {
    const m = measured?.replicas.find((x) => x.label === r.label);
    const readable = !status.unreadableReplicas.some((u) => u.label === r.label);
    return { label: r.label, path: r.path, behind: m?.behind ?? null, differs: m?.differs ?? null, readable, measuredAt: measured?.measuredAt ?? null };
  });
}

/** `library`: only the works it holds (see figuresScope); undefined: the whole repository. */
export async function preservationSummary(services: AppServices, limit: number, library?: string) {
  const { config } = services;
  const fixity = fixitySummary(services.readDb, new Date(), {
    cycleDays: config.fixity.cycleDays,
    collectionCycleDays: config.fixity.collectionCycleDays,
    limit,
    heldBy: library === undefined ? undefined : { libraryId: library, home: config.libraryId },
  });
  const status = await services.preservationStatus();
  return {
    libraryId: library ?? null,
    states: FIXITY_STATES,
    ...fixity,
    replication: rootLags(status, config.replicas),
    seal: status.seal,
  };
}

const REDIS_WAIT_MS = 5000;

const queueDown = () =>
  new Problem(503, 'queue-unavailable', {
    vi: 'Hàng đợi công việc (Redis) không trả lời; chưa thể xếp lịch kiểm tra. Hãy thử lại sau.',
    en: 'The job queue (Redis) does not answer; the check could not be queued. Try again later.',
  });

async function bounded<T>(work: Promise<T>): Promise<T> {
  const result = await Promise.race([work.then((v) => ({ v })), sleep(REDIS_WAIT_MS, null, { ref: false })]);
  if (result === null) throw queueDown();
  return result.v;
}

/**
 * Queues a check of every copy of one work. One job per work at a time: while one waits or
 * runs, asking again adds nothing (`alreadyQueued`); a finished or failed one is replaced.
 */
export async function requestObjectFixity(queue: Queue, objectId: string, requestedBy: string): Promise<{ jobId: string; alreadyQueued: boolean }> {
  const jobId = fixityObjectJobId(objectId);
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return { jobId, alreadyQueued: true };
    await existing.remove();
  }
  const data: FixityJob = { kind: 'check-object', objectId, requestedBy };
  await queue.add('check-object', data, { jobId, attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } });
  return { jobId, alreadyQueued: false };
}

function objectExists(services: AppServices, objectId: string): boolean {
  return services.readDb.prepare<[string]>('SELECT 1 FROM objects WHERE id = ?').get(objectId) !== undefined;
}

export function preservationRoutes(services: AppServices): Router {
  const router = new Router();

  router.get('/api/preservation/summary', async (ctx) => {
    requireStaff(ctx);
    const { limit, library } = SummaryQuery.parse(ctx.query);
    const scope = figuresScope(authOf(ctx).viewer, library);
    ctx.set('Cache-Control', 'private, no-store');
    ctx.body = await preservationSummary(services, limit, scope);
  });

  router.post('/api/objects/:id/fixity-check', async (ctx) => {
    const actor = requireStaff(ctx);
    const objectId = Id.parse(ctx.params.id);
    const absent = () => new Problem(404, 'not-found', { vi: `Không có tài liệu "${objectId}".`, en: `There is no object "${objectId}".` });
    if (!objectExists(services, objectId)) throw absent();
    requireWorkRight(services.readDb, authOf(ctx).viewer, objectId, 'staff', absent);
    const queued = await bounded(requestObjectFixity(services.queues.fixity, objectId, actor.id));
    services.logger.info({ objectId, by: actor.id, ...queued }, 'fixity check of one work asked for');
    ctx.status = 202;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      objectId,
      ...queued,
      messages: {
        vi: queued.alreadyQueued ? 'Việc kiểm tra tài liệu này đã có trong hàng đợi.' : 'Đã xếp lịch kiểm tra tính toàn vẹn của tài liệu; kết quả sẽ có trong lịch sử bảo quản.',
        en: queued.alreadyQueued ? 'A check of this object is already queued.' : 'A fixity check of the object is queued; its results will be in the provenance timeline.',
      },
    };
  });

  return router;
}

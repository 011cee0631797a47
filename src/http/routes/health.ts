import Router from '@koa/router';
import { isStaff } from '../../domain/access-policy.ts';
import { outboxCounts } from '../../projections/dispatcher.ts';
import { damagedFiles } from '../../projections/fixity-read-model.ts';
import { searchIndexPath } from '../../search/open.ts';
import { checkServerDisks } from '../../storage/disk-space.ts';
import { authOf } from '../auth.ts';
import type { AppServices } from '../services.ts';

/**
 * /health for monitoring and load balancers: 200 when every dependency answers, 503 with
 * the failing part named otherwise. A projection that is retrying, or a preservation
 * problem, makes the service "degraded" (still 200: reads and writes work).
 *
 * Anyone may ask, so anyone sees states and counts only. What is wrong in particular (a
 * damaged file's work and collection, a broken stream's name, replica paths, error messages)
 * can name a confidential work or the server's disks: that is for a staff token, on the same
 * route.
 */
type Level = 'ok' | 'degraded' | 'down';

interface CheckResult {
  level: Level;
  /** What anyone sees: states and counts. */
  summary: unknown;
  /** What staff see instead, when there is more to say. */
  detail?: unknown;
}

/** What several checks need, asked once per request. */
interface Probes {
  eventStore: Probe;
  redis: Probe;
  head: bigint | null;
}

/** One part of the answer; a new check is one more entry in CHECKS. */
interface HealthCheck {
  name: string;
  run(services: AppServices, probes: Probes): Promise<CheckResult> | CheckResult;
}

type Probe = { status: 'ok' } | { status: 'down'; error: string };

/** `fn`'s answer, or an error once `timeoutMs` have passed without one. */
async function within<T>(fn: () => Promise<T>, timeoutMs = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<Probe> {
  try {
    await within(fn, timeoutMs);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'down', error: err instanceof Error ? err.message : String(err) };
  }
}

const dependency = (p: Probe, extra: Record<string, unknown> = {}): CheckResult => ({
  level: p.status === 'ok' ? 'ok' : 'down',
  summary: { status: p.status, ...extra },
  detail: { ...p, ...extra },
});

const CHECKS: HealthCheck[] = [
  {
    name: 'eventStore',
    run: (services, { eventStore, head }) => dependency(eventStore, { kind: services.store.kind, headPosition: head === null ? null : String(head) }),
  },
  { name: 'redis', run: (_services, { redis }) => dependency(redis) },
  {
    // Which volume is short of space, by what it holds (never its path).
    name: 'disk',
    run: (services) => {
      const disk = checkServerDisks(services.config);
      return { level: disk.status === 'ok' ? 'ok' : 'degraded', summary: disk };
    },
  },
  {
    name: 'projections',
    run: (services, { head }) => {
      const all = services.projections.map((p) => {
        // Positions of the SQLite log count events, so this is "events behind" there;
        // on EventStoreDB it is a distance in the transaction log (bytes), still 0 when current.
        return { ...p.status(), lag: head === null ? null : p.lagBehind(head) };
      });
      return {
        level: all.some((p) => p.state === 'retrying') ? 'degraded' : 'ok',
        summary: all.map(({ name, state, position, lag, retries }) => ({ name, state, position, lag, retries })),
        detail: all,
      };
    },
  },
  {
    // The index answers, and its projection keeps up; which file or server it is, for staff.
    name: 'search',
    run: async (services, { head }) => {
      const runner = services.search;
      const index = await probe(() => runner.index.readCheckpoint());
      const { state, position, retries, lastError } = runner.status();
      const lag = head === null ? null : runner.lagBehind(head);
      const level: Level = index.status === 'down' ? 'down' : state === 'retrying' ? 'degraded' : 'ok';
      const where = services.config.search.kind === 'embedded' ? { path: searchIndexPath(services.config) } : {};
      return {
        level,
        summary: { status: index.status, engine: services.config.search.kind, state, position, lag },
        detail: { ...index, engine: services.config.search.kind, ...where, state, position, lag, retries, lastError },
      };
    },
  },
  {
    name: 'audit',
    run: async (services, { redis }) => {
      const audit = redis.status === 'ok' ? await services.lastAudit() : null;
      if (audit === null) return { level: 'ok', summary: null };
      const { broken, ...counts } = audit;
      const summary = { ...counts, brokenStreams: new Set(broken.map((b) => b.streamId)).size };
      return { level: broken.length > 0 ? 'degraded' : 'ok', summary, detail: { ...summary, broken } };
    },
  },
  {
    name: 'preservation',
    run: async (services) => {
      const status = await services.preservationStatus();
      // Files with no good copy left anywhere: someone must restore them from backup.
      const damaged = damagedFiles(services.readDb);
      const replication = status.replication && {
        measuredAt: status.replication.measuredAt,
        behind: status.replication.replicas.reduce((n, r) => n + r.behind, 0),
        differs: status.replication.replicas.reduce((n, r) => n + r.differs, 0),
      };
      const seal = status.seal && { finishedAt: status.seal.finishedAt, status: status.seal.status };
      const level: Level =
        damaged.length > 0 || (replication?.differs ?? 0) > 0 || status.unreadableReplicas.length > 0 || seal?.status === 'refused' ? 'degraded' : 'ok';
      return {
        level,
        summary: { damaged: { count: damaged.length }, replication, seal, unreadableReplicas: { count: status.unreadableReplicas.length } },
        detail: {
          damaged: { count: damaged.length, files: damaged.slice(0, 20) },
          replication: status.replication && { ...replication, replicas: status.replication.replicas },
          seal: status.seal,
          // Skipped by replication and repair until mounted (or `thukho replicas init`).
          unreadableReplicas: { count: status.unreadableReplicas.length, replicas: status.unreadableReplicas },
        },
      };
    },
  },
  {
    // Access events for usage statistics: what waits in memory, what reached the log, and what
    // was dropped rather than slow a reader (the buffer was full, or the log failed). Counts
    // since the server started; dropping is not a fault of the service, reading goes on.
    name: 'access',
    run: (services) => {
      if (!services.access) return { level: 'ok', summary: { status: 'off' } };
      const { buffered, written, dropped } = services.access.counts();
      return { level: 'ok', summary: { status: 'on', buffered, written, dropped: dropped.full + dropped.failed, droppedBecause: dropped } };
    },
  },
  {
    // Background work the log has asked for and whose outcome is not in the log yet.
    name: 'jobs',
    run: (services) => {
      const { pending, enqueued } = outboxCounts(services.readDb);
      return { level: 'ok', summary: { pending, enqueued } };
    },
  },
  {
    // How many jobs each queue holds, by state: counts for anyone. Which pages failed OCR
    // (work, page, reason) names works, so that list is for staff. Failures alone do not
    // make the service degraded: a page that cannot be read is a fact about the page.
    name: 'queues',
    run: async (services, { redis }) => {
      if (redis.status !== 'ok') return { level: 'ok', summary: null };
      try {
        const { depths, failedOcr } = await within(() => services.queueStatus());
        return { level: 'ok', summary: depths, detail: { ...depths, ocr: { ...depths.ocr, recentFailures: failedOcr } } };
      } catch (err) {
        // Redis answered PING a moment ago; a slow answer here is the redis check's to report.
        services.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'health: queue depths not read');
        return { level: 'ok', summary: null };
      }
    },
  },
];

const LEVELS: Level[] = ['ok', 'degraded', 'down'];

export function healthRoutes(services: AppServices): Router {
  const router = new Router();
  router.get('/health', async (ctx) => {
    const [eventStore, redis] = await Promise.all([probe(() => services.store.ping()), probe(() => services.pingRedis())]);
    const head = eventStore.status === 'ok' ? await services.store.headPosition() : null;
    const results = await Promise.all(CHECKS.map(async (c) => [c.name, await c.run(services, { eventStore, redis, head })] as const));
    const level = LEVELS[Math.max(...results.map(([, r]) => LEVELS.indexOf(r.level)))] as Level;
    const staff = isStaff(authOf(ctx).viewer);
    ctx.status = level === 'down' ? 503 : 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: level, ...Object.fromEntries(results.map(([name, r]) => [name, staff ? (r.detail ?? r.summary) : r.summary])) };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = await services.metrics.render();
  });
  return router;
}

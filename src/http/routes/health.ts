import Router from '@koa/router';
import { outboxCounts } from '../../projections/dispatcher.ts';
import { damagedFiles, hasFixityTables } from '../../projections/fixity-read-model.ts';
import { checkServerDisks } from '../../storage/disk-space.ts';
import type { AppServices } from '../services.ts';

/**
 * /health for monitoring and load balancers: 200 when every dependency answers, 503 with
 * the failing part named otherwise. A projection that is retrying makes the service
 * "degraded" (still 200: reads and writes work, some views are stale).
 */
async function check(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<{ status: 'ok' } | { status: 'down'; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok' };
  } catch (err) {
    return { status: 'down', error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(services: AppServices): Router {
  const router = new Router();
  router.get('/health', async (ctx) => {
    const [eventStore, redis] = await Promise.all([check(() => services.store.ping()), check(() => services.pingRedis())]);
    const head = eventStore.status === 'ok' ? await services.store.headPosition() : null;
    const projections = services.projections.map((p) => {
      // Positions of the SQLite log count events, so this is "events behind" there;
      // on EventStoreDB it is a distance in the transaction log (bytes), still 0 when current.
      return { ...p.status(), lag: head === null ? null : p.lagBehind(head) };
    });
    const audit = redis.status === 'ok' ? await services.lastAudit() : null;
    const status = await services.preservationStatus();
    const damaged = hasFixityTables(services.readDb) ? damagedFiles(services.readDb) : [];
    // Which volume is short of space, by what it holds (never its path).
    const disk = checkServerDisks(services.config);
    const down = eventStore.status !== 'ok' || redis.status !== 'ok';
    const degraded =
      disk.status !== 'ok' ||
      projections.some((p) => p.state === 'retrying') ||
      (audit !== null && audit.broken.length > 0) ||
      damaged.length > 0 ||
      (status.replication?.replicas.some((r) => r.differs > 0) ?? false) ||
      status.unreadableReplicas.length > 0 ||
      status.seal?.status === 'refused';
    ctx.status = down ? 503 : 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      status: down ? 'down' : degraded ? 'degraded' : 'ok',
      eventStore: { ...eventStore, kind: services.store.kind, headPosition: head === null ? null : String(head) },
      redis,
      disk,
      projections,
      audit,
      preservation: {
        // Files with no good copy left anywhere: someone must restore them from backup.
        damaged: { count: damaged.length, files: damaged.slice(0, 20) },
        replication: status.replication,
        seal: status.seal,
        // Skipped by replication and repair until mounted (or `thukho replicas init`).
        unreadableReplicas: status.unreadableReplicas,
      },
      // Background work the log has asked for and whose outcome is not in the log yet.
      jobs: (({ pending, enqueued }) => ({ pending, enqueued }))(outboxCounts(services.readDb)),
    };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = await services.metrics.render();
  });
  return router;
}

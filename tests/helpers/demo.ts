import { pino } from 'pino';
import { closeIngest, openIngest } from '../../src/application/open-ingest.ts';
import { DEMO_OBJECTS, seedDemo } from '../../src/cli/demo-collection.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, poll, staffCall } from './api.ts';
import type { TestServer } from './server.ts';

/**
 * The demo collection exactly as `thukho demo` seeds it (through the ingest path), with a
 * derivatives worker running in this process, waited on until every page of `ids` has its
 * derivative and every manifest its canvases. Returns the worker (close it after) and each
 * object's file ids in page order. `seedOnly`: seed the works of `ids` only, not the whole collection.
 */
export async function seedDemoCollection(
  s: TestServer,
  ids: string[] = DEMO_OBJECTS.map((o) => o.id),
  options: { seedOnly?: boolean } = {},
): Promise<{ worker: DerivativesWorker; files: Record<string, string[]> }> {
  const worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  const ingest = await openIngest(s.config, s.store);
  try {
    await seedDemo(ingest, { actor: { id: 'test', role: 'staff' } }, options.seedOnly ? ids : undefined);
  } finally {
    await closeIngest(ingest);
  }
  const files: Record<string, string[]> = {};
  for (const id of ids) {
    const ready = await poll(`the derivatives of ${id}`, 90_000, async () => {
      const o = await staffCall(s, 'GET', `/api/objects/${id}`);
      const list = (o.files as Json[] | undefined) ?? [];
      const failed = list.find((f) => f.derivativeFailure);
      if (failed) throw new Error(`derivative failed for ${id}: ${JSON.stringify(failed.derivativeFailure)}`);
      return list.length > 0 && list.every((f) => f.derivative) ? list.map((f) => f.fileId as string) : undefined;
    });
    files[id] = ready;
    await poll(`the manifest of ${id} with ${ready.length} canvases`, 20_000, async () => {
      const res = await fetch(`${s.url}/iiif/manifest/${id}`);
      if (res.status !== 200) return undefined;
      const m = (await res.json()) as Json;
      return (m.items as unknown[] | undefined)?.length === ready.length ? true : undefined;
    });
  }
  return { worker, files };
}

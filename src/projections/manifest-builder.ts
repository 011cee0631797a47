import type { Logger } from 'pino';
import { buildStaleManifest, staleManifests } from './manifest-read-model.ts';
import type { ReadModelDb } from './read-model-db.ts';
import { RoundLoop } from './round-loop.ts';

/**
 * Builds, in the background, the manifests the manifests projection left stale: works whose
 * derivatives are still arriving (the batch bringing the last one builds it itself) and that
 * then went quiet, a page never made for instance. A request never waits for this: it builds
 * a stale manifest itself (findManifest). So this only spares the next reader the build, and
 * may wait: a work is built once nothing changed it for `quietMs`, and each further build of
 * the same work while its pages still arrive waits twice as long (up to `maxQuietMs`), so a
 * slow, steady stream of derivatives costs a handful of builds, not one per page.
 *
 * What it remembers is in memory only: the tables say what is stale (stale_pos), and a
 * restart at worst builds a work a little early.
 */
export interface ManifestBuilderOptions {
  db: ReadModelDb;
  logger: Logger;
  quietMs?: number;
  maxQuietMs?: number;
  intervalMs?: number;
}

interface Watched {
  stalePos: number;
  since: number;
}

export class ManifestBuilder {
  private readonly loop: RoundLoop;
  /** Stale works and since when their stale_pos stayed as it is. */
  private readonly watched = new Map<string, Watched>();
  /** Works this builder built lately: how many times, and when last. */
  private readonly recent = new Map<string, { builds: number; at: number }>();
  built = 0;

  constructor(private readonly options: ManifestBuilderOptions) {
    // A pause after every look, one that built too: the quiet times pace the builds, not the loop.
    this.loop = new RoundLoop(() => (this.once(), 0), {
      intervalMs: options.intervalMs ?? 250,
      // The tables may not exist yet (the projection not prepared) or be rebuilt under us.
      failed: (err) => options.logger.debug({ err: err.message }, 'manifest builder: round failed'),
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One look at the stale manifests; builds those quiet long enough. Returns how many it built. */
  once(nowMs = Date.now()): number {
    const quiet = this.options.quietMs ?? 5_000;
    const maxQuiet = this.options.maxQuietMs ?? 600_000;
    const stale = staleManifests(this.options.db, 10_000);
    const present = new Set<string>();
    let built = 0;
    for (const { objectId, stalePos } of stale) {
      if (this.loop.stopped) break;
      present.add(objectId);
      const w = this.watched.get(objectId);
      if (!w || w.stalePos !== stalePos) {
        this.watched.set(objectId, { stalePos, since: nowMs });
        continue;
      }
      const before = this.recent.get(objectId);
      if (nowMs - w.since < Math.min(maxQuiet, quiet * 2 ** (before?.builds ?? 0))) continue;
      buildStaleManifest(this.options.db, objectId);
      this.recent.set(objectId, { builds: (before?.builds ?? 0) + 1, at: nowMs });
      built++;
    }
    for (const id of this.watched.keys()) if (!present.has(id)) this.watched.delete(id);
    // Quiet for the longest wait: its pages have all come, or stopped coming.
    for (const [id, r] of this.recent) if (nowMs - r.at > maxQuiet) this.recent.delete(id);
    this.built += built;
    return built;
  }

  /** Builds every stale manifest now (tests; after `thukho rebuild`). */
  flush(): number {
    let n = 0;
    for (const { objectId } of staleManifests(this.options.db, Number.MAX_SAFE_INTEGER)) {
      buildStaleManifest(this.options.db, objectId);
      n++;
    }
    return n;
  }
}

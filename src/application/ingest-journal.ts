import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { IngestedFile } from '../domain/events.ts';
import { writeFileDurable } from '../storage/durable-file.ts';
import { isAlive } from '../process-alive.ts';

/**
 * The ingest journal closes the gap between "bytes committed to OCFL" and "event appended":
 * an intent naming the file is made durable before the OCFL version is written and removed
 * after the event is in the log. At start-up, a leftover intent is finished (see
 * reconcile.ts), so the work of a crash is never lost and never half-visible.
 */
export const IngestIntent = z.object({
  intentId: z.string().uuid(),
  objectId: z.string(),
  /** The OCFL object the bytes go to; intents written before ids were URIs used the work's id. */
  ocflObjectId: z.string().min(1).optional(),
  /** The file as the event will record it, minus the OCFL version (known only after writing). */
  file: IngestedFile.omit({ storage: true }),
  logicalPath: z.string(),
  sequence: z.number().int().nonnegative().optional(),
  actor: z.object({ id: z.string(), role: z.string() }),
  correlationId: z.string(),
  createdAt: z.string(),
});
export type IngestIntent = z.infer<typeof IngestIntent>;

export class IngestJournal {
  constructor(private readonly dir: string) {}

  async record(intent: Omit<IngestIntent, 'intentId' | 'createdAt'>): Promise<IngestIntent> {
    await mkdir(this.dir, { recursive: true });
    const full: IngestIntent = { ...intent, intentId: randomUUID(), createdAt: new Date().toISOString() };
    // The writer's pid is in the name: only intents of processes that are gone are leftovers.
    await writeFileDurable(this.dir, `${process.pid}-${full.intentId}.json`, JSON.stringify(full));
    return full;
  }

  async done(intent: IngestIntent, owner: number = process.pid): Promise<void> {
    await rm(join(this.dir, `${owner}-${intent.intentId}.json`), { force: true });
  }

  /**
   * Intents left by processes that are no longer running (a live server's or bulk ingest's
   * intents are work in progress, not leftovers). Temp files of a crash mid-write are removed:
   * they never took effect.
   */
  async pending(): Promise<Array<IngestIntent & { owner: number }>> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: Array<IngestIntent & { owner: number }> = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const owner = Number(/^\.?(\d+)-/.exec(name)?.[1] ?? 0);
      if (owner === process.pid || (owner > 0 && isAlive(owner))) continue;
      if (name.endsWith('.tmp')) {
        await rm(path, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const parsed = IngestIntent.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (parsed.success) out.push({ ...parsed.data, owner });
      else await rename(path, `${path}.unreadable`);
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }
}

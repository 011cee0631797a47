import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bounded caches of rendered Image API responses. The memory cache is an LRU by bytes
 * (a Map keeps insertion order: re-inserting on a hit makes it the newest). The disk cache
 * keeps renders that are not pre-cut tiles (odd regions, rotations, other formats) across
 * restarts, evicting the least recently used files when over its budget; it is a cache: a
 * missing or unreadable entry is simply rendered again.
 */
export interface CachedResponse {
  body: Buffer;
  contentType: string;
}

export class MemoryLru<V extends CachedResponse = CachedResponse> {
  private readonly entries = new Map<string, V>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, value: V): void {
    const size = value.body.length + key.length;
    // One response larger than a quarter of the budget would flush everything useful.
    if (size > this.maxBytes / 4) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.body.length + key.length;
      this.entries.delete(key);
    }
    this.entries.set(key, value);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length + k.length;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

const EXT: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };
const TYPE: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };

export class DiskCache {
  /** name → [bytes, last use]; loaded from the folder at open. */
  private readonly index = new Map<string, { bytes: number; used: number }>();
  private bytes = 0;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  private open(): Promise<void> {
    this.ready ??= (async () => {
      if (this.maxBytes <= 0) return;
      await mkdir(this.dir, { recursive: true });
      const found: Array<[string, { bytes: number; used: number }]> = [];
      for (const name of await readdir(this.dir)) {
        if (name.endsWith('.tmp')) {
          await unlink(join(this.dir, name)).catch(() => {});
          continue;
        }
        const s = await stat(join(this.dir, name)).catch(() => null);
        if (s?.isFile()) found.push([name, { bytes: s.size, used: s.atimeMs }]);
      }
      found.sort((a, b) => a[1].used - b[1].used);
      for (const [name, entry] of found) {
        this.index.set(name, entry);
        this.bytes += entry.bytes;
      }
      await this.evict();
    })();
    return this.ready;
  }

  private nameFor(key: string, contentType: string): string {
    return `${createHash('sha256').update(key).digest('hex')}.${EXT[contentType] ?? 'bin'}`;
  }

  async get(key: string, contentType: string): Promise<CachedResponse | undefined> {
    if (this.maxBytes <= 0) return undefined;
    await this.open();
    const name = this.nameFor(key, contentType);
    const entry = this.index.get(name);
    if (!entry) return undefined;
    try {
      const body = await readFile(join(this.dir, name));
      this.index.delete(name);
      this.index.set(name, { ...entry, used: Date.now() });
      return { body, contentType: TYPE[name.split('.').pop() ?? ''] ?? contentType };
    } catch {
      this.forget(name);
      return undefined;
    }
  }

  async set(key: string, value: CachedResponse): Promise<void> {
    if (this.maxBytes <= 0 || value.body.length > this.maxBytes / 4) return;
    await this.open();
    const name = this.nameFor(key, value.contentType);
    const tmp = join(this.dir, `${name}.${process.pid}.tmp`);
    try {
      await writeFile(tmp, value.body);
      await rename(tmp, join(this.dir, name));
    } catch {
      // A full disk must not fail the request that was already rendered.
      await unlink(tmp).catch(() => {});
      return;
    }
    this.forget(name);
    this.index.set(name, { bytes: value.body.length, used: Date.now() });
    this.bytes += value.body.length;
    await this.evict();
  }

  private forget(name: string): void {
    const old = this.index.get(name);
    if (!old) return;
    this.bytes -= old.bytes;
    this.index.delete(name);
  }

  private async evict(): Promise<void> {
    for (const [name] of this.index) {
      if (this.bytes <= this.maxBytes) break;
      this.forget(name);
      await unlink(join(this.dir, name)).catch(() => {});
    }
  }
}

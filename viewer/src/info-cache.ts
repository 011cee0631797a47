import { probeServiceOf, type ProbeService } from './auth.ts';
import { infoJsonUrl, isObject, type ImageServiceRef } from './manifest.ts';

/**
 * Image API info.json documents, fetched once and shared by page views and preloads.
 * A page view's fetches carry its AbortController: turning pages quickly cancels what the
 * reader has already left, and a cancelled fetch leaves no entry behind for the next view.
 */
/**
 * An info.json refused with 401 whose body names an IIIF Auth 2.0 probe service: an Image
 * API server answers a 401 with the info.json itself, so that a client learns how to get in.
 */
export class InfoRefused extends Error {
  constructor(
    readonly status: number,
    readonly probe: ProbeService,
  ) {
    super(`HTTP ${status}`);
  }
}

interface Entry {
  promise: Promise<object>;
  controller: AbortController | undefined;
  settled: boolean;
}

export class InfoCache {
  private readonly entries = new Map<string, Entry>();

  /** The info.json of a service; `nav` is the page view that needs it (none for preloads). */
  get(service: ImageServiceRef, nav?: AbortController): Promise<object> {
    const url = infoJsonUrl(service);
    const cached = this.entries.get(url);
    if (cached) return cached.promise;
    const entry: Entry = { controller: nav, settled: false, promise: Promise.resolve({}) };
    entry.promise = fetch(url, { signal: nav?.signal ?? null, headers: { Accept: 'application/ld+json, application/json' } })
      .then(async (response) => {
        if (response.status === 401) {
          const body: unknown = await response.json().catch(() => undefined);
          const probe = isObject(body) ? probeServiceOf(body.service) : undefined;
          if (probe) throw new InfoRefused(response.status, probe);
        }
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const json: unknown = await response.json();
        if (!isObject(json)) throw new Error('info.json is not an object');
        return json;
      })
      .then(
        (json) => {
          entry.settled = true;
          return json;
        },
        (error: unknown) => {
          entry.settled = true;
          if (this.entries.get(url) === entry) this.entries.delete(url);
          throw error;
        },
      );
    this.entries.set(url, entry);
    return entry.promise;
  }

  /** Cancels a page view's fetches; removed first, so a request made right after starts afresh. */
  abort(nav: AbortController): void {
    for (const [url, entry] of this.entries) if (entry.controller === nav && !entry.settled) this.entries.delete(url);
    nav.abort();
  }

  preload(service: ImageServiceRef): void {
    this.get(service).catch(() => undefined);
  }
}

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { z } from 'zod';

/**
 * The viewer's and the site's built files (vite output in viewer/dist), found from this
 * module's own location so that the server works from any working directory. Files are
 * read once, on first request, and kept in memory with a gzip copy: there are a handful of
 * them, they are immutable (hashed names), and every object page loads them.
 */
export const DIST_DIR = fileURLToPath(new URL('../../../viewer/dist/', import.meta.url));
const ASSETS_DIR = join(DIST_DIR, 'assets');
const MANIFEST_PATH = join(DIST_DIR, '.vite', 'manifest.json');

const ManifestEntry = z.object({
  file: z.string(),
  css: z.array(z.string()).optional(),
  imports: z.array(z.string()).optional(),
});
const ViteManifest = z.record(z.string(), ManifestEntry);
type ViteManifest = z.infer<typeof ViteManifest>;

/** Public URLs of what a page links to; `built: false` when there is no vite build. */
export interface PageAssets {
  built: boolean;
  siteCss?: string;
  viewer?: { js: string; css: string[]; preload: string[] };
  /** The staff workspace's script (its pages' modules are loaded by it, per page). */
  staff?: { js: string; css: string[]; preload: string[] };
}

const SITE_ENTRY = 'src/site.css';
const VIEWER_ENTRY = 'src/main.ts';
const STAFF_ENTRY = 'src/staff/main.ts';

/** Manifest entries name files relative to outDir ("assets/x.js"); they are served under /assets/. */
const publicUrl = (file: string) => `/assets/${basename(file)}`;

/** A script entry's file, its stylesheets and the chunks it imports (to preload). */
function entryAssets(manifest: ViteManifest, entry: string): { js: string; css: string[]; preload: string[] } | undefined {
  const main = manifest[entry];
  if (!main) return undefined;
  const preload: string[] = [];
  const seen = new Set<string>();
  const walk = (key: string) => {
    for (const dep of manifest[key]?.imports ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      const file = manifest[dep]?.file;
      if (file) preload.push(publicUrl(file));
      walk(dep);
    }
  };
  walk(entry);
  const css = new Set<string>(main.css ?? []);
  for (const dep of seen) for (const c of manifest[dep]?.css ?? []) css.add(c);
  return { js: publicUrl(main.file), css: [...css].map(publicUrl), preload };
}

export function pageAssetsFrom(manifest: ViteManifest): PageAssets {
  const site = manifest[SITE_ENTRY];
  const viewer = entryAssets(manifest, VIEWER_ENTRY);
  const staff = entryAssets(manifest, STAFF_ENTRY);
  return {
    built: true,
    ...(site ? { siteCss: publicUrl(site.file) } : {}),
    ...(viewer ? { viewer } : {}),
    ...(staff ? { staff } : {}),
  };
}

export interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  woff2: 'font/woff2',
  woff: 'font/woff',
  ico: 'image/x-icon',
  txt: 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['js', 'mjs', 'css', 'map', 'json', 'svg', 'txt']);
/** Safe file names only: no separators, no leading dot, so nothing outside assets/ is reachable. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$/;
/** vite's default names: name-HASH.ext with an 8-character base64url hash. */
const HASHED = /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

export interface AssetStore {
  pageAssets(): PageAssets;
  get(name: string): Asset | undefined;
}

/** How long a missing build is remembered before looking again (a build may land while we run). */
const RECHECK_MS = 5000;

export function assetStore(logger: Logger, dir: string = DIST_DIR): AssetStore {
  const assetsDir = dir === DIST_DIR ? ASSETS_DIR : join(dir, 'assets');
  const manifestPath = dir === DIST_DIR ? MANIFEST_PATH : join(dir, '.vite', 'manifest.json');
  let loaded: PageAssets | undefined;
  let missingSince = 0;
  let warned = false;
  const files = new Map<string, Asset>();

  return {
    pageAssets() {
      if (loaded) return loaded;
      if (Date.now() - missingSince < RECHECK_MS) return { built: false };
      try {
        loaded = pageAssetsFrom(ViteManifest.parse(JSON.parse(readFileSync(manifestPath, 'utf8'))));
        return loaded;
      } catch (err) {
        missingSince = Date.now();
        if (!warned) {
          warned = true;
          logger.warn({ manifest: manifestPath, err: (err as Error).message }, 'the viewer is not built (run npm run build): site pages are served without it');
        }
        return { built: false };
      }
    },
    get(name) {
      const cached = files.get(name);
      if (cached) return cached;
      if (!FILE_NAME.test(name)) return undefined;
      const path = join(assetsDir, name);
      if (!existsSync(path) || !statSync(path).isFile()) return undefined;
      const body = readFileSync(path);
      const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
      const zipped = COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : undefined;
      const asset: Asset = {
        body,
        gzip: zipped && zipped.length < body.length ? zipped : undefined,
        type: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        immutable: HASHED.test(name),
      };
      files.set(name, asset);
      return asset;
    },
  };
}

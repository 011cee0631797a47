import { probeServiceOf, type ProbeService } from './auth.ts';
import type { LanguageMap } from './language.ts';
import { asArray, contextStrings, idOf, isObject, languageMap, str, typeOf, type Json } from './json.ts';
import { type Region, splitFragment } from './region.ts';

/**
 * IIIF Presentation 3 manifest → the few things the viewer needs, with hand-written guards
 * (no schema library: it would cost more than the rest of the viewer's own code).
 * Lenient where real-world manifests are sloppy (a string where a language map or an array
 * belongs), strict only where a wrong guess would show the wrong image.
 */

export type ViewingDirection = 'left-to-right' | 'right-to-left' | 'top-to-bottom' | 'bottom-to-top';

export interface ImageServiceRef {
  /** Base URI, without a trailing slash: info.json is `${id}/info.json`. */
  id: string;
  version: 2 | 3;
  /** Compliance level 0–2 when the profile says so. */
  level?: number;
  /** IIIF Auth 2.0 probe service, when the images are access-controlled (declared next to the service in the manifest). */
  probe?: ProbeService;
}

export interface Rendering {
  id: string;
  label: LanguageMap;
  format: string;
}

export interface ViewerCanvas {
  id: string;
  index: number;
  label: LanguageMap;
  width: number;
  height: number;
  behavior: string[];
  thumbnail?: string;
  service?: ImageServiceRef;
  renderings: Rendering[];
}

export interface MetadataPair {
  label: LanguageMap;
  value: LanguageMap;
}

export interface LinkRef {
  id: string;
  label: LanguageMap;
}

export interface Agent {
  label: LanguageMap;
  homepage: LinkRef[];
}

export interface ViewerManifest {
  id: string;
  label: LanguageMap;
  summary?: LanguageMap;
  metadata: MetadataPair[];
  requiredStatement?: MetadataPair;
  rights?: string;
  provider: Agent[];
  homepage: LinkRef[];
  viewingDirection: ViewingDirection;
  behavior: string[];
  /** Id of a SearchService2, when the manifest offers search inside. */
  searchService?: string;
  canvases: ViewerCanvas[];
  /** The table of contents (top-level Ranges of `structures`), each with the index of its first canvas. */
  contents: ContentsEntry[];
}

export interface ContentsEntry {
  label: LanguageMap;
  /** 0-based index of the entry's first canvas. */
  canvas: number;
}

export type ViewerErrorCode =
  | 'manifest-http'
  | 'manifest-network'
  | 'manifest-not-json'
  | 'presentation-2'
  | 'not-a-manifest'
  | 'no-manifest'
  | 'no-canvases'
  | 'no-image-service'
  | 'page-no-service'
  | 'image-service-failed'
  | 'tiles-failed'
  | 'page-out-of-range'
  | 'content-state-invalid'
  | 'search-failed';

export interface ViewerError {
  code: ViewerErrorCode;
  status?: number;
}

export type ManifestResult = { ok: true; manifest: ViewerManifest } | { ok: false; error: ViewerError };

// ---------------------------------------------------------------------------------------
// Guards (in json.ts, shared with auth.ts; re-exported for the modules that import them from here)

export { asArray, idOf, isObject, languageMap, typeOf } from './json.ts';

/** The region a SpecificResource's FragmentSelector names (`xywh=…`), if any of its selectors does. */
export function selectorRegion(resource: Json): Region | undefined {
  for (const sel of asArray(resource.selector)) {
    if (isObject(sel) && typeOf(sel) === 'FragmentSelector' && typeof sel.value === 'string') {
      const { xywh } = splitFragment(`#${sel.value}`);
      if (xywh) return xywh;
    }
  }
  return undefined;
}

function positive(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function isEmptyMap(map: LanguageMap): boolean {
  return Object.keys(map).length === 0;
}

function metadataPair(value: unknown): MetadataPair | undefined {
  if (!isObject(value)) return undefined;
  const pair = { label: languageMap(value.label), value: languageMap(value.value) };
  return isEmptyMap(pair.value) ? undefined : pair;
}

function linkRefs(value: unknown): LinkRef[] {
  const out: LinkRef[] = [];
  for (const item of asArray(value)) {
    const id = idOf(item);
    if (id && /^https?:\/\//i.test(id)) out.push({ id, label: isObject(item) ? languageMap(item.label) : {} });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Image services

function levelFromProfile(profile: unknown): number | undefined {
  for (const p of asArray(profile)) {
    if (typeof p !== 'string') continue;
    const m = /level([012])(\.json)?$/.exec(p);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** An Image API 2 or 3 service description, or undefined for anything else (auth, search, v1). */
export function imageServiceOf(value: unknown): ImageServiceRef | undefined {
  if (!isObject(value)) return undefined;
  const rawId = idOf(value);
  if (!rawId) return undefined;
  const type = typeOf(value);
  const hints = [...contextStrings(value['@context']), ...asArray(value.profile).filter((p): p is string => typeof p === 'string')];
  let version: 2 | 3 | undefined;
  if (type === 'ImageService3') version = 3;
  else if (type === 'ImageService2') version = 2;
  else if (hints.some((h) => h.includes('iiif.io/api/image/3'))) version = 3;
  else if (hints.some((h) => h.includes('iiif.io/api/image/2'))) version = 2;
  if (!version) return undefined;
  const level = levelFromProfile(value.profile);
  const id = rawId.replace(/\/info\.json$/, '').replace(/\/+$/, '');
  const ref: ImageServiceRef = level === undefined ? { id, version } : { id, version, level };
  const probe = probeServiceOf(value.service);
  if (probe) ref.probe = probe;
  return ref;
}

export function firstImageService(services: unknown): ImageServiceRef | undefined {
  // Prefer version 3 when a resource offers both.
  const found = asArray(services).map(imageServiceOf).filter((s): s is ImageServiceRef => s !== undefined);
  const chosen = found.find((s) => s.version === 3) ?? found[0];
  // The probe may be declared on the image itself, beside its image service (Auth 2.0 puts it on
  // the access-controlled resource; thukho does so because Mirador 4.0 fails on one inside).
  if (chosen && !chosen.probe) {
    const probe = probeServiceOf(services);
    if (probe) return { ...chosen, probe };
  }
  return chosen;
}

export function infoJsonUrl(service: ImageServiceRef): string {
  return `${service.id}/info.json`;
}

/** A small image of the whole page from an image service that can scale (level 1+). */
export function serviceThumbnail(service: ImageServiceRef): string | undefined {
  if (service.level === undefined || service.level < 1) return undefined;
  return `${service.id}/full/,150/0/default.jpg`;
}

// ---------------------------------------------------------------------------------------
// Canvases

/** The painting body of a canvas: first painting annotation, first item of a Choice. */
function paintingBody(canvas: Json): Json | undefined {
  for (const page of asArray(canvas.items)) {
    if (!isObject(page)) continue;
    for (const anno of asArray(page.items)) {
      if (!isObject(anno)) continue;
      const motivation = asArray(anno.motivation);
      if (motivation.length > 0 && !motivation.includes('painting')) continue;
      let body = asArray(anno.body)[0];
      if (isObject(body) && typeOf(body) === 'Choice') body = asArray(body.items)[0];
      if (isObject(body)) return body;
    }
  }
  return undefined;
}

function renderings(value: unknown): Rendering[] {
  const out: Rendering[] = [];
  for (const item of asArray(value)) {
    const id = idOf(item);
    if (!id || !isObject(item)) continue;
    out.push({ id, label: languageMap(item.label), format: str(item.format) ?? '' });
  }
  return out;
}

/** The first `rendering` that is an image (what the download button offers). */
export function imageRendering(canvas: ViewerCanvas): Rendering | undefined {
  return canvas.renderings.find((r) => r.format.toLowerCase().startsWith('image/'));
}

function parseCanvas(value: unknown, index: number, manifestThumbnail: string | undefined): ViewerCanvas | undefined {
  if (!isObject(value)) return undefined;
  const id = idOf(value);
  if (!id) return undefined;
  const body = paintingBody(value);
  const service = body ? firstImageService(body.service) : undefined;
  const width = positive(value.width) || (body ? positive(body.width) : 0);
  const height = positive(value.height) || (body ? positive(body.height) : 0);
  const thumbnail =
    idOf(asArray(value.thumbnail)[0]) ?? (index === 0 ? manifestThumbnail : undefined) ?? (service ? serviceThumbnail(service) : undefined);
  const canvas: ViewerCanvas = {
    id,
    index,
    label: languageMap(value.label),
    width,
    height,
    behavior: asArray(value.behavior).filter((b): b is string => typeof b === 'string'),
    renderings: renderings(value.rendering),
  };
  if (thumbnail) canvas.thumbnail = thumbnail;
  if (service) canvas.service = service;
  return canvas;
}

// ---------------------------------------------------------------------------------------
// Manifest

const P2_CONTEXT = 'iiif.io/api/presentation/2/context.json';
const P3_CONTEXT = 'iiif.io/api/presentation/3/context.json';
const DIRECTIONS: readonly ViewingDirection[] = ['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top'];

function searchServiceOf(services: unknown): string | undefined {
  for (const s of asArray(services)) {
    if (!isObject(s)) continue;
    const type = typeOf(s);
    const contexts = contextStrings(s['@context']);
    if (type === 'SearchService2' || contexts.some((c) => c.includes('iiif.io/api/search/2'))) {
      const id = idOf(s);
      if (id) return id;
    }
  }
  return undefined;
}

export function parseManifest(json: unknown): ManifestResult {
  const fail = (code: ViewerErrorCode): ManifestResult => ({ ok: false, error: { code } });
  if (!isObject(json)) return fail('not-a-manifest');
  const contexts = contextStrings(json['@context']);
  const type = typeOf(json);
  if (contexts.some((c) => c.includes(P2_CONTEXT)) || type === 'sc:Manifest') return fail('presentation-2');
  if (type !== 'Manifest') return fail('not-a-manifest');
  // A Presentation 3 manifest may omit @context only when embedded; a stray other context is not ours.
  if (contexts.length > 0 && !contexts.some((c) => c.includes(P3_CONTEXT))) return fail('not-a-manifest');
  const id = idOf(json);
  if (!id) return fail('not-a-manifest');

  const manifestThumbnail = idOf(asArray(json.thumbnail)[0]);
  const canvases: ViewerCanvas[] = [];
  for (const item of asArray(json.items)) {
    if (!isObject(item) || typeOf(item) !== 'Canvas') continue;
    const canvas = parseCanvas(item, canvases.length, manifestThumbnail);
    if (canvas) canvases.push(canvas);
  }
  if (canvases.length === 0) return fail('no-canvases');
  if (!canvases.some((c) => c.service)) return fail('no-image-service');

  const direction = str(json.viewingDirection);
  const manifest: ViewerManifest = {
    id,
    label: languageMap(json.label),
    metadata: asArray(json.metadata).map(metadataPair).filter((p): p is MetadataPair => p !== undefined),
    provider: asArray(json.provider)
      .filter(isObject)
      .map((p) => ({ label: languageMap(p.label), homepage: linkRefs(p.homepage) })),
    homepage: linkRefs(json.homepage),
    viewingDirection: DIRECTIONS.includes(direction as ViewingDirection) ? (direction as ViewingDirection) : 'left-to-right',
    behavior: asArray(json.behavior).filter((b): b is string => typeof b === 'string'),
    canvases,
    contents: parseContents(json.structures, canvases),
  };
  const summary = languageMap(json.summary);
  if (!isEmptyMap(summary)) manifest.summary = summary;
  const required = metadataPair(json.requiredStatement);
  if (required) manifest.requiredStatement = required;
  const rights = str(json.rights);
  if (rights && /^https?:\/\//i.test(rights)) manifest.rights = rights;
  const search = searchServiceOf(json.service);
  if (search) manifest.searchService = search;
  return { ok: true, manifest };
}

/** The first canvas a Range reaches (depth first through nested Ranges), by index, or -1. */
function firstCanvasOfRange(range: Record<string, unknown>, canvases: readonly ViewerCanvas[], depth = 0): number {
  if (depth > 10) return -1;
  for (const item of asArray(range.items)) {
    if (!isObject(item)) continue;
    if (typeOf(item) === 'Range') {
      const found = firstCanvasOfRange(item, canvases, depth + 1);
      if (found >= 0) return found;
      continue;
    }
    // A Canvas reference, or a SpecificResource whose source is one.
    const source = isObject(item.source) ? idOf(item.source) : str(item.source);
    const id = (typeOf(item) === 'SpecificResource' ? source : idOf(item)) ?? '';
    const bare = id.split('#')[0] ?? id;
    const index = canvases.findIndex((c) => c.id === bare);
    if (index >= 0) return index;
  }
  return -1;
}

/** Top-level Ranges of `structures` that lead to a canvas of this manifest; others are left out. */
export function parseContents(structures: unknown, canvases: readonly ViewerCanvas[]): ContentsEntry[] {
  const out: ContentsEntry[] = [];
  for (const range of asArray(structures)) {
    if (!isObject(range) || typeOf(range) !== 'Range') continue;
    const canvas = firstCanvasOfRange(range, canvases);
    if (canvas >= 0) out.push({ label: languageMap(range.label), canvas });
  }
  return out;
}

/** Index of the canvas with this id (fragment ignored), or -1. */
export function canvasIndexById(manifest: ViewerManifest, canvasId: string): number {
  const bare = canvasId.split('#')[0] ?? canvasId;
  return manifest.canvases.findIndex((c) => c.id === bare);
}

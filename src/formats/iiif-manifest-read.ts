import { z } from 'zod';
import type { Bilingual } from '../domain/errors.ts';

/**
 * Reading another institution's IIIF Presentation document (3.0, or 2.1 which most of the
 * world still serves) into one neutral shape for `thukho import-iiif`: the record
 * (label, summary, metadata pairs, rights, requiredStatement, reading direction) as language
 * maps, and per canvas in order the one image to fetch at full size.
 *
 * Only what an import uses is checked (zod, leniently: unknown properties are ignored, a
 * single value where the spec wants an array is accepted, as real manifests do); what is
 * missing or malformed is an IiifReadError with the reason in both languages.
 */

/** `{ "vi": ["…"], "none": ["…"] }`: the Presentation 3 shape, and what 2.x values become. */
export type LanguageMap = Record<string, string[]>;

export interface ImageSource {
  /** The URL fetched: the service's full-size request, or the painting body's id. */
  url: string;
  /** The Image API service the URL was made from (absent: the body id as given). */
  service?: { id: string; version: 2 | 3 };
}

export interface ReadCanvas {
  id: string;
  label?: LanguageMap;
  width?: number;
  height?: number;
  /** Absent when the canvas paints no image (audio, video, text): reported per canvas. */
  image?: ImageSource;
}

export interface ReadManifest {
  kind: 'manifest';
  version: 2 | 3;
  id: string;
  label: LanguageMap;
  summary?: LanguageMap;
  metadata: Array<{ label: LanguageMap; value: LanguageMap }>;
  requiredStatement?: { label: LanguageMap; value: LanguageMap };
  rights?: string;
  viewingDirection?: 'left-to-right' | 'right-to-left' | 'top-to-bottom' | 'bottom-to-top';
  behavior: string[];
  canvases: ReadCanvas[];
}

export interface ReadCollection {
  kind: 'collection';
  version: 2 | 3;
  id: string;
  label?: LanguageMap;
  /** Manifest ids in order, nested collections' manifests included when they are embedded. */
  manifests: string[];
  /** Nested collections given by reference only: to be fetched. */
  collections: string[];
}

export class IiifReadError extends Error {
  constructor(readonly messages: Bilingual) {
    super(`${messages.vi} / ${messages.en}`);
    this.name = 'IiifReadError';
  }
}

const P3_CONTEXT = 'http://iiif.io/api/presentation/3/context.json';
const P2_CONTEXT = 'http://iiif.io/api/presentation/2/context.json';

const oneOrMany = <T extends z.ZodTypeAny>(s: T) => z.union([s, z.array(s)]).transform((v) => (Array.isArray(v) ? v : [v]) as Array<z.infer<T>>);
const Url = z.string().url().max(4096);

// ---------------------------------------------------------------------------------------------
// Language maps

const P3Map = z.record(z.string().max(40), oneOrMany(z.string()));
const P2Value = z.union([
  z.string(),
  z.number().transform(String),
  z.object({ '@value': z.union([z.string(), z.number().transform(String)]), '@language': z.string().max(40).optional() }).passthrough(),
]);
const P2Text = oneOrMany(P2Value);

function fromP2(values: Array<z.infer<typeof P2Value>>): LanguageMap {
  const map: LanguageMap = {};
  for (const v of values) {
    const [lang, text] = typeof v === 'string' ? ['none', v] : [v['@language'] || 'none', v['@value']];
    (map[lang] ??= []).push(text);
  }
  return map;
}

/** A language map of either version, or undefined when there is none / it is not text. */
function textOf(raw: unknown, version: 2 | 3): LanguageMap | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (version === 3) {
    const m = P3Map.safeParse(raw);
    if (m.success) return clean(m.data);
  }
  // Some 3.0 producers still write plain strings; 2.x writes strings or @value objects.
  const t = P2Text.safeParse(raw);
  return t.success ? clean(fromP2(t.data)) : undefined;
}

function clean(map: LanguageMap): LanguageMap | undefined {
  const out: LanguageMap = {};
  for (const [lang, values] of Object.entries(map)) {
    // 2.x values may carry HTML (a small allowed subset); the record keeps the text.
    const texts = values.map((v) => stripHtml(v)).filter((v) => v.length > 0);
    if (texts.length) out[lang] = texts;
  }
  return Object.keys(out).length ? out : undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function stripHtml(s: string): string {
  const t = s.trim();
  // 3.0 marks HTML by a leading '<'; 2.x values may hold tags anywhere.
  if (!/<\/?[a-z][^>]*>/i.test(t)) return t.normalize('NFC');
  return t
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) =>
      e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? m),
    )
    .trim()
    .normalize('NFC');
}

// ---------------------------------------------------------------------------------------------
// Image services

const Service = z
  .object({
    id: z.string().optional(),
    '@id': z.string().optional(),
    type: z.string().optional(),
    '@type': z.string().optional(),
    '@context': oneOrMany(z.string()).optional(),
    profile: z.unknown().optional(),
  })
  .passthrough();

/** The Image API version of a service (2 or 3), or undefined for anything else (1.x, auth, search). */
function imageServiceOf(raw: unknown): { id: string; version: 2 | 3 } | undefined {
  const parsed = oneOrMany(z.unknown()).safeParse(raw);
  if (!parsed.success) return undefined;
  let found: { id: string; version: 2 | 3 } | undefined;
  for (const candidate of parsed.data) {
    const s = Service.safeParse(candidate);
    if (!s.success) continue;
    const id = s.data.id ?? s.data['@id'];
    if (!id || !Url.safeParse(id).success) continue;
    const type = s.data.type ?? s.data['@type'] ?? '';
    const contexts = s.data['@context'] ?? [];
    const profile = JSON.stringify(s.data.profile ?? '');
    const version =
      type === 'ImageService3' || contexts.some((c) => c.includes('iiif.io/api/image/3'))
        ? 3
        : type === 'ImageService2' || contexts.some((c) => c.includes('iiif.io/api/image/2')) || profile.includes('iiif.io/api/image/2')
          ? 2
          : undefined;
    // The newest API the image offers: a 3.0 and a 2.1 service side by side is common.
    if (version && (!found || version > found.version)) found = { id: id.replace(/\/+$/, ''), version };
  }
  return found;
}

/** The full-size request of an Image API service: `max` in 3.0, `full` in 2.x (both mean no scaling). */
export function fullImageUrl(service: { id: string; version: 2 | 3 }): string {
  return `${service.id}/full/${service.version === 3 ? 'max' : 'full'}/0/default.jpg`;
}

function sourceOf(body: unknown): ImageSource | undefined {
  const b = z
    .object({ id: z.string().optional(), '@id': z.string().optional(), type: z.string().optional(), '@type': z.string().optional(), service: z.unknown().optional(), items: z.array(z.unknown()).optional(), default: z.unknown().optional() })
    .passthrough()
    .safeParse(body);
  if (!b.success) return undefined;
  const type = b.data.type ?? b.data['@type'];
  // A Choice (3.0) or oa:Choice (2.x): its first item / default is what a viewer shows first.
  if (type === 'Choice' || type === 'oa:Choice') return sourceOf(b.data.items?.[0] ?? b.data.default);
  const service = imageServiceOf(b.data.service);
  if (service) return { url: fullImageUrl(service), service };
  const id = b.data.id ?? b.data['@id'];
  if (type && !/image/i.test(type)) return undefined;
  return id && Url.safeParse(id).success ? { url: id } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Documents

const Dimension = z.coerce.number().int().positive().optional().catch(undefined);

const P3Canvas = z
  .object({
    id: z.string(),
    type: z.literal('Canvas'),
    label: z.unknown().optional(),
    width: Dimension,
    height: Dimension,
    items: z.array(z.object({ items: z.array(z.object({ motivation: oneOrMany(z.string()).optional(), body: z.unknown() }).passthrough()).optional() }).passthrough()).optional(),
  })
  .passthrough();

const P3Manifest = z
  .object({
    id: Url,
    type: z.literal('Manifest'),
    label: z.unknown().optional(),
    summary: z.unknown().optional(),
    metadata: z.array(z.object({ label: z.unknown(), value: z.unknown() }).passthrough()).optional().catch([]),
    requiredStatement: z.object({ label: z.unknown(), value: z.unknown() }).passthrough().optional().catch(undefined),
    rights: z.string().optional().catch(undefined),
    viewingDirection: z.enum(['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top']).optional().catch(undefined),
    behavior: oneOrMany(z.string()).optional().catch(undefined),
    items: z.array(z.unknown()),
  })
  .passthrough();

const P2Canvas = z
  .object({
    '@id': z.string(),
    '@type': z.literal('sc:Canvas'),
    label: z.unknown().optional(),
    width: Dimension,
    height: Dimension,
    images: z.array(z.object({ motivation: z.string().optional(), resource: z.unknown() }).passthrough()).optional(),
  })
  .passthrough();

const P2Manifest = z
  .object({
    '@id': Url,
    '@type': z.literal('sc:Manifest'),
    label: z.unknown().optional(),
    description: z.unknown().optional(),
    metadata: z.array(z.object({ label: z.unknown(), value: z.unknown() }).passthrough()).optional().catch([]),
    attribution: z.unknown().optional(),
    license: oneOrMany(z.string()).optional().catch(undefined),
    viewingDirection: z.enum(['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top']).optional().catch(undefined),
    viewingHint: z.string().optional().catch(undefined),
    sequences: z.array(z.object({ canvases: z.array(z.unknown()).optional() }).passthrough()).min(1),
  })
  .passthrough();

const P3Collection = z.object({ id: Url, type: z.literal('Collection'), label: z.unknown().optional(), items: z.array(z.object({ id: Url, type: z.string() }).passthrough()) }).passthrough();
const P2Collection = z
  .object({
    '@id': Url,
    '@type': z.literal('sc:Collection'),
    label: z.unknown().optional(),
    manifests: z.array(z.object({ '@id': Url }).passthrough()).optional(),
    collections: z.array(z.object({ '@id': Url }).passthrough()).optional(),
    members: z.array(z.object({ '@id': Url, '@type': z.string() }).passthrough()).optional(),
  })
  .passthrough();

function zodWhy(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(gốc / root)'}: ${i.message}`)
    .join('; ');
}

function refuse(vi: string, en: string): never {
  throw new IiifReadError({ vi, en });
}

function versionOf(json: Record<string, unknown>): 2 | 3 | undefined {
  const contexts = oneOrMany(z.string()).safeParse(json['@context']);
  const list = contexts.success ? contexts.data : [];
  if (list.includes(P3_CONTEXT) || (typeof json.type === 'string' && typeof json.id === 'string')) return 3;
  if (list.includes(P2_CONTEXT) || typeof json['@type'] === 'string') return 2;
  return undefined;
}

/** A Presentation 2.x or 3.0 manifest or collection, or an IiifReadError saying why not. */
export function readIiifDocument(json: unknown): ReadManifest | ReadCollection {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    refuse('tài liệu không phải một đối tượng JSON', 'the document is not a JSON object');
  }
  const doc = json as Record<string, unknown>;
  const version = versionOf(doc);
  const type = String(doc.type ?? doc['@type'] ?? '');
  if (!version) refuse('không phải tài liệu IIIF Presentation (thiếu @context/type)', 'not a IIIF Presentation document (no @context/type)');
  if (version === 3 && type === 'Collection') return readP3Collection(doc);
  if (version === 2 && type === 'sc:Collection') return readP2Collection(doc);
  if (version === 3 && type === 'Manifest') return readP3(doc);
  if (version === 2 && type === 'sc:Manifest') return readP2(doc);
  return refuse(`tài liệu IIIF loại "${type.slice(0, 40)}", không phải Manifest hay Collection`, `a IIIF "${type.slice(0, 40)}", not a Manifest or Collection`);
}

function requireLabel(label: LanguageMap | undefined): LanguageMap {
  return label ?? refuse('manifest không có nhãn (label)', 'the manifest has no label');
}

function readP3(doc: Record<string, unknown>): ReadManifest {
  const m = P3Manifest.safeParse(doc);
  if (!m.success) refuse(`manifest Presentation 3 không hợp lệ: ${zodWhy(m.error)}`, `invalid Presentation 3 manifest: ${zodWhy(m.error)}`);
  const canvases: ReadCanvas[] = m.data.items.map((raw, i) => {
    const c = P3Canvas.safeParse(raw);
    if (!c.success) refuse(`items[${i}] không phải Canvas: ${zodWhy(c.error)}`, `items[${i}] is not a Canvas: ${zodWhy(c.error)}`);
    const painting = (c.data.items ?? []).flatMap((page) => page.items ?? []).find((a) => !a.motivation || a.motivation.includes('painting'));
    const bodies = painting ? oneOrMany(z.unknown()).parse(painting.body ?? []) : [];
    const label = textOf(c.data.label, 3);
    const image = bodies.map(sourceOf).find(Boolean);
    return { id: c.data.id, ...(label ? { label } : {}), ...dims(c.data), ...(image ? { image } : {}) };
  });
  const summary = textOf(m.data.summary, 3);
  const required = m.data.requiredStatement && pair(m.data.requiredStatement, 3);
  return {
    kind: 'manifest',
    version: 3,
    id: m.data.id,
    label: requireLabel(textOf(m.data.label, 3)),
    ...(summary ? { summary } : {}),
    metadata: (m.data.metadata ?? []).map((p) => pair(p, 3)).filter((p): p is NonNullable<typeof p> => !!p),
    ...(required ? { requiredStatement: required } : {}),
    ...(m.data.rights ? { rights: m.data.rights } : {}),
    ...(m.data.viewingDirection ? { viewingDirection: m.data.viewingDirection } : {}),
    behavior: m.data.behavior ?? [],
    canvases,
  };
}

function readP2(doc: Record<string, unknown>): ReadManifest {
  const m = P2Manifest.safeParse(doc);
  if (!m.success) refuse(`manifest Presentation 2 không hợp lệ: ${zodWhy(m.error)}`, `invalid Presentation 2 manifest: ${zodWhy(m.error)}`);
  // The first sequence is the default order (2.1 §5.3); others are alternatives.
  const canvases: ReadCanvas[] = (m.data.sequences[0]?.canvases ?? []).map((raw, i) => {
    const c = P2Canvas.safeParse(raw);
    if (!c.success) refuse(`canvases[${i}] không phải sc:Canvas: ${zodWhy(c.error)}`, `canvases[${i}] is not an sc:Canvas: ${zodWhy(c.error)}`);
    const annotation = (c.data.images ?? []).find((a) => !a.motivation || a.motivation === 'sc:painting');
    const label = textOf(c.data.label, 2);
    const image = annotation ? sourceOf(annotation.resource) : undefined;
    return { id: c.data['@id'], ...(label ? { label } : {}), ...dims(c.data), ...(image ? { image } : {}) };
  });
  const summary = textOf(m.data.description, 2);
  const attribution = textOf(m.data.attribution, 2);
  const rights = (m.data.license ?? []).find((l) => Url.safeParse(l).success);
  const behavior = m.data.viewingHint && ['paged', 'individuals', 'continuous'].includes(m.data.viewingHint) ? [m.data.viewingHint] : [];
  return {
    kind: 'manifest',
    version: 2,
    id: m.data['@id'],
    label: requireLabel(textOf(m.data.label, 2)),
    ...(summary ? { summary } : {}),
    metadata: (m.data.metadata ?? []).map((p) => pair(p, 2)).filter((p): p is NonNullable<typeof p> => !!p),
    // 2.x `attribution` is what 3.0 made requiredStatement (Presentation 3 §3.3.1 upgrade notes).
    ...(attribution ? { requiredStatement: { label: { vi: ['Ghi nhận'], en: ['Attribution'] }, value: attribution } } : {}),
    ...(rights ? { rights } : {}),
    ...(m.data.viewingDirection ? { viewingDirection: m.data.viewingDirection } : {}),
    behavior,
    canvases,
  };
}

function dims(c: { width?: number | undefined; height?: number | undefined }): { width?: number; height?: number } {
  return { ...(c.width ? { width: c.width } : {}), ...(c.height ? { height: c.height } : {}) };
}

function pair(p: { label: unknown; value: unknown }, version: 2 | 3): { label: LanguageMap; value: LanguageMap } | undefined {
  const label = textOf(p.label, version);
  const value = textOf(p.value, version);
  return label && value ? { label, value } : undefined;
}

function readP3Collection(doc: Record<string, unknown>): ReadCollection {
  const c = P3Collection.safeParse(doc);
  if (!c.success) refuse(`Collection Presentation 3 không hợp lệ: ${zodWhy(c.error)}`, `invalid Presentation 3 Collection: ${zodWhy(c.error)}`);
  const label = textOf(c.data.label, 3);
  return {
    kind: 'collection',
    version: 3,
    id: c.data.id,
    ...(label ? { label } : {}),
    manifests: c.data.items.filter((i) => i.type === 'Manifest').map((i) => i.id),
    collections: c.data.items.filter((i) => i.type === 'Collection').map((i) => i.id),
  };
}

function readP2Collection(doc: Record<string, unknown>): ReadCollection {
  const c = P2Collection.safeParse(doc);
  if (!c.success) refuse(`Collection Presentation 2 không hợp lệ: ${zodWhy(c.error)}`, `invalid Presentation 2 Collection: ${zodWhy(c.error)}`);
  const members = c.data.members ?? [];
  const label = textOf(c.data.label, 2);
  return {
    kind: 'collection',
    version: 2,
    id: c.data['@id'],
    ...(label ? { label } : {}),
    manifests: [...(c.data.manifests ?? []).map((m) => m['@id']), ...members.filter((m) => m['@type'] === 'sc:Manifest').map((m) => m['@id'])],
    collections: [...(c.data.collections ?? []).map((m) => m['@id']), ...members.filter((m) => m['@type'] === 'sc:Collection').map((m) => m['@id'])],
  };
}

/** Every value of a map, the preferred languages' first. */
export function valuesOf(map: LanguageMap | undefined, prefer: readonly string[] = ['vi', 'none']): string[] {
  if (!map) return [];
  const keys = Object.keys(map).sort((a, b) => rank(a, prefer) - rank(b, prefer));
  return keys.flatMap((k) => map[k] ?? []);
}

function rank(lang: string, prefer: readonly string[]): number {
  const i = prefer.findIndex((p) => lang === p || lang.startsWith(`${p}-`));
  return i === -1 ? prefer.length : i;
}

import { createRequire } from 'node:module';
// iiif-builder 2 ships its types at dist/index.d.ts but its package.json "exports" does not
// name them, so under NodeNext the package has no types. Type it from the file, load the
// CommonJS build (its "require" export), and keep `any` out of this module.
import type { IIIFBuilder as IIIFBuilderClass } from '../../node_modules/iiif-builder/dist/index.js';
import { FIELD_LABELS, type Metadata } from '../domain/metadata.ts';
import type { DerivativeInfo } from '../domain/events.ts';
import type { ObjectState, StoredFile } from '../domain/object.ts';
import { pageImageId } from '../domain/page-image.ts';
import { rangeCanvases, readingPages } from '../domain/page-structure.ts';
import { AUTH2_CONTEXT, loginServiceV1, needsAuthServices, probeService } from './auth-services.ts';

/**
 * IIIF Presentation 3 documents for thukho objects and collections: pure functions, no I/O.
 *
 * Manifests are assembled with iiif-builder (its vault normalises the nested Canvas →
 * AnnotationPage → Annotation structure for us); the few properties its builder cannot
 * express (`provider`, `partOf`, `navDate`) are added to the serialised document.
 * Collection documents are flat lists of references and are built per request, so they are
 * written directly: the builder's vault costs ~0.13 ms per item, 130 ms for a 1000-item page.
 *
 * Language of values: cataloguers write Vietnamese, but Han-Nôm titles and colophons are
 * Han characters that are not "vi"; such values go under `none` (the spec's value for text
 * with no single language), so that viewers never hide them behind a language switch.
 */
const { IIIFBuilder } = createRequire(import.meta.url)('iiif-builder') as { IIIFBuilder: typeof IIIFBuilderClass };

export const PRESENTATION_3_CONTEXT = 'http://iiif.io/api/presentation/3/context.json';

/** A IIIF language map: language tag (or `none`) → values. */
export type LanguageMap = Record<string, string[]>;

/** An object that has been registered (active or withdrawn): what manifests are made from. */
export type PresentableObject = Exclude<ObjectState, { status: 'absent' }>;

export interface ImageService {
  id: string;
  type: 'ImageService3';
  profile: 'level2';
}

export interface ImageResource {
  id: string;
  type: 'Image';
  format: 'image/jpeg';
  width: number;
  height: number;
  service: ImageService[];
}

export type ViewingDirection = NonNullable<Metadata['viewingDirection']>;
export type Behavior = NonNullable<Metadata['behavior']>;

// ---------------------------------------------------------------------------------------
// Addresses. Ids are [a-z0-9_-] (see Id in metadata.ts) and page image ids add "~" (see
// page-image.ts), unreserved in URLs: none needs escaping.

export const manifestUrl = (base: string, objectId: string): string => `${base}/iiif/manifest/${objectId}`;
export const canvasUrl = (base: string, objectId: string, fileId: string): string => `${manifestUrl(base, objectId)}/canvas/${fileId}`;
export const imageServiceUrl = (base: string, fileId: string): string => `${base}/iiif/3/${fileId}`;
export const collectionUrl = (base: string, id: string): string => `${base}/iiif/collection/${id}`;
export const collectionPageUrl = (base: string, id: string, page: number): string => `${collectionUrl(base, id)}/page/${page}`;
/** A canvas's page text as a supplementing AnnotationPage. */
export const textPageUrl = (base: string, objectId: string, fileId: string): string => `${base}/iiif/text/${objectId}/${fileId}`;
/** The file names a page's current OCR reading is served under, by output. */
export const OCR_FILE_NAMES = { alto: 'alto.xml', hocr: 'hocr.html', text: 'text.txt' } as const;
export type OcrFile = keyof typeof OCR_FILE_NAMES;
/** One output of a page's current OCR reading. */
export const ocrOutputUrl = (base: string, objectId: string, imageId: string, file: OcrFile): string =>
  `${base}/iiif/ocr/${objectId}/${imageId}/${OCR_FILE_NAMES[file]}`;
/** Content Search 2 inside one work. */
export const searchServiceUrl = (base: string, objectId: string): string => `${base}/iiif/search/${objectId}`;

// ---------------------------------------------------------------------------------------
// Language maps

/** Unicode Han script: CJK ideographs incl. the extension blocks where most Nôm characters live. */
const HAN = /\p{Script=Han}/u;

export function hasHan(text: string): boolean {
  return HAN.test(text);
}

/**
 * IIIF clients treat a value that starts with "<" and ends with ">" as HTML. Cataloguers do
 * write "<Không rõ>" for "unknown"; wrapped in a span and escaped, it still reads as typed.
 */
function literal(text: string): string {
  const t = text.trim();
  if (!(t.startsWith('<') && t.endsWith('>'))) return text;
  return `<span>${t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</span>`;
}

const LATIN = /\p{Script=Latin}/u;

/**
 * The BCP 47 tag of one catalogued value, from its script and the work's languages (ISO 639-3
 * codes): Han script is Nôm (`vi-Hani`) in a work catalogued as Vietnamese, else Hán văn
 * (`lzh`, Literary Chinese, what most Han-script holdings of a Vietnamese library are); text
 * without Han characters is Vietnamese. A value written in both scripts has no one language:
 * `none`.
 */
export function valueTag(value: string, languages: readonly string[] = []): string {
  if (!hasHan(value)) return 'vi';
  if (LATIN.test(value)) return 'none';
  return languages.includes('vie') ? 'vi-Hani' : 'lzh';
}

/**
 * Cataloguers' values as language maps, one per tag, in the order the tags first appear.
 *
 * Why not one map with several keys: Presentation 3 §4.4 has a client show the values of ONE
 * language — the one that best matches its interface language, else `none`, else any one — and
 * Mirador 4 (manifesto) and our reading room do exactly that. `{"lzh": ["金雲翹新傳"], "vi":
 * ["Truyện Kiều"]}` shows only the Vietnamese in a Vietnamese interface and only one of them
 * in an English one. A map with a single key is shown whatever the interface language, so
 * each script keeps its true tag and every viewer shows every value.
 */
export function textMaps(values: string | readonly string[], languages: readonly string[] = []): LanguageMap[] {
  const groups = new Map<string, string[]>();
  for (const value of typeof values === 'string' ? [values] : values) {
    const tag = valueTag(value, languages);
    groups.set(tag, [...(groups.get(tag) ?? []), literal(value)]);
  }
  return [...groups].map(([tag, vs]) => ({ [tag]: vs }));
}

/**
 * Cataloguers' text as one language map (see textMaps). Values in more than one language go
 * under `none` together: §4.4 has every client show all the values of a map whose only key
 * is `none`, and one tag would be untrue of some of them.
 */
export function textMap(values: string | readonly string[], languages: readonly string[] = []): LanguageMap {
  const maps = textMaps(values, languages);
  if (maps.length <= 1) return maps[0] ?? {};
  return { none: maps.flatMap((m) => Object.values(m).flat()) };
}

/** Values that belong to no language (identifiers, URIs, codes). */
export function noneMap(value: string): LanguageMap {
  return { none: [literal(value)] };
}

export function bilingual(vi: string, en: string): LanguageMap {
  return { vi: [vi], en: [en] };
}

/**
 * ISO 639-3 codes the library's catalogue uses, named in both interface languages: the one
 * table for showing a code (languageNames) and reading a name back (languageOfName, import-iiif).
 */
export const LANGUAGE_NAMES: Readonly<Record<string, { readonly vi: string; readonly en: string }>> = {
  vie: { vi: 'Tiếng Việt', en: 'Vietnamese' },
  lzh: { vi: 'Hán văn', en: 'Literary Chinese' },
  zho: { vi: 'Tiếng Trung', en: 'Chinese' },
  cmn: { vi: 'Tiếng Quan thoại', en: 'Mandarin Chinese' },
  yue: { vi: 'Tiếng Quảng Đông', en: 'Cantonese' },
  fra: { vi: 'Tiếng Pháp', en: 'French' },
  eng: { vi: 'Tiếng Anh', en: 'English' },
  lat: { vi: 'Tiếng La-tinh', en: 'Latin' },
  por: { vi: 'Tiếng Bồ Đào Nha', en: 'Portuguese' },
  jpn: { vi: 'Tiếng Nhật', en: 'Japanese' },
  kor: { vi: 'Tiếng Hàn', en: 'Korean' },
  khm: { vi: 'Tiếng Khmer', en: 'Khmer' },
  lao: { vi: 'Tiếng Lào', en: 'Lao' },
  tha: { vi: 'Tiếng Thái', en: 'Thai' },
  cja: { vi: 'Tiếng Chăm', en: 'Cham' },
};

/** Language names for display; an unknown code is shown as itself in both languages. */
export function languageNames(codes: readonly string[]): LanguageMap {
  return {
    vi: codes.map((c) => LANGUAGE_NAMES[c]?.vi ?? c),
    en: codes.map((c) => LANGUAGE_NAMES[c]?.en ?? c),
  };
}

/** The code of a language named as languageNames names it, in either language and any case. */
export function languageOfName(name: string): string | undefined {
  const v = name.trim().toLowerCase();
  return Object.entries(LANGUAGE_NAMES).find(([, n]) => n.vi.toLowerCase() === v || n.en.toLowerCase() === v)?.[0];
}

// ---------------------------------------------------------------------------------------
// Images, canvases, thumbnails

/** A file with pixel dimensions from ingest: an image master. */
export type ImageFile = StoredFile & { image: NonNullable<StoredFile['image']> };

/** One canvas: a page of an image master or a PDF, named by its image id (the file id for page 1). */
export interface PageImage {
  imageId: string;
  width: number;
  height: number;
  derivative?: DerivativeInfo;
}

/** Page 1 of an image file: the file itself, sized by ingest. */
export function firstPageOf(file: ImageFile): PageImage {
  return { imageId: file.fileId, width: file.image.width, height: file.image.height, ...(file.derivative ? { derivative: file.derivative } : {}) };
}

/**
 * Page 1 of a file shown as pages: an image master's always (sized by ingest); a PDF's once
 * its derivative exists, since a PDF page has pixels only once it is drawn.
 */
function firstPage(file: StoredFile): PageImage | undefined {
  if (file.image) return firstPageOf({ ...file, image: file.image });
  if (file.pdf && file.derivative) return { imageId: file.fileId, width: file.derivative.width, height: file.derivative.height, derivative: file.derivative };
  return undefined;
}

/**
 * Every page of every image master and PDF, in reading order (the files' sequence, then page
 * order): a file's page 1, then its later pages whose derivatives exist (their size is known
 * only from those; a page that failed has no canvas, and its DerivativeFailed says why).
 */
export function pageImages(object: { files: readonly StoredFile[] }): PageImage[] {
  return object.files
    .filter((f) => f.image !== undefined || f.pdf !== undefined)
    .sort((a, b) => a.sequence - b.sequence)
    .flatMap((f) => {
      const first = firstPage(f);
      return [
        ...(first ? [first] : []),
        ...(f.laterPages ?? []).flatMap((p) =>
          p.derivative ? [{ imageId: pageImageId(f.fileId, p.page), width: p.derivative.width, height: p.derivative.height, derivative: p.derivative }] : [],
        ),
      ];
    });
}

/** The PDF files of a work, in sequence order: offered whole, as the originals they are. */
export function pdfOriginals(object: { files: readonly StoredFile[] }): StoredFile[] {
  return object.files.filter((f) => f.pdf !== undefined).sort((a, b) => a.sequence - b.sequence);
}

/** Where an original file is downloaded, as stored (the same access rules as the work). */
export const originalFileUrl = (base: string, objectId: string, fileId: string): string => `${base}/api/objects/${objectId}/files/${fileId}/content`;

const THUMBNAIL_MIN_WIDTH = 150;
const THUMBNAIL_BOX = 200;

/**
 * The thumbnail size of a file: the smallest pre-cut size at least 150 px wide (served as a
 * file, no decode), or without derivatives the image fitted into 200×200. Never larger than
 * the image: Image API 3 refuses upscaling without "^".
 */
export function thumbnailSize(image: PageImage): { width: number; height: number } {
  const sizes = [...(image.derivative?.sizes ?? [])].sort((a, b) => a.width - b.width);
  const wide = sizes.find((s) => s.width >= THUMBNAIL_MIN_WIDTH) ?? sizes[sizes.length - 1];
  if (wide) return { width: wide.width, height: wide.height };
  const { width, height } = image;
  const scale = Math.min(THUMBNAIL_BOX / width, THUMBNAIL_BOX / height, 1);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export function imageService(base: string, fileId: string): ImageService {
  return { id: imageServiceUrl(base, fileId), type: 'ImageService3', profile: 'level2' };
}

export function thumbnailFor(base: string, image: PageImage): ImageResource {
  const { width, height } = thumbnailSize(image);
  // The canonical Image API 3 size of the whole image is "max"; pre-cut files are named so.
  const full = width === image.width && height === image.height;
  return {
    id: `${imageServiceUrl(base, image.imageId)}/full/${full ? 'max' : `${width},${height}`}/0/default.jpg`,
    type: 'Image',
    format: 'image/jpeg',
    width,
    height,
    service: [imageService(base, image.imageId)],
  };
}

// ---------------------------------------------------------------------------------------
// Descriptive properties

/** The twelve RightsStatements.org statements (all version 1.0); a typo must not become a `rights` URI. */
const RIGHTS_STATEMENTS =
  /^https?:\/\/rightsstatements\.org\/(vocab|page)\/(InC|InC-OW-EU|InC-EDU|InC-NC|InC-RUU|NoC-CR|NoC-NC|NoC-OKLR|NoC-US|CNE|UND|NKC)\/(1\.0)\/?(\?.*)?$/;
const CREATIVE_COMMONS = /^https?:\/\/creativecommons\.org\/(licenses\/[a-z-]+\/\d\.\d(\/[a-z]{2})?|publicdomain\/(zero|mark)\/1\.0)\/?$/;

/**
 * `rights` must be a Creative Commons or RightsStatements.org URI (Presentation 3 §3.3.1);
 * anything else (a local licence page, a CC deed or legalcode address) stays in `metadata` only. RightsStatements.org URIs are http:// and name the
 * /vocab/ form; a pasted https:// or /page/ address is normalised to it.
 */
export function rightsUri(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const rs = RIGHTS_STATEMENTS.exec(raw);
  if (rs) return `http://rightsstatements.org/vocab/${rs[2]}/${rs[3]}/`;
  // Creative Commons URIs are kept as given (http or https), with the trailing slash they are defined with.
  if (CREATIVE_COMMONS.test(raw)) return raw.endsWith('/') ? raw : `${raw}/`;
  return undefined;
}

/** Han-Nôm books (Literary Chinese) read right to left unless the cataloguer said otherwise. */
export function viewingDirectionOf(metadata: Metadata): ViewingDirection | undefined {
  if (metadata.viewingDirection) return metadata.viewingDirection;
  return metadata.language?.includes('lzh') ? 'right-to-left' : undefined;
}

/** The cataloguer's choice, else one leaf is an individual and several pages are a book. */
export function behaviorOf(metadata: Metadata, canvases: number): Behavior[] {
  if (metadata.behavior) return [metadata.behavior];
  return [canvases >= 2 ? 'paged' : 'individuals'];
}

/** XSD dateTime of 1 January of the first year, for timeline viewers (years 1–9999 only). */
export function navDateOf(metadata: Metadata): string | undefined {
  const y = metadata.yearFrom;
  if (y === undefined || y < 1 || y > 9999) return undefined;
  return `${String(y).padStart(4, '0')}-01-01T00:00:00Z`;
}

export interface MetadataEntry {
  label: LanguageMap;
  value: LanguageMap;
}

type TextField = 'title' | 'creator' | 'date' | 'subject' | 'description' | 'type' | 'format' | 'extent' | 'source';

/** Display order of the Dublin Core elements. */
const TEXT_FIELDS = [
  'title', 'alternativeTitle', 'creator', 'date', 'language', 'subject', 'description',
  'type', 'format', 'extent', 'identifier', 'source', 'rights',
] as const satisfies ReadonlyArray<TextField | 'alternativeTitle' | 'language' | 'identifier' | 'rights'>;

/** A field's values: one map per language (alternative titles in two scripts are two pairs, see textMaps). */
function entryValues(metadata: Metadata, field: (typeof TEXT_FIELDS)[number]): LanguageMap[] {
  const languages = metadata.language ?? [];
  switch (field) {
    case 'alternativeTitle':
      return metadata.alternativeTitle?.length ? textMaps(metadata.alternativeTitle, languages) : [];
    case 'language':
    case 'identifier':
    case 'rights': {
      const v = entryValue(metadata, field);
      return v ? [v] : [];
    }
    default: {
      const v = metadata[field];
      return v ? [textMap(v, languages)] : [];
    }
  }
}

function entryValue(metadata: Metadata, field: 'language' | 'identifier' | 'rights'): LanguageMap | undefined {
  switch (field) {
    case 'language':
      return metadata.language?.length ? languageNames(metadata.language) : undefined;
    case 'identifier':
    case 'rights': {
      const v = metadata[field];
      return v ? noneMap(v) : undefined;
    }
  }
}

/** Dublin Core as IIIF `metadata` pairs, plus the collection by title. */
export function metadataEntries(metadata: Metadata, collectionTitle?: string): MetadataEntry[] {
  const entries: MetadataEntry[] = [];
  for (const field of TEXT_FIELDS) {
    for (const value of entryValues(metadata, field)) entries.push({ label: bilingual(FIELD_LABELS[field].vi, FIELD_LABELS[field].en), value });
  }
  if (collectionTitle) entries.push({ label: bilingual(FIELD_LABELS.collection.vi, FIELD_LABELS.collection.en), value: textMap(collectionTitle) });
  return entries;
}

export const TOP_COLLECTION_LABEL: LanguageMap = bilingual('Tất cả bộ sưu tập', 'All collections');

// ---------------------------------------------------------------------------------------
// Manifest

export interface ManifestInput {
  /** Public base URL without a trailing slash (or a placeholder replaced at serve time). */
  base: string;
  objectId: string;
  state: PresentableObject;
  collection?: { id: string; title: string };
  institution: string;
  /** The library holding the work, when it has a record; else the institution is. */
  holder?: ManifestHolder;
  /** Page images with text: their canvases link it, and the work offers Content Search. */
  textPages?: ReadonlySet<string>;
  /** Page images with a current OCR reading: their canvases link its ALTO. */
  ocrPages?: ReadonlySet<string>;
}

const MANIFEST_KEY_ORDER = [
  '@context', 'id', 'type', 'label', 'summary', 'metadata', 'requiredStatement', 'rights', 'navDate', 'provider',
  'thumbnail', 'viewingDirection', 'behavior', 'homepage', 'rendering', 'seeAlso', 'service', 'partOf', 'items',
  'structures',
];

/** Same document, keys in the order people reading the JSON expect (unknown keys last). */
function ordered(doc: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of order) if (doc[key] !== undefined) out[key] = doc[key];
  for (const [key, value] of Object.entries(doc)) if (!(key in out) && value !== undefined) out[key] = value;
  return out;
}

function pageLabel(n: number): LanguageMap {
  return bilingual(`Trang ${n}`, `Page ${n}`);
}

/** A canvas's label: the one the cataloguer gave the page ("tờ 1a"), else its number. */
export function canvasLabel(state: Pick<PresentableObject, 'pageLabels' | 'metadata'>, imageId: string, index: number): LanguageMap {
  const given = state.pageLabels?.[imageId];
  return given ? textMap(given, state.metadata.language) : pageLabel(index + 1);
}

export const rangeUrl = (base: string, objectId: string, n: number): string => `${manifestUrl(base, objectId)}/range/${n}`;

/**
 * The table of contents as Presentation 3 `structures`: one Range per entry, its items the
 * canvases from the entry's first page to the next entry's (§3.4: a Range's items reference
 * Canvases by id and type). Entries whose pages have no canvas yet are left out.
 */
export function structuresOf(base: string, objectId: string, state: PresentableObject, files: readonly PageImage[]): Record<string, unknown>[] {
  if (!state.structure?.length) return [];
  const ranges = rangeCanvases(state.structure, readingPages(state.files), files.map((f) => f.imageId));
  return ranges.map((r, i) => ({
    id: rangeUrl(base, objectId, i + 1),
    type: 'Range',
    label: textMap(r.label, state.metadata.language),
    items: r.imageIds.map((imageId) => ({ id: canvasUrl(base, objectId, imageId), type: 'Canvas' })),
  }));
}

/**
 * A registered library holding a work, as its manifest names it: `homepage` is its own web
 * site (its contact URL), `logo` an absolute URL (a site path is made absolute by the caller).
 */
export interface ManifestHolder {
  id: string;
  name: { vi: string; en?: string };
  code?: string;
  homepage?: string;
  logo?: string;
}

function holderName(holder: ManifestHolder): LanguageMap {
  return holder.name.en ? { vi: [literal(holder.name.vi)], en: [literal(holder.name.en)] } : { vi: [literal(holder.name.vi)] };
}

const LOGO_FORMATS: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp' };

/** `requiredStatement`: who holds the work ("Held by"), with the library's code when it has one. */
export function heldByStatement(holder: string | ManifestHolder): Record<string, unknown> {
  const label = bilingual('Nơi lưu giữ', 'Held by');
  if (typeof holder === 'string') return { label, value: textMap(holder) };
  const name = holderName(holder);
  const value = holder.code
    ? Object.fromEntries(Object.entries(name).map(([tag, [v = '']]) => [tag, [`${v} (${literal(holder.code ?? '')})`]]))
    : name;
  return { label, value };
}

/**
 * `provider`: the institution (this site) for the home library without a record of its own;
 * else the holding library as an Agent named by its page on this site, with its own homepage
 * and logo when it has them.
 */
export function providerOf(base: string, holder: string | ManifestHolder): Record<string, unknown>[] {
  if (typeof holder !== 'string') {
    const label = holderName(holder);
    const format = holder.logo ? LOGO_FORMATS[/\.([a-z0-9]+)(?:[?#].*)?$/i.exec(holder.logo)?.[1]?.toLowerCase() ?? ''] : undefined;
    return [
      {
        id: `${base}/libraries/${holder.id}`,
        type: 'Agent',
        label,
        ...(holder.homepage ? { homepage: [{ id: holder.homepage, type: 'Text', label, format: 'text/html' }] } : {}),
        ...(holder.logo ? { logo: [{ id: holder.logo, type: 'Image', ...(format ? { format } : {}) }] } : {}),
      },
    ];
  }
  const institution = holder;
  const name = textMap(institution);
  return [
    {
      id: `${base}/`,
      type: 'Agent',
      label: name,
      homepage: [{ id: `${base}/`, type: 'Text', label: name, format: 'text/html' }],
    },
  ];
}

function partOfFor(base: string, collection: ManifestInput['collection']): Record<string, unknown>[] {
  return collection
    ? [{ id: collectionUrl(base, collection.id), type: 'Collection', label: textMap(collection.title) }]
    : [{ id: collectionUrl(base, 'top'), type: 'Collection', label: TOP_COLLECTION_LABEL }];
}

/**
 * The Presentation 3 manifest of an object: one Canvas per page image in reading order,
 * each painted by the full image with its Image API 3 service. An object without images
 * yields an empty `items`, which the spec forbids: callers must not serve it (the read
 * model reports such objects as having no canvases).
 */
export function buildManifest(input: ManifestInput): Record<string, unknown> {
  const { base, objectId, state, collection, institution } = input;
  const holder = input.holder ?? institution;
  const { metadata } = state;
  const files = pageImages(state);
  const id = manifestUrl(base, objectId);
  const label = textMap(metadata.title, metadata.language);
  const rights = rightsUri(metadata.rights);
  const direction = viewingDirectionOf(metadata);
  const first = files[0];

  // Not literals at the call: @iiif/presentation-3 types omit `label` on external resources,
  // which Presentation 3 requires on homepage and recommends on seeAlso.
  const homepage = { id: `${base}/objects/${objectId}`, type: 'Text' as const, label, format: 'text/html' };
  const seeAlso = {
    id: `${base}/api/objects/${objectId}`,
    type: 'Dataset' as const,
    format: 'application/json',
    label: bilingual('Siêu dữ liệu (JSON)', 'Metadata (JSON)'),
  };

  const builder = new IIIFBuilder();
  const made = builder.createManifest(id, (m) => {
    m.setLabel(label);
    if (metadata.description) m.setSummary(textMap(metadata.description, metadata.language));
    m.setMetadata(metadataEntries(metadata, collection?.title));
    m.setRequiredStatement(heldByStatement(holder) as Parameters<typeof m.setRequiredStatement>[0]);
    if (rights) m.setRights(rights);
    if (first) m.addThumbnail(thumbnailFor(base, first));
    if (direction) m.setViewingDirection(direction);
    m.setBehavior(behaviorOf(metadata, files.length));
    m.setHomepage(homepage);
    m.setSeeAlso([seeAlso]);
    files.forEach((file, index) => {
      const canvasId = canvasUrl(base, objectId, file.imageId);
      m.createCanvas(canvasId, (canvas) => {
        canvas.setLabel(canvasLabel(state, file.imageId, index));
        canvas.width = file.width;
        canvas.height = file.height;
        canvas.addThumbnail(thumbnailFor(base, file));
        canvas.createAnnotationPage(`${canvasId}/page/1`, (page) => {
          page.createAnnotation({
            id: `${canvasId}/page/1/image`,
            type: 'Annotation',
            motivation: 'painting',
            target: canvasId,
            body: {
              id: `${imageServiceUrl(base, file.imageId)}/full/max/0/default.jpg`,
              type: 'Image',
              format: 'image/jpeg',
              width: file.width,
              height: file.height,
              service: [imageService(base, file.imageId)],
            },
          });
        });
      });
    });
  });

  const doc = builder.toPresentation3({ id: made.id, type: 'Manifest' });
  if (typeof doc !== 'object' || doc === null) throw new Error(`iiif-builder returned no manifest for ${objectId}`);
  // Added after the builder: its vault merges resources by id, and the download is the same
  // URL as the painting image, so it would lose the image's service.
  if (state.accessLevel === 'open') {
    addDownloads(doc as Record<string, unknown>, base, files);
    addOriginals(doc as Record<string, unknown>, base, objectId, pdfOriginals(state));
  }
  const protectedImages = needsAuthServices(state.accessLevel);
  if (protectedImages) addAuthServices(doc as Record<string, unknown>, base, files);
  if (input.textPages?.size) addText(doc as Record<string, unknown>, base, objectId, files, input.textPages);
  if (input.ocrPages?.size) addAlto(doc as Record<string, unknown>, base, objectId, files, input.ocrPages);
  const structures = structuresOf(base, objectId, state, files);
  return ordered(
    {
      ...(doc as Record<string, unknown>),
      // Extension contexts first, Presentation's last (Presentation 3 §4.6).
      '@context': protectedImages ? [AUTH2_CONTEXT, PRESENTATION_3_CONTEXT] : PRESENTATION_3_CONTEXT,
      navDate: navDateOf(metadata),
      provider: providerOf(base, holder),
      partOf: partOfFor(base, collection),
      structures: structures.length > 0 ? structures : undefined,
    },
    MANIFEST_KEY_ORDER,
  );
}

/**
 * The page image as `rendering` on each canvas, offered only where the policy lets anyone
 * take a copy (open objects); viewers show it as a download link. `max` is bounded by the
 * server's size limits, so this is the largest image anyone may have.
 */
function addDownloads(doc: Record<string, unknown>, base: string, files: readonly PageImage[]): void {
  const canvases = Array.isArray(doc.items) ? (doc.items as Record<string, unknown>[]) : [];
  canvases.forEach((canvas, i) => {
    const file = files[i];
    if (!file) return;
    canvas.rendering = [
      {
        id: `${imageServiceUrl(base, file.imageId)}/full/max/0/default.jpg`,
        type: 'Image',
        format: 'image/jpeg',
        label: bilingual('Tải ảnh trang này (JPEG)', 'Download this page (JPEG)'),
      },
    ];
  });
}

/**
 * On each painting image of a restricted work, the IIIF authorization services: where a
 * viewer that is refused the image learns how to get access (Auth 2.0's probe beside the image
 * service, Auth 1.0's login inside it: see iiif/auth-services.ts). Added after the builder,
 * whose vault would normalise these services (Auth 1.0's `@id` ones included) away.
 */
function addAuthServices(doc: Record<string, unknown>, base: string, files: readonly PageImage[]): void {
  const canvases = Array.isArray(doc.items) ? (doc.items as Record<string, unknown>[]) : [];
  canvases.forEach((canvas, i) => {
    const file = files[i];
    const page = (canvas.items as Record<string, unknown>[] | undefined)?.[0];
    const annotation = (page?.items as Record<string, unknown>[] | undefined)?.[0];
    const body = annotation?.body as Record<string, unknown> | undefined;
    const service = (body?.service as Record<string, unknown>[] | undefined)?.[0];
    if (!file || !body || !service) throw new Error(`manifest canvas ${i + 1} has no image service to protect`);
    body.service = [{ ...service, service: [loginServiceV1(base)] }, probeService(base, file.imageId)];
  });
}

/**
 * A PDF master whole, as `rendering` on the manifest (Presentation 3 §3.3.2: "an alternative,
 * non-IIIF representation of the resource"), on open works only, like the page downloads.
 */
function addOriginals(doc: Record<string, unknown>, base: string, objectId: string, pdfs: readonly StoredFile[]): void {
  if (pdfs.length === 0) return;
  doc.rendering = pdfs.map((f) => ({
    id: originalFileUrl(base, objectId, f.fileId),
    type: 'Text',
    format: 'application/pdf',
    label: bilingual(`Tải tệp PDF gốc (${f.name})`, `Download the original PDF (${f.name})`),
  }));
}

/**
 * Page text: each canvas with text links its supplementing AnnotationPage in `annotations`
 * (Presentation 3 §3.5: referenced, fetched when a viewer wants it), and the work declares
 * Content Search 2 as a `service` (Content Search 2 §3.1).
 */
function addText(doc: Record<string, unknown>, base: string, objectId: string, files: PageImage[], textPages: ReadonlySet<string>): void {
  const canvases = Array.isArray(doc.items) ? (doc.items as Record<string, unknown>[]) : [];
  let linked = 0;
  canvases.forEach((canvas, i) => {
    const file = files[i];
    if (!file || !textPages.has(file.imageId)) return;
    canvas.annotations = [{ id: textPageUrl(base, objectId, file.imageId), type: 'AnnotationPage' }];
    linked++;
  });
  if (linked > 0) doc.service = [{ id: searchServiceUrl(base, objectId), type: 'SearchService2' }];
}

/** ALTO 4's namespace, the `profile` IIIF practice gives an ALTO `seeAlso` (cookbook recipe 0068). */
export const ALTO_PROFILE = 'http://www.loc.gov/standards/alto/ns-v4#';

/**
 * OCR: each canvas with a current reading points at its ALTO in `seeAlso` (Presentation 3
 * §3.3.3: a machine-readable description of the canvas), as newspaper sites publish it and
 * as viewers with an ALTO layer look for it. The URL names the page, not the reading, so a
 * new reading changes the file behind it (and its ETag), not the manifest.
 */
function addAlto(doc: Record<string, unknown>, base: string, objectId: string, files: PageImage[], ocrPages: ReadonlySet<string>): void {
  const canvases = Array.isArray(doc.items) ? (doc.items as Record<string, unknown>[]) : [];
  canvases.forEach((canvas, i) => {
    const file = files[i];
    if (!file || !ocrPages.has(file.imageId)) return;
    canvas.seeAlso = [
      {
        id: ocrOutputUrl(base, objectId, file.imageId, 'alto'),
        type: 'Dataset',
        format: 'application/xml',
        profile: ALTO_PROFILE,
        label: bilingual('Văn bản nhận dạng của trang (ALTO XML)', 'OCR text of this page (ALTO XML)'),
      },
    ];
  });
}

// ---------------------------------------------------------------------------------------
// Collections

/** Presentation 3 has no paging: bigger collections answer with a Collection per page. */
export const DEFAULT_PAGE_SIZE = 1000;

export interface CollectionItemRef {
  kind: 'Manifest' | 'Collection';
  /** The object id (Manifest) or collection id (Collection), not a URL. */
  id: string;
  label: LanguageMap;
  thumbnail?: ImageResource[];
}

export interface CollectionDocumentInput {
  base: string;
  /** 'top' or a collection id. */
  id: string;
  label: LanguageMap;
  summary?: LanguageMap;
  /** The enclosing collection ('top' or an id); none for the top collection. */
  parent?: { id: string; label: LanguageMap };
  /** Items in the whole collection, across all pages. */
  total: number;
  /** The items to list: all of them, or those of `page` (ignored when the answer is a list of pages). */
  items: CollectionItemRef[];
  /** 1-based page number, when the page document is asked for. */
  page?: number;
  pageSize?: number;
}

export function pageCount(total: number, pageSize = DEFAULT_PAGE_SIZE): number {
  return Math.max(1, Math.ceil(total / pageSize));
}

/** Whether the collection document lists pages rather than items. */
export function isPaged(total: number, pageSize = DEFAULT_PAGE_SIZE): boolean {
  return total > pageSize;
}

/** The [offset, limit] of the items the document for `page` (or the whole collection) lists. */
export function pageWindow(total: number, page: number | undefined, pageSize = DEFAULT_PAGE_SIZE): { offset: number; limit: number } {
  if (page === undefined) return isPaged(total, pageSize) ? { offset: 0, limit: 0 } : { offset: 0, limit: pageSize };
  return { offset: (page - 1) * pageSize, limit: pageSize };
}

function itemRef(base: string, item: CollectionItemRef): Record<string, unknown> {
  const id = item.kind === 'Manifest' ? manifestUrl(base, item.id) : collectionUrl(base, item.id);
  return { id, type: item.kind, label: item.label, ...(item.thumbnail?.length ? { thumbnail: item.thumbnail } : {}) };
}

function rangeLabel(n: number, total: number, pageSize: number): LanguageMap {
  const from = (n - 1) * pageSize + 1;
  const to = Math.min(total, n * pageSize);
  if (to < from) return bilingual(`Trang ${n}`, `Page ${n}`);
  return bilingual(`Trang ${n} (${from}–${to})`, `Page ${n} (${from}–${to})`);
}

/** Prefix a label map with the collection's own label, per language ("Sắc phong — Trang 2 (…)"). */
function joinLabels(head: LanguageMap, tail: LanguageMap): LanguageMap {
  const headText = (lang: string) => (head[lang] ?? head.none ?? head.vi ?? Object.values(head)[0] ?? []).join(' / ');
  const out: LanguageMap = {};
  for (const [lang, values] of Object.entries(tail)) out[lang] = values.map((v) => `${headText(lang)} — ${v}`);
  return out;
}

/**
 * A Collection document: the collection itself, the page-list of a big collection, or one of
 * its pages (`page`), which names the whole collection in `partOf`.
 */
export function buildCollectionDocument(input: CollectionDocumentInput): Record<string, unknown> {
  const { base, id, label, summary, parent, total } = input;
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  const self = collectionUrl(base, id);
  const common = { '@context': PRESENTATION_3_CONTEXT };

  if (input.page !== undefined) {
    const n = input.page;
    return {
      ...common,
      id: collectionPageUrl(base, id, n),
      type: 'Collection',
      label: joinLabels(label, rangeLabel(n, total, pageSize)),
      ...(summary ? { summary } : {}),
      partOf: [{ id: self, type: 'Collection', label }],
      items: input.items.map((item) => itemRef(base, item)),
    };
  }
  const partOf = parent ? [{ id: collectionUrl(base, parent.id), type: 'Collection', label: parent.label }] : undefined;
  const items = isPaged(total, pageSize)
    ? Array.from({ length: pageCount(total, pageSize) }, (_, i) => ({
        id: collectionPageUrl(base, id, i + 1),
        type: 'Collection',
        label: rangeLabel(i + 1, total, pageSize),
      }))
    : input.items.map((item) => itemRef(base, item));
  return {
    ...common,
    id: self,
    type: 'Collection',
    label,
    ...(summary ? { summary } : {}),
    ...(partOf ? { partOf } : {}),
    items,
  };
}

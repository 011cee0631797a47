/**
 * A checker for the IIIF Presentation 3.0 rules thukho's documents must keep
 * (https://iiif.io/api/presentation/3.0/): required properties per resource type, absolute
 * http(s) ids, language maps, rights URIs, @context placement, painting annotations, and
 * legal behavior / viewingDirection values. It returns every violation as "path: rule", so
 * a failing test says what is wrong and where; [] means valid.
 */
export const P3_CONTEXT = 'http://iiif.io/api/presentation/3/context.json';

type Json = Record<string, unknown>;

/** Behavior values and the resource types they are valid on (spec §3.3.2 table). */
const BEHAVIOR_TYPES: Record<string, readonly string[]> = {
  'auto-advance': ['Collection', 'Manifest', 'Canvas', 'Range'],
  'no-auto-advance': ['Collection', 'Manifest', 'Canvas', 'Range'],
  repeat: ['Collection', 'Manifest'],
  'no-repeat': ['Collection', 'Manifest'],
  unordered: ['Collection', 'Manifest', 'Range'],
  individuals: ['Collection', 'Manifest', 'Range'],
  continuous: ['Collection', 'Manifest', 'Range'],
  paged: ['Collection', 'Manifest', 'Range'],
  'facing-pages': ['Canvas'],
  'non-paged': ['Canvas'],
  'multi-part': ['Collection'],
  together: ['Collection'],
  sequence: ['Range'],
  'thumbnail-nav': ['Range'],
  'no-nav': ['Range'],
  hidden: ['AnnotationCollection', 'AnnotationPage', 'Annotation', 'SpecificResource', 'Choice'],
};

/** Sets of behaviors a resource may carry at most one of. */
const DISJOINT: ReadonlyArray<readonly string[]> = [
  ['unordered', 'individuals', 'continuous', 'paged'],
  ['auto-advance', 'no-auto-advance'],
  ['repeat', 'no-repeat'],
  ['multi-part', 'together'],
  ['paged', 'facing-pages', 'non-paged'],
  ['sequence', 'thumbnail-nav', 'no-nav'],
];

const VIEWING_DIRECTIONS = ['left-to-right', 'right-to-left', 'top-to-bottom', 'bottom-to-top'];
const VIEWING_DIRECTION_TYPES = ['Collection', 'Manifest', 'Range'];

/** Creative Commons licences/public-domain tools and RightsStatements.org statements (always http). */
const RIGHTS = [
  /^https?:\/\/creativecommons\.org\/licenses\/[a-z-]+\/\d\.\d\/([a-z]{2}\/)?$/,
  /^https?:\/\/creativecommons\.org\/publicdomain\/(zero|mark)\/1\.0\/$/,
  /^http:\/\/rightsstatements\.org\/vocab\/[A-Za-z-]+\/1\.0\/$/,
];

/** BCP 47 language tags (loosely) or the spec's `none`. */
const LANGUAGE_TAG = /^(none|[a-z]{2,3}(-[A-Za-z0-9]{1,8})*)$/;

const XSD_DATETIME_TZ = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Checker {
  readonly errors: string[] = [];

  fail(path: string, rule: string): void {
    this.errors.push(`${path}: ${rule}`);
  }

  uri(path: string, v: unknown): void {
    if (typeof v !== 'string') return this.fail(path, 'id must be a string');
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      return this.fail(path, `id must be an absolute URI, got "${v}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') this.fail(path, `id must be an http(s) URI, got "${v}"`);
  }

  languageMap(path: string, v: unknown): void {
    if (!isObject(v)) return this.fail(path, 'must be a language map (an object of language → strings)');
    const entries = Object.entries(v);
    if (entries.length === 0) this.fail(path, 'language map must not be empty');
    for (const [lang, values] of entries) {
      if (!LANGUAGE_TAG.test(lang)) this.fail(`${path}.${lang}`, `"${lang}" is not a BCP 47 language tag or "none"`);
      if (!Array.isArray(values) || values.some((s) => typeof s !== 'string')) {
        this.fail(`${path}.${lang}`, 'language map values must be arrays of strings');
      }
    }
  }

  labelValue(path: string, v: unknown): void {
    if (!isObject(v)) return this.fail(path, 'must be an object with label and value');
    if (v.label === undefined) this.fail(path, 'label is required');
    else this.languageMap(`${path}.label`, v.label);
    if (v.value === undefined) this.fail(path, 'value is required');
    else this.languageMap(`${path}.value`, v.value);
  }

  list(path: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) {
      this.fail(path, 'must be an array');
      return [];
    }
    return v;
  }

  /** id and type of any resource; `type` checked against the allowed ones. */
  resource(path: string, v: unknown, types?: readonly string[]): v is Json {
    if (!isObject(v)) {
      this.fail(path, 'must be an object');
      return false;
    }
    if (v.id === undefined) this.fail(path, 'id is required');
    else this.uri(`${path}.id`, v.id);
    if (typeof v.type !== 'string') this.fail(path, 'type is required');
    else if (types && !types.includes(v.type)) this.fail(`${path}.type`, `must be one of ${types.join(', ')}, got "${v.type}"`);
    if ('@context' in v) this.fail(path, '@context belongs on the root resource only');
    return true;
  }

  /** The descriptive and linking properties every resource may carry. */
  common(path: string, r: Json): void {
    const type = String(r.type);
    if (r.label !== undefined) this.languageMap(`${path}.label`, r.label);
    if (r.summary !== undefined) this.languageMap(`${path}.summary`, r.summary);
    if (r.metadata !== undefined) this.list(`${path}.metadata`, r.metadata).forEach((m, i) => this.labelValue(`${path}.metadata[${i}]`, m));
    if (r.requiredStatement !== undefined) this.labelValue(`${path}.requiredStatement`, r.requiredStatement);
    if (r.rights !== undefined) {
      if (typeof r.rights !== 'string' || !RIGHTS.some((re) => re.test(r.rights as string))) {
        this.fail(`${path}.rights`, `must be a Creative Commons or RightsStatements.org URI, got ${JSON.stringify(r.rights)}`);
      }
    }
    if (r.navDate !== undefined && (typeof r.navDate !== 'string' || !XSD_DATETIME_TZ.test(r.navDate))) {
      this.fail(`${path}.navDate`, 'must be an XSD dateTime with a timezone');
    }
    if (r.viewingDirection !== undefined) {
      if (!VIEWING_DIRECTION_TYPES.includes(type)) this.fail(`${path}.viewingDirection`, `not allowed on ${type}`);
      else if (!VIEWING_DIRECTIONS.includes(String(r.viewingDirection))) this.fail(`${path}.viewingDirection`, `"${String(r.viewingDirection)}" is not a viewing direction`);
    }
    if (r.behavior !== undefined) this.behavior(`${path}.behavior`, r.behavior, type);
    if (r.thumbnail !== undefined) this.list(`${path}.thumbnail`, r.thumbnail).forEach((t, i) => this.contentResource(`${path}.thumbnail[${i}]`, t));
    if (r.homepage !== undefined) {
      this.list(`${path}.homepage`, r.homepage).forEach((h, i) => {
        const p = `${path}.homepage[${i}]`;
        if (!this.resource(p, h)) return;
        if (h.label === undefined) this.fail(p, 'homepage must have a label');
        else this.languageMap(`${p}.label`, h.label);
      });
    }
    if (r.seeAlso !== undefined) this.list(`${path}.seeAlso`, r.seeAlso).forEach((s, i) => this.contentResource(`${path}.seeAlso[${i}]`, s));
    if (r.partOf !== undefined) this.list(`${path}.partOf`, r.partOf).forEach((p, i) => this.reference(`${path}.partOf[${i}]`, p, undefined, false));
    if (r.provider !== undefined) {
      this.list(`${path}.provider`, r.provider).forEach((a, i) => {
        const p = `${path}.provider[${i}]`;
        if (!this.resource(p, a, ['Agent'])) return;
        if (a.label === undefined) this.fail(p, 'an Agent must have a label');
        this.common(p, a);
      });
    }
    if (r.service !== undefined) this.services(`${path}.service`, r.service);
  }

  behavior(path: string, v: unknown, type: string): void {
    const values = this.list(path, v);
    if (values.some((b) => typeof b !== 'string')) return this.fail(path, 'must be an array of strings');
    for (const b of values as string[]) {
      const valid = BEHAVIOR_TYPES[b];
      if (valid && !valid.includes(type)) this.fail(path, `"${b}" is not valid on ${type}`);
    }
    for (const set of DISJOINT) {
      const used = (values as string[]).filter((b) => set.includes(b));
      if (used.length > 1) this.fail(path, `${used.join(' and ')} are disjoint`);
    }
  }

  services(path: string, v: unknown): void {
    this.list(path, v).forEach((s, i) => {
      const p = `${path}[${i}]`;
      if (!isObject(s)) return this.fail(p, 'must be an object');
      // Older services (Image API 2) use @id/@type; both forms are allowed.
      const id = s.id ?? s['@id'];
      const type = s.type ?? s['@type'];
      if (id === undefined) this.fail(p, 'a service must have an id');
      else this.uri(`${p}.id`, id);
      if (typeof type !== 'string') this.fail(p, 'a service must have a type');
    });
  }

  contentResource(path: string, v: unknown): void {
    if (!this.resource(path, v)) return;
    if ((v.width === undefined) !== (v.height === undefined)) this.fail(path, 'width and height go together');
    this.common(path, v);
  }

  /** A reference to another resource (in items of a Collection, or partOf): id, type, label. */
  reference(path: string, v: unknown, types: readonly string[] | undefined, labelRequired: boolean): void {
    if (!this.resource(path, v, types)) return;
    if (labelRequired && v.label === undefined) this.fail(path, `a referenced ${String(v.type)} must have a label`);
    this.common(path, v);
  }

  manifest(path: string, m: Json): void {
    if (m.label === undefined) this.fail(path, 'a Manifest must have a label');
    this.common(path, m);
    const items = this.list(`${path}.items`, m.items);
    if (items.length === 0) this.fail(`${path}.items`, 'a Manifest must have at least one Canvas');
    items.forEach((c, i) => this.canvas(`${path}.items[${i}]`, c));
    if (m.structures !== undefined) {
      const canvasIds = new Set(items.map((c) => (isObject(c) ? c.id : undefined)));
      this.list(`${path}.structures`, m.structures).forEach((r, i) => this.range(`${path}.structures[${i}]`, r, canvasIds));
    }
  }

  /**
   * A Range (§3.4, §5.6): id, type, a label to show in a table of contents, and items that
   * reference the manifest's own Canvases (or nest Ranges); an empty Range navigates nowhere.
   */
  range(path: string, r: unknown, canvasIds: ReadonlySet<unknown>): void {
    if (!this.resource(path, r, ['Range'])) return;
    if (r.label === undefined) this.fail(path, 'a Range in structures should have a label to show');
    this.common(path, r);
    const items = this.list(`${path}.items`, r.items);
    if (items.length === 0) this.fail(`${path}.items`, 'a Range must have at least one item');
    items.forEach((item, i) => {
      const p = `${path}.items[${i}]`;
      if (isObject(item) && item.type === 'Range') return this.range(p, item, canvasIds);
      if (!this.resource(p, item, ['Canvas', 'SpecificResource'])) return;
      if (item.type === 'Canvas' && !canvasIds.has(item.id)) this.fail(`${p}.id`, `references ${String(item.id)}, which is not a Canvas of this Manifest`);
      if (item.type === 'Canvas' && item.items !== undefined) this.fail(p, 'a Canvas in a Range is a reference: no items');
    });
  }

  canvas(path: string, c: unknown): void {
    if (!this.resource(path, c, ['Canvas'])) return;
    const hasW = c.width !== undefined;
    const hasH = c.height !== undefined;
    if (hasW !== hasH) this.fail(path, 'a Canvas with width must have height, and the other way round');
    for (const dim of ['width', 'height'] as const) {
      const n = c[dim];
      if (n !== undefined && !(Number.isInteger(n) && (n as number) > 0)) this.fail(`${path}.${dim}`, 'must be a positive integer');
    }
    if (!hasW && c.duration === undefined) this.fail(path, 'a Canvas must have width and height, or duration');
    this.common(path, c);
    // Non-painting annotations (page text, comments) are AnnotationPages referenced by id.
    if (c.annotations !== undefined) {
      this.list(`${path}.annotations`, c.annotations).forEach((page, i) => this.reference(`${path}.annotations[${i}]`, page, ['AnnotationPage'], false));
    }
    if (c.items === undefined) return;
    this.list(`${path}.items`, c.items).forEach((page, i) => this.paintingPage(`${path}.items[${i}]`, page, String(c.id)));
  }

  /** Annotation pages in a Canvas's items hold the painting annotations of that Canvas. */
  paintingPage(path: string, page: unknown, canvasId: string): void {
    if (!this.resource(path, page, ['AnnotationPage'])) return;
    this.common(path, page);
    this.list(`${path}.items`, page.items).forEach((a, i) => {
      const p = `${path}.items[${i}]`;
      if (!this.resource(p, a, ['Annotation'])) return;
      const motivation = Array.isArray(a.motivation) ? a.motivation : [a.motivation];
      if (!motivation.includes('painting')) this.fail(`${p}.motivation`, 'annotations in a Canvas\'s items must have motivation "painting"');
      const target = isObject(a.target) ? a.target.source ?? a.target.id : a.target;
      const targetId = isObject(target) ? target.id : target;
      if (typeof targetId !== 'string' || targetId.split('#')[0] !== canvasId) {
        this.fail(`${p}.target`, `must target the Canvas ${canvasId}`);
      }
      if (a.body === undefined) this.fail(p, 'a painting annotation must have a body');
      else for (const [j, body] of (Array.isArray(a.body) ? a.body : [a.body]).entries()) this.contentResource(`${p}.body${Array.isArray(a.body) ? `[${j}]` : ''}`, body);
      this.common(p, a);
    });
  }

  collection(path: string, c: Json): void {
    if (c.label === undefined) this.fail(path, 'a Collection must have a label');
    this.common(path, c);
    if (c.items === undefined) return this.fail(path, 'a Collection must have items');
    this.list(`${path}.items`, c.items).forEach((item, i) => this.reference(`${path}.items[${i}]`, item, ['Manifest', 'Collection'], true));
  }

  root(doc: unknown): void {
    if (!isObject(doc)) return this.fail('$', 'the document must be a JSON object');
    const ctx = doc['@context'];
    const last = Array.isArray(ctx) ? ctx[ctx.length - 1] : ctx;
    if (ctx === undefined) this.fail('$', '@context is required on the root resource');
    else if (last !== P3_CONTEXT) this.fail('$.@context', `the Presentation 3 context must be the (last) @context, got ${JSON.stringify(ctx)}`);
    const { '@context': _ctx, ...rest } = doc;
    if (!this.resource('$', rest, ['Manifest', 'Collection'])) return;
    if (rest.type === 'Manifest') this.manifest('$', rest);
    else this.collection('$', rest);
  }
}

export function validatePresentation3(json: unknown): string[] {
  const checker = new Checker();
  checker.root(typeof json === 'string' ? (JSON.parse(json) as unknown) : json);
  return checker.errors;
}

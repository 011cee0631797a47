import { asArray, idOf, isObject, selectorRegion } from './manifest.ts';
import { splitFragment, type Region } from './region.ts';

/**
 * IIIF Content Search 2.0 responses (an AnnotationPage of highlighting annotations) as a
 * list of hits with snippets. Pure; the panel renders snippets with textContent only.
 */

export interface SearchHit {
  id: string;
  canvasId: string;
  xywh?: Region;
  before: string;
  match: string;
  after: string;
}

export interface SearchPage {
  hits: SearchHit[];
  next?: string;
  total?: number;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Where a hit points: `canvas#xywh=…`, or a SpecificResource with a FragmentSelector. */
function targetOf(target: unknown): { canvasId: string; xywh?: Region } | undefined {
  const first = asArray(target)[0];
  if (typeof first === 'string') {
    const { id, xywh } = splitFragment(first);
    return xywh ? { canvasId: id, xywh } : { canvasId: id };
  }
  if (!isObject(first)) return undefined;
  const sourceId = idOf(first.source) ?? idOf(first);
  if (!sourceId) return undefined;
  const { id, xywh: fromId } = splitFragment(sourceId);
  const xywh = selectorRegion(first) ?? fromId;
  return xywh ? { canvasId: id, xywh } : { canvasId: id };
}

function bodyText(body: unknown): string {
  for (const b of asArray(body)) {
    if (typeof b === 'string') return b;
    if (isObject(b) && typeof b.value === 'string') return b.value;
  }
  return '';
}

interface Quote {
  before: string;
  match: string;
  after: string;
}

/** TextQuoteSelectors of the contextualizing annotations, by the id of the hit they describe. */
function quotesByHit(annotations: unknown): Map<string, Quote> {
  const quotes = new Map<string, Quote>();
  for (const page of asArray(annotations)) {
    if (!isObject(page)) continue;
    for (const anno of asArray(page.items)) {
      if (!isObject(anno)) continue;
      for (const target of asArray(anno.target)) {
        if (!isObject(target)) continue;
        const hitId = idOf(target.source);
        if (!hitId || quotes.has(hitId)) continue;
        for (const sel of asArray(target.selector)) {
          if (isObject(sel) && sel.type === 'TextQuoteSelector' && typeof sel.exact === 'string') {
            quotes.set(hitId, { before: text(sel.prefix), match: sel.exact, after: text(sel.suffix) });
            break;
          }
        }
      }
    }
  }
  return quotes;
}

/**
 * What a hit in `items` may be: Content Search 2 returns the matching content annotations
 * themselves (§3.3: a transcription "supplementing" or "painting" the canvas), older and
 * simpler services a "highlighting" annotation, Search 1 "sc:painting".
 */
const HIT_MOTIVATIONS = new Set(['supplementing', 'painting', 'highlighting', 'sc:painting']);

export function parseSearchPage(json: unknown): SearchPage | undefined {
  if (!isObject(json)) return undefined;
  const items = json.items ?? json.resources;
  if (items !== undefined && !Array.isArray(items)) return undefined;
  const quotes = quotesByHit(json.annotations);
  const hits: SearchHit[] = [];
  for (const [i, item] of asArray(items).entries()) {
    if (!isObject(item)) continue;
    const motivation = asArray(item.motivation);
    if (motivation.length > 0 && !motivation.some((m) => typeof m === 'string' && HIT_MOTIVATIONS.has(m))) continue;
    const target = targetOf(item.target ?? item.on);
    if (!target) continue;
    const id = idOf(item) ?? `hit-${i}`;
    const quote = quotes.get(id) ?? { before: '', match: bodyText(item.body ?? item.resource), after: '' };
    hits.push({ id, ...target, ...quote });
  }
  const page: SearchPage = { hits };
  const next = idOf(json.next);
  if (next) page.next = next;
  const partOf = asArray(json.partOf)[0];
  const total = isObject(partOf) ? partOf.total : json.total;
  if (typeof total === 'number' && Number.isInteger(total) && total >= 0) page.total = total;
  return page;
}

/** The search request for a query (the service id may already carry parameters). */
export function searchUrl(serviceId: string, query: string): string {
  return `${serviceId}${serviceId.includes('?') ? '&' : '?'}q=${encodeURIComponent(query)}`;
}

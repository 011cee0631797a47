import { matchRanges, boxOf } from '../search/snippet.ts';
import { hasAllTerms, queryTerms } from '../search/text-folding.ts';
import { canvasUrl, PRESENTATION_3_CONTEXT, searchServiceUrl, textPageUrl } from './manifest.ts';
import { type PageTextContent, textLines, textualBody } from './text-annotations.ts';

/**
 * IIIF Content Search API 2.0 over a work's page text: pure, no I/O. Matching is the site
 * search's own (queryTerms, hasAllTerms, matchRanges): diacritics and đ fold, so `bac giang`
 * finds `Bắc Giang`, quoted words are a phrase, a run of Han characters is one term.
 *
 * We have word boxes, so each hit is the matched words themselves (§3.4.2): an annotation in
 * `items` whose body is the matched text as written and whose target is `canvas#xywh=` of its
 * words, with a "contextualizing" annotation in `annotations` giving the text before and
 * after it (a TextQuoteSelector), which viewers show as the snippet. Text recorded without
 * word boxes gives hits on the whole canvas.
 */
export const SEARCH_2_CONTEXT = 'http://iiif.io/api/search/2/context.json';

/** The motivation of our hits: page text supplements the page image. */
const HIT_MOTIVATION = 'supplementing';

/** Hits per response page (§3.3.2 paging beyond that). */
export const HITS_PER_PAGE = 500;
/** Code units of context either side of a hit. */
const CONTEXT_CHARS = 40;

export interface SearchablePage extends PageTextContent {
  imageId: string;
}

export interface ContentHit {
  imageId: string;
  /** [start, end) of the page text: the matched words, as written. */
  start: number;
  end: number;
  /** `x,y,w,h` on the canvas, when the page has word boxes. */
  xywh?: string;
}

/** Which line (by its index) each matched range's words stand on; -1 without word boxes. */
function lineIndexer(page: SearchablePage): (range: [number, number]) => number {
  if (!page.words?.length) return () => -1;
  const lines = textLines(page.text, page.words);
  return ([start, end]) => lines.findIndex((l) => l.words.some((w) => w.start < end && w.end > start));
}

/**
 * The hits of `q` in the pages, in page order then text order: only pages that have every
 * term (as site search finds them), each matched word a hit, neighbouring matched words on
 * one line (`Bắc Giang`) one hit.
 */
export function findHits(pages: readonly SearchablePage[], q: string): ContentHit[] {
  const terms = queryTerms(q);
  if (terms.length === 0) return [];
  const folded = new Set(terms.flatMap((t) => t.folded));
  const hits: ContentHit[] = [];
  for (const page of pages) {
    if (!hasAllTerms(page.text, terms)) continue;
    const lineOf = lineIndexer(page);
    const merged: Array<[number, number]> = [];
    for (const range of matchRanges(page.text, folded)) {
      const last = merged[merged.length - 1];
      if (last && /^[ \t]+$/.test(page.text.slice(last[1], range[0])) && lineOf(last) === lineOf(range)) last[1] = range[1];
      else merged.push([range[0], range[1]]);
    }
    for (const [start, end] of merged) {
      const xywh = boxOf(page.words, [start, end]);
      hits.push({ imageId: page.imageId, start, end, ...(xywh ? { xywh } : {}) });
    }
  }
  return hits;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ');

/** Up to CONTEXT_CHARS before and after a hit, on one line, never half a surrogate pair. */
function quote(text: string, start: number, end: number): { prefix: string; exact: string; suffix: string } {
  const prefix = oneLine(text.slice(Math.max(0, start - CONTEXT_CHARS), start)).replace(/^[\uDC00-\uDFFF]/, '').trimStart();
  const suffix = oneLine(text.slice(end, end + CONTEXT_CHARS)).replace(/[\uD800-\uDBFF]$/, '').trimEnd();
  return { prefix, exact: oneLine(text.slice(start, end)), suffix };
}

export interface ContentSearchRequest {
  base: string;
  objectId: string;
  q: string;
  /** The `motivation` parameter's values, when given: hits only if ours is among them. */
  motivation?: readonly string[];
  /** 1-based page of hits. */
  page: number;
  /** Parameters received but not implemented (§3.4.1). */
  ignored: readonly string[];
}

export type ContentSearchAnswer = { status: 'ok'; body: Record<string, unknown> } | { status: 'no-page'; pages: number };

function requestUrl(req: ContentSearchRequest, page?: number): string {
  const params = new URLSearchParams({ q: req.q });
  if (req.motivation) params.set('motivation', req.motivation.join(' '));
  if (page !== undefined) params.set('page', String(page));
  return `${searchServiceUrl(req.base, req.objectId)}?${params.toString().replace(/\+/g, '%20')}`;
}

/** The Content Search 2 response for a request over a work's pages (in canvas order). */
export function contentSearchResponse(req: ContentSearchRequest, pages: readonly SearchablePage[]): ContentSearchAnswer {
  const wanted = !req.motivation || req.motivation.includes(HIT_MOTIVATION);
  const all = wanted ? findHits(pages, req.q) : [];
  const pageCount = Math.max(1, Math.ceil(all.length / HITS_PER_PAGE));
  if (req.page > pageCount) return { status: 'no-page', pages: pageCount };
  const hits = all.slice((req.page - 1) * HITS_PER_PAGE, req.page * HITS_PER_PAGE);
  const byFile = new Map(pages.map((p) => [p.imageId, p]));
  const items: Record<string, unknown>[] = [];
  const context: Record<string, unknown>[] = [];
  for (const hit of hits) {
    const page = byFile.get(hit.imageId) as SearchablePage;
    const canvas = canvasUrl(req.base, req.objectId, hit.imageId);
    const id = `${textPageUrl(req.base, req.objectId, hit.imageId)}/match/${hit.start}-${hit.end}`;
    const q = quote(page.text, hit.start, hit.end);
    items.push({
      id,
      type: 'Annotation',
      motivation: HIT_MOTIVATION,
      body: textualBody(q.exact, page.language),
      target: hit.xywh ? `${canvas}#xywh=${hit.xywh}` : canvas,
    });
    context.push({
      id: `${searchServiceUrl(req.base, req.objectId)}/context/${hit.imageId}/${hit.start}-${hit.end}`,
      type: 'Annotation',
      motivation: 'contextualizing',
      target: {
        type: 'SpecificResource',
        source: id,
        selector: [{ type: 'TextQuoteSelector', ...(q.prefix ? { prefix: q.prefix } : {}), exact: q.exact, ...(q.suffix ? { suffix: q.suffix } : {}) }],
      },
    });
  }
  const paged = pageCount > 1;
  const ref = (n: number) => ({ id: requestUrl(req, n), type: 'AnnotationPage' });
  const body: Record<string, unknown> = {
    '@context': [PRESENTATION_3_CONTEXT, SEARCH_2_CONTEXT],
    id: requestUrl(req, paged ? req.page : undefined),
    type: 'AnnotationPage',
    ...(req.ignored.length ? { ignored: [...req.ignored] } : {}),
    ...(paged
      ? {
          partOf: { id: requestUrl(req), type: 'AnnotationCollection', total: all.length, first: ref(1), last: ref(pageCount) },
          ...(req.page < pageCount ? { next: ref(req.page + 1) } : {}),
          ...(req.page > 1 ? { prev: ref(req.page - 1) } : {}),
        }
      : {}),
    items,
    ...(context.length ? { annotations: [{ type: 'AnnotationPage', items: context }] } : {}),
  };
  return { status: 'ok', body };
}

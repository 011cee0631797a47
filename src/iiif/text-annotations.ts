import type { WordBox } from '../search/port.ts';
import { boxOf } from '../search/snippet.ts';
import { canvasUrl, hasHan, PRESENTATION_3_CONTEXT, textPageUrl } from './manifest.ts';

/**
 * A page's text as IIIF annotations: one supplementing Annotation per line, with the line's
 * text as a TextualBody, targeting the line's box on the canvas (Presentation 3 §3.5 and the
 * Text Granularity extension). Pure: no I/O. The page text is what PageTextRecorded carries:
 * the text as written and word boxes in canvas pixels, with UTF-16 offsets into the text.
 */

/** The Text Granularity extension's context; extension contexts come before Presentation's. */
export const TEXT_GRANULARITY_CONTEXT = 'http://iiif.io/api/extension/text-granularity/context.json';

export interface PageTextContent {
  text: string;
  words?: readonly WordBox[];
  /** ISO 639-3 codes of the page's languages, as recorded. */
  language?: readonly string[];
}

/** A line of the page: [start, end) of the text and its words. */
export interface TextLine {
  start: number;
  end: number;
  words: WordBox[];
}

/** How much two spans overlap, as a share of the shorter one (0 when apart). */
function overlapShare(a0: number, a1: number, b0: number, b1: number): number {
  const shorter = Math.min(a1 - a0, b1 - b0);
  return shorter > 0 ? Math.max(0, Math.min(a1, b1) - Math.max(a0, b0)) / shorter : 0;
}

/** Half a box's height (or width) in common: the usual test of "on the same line" in OCR layout. */
const SAME_LINE = 0.5;

/**
 * The words grouped into lines, in text order. A word stays on the line of the word before
 * it when no line break stands between them in the text and the two overlap vertically by
 * half the smaller height (a horizontal line), or, for Han characters set in columns, overlap
 * horizontally by half the smaller width (a vertical line). A line keeps the direction its
 * first two words give it, so a line's last word and the next line's first, one under the
 * other, do not make a column. Boxes past the end of the text are dropped.
 */
export function textLines(text: string, words: readonly WordBox[]): TextLine[] {
  const inText = words.filter((w) => w.end <= text.length).sort((a, b) => a.start - b.start);
  const lines: Array<{ words: WordBox[]; direction?: 'row' | 'column' }> = [];
  for (const word of inText) {
    const line = lines[lines.length - 1];
    const prev = line?.words[line.words.length - 1];
    if (line && prev && !/[\n\r\u2028\u2029]/.test(text.slice(prev.end, word.start))) {
      const row = overlapShare(prev.y, prev.y + prev.h, word.y, word.y + word.h) >= SAME_LINE;
      const column =
        overlapShare(prev.x, prev.x + prev.w, word.x, word.x + word.w) >= SAME_LINE &&
        hasHan(text.slice(prev.start, prev.end)) &&
        hasHan(text.slice(word.start, word.end));
      const direction = line.direction ?? (row ? 'row' : column ? 'column' : undefined);
      if ((direction === 'row' && row) || (direction === 'column' && column)) {
        line.direction = direction;
        line.words.push(word);
        continue;
      }
    }
    lines.push({ words: [word] });
  }
  return lines.map(({ words: ws }) => ({ start: (ws[0] as WordBox).start, end: (ws[ws.length - 1] as WordBox).end, words: ws }));
}

/** BCP 47 tags (what IIIF's `language` takes) for the ISO 639-3 codes our records use. */
const BCP47: Record<string, string> = {
  vie: 'vi',
  eng: 'en',
  fra: 'fr',
  fre: 'fr',
  zho: 'zh',
  chi: 'zh',
  lzh: 'lzh',
  // Chữ Nôm is Vietnamese written in Han characters.
  nom: 'vi-Hani',
};
const HAN_LANGUAGES = new Set(['zho', 'chi', 'lzh', 'nom']);

/**
 * The language of a piece of the page: among the page's languages, the first Han one for
 * text with Han characters, the first other one for the rest; none when the page names none
 * that fits (a viewer then shows the text without a language, rather than under a wrong one).
 */
export function languageOf(value: string, languages: readonly string[] | undefined): string | undefined {
  const han = hasHan(value);
  const code = languages?.find((c) => HAN_LANGUAGES.has(c) === han);
  return code ? (BCP47[code] ?? code) : undefined;
}

export function textualBody(value: string, languages: readonly string[] | undefined): Record<string, string> {
  const language = languageOf(value, languages);
  return { type: 'TextualBody', value, format: 'text/plain', ...(language ? { language } : {}) };
}

/**
 * The supplementing AnnotationPage of one canvas: a line annotation per line of words, or,
 * for text recorded without word boxes, one annotation of the whole page on the whole canvas.
 * Undefined for a page without text (a blank page): there is nothing to link to.
 */
export function buildTextAnnotationPage(base: string, objectId: string, imageId: string, page: PageTextContent): Record<string, unknown> | undefined {
  const id = textPageUrl(base, objectId, imageId);
  const canvas = canvasUrl(base, objectId, imageId);
  const items: Record<string, unknown>[] = [];
  if (page.words?.length) {
    for (const line of textLines(page.text, page.words)) {
      const value = page.text.slice(line.start, line.end).replace(/\s+/g, ' ').trim();
      const box = boxOf(line.words, [line.start, line.end]);
      if (!value || !box) continue;
      items.push({
        id: `${id}/line/${items.length + 1}`,
        type: 'Annotation',
        motivation: 'supplementing',
        textGranularity: 'line',
        body: textualBody(value, page.language),
        target: `${canvas}#xywh=${box}`,
      });
    }
  } else if (page.text.trim()) {
    items.push({
      id: `${id}/page`,
      type: 'Annotation',
      motivation: 'supplementing',
      textGranularity: 'page',
      body: textualBody(page.text.trim(), page.language),
      target: canvas,
    });
  }
  if (items.length === 0) return undefined;
  return { '@context': [TEXT_GRANULARITY_CONTEXT, PRESENTATION_3_CONTEXT], id, type: 'AnnotationPage', items };
}

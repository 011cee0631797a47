import type { Segment, WordBox } from './port.ts';
import { foldedToken, scanTokens } from './text-folding.ts';

/**
 * Highlights and snippets cut from the ORIGINAL text: matches are found on folded tokens and
 * marked at the tokens' offsets in the text as written, so a highlight shows its diacritics,
 * and a Nôm character (a surrogate pair) is never cut in two.
 */

/**
 * [start, end) UTF-16 ranges of the tokens of `text` whose folded form is one of `folded`;
 * touching ranges merged. With `span`, scanning stops `span` units after the first match:
 * a snippet shows no more, and a page of OCR text need not be read to its end.
 */
export function matchRanges(text: string, folded: ReadonlySet<string>, span = Infinity): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  if (folded.size === 0) return ranges;
  let stopAt = Infinity;
  scanTokens(text, (start, end, han) => {
    if (start >= stopAt) return false;
    if (!folded.has(foldedToken(text, start, end, han))) return;
    const last = ranges[ranges.length - 1];
    // Han characters are tokens without spaces between: a matched run shows as one mark.
    if (last && last[1] === start) last[1] = end;
    else {
      if (!last) stopAt = start + span;
      ranges.push([start, end]);
    }
  });
  return ranges;
}

// Most pieces hold no line break or run of spaces: test before building a new string.
const oneLine = (s: string) => (/[^\S ]| {2}/.test(s) ? s.replace(/\s+/g, ' ') : s);

function segments(text: string, ranges: ReadonlyArray<[number, number]>, from: number, to: number): Segment[] {
  const out: Segment[] = [];
  let pos = from;
  for (const [s, e] of ranges) {
    if (e <= from || s >= to) continue;
    const start = Math.max(s, from);
    const end = Math.min(e, to);
    if (start > pos) out.push({ text: oneLine(text.slice(pos, start)), mark: false });
    out.push({ text: oneLine(text.slice(start, end)), mark: true });
    pos = end;
  }
  if (pos < to) out.push({ text: oneLine(text.slice(pos, to)), mark: false });
  return out;
}

export function highlight(text: string, folded: ReadonlySet<string>): Segment[] {
  if (!text) return [];
  return segments(text, matchRanges(text, folded), 0, text.length);
}

const isLowSurrogate = (s: string, i: number) => {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
};

export interface Snippet {
  segments: Segment[];
  /** The first match inside the snippet, in offsets of the text. */
  firstMatch?: [number, number];
}

/** About `max` UTF-16 units of `text` around its first match (or its start), cut at spaces where there are any. */
export function snippet(text: string, folded: ReadonlySet<string>, max = 200): Snippet {
  if (!text.trim()) return { segments: [] };
  const ranges = matchRanges(text, folded, max + 1);
  const first = ranges[0];
  let start = first ? Math.max(0, first[0] - Math.floor(max / 4)) : 0;
  let end = Math.min(text.length, start + max);
  if (end === text.length) start = Math.max(0, end - max);
  if (start > 0) {
    const space = text.indexOf(' ', start);
    if (space !== -1 && space - start < 20 && (!first || space < first[0])) start = space + 1;
  }
  if (end < text.length) {
    const space = text.lastIndexOf(' ', end);
    if (space > start + max / 2 && (!first || space >= first[1])) end = space;
  }
  if (start > 0 && isLowSurrogate(text, start)) start--;
  if (end < text.length && isLowSurrogate(text, end)) end++;
  const body = segments(text, ranges, start, end);
  const trimmed = body.map((s, i) => (i === 0 && !s.mark ? { ...s, text: s.text.trimStart() } : s));
  return {
    segments: [...(start > 0 ? [{ text: '… ', mark: false }] : []), ...trimmed, ...(end < text.length ? [{ text: ' …', mark: false }] : [])],
    ...(first ? { firstMatch: first } : {}),
  };
}

/** The union of the boxes of the words overlapping [start, end), as a IIIF `xywh` fragment. */
export function boxOf(words: readonly WordBox[] | undefined, range: [number, number] | undefined): string | undefined {
  if (!words || !range) return undefined;
  const hit = words.filter((w) => w.start < range[1] && w.end > range[0]);
  if (hit.length === 0) return undefined;
  const x = Math.min(...hit.map((w) => w.x));
  const y = Math.min(...hit.map((w) => w.y));
  const right = Math.max(...hit.map((w) => w.x + w.w));
  const bottom = Math.max(...hit.map((w) => w.y + w.h));
  return `${x},${y},${right - x},${bottom - y}`;
}

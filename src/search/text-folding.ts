import { Converter } from 'opencc-js/cn2t';
import { foldVietnamese } from '../domain/vietnamese-fold.ts';

/**
 * The one text analysis of search, used at index and at query time by every adapter so that
 * they answer alike. A text becomes tokens, each with two forms and where it came from:
 *
 * - `folded`: the matching form. Vietnamese through `foldVietnamese` (diacritics removed,
 *   đ → d, lower case; NFC and NFD input alike). Han and Nôm characters are one token each,
 *   since the script is written without spaces, and simplified characters become their
 *   traditional form (OpenCC's cn → t, one character at a time so that a token is always one
 *   character of the original), so `传` and `傳` fold alike.
 * - `exact`: the form as written, NFC and lower case, so that `kím` can rank above `Kim`.
 *
 * Iteration is by code point: a Nôm character of CJK Extension B and beyond is a surrogate
 * pair in UTF-16 and stays one token. Anything that is not a letter, digit or combining mark
 * (punctuation, emoji, a lone surrogate) separates tokens and is never a token itself.
 */
export interface Token {
  folded: string;
  exact: string;
  /** UTF-16 offsets of the token in the analysed text: [start, end). */
  start: number;
  end: number;
  /** A Han or Nôm character: adjacent ones in a query must be adjacent in the text. */
  han: boolean;
}

// Han letters and numerals (〇); radicals and other Han-script symbols are not words.
const HAN = /^(?=\p{Script=Han})[\p{L}\p{N}]$/u;
const WORD_PART = /^[\p{L}\p{N}\p{M}]$/u;

const toTraditional = Converter({ from: 'cn', to: 't' });
const hanCache = new Map<string, string>();

/** A Han character in its traditional form (itself when OpenCC has no single-character mapping). */
export function foldHan(char: string): string {
  const cached = hanCache.get(char);
  if (cached !== undefined) return cached;
  const converted = toTraditional(char);
  const folded = [...converted].length === 1 ? converted : char;
  hanCache.set(char, folded);
  return folded;
}

/** `text` with each lone surrogate replaced by U+FFFD: same length, so offsets into it stay true. */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/**
 * Word forms by the word as written. Folding (NFD, a regular expression over marks, NFC) is
 * most of the cost of tokenising, and a language's words repeat: indexing and every snippet
 * of every search fold the same few thousand syllables. Bounded: emptied when full.
 */
const wordForms = new Map<string, { folded: string; exact: string }>();
const WORD_FORMS_MAX = 100_000;

function wordToken(text: string, start: number, end: number): Token | undefined {
  const raw = text.slice(start, end);
  let forms = wordForms.get(raw);
  if (forms === undefined) {
    if (wordForms.size >= WORD_FORMS_MAX) wordForms.clear();
    forms = { folded: foldVietnamese(raw), exact: raw.normalize('NFC').toLowerCase() };
    wordForms.set(raw, forms);
  }
  if (!forms.folded) return undefined;
  return { folded: forms.folded, exact: forms.exact, start, end, han: false };
}

/** ASCII letters and digits without a regular expression: most of any text, Vietnamese included. */
const isAsciiWordPart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let wordStart = -1;
  let i = 0;
  const endWord = (at: number) => {
    if (wordStart === -1) return;
    const t = wordToken(text, wordStart, at);
    if (t) tokens.push(t);
    wordStart = -1;
  };
  for (const cp of text) {
    const c = cp.charCodeAt(0);
    if (c < 0x80) {
      if (isAsciiWordPart(c)) {
        if (wordStart === -1) wordStart = i;
      } else endWord(i);
    } else if (HAN.test(cp)) {
      endWord(i);
      tokens.push({ folded: foldHan(cp), exact: cp, start: i, end: i + cp.length, han: true });
    } else if (WORD_PART.test(cp)) {
      if (wordStart === -1) wordStart = i;
    } else {
      endWord(i);
    }
    i += cp.length;
  }
  endWord(i);
  return tokens;
}

/**
 * Token forms joined by spaces: what an index column holds. Every form is letters, digits and
 * marks only, so a tokenizer that splits at ASCII spaces and punctuation and keeps every other
 * byte (SQLite FTS5's `ascii`) gets back exactly these tokens, astral characters included.
 */
export function indexText(tokens: readonly Token[], form: 'folded' | 'exact'): string {
  return tokens.map((t) => t[form]).join(' ');
}

/**
 * A query term: one word, or a phrase whose tokens must occur together in this order: a run
 * of adjacent Han/Nôm characters (so that `北江` does not match every page that has 北
 * somewhere and 江 elsewhere), or words the user put in double quotes (`"địa bạ"`).
 */
export interface QueryTerm {
  folded: string[];
  exact: string[];
}

function termsOf(tokens: readonly Token[], phrase: boolean): QueryTerm[] {
  if (phrase && tokens.length > 0) return [{ folded: tokens.map((t) => t.folded), exact: tokens.map((t) => t.exact) }];
  const terms: QueryTerm[] = [];
  let run: QueryTerm | undefined;
  let runEnd = -1;
  for (const t of tokens) {
    if (t.han && run && runEnd === t.start) {
      run.folded.push(t.folded);
      run.exact.push(t.exact);
    } else {
      run = { folded: [t.folded], exact: [t.exact] };
      terms.push(run);
      if (!t.han) run = undefined;
    }
    runEnd = t.end;
  }
  return terms;
}

/**
 * The terms of what a user typed, every one of which must match. Text between a pair of
 * double quotes is a phrase; an unpaired quote is only a separator, like every other
 * punctuation mark, so no input is a syntax error. Repeated terms count once.
 */
export function queryTerms(query: string): QueryTerm[] {
  const parts = wellFormed(query).split('"');
  // With an odd number of quotes the last one is unpaired: its text is not a phrase.
  const paired = parts.length % 2 === 1 ? parts.length : parts.length - 1;
  const terms = parts.flatMap((part, i) => termsOf(tokenize(part), i % 2 === 1 && i < paired));
  const seen = new Set<string>();
  return terms.filter((term) => {
    const key = term.exact.join(' ');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

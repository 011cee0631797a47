import { foldHan } from '../domain/han-fold.ts';
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

function formsOf(raw: string): { folded: string; exact: string } {
  let forms = wordForms.get(raw);
  if (forms === undefined) {
    if (wordForms.size >= WORD_FORMS_MAX) wordForms.clear();
    forms = { folded: foldVietnamese(raw), exact: raw.normalize('NFC').toLowerCase() };
    wordForms.set(raw, forms);
  }
  return forms;
}

/** How a code point takes part in a token. */
const SEPARATOR = 1;
const WORD = 2;
const HAN_CHAR = 3;

// Classifying a non-ASCII code point takes two Unicode-property regular expressions; text
// repeats the same few hundred, so each class is worked out once (BMP in a table, the rest in
// a map). ASCII never reaches the table.
const bmpKinds = new Uint8Array(0x10000);
const astralKinds = new Map<number, number>();

function classify(cp: number): number {
  const ch = String.fromCodePoint(cp);
  return HAN.test(ch) ? HAN_CHAR : WORD_PART.test(ch) ? WORD : SEPARATOR;
}

function kindOf(cp: number): number {
  if (cp < 0x80) return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x30 && cp <= 0x39) ? WORD : SEPARATOR;
  if (cp < 0x10000) {
    let kind = bmpKinds[cp] as number;
    if (kind === 0) bmpKinds[cp] = kind = classify(cp);
    return kind;
  }
  let kind = astralKinds.get(cp);
  if (kind === undefined) astralKinds.set(cp, (kind = classify(cp)));
  return kind;
}

/**
 * Calls `visit(start, end, han)` for each token of `text` in order, by UTF-16 offsets, until
 * it returns false. A lone surrogate is a separator; a pair is one code point.
 */
export function scanTokens(text: string, visit: (start: number, end: number, han: boolean) => boolean | void): void {
  let wordStart = -1;
  const n = text.length;
  for (let i = 0; i < n; ) {
    let cp = text.charCodeAt(i);
    let width = 1;
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        width = 2;
      }
    }
    const kind = kindOf(cp);
    if (kind === WORD) {
      if (wordStart === -1) wordStart = i;
    } else {
      if (wordStart !== -1) {
        if (visit(wordStart, i, false) === false) return;
        wordStart = -1;
      }
      if (kind === HAN_CHAR && visit(i, i + width, true) === false) return;
    }
    i += width;
  }
  if (wordStart !== -1) visit(wordStart, n, false);
}

/** The matching form of the token at [start, end) of `text`; empty for a word that folds to nothing. */
export function foldedToken(text: string, start: number, end: number, han: boolean): string {
  return han ? foldHan(text.slice(start, end)) : formsOf(text.slice(start, end)).folded;
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  scanTokens(text, (start, end, han) => {
    const raw = text.slice(start, end);
    if (han) tokens.push({ folded: foldHan(raw), exact: raw, start, end, han: true });
    else {
      const forms = formsOf(raw);
      if (forms.folded) tokens.push({ folded: forms.folded, exact: forms.exact, start, end, han: false });
    }
  });
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
 * Whether `text` has every term, as the index matches them: each term's folded tokens
 * consecutive among the text's folded tokens (an exact form matches only where its folded
 * form does, so the folded forms decide).
 */
export function hasAllTerms(text: string, terms: readonly QueryTerm[]): boolean {
  if (terms.every((term) => term.folded.length === 1)) {
    // Words only (the common case): stop reading at the last one found.
    const missing = new Set(terms.map((term) => term.folded[0] as string));
    scanTokens(text, (start, end, han) => {
      missing.delete(foldedToken(text, start, end, han));
      return missing.size > 0;
    });
    return missing.size === 0;
  }
  const tokens: string[] = [];
  scanTokens(text, (start, end, han) => {
    const folded = foldedToken(text, start, end, han);
    if (folded) tokens.push(folded);
  });
  return terms.every((term) => {
    const [head, ...rest] = term.folded;
    for (let i = tokens.indexOf(head as string); i !== -1; i = tokens.indexOf(head as string, i + 1)) {
      if (rest.every((t, j) => tokens[i + 1 + j] === t)) return true;
    }
    return false;
  });
}

// Every BMP character that folds to an ASCII letter, by that letter (`ạ`, `Ắ`, `K` under
// `a` or `k`, `đ` under `d`): to build patterns that find a folded word in unfolded text.
let letterVariants: Map<string, string> | undefined;
function variantsOf(letter: string): string {
  if (!letterVariants) {
    const found = new Map<string, string>();
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      const base = foldVietnamese(ch);
      if (base.length === 1 && base >= 'a' && base <= 'z') found.set(base, (found.get(base) ?? '') + ch);
    }
    letterVariants = found;
  }
  return (letterVariants.get(letter) ?? letter).replace(/[\\\]\[^-]/g, '\\$&');
}

/**
 * A quick test that rules out most texts without the terms: for each one-word term, a
 * pattern run over the text as written (any case, precomposed or combining diacritics) that
 * finds the word's letters in a row, marks allowed after each. It never rules out a text that
 * has the terms, and may let through one that lacks them (the word inside a longer one):
 * `hasAllTerms` decides. No word boundaries: lookarounds made it slower than tokenising.
 * Phrases, Han characters and words with letters outside a–z have no pattern.
 */
export function termPrefilter(terms: readonly QueryTerm[]): (text: string) => boolean {
  const patterns: RegExp[] = [];
  for (const term of terms) {
    const [word, ...more] = term.folded;
    if (word === undefined || more.length > 0 || !/^[a-z0-9]+$/.test(word)) continue;
    patterns.push(new RegExp([...word].map((c) => `[${c >= '0' && c <= '9' ? c : variantsOf(c)}]\\p{M}*`).join(''), 'u'));
  }
  return (text) => patterns.every((p) => p.test(text));
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

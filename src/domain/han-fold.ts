import { Converter } from 'opencc-js/cn2t';

// Built on first use: building its dictionary costs about 0.2 s of CPU, which every
// CLI run and worker paid at start-up whether it ever folded a Han character or not.
let converter: ((text: string) => string) | undefined;
const toTraditional = (text: string): string => (converter ??= Converter({ from: 'cn', to: 't' }))(text);
const hanCache = new Map<string, string>();

/**
 * A Han character in its traditional form (itself when OpenCC has no single-character
 * mapping), one character at a time so that the result is always one character of the
 * original: search folds `传` and `傳` alike with it, and OCR of pre-modern books puts back
 * the forms they were printed in.
 */
export function foldHan(char: string): string {
  const cached = hanCache.get(char);
  if (cached !== undefined) return cached;
  const converted = toTraditional(char);
  const folded = [...converted].length === 1 ? converted : char;
  hanCache.set(char, folded);
  return folded;
}

import type { OcrLine, OcrPage, OcrWord } from './port.js';

const HAN = /^[\p{Script=Han}\u3005\u3007\u303B]+$/u;

/**
 * Whether a reader sees a space between two neighbouring words: always in Latin script, never
 * between Han characters (Hán and Nôm are written without spaces; a character is a "word" only
 * because it is the unit the engines box).
 */
export function spaceBetween(before: OcrWord, after: OcrWord): boolean {
  return !(HAN.test(before.text) && HAN.test(after.text));
}

export function lineText(line: OcrLine): string {
  return line.words.map((w, i) => (i > 0 && spaceBetween(line.words[i - 1] as OcrWord, w) ? ' ' : '') + w.text).join('');
}

/** The page as plain text: a line per line, a blank line between blocks, in reading order. */
export function pageText(page: OcrPage): string {
  return page.blocks.map((b) => b.lines.map(lineText).join('\n')).join('\n\n');
}

import type { OcrPage, OcrWord } from './port.js';

const HAN = /^[\p{Script=Han}\u3005\u3007\u303B]+$/u;

/**
 * Whether a reader sees a space between two neighbouring words: always in Latin script, never
 * between Han characters (Hán and Nôm are written without spaces; a character is a "word" only
 * because it is the unit the engines box).
 */
export function spaceBetween(before: OcrWord, after: OcrWord): boolean {
  return !(HAN.test(before.text) && HAN.test(after.text));
}

/** The page as plain text: a line per line, a blank line between blocks, in reading order. */
export function pageText(page: OcrPage): string {
  return pageTextWithWords(page).text;
}

/** A word of the page text: where it is in the text (UTF-16 offsets, end exclusive) and its box. */
export interface PlacedWord {
  start: number;
  end: number;
  word: OcrWord;
}

/** The page text (as `pageText`) with each word's place in it, for search hits and annotations. */
export function pageTextWithWords(page: OcrPage): { text: string; words: PlacedWord[] } {
  let text = '';
  const words: PlacedWord[] = [];
  page.blocks.forEach((block, b) => {
    if (b > 0) text += '\n\n';
    block.lines.forEach((line, l) => {
      if (l > 0) text += '\n';
      line.words.forEach((word, w) => {
        if (w > 0 && spaceBetween(line.words[w - 1] as OcrWord, word)) text += ' ';
        words.push({ start: text.length, end: text.length + word.text.length, word });
        text += word.text;
      });
    });
  });
  return { text, words };
}

/**
 * How a reading is scored against the printed text. Vietnamese: the character error rate
 * (tests/helpers/character-error-rate.ts, whitespace runs as one space). Han: the same rate
 * with all whitespace removed (columns are not separated by spaces in print, and engines
 * differ in how they mark a column's end); anything read that is not printed, a "|" for a
 * column rule included, counts as an error. As REFERENCE.md scores Han, also the recall and
 * precision of the Han characters alone (the longest common subsequence of the two, in
 * order) and of the Nôm characters beyond the BMP, which neither engine's character set holds,
 * and the rate with simplified forms folded to traditional as search folds them
 * (src/search/text-folding.ts): the Han engine's model was trained mostly on simplified text.
 */
import { foldHan } from '../../src/domain/han-fold.ts';
import { characterErrorRate } from '../../tests/helpers/character-error-rate.ts';

const HAN = /\p{Script=Han}/u;

export interface Score {
  cer: number;
  /** Han pages only. */
  foldedCer?: number;
  /** Recall of the characters in the BMP alone, the ones the engines' character sets can hold. */
  recallBmp?: number;
  recall?: number;
  precision?: number;
  /** Recall of the characters beyond the BMP alone (the Nôm characters of Extension B and on). */
  recallBeyondBmp?: number;
}

function commonSubsequence(a: string[], b: string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = [0];
    for (let j = 1; j <= b.length; j++) {
      current.push(a[i - 1] === b[j - 1] ? (previous[j - 1] as number) + 1 : Math.max(previous[j] as number, current[j - 1] as number));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

const fold = (text: string) => [...text].map(foldHan).join('');

export function score(script: 'vie' | 'han', read: string, printed: string): Score {
  if (script === 'vie') return { cer: characterErrorRate(read, printed) };
  const bare = (s: string) => s.normalize('NFC').replace(/\s+/gu, '');
  const r = bare(read);
  const p = bare(printed);
  const hanRead = [...r].filter((c) => HAN.test(c));
  const hanPrinted = [...p].filter((c) => HAN.test(c));
  const common = commonSubsequence(hanRead, hanPrinted);
  const beyond = (chars: string[]) => chars.filter((c) => c.length > 1);
  const printedBeyond = beyond(hanPrinted);
  return {
    cer: characterErrorRate(r, p),
    foldedCer: characterErrorRate(fold(r), fold(p)),
    recallBmp: commonSubsequence(hanRead.filter((c) => c.length === 1), hanPrinted.filter((c) => c.length === 1)) / Math.max(1, hanPrinted.filter((c) => c.length === 1).length),
    recall: hanPrinted.length === 0 ? 1 : common / hanPrinted.length,
    precision: hanRead.length === 0 ? 0 : common / hanRead.length,
    recallBeyondBmp: printedBeyond.length === 0 ? undefined : commonSubsequence(beyond(hanRead), printedBeyond) / printedBeyond.length,
  };
}

/**
 * A string whose plain code-point order is Vietnamese dictionary order (what
 * `Intl.Collator('vi')` gives), so that an index can sort titles without a collation of its
 * own: SQLite compares TEXT bytewise, and Typesense sorts string fields the same way.
 *
 * The letters are those of the Vietnamese alphabet, with the Latin ones it lacks in their
 * usual place: a ă â b c d đ e ê f g h i j k l m n o ô ơ p q r s t u ư v w x y z. `đ` is a
 * letter after `d`, not a `d` with a mark. Tones only decide between words whose letters are
 * equal (they are secondary differences in CLDR's `vi` collation), in the order of Vietnamese
 * dictionaries: ngang, huyền, hỏi, ngã, sắc, nặng. Case decides last.
 */
const ALPHABET = [...'aăâbcdđeêfghijklmnoôơpqrstuưvwxyz'];
const LETTER_RANK = new Map(ALPHABET.map((letter, i) => [letter, i]));
// Primary letters go above the digits and below every other code point we keep.
const LETTER_BASE = 0x41;
const TONES = ['\u0300', '\u0309', '\u0303', '\u0301', '\u0323'];

export function titleSortKey(title: string): string {
  let primary = '';
  let tones = '';
  let lastWasSpace = true;
  // NFD splits a letter into its base, its letter marks (breve, circumflex, horn) and its tone.
  for (const cluster of title.normalize('NFC').toLowerCase().match(/\P{M}\p{M}*/gu) ?? []) {
    const parts = cluster.normalize('NFD');
    const tone = TONES.findIndex((t) => parts.includes(t));
    const letter = [...parts].filter((c) => !TONES.includes(c)).join('').normalize('NFC');
    const rank = LETTER_RANK.get(letter);
    if (rank !== undefined) {
      primary += String.fromCharCode(LETTER_BASE + rank);
      tones += String(tone + 1);
      lastWasSpace = false;
    } else if (/^[\p{L}\p{N}]/u.test(letter)) {
      primary += /^\d$/.test(letter) ? letter : letter.replace(/\p{M}/gu, '');
      lastWasSpace = false;
    } else if (!lastWasSpace) {
      // Punctuation and spaces count as one space, which sorts before any letter.
      primary += ' ';
      lastWasSpace = true;
    }
  }
  return `${primary.trimEnd()}\u0001${tones}\u0001${title}`;
}

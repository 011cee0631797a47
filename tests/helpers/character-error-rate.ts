/**
 * Character error rate: the Levenshtein distance between what was read and what was printed,
 * over NFC code points (so "ệ" is one character however it was encoded, and a Nôm character
 * outside the BMP is one, not two surrogates), divided by the length of what was printed.
 * Whitespace runs count as one space; leading and trailing whitespace is ignored.
 */
export function characterErrorRate(read: string, printed: string): number {
  const norm = (s: string) => [...s.normalize('NFC').replace(/\s+/gu, ' ').trim()];
  const a = norm(read);
  const b = norm(printed);
  if (b.length === 0) return a.length === 0 ? 0 : 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1));
    }
    previous = current;
  }
  return (previous[b.length] as number) / b.length;
}

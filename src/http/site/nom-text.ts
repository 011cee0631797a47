import { z } from 'zod';

/**
 * Which characters of a page need the served Nôm font, and the compact, canonical way a
 * set of them travels in a font URL and in a CSS `unicode-range`.
 *
 * The rule: CJK Unified Ideographs Extension A (U+3400–4DBF) and the whole Supplementary
 * and Tertiary Ideographic Planes (U+20000–3FFFF: Extensions B–I and the compatibility
 * supplement). Most Nôm lives there; common CJK fonts cover the URO (U+4E00–9FFF) but Ext A
 * only in part and the astral planes hardly at all. BMP Han outside Ext A is left to the
 * page's own font stack.
 */
export const NOM_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x3400, 0x4dbf],
  [0x20000, 0x3ffff],
];

export function isNomCodePoint(cp: number): boolean {
  return NOM_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
}

/** The distinct Nôm-range code points of `text`, ascending; a surrogate pair is one code point. */
export function nomCodePoints(text: string): number[] {
  const found = new Set<number>();
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isNomCodePoint(cp)) found.add(cp);
  }
  return [...found].sort((a, b) => a - b);
}

/** Ascending distinct code points → runs `[first, last]`. */
function runs(sorted: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const cp of sorted) {
    const last = out[out.length - 1];
    if (last && cp === last[1] + 1) last[1] = cp;
    else out.push([cp, cp]);
  }
  return out;
}

const hex = (cp: number) => cp.toString(16);

/** Canonical list for a URL: ascending lowercase hex, consecutive runs as `a-b`, comma-separated. */
export function formatCodePoints(sorted: readonly number[]): string {
  return runs(sorted)
    .map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`))
    .join(',');
}

/** The same set as a CSS `unicode-range` value (CSS Fonts 4 §4.5). */
export function unicodeRange(sorted: readonly number[]): string {
  return runs(sorted)
    .map(([a, b]) => (a === b ? `U+${hex(a)}` : `U+${hex(a)}-${hex(b)}`))
    .join(',');
}

/** At most this many code points in one subset: keeps URLs short (a few KB) and each subset small. */
export const MAX_SUBSET_CODE_POINTS = 256;
const MAX_LIST_CHARS = MAX_SUBSET_CODE_POINTS * 12;

/**
 * A `c=` list as a font URL carries it, validated: canonical form only (ascending, runs
 * merged), every code point in the Nôm ranges, at most MAX_SUBSET_CODE_POINTS of them.
 */
export const CodePointList = z
  .string({ error: 'c: missing — the list of code points / thiếu danh sách mã ký tự' })
  .max(MAX_LIST_CHARS, `c: longer than ${MAX_LIST_CHARS} characters / quá dài`)
  .regex(/^[0-9a-f]{4,5}(-[0-9a-f]{4,5})?(,[0-9a-f]{4,5}(-[0-9a-f]{4,5})?)*$/, 'c: use lowercase hex code points and ranges, e.g. 21982,2a6d6-2a6d8 / dùng mã thập lục phân chữ thường')
  .transform((list, ctx) => {
    const cps: number[] = [];
    for (const part of list.split(',')) {
      const [a, b = a] = part.split('-').map((h) => Number.parseInt(h, 16)) as [number, number?];
      if (b < a) {
        ctx.addIssue({ code: 'custom', message: `c: range ${part} runs backwards / khoảng ngược` });
        return z.NEVER;
      }
      for (let cp = a; cp <= b; cp++) {
        if (!isNomCodePoint(cp)) {
          ctx.addIssue({ code: 'custom', message: `c: U+${hex(cp).toUpperCase()} is not a Nôm-range character (U+3400–4DBF, U+20000–3FFFF) / không thuộc vùng chữ Nôm` });
          return z.NEVER;
        }
        cps.push(cp);
        if (cps.length > MAX_SUBSET_CODE_POINTS) {
          ctx.addIssue({ code: 'custom', message: `c: more than ${MAX_SUBSET_CODE_POINTS} code points / quá ${MAX_SUBSET_CODE_POINTS} ký tự` });
          return z.NEVER;
        }
      }
    }
    for (let i = 1; i < cps.length; i++) {
      if (cps[i]! <= cps[i - 1]!) {
        ctx.addIssue({ code: 'custom', message: 'c: code points must ascend without repeats / mã phải tăng dần, không lặp' });
        return z.NEVER;
      }
    }
    if (formatCodePoints(cps) !== list) {
      ctx.addIssue({ code: 'custom', message: `c: not in canonical form, expected ${formatCodePoints(cps)} / chưa ở dạng chuẩn` });
      return z.NEVER;
    }
    return cps;
  });

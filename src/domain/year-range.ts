import { foldVietnamese } from './vietnamese-fold.ts';

/**
 * Normalises a free-text date as cataloguers write it ("1820", "khoảng 1820-1840",
 * "thế kỷ XIX", "19th century", "Tự Đức thứ 5") into a year range, so that search can
 * filter and sort by period while the catalogue keeps the wording it was given.
 * Returns undefined when the text says nothing we can map with confidence.
 */
export interface YearRange {
  yearFrom: number;
  yearTo: number;
}

// Nguyễn dynasty reign eras: year 1 of the era is the listed year (lunar-calendar
// boundaries are ignored; the error is at most one year, which search tolerates).
const REIGN_ERAS: ReadonlyArray<[string, number]> = [
  ['gia long', 1802],
  ['minh mang', 1820],
  ['minh menh', 1820], // the same era, as historians usually spell it (Minh Mệnh)
  ['thieu tri', 1841],
  ['tu duc', 1848],
  ['kien phuc', 1884],
  ['ham nghi', 1885],
  ['dong khanh', 1886],
  ['thanh thai', 1889],
  ['duy tan', 1907],
  ['khai dinh', 1916],
  ['bao dai', 1926],
];

const ROMAN: Record<string, number> = { i: 1, v: 5, x: 10, l: 50 };

function romanToInt(roman: string): number | undefined {
  let total = 0;
  for (let i = 0; i < roman.length; i++) {
    const value = ROMAN[roman[i] as string];
    const next = ROMAN[roman[i + 1] as string] ?? 0;
    if (value === undefined) return undefined;
    total += value < next ? -value : value;
  }
  return total > 0 && total <= 30 ? total : undefined;
}

function century(n: number): YearRange {
  return { yearFrom: (n - 1) * 100 + 1, yearTo: n * 100 };
}

export function normaliseYearRange(text: string): YearRange | undefined {
  const t = foldVietnamese(text);

  for (const [era, start] of REIGN_ERAS) {
    // (?!\d): "Tự Đức 1850" is a Gregorian year after an era name, not Tự Đức 18.
    const m = new RegExp(`${era}\\s*(?:nam\\s*)?(?:thu\\s*)?(\\d{1,2})(?!\\d)`).exec(t);
    if (m && Number(m[1]) >= 1) {
      const year = start + Number(m[1]) - 1;
      return { yearFrom: year, yearTo: year };
    }
  }

  const cent =
    // "thế kỷ" and "thế kỉ" are both standard spellings; "thế kỷ thứ XIX" is common too.
    /(?:the k[yi]|tk)\s*(?:thu\s*)?([ivxl]+|\d{1,2})\b/.exec(t) ?? /\b(\d{1,2})(?:st|nd|rd|th)[\s-]*century/.exec(t);
  if (cent) {
    const raw = cent[1] as string;
    const n = /^\d+$/.test(raw) ? Number(raw) : romanToInt(raw);
    if (n !== undefined && n >= 1 && n <= 21) return century(n);
  }

  const years = [...t.matchAll(/(?<!\d)(\d{3,4})(?!\d)/g)].map((m) => Number(m[1]));
  const plausible = years.filter((y) => y >= 100 && y <= 2100);
  if (plausible.length === 1) {
    const y = plausible[0] as number;
    return { yearFrom: y, yearTo: y };
  }
  if (plausible.length >= 2) {
    return { yearFrom: Math.min(...plausible), yearTo: Math.max(...plausible) };
  }
  return undefined;
}

/** Year → century: 1 … 100 is the 1st, 1801 … 1900 the 19th; years before 1 count back (−99 … 0 is 1st BCE → -1). */
export function centuryOf(year: number): number {
  return year >= 1 ? Math.ceil(year / 100) : -(Math.floor(-year / 100) + 1);
}

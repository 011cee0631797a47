import test from 'ava';
import { centuryOf, normaliseYearRange, type YearRange } from '../../src/domain/year-range.ts';

/**
 * Free-text dates as a Vietnamese cataloguer writes them, and the year range a reader
 * searching by period would expect. Reign eras count year 1 as the era's first year.
 */
const cases: Array<[string, YearRange | undefined]> = [
  // Plain years and ranges
  ['1820', { yearFrom: 1820, yearTo: 1820 }],
  ['năm 1820', { yearFrom: 1820, yearTo: 1820 }],
  ['khoảng 1820', { yearFrom: 1820, yearTo: 1820 }],
  ['khoảng 1820–1840', { yearFrom: 1820, yearTo: 1840 }], // en dash
  ['1820-1840', { yearFrom: 1820, yearTo: 1840 }], // hyphen-minus
  ['1820 — 1840', { yearFrom: 1820, yearTo: 1840 }], // em dash with spaces
  ['1840–1820', { yearFrom: 1820, yearTo: 1840 }], // reversed: still an ordered range
  ['in năm 1905, khắc năm 1880', { yearFrom: 1880, yearTo: 1905 }],

  // Centuries: Roman or Arabic numerals, both spellings of kỷ/kỉ, with or without "thứ"
  ['thế kỷ XIX', { yearFrom: 1801, yearTo: 1900 }],
  ['thế kỷ 18', { yearFrom: 1701, yearTo: 1800 }],
  ['thế kỷ XX', { yearFrom: 1901, yearTo: 2000 }],
  ['cuối thế kỷ XVIII', { yearFrom: 1701, yearTo: 1800 }],
  ['thế kỉ XIX', { yearFrom: 1801, yearTo: 1900 }],
  ['thế kỷ thứ XIX', { yearFrom: 1801, yearTo: 1900 }],
  ['THẾ KỶ XIX', { yearFrom: 1801, yearTo: 1900 }],
  ['TK XIX', { yearFrom: 1801, yearTo: 1900 }],
  ['19th century', { yearFrom: 1801, yearTo: 1900 }],
  ['early 19th-century', { yearFrom: 1801, yearTo: 1900 }],
  ['1st century', { yearFrom: 1, yearTo: 100 }],

  // Nguyễn reign eras
  ['Tự Đức thứ 5', { yearFrom: 1852, yearTo: 1852 }],
  ['Tự Đức năm thứ 5', { yearFrom: 1852, yearTo: 1852 }],
  ['năm Tự Đức thứ 36', { yearFrom: 1883, yearTo: 1883 }],
  ['Minh Mạng năm thứ 3', { yearFrom: 1822, yearTo: 1822 }],
  ['Minh Mệnh năm thứ 3', { yearFrom: 1822, yearTo: 1822 }], // the same era, the historians' spelling
  ['Gia Long 1', { yearFrom: 1802, yearTo: 1802 }],
  ['Gia Long 10', { yearFrom: 1811, yearTo: 1811 }],
  ['Thiệu Trị 1', { yearFrom: 1841, yearTo: 1841 }],
  ['Thành Thái 10', { yearFrom: 1898, yearTo: 1898 }],
  ['Khải Định 7', { yearFrom: 1922, yearTo: 1922 }],
  ['Bảo Đại 20', { yearFrom: 1945, yearTo: 1945 }],
  ['tu duc thu 5', { yearFrom: 1852, yearTo: 1852 }], // typed without diacritics
  ['Tự Đức 1850', { yearFrom: 1850, yearTo: 1850 }], // a Gregorian year after the era name, not "Tự Đức 18"
  ['Thiệu Trị 0', undefined], // there is no year 0 of an era

  // Nothing mappable
  ['không rõ', undefined],
  ['', undefined],
  ['   ', undefined],
  ['năm 2300', undefined],
  ['thế kỷ 25', undefined],
  ['năm 99', undefined],
];

for (const [input, expected] of cases) {
  test(`${JSON.stringify(input)} → ${expected ? `${expected.yearFrom}–${expected.yearTo}` : 'undefined'}`, (t) => {
    t.deepEqual(normaliseYearRange(input), expected);
  });
}

test('NFC and NFD input give the same answer', (t) => {
  for (const s of ['Tự Đức thứ 5', 'thế kỷ XIX', 'Minh Mạng năm thứ 3', 'khoảng 1820–1840']) {
    const nfd = s.normalize('NFD');
    t.deepEqual(normaliseYearRange(nfd), normaliseYearRange(s.normalize('NFC')), s);
    t.not(normaliseYearRange(nfd), undefined, s);
  }
});

test('a range, when there is one, is always ordered', (t) => {
  for (const [input] of cases) {
    const r = normaliseYearRange(input);
    if (r) t.true(r.yearFrom <= r.yearTo, input);
    else t.pass();
  }
});

test('centuryOf: 1 … 100 is the 1st century, 1801 … 1900 the 19th, years before 1 count back', (t) => {
  t.deepEqual([1, 100, 101, 1547, 1800, 1801, 1900, 1901, 2000, 2001].map(centuryOf), [1, 1, 2, 16, 18, 19, 19, 20, 20, 21]);
  t.deepEqual([0, -99, -100, -101].map(centuryOf), [-1, -1, -2, -2]);
});

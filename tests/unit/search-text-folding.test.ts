import test from 'ava';
import { foldHan } from '../../src/domain/han-fold.ts';
import { hasAllTerms, indexText, queryTerms, termPrefilter, tokenize, wellFormed } from '../../src/search/text-folding.ts';
import { titleSortKey } from '../../src/search/title-sort-key.ts';
import { mulberry32 } from '../helpers/prng.ts';

const forms = (text: string) => tokenize(text).map((t) => [t.folded, t.exact, text.slice(t.start, t.end)]);

test('Vietnamese words fold diacritics and đ/Đ to d, keep an exact lower-case NFC form and their offsets', (t) => {
  t.deepEqual(forms('Địa bạ, tỉnh BẮC GIANG.'), [
    ['dia', 'địa', 'Địa'],
    ['ba', 'bạ', 'bạ'],
    ['tinh', 'tỉnh', 'tỉnh'],
    ['bac', 'bắc', 'BẮC'],
    ['giang', 'giang', 'GIANG'],
  ]);
});

test('NFD and NFC text give the same tokens; offsets point into the text as given', (t) => {
  const nfd = 'Thượng Đế phù hộ'.normalize('NFD');
  const tokens = tokenize(nfd);
  t.deepEqual(
    tokens.map((x) => [x.folded, x.exact]),
    tokenize('Thượng Đế phù hộ').map((x) => [x.folded, x.exact]),
  );
  t.is(nfd.slice(tokens[1]?.start, tokens[1]?.end), 'Đế'.normalize('NFD'));
});

test('Han and Nôm characters are one token each, astral ones too; simplified folds to traditional', (t) => {
  const text = '传奇𡦂字 北江';
  t.deepEqual(forms(text), [
    ['傳', '传', '传'],
    ['奇', '奇', '奇'],
    ['𡦂', '𡦂', '𡦂'],
    ['字', '字', '字'],
    ['北', '北', '北'],
    ['江', '江', '江'],
  ]);
  t.true(tokenize(text).every((x) => x.han));
  t.is(foldHan('传'), foldHan('傳'));
  t.is(foldHan('𡦂'), '𡦂');
});

test('a Han run inside a Vietnamese word splits it: Han characters never join a word', (t) => {
  t.deepEqual(forms('chữ北Nôm'), [
    ['chu', 'chữ', 'chữ'],
    ['北', '北', '北'],
    ['nom', 'nôm', 'Nôm'],
  ]);
});

test('punctuation, FTS syntax, emoji and lone surrogates separate tokens and are never tokens', (t) => {
  t.deepEqual(
    tokenize('"bac* NEAR(giang) 😀\uD800x\uDC00 {y}: ^z').map((x) => x.exact),
    ['bac', 'near', 'giang', 'x', 'y', 'z'],
  );
  t.deepEqual(tokenize('\u0301\u0301 ... 👍🏽'), []);
});

test('index text is the tokens joined by spaces; every token is letters, digits and marks only', (t) => {
  t.is(indexText(tokenize('Bắc Giang: 北江!'), 'folded'), 'bac giang 北 江');
  t.is(indexText(tokenize('Bắc Giang: 北江!'), 'exact'), 'bắc giang 北 江');
  const random = mulberry32(13);
  for (let i = 0; i < 2000; i++) {
    const s = Array.from({ length: 12 }, () => String.fromCharCode(Math.floor(random() * 0xffff))).join('');
    for (const token of tokenize(s)) t.regex(`${token.folded}${token.exact}`, /^[\p{L}\p{N}\p{M}]+$/u);
  }
});

test('query terms: words alone, adjacent Han characters as one phrase, duplicates once', (t) => {
  t.deepEqual(queryTerms('Bắc Giang 北江 bac 地 簿'), [
    { folded: ['bac'], exact: ['bắc'] },
    { folded: ['giang'], exact: ['giang'] },
    { folded: ['北', '江'], exact: ['北', '江'] },
    { folded: ['bac'], exact: ['bac'] },
    { folded: ['地'], exact: ['地'] },
    { folded: ['簿'], exact: ['簿'] },
  ]);
  t.deepEqual(queryTerms('bac bac'), [{ folded: ['bac'], exact: ['bac'] }]);
});

test('query terms: words in paired double quotes are a phrase; an unpaired quote only separates', (t) => {
  t.deepEqual(queryTerms('"Địa bạ" Bắc'), [
    { folded: ['dia', 'ba'], exact: ['địa', 'bạ'] },
    { folded: ['bac'], exact: ['bắc'] },
  ]);
  t.deepEqual(queryTerms('"địa bạ" "bắc'), [
    { folded: ['dia', 'ba'], exact: ['địa', 'bạ'] },
    { folded: ['bac'], exact: ['bắc'] },
  ]);
  t.deepEqual(queryTerms('"địa bạ'), [
    { folded: ['dia'], exact: ['địa'] },
    { folded: ['ba'], exact: ['bạ'] },
  ]);
  t.deepEqual(queryTerms('"" "😀" "'), []);
});

test('wellFormed replaces lone surrogates only, keeping length', (t) => {
  t.is(wellFormed('a\uD800b𡦂\uDC00'), 'a\uFFFDb𡦂\uFFFD');
});

test("title sort keys order as Intl.Collator('vi') does (Đ after D, tones ngang huyền hỏi ngã sắc nặng)", (t) => {
  const collator = new Intl.Collator('vi');
  const byKey = (a: string, b: string) => (titleSortKey(a) < titleSortKey(b) ? -1 : titleSortKey(a) > titleSortKey(b) ? 1 : 0);
  const words = ['Đường', 'Dư', 'Dz', 'da', 'đa', 'ba', 'bà', 'bả', 'bã', 'bá', 'bạ', 'bác', 'bạc', 'ăn', 'an', 'ân', 'ơ', 'ô', 'o', 'ư', 'u', 'ê', 'e', 'f', 'g', 'Ba Vì', 'Bà Rịa', 'bàn', 'Thanh Hoá', 'Thanh Hóa tỉnh', '1820', '傳'];
  t.deepEqual([...words].sort(byKey), [...words].sort(collator.compare));
  const random = mulberry32(7);
  const letters = [...'aăâbdđeêioôơuưy'];
  const tones = ['', '\u0300', '\u0309', '\u0303', '\u0301', '\u0323'];
  const syllables = Array.from({ length: 400 }, () =>
    Array.from({ length: 1 + Math.floor(random() * 3) }, () => `${letters[Math.floor(random() * letters.length)]}${tones[Math.floor(random() * tones.length)]}`)
      .join('')
      .normalize('NFC'),
  );
  const unique = [...new Set(syllables)];
  t.deepEqual([...unique].sort(byKey), [...unique].sort(collator.compare));
});

// Pieces of text where token boundaries are easy to get wrong: diacritics precomposed and
// combining, capitals, đ, the Kelvin sign (folds to k), Han touching a word, marks alone,
// digits, punctuation, a lone surrogate.
const PIECES = ['giang', 'Giang', 'GIANG', 'giáng', 'gia\u0301ng', 'Bắc', 'BA\u0306\u0301C', 'đình', 'Đinh', 'dinh', '\u212Aim', 'kim', 'kím', '北', '北江', 'giang北', '北giang', '\u0301', 'x\u0301', 'năm', 'nam1', '1', '12', 'ngọc', 'ngoc', ' ', '  ', '.', '-', '\n', '"', '\uD800', '𡦂', 'sông'];

test('the page prefilter never rules out a text that has the terms, and rules out most that lack them', (t) => {
  const rand = mulberry32(14);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  let had = 0;
  let ruledOut = 0;
  for (let i = 0; i < 4000; i++) {
    const text = Array.from({ length: 2 + Math.floor(rand() * 10) }, () => pick(PIECES)).join(rand() < 0.7 ? ' ' : '');
    const query = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => pick(PIECES)).join(' ');
    const terms = queryTerms(query);
    const has = hasAllTerms(text, terms);
    const passes = termPrefilter(terms)(text);
    if (has) {
      had++;
      t.true(passes, `${JSON.stringify(text)} has ${JSON.stringify(query)} but was ruled out`);
    } else if (!passes) ruledOut++;
  }
  t.true(had > 200, `the generator makes texts with the terms (${had})`);
  t.true(ruledOut > 1000, `the prefilter rules texts out (${ruledOut})`);
  t.false(termPrefilter(queryTerms('bac giang'))('Bắc Ninh, sông Cầu'));
  t.true(termPrefilter(queryTerms('bac giang'))('BA\u0306\u0301C GIANG'));
});

test('hasAllTerms matches as the index does: whole folded words, phrases in order, Han runs together', (t) => {
  t.true(hasAllTerms('Địa bạ xã Bắc Giang', queryTerms('dia ba bac giang')));
  t.false(hasAllTerms('Địa bạ xã Bắc Ninh', queryTerms('dia ba bac giang')));
  t.false(hasAllTerms('Giangbắc', queryTerms('giang')));
  t.true(hasAllTerms('sông 北江 chảy', queryTerms('北江')));
  t.false(hasAllTerms('sông 北 và 江', queryTerms('北江')));
  t.true(hasAllTerms('傳 kỳ', queryTerms('传')));
  t.false(hasAllTerms('giang bắc', queryTerms('"bac giang"')));
});

import test from 'ava';
import { CodePointList, MAX_SUBSET_CODE_POINTS, formatCodePoints, isNomCodePoint, nomCodePoints, unicodeRange } from '../../src/http/site/nom-text.ts';

/**
 * Which characters need the Nôm web font, and the canonical list a font URL carries.
 * Code points are written out by number so that the test does not depend on how an editor
 * or a terminal handles surrogate pairs.
 */

const ch = (cp: number) => String.fromCodePoint(cp);

test('astral Nôm characters stay one code point each (surrogate pairs are not split)', (t) => {
  const chu = ch(0x21982); // 𡦂 "chữ", CJK Ext B
  t.is(chu.length, 2, 'a surrogate pair in UTF-16');
  t.deepEqual(nomCodePoints(`Truyện ${chu} Kiều ${chu}`), [0x21982]);
  // Ext B, C (U+2A700), G (U+30000, plane 3) and the compatibility supplement (U+2F800).
  t.deepEqual(nomCodePoints(`${ch(0x30000)}${ch(0x2a700)}${ch(0x20000)}${ch(0x2f800)}`), [0x20000, 0x2a700, 0x2f800, 0x30000]);
});

test('Ext A is flagged; BMP Han of the URO, Vietnamese, Latin, emoji and other astral planes are not', (t) => {
  t.deepEqual(nomCodePoints(`${ch(0x3400)}${ch(0x340c)}${ch(0x4dbf)}`), [0x3400, 0x340c, 0x4dbf]);
  // 傳 U+50B3, 传 U+4F20, 一 U+4E00, 龥 U+9FA5: common CJK fonts have them.
  t.deepEqual(nomCodePoints('傳传一龥大越 Đại Nam nhất thống chí'), []);
  // Emoji (plane 1), a plane-1 historic script, plane 14 tags, and the edges of the ranges.
  t.deepEqual(nomCodePoints(`${ch(0x1f600)}${ch(0x10900)}${ch(0xe0041)}${ch(0x33ff)}${ch(0x4dc0)}${ch(0x1ffff)}${ch(0x40000)}`), []);
  t.false(isNomCodePoint(0x4e00));
  t.true(isNomCodePoint(0x3ffff));
});

test('a lone surrogate is not a character of any range', (t) => {
  t.deepEqual(nomCodePoints('\uD845 \uDD82'), []);
});

test('canonical list and unicode-range: ascending, runs merged, lowercase hex', (t) => {
  const cps = [0x340c, 0x20000, 0x20001, 0x20002, 0x21982, 0x2a6d6, 0x2a6d7];
  t.is(formatCodePoints(cps), '340c,20000-20002,21982,2a6d6-2a6d7');
  t.is(unicodeRange(cps), 'U+340c,U+20000-20002,U+21982,U+2a6d6-2a6d7');
  t.deepEqual(CodePointList.parse('340c,20000-20002,21982,2a6d6-2a6d7'), cps);
});

const refused: Array<[string, unknown, RegExp]> = [
  ['missing', undefined, /missing/],
  ['empty', '', /lowercase hex/],
  ['uppercase', '2198A', /lowercase hex/],
  ['U+ prefix', 'U+21982', /lowercase hex/],
  ['decimal', '137602', /lowercase hex/],
  ['spaces', '21982, 21983', /lowercase hex/],
  ['URO Han', '4e00', /U\+4E00 is not a Nôm-range/],
  ['Latin', '0041', /U\+41 is not a Nôm-range/],
  ['emoji', '1f600', /U\+1F600 is not a Nôm-range/],
  ['surrogate', 'd845', /U\+D845 is not a Nôm-range/],
  ['beyond plane 3', '40000', /U\+40000 is not a Nôm-range/],
  ['six digits', '100000', /lowercase hex/],
  ['backwards range', '21983-21982', /backwards/],
  ['descending', '21983,21982', /ascend/],
  ['repeat', '21982,21982', /ascend/],
  ['runs not merged', '21982,21983', /canonical form, expected 21982-21983/],
  ['one-point range', '21982-21982', /canonical form, expected 21982/],
  ['zero padding', '021982', /canonical form|lowercase hex/],
  ['too many in one range', '20000-3ffff', new RegExp(`more than ${MAX_SUBSET_CODE_POINTS}`)],
  ['too long', 'a'.repeat(10_000), /longer than/],
  ['not a string', ['21982', '21983'], /./],
];

for (const [name, input, reason] of refused) {
  test(`a list is refused with a reason: ${name}`, (t) => {
    const r = CodePointList.safeParse(input);
    t.false(r.success);
    t.regex(r.error?.issues.map((i) => i.message).join('; ') ?? '', reason);
  });
}

test(`exactly ${MAX_SUBSET_CODE_POINTS} code points pass`, (t) => {
  const last = 0x20000 + MAX_SUBSET_CODE_POINTS - 1;
  t.is(CodePointList.parse(`20000-${last.toString(16)}`).length, MAX_SUBSET_CODE_POINTS);
});

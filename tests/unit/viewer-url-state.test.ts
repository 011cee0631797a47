import test from 'ava';
import { STRINGS, pickText, pickValues, t as tr } from '../../viewer/src/language.ts';
import { clampRegion, parseXywh } from '../../viewer/src/region.ts';
import { readUrlState, resolvePage, withLang, writeUrlState } from '../../viewer/src/url-state.ts';

test('reads page, xywh, spread, lang, manifest and content state', (t) => {
  const s = readUrlState(new URLSearchParams('page=3&xywh=1,2,300,400&spread=0&lang=en&manifest=https://x/m&iiif-content=abc'));
  t.deepEqual(s, { page: '3', xywh: { x: 1, y: 2, w: 300, h: 400 }, spread: false, lang: 'en', manifest: 'https://x/m', content: 'abc' });
  t.deepEqual(readUrlState(new URLSearchParams('xywh=1,2,0,4&spread=maybe&lang=fr')), {});
});

test('page validation: out of range, zero, junk → page 1 with a flag', (t) => {
  t.deepEqual(resolvePage(undefined, 3), { index: 0, outOfRange: false });
  t.deepEqual(resolvePage('2', 3), { index: 1, outOfRange: false });
  t.deepEqual(resolvePage('99', 3), { index: 0, outOfRange: true, raw: '99' });
  t.deepEqual(resolvePage('0', 3), { index: 0, outOfRange: true, raw: '0' });
  t.deepEqual(resolvePage('abc', 3), { index: 0, outOfRange: true, raw: 'abc' });
  t.deepEqual(resolvePage('1.5', 3), { index: 0, outOfRange: true, raw: '1.5' });
});

test('writing keeps other parameters and drops xywh at home', (t) => {
  const out = writeUrlState(new URLSearchParams('lang=en&manifest=m&xywh=1,1,1,1'), { page: 2 });
  t.is(out.toString(), 'lang=en&manifest=m&page=2');
  const zoomed = writeUrlState(new URLSearchParams(''), { page: 1, xywh: { x: 1.4, y: 2.6, w: 10, h: 20 }, spread: true });
  t.is(zoomed.get('xywh'), '1,3,10,20');
  t.is(zoomed.get('spread'), '1');
  t.is(withLang('https://x/objects/a?page=2&lang=vi', 'en'), 'https://x/objects/a?page=2&lang=en');
});

test('xywh parsing and clamping', (t) => {
  t.deepEqual(parseXywh('xywh=pixel:1,2,3,4'), { x: 1, y: 2, w: 3, h: 4 });
  t.is(parseXywh('-1,2,3,4'), undefined);
  t.is(parseXywh('1,2,3'), undefined);
  t.deepEqual(clampRegion({ x: -10, y: -10, w: 100, h: 2000 }, 50, 1000), { x: 0, y: 0, w: 50, h: 1000 });
  t.is(clampRegion({ x: 60, y: 0, w: 10, h: 10 }, 50, 50), undefined);
});

test('language maps: vi → vi, none, en; en → en, none, vi; arrays joined', (t) => {
  const map = { en: ['Tale of Kieu'], none: ['傳翹'], vi: ['Truyện Kiều', 'Kim Vân Kiều'] };
  t.is(pickText(map, 'vi'), 'Truyện Kiều; Kim Vân Kiều');
  t.is(pickText(map, 'en'), 'Tale of Kieu');
  t.is(pickText({ none: ['傳翹'], en: ['x'] }, 'vi'), '傳翹');
  t.is(pickText({ en: ['x'] }, 'vi'), 'x');
  t.deepEqual(pickValues({ fr: ['Le conte'] }, 'en'), ['Le conte']);
  t.is(pickText(undefined, 'vi'), '');
});

test('every string exists in both languages and fills placeholders', (t) => {
  t.deepEqual(Object.keys(STRINGS.en).sort(), Object.keys(STRINGS.vi).sort());
  t.is(tr('vi', 'manifest-http', { status: 404 }), 'Không tải được manifest (HTTP 404). Hãy kiểm tra đường dẫn.');
  t.is(tr('en', 'pageStatus', { page: 2, count: 3 }), 'Page 2/3');
  t.is(tr('vi', 'pageStatus', { page: 2, count: 3 }), 'Trang 2/3');
});

import test from 'ava';
import type { ObjectView } from '../../src/projections/object-read-model.ts';
import { centuryOf, foldWithMap, highlight, queryTerms, searchCatalogue, snippet } from '../../src/http/site/catalogue-search.ts';

let seq = 0;
function obj(fields: Partial<ObjectView> & { title: string }): ObjectView {
  seq++;
  return {
    id: `o${seq}`,
    revision: 0,
    status: 'active',
    accessLevel: 'open',
    files: [],
    createdAt: `2026-01-01T00:00:${String(seq).padStart(2, '0')}Z`,
    updatedAt: '2026-01-01T00:00:00Z',
    ...fields,
  };
}

const kieu = obj({ title: 'Truyện Kiều', creator: 'Nguyễn Du', yearFrom: 1871, language: ['vie'], type: 'Sách', collectionId: 'nom', description: 'Đoạn trường tân thanh, kể chuyện Thúy Kiều.' });
const daiNam = obj({ title: 'Đại Nam nhất thống chí', alternativeTitle: ['大南一統志'], yearFrom: 1882, language: ['lzh'], type: 'Sách', collectionId: 'nom' });
const bao = obj({ title: 'Nam Phong tạp chí', yearFrom: 1917, language: ['vie', 'fra'], type: 'Báo', collectionId: 'bao', identifier: 'NP-001' });
const loose = obj({ title: 'Bản đồ Hà Nội', yearFrom: -50, subject: 'Địa lý' });
const all = [kieu, daiNam, bao, loose];

const search = (q: string, filters = {}, page = 1, pageSize = 20) => searchCatalogue(all, { q, filters, page, pageSize });
const ids = (r: ReturnType<typeof search>) => r.hits.map((h) => h.object.id);

test('query terms: folded, split, Han characters one by one, no duplicates', (t) => {
  t.deepEqual(queryTerms('Truyện  KIỀU, truyen'), ['truyen', 'kieu']);
  t.deepEqual(queryTerms('Đại-Nam'), ['dai', 'nam']);
  t.deepEqual(queryTerms('大南 một統'), ['大', '南', 'mot', '統']);
  t.deepEqual(queryTerms('  ,.;  '), []);
  t.is(queryTerms(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')).length, 32);
});

test('matching: every word, with or without diacritics, đ as d, in any searched field', (t) => {
  t.deepEqual(ids(search('truyen kieu')), [kieu.id]);
  t.deepEqual(ids(search('TRUYỆN Kiều')), [kieu.id]);
  t.deepEqual(ids(search('đai nam')), [daiNam.id]);
  t.deepEqual(ids(search('dai nam')), [daiNam.id]);
  t.deepEqual(ids(search('一統')), [daiNam.id]);
  t.deepEqual(ids(search('大越')), []);
  t.deepEqual(ids(search('nguyen du')), [kieu.id]);
  t.deepEqual(ids(search('np-001')), [bao.id]);
  t.deepEqual(ids(search('dia ly')), [loose.id]);
  t.deepEqual(ids(search('thuy kieu doan truong')), [kieu.id]);
  t.deepEqual(ids(search('kieu xyz')), []);
});

test('ranking: title matches first; empty query browses newest first', (t) => {
  // "nam" is in two titles; both rank by title weight, then newest first.
  t.deepEqual(ids(search('nam')), [bao.id, daiNam.id]);
  t.deepEqual(ids(search('')), [loose.id, bao.id, daiNam.id, kieu.id]);
  const tan = searchCatalogue([obj({ title: 'Khác', description: 'tân' }), obj({ title: 'Tân thư' })], { q: 'tan', filters: {}, page: 1, pageSize: 20 });
  t.is(tan.hits[0]?.object.title, 'Tân thư');
});

test('facets: counted over the other filters, values add up, filters combine', (t) => {
  const r = search('');
  t.is(r.total, 4);
  const counts = (name: keyof typeof r.facets) => Object.fromEntries(r.facets[name].map((v) => [v.value, v.count]));
  t.deepEqual(counts('collection'), { nom: 2, bao: 1 });
  t.deepEqual(counts('type'), { 'Sách': 2, 'Báo': 1 });
  t.deepEqual(counts('language'), { vie: 2, lzh: 1, fra: 1 });
  t.deepEqual(r.facets.century.map((v) => v.value), ['-1', '19', '20']);

  const nom = search('', { collection: 'nom' });
  t.is(nom.total, 2);
  // Its own facet ignores the filter, so the alternatives keep their counts.
  t.deepEqual(nom.facets.collection.map((v) => [v.value, v.count, v.selected]), [['nom', 2, true], ['bao', 1, false]]);
  t.deepEqual(nom.facets.language.map((v) => [v.value, v.count]), [['lzh', 1], ['vie', 1]]);
  t.is(search('', { collection: 'nom', language: 'lzh' }).total, 1);
  t.is(search('', { collection: 'nom', century: 19 }).total, 2);
  t.is(search('', { type: 'Báo', century: 19 }).total, 0);
  t.is(search('kieu', { collection: 'bao' }).total, 0);
  // A chosen value that nothing has still shows (count 0), so that it can be removed.
  t.deepEqual(search('', { language: 'jpn' }).facets.language.find((v) => v.value === 'jpn'), { value: 'jpn', count: 0, selected: true });
});

test('paging: 20 a page, an out-of-range page has no hits', (t) => {
  const many = Array.from({ length: 45 }, (_, i) => obj({ title: `Sách số ${i}` }));
  const p1 = searchCatalogue(many, { q: 'sach', filters: {}, page: 1, pageSize: 20 });
  t.is(p1.total, 45);
  t.is(p1.pageCount, 3);
  t.is(p1.hits.length, 20);
  t.is(searchCatalogue(many, { q: 'sach', filters: {}, page: 3, pageSize: 20 }).hits.length, 5);
  t.is(searchCatalogue(many, { q: 'sach', filters: {}, page: 4, pageSize: 20 }).hits.length, 0);
  t.is(searchCatalogue([], { q: '', filters: {}, page: 1, pageSize: 20 }).pageCount, 1);
});

test('centuries', (t) => {
  t.is(centuryOf(1), 1);
  t.is(centuryOf(100), 1);
  t.is(centuryOf(101), 2);
  t.is(centuryOf(1900), 19);
  t.is(centuryOf(1901), 20);
  t.is(centuryOf(0), -1);
  t.is(centuryOf(-99), -1);
  t.is(centuryOf(-100), -2);
});

test('highlighting maps folded matches back onto the original text, diacritics included', (t) => {
  const { folded, starts, ends } = foldWithMap('Đại');
  t.is(folded, 'dai');
  t.deepEqual([starts, ends], [[0, 1, 2], [1, 2, 3]]);
  // Decomposed input: the combining marks stay inside the marked run.
  const nfd = 'Kie\u0302\u0300u'.normalize('NFD');
  t.deepEqual(highlight(nfd, ['kieu']), [{ text: nfd, mark: true }]);
  t.deepEqual(highlight('Truyện Kiều', ['truyen', 'kieu']), [
    { text: 'Truyện', mark: true },
    { text: ' ', mark: false },
    { text: 'Kiều', mark: true },
  ]);
  t.deepEqual(highlight('大南一統志', ['南', '一']), [
    { text: '大', mark: false },
    { text: '南一', mark: true },
    { text: '統志', mark: false },
  ]);
  t.deepEqual(highlight('abc', []), [{ text: 'abc', mark: false }]);
  t.deepEqual(highlight('', ['a']), []);
  // Overlapping terms merge.
  t.deepEqual(highlight('Nam Định', ['nam d', 'dinh']), [{ text: 'Nam Định', mark: true }]);
  // Astral Han characters (Nôm extension blocks) are kept whole.
  t.deepEqual(highlight('𡨸喃', ['𡨸']), [{ text: '𡨸', mark: true }, { text: '喃', mark: false }]);
});

test('snippets: around the first match, cut at spaces, with ellipses; text unchanged', (t) => {
  const long = obj({
    title: 'X',
    description: `${'lorem ipsum '.repeat(40)}Thúy Kiều bán mình chuộc cha ${'dolor sit '.repeat(40)}`,
  });
  const parts = snippet(long, queryTerms('thuy kieu'));
  const text = parts.map((p) => p.text).join('');
  t.true(text.startsWith('… '));
  t.true(text.endsWith(' …'));
  t.true(text.length < 240);
  t.deepEqual(parts.filter((p) => p.mark).map((p) => p.text), ['Thúy', 'Kiều']);
  // No match in the snippet fields: the start of the description, unmarked.
  const plain = snippet(kieu, queryTerms('nguyen'));
  t.true(plain.every((p) => !p.mark));
  t.true(plain.map((p) => p.text).join('').startsWith('Đoạn trường'));
  t.deepEqual(snippet(obj({ title: 'Y' }), ['y']), []);
  t.deepEqual(snippet(obj({ title: 'Z', description: 'Một\n\nHai  ba' }), []), [{ text: 'Một Hai ba', mark: false }]);
  // Alternative titles are a snippet source too.
  t.true(snippet(daiNam, queryTerms('一統')).some((p) => p.mark && p.text === '一統'));
});

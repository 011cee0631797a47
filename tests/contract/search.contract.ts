import type { TestFn } from 'ava';
import type { AccessLevel, Metadata } from '../../src/domain/metadata.ts';
import {
  type LibraryMap,
  type PageDocument,
  parseSearchQuery,
  type SearchIndex,
  SearchQueryError,
  type SearchResult,
  type Visibility,
  visibilityFor,
  type WorkDocument,
} from '../../src/search/port.ts';
import { mulberry32 } from '../helpers/prng.ts';

/**
 * The one contract every search adapter keeps (embedded FTS5 always; Typesense when
 * THUKHO_TEST_TYPESENSE names a server). `open` gives an empty index of its own each time.
 */

const PUBLIC: Visibility = { confidential: false, restrictedText: false };
const READER: Visibility = { confidential: false, restrictedText: true };
const STAFF: Visibility = { confidential: true, restrictedText: true };

const work = (id: string, accessLevel: AccessLevel, metadata: Metadata): WorkDocument => ({ kind: 'work', id, accessLevel, metadata });
const page = (workId: string, n: number, text: string, words?: PageDocument['words']): PageDocument => ({
  kind: 'page',
  id: `${workId}-p${n}`,
  workId,
  canvasId: `https://example.org/iiif/${workId}/canvas/${n}`,
  label: `tr. ${n}`,
  order: n - 1,
  text,
  ...(words ? { words } : {}),
});

// 𡦂 (U+2198x, CJK Extension B) is a surrogate pair in UTF-16.
const NOM = '𡦂';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const CORPUS = [
  work('dia-ba-bac-giang', 'open', {
    title: 'Địa bạ tỉnh Bắc Giang',
    alternativeTitle: ['北江省地簿'],
    subject: 'ruộng đất; địa bạ',
    description: 'Sổ ghi ruộng đất các xã của tỉnh Bắc Giang thời Gia Long.',
    language: ['vie', 'lzh'],
    type: 'địa bạ',
    collectionId: 'dia-ba',
    yearFrom: 1805,
    identifier: 'HN.123',
  }),
  page('dia-ba-bac-giang', 1, 'Xã Đông Lỗ, tổng Yên Dũng. 北江 地簿 ruộng công 二十 mẫu.', [
    { start: 0, end: 2, x: 10, y: 10, w: 40, h: 20 },
    { start: 27, end: 29, x: 100, y: 50, w: 60, h: 30 },
  ]),
  page('dia-ba-bac-giang', 2, `Ruộng tư. Chữ Nôm ${NOM} trong sổ.`),
  work('phong-tho-bac-giang', 'open', {
    title: 'Bắc Giang phong thổ ký',
    language: ['vie'],
    type: 'địa chí',
    collectionId: 'dia-chi',
    yearFrom: 1890,
  }),
  work('truyen-ky', 'open', {
    title: '傳奇漫錄',
    alternativeTitle: ['Truyền kỳ mạn lục'],
    creator: 'Nguyễn Dữ',
    language: ['lzh'],
    type: 'sách',
    collectionId: 'han-nom',
    yearFrom: 1547,
  }),
  page('truyen-ky', 1, '項王祠記 北 南'),
  page('truyen-ky', 2, '木綿樹傳'),
  work('mat-ban', 'confidential', {
    title: 'Bắc Giang mật bản',
    description: 'Địa bạ mật, chỉ nhân viên được xem.',
    language: ['vie'],
    type: 'mật',
    collectionId: 'mat',
    yearFrom: 1930,
  }),
  page('mat-ban', 1, `北 ${NOM} Bắc Giang địa bạ mật`),
  work('huong-uoc', 'restricted', {
    title: 'Hương ước làng Bắc Giang',
    language: ['vie'],
    type: 'hương ước',
    collectionId: 'huong-uoc',
    yearFrom: 1925,
  }),
  page('huong-uoc', 1, 'Điều lệ xyzzy của làng, 北 字 ghi ở đây.'),
  work('kim-van-kieu', 'open', { title: 'Kim Vân Kiều truyện', language: ['vie'], type: 'sách', yearFrom: 1871 }),
  work('kim-chi', 'open', { title: 'Kím chỉ nam', language: ['vie'], type: 'sách' }),
] satisfies Array<WorkDocument | PageDocument>;

const PUBLIC_WORKS = CORPUS.filter((d): d is WorkDocument => d.kind === 'work' && d.accessLevel !== 'confidential').map((d) => d.id);

export function searchContract(test: TestFn, name: string, open: () => Promise<SearchIndex>): void {
  const indexes: SearchIndex[] = [];
  const fresh = async (docs: ReadonlyArray<WorkDocument | PageDocument> = CORPUS) => {
    const index = await open();
    indexes.push(index);
    await index.ensureSchema();
    await index.upsert(docs);
    return index;
  };
  test.after.always(async () => {
    for (const index of indexes) await index.close();
  });
  const search = (index: SearchIndex, input: Record<string, unknown>, visibility: Visibility = PUBLIC) =>
    index.search(parseSearchQuery(input, visibility));
  const ids = (r: SearchResult) => r.hits.map((h) => h.work.id);
  const sorted = (a: readonly string[]) => [...a].sort();
  const marked = (segments: Array<{ text: string; mark: boolean }>) => segments.filter((s) => s.mark).map((s) => s.text);

  test(`${name}: ensureSchema creates once and is current afterwards`, async (t) => {
    const index = await open();
    indexes.push(index);
    t.is(await index.ensureSchema(), 'created');
    t.is(await index.ensureSchema(), 'current');
  });

  test(`${name}: "bac giang", "Bắc Giang", "BẮC GIANG" and NFD input find the same works`, async (t) => {
    const index = await fresh();
    const plain = await search(index, { q: 'bac giang' });
    t.deepEqual(sorted(ids(plain)), sorted(['dia-ba-bac-giang', 'phong-tho-bac-giang', 'huong-uoc']));
    for (const q of ['Bắc Giang', 'BẮC GIANG', 'Bắc Giang'.normalize('NFD'), 'bắc giang'.normalize('NFD')]) {
      const r = await search(index, { q });
      t.deepEqual(sorted(ids(r)), sorted(ids(plain)), q);
      t.is(r.total, plain.total, q);
    }
  });

  test(`${name}: "dia ba" finds "Địa bạ", highlighted with its diacritics`, async (t) => {
    const index = await fresh();
    const r = await search(index, { q: 'dia ba' });
    t.true(ids(r).includes('dia-ba-bac-giang'));
    const hit = r.hits.find((h) => h.work.id === 'dia-ba-bac-giang');
    t.deepEqual(marked(hit?.title ?? []), ['Địa', 'bạ']);
  });

  test(`${name}: NFD page text is found by an NFC query and the other way round`, async (t) => {
    const index = await fresh([
      work('nfd', 'open', { title: 'Văn bản NFD' }),
      page('nfd', 1, 'Thượng Đế phù hộ'.normalize('NFD')),
    ]);
    const r = await search(index, { q: 'Thượng Đế'.normalize('NFC') });
    t.deepEqual(ids(r), ['nfd']);
    t.deepEqual(marked(r.hits[0]?.pageHits[0]?.snippet ?? []).map((s) => s.normalize('NFC')), ['Thượng', 'Đế']);
    t.deepEqual(ids(await search(index, { q: 'thuong de' })), ['nfd']);
  });

  test(`${name}: a single Han character finds the pages that contain it, a Nôm character outside the BMP too`, async (t) => {
    const index = await fresh();
    const bei = await search(index, { q: '北' });
    // 北 is in the record and page 1 of the register, on page 1 of 傳奇漫錄; not in the restricted or confidential text.
    t.deepEqual(sorted(ids(bei)), sorted(['dia-ba-bac-giang', 'truyen-ky']));
    const register = bei.hits.find((h) => h.work.id === 'dia-ba-bac-giang');
    t.deepEqual(register?.pageHits.map((p) => p.canvasId), ['https://example.org/iiif/dia-ba-bac-giang/canvas/1']);
    t.is(register?.pageHits[0]?.label, 'tr. 1');
    t.is(bei.hits.find((h) => h.work.id === 'truyen-ky')?.pageHits[0]?.pageId, 'truyen-ky-p1');

    const nom = await search(index, { q: NOM });
    t.deepEqual(ids(nom), ['dia-ba-bac-giang']);
    const p = nom.hits[0]?.pageHits[0];
    t.is(p?.pageId, 'dia-ba-bac-giang-p2');
    t.deepEqual(marked(p?.snippet ?? []), [NOM]);
    // Every snippet is well-formed UTF-16: no surrogate pair cut in two.
    for (const s of p?.snippet ?? []) t.false(LONE_SURROGATE.test(s.text), s.text);
  });

  test(`${name}: a run of Han characters must occur together; the match's word box is given`, async (t) => {
    const index = await fresh();
    const r = await search(index, { q: '北江' });
    t.deepEqual(ids(r), ['dia-ba-bac-giang']);
    const p = r.hits[0]?.pageHits[0];
    t.deepEqual(marked(p?.snippet ?? []), ['北江']);
    t.is(p?.xywh, '100,50,60,30');
    t.deepEqual(ids(await search(index, { q: '南北' })), []);
  });

  test(`${name}: words in double quotes must occur together, in order`, async (t) => {
    const index = await fresh();
    t.deepEqual(sorted(ids(await search(index, { q: '"bac giang"' }))), sorted(['dia-ba-bac-giang', 'phong-tho-bac-giang', 'huong-uoc']));
    t.deepEqual(ids(await search(index, { q: '"giang bac"' })), []);
    t.deepEqual(ids(await search(index, { q: '"ruộng công"' })), ['dia-ba-bac-giang']);
    t.deepEqual(ids(await search(index, { q: '"công ruộng"' })), []);
  });

  test(`${name}: a simplified character finds its traditional form (传 finds 傳)`, async (t) => {
    const index = await fresh();
    const r = await search(index, { q: '传' });
    t.deepEqual(sorted(ids(r)), sorted(['truyen-ky']));
    t.deepEqual(marked(r.hits[0]?.title ?? []), ['傳']);
    t.deepEqual(r.hits[0]?.pageHits.map((p) => p.pageId), ['truyen-ky-p2']);
    t.deepEqual(ids(await search(index, { q: '木绵树传' })), ['truyen-ky']);
  });

  test(`${name}: confidential works are in no hit, facet count or total for the public; staff see them`, async (t) => {
    const index = await fresh();
    for (const q of ['', 'bac giang', 'mật', '北', NOM, 'dia ba']) {
      for (const sort of ['relevance', 'title', 'date']) {
        const r = await search(index, { q, sort });
        t.false(ids(r).includes('mat-ban'), q);
        t.is(r.total, r.hits.length, q);
        t.false(JSON.stringify(r).includes('mật'), `${q}: nothing of the confidential record leaks`);
        t.false(r.facets.accessLevel.some((f) => f.value === 'confidential'), q);
        t.false(r.facets.collection.some((f) => f.value === 'mat'), q);
        t.false(r.facets.century.some((f) => f.value === '20' && f.count > 1), q);
      }
    }
    const browse = await search(index, { q: '' });
    t.is(browse.total, PUBLIC_WORKS.length);
    t.is(browse.facets.language.find((f) => f.value === 'vie')?.count, 5);
    const filtered = await search(index, { q: '', filters: { accessLevel: 'confidential' } });
    t.is(filtered.total, 0);
    t.deepEqual(filtered.hits, []);
    t.deepEqual(filtered.facets.collection, []);

    const staff = await search(index, { q: 'bac giang' }, STAFF);
    t.true(ids(staff).includes('mat-ban'));
    t.is(staff.facets.accessLevel.find((f) => f.value === 'confidential')?.count, 1);
    t.is((await search(index, { q: NOM }, STAFF)).total, 2);
  });

  test(`${name}: a restricted work's record is found by everyone, its page text only by readers`, async (t) => {
    const index = await fresh();
    const record = await search(index, { q: 'hương ước' });
    t.deepEqual(ids(record), ['huong-uoc']);
    t.deepEqual(record.hits[0]?.pageHits, []);
    t.is(record.hits[0]?.pageMatches, 0);
    t.is((await search(index, { q: 'xyzzy' })).total, 0);
    t.false(JSON.stringify(await search(index, { q: 'làng bac giang' })).includes('xyzzy'));

    const reader = await search(index, { q: 'xyzzy' }, READER);
    t.deepEqual(ids(reader), ['huong-uoc']);
    t.deepEqual(marked(reader.hits[0]?.pageHits[0]?.snippet ?? []), ['xyzzy']);
    t.is(reader.hits[0]?.pageMatches, 1);
  });

  test(`${name}: FTS syntax, SQL, emoji, lone surrogates and long queries give an answer or a SearchQueryError`, async (t) => {
    const index = await fresh();
    const nasty = [
      '"',
      '""',
      '"Bắc Giang',
      'Bắc Giang)',
      '((Bắc',
      '*',
      'bac*',
      'NEAR(bac giang',
      'NEAR(bac giang, 2)',
      'bac AND',
      'AND OR NOT',
      'title:bac',
      '{title}: bac',
      '^bac',
      "'; DROP TABLE works; --",
      "1' OR '1'='1",
      '😀',
      '😀 bac giang 👍🏽',
      '\uD800',
      '\uDC00bac giang\uD83D',
      'x'.repeat(2000),
      'bắc '.repeat(500),
      '北'.repeat(2000).slice(0, 2000),
      '\u0000bac\u0000giang',
      '\u0301\u0301',
    ];
    for (const q of nasty) {
      try {
        const r = await search(index, { q });
        t.true(r.total >= 0 && r.total <= PUBLIC_WORKS.length, q.slice(0, 40));
        t.false(ids(r).includes('mat-ban'), q.slice(0, 40));
      } catch (err) {
        t.true(err instanceof SearchQueryError, `${q.slice(0, 40)}: ${String(err)}`);
      }
    }
    // Syntax characters are separators, so the words still find what they name.
    for (const q of ['"Bắc Giang', 'Bắc Giang)', '((Bắc Giang', '"bac" "giang"', '😀 bac giang 👍🏽', '\uDC00bac giang\uD83D', '\u0000bac\u0000giang']) {
      t.true(ids(await search(index, { q })).includes('phong-tho-bac-giang'), q);
    }
    // Nothing but punctuation is the empty query: browse.
    t.is((await search(index, { q: '*' })).total, PUBLIC_WORKS.length);
    const manyWords = Array.from({ length: 100 }, (_, i) => `từ${i}`).join(' ');
    const tooLong = await t.throwsAsync(search(index, { q: manyWords }), { instanceOf: SearchQueryError });
    t.regex(tooLong?.messages.vi ?? '', /tối đa/);
    t.throws(() => parseSearchQuery({ q: 'x'.repeat(2001) }, PUBLIC), { instanceOf: SearchQueryError });
    // The index is intact after all of it.
    t.is((await search(index, { q: '' })).total, PUBLIC_WORKS.length);
  });

  test(`${name}: 500 seeded random queries of syntax, Vietnamese, Han, emoji and broken UTF-16 never give an engine error`, async (t) => {
    const index = await fresh();
    const random = mulberry32(2026);
    const pieces = ['"', "'", '*', '(', ')', ':', '^', '{', '}', '-', '+', ';', '--', 'NEAR', 'AND', 'OR', 'NOT', 'SELECT', 'bắc', 'GIANG', 'địa', 'bạ', '北', '江', NOM, '传', '😀', '\uD800', '\uDC00', '\u0301', '\u0000', ' ', ' ', '%', '_', '\\'];
    for (let i = 0; i < 500; i++) {
      const q = Array.from({ length: 1 + Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]).join(random() < 0.5 ? '' : ' ');
      try {
        const r = await search(index, { q });
        t.false(ids(r).includes('mat-ban'), JSON.stringify(q));
        t.is(r.hits.length, Math.min(r.total, 20), JSON.stringify(q));
      } catch (err) {
        t.true(err instanceof SearchQueryError, `${JSON.stringify(q)}: ${String(err)}`);
      }
    }
  });

  test(`${name}: unknown filters and bad values are a SearchQueryError naming them`, (t) => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ filters: { colour: 'red' } }, /colour/],
      [{ filters: { language: 'vietnamese' } }, /language/],
      [{ filters: { century: 'XIX' } }, /century/],
      [{ filters: { accessLevel: 'secret' } }, /accessLevel/],
      [{ filters: { hasText: 'maybe' } }, /hasText/],
      [{ filters: { collection: 'Bad Id!' } }, /collection/],
      [{ sort: 'random' }, /sort/],
      [{ page: 0 }, /page/],
      [{ perPage: 1000 }, /perPage/],
      [{ q: 42 }, /q/],
      [{ offset: 3 }, /offset/],
    ];
    for (const [input, field] of bad) {
      const err = t.throws(() => parseSearchQuery(input, PUBLIC), { instanceOf: SearchQueryError });
      t.regex(err?.issues.map((i) => `${i.field} ${i.message}`).join(' ') ?? '', field, JSON.stringify(input));
      t.truthy(err?.messages.vi && err.messages.en);
    }
  });

  test(`${name}: an exact-diacritic match ranks above a folded-only one`, async (t) => {
    const index = await fresh();
    t.deepEqual(ids(await search(index, { q: 'kím' })), ['kim-chi', 'kim-van-kieu']);
    t.deepEqual(ids(await search(index, { q: 'Kim' })), ['kim-van-kieu', 'kim-chi']);
  });

  test(`${name}: field weights rank title > alternative title > subject > description > page text`, async (t) => {
    const filler = 'văn bản cổ lưu trữ tại thư viện tỉnh';
    const index = await fresh([
      work('in-page', 'open', { title: `Sách E ${filler}`, description: filler }),
      page('in-page', 1, `Quỳnh ${filler}`),
      work('in-description', 'open', { title: `Sách D ${filler}`, description: `Quỳnh ${filler}` }),
      work('in-subject', 'open', { title: `Sách C ${filler}`, subject: `Quỳnh ${filler}` }),
      work('in-alt', 'open', { title: `Sách B ${filler}`, alternativeTitle: [`Quỳnh ${filler}`] }),
      work('in-title', 'open', { title: `Quỳnh ${filler}` }),
    ]);
    t.deepEqual(ids(await search(index, { q: 'quynh' })), ['in-title', 'in-alt', 'in-subject', 'in-description', 'in-page']);
  });

  test(`${name}: facets count the matches (multi-select: each over the other filters) and filters narrow them`, async (t) => {
    const index = await fresh();
    const all = await search(index, { q: '' });
    t.deepEqual(all.facets.language, [
      { value: 'vie', count: 5, selected: false },
      { value: 'lzh', count: 2, selected: false },
    ]);
    t.deepEqual(all.facets.hasText.map((f) => [f.value, f.count]).sort(), [['false', 3], ['true', 3]]);
    t.deepEqual(all.facets.century.map((f) => f.value), ['16', '19', '20']);

    const lzh = await search(index, { q: '', filters: { language: 'lzh' } });
    t.deepEqual(sorted(ids(lzh)), sorted(['dia-ba-bac-giang', 'truyen-ky']));
    t.deepEqual(lzh.facets.language.find((f) => f.value === 'lzh'), { value: 'lzh', count: 2, selected: true });
    t.is(lzh.facets.language.find((f) => f.value === 'vie')?.count, 5);
    t.deepEqual(lzh.facets.collection.map((f) => f.value).sort(), ['dia-ba', 'han-nom']);

    for (const century of [19, '19']) {
      t.deepEqual(sorted(ids(await search(index, { q: 'bac giang', filters: { century } }))), sorted(['dia-ba-bac-giang', 'phong-tho-bac-giang']));
    }
    t.deepEqual(ids(await search(index, { q: 'bac giang', filters: { hasText: 'false' } })), ['phong-tho-bac-giang']);
    t.deepEqual(sorted(ids(await search(index, { q: '', filters: { collection: ['dia-ba', 'dia-chi'] } }))), sorted(['dia-ba-bac-giang', 'phong-tho-bac-giang']));
    t.deepEqual(ids(await search(index, { q: '', filters: { type: 'địa chí' } })), ['phong-tho-bac-giang']);
    t.deepEqual(ids(await search(index, { q: '', filters: { type: 'địa chí'.normalize('NFD') } })), ['phong-tho-bac-giang']);
    t.deepEqual(ids(await search(index, { q: '', filters: { accessLevel: 'restricted' } })), ['huong-uoc']);
    // A chosen value nothing matches still shows, so it can be removed.
    const none = await search(index, { q: 'kim', filters: { collection: 'han-nom' } });
    t.is(none.total, 0);
    t.deepEqual(none.facets.collection, [{ value: 'han-nom', count: 0, selected: true }]);
  });

  test(`${name}: the library facet counts works by their collection's library (multi-select); the filter narrows to it, works in no collection are the home library's`, async (t) => {
    const index = await fresh();
    // dia-ba and dia-chi are a district library's; han-nom named as the home one's; the rest unnamed (home).
    const libraries: LibraryMap = { home: 'tinh', byCollection: new Map([['dia-ba', 'huyen'], ['dia-chi', 'huyen'], ['han-nom', 'tinh']]) };
    const lib = (input: Record<string, unknown>, visibility: Visibility = PUBLIC) => index.search(parseSearchQuery(input, visibility, libraries));
    const counts = (r: SearchResult) => r.facets.library.map((f) => [f.value, f.count, f.selected]);

    const all = await lib({ q: '' });
    t.deepEqual(counts(all), [['tinh', 4, false], ['huyen', 2, false]]);
    const huyen = await lib({ q: '', filters: { library: 'huyen' } });
    t.deepEqual(sorted(ids(huyen)), ['dia-ba-bac-giang', 'phong-tho-bac-giang']);
    t.deepEqual(counts(huyen), [['tinh', 4, false], ['huyen', 2, true]]);
    t.deepEqual(huyen.facets.collection.map((f) => f.value).sort(), ['dia-ba', 'dia-chi']);
    const tinh = await lib({ q: '', filters: { library: 'tinh' } });
    t.deepEqual(sorted(ids(tinh)), sorted(['truyen-ky', 'huong-uoc', 'kim-van-kieu', 'kim-chi']));
    t.is((await lib({ q: '', filters: { library: ['tinh', 'huyen'] } })).total, 6);
    // With words and another filter: each facet over the other filters.
    t.deepEqual(ids(await lib({ q: 'bac giang', filters: { library: 'huyen', hasText: 'true' } })), ['dia-ba-bac-giang']);
    const lzh = await lib({ q: '', filters: { language: 'lzh' } });
    t.deepEqual(counts(lzh), [['huyen', 1, false], ['tinh', 1, false]]);
    const lzhHuyen = await lib({ q: '', filters: { language: 'lzh', library: 'huyen' } });
    t.deepEqual(ids(lzhHuyen), ['dia-ba-bac-giang']);
    t.deepEqual(lzhHuyen.facets.language.map((f) => [f.value, f.count]), [['vie', 2], ['lzh', 1]]);
    // A library with no collection: nothing, and the chosen value stays to be removed.
    const none = await lib({ q: '', filters: { library: 'xa' } });
    t.is(none.total, 0);
    t.deepEqual(counts(none), [['tinh', 4, false], ['huyen', 2, false], ['xa', 0, true]]);
    // Staff count the confidential work too, in the home library (its collection is unnamed).
    t.deepEqual(counts(await lib({ q: '' }, STAFF)), [['tinh', 5, false], ['huyen', 2, false]]);
    // Asked without a map, every work is the home library's.
    t.deepEqual((await search(index, { q: '' })).facets.library, [{ value: 'home', count: PUBLIC_WORKS.length, selected: false }]);
  });

  test(`${name}: a library's staff find their own library's confidential works, record and page text, never another library's`, async (t) => {
    const index = await fresh([
      ...CORPUS,
      work('mat-huyen', 'confidential', { title: 'Bắc Giang mật lục của huyện', language: ['vie'], type: 'mật', collectionId: 'dia-ba', yearFrom: 1935 }),
      page('mat-huyen', 1, `Sổ mật plughmat ${NOM} của huyện`),
    ]);
    // dia-ba and dia-chi are the district library's; mat (where mat-ban is) is unnamed, so the home library's.
    const libraries: LibraryMap = { home: 'tinh', byCollection: new Map([['dia-ba', 'huyen'], ['dia-chi', 'huyen']]) };
    const districtCurator = visibilityFor({ role: 'curator', library: 'huyen' }, libraries);
    const homeCurator = visibilityFor({ role: 'curator', library: 'tinh' }, libraries);
    const lib = (input: Record<string, unknown>, visibility: Visibility) => index.search(parseSearchQuery(input, visibility, libraries));

    const all = await lib({ q: '' }, districtCurator);
    t.deepEqual(sorted(ids(all)), sorted([...PUBLIC_WORKS, 'mat-huyen']));
    t.is(all.facets.accessLevel.find((f) => f.value === 'confidential')?.count, 1);
    t.deepEqual(all.facets.library.map((f) => [f.value, f.count]), [['tinh', 4], ['huyen', 3]]);
    t.deepEqual(sorted(ids(await lib({ q: 'bac giang' }, districtCurator))), sorted(['dia-ba-bac-giang', 'phong-tho-bac-giang', 'huong-uoc', 'mat-huyen']));
    // Their own confidential work's page text: found, counted and shown.
    const text = await lib({ q: 'plughmat' }, districtCurator);
    t.deepEqual(ids(text), ['mat-huyen']);
    t.is(text.hits[0]?.pageMatches, 1);
    t.deepEqual(text.hits[0]?.pageHits.map((h) => h.pageId), ['mat-huyen-p1']);
    // Both confidential works have the Nôm character on a page: each library's staff find their own only.
    t.deepEqual(sorted(ids(await lib({ q: NOM }, districtCurator))), sorted(['dia-ba-bac-giang', 'mat-huyen']));
    t.deepEqual(sorted(ids(await lib({ q: NOM }, homeCurator))), sorted(['dia-ba-bac-giang', 'mat-ban']));
    t.deepEqual(sorted(ids(await lib({ q: '', filters: { accessLevel: 'confidential' } }, homeCurator))), ['mat-ban']);
    t.false(JSON.stringify(await lib({ q: 'mat' }, districtCurator)).includes('mật bản'), 'nothing of the other library\'s confidential record leaks');
    // The public, and staff asked about without the map, find neither.
    for (const v of [PUBLIC, visibilityFor({ role: 'curator', library: 'huyen' })]) {
      t.is((await lib({ q: 'plughmat' }, v)).total, 0);
      t.false(ids(await lib({ q: '' }, v)).some((id) => id.startsWith('mat-')));
    }
  });

  test(`${name}: paging walks every hit once; a page past the end is empty with the same total`, async (t) => {
    const index = await fresh();
    const seen: string[] = [];
    const first = await search(index, { q: '', perPage: 2, page: 1 });
    t.is(first.pageCount, Math.ceil(PUBLIC_WORKS.length / 2));
    for (let p = 1; p <= first.pageCount; p++) {
      const r = await search(index, { q: '', perPage: 2, page: p });
      t.is(r.total, PUBLIC_WORKS.length);
      t.true(r.hits.length <= 2);
      seen.push(...ids(r));
    }
    t.deepEqual([...seen].sort(), [...PUBLIC_WORKS].sort());
    const past = await search(index, { q: '', perPage: 2, page: first.pageCount + 1 });
    t.deepEqual(past.hits, []);
    t.is(past.total, PUBLIC_WORKS.length);
  });

  test(`${name}: sort by title is Vietnamese dictionary order (Đ after D, tones ngang huyền hỏi ngã sắc nặng); by date oldest or newest first`, async (t) => {
    const titles = ['Đường thi', 'Dư địa chí', 'Ba', 'Bà', 'Bả', 'Bã', 'Bá', 'Bạ', 'Bác', 'Ăn', 'An', 'Ân', 'Ê', 'E', 'Zeta', 'Ư', 'Uy', '傳'];
    const index = await fresh(titles.map((title, i) => work(`t${i}`, 'open', { title, yearFrom: 1800 + ((i * 7) % titles.length) })));
    const r = await search(index, { q: '', sort: 'title', perPage: 100 });
    const expected = [...titles].sort(new Intl.Collator('vi').compare);
    t.deepEqual(r.hits.map((h) => h.work.metadata.title), expected);
    t.deepEqual(expected.slice(0, 9), ['An', 'Ăn', 'Ân', 'Ba', 'Bà', 'Bả', 'Bã', 'Bá', 'Bạ']);
    t.true(expected.indexOf('Dư địa chí') < expected.indexOf('Đường thi'));
    const years = (await search(index, { q: '', sort: 'date', perPage: 100 })).hits.map((h) => h.work.metadata.yearFrom ?? 0);
    t.deepEqual(years, [...years].sort((a, b) => a - b));
    const newest = (await search(index, { q: '', sort: 'date-desc', perPage: 100 })).hits.map((h) => h.work.metadata.yearFrom ?? 0);
    t.deepEqual(newest, [...years].sort((a, b) => b - a));
  });

  test(`${name}: upsert replaces, delete removes a work with its pages or one page, checkpoint and clear`, async (t) => {
    const index = await fresh();
    t.is(await index.readCheckpoint(), undefined);
    await index.upsert([work('kim-chi', 'open', { title: 'Nam chỉ mới' })], { version: 1, position: 41n });
    t.deepEqual(await index.readCheckpoint(), { version: 1, position: 41n });
    t.deepEqual(ids(await search(index, { q: 'kím' })), ['kim-van-kieu']);
    t.deepEqual(ids(await search(index, { q: 'mới' })), ['kim-chi']);

    await index.delete([{ kind: 'page', id: 'dia-ba-bac-giang-p2' }], { version: 1, position: 42n });
    t.is((await search(index, { q: NOM })).total, 0);
    t.deepEqual(await index.readCheckpoint(), { version: 1, position: 42n });

    await index.delete([{ kind: 'work', id: 'dia-ba-bac-giang' }, { kind: 'work', id: 'no-such-work' }]);
    t.false(ids(await search(index, { q: '北' })).includes('dia-ba-bac-giang'));
    t.false(ids(await search(index, { q: 'ruong cong' })).includes('dia-ba-bac-giang'));

    await index.delete([{ kind: 'page', id: 'truyen-ky-p1' }, { kind: 'page', id: 'truyen-ky-p2' }]);
    t.deepEqual(ids(await search(index, { q: '', filters: { hasText: true } })), ['huong-uoc']);

    // A work re-registered after a withdrawal is found again, with none of its old pages.
    await index.upsert([work('dia-ba-bac-giang', 'open', { title: 'Địa bạ tỉnh Bắc Giang' })]);
    t.deepEqual(ids(await search(index, { q: '地簿' })), []);
    t.deepEqual(ids(await search(index, { q: 'dia ba' })), ['dia-ba-bac-giang']);

    await index.clear();
    t.is(await index.readCheckpoint(), undefined);
    t.is((await search(index, { q: '' })).total, 0);

    // A rebuild after the clear answers as the first build did.
    await index.upsert(CORPUS, { version: 2, position: 1n });
    t.deepEqual(ids(await search(index, { q: NOM })), ['dia-ba-bac-giang']);
    t.is((await search(index, { q: '' })).total, PUBLIC_WORKS.length);
  });

  test(`${name}: a page may arrive before its work, and an access change moves page text in and out of reach`, async (t) => {
    const index = await fresh([page('late', 1, 'Văn tế nghĩa sĩ')]);
    t.is((await search(index, { q: 'van te' }, STAFF)).total, 0);
    await index.upsert([work('late', 'open', { title: 'Tế văn' })]);
    t.deepEqual(ids(await search(index, { q: 'nghia si' })), ['late']);
    await index.upsert([work('late', 'restricted', { title: 'Tế văn' })]);
    t.is((await search(index, { q: 'nghia si' })).total, 0);
    t.deepEqual(ids(await search(index, { q: 'nghia si' }, READER)), ['late']);
    await index.upsert([work('late', 'confidential', { title: 'Tế văn' })]);
    t.is((await search(index, { q: 'te van' }, READER)).total, 0);
    t.deepEqual(ids(await search(index, { q: 'te van' }, STAFF)), ['late']);
  });
}

import test from 'ava';
import { contentSearchResponse, findHits, HITS_PER_PAGE, type SearchablePage } from '../../src/iiif/content-search.ts';
import { buildTextAnnotationPage, languageOf, textLines } from '../../src/iiif/text-annotations.ts';
import { parseSearchPage } from '../../viewer/src/search.ts';

/**
 * Page text over IIIF, pure parts: the supplementing AnnotationPage of a canvas and the
 * Content Search 2 response, against hand-written documents for a fixed small work (golden
 * vectors: written from the specifications, not printed by the code), and the line grouping
 * and hit rules those documents rest on.
 */
const BASE = 'https://thukho.example';
const CANVAS = `${BASE}/iiif/manifest/dia-ba/canvas`;

// "Địa bạ xã Đông Lỗ" over "huyện Bắc Giang": UTF-16 offsets of each word, boxes in canvas
// pixels, the second line's last word a little lower (a skewed scan).
const F1: SearchablePage = {
  imageId: 'f1',
  text: 'Địa bạ xã Đông Lỗ\nhuyện Bắc Giang',
  language: ['vie'],
  words: [
    { start: 0, end: 3, x: 100, y: 100, w: 60, h: 40 },
    { start: 4, end: 6, x: 170, y: 100, w: 45, h: 40 },
    { start: 7, end: 9, x: 225, y: 100, w: 45, h: 40 },
    { start: 10, end: 14, x: 280, y: 100, w: 90, h: 40 },
    { start: 15, end: 17, x: 380, y: 100, w: 50, h: 40 },
    { start: 18, end: 23, x: 100, y: 160, w: 110, h: 40 },
    { start: 24, end: 27, x: 220, y: 160, w: 70, h: 40 },
    { start: 28, end: 33, x: 300, y: 162, w: 100, h: 40 },
  ],
};
/** Text typed by a transcriber: no word boxes. */
const F2: SearchablePage = { imageId: 'f2', text: 'Bắc Giang', language: ['vie'] };
const F3: SearchablePage = { imageId: 'f3', text: 'Hà Nội', language: ['vie'] };

test('golden: the AnnotationPage of a page with word boxes, a line annotation per line', (t) => {
  t.deepEqual(buildTextAnnotationPage(BASE, 'dia-ba', 'f1', F1), {
    '@context': ['http://iiif.io/api/extension/text-granularity/context.json', 'http://iiif.io/api/presentation/3/context.json'],
    id: 'https://thukho.example/iiif/text/dia-ba/f1',
    type: 'AnnotationPage',
    items: [
      {
        id: 'https://thukho.example/iiif/text/dia-ba/f1/line/1',
        type: 'Annotation',
        motivation: 'supplementing',
        textGranularity: 'line',
        body: { type: 'TextualBody', value: 'Địa bạ xã Đông Lỗ', format: 'text/plain', language: 'vi' },
        target: 'https://thukho.example/iiif/manifest/dia-ba/canvas/f1#xywh=100,100,330,40',
      },
      {
        id: 'https://thukho.example/iiif/text/dia-ba/f1/line/2',
        type: 'Annotation',
        motivation: 'supplementing',
        textGranularity: 'line',
        body: { type: 'TextualBody', value: 'huyện Bắc Giang', format: 'text/plain', language: 'vi' },
        target: 'https://thukho.example/iiif/manifest/dia-ba/canvas/f1#xywh=100,160,300,42',
      },
    ],
  });
});

test('golden: text without word boxes is one page-granularity annotation on the whole canvas; a blank page has none', (t) => {
  t.deepEqual(buildTextAnnotationPage(BASE, 'dia-ba', 'f2', F2), {
    '@context': ['http://iiif.io/api/extension/text-granularity/context.json', 'http://iiif.io/api/presentation/3/context.json'],
    id: 'https://thukho.example/iiif/text/dia-ba/f2',
    type: 'AnnotationPage',
    items: [
      {
        id: 'https://thukho.example/iiif/text/dia-ba/f2/page',
        type: 'Annotation',
        motivation: 'supplementing',
        textGranularity: 'page',
        body: { type: 'TextualBody', value: 'Bắc Giang', format: 'text/plain', language: 'vi' },
        target: 'https://thukho.example/iiif/manifest/dia-ba/canvas/f2',
      },
    ],
  });
  t.is(buildTextAnnotationPage(BASE, 'dia-ba', 'f4', { text: ' \n ' }), undefined);
  t.is(buildTextAnnotationPage(BASE, 'dia-ba', 'f4', { text: '', words: [] }), undefined);
});

test('lines: a row breaks where words stop overlapping vertically, even without a line break in the text', (t) => {
  // "một hai" on one row, "ba bốn" under it; the text has only spaces.
  const text = 'một hai ba bốn';
  const words = [
    { start: 0, end: 3, x: 10, y: 10, w: 50, h: 20 },
    { start: 4, end: 7, x: 70, y: 12, w: 50, h: 20 },
    { start: 8, end: 10, x: 10, y: 40, w: 30, h: 20 },
    { start: 11, end: 14, x: 50, y: 40, w: 40, h: 20 },
  ];
  t.deepEqual(textLines(text, words).map((l) => [l.start, l.end]), [[0, 7], [8, 14]]);
});

test('lines: Han characters set in columns group by horizontal overlap, right column first as the text gives them', (t) => {
  // 北江省 in the right column, then 南定 to its left, with and without a line break between.
  const column = [
    { start: 0, end: 1, x: 500, y: 100, w: 50, h: 50 },
    { start: 1, end: 2, x: 502, y: 160, w: 50, h: 50 },
    { start: 2, end: 3, x: 500, y: 220, w: 50, h: 50 },
  ];
  for (const [text, offset] of [['北江省\n南定', 4], ['北江省南定', 3]] as const) {
    const words = [...column, { start: offset, end: offset + 1, x: 430, y: 100, w: 50, h: 50 }, { start: offset + 1, end: offset + 2, x: 430, y: 160, w: 50, h: 50 }];
    const page = buildTextAnnotationPage(BASE, 'han', 'p1', { text, words, language: ['lzh'] });
    const items = page?.items as Array<{ body: { value: string; language: string }; target: string }>;
    t.deepEqual(items.map((a) => [a.body.value, a.body.language, a.target.split('#')[1]]), [
      ['北江省', 'lzh', 'xywh=500,100,52,170'],
      ['南定', 'lzh', 'xywh=430,100,50,110'],
    ]);
  }
  // Latin words one under the other are two lines, not a column.
  t.is(textLines('a b', [{ start: 0, end: 1, x: 0, y: 0, w: 10, h: 10 }, { start: 2, end: 3, x: 0, y: 20, w: 10, h: 10 }]).length, 2);
});

test('language: Han lines take the page\'s Han language, the others its other language (BCP 47)', (t) => {
  t.is(languageOf('Bắc Giang', ['vie', 'lzh']), 'vi');
  t.is(languageOf('北江', ['vie', 'lzh']), 'lzh');
  t.is(languageOf('𡨸喃', ['nom']), 'vi-Hani');
  t.is(languageOf('Paris', ['fra']), 'fr');
  t.is(languageOf('北江', ['vie']), undefined);
  t.is(languageOf('Bắc Giang', undefined), undefined);
});

test('golden: Content Search 2 for "bac giang" finds Bắc Giang with its box and its context', (t) => {
  const answer = contentSearchResponse({ base: BASE, objectId: 'dia-ba', q: 'bac giang', page: 1, ignored: [] }, [F1, F2, F3]);
  t.deepEqual(answer, {
    status: 'ok',
    body: {
      '@context': ['http://iiif.io/api/presentation/3/context.json', 'http://iiif.io/api/search/2/context.json'],
      id: 'https://thukho.example/iiif/search/dia-ba?q=bac%20giang',
      type: 'AnnotationPage',
      items: [
        {
          id: 'https://thukho.example/iiif/text/dia-ba/f1/match/24-33',
          type: 'Annotation',
          motivation: 'supplementing',
          body: { type: 'TextualBody', value: 'Bắc Giang', format: 'text/plain', language: 'vi' },
          target: 'https://thukho.example/iiif/manifest/dia-ba/canvas/f1#xywh=220,160,180,42',
        },
        {
          id: 'https://thukho.example/iiif/text/dia-ba/f2/match/0-9',
          type: 'Annotation',
          motivation: 'supplementing',
          body: { type: 'TextualBody', value: 'Bắc Giang', format: 'text/plain', language: 'vi' },
          target: 'https://thukho.example/iiif/manifest/dia-ba/canvas/f2',
        },
      ],
      annotations: [
        {
          type: 'AnnotationPage',
          items: [
            {
              id: 'https://thukho.example/iiif/search/dia-ba/context/f1/24-33',
              type: 'Annotation',
              motivation: 'contextualizing',
              target: {
                type: 'SpecificResource',
                source: 'https://thukho.example/iiif/text/dia-ba/f1/match/24-33',
                selector: [{ type: 'TextQuoteSelector', prefix: 'Địa bạ xã Đông Lỗ huyện ', exact: 'Bắc Giang' }],
              },
            },
            {
              id: 'https://thukho.example/iiif/search/dia-ba/context/f2/0-9',
              type: 'Annotation',
              motivation: 'contextualizing',
              target: {
                type: 'SpecificResource',
                source: 'https://thukho.example/iiif/text/dia-ba/f2/match/0-9',
                selector: [{ type: 'TextQuoteSelector', exact: 'Bắc Giang' }],
              },
            },
          ],
        },
      ],
    },
  });
});

test('golden: no hits is an empty page; unimplemented parameters are reported as ignored', (t) => {
  t.deepEqual(contentSearchResponse({ base: BASE, objectId: 'dia-ba', q: 'Huế', page: 1, ignored: ['user', 'date'] }, [F1, F2, F3]), {
    status: 'ok',
    body: {
      '@context': ['http://iiif.io/api/presentation/3/context.json', 'http://iiif.io/api/search/2/context.json'],
      id: 'https://thukho.example/iiif/search/dia-ba?q=Hu%E1%BA%BF',
      type: 'AnnotationPage',
      ignored: ['user', 'date'],
      items: [],
    },
  });
});

test('the reading room\'s search panel reads our response: canvas, box and snippet of each hit', (t) => {
  const answer = contentSearchResponse({ base: BASE, objectId: 'dia-ba', q: 'Bắc Giang', page: 1, ignored: [] }, [F1, F2]);
  if (answer.status !== 'ok') return t.fail();
  const parsed = parseSearchPage(JSON.parse(JSON.stringify(answer.body)));
  t.deepEqual(parsed?.hits.map((h) => ({ canvasId: h.canvasId, xywh: h.xywh, before: h.before, match: h.match, after: h.after })), [
    { canvasId: `${CANVAS}/f1`, xywh: { x: 220, y: 160, w: 180, h: 42 }, before: 'Địa bạ xã Đông Lỗ huyện ', match: 'Bắc Giang', after: '' },
    { canvasId: `${CANVAS}/f2`, xywh: undefined, before: '', match: 'Bắc Giang', after: '' },
  ]);
});

test('hits: folding as in site search, every term needed, a phrase in quotes, Han runs, words on two lines two hits', (t) => {
  const spans = (q: string, pages: SearchablePage[] = [F1]) => findHits(pages, q).map((h) => [h.imageId, h.start, h.end, h.xywh]);
  t.deepEqual(spans('DONG lo'), [['f1', 10, 17, '280,100,150,40']]);
  t.deepEqual(spans('đông huế'), [], 'a page needs every term');
  // "Lỗ" ends line 1 and "huyện" starts line 2: two hits, each on its own line.
  t.deepEqual(spans('lo huyen'), [['f1', 15, 17, '380,100,50,40'], ['f1', 18, 23, '100,160,110,40']]);
  t.deepEqual(spans('"lỗ huyện"'), [['f1', 15, 17, '380,100,50,40'], ['f1', 18, 23, '100,160,110,40']]);
  t.deepEqual(spans('"huyện lỗ"'), [], 'a phrase in another order does not match');
  const han: SearchablePage = { imageId: 'h', text: '北江省南定', words: [0, 1, 2, 3, 4].map((i) => ({ start: i, end: i + 1, x: 500, y: 100 + 60 * i, w: 50, h: 50 })) };
  t.deepEqual(spans('江省', [han]), [['h', 1, 3, '500,160,50,110']]);
  t.deepEqual(spans('省江', [han]), [], 'a Han run is a phrase');
});

test('hits: the context never splits a Nôm character (a surrogate pair) and stays on one line', (t) => {
  const nom = '𡨸'.repeat(30);
  const page: SearchablePage = { imageId: 'n', text: `${nom} Kiều\n${nom}` };
  const answer = contentSearchResponse({ base: BASE, objectId: 'k', q: 'kieu', page: 1, ignored: [] }, [page]);
  if (answer.status !== 'ok') return t.fail();
  const quote = JSON.stringify(answer.body.annotations);
  // JSON.stringify writes pairs as they are and escapes only a lone surrogate.
  t.false(/\\ud[89a-f][0-9a-f]{2}/i.test(quote), 'no lone surrogate');
  const selector = (answer.body.annotations as Array<{ items: Array<{ target: { selector: Array<Record<string, string>> } }> }>)[0]?.items[0]?.target.selector[0];
  t.is(selector?.exact, 'Kiều');
  t.true(selector?.prefix?.endsWith('𡨸 ') && [...(selector?.prefix ?? '')].every((c) => c === '𡨸' || c === ' '));
  t.false(selector?.suffix?.includes('\n'));
});

test('motivation: our hits are supplementing; asking for another motivation finds nothing', (t) => {
  const ask = (motivation: string[]) => contentSearchResponse({ base: BASE, objectId: 'dia-ba', q: 'giang', motivation, page: 1, ignored: [] }, [F1]);
  const some = ask(['painting', 'supplementing']);
  const none = ask(['commenting']);
  t.true(some.status === 'ok' && (some.body.items as unknown[]).length === 1);
  t.true(none.status === 'ok' && (none.body.items as unknown[]).length === 0);
  t.true(some.status === 'ok' && some.body.id === 'https://thukho.example/iiif/search/dia-ba?q=giang&motivation=painting%20supplementing');
});

test(`paging: more than ${HITS_PER_PAGE} hits come in pages linked by next/prev within an AnnotationCollection`, (t) => {
  const pages: SearchablePage[] = Array.from({ length: 3 }, (_, i) => ({ imageId: `p${i}`, text: Array.from({ length: 200 }, () => 'làng').join(' ') }));
  const first = contentSearchResponse({ base: BASE, objectId: 'w', q: 'lang', page: 1, ignored: [] }, pages);
  if (first.status !== 'ok') return t.fail();
  // Words side by side are one hit: each page of text is one run of 200 words.
  t.is((first.body.items as unknown[]).length, 3);
  t.false('next' in first.body);
  const many: SearchablePage[] = Array.from({ length: HITS_PER_PAGE + 1 }, (_, i) => ({ imageId: `p${i}`, text: 'làng xã' }));
  const p1 = contentSearchResponse({ base: BASE, objectId: 'w', q: 'lang', page: 1, ignored: [] }, many);
  const p2 = contentSearchResponse({ base: BASE, objectId: 'w', q: 'lang', page: 2, ignored: [] }, many);
  if (p1.status !== 'ok' || p2.status !== 'ok') return t.fail();
  t.is((p1.body.items as unknown[]).length, HITS_PER_PAGE);
  t.is((p2.body.items as unknown[]).length, 1);
  t.deepEqual(p1.body.partOf, {
    id: 'https://thukho.example/iiif/search/w?q=lang',
    type: 'AnnotationCollection',
    total: HITS_PER_PAGE + 1,
    first: { id: 'https://thukho.example/iiif/search/w?q=lang&page=1', type: 'AnnotationPage' },
    last: { id: 'https://thukho.example/iiif/search/w?q=lang&page=2', type: 'AnnotationPage' },
  });
  t.deepEqual(p1.body.next, { id: 'https://thukho.example/iiif/search/w?q=lang&page=2', type: 'AnnotationPage' });
  t.deepEqual(p2.body.prev, { id: 'https://thukho.example/iiif/search/w?q=lang&page=1', type: 'AnnotationPage' });
  t.is(p2.body.id, 'https://thukho.example/iiif/search/w?q=lang&page=2');
  t.deepEqual(contentSearchResponse({ base: BASE, objectId: 'w', q: 'lang', page: 3, ignored: [] }, many), { status: 'no-page', pages: 2 });
  t.is(parseSearchPage(JSON.parse(JSON.stringify(p1.body)))?.total, HITS_PER_PAGE + 1);
});

import test from 'ava';
import { parseSearchPage, searchUrl } from '../../viewer/src/search.ts';

const C = 'https://example.org/iiif/manifest/kieu/canvas/f1';

test('Search 2 hits with TextQuoteSelector snippets, next page and total', (t) => {
  const page = parseSearchPage({
    '@context': 'http://iiif.io/api/search/2/context.json',
    id: 'https://example.org/search?q=kieu',
    type: 'AnnotationPage',
    partOf: { id: 'https://example.org/search?q=kieu', type: 'AnnotationCollection', total: 12 },
    next: { id: 'https://example.org/search?q=kieu&page=2', type: 'AnnotationPage' },
    items: [
      { id: 'h1', type: 'Annotation', motivation: 'highlighting', target: `${C}#xywh=10,20,30,40` },
      {
        id: 'h2',
        type: 'Annotation',
        motivation: 'highlighting',
        body: { type: 'TextualBody', value: 'Kiều' },
        target: { type: 'SpecificResource', source: { id: C, type: 'Canvas' }, selector: [{ type: 'FragmentSelector', value: 'xywh=1,2,3,4' }] },
      },
    ],
    annotations: [
      {
        type: 'AnnotationPage',
        items: [
          {
            id: 'm1',
            type: 'Annotation',
            motivation: 'contextualizing',
            target: { type: 'SpecificResource', source: { id: 'h1', type: 'Annotation' }, selector: [{ type: 'TextQuoteSelector', prefix: 'nàng ', exact: 'Kiều', suffix: ' ở' }] },
          },
        ],
      },
    ],
  });
  t.truthy(page);
  t.is(page?.total, 12);
  t.is(page?.next, 'https://example.org/search?q=kieu&page=2');
  t.deepEqual(page?.hits[0], { id: 'h1', canvasId: C, xywh: { x: 10, y: 20, w: 30, h: 40 }, before: 'nàng ', match: 'Kiều', after: ' ở' });
  t.deepEqual(page?.hits[1], { id: 'h2', canvasId: C, xywh: { x: 1, y: 2, w: 3, h: 4 }, before: '', match: 'Kiều', after: '' });
});

test('hits without a region, no more pages; junk is rejected', (t) => {
  const page = parseSearchPage({ type: 'AnnotationPage', items: [{ id: 'h', motivation: 'highlighting', target: C }, 'junk'] });
  t.deepEqual(page, { hits: [{ id: 'h', canvasId: C, before: '', match: '', after: '' }] });
  t.is(parseSearchPage('nope'), undefined);
  t.is(parseSearchPage({ items: 'x' }), undefined);
});

test('search URL keeps existing parameters', (t) => {
  t.is(searchUrl('https://x/search', 'Truyện Kiều'), 'https://x/search?q=Truy%E1%BB%87n%20Ki%E1%BB%81u');
  t.is(searchUrl('https://x/search?m=1', 'a'), 'https://x/search?m=1&q=a');
});

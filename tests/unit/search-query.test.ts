import test from 'ava';
import { findableLevels, parseSearchQuery, readableLevels, visibilityFor } from '../../src/search/port.ts';

test('visibility comes from the one access policy: the reading room reads restricted text, only staff see confidential works', (t) => {
  t.deepEqual(visibilityFor({ role: 'public' }), { confidential: false, restrictedText: false });
  t.deepEqual(visibilityFor({ role: 'public', inReadingRoom: true }), { confidential: false, restrictedText: true });
  t.deepEqual(visibilityFor({ role: 'reader' }), { confidential: false, restrictedText: true });
  t.deepEqual(visibilityFor({ role: 'curator' }), { confidential: true, restrictedText: true });
  t.deepEqual(visibilityFor({ role: 'admin' }), { confidential: true, restrictedText: true });
  const pub = visibilityFor({ role: 'public' });
  t.deepEqual(findableLevels(pub), ['open', 'restricted']);
  t.deepEqual(readableLevels(pub), ['open']);
  t.deepEqual(readableLevels(visibilityFor({ role: 'curator' })), ['open', 'restricted', 'confidential']);
});

test('a search as a query string gives it: defaults, one value or several, numbers and booleans as strings', (t) => {
  const v = visibilityFor({ role: 'public' });
  t.deepEqual(parseSearchQuery({}, v), { q: '', filters: {}, sort: 'relevance', page: 1, perPage: 20, pageHitsPerWork: 3, visibility: v });
  const q = parseSearchQuery({ q: 'địa bạ', filters: { language: ['vie', 'lzh'], century: '19', hasText: 'true', collection: 'dia-ba' }, page: '2', perPage: '50', sort: 'title' }, v);
  t.deepEqual(q.filters, { language: ['vie', 'lzh'], century: [19], hasText: true, collection: ['dia-ba'] });
  t.is(q.page, 2);
  t.is(q.perPage, 50);
  t.is(q.sort, 'title');
});

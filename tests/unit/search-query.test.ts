import test from 'ava';
import { findableLevels, mayRead, parseSearchQuery, readableLevels, visibilityFor } from '../../src/search/port.ts';

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

test('a library\'s staff see their own library\'s works as staff and the others\' as a reader; the condition is on the work\'s collection', (t) => {
  const libraries = { home: 'tinh', byCollection: new Map([['dia-ba', 'huyen'], ['sac-phong', 'xa']]) };
  const district = visibilityFor({ role: 'curator', library: 'huyen' }, libraries);
  t.deepEqual(district, { confidential: false, restrictedText: true, own: { works: { mode: 'in', collections: ['dia-ba'] }, confidential: true, restrictedText: true } });
  // The home library's works are those in no collection, or in no other library's.
  const home = visibilityFor({ role: 'auditor', library: 'tinh' }, libraries);
  t.deepEqual(home.own?.works, { mode: 'not-in', collections: ['dia-ba', 'sac-phong'] });
  t.true(mayRead(district, 'confidential', 'dia-ba'));
  t.false(mayRead(district, 'confidential', 'sac-phong'));
  t.false(mayRead(district, 'confidential', null));
  t.true(mayRead(home, 'confidential', null));
  t.false(mayRead(home, 'confidential', 'dia-ba'));
  t.true(mayRead(district, 'restricted', 'sac-phong'));
  t.false(mayRead(district, 'confidential', 'sac-phong'));
  // Without the map, or for an account of the whole instance, or a reader: no own works.
  t.deepEqual(visibilityFor({ role: 'curator', library: 'huyen' }), { confidential: false, restrictedText: true });
  t.deepEqual(visibilityFor({ role: 'curator' }, libraries), { confidential: true, restrictedText: true });
  t.deepEqual(visibilityFor({ role: 'reader', library: 'huyen' }, libraries), { confidential: false, restrictedText: true });
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

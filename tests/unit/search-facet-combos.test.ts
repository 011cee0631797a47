import test from 'ava';
import { countFacets, type FacetCombo } from '../../src/search/facet-combos.ts';

const combo = (c: Partial<FacetCombo> & { works: number }): FacetCombo => ({
  collection: null,
  type: null,
  century: null,
  hasText: false,
  accessLevel: 'open',
  languages: [],
  ...c,
});

const COMBOS = [
  combo({ collection: 'dia-ba', century: 19, languages: ['lzh', 'vie'], hasText: true, works: 4 }),
  combo({ collection: 'dia-ba', century: 20, languages: ['vie'], works: 3 }),
  combo({ collection: 'gia-pha', century: 19, languages: ['lzh'], accessLevel: 'restricted', works: 2 }),
  combo({ languages: [], works: 1 }),
];

test('without filters every work counts in every facet it has a value for', (t) => {
  const { total, counts } = countFacets(COMBOS, {});
  t.is(total, 10);
  t.deepEqual([...counts.language].sort(), [['lzh', 6], ['vie', 7]]);
  t.deepEqual([...counts.collection].sort(), [['dia-ba', 7], ['gia-pha', 2]]);
  t.deepEqual([...counts.hasText].sort(), [['false', 6], ['true', 4]]);
});

test('each facet is counted over the other facets\' filters; a work failing two filters counts nowhere', (t) => {
  const { total, counts } = countFacets(COMBOS, { language: ['lzh'], century: [19] });
  t.is(total, 6);
  // Language over century 19 only: the 20th-century `vie` work is out, the 19th-century one in.
  t.deepEqual([...counts.language].sort(), [['lzh', 6], ['vie', 4]]);
  // Century over language lzh only: the `vie`-only works of the 20th century are out.
  t.deepEqual([...counts.century].sort(), [['19', 6]]);
  // Collection over both filters.
  t.deepEqual([...counts.collection].sort(), [['dia-ba', 4], ['gia-pha', 2]]);
  t.deepEqual([...counts.accessLevel].sort(), [['open', 4], ['restricted', 2]]);
});

test('a value of a multi-valued facet matches the filter when any of the work\'s values is chosen', (t) => {
  const { total, counts } = countFacets(COMBOS, { language: ['vie', 'eng'] });
  t.is(total, 7);
  t.deepEqual([...counts.collection].sort(), [['dia-ba', 7]]);
});

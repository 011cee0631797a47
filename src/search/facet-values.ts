import type { FacetName, FacetValue, SearchFilters } from './port.ts';

const vietnamese = new Intl.Collator('vi');

/**
 * A facet as the port shows it, from the engine's counts (values as strings; `hasText` as
 * "true"/"false"): most frequent first (centuries in time order), and every chosen value
 * even when nothing matches it any more, so that it can be removed.
 */
export function facetValues(name: FacetName, counts: Iterable<readonly [string, number]>, filters: SearchFilters): FacetValue[] {
  const chosen = name === 'hasText' ? (filters.hasText === undefined ? [] : [filters.hasText]) : (filters[name] ?? []);
  const selected = new Set(chosen.map(String));
  const byValue = new Map(counts);
  for (const s of selected) if (!byValue.has(s)) byValue.set(s, 0);
  const values = [...byValue].map(([value, count]) => ({ value, count, selected: selected.has(value) }));
  if (name === 'century') return values.sort((a, b) => Number(a.value) - Number(b.value));
  return values.sort((a, b) => b.count - a.count || vietnamese.compare(a.value, b.value));
}

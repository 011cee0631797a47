import type { AccessLevel } from '../domain/metadata.ts';
import { FACETS, type FacetName, HOME_ONLY, type LibraryMap, libraryOfCollection, type SearchFilters } from './port.ts';

/**
 * Works that share every facet value, counted once: an engine that cannot count facets itself
 * groups its matches by all facet columns in one pass, and the total and every facet (each
 * over the filters of the others, as multi-select facets are) are summed from those groups
 * here, instead of one query per facet.
 */
export interface FacetCombo {
  collection: string | null;
  type: string | null;
  century: number | null;
  hasText: boolean;
  accessLevel: AccessLevel;
  languages: readonly string[];
  works: number;
}

/** The combo's values for one facet, as the port shows them (strings). */
function valuesOf(c: FacetCombo, name: FacetName, libraries: LibraryMap): string[] {
  switch (name) {
    case 'library':
      return [libraryOfCollection(libraries, c.collection)];
    case 'collection':
      return c.collection === null ? [] : [c.collection];
    case 'type':
      return c.type === null ? [] : [c.type];
    case 'century':
      return c.century === null ? [] : [String(c.century)];
    case 'hasText':
      return [String(c.hasText)];
    case 'accessLevel':
      return [c.accessLevel];
    case 'language':
      return [...c.languages];
  }
}

function chosenOf(filters: SearchFilters, name: FacetName): ReadonlySet<string> | undefined {
  if (name === 'hasText') return filters.hasText === undefined ? undefined : new Set([String(filters.hasText)]);
  const chosen = filters[name];
  return chosen === undefined ? undefined : new Set(chosen.map(String));
}

export function countFacets(
  combos: readonly FacetCombo[],
  filters: SearchFilters,
  libraries: LibraryMap = HOME_ONLY,
): { total: number; counts: Record<FacetName, Map<string, number>> } {
  const chosen = FACETS.map((name) => [name, chosenOf(filters, name)] as const);
  const counts = Object.fromEntries(FACETS.map((f) => [f, new Map<string, number>()])) as Record<FacetName, Map<string, number>>;
  let total = 0;
  for (const combo of combos) {
    // The facets whose filter this combo fails: none, it counts everywhere; one, it counts
    // only in that facet (whose own filter is left out); more, nowhere.
    const failed = chosen.filter(([name, set]) => set !== undefined && !valuesOf(combo, name, libraries).some((v) => set.has(v)));
    if (failed.length > 1) continue;
    if (failed.length === 0) total += combo.works;
    for (const name of failed.length === 1 ? [(failed[0] as (typeof failed)[number])[0]] : FACETS) {
      const map = counts[name];
      for (const v of valuesOf(combo, name, libraries)) map.set(v, (map.get(v) ?? 0) + combo.works);
    }
  }
  return { total, counts };
}

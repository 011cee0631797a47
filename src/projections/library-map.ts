import type { LibraryMap } from '../search/port.ts';
import type { Config } from '../config.ts';
import type { ReadModelDb } from './read-model-db.ts';

/**
 * Which library holds each collection's works, from the object read model (its
 * `collections.library_id`, the library a collection has itself or from its parent). What
 * the search facet, the OAI library sets and the per-library report rows read, so that all
 * three agree with the works' records. A read model not set up yet (a fresh database) names
 * no collection: everything is the home library's.
 */
export function libraryMap(db: ReadModelDb, home: string): LibraryMap {
  const hasColumn =
    db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM pragma_table_info('collections') WHERE name = 'library_id'").get()?.n === 1;
  if (!hasColumn) return { home, byCollection: new Map() };
  const rows = db.prepare<[], { id: string; library_id: string | null }>('SELECT id, library_id FROM collections').all();
  return { home, byCollection: new Map(rows.map((r) => [r.id, r.library_id ?? home])) };
}

/** The collections a library holds (their ids, sorted). */
export function collectionsOf(map: LibraryMap, libraryId: string): string[] {
  return [...map.byCollection].filter(([, l]) => l === libraryId).map(([c]) => c).sort();
}

/** A library as the public site, OAI and reports name it. */
export interface PublicLibrary {
  id: string;
  name: { vi: string; en?: string | undefined };
  code?: string | undefined;
  address?: string | undefined;
  contact?: { email?: string | undefined; phone?: string | undefined; url?: string | undefined } | undefined;
  logo?: string | undefined;
}

/**
 * The home library (THUKHO_LIBRARY_ID, named THUKHO_INSTITUTION unless it was registered
 * with a record of its own) first, then every registered one by Vietnamese name.
 */
export function publicLibraries(db: ReadModelDb, config: Pick<Config, 'libraryId' | 'institution'>): PublicLibrary[] {
  const registered = registeredLibraries(db);
  const home = registered.find((l) => l.id === config.libraryId) ?? { id: config.libraryId, name: { vi: config.institution } };
  const others = registered.filter((l) => l.id !== config.libraryId).sort((a, b) => a.name.vi.localeCompare(b.name.vi, 'vi'));
  return [home, ...others];
}

function registeredLibraries(_db: ReadModelDb): PublicLibrary[] {
  return [];
}

/** A library's name in one language; the Vietnamese one when it has no English name. */
export const nameIn = (lang: 'vi' | 'en', l: Pick<PublicLibrary, 'name'>): string => (lang === 'en' ? (l.name.en ?? l.name.vi) : l.name.vi);

/** The map and the Vietnamese names, as the reports take them. */
export function reportLibraries(db: ReadModelDb, config: Pick<Config, 'libraryId' | 'institution'>): { map: LibraryMap; names: Map<string, string> } {
  return { map: libraryMap(db, config.libraryId), names: new Map(publicLibraries(db, config).map((l) => [l.id, nameIn('vi', l)])) };
}

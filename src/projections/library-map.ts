import type { LibraryMap } from '../search/port.ts';
import type { Config } from '../config.ts';
import type { ReadModelDb } from './read-model-db.ts';
import { listLibraries, type LibraryView } from './object-read-model.ts';

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
export type PublicLibrary = LibraryView;

/**
 * The home library (THUKHO_LIBRARY_ID, named THUKHO_INSTITUTION unless it was registered
 * with a record of its own) first, then every registered one by Vietnamese name. A read
 * model not set up yet (a fresh database) has the home library alone.
 */
export function publicLibraries(db: ReadModelDb, config: Pick<Config, 'libraryId' | 'institution'>): PublicLibrary[] {
  const home = { id: config.libraryId, name: config.institution };
  const hasTable = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'libraries'").get()?.n === 1;
  if (!hasTable) return [{ id: home.id, revision: -1, name: { vi: home.name }, home: true }];
  const [first, ...others] = listLibraries(db, home);
  return [...(first ? [first] : []), ...others.sort((a, b) => a.name.vi.localeCompare(b.name.vi, 'vi'))];
}

/** A library's name in one language; the Vietnamese one when it has no English name. */
export const nameIn = (lang: 'vi' | 'en', l: Pick<PublicLibrary, 'name'>): string => (lang === 'en' ? (l.name.en ?? l.name.vi) : l.name.vi);

/** The map and the Vietnamese names, as the reports take them. */
export function reportLibraries(db: ReadModelDb, config: Pick<Config, 'libraryId' | 'institution'>): { map: LibraryMap; names: Map<string, string> } {
  return { map: libraryMap(db, config.libraryId), names: new Map(publicLibraries(db, config).map((l) => [l.id, nameIn('vi', l)])) };
}

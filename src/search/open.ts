import { join } from 'node:path';
import type { Config } from '../config.ts';
import { EmbeddedSearchIndex } from './embedded.ts';
import type { SearchIndex } from './port.ts';
import { TypesenseSearchIndex } from './typesense.ts';
import { parseTypesenseUrl } from './typesense-url.ts';

/** The file of the embedded index: a projection, deleted and rebuilt at will. */
export const searchIndexPath = (config: Pick<Config, 'dataDir'>): string => join(config.dataDir, 'search.sqlite');

/**
 * The adapter THUKHO_SEARCH names. Opening never talks to the engine: a Typesense cluster that
 * is down shows in /health and as 503s, and the projection catches up once it answers.
 */
export function openSearchIndex(config: Pick<Config, 'dataDir' | 'search'>): SearchIndex {
  if (config.search.kind === 'embedded') return new EmbeddedSearchIndex(searchIndexPath(config));
  return new TypesenseSearchIndex(parseTypesenseUrl(config.search.url));
}

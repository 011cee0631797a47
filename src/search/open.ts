import { join } from 'node:path';
import type { Config } from '../config.ts';
import { EmbeddedSearchIndex } from './embedded.ts';
import type { SearchIndex } from './port.ts';

/** A search engine the configuration names that this build cannot use: start-up stops with this message. */
export class SearchUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchUnavailableError';
  }
}

/** The file of the embedded index: a projection, deleted and rebuilt at will. */
export const searchIndexPath = (config: Pick<Config, 'dataDir'>): string => join(config.dataDir, 'search.sqlite');

/** The adapter THUKHO_SEARCH names. */
export function openSearchIndex(config: Pick<Config, 'dataDir' | 'search'>): SearchIndex {
  if (config.search.kind === 'embedded') return new EmbeddedSearchIndex(searchIndexPath(config));
  throw new SearchUnavailableError(
    'THUKHO_SEARCH=typesense://… chưa được hỗ trợ trong bản này / is not built yet in this version: use THUKHO_SEARCH=embedded',
  );
}

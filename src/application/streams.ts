/**
 * Stream names, as in DESIGN: per work, what people and ingest decide (`object-`) and what
 * machines find out (`preservation-`); one stream per collection.
 */
export const objectStream = (objectId: string) => `object-${objectId}`;
export const preservationStream = (objectId: string) => `preservation-${objectId}`;
export const collectionStream = (collectionId: string) => `collection-${collectionId}`;
/** One stream per library sharing the instance (the home library has none). */
export const libraryStream = (libraryId: string) => `library-${libraryId}`;
export const LIBRARY_STREAM_PREFIX = 'library-';
/** Summaries of a work's machine facts (PreservationSummarized), derived, to start a fold from. */
export const factsSummaryStream = (objectId: string) => `facts-summary-${objectId}`;
/** What readers did on one UTC day (ObjectViewed, FileDownloaded, SearchPerformed): `access-2026-12-04`. */
export const accessStream = (day: string) => `access-${day}`;
export const ACCESS_STREAM_PREFIX = 'access-';

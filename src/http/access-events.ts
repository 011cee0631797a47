import type { Context } from 'koa';
import type { AccessActor, AccessLog } from '../application/access-log.ts';
import type { AccessEvent } from '../domain/events.ts';
import { SEARCH_QUERY_MAX_CHARS } from '../domain/events.ts';
import type { AccessLevel } from '../domain/metadata.ts';
import { workCollectionLookup } from '../projections/object-read-model.ts';
import type { ReadModelDb } from '../projections/read-model-db.ts';
import type { SearchQuery } from '../search/port.ts';
import { authOf } from './auth.ts';

/**
 * What a route calls when a reader has used something, after the access decision let them:
 * the event goes to the access log's buffer (never waited on), with the request's role and
 * what identifies its session. The client's address is only part of that key in memory; the
 * log gets a salted hash of it (see application/access-log.ts). HEAD requests fetch nothing.
 */
function accessActor(ctx: Context): AccessActor {
  const { viewer, sessionId } = authOf(ctx);
  return {
    role: viewer.role,
    sessionKey: sessionId ? `session\n${sessionId}` : `client\n${ctx.ip}\n${ctx.get('user-agent')}`,
  };
}

function record(ctx: Context, access: AccessLog | null, event: AccessEvent): void {
  if (!access || ctx.method !== 'GET') return;
  access.record(event, accessActor(ctx));
}

/** Records views and downloads of works, each with the collection the work is in now. */
export function accessRecorder(access: AccessLog | null, db: ReadModelDb) {
  const collectionOf = access ? workCollectionLookup(db) : () => undefined;
  const inCollection = (objectId: string) => {
    const collectionId = collectionOf(objectId);
    return collectionId ? { collectionId } : {};
  };
  return {
    viewed(ctx: Context, objectId: string, accessLevel: AccessLevel, via: 'manifest' | 'page'): void {
      if (access) record(ctx, access, { type: 'ObjectViewed', data: { objectId, ...inCollection(objectId), accessLevel, via } });
    },
    downloaded(ctx: Context, objectId: string, fileId: string, accessLevel: AccessLevel, bytes: number): void {
      if (access) record(ctx, access, { type: 'FileDownloaded', data: { objectId, fileId, ...inCollection(objectId), accessLevel, bytes } });
    },
    /**
     * A search's first page, when something was asked (words or a filter): the next pages are
     * the same search, and the bare search page is browsing.
     */
    searched(ctx: Context, query: SearchQuery, results: number, surface: 'site' | 'api'): void {
      if (!access || query.page !== 1) return;
      const filters = Object.fromEntries(
        Object.entries(query.filters).map(([name, values]) => [name, (Array.isArray(values) ? values : [values]).map(String)]),
      );
      if (query.q.trim() === '' && Object.keys(filters).length === 0) return;
      record(ctx, access, { type: 'SearchPerformed', data: { query: query.q.slice(0, SEARCH_QUERY_MAX_CHARS), filters, results, surface } });
    },
  };
}

export type AccessRecorder = ReturnType<typeof accessRecorder>;

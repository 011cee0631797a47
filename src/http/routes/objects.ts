import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { streamExists } from '../../application/command-handler.ts';
import { executeObjectCommand, newId, objectStream, preservationStream } from '../../application/object-commands.ts';
import { AccessLevel, Id, Metadata, MetadataChanges } from '../../domain/metadata.ts';
import { wellFormedText } from '../../domain/well-formed-text.ts';
import { findCollection, findObject, listObjects, type ObjectView } from '../../projections/object-read-model.ts';
import { listCacheControl, objectAccess } from '../access.ts';
import { authOf, requireStaff, requireWriter } from '../auth.ts';
import { readJson } from '../body.ts';
import { ifMatchRevision, notModified, requireIfMatch, setRevisionEtag } from '../etag.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';

export const CreateObjectBody = z
  .object({ ...Metadata.shape, id: Id.optional(), accessLevel: AccessLevel.optional() })
  .strict();
export const EditObjectBody = z.object({ ...MetadataChanges.shape, accessLevel: AccessLevel.optional() }).strict();
export const WithdrawBody = z.object({ reason: z.string().superRefine(wellFormedText).trim().min(1).max(2000) }).strict();
export const ReorderBody = z.object({ order: z.array(Id).min(1).max(100_000) }).strict();
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.coerce.number().int().positive().optional(),
  collectionId: Id.optional(),
  includeWithdrawn: z.enum(['true', 'false']).optional(),
});
export const EventsQuery = z.object({ stream: z.enum(['object', 'preservation']).default('object') });

/** How long a write waits for the read model, so that the next GET sees it. */
const READ_YOUR_WRITES_MS = 5000;

function notFound(id: string): Problem {
  return new Problem(404, 'not-found', {
    vi: `Không tìm thấy tài liệu "${id}".`,
    en: `Object "${id}" does not exist.`,
  }, { objectId: id });
}

export function commandContext(ctx: Context) {
  const { actor } = authOf(ctx);
  return { actor, correlationId: ctx.get('x-request-id') || randomUUID() };
}

export function objectRoutes(services: AppServices): Router {
  const router = new Router();
  const { store, readDb, objects, config, describe } = services;

  const viewAfterWrite = async (id: string, position: bigint | null, ctx: Context): Promise<ObjectView> => {
    if (position !== null) await Promise.all([objects.waitForPosition(position, READ_YOUR_WRITES_MS), describe({ kind: 'object', id })]);
    const found = findObject(readDb, id, authOf(ctx).viewer, 'record');
    if (!found.found) throw notFound(id);
    return found.object;
  };

  // Collections live in their own streams, so the object decider cannot see them: a
  // collection id that names nothing (a typo, usually) is caught here.
  const requireCollection = (collectionId: string | null | undefined) => {
    if (!collectionId || findCollection(readDb, collectionId)) return;
    throw new Problem(422, 'unknown-collection', {
      vi: `Không có bộ sưu tập "${collectionId}"; hãy tạo nó trước (POST /api/collections) hoặc sửa mã.`,
      en: `There is no collection "${collectionId}"; create it first (POST /api/collections) or correct the id.`,
    }, { collectionId });
  };

  router.post('/api/objects', async (ctx) => {
    const actor = requireWriter(ctx);
    const body = CreateObjectBody.parse(await readJson(ctx, config.maxJsonBytes));
    const { id: requestedId, accessLevel, ...metadata } = body;
    requireCollection(metadata.collectionId);
    const objectId = requestedId ?? newId();
    const result = await executeObjectCommand(
      store,
      { type: 'RegisterObject', objectId, metadata, accessLevel: accessLevel ?? 'open' },
      { ...commandContext(ctx), actor },
    );
    const view = await viewAfterWrite(objectId, result.position, ctx);
    ctx.status = 201;
    ctx.set('Location', `/api/objects/${objectId}`);
    setRevisionEtag(ctx, view.revision);
    ctx.body = view;
  });

  router.get('/api/objects', async (ctx) => {
    const q = ListQuery.parse(ctx.query);
    const { viewer } = authOf(ctx);
    const page = listObjects(readDb, {
      viewer,
      limit: q.limit,
      ...(q.cursor !== undefined ? { before: q.cursor } : {}),
      ...(q.collectionId ? { collectionId: q.collectionId } : {}),
      includeWithdrawn: q.includeWithdrawn === 'true',
    });
    ctx.set('Cache-Control', listCacheControl(viewer));
    ctx.body = {
      items: page.items,
      total: page.total,
      next: page.next === null ? null : `/api/objects?${new URLSearchParams({ ...(q.collectionId ? { collectionId: q.collectionId } : {}), limit: String(q.limit), cursor: String(page.next) })}`,
    };
  });

  router.get('/api/objects/:id', async (ctx) => {
    const id = ctx.params.id as string;
    const view = objectAccess(ctx, findObject(readDb, id, authOf(ctx).viewer, 'record'), () => notFound(id)).object;
    if (notModified(ctx, `"${view.revision}"`)) return;
    ctx.body = view;
  });

  router.patch('/api/objects/:id', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    const expected = requireIfMatch(ctx);
    const body = EditObjectBody.parse(await readJson(ctx, config.maxJsonBytes));
    const { accessLevel, ...changes } = body;
    requireCollection(changes.collectionId);
    const result = await executeObjectCommand(
      store,
      { type: 'EditMetadata', objectId: id, changes, ...(accessLevel ? { accessLevel } : {}) },
      { ...commandContext(ctx), actor },
      expected,
    );
    const view = await viewAfterWrite(id, result.position, ctx);
    setRevisionEtag(ctx, view.revision);
    ctx.body = view;
  });

  // The page order readers see (manifest canvases): every file id once, in the new order.
  router.put('/api/objects/:id/files/order', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    const expected = ifMatchRevision(ctx);
    const { order } = ReorderBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await executeObjectCommand(store, { type: 'ReorderFiles', objectId: id, order }, { ...commandContext(ctx), actor }, expected);
    const view = await viewAfterWrite(id, result.position, ctx);
    setRevisionEtag(ctx, view.revision);
    ctx.body = view;
  });

  router.post('/api/objects/:id/withdraw', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    const expected = ifMatchRevision(ctx);
    const { reason } = WithdrawBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await executeObjectCommand(store, { type: 'WithdrawObject', objectId: id, reason }, { ...commandContext(ctx), actor }, expected);
    const view = await viewAfterWrite(id, result.position, ctx);
    setRevisionEtag(ctx, view.revision);
    ctx.body = view;
  });

  // One of the work's two hash-chained streams: what people decided (default) or, with
  // ?stream=preservation, what machines found out (derivatives, fixity, replication).
  router.get('/api/objects/:id/events', async (ctx) => {
    requireStaff(ctx);
    const id = ctx.params.id as string;
    const { stream } = EventsQuery.parse(ctx.query);
    if (!(await streamExists(store, objectStream(id)))) throw notFound(id);
    const streamId = stream === 'preservation' ? preservationStream(id) : objectStream(id);
    const events = [];
    for await (const e of store.readStream(streamId)) {
      events.push({
        revision: Number(e.revision),
        position: String(e.position),
        id: e.id,
        type: e.type,
        data: e.data,
        metadata: e.metadata,
      });
    }
    ctx.body = { streamId, events };
  });

  return router;
}

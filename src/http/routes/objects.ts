import { createHash, randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { streamExists } from '../../application/command-handler.ts';
import { collectionStream, executeObjectCommand, newId, objectStream, preservationStream } from '../../application/object-commands.ts';
import { objectHistory } from '../../application/object-history.ts';
import { isStaff } from '../../domain/access-policy.ts';
import { DomainError } from '../../domain/errors.ts';
import type { ObjectCommand } from '../../domain/object.ts';
import { AccessLevel, Id, Metadata, MetadataChanges } from '../../domain/metadata.ts';
import { PAGE_LABEL_MAX_CHARS, STRUCTURE_MAX_RANGES } from '../../domain/page-structure.ts';
import { MAX_PAGES } from '../../domain/page-image.ts';
import { wellFormedText } from '../../domain/well-formed-text.ts';
import { WrongExpectedVersionError } from '../../eventstore/port.ts';
import {
  FIXITY_STATES,
  findCollection,
  findObject,
  listObjects,
  type ObjectView,
} from '../../projections/object-read-model.ts';
import { listCacheControl, objectAccess, requireCollectionRight, requireWorkRight, type StaffRight } from '../access.ts';
import { authOf, requireStaff, requireWriter } from '../auth.ts';
import { readJson } from '../body.ts';
import { ifMatchRevision, notModified, requireIfMatch, setRevisionEtag } from '../etag.ts';
import { Problem, toProblem } from '../problem.ts';
import { fixityClock, holdingLibrary, staffFor, staffObjectView, withFixity, withHoldingLibrary } from '../object-views.ts';
import type { ProjectionRunner } from '../../projections/runtime.ts';
import type { AppServices } from '../services.ts';

export const CreateObjectBody = z
  .object({ ...Metadata.shape, id: Id.optional(), accessLevel: AccessLevel.optional() })
  .strict();
/** Why a change was made, as a person typed it. */
const Reason = z.string().superRefine(wellFormedText).trim().max(2000);
export const EditObjectBody = z
  .object({ ...MetadataChanges.shape, accessLevel: AccessLevel.optional(), reason: Reason.optional().describe('Why the record is edited; kept with the event') })
  .strict();
export const WithdrawBody = z.object({ reason: Reason.min(1) }).strict();
export const AccessBody = z.object({ accessLevel: AccessLevel, reason: Reason.min(1).describe('Why the access level changes (required)') }).strict();
export const ReorderBody = z.object({ order: z.array(Id).min(1).max(100_000) }).strict();
const PageNumber = z.number().int().min(1).max(MAX_PAGES).optional();
export const PageLabelsBody = z.union([
  z
    .object({
      labels: z.array(z.object({ fileId: Id, page: PageNumber, label: z.string().max(PAGE_LABEL_MAX_CHARS) }).strict()).min(1).max(MAX_PAGES),
    })
    .strict(),
  z.object({ pattern: z.string().min(1).max(PAGE_LABEL_MAX_CHARS), start: z.number().int().min(1).max(1_000_000).optional() }).strict(),
]);
export const StructureBody = z
  .object({ ranges: z.array(z.object({ label: z.string().max(PAGE_LABEL_MAX_CHARS), fileId: Id, page: PageNumber }).strict()).max(STRUCTURE_MAX_RANGES) })
  .strict();
const Bool = z.enum(['true', 'false']);
export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.coerce.number().int().positive().optional(),
  collectionId: Id.optional(),
  library: Id.optional().describe('Works held by this library'),
  includeWithdrawn: Bool.optional(),
  q: z.string().superRefine(wellFormedText).max(200).optional().describe('Title, other title or identifier contains this (diacritics ignored)'),
  status: z.enum(['active', 'withdrawn', 'all']).optional(),
  accessLevel: AccessLevel.optional(),
  hasOcr: Bool.optional(),
  fixity: z.enum(FIXITY_STATES).optional().describe('Staff only: the worst fixity state of the work\'s copies'),
});
/** `Idempotency-Key`: a client's name for one create, so that a repeat (a double click, a retry) makes no second object. */
export const IdempotencyKey = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** The id an idempotent create gets when the client names none: the same actor and key, the same id. */
export function idempotentObjectId(actorId: string, key: string): string {
  const digest = createHash('sha256').update(`thukho-create\0${actorId}\0${key}`).digest();
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  let id = '';
  for (let i = 0; i < 12; i++) id += alphabet[(digest[i] as number) % 32];
  return id;
}
export const EventsQuery = z.object({ stream: z.enum(['object', 'preservation']).default('object') });

/** How long a write waits for the read model, so that the next GET sees it. */
const READ_YOUR_WRITES_MS = 5000;
/** How long past that a write's own answer waits before it gives up on seeing what it wrote. */
const READ_YOUR_WRITES_LAG_MS = 30_000;

/**
 * What `find` reads for a write's own answer: once the read model has reached the write at
 * `position` (READ_YOUR_WRITES_MS) and `described` (its self-description) is done. Written,
 * but still not in a read model that lags (a loaded machine): it waits longer, up to
 * READ_YOUR_WRITES_LAG_MS, rather than answer 404 for what the request has just made.
 */
export async function readOwnWrite<T>(objects: ProjectionRunner, position: bigint | null, described: () => Promise<void>, find: () => T | undefined): Promise<T | undefined> {
  if (position !== null) await Promise.all([objects.waitForPosition(position, READ_YOUR_WRITES_MS), described()]);
  const found = find();
  if (found !== undefined || position === null || !(await objects.waitForPosition(position, READ_YOUR_WRITES_LAG_MS))) return found;
  return find();
}

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
    const view = await readOwnWrite(objects, position, () => describe({ kind: 'object', id }), () => {
      const found = findObject(readDb, id, authOf(ctx).viewer, 'record');
      return found.found ? found.object : undefined;
    });
    if (!view) throw notFound(id);
    return view;
  };

  /** The position of an object's registration when `actorId` made it with `key`; otherwise undefined. */
  const registeredWith = async (objectId: string, actorId: string, key: string): Promise<bigint | undefined> => {
    for await (const e of store.readStream(objectStream(objectId), { maxCount: 1 })) {
      return e.metadata.actor.id === actorId && (e.metadata as unknown as Record<string, unknown>).idempotencyKey === key ? e.position : undefined;
    }
    return undefined;
  };

  // A library's staff acting on another library's work: see requireWorkRight.
  const scoped = (ctx: Context, id: string, right: StaffRight) => requireWorkRight(readDb, authOf(ctx).viewer, id, right, () => notFound(id));
  const staffView = (ctx: Context, view: ObjectView) => staffObjectView(services, authOf(ctx).viewer, view);

  /** A write's answer: the work as the next GET will show it, with its revision as the ETag. */
  const answerWrite = async (ctx: Context, id: string, position: bigint | null) => {
    const view = await viewAfterWrite(id, position, ctx);
    setRevisionEtag(ctx, view.revision);
    ctx.body = staffView(ctx, view);
  };

  /**
   * Runs a command pinned to the If-Match revision. A stale one is RFC 9110's failed
   * precondition (412), carrying the record as it is now, so that a screen can show both
   * versions side by side instead of overwriting.
   */
  const pinned = async (ctx: Context, command: ObjectCommand, expected: bigint | undefined, actor: { id: string; role: string }) => {
    try {
      return await executeObjectCommand(store, command, { ...commandContext(ctx), actor }, expected);
    } catch (err) {
      if (expected === undefined || !(err instanceof WrongExpectedVersionError)) throw err;
      const problem = toProblem(err);
      const found = findObject(readDb, command.objectId, authOf(ctx).viewer, 'record');
      throw new Problem(412, 'revision-conflict', problem.messages, {
        ...problem.extra,
        ...(found.found ? { current: staffView(ctx, found.object) } : {}),
      });
    }
  };

  // Collections live in their own streams, so the object decider cannot see them: a
  // collection id that names nothing (a typo, usually) is caught here.
  // The read model first; the log when it does not know the id: a collection created a moment
  // ago may not have reached a read model that lags under load, and is no typo.
  const requireCollection = async (collectionId: string | null | undefined) => {
    if (!collectionId || findCollection(readDb, collectionId)) return;
    if (await streamExists(store, collectionStream(collectionId))) return;
    throw new Problem(422, 'unknown-collection', {
      vi: `Không có bộ sưu tập "${collectionId}"; hãy tạo nó trước (POST /api/collections) hoặc sửa mã.`,
      en: `There is no collection "${collectionId}"; create it first (POST /api/collections) or correct the id.`,
    }, { collectionId });
  };

  router.post('/api/objects', async (ctx) => {
    const actor = requireWriter(ctx);
    const body = CreateObjectBody.parse(await readJson(ctx, config.maxJsonBytes));
    const { id: requestedId, accessLevel, ...metadata } = body;
    await requireCollection(metadata.collectionId);
    requireCollectionRight(readDb, authOf(ctx).viewer, metadata.collectionId, 'write');
    const rawKey = ctx.get('idempotency-key');
    const key = rawKey ? IdempotencyKey.parse(rawKey) : undefined;
    // With a key the id is derived from it: two identical requests racing name the same
    // stream, the log's expected-revision check lets one register, and the other replays.
    const objectId = requestedId ?? (key ? idempotentObjectId(actor.id, key) : newId());
    let result;
    try {
      result = await executeObjectCommand(
        store,
        { type: 'RegisterObject', objectId, metadata, accessLevel: accessLevel ?? 'open' },
        { ...commandContext(ctx), actor, ...(key ? { extra: { idempotencyKey: key } } : {}) },
      );
    } catch (err) {
      const replay = key && err instanceof DomainError && err.code === 'already-exists' ? await registeredWith(objectId, actor.id, key) : undefined;
      if (replay === undefined) throw err;
      const view = await viewAfterWrite(objectId, replay, ctx);
      ctx.status = 200;
      ctx.set('Idempotent-Replay', 'true');
      ctx.set('Location', `/api/objects/${objectId}`);
      setRevisionEtag(ctx, view.revision);
      ctx.body = staffView(ctx, view);
      return;
    }
    const view = await viewAfterWrite(objectId, result.position, ctx);
    ctx.status = 201;
    ctx.set('Location', `/api/objects/${objectId}`);
    setRevisionEtag(ctx, view.revision);
    ctx.body = staffView(ctx, view);
  });

  router.get('/api/objects', async (ctx) => {
    const q = ListQuery.parse(ctx.query);
    const { viewer } = authOf(ctx);
    if (q.fixity) requireStaff(ctx);
    const clock = fixityClock(services);
    const page = listObjects(readDb, {
      viewer,
      limit: q.limit,
      ...(q.cursor !== undefined ? { before: q.cursor } : {}),
      ...(q.collectionId ? { collectionId: q.collectionId } : {}),
      ...(q.library ? { library: { id: q.library, home: services.config.libraryId } } : {}),
      includeWithdrawn: q.includeWithdrawn === 'true',
      ...(q.status ? { status: q.status } : {}),
      ...(q.accessLevel ? { accessLevel: q.accessLevel } : {}),
      ...(q.hasOcr ? { hasOcr: q.hasOcr === 'true' } : {}),
      ...(q.q ? { q: q.q } : {}),
      ...(q.fixity ? { fixity: q.fixity, fixityAt: clock } : {}),
    });
    const { limit: _limit, cursor: _cursor, ...filters } = q;
    const params = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    ctx.set('Cache-Control', listCacheControl(viewer));
    ctx.body = {
      items: withFixity(services, viewer, page.items, clock),
      total: page.total,
      next: page.next === null ? null : `/api/objects?${new URLSearchParams({ ...params, limit: String(q.limit), cursor: String(page.next) })}`,
    };
  });

  router.get('/api/objects/:id', async (ctx) => {
    const id = ctx.params.id as string;
    const view = objectAccess(ctx, findObject(readDb, id, authOf(ctx).viewer, 'record'), () => notFound(id)).object;
    // Staff see ingest status that changes without a new revision: no 304 for them.
    if (staffFor(readDb, authOf(ctx).viewer, view.id)) {
      setRevisionEtag(ctx, view.revision);
      ctx.set('Cache-Control', 'private, no-cache');
      ctx.body = staffView(ctx, view);
      return;
    }
    // The holding library is part of the record: its edits and a collection's move change the ETag too.
    const library = holdingLibrary(services, view.id);
    if (notModified(ctx, library.home && library.revision < 0 ? `"${view.revision}"` : `"${view.revision}-${library.id}-${library.revision}"`)) return;
    ctx.body = withHoldingLibrary(services, view);
  });

  router.patch('/api/objects/:id', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'write');
    const expected = requireIfMatch(ctx);
    const body = EditObjectBody.parse(await readJson(ctx, config.maxJsonBytes));
    const { accessLevel, reason, ...changes } = body;
    await requireCollection(changes.collectionId);
    if (changes.collectionId !== undefined) requireCollectionRight(readDb, authOf(ctx).viewer, changes.collectionId, 'write');
    const result = await pinned(ctx, { type: 'EditMetadata', objectId: id, changes, ...(accessLevel ? { accessLevel } : {}), ...(reason ? { reason } : {}) }, expected, actor);
    await answerWrite(ctx, id, result.position);
  });

  // Access level with the reason for it (required: a change of who may see a work is accounted for).
  router.put('/api/objects/:id/access', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'write');
    const expected = ifMatchRevision(ctx);
    const { accessLevel, reason } = AccessBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await pinned(ctx, { type: 'ChangeAccessPolicy', objectId: id, accessLevel, reason }, expected, actor);
    await answerWrite(ctx, id, result.position);
  });

  // Page labels: listed pages one by one, or every page from a pattern ("tờ {f}" → tờ 1a, tờ 1b…).
  router.put('/api/objects/:id/page-labels', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'write');
    const expected = ifMatchRevision(ctx);
    const body = PageLabelsBody.parse(await readJson(ctx, config.maxJsonBytes));
    const command: ObjectCommand =
      'pattern' in body
        ? { type: 'SetPageLabels', objectId: id, pattern: body.pattern, ...(body.start !== undefined ? { start: body.start } : {}) }
        : { type: 'SetPageLabels', objectId: id, labels: body.labels.map((l) => ({ fileId: l.fileId, label: l.label, ...(l.page && l.page > 1 ? { page: l.page } : {}) })) };
    const result = await pinned(ctx, command, expected, actor);
    await answerWrite(ctx, id, result.position);
  });

  // The table of contents, whole: each entry from its page to the next entry's.
  router.put('/api/objects/:id/structure', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'write');
    const expected = ifMatchRevision(ctx);
    const { ranges } = StructureBody.parse(await readJson(ctx, config.maxJsonBytes));
    const command: ObjectCommand = {
      type: 'SetStructure',
      objectId: id,
      ranges: ranges.map((r) => ({ label: r.label, fileId: r.fileId, ...(r.page && r.page > 1 ? { page: r.page } : {}) })),
    };
    const result = await pinned(ctx, command, expected, actor);
    await answerWrite(ctx, id, result.position);
  });

  // Who changed what, when and why: each decision with the fields it changed, before and after.
  router.get('/api/objects/:id/history', async (ctx) => {
    requireStaff(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'staff');
    if (!(await streamExists(store, objectStream(id)))) throw notFound(id);
    ctx.set('Cache-Control', 'private, no-cache');
    ctx.body = await objectHistory(store, id);
  });

  // The page order readers see (manifest canvases): every file id once, in the new order.
  router.put('/api/objects/:id/files/order', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'write');
    const expected = ifMatchRevision(ctx);
    const { order } = ReorderBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await pinned(ctx, { type: 'ReorderFiles', objectId: id, order }, expected, actor);
    await answerWrite(ctx, id, result.position);
  });

  router.post('/api/objects/:id/withdraw', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'write');
    const expected = ifMatchRevision(ctx);
    const { reason } = WithdrawBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await pinned(ctx, { type: 'WithdrawObject', objectId: id, reason }, expected, actor);
    await answerWrite(ctx, id, result.position);
  });

  // One of the work's two hash-chained streams: what people decided (default) or, with
  // ?stream=preservation, what machines found out (derivatives, fixity, replication).
  router.get('/api/objects/:id/events', async (ctx) => {
    requireStaff(ctx);
    const id = ctx.params.id as string;
    scoped(ctx, id, 'staff');
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

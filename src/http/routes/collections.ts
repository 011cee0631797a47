import Router from '@koa/router';
import { z } from 'zod';
import { executeCheckedCollectionCommand } from '../../application/libraries.ts';
import { Id } from '../../domain/metadata.ts';
import { wellFormedText } from '../../domain/well-formed-text.ts';
import { collectionLibraryOf, type CollectionView, findCollection, getLibrary, listCollections } from '../../projections/object-read-model.ts';
import { authOf, requireWriter } from '../auth.ts';
import { requireCollectionRight, requireOwnLibrary } from '../access.ts';
import { scopedLibrary } from '../../domain/access-policy.ts';
import { readJson } from '../body.ts';
import { requireIfMatch, setRevisionEtag } from '../etag.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';
import { homeLibraryOf } from './libraries.ts';
import { commandContext, readOwnWrite } from './objects.ts';

const Title = z.string().superRefine(wellFormedText).transform((s) => s.normalize('NFC').trim()).pipe(z.string().min(1).max(2000));
const Description = z.string().max(20000).superRefine(wellFormedText).transform((s) => s.normalize('NFC').trim());

export const CreateCollectionBody = z
  .object({
    id: Id,
    title: Title,
    description: Description.optional(),
    parentId: Id.optional(),
    /** The library holding its works; absent: its parent's, else the home library. */
    libraryId: Id.optional(),
  })
  .strict();
export const EditCollectionBody = z
  .object({ title: Title.optional(), description: Description.nullable().optional(), libraryId: Id.nullable().optional() })
  .strict();

/** A collection with the library holding its works (set on it, or inherited). */
export type CollectionWithLibrary = CollectionView & { library: { id: string; name: { vi: string; en?: string }; code?: string } };

export function collectionRoutes(services: AppServices): Router {
  const router = new Router();
  const { store, readDb, objects, config, describe } = services;
  const home = homeLibraryOf(config);
  const libraryOf = collectionLibraryOf(readDb, config.libraryId);
  const withLibrary = (c: CollectionView): CollectionWithLibrary => {
    const id = libraryOf(c.id);
    const l = getLibrary(readDb, id, home);
    return { ...c, library: { id, name: l?.name ?? { vi: id }, ...(l?.code ? { code: l.code } : {}) } };
  };

  const view = async (id: string, position: bigint | null) => {
    const c = await readOwnWrite(objects, position, () => describe({ kind: 'collection', id }), () => findCollection(readDb, id) ?? undefined);
    if (!c) throw new Problem(404, 'not-found', { vi: `Không tìm thấy bộ sưu tập "${id}".`, en: `Collection "${id}" does not exist.` });
    return withLibrary(c);
  };

  router.post('/api/collections', async (ctx) => {
    const actor = requireWriter(ctx);
    const body = CreateCollectionBody.parse(await readJson(ctx, config.maxJsonBytes));
    const { id, ...rest } = body;
    // A library's staff make collections in their own library: the one named, else under a
    // parent of theirs, else theirs by default (not the home library's).
    const { viewer } = authOf(ctx);
    const named = (body as { libraryId?: string | null }).libraryId;
    requireOwnLibrary(viewer, named);
    if (body.parentId) requireCollectionRight(readDb, viewer, body.parentId, 'write');
    const mine = scopedLibrary(viewer);
    const library = mine !== undefined && named === undefined && !body.parentId ? { libraryId: mine } : {};
    const result = await executeCheckedCollectionCommand(store, { type: 'CreateCollection', collectionId: id, ...rest, ...library }, { ...commandContext(ctx), actor }, config.libraryId);
    const c = await view(id, result.position);
    ctx.status = 201;
    ctx.set('Location', `/api/collections/${id}`);
    setRevisionEtag(ctx, c.revision);
    ctx.body = c;
  });

  router.get('/api/collections', async (ctx) => {
    ctx.body = { items: listCollections(readDb).map(withLibrary) };
  });

  router.get('/api/collections/:id', async (ctx) => {
    const c = await view(ctx.params.id as string, null);
    setRevisionEtag(ctx, c.revision);
    ctx.body = c;
  });

  router.patch('/api/collections/:id', async (ctx) => {
    const actor = requireWriter(ctx);
    const id = ctx.params.id as string;
    const expected = requireIfMatch(ctx);
    const body = EditCollectionBody.parse(await readJson(ctx, config.maxJsonBytes));
    requireCollectionRight(readDb, authOf(ctx).viewer, id, 'write');
    requireOwnLibrary(authOf(ctx).viewer, (body as { libraryId?: string | null }).libraryId);
    const result = await executeCheckedCollectionCommand(store, { type: 'EditCollection', collectionId: id, ...body }, { ...commandContext(ctx), actor }, config.libraryId, expected);
    const c = await view(id, result.position);
    setRevisionEtag(ctx, c.revision);
    ctx.body = c;
  });

  return router;
}

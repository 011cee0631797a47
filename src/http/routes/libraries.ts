import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { executeLibraryCommand } from '../../application/libraries.ts';
import { LibraryChangesInput, LibraryInput } from '../../domain/library.ts';
import { isInstanceAdmin } from '../../domain/access-policy.ts';
import { Id } from '../../domain/metadata.ts';
import { getLibrary, type HomeLibrary, type LibraryView, listLibraries } from '../../projections/object-read-model.ts';
import { type Actor, requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import { requireIfMatch, setRevisionEtag } from '../etag.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';
import { commandContext } from './objects.ts';

/**
 * /api/libraries: the libraries sharing this instance. Anyone may read them (they are on
 * every work's record and manifest); only administrators register and edit them.
 */
export const CreateLibraryBody = z.object({ id: Id }).extend(LibraryInput.shape).strict();
export const EditLibraryBody = LibraryChangesInput;

const ADMINS = { vi: 'quản trị viên toàn hệ thống (admin không gắn với một thư viện)', en: 'an instance-wide administrator (an admin of no single library)' };
const CATCH_UP_MS = 5000;

export function requireLibraryAdmin(ctx: Context): Actor {
  return requireRole(ctx, isInstanceAdmin, ADMINS);
}

export function homeLibraryOf(config: { libraryId: string; institution: string }): HomeLibrary {
  return { id: config.libraryId, name: config.institution };
}

export function libraryNotFound(id: string): Problem {
  return new Problem(404, 'not-found', { vi: `Không tìm thấy thư viện "${id}".`, en: `Library "${id}" does not exist.` });
}

export function libraryRoutes(services: AppServices): Router {
  const router = new Router();
  const { store, readDb, objects, config } = services;
  const home = homeLibraryOf(config);

  const view = async (id: string, position: bigint | null): Promise<LibraryView> => {
    if (position !== null) await objects.waitForPosition(position, CATCH_UP_MS);
    const library = getLibrary(readDb, id, home);
    if (!library) throw libraryNotFound(id);
    return library;
  };
  const etag = (ctx: Context, library: LibraryView) => {
    if (library.revision >= 0) setRevisionEtag(ctx, library.revision);
  };

  router.get('/api/libraries', async (ctx) => {
    ctx.body = { items: listLibraries(readDb, home) };
  });

  router.get('/api/libraries/:id', async (ctx) => {
    const library = await view(ctx.params.id as string, null);
    etag(ctx, library);
    ctx.body = library;
  });

  router.post('/api/libraries', async (ctx) => {
    const actor = requireLibraryAdmin(ctx);
    const { id, ...fields } = CreateLibraryBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await executeLibraryCommand(store, { type: 'RegisterLibrary', libraryId: id, ...fields }, { ...commandContext(ctx), actor });
    const library = await view(id, result.position);
    ctx.status = 201;
    ctx.set('Location', `/api/libraries/${id}`);
    etag(ctx, library);
    ctx.body = library;
  });

  router.patch('/api/libraries/:id', async (ctx) => {
    const actor = requireLibraryAdmin(ctx);
    const id = ctx.params.id as string;
    if (id === home.id && getLibrary(readDb, id)?.revision === undefined) {
      // The home library has no record until one is registered: say how to give it one.
      throw new Problem(409, 'home-library-unregistered', {
        vi: `Thư viện chính "${id}" chưa có hồ sơ riêng (tên lấy từ THUKHO_INSTITUTION); hãy đăng ký nó (POST /api/libraries với id "${id}") để thêm mã, địa chỉ, biểu trưng.`,
        en: `The home library "${id}" has no record of its own (its name is THUKHO_INSTITUTION); register it (POST /api/libraries with id "${id}") to give it a code, address or logo.`,
      });
    }
    const expected = requireIfMatch(ctx);
    const changes = EditLibraryBody.parse(await readJson(ctx, config.maxJsonBytes));
    const result = await executeLibraryCommand(store, { type: 'EditLibrary', libraryId: id, ...changes }, { ...commandContext(ctx), actor }, expected);
    const library = await view(id, result.position);
    etag(ctx, library);
    ctx.body = library;
  });

  return router;
}

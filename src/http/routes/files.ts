import { createReadStream } from 'node:fs';
import { notModified } from '../etag.ts';
import { stat } from 'node:fs/promises';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { ingestFile } from '../../application/ingest.ts';
import { FileRole } from '../../domain/events.ts';
import { findObject } from '../../projections/object-read-model.ts';
import { parseDigestHeader } from '../../storage/digest.ts';
import { ACCEPTED_FORMATS, acceptedExtension } from '../../storage/format.ts';
import { safeFileName } from '../../storage/file-name.ts';
import type { Bilingual } from '../../domain/errors.ts';
import { readJson } from '../body.ts';
import { prefersEnglish } from '../problem.ts';
import type { AccessSubject } from '../../domain/access-decision.ts';
import { objectAccess, requireWorkRight } from '../access.ts';
import { authOf, requireStaff, requireWriter } from '../auth.ts';
import { fileFromMultipart } from '../multipart.ts';
import { Problem } from '../problem.ts';
import type { AppServices } from '../services.ts';
import { commandContext } from './objects.ts';
import { accessRecorder } from '../access-events.ts';

/**
 * File upload and download. Uploads stream straight to staging: `multipart/form-data` with
 * a `file` field (as browsers send; put `role`/`sequence` fields before the file), or a raw
 * body with `?name=` (as scripts send, with an optional RFC 9530 Content-Digest/Repr-Digest
 * that is checked before anything is kept).
 */
const UploadOptions = z.object({
  name: z.string().min(1).optional(),
  role: FileRole.default('master'),
  sequence: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

export const UploadCheckBody = z
  .object({
    files: z
      .array(z.object({ name: z.string().min(1).max(1024), size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-fA-F]{64}$/) }).strict())
      .min(1)
      .max(10_000),
  })
  .strict();

function unsupported(name: string): Bilingual {
  return {
    vi: `Tệp "${name}" không thuộc định dạng được nhận (${ACCEPTED_FORMATS}); hãy chuyển đổi trước khi tải lên.`,
    en: `File "${name}" is not in an accepted format (${ACCEPTED_FORMATS}); convert it before uploading.`,
  };
}

function tooLarge(name: string, size: number, max: number): Bilingual {
  const mb = (n: number) => (n / 1_048_576).toFixed(1);
  return {
    vi: `Tệp "${name}" (${mb(size)} MB) vượt quá dung lượng tối đa ${mb(max)} MB cho mỗi tệp.`,
    en: `File "${name}" (${mb(size)} MB) is larger than the ${mb(max)} MB allowed per file.`,
  };
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function fileRoutes(services: AppServices): Router {
  const router = new Router();
  const { ingest, readDb, objects } = services;
  const recorder = accessRecorder(services.access, readDb);

  /**
   * Before sending bytes: which files the server would take. Refused by extension or size,
   * and already stored (by SHA-256) — a re-send after a dropped connection skips those.
   */
  router.post('/api/objects/:id/files/check', async (ctx: Context) => {
    requireWriter(ctx);
    const objectId = ctx.params.id as string;
    requireWorkRight(readDb, authOf(ctx).viewer, objectId, 'write', () => new Problem(404, 'not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId }));
    const { files } = UploadCheckBody.parse(await readJson(ctx, services.config.maxJsonBytes));
    const notFound = () => new Problem(404, 'not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId });
    const { object } = objectAccess(ctx, findObject(readDb, objectId, authOf(ctx).viewer, 'record'), notFound);
    const stored = new Map(object.files.map((f) => [f.digests.sha256, f.fileId]));
    const english = prefersEnglish(ctx);
    ctx.body = {
      files: files.map((f) => {
        const existing = stored.get(f.sha256.toLowerCase());
        const refusal = !acceptedExtension(f.name)
          ? { code: 'unsupported-format', messages: unsupported(f.name) }
          : f.size > ingest.maxFileBytes
            ? { code: 'file-too-large', messages: tooLarge(f.name, f.size, ingest.maxFileBytes) }
            : f.size === 0
              ? { code: 'empty-file', messages: { vi: `Tệp "${f.name}" rỗng.`, en: `File "${f.name}" is empty.` } }
              : undefined;
        return {
          name: f.name,
          accepted: refusal === undefined,
          ...(refusal ? { reason: english ? refusal.messages.en : refusal.messages.vi, code: refusal.code, messages: refusal.messages } : {}),
          duplicate: existing !== undefined,
          ...(existing ? { fileId: existing } : {}),
        };
      }),
    };
  });

  router.post('/api/objects/:id/files', async (ctx: Context) => {
    // Whatever happens, do not keep reading a body we will not use.
    ctx.set('Connection', 'close');
    const actor = requireWriter(ctx);
    const objectId = ctx.params.id as string;
    requireWorkRight(readDb, authOf(ctx).viewer, objectId, 'write', () => new Problem(404, 'not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId }));
    // A raw upload is refused from its headers alone, before a byte of the body is read: a
    // declared length over the limit, or a name that is not of an accepted format.
    // (A form's fields and parts are judged as they stream in, each by its own limit.)
    if (!ctx.is('multipart/form-data')) {
      const declared = Number(ctx.get('content-length') || Number.NaN);
      if (Number.isFinite(declared) && declared > ingest.maxFileBytes) {
        throw new Problem(413, 'file-too-large', tooLarge(String(ctx.query.name ?? 'file'), declared, ingest.maxFileBytes), { maxBytes: ingest.maxFileBytes });
      }
      // A name that is a path is a bad name (400) before it is a wrong format.
      if (typeof ctx.query.name === 'string' && ctx.query.name && !acceptedExtension(safeFileName(ctx.query.name))) {
        throw new Problem(415, 'unsupported-format', unsupported(ctx.query.name), { accepted: ACCEPTED_FORMATS });
      }
    }
    let source: NodeJS.ReadableStream;
    let options: z.infer<typeof UploadOptions>;
    let expectedDigests: ReturnType<typeof parseDigestHeader> = [];
    if (ctx.is('multipart/form-data')) {
      const part = await fileFromMultipart(ctx.req, ctx.headers, { maxFileBytes: ingest.maxFileBytes, fieldName: 'file' });
      source = part.stream;
      options = UploadOptions.parse({ name: part.filename, ...part.fields, ...ctx.query });
    } else {
      options = UploadOptions.parse(ctx.query);
      if (!options.name) {
        throw new Problem(400, 'missing-file-name', {
          vi: 'Thiếu tên tệp: gửi ?name=tên_tệp.tif cùng nội dung, hoặc dùng multipart/form-data với trường "file".',
          en: 'The file name is missing: send ?name=file.tif with a raw body, or use multipart/form-data with a "file" field.',
        });
      }
      expectedDigests = parseDigestHeader({
        'content-digest': ctx.get('content-digest') || undefined,
        'repr-digest': ctx.get('repr-digest') || undefined,
        digest: ctx.get('digest') || undefined,
      });
      source = ctx.req;
    }
    const outcome = await ingestFile(ingest, {
      objectId,
      source,
      name: options.name ?? 'file',
      role: options.role,
      ...(options.sequence !== undefined ? { sequence: options.sequence } : {}),
      expectedDigests,
      ...commandContext(ctx),
      actor,
    });
    if (outcome.position !== null) await objects.waitForPosition(outcome.position, 5000);
    ctx.status = outcome.status === 'created' ? 201 : 200;
    ctx.set('Location', `/api/objects/${objectId}/files/${outcome.file.fileId}`);
    ctx.body = { objectId, ...outcome.file, duplicate: outcome.status === 'duplicate' };
  });

  /**
   * A file's facts are part of the catalogue record (as listed in the work's record); its
   * bytes are the work's content, downloaded only where the access decision allows it.
   */
  const lookup = (ctx: Context, what: AccessSubject) => {
    const objectId = ctx.params.id as string;
    const fileId = ctx.params.fileId as string;
    const notFound = () =>
      new Problem(404, 'not-found', {
        vi: `Không tìm thấy tệp "${fileId}" trong tài liệu "${objectId}".`,
        en: `File "${fileId}" does not exist in object "${objectId}".`,
      });
    const { object } = objectAccess(ctx, findObject(readDb, objectId, authOf(ctx).viewer, what), notFound);
    const file = object.files.find((f) => f.fileId === fileId);
    if (!file) throw notFound();
    return { objectId, file, accessLevel: object.accessLevel };
  };

  router.get('/api/objects/:id/files/:fileId', async (ctx) => {
    const { objectId, file } = lookup(ctx, 'record');
    ctx.body = { objectId, ...file };
  });

  router.get('/api/objects/:id/files/:fileId/content', async (ctx) => {
    const { objectId, file, accessLevel } = lookup(ctx, 'content');
    const path = await ingest.ocfl.contentFile(file.storage.ocflObjectId, `${file.fileId}/${file.name}`);
    const facts = await stat(path);
    // RFC 9530: lets the client check what it received against what we preserved.
    ctx.set('Repr-Digest', `sha-512=:${hexToBase64(file.digests.sha512)}:, sha-256=:${hexToBase64(file.digests.sha256)}:`);
    ctx.set('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`);
    if (notModified(ctx, `"${file.digests.sha256}"`)) return;
    // A copy handed out (a 304 hands out nothing).
    recorder.downloaded(ctx, objectId, file.fileId, accessLevel, facts.size);
    ctx.type = file.mediaType;
    ctx.length = facts.size;
    ctx.body = createReadStream(path);
  });

  return router;
}

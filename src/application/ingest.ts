import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError, type Bilingual } from '../domain/errors.ts';
import type { FileRole } from '../domain/events.ts';
import type { ObjectState, StoredFile } from '../domain/object.ts';
import type { EventStore } from '../eventstore/port.ts';
import { checkDigests, type parseDigestHeader, stageStream } from '../storage/digest.ts';
import type { FixityPool } from '../storage/fixity-pool.ts';
import { isNoSpace } from '../storage/disk-space.ts';
import { safeFileName } from '../storage/file-name.ts';
import { identifyFile } from '../storage/format.ts';
import type { OcflStorageRoot } from '../storage/ocfl.ts';
import { completeIntent } from './complete-ingest.ts';
import type { IngestIntent, IngestJournal } from './ingest-journal.ts';
import { reconcileObject } from './reconcile.ts';
import type { KeyedLock } from './keyed-lock.ts';
import { isAlive } from '../process-alive.ts';
import { loadObject, newId } from './object-commands.ts';
import { objectOcflId, ocflUser } from './ocfl-ids.ts';

/**
 * The write path for bytes. Order is what makes it safe:
 *   1. stream the upload once to staging, hashing as it goes (nothing is kept on failure);
 *   2. check the client's digest and the real format (magic bytes, pixel limit; the full decode
 *      unless `verifyDecode` is off, then the derivatives worker is the decode check);
 *   3. record an intent in the ingest journal (fsynced);
 *   4. write the OCFL version (its root inventory is the commit point);
 *   5. append FileIngested; 6. drop the intent.
 * A crash after 4 leaves an intent that reconcile() finishes with the same event, so the
 * bytes are never without their event, and the event never names bytes that are not durable.
 */
export interface IngestServices {
  store: EventStore;
  ocfl: OcflStorageRoot;
  journal: IngestJournal;
  stagingDir: string;
  maxPixels: number;
  maxFileBytes: number;
  md5: boolean;
  locks: KeyedLock;
  /** Threads that digest staged files (bulk ingest); without one, stageStream hashes inline. */
  hashPool?: FixityPool;
  /**
   * Decode every page of an image before storing it (default true). Bulk ingest turns it off:
   * the header and pixel limits are still checked before anything is stored, and the
   * derivatives worker decodes every master anyway; one it cannot decode becomes
   * DerivativeFailed, which staff see on the work (GET /api/objects/:id, derivativeFailure).
   */
  verifyDecode?: boolean;
}

export interface IngestInput {
  objectId: string;
  source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream;
  name: string;
  role: FileRole;
  /** 1-based page position wanted for the new file; default: after the last one. */
  sequence?: number;
  expectedDigests?: ReturnType<typeof parseDigestHeader>;
  actor: { id: string; role: string };
  correlationId?: string;
}

export type IngestOutcome =
  | { status: 'created'; file: StoredFile; position: bigint | null }
  | { status: 'duplicate'; file: StoredFile; position: null };

export class IngestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly messages: Bilingual,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(messages.en);
    this.name = 'IngestError';
  }
}

function activeState(state: ObjectState, objectId: string) {
  if (state.status === 'absent') {
    throw new DomainError('not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId });
  }
  if (state.status === 'withdrawn') {
    throw new DomainError('withdrawn', {
      vi: `Tài liệu "${objectId}" đã bị rút khỏi kho và không nhận thêm tệp.`,
      en: `Object "${objectId}" has been withdrawn and takes no more files.`,
    }, { objectId });
  }
  return state;
}

const diskFull = () =>
  new IngestError(507, 'insufficient-storage', {
    vi: 'Ổ lưu trữ đã đầy; tệp không được lưu. Hãy báo quản trị viên giải phóng dung lượng rồi gửi lại.',
    en: 'The storage disk is full; nothing was stored. Ask the administrator to free space, then upload again.',
  });

/** An upload streamed to staging, digest-checked and identified, not yet in OCFL. */
export interface StagedUpload {
  path: string;
  size: number;
  digests: Awaited<ReturnType<typeof stageStream>>['digests'];
  facts: Awaited<ReturnType<typeof identifyFile>>;
  name: string;
  role: FileRole;
  sequence?: number;
}

/** Steps 1–2: stream to staging while hashing, then check digest and format. Keeps nothing on failure. */
export async function stageUpload(services: IngestServices, input: Omit<IngestInput, 'objectId' | 'actor' | 'correlationId'>): Promise<StagedUpload> {
  const name = safeFileName(input.name);
  let staged: Awaited<ReturnType<typeof stageStream>>;
  try {
    // A client that sends an MD5 gets it checked even when MD5 is not kept by default.
    const md5 = services.md5 || (input.expectedDigests ?? []).some((d) => d.algorithm === 'md5');
    staged = await stageStream(input.source, services.stagingDir, {
      md5,
      maxBytes: services.maxFileBytes,
      ...(services.hashPool ? { pool: services.hashPool } : {}),
    });
  } catch (err) {
    throw isNoSpace(err) ? diskFull() : err;
  }
  try {
    if (input.expectedDigests?.length) {
      const check = checkDigests(input.expectedDigests, staged.digests);
      if (!check.ok) {
        throw new IngestError(400, 'digest-mismatch', {
          vi: `Giá trị băm ${check.algorithm} không khớp: tệp đã bị hỏng trên đường truyền, không được lưu. Hãy gửi lại.`,
          en: `The ${check.algorithm} digest does not match: the file was damaged in transit and was not stored. Send it again.`,
        }, { algorithm: check.algorithm, expected: check.expected, actual: check.actual });
      }
    }
    const facts = await identifyFile(staged.path, { maxPixels: services.maxPixels, verifyDecode: services.verifyDecode !== false });
    return { ...staged, facts, name, role: input.role, ...(input.sequence !== undefined ? { sequence: input.sequence } : {}) };
  } catch (err) {
    await rm(staged.path, { force: true });
    throw err;
  }
}

/**
 * Steps 3–6 for one or more staged files of one object, as ONE OCFL version: a bulk ingest
 * of a 600-page manuscript must not become 600 versions, each inventory repeating the whole
 * state. Returns an outcome per staged file, in order; staged files are consumed.
 */
export async function commitStaged(
  services: IngestServices,
  objectId: string,
  uploads: StagedUpload[],
  context: { actor: { id: string; role: string }; correlationId?: string },
): Promise<IngestOutcome[]> {
  try {
    return await services.locks.run(objectId, async () => {
      // Under the object lock nobody else is writing it: what a dead process left is finished first.
      await reconcileObject(services, objectId);
      const state = activeState((await loadObject(services.store, objectId)).state, objectId);
      const outcomes: Array<IngestOutcome | undefined> = uploads.map(() => undefined);
      const fresh: Array<{ index: number; upload: StagedUpload; intent: IngestIntent }> = [];
      const seen = new Map<string, number>();
      const correlationId = context.correlationId ?? intentCorrelation();
      const ocflObjectId = objectOcflId(objectId, state);
      for (const [index, upload] of uploads.entries()) {
        const existing = state.files.find((f) => f.digests.sha512 === upload.digests.sha512);
        if (existing) {
          outcomes[index] = { status: 'duplicate', file: existing, position: null };
          continue;
        }
        if (seen.has(upload.digests.sha512)) continue; // the same bytes twice in one batch: the first stands
        seen.set(upload.digests.sha512, index);
        const fileId = newId();
        const intent = await services.journal.record({
          objectId,
          file: {
            fileId,
            name: upload.name,
            role: upload.role,
            size: upload.size,
            mediaType: upload.facts.mediaType,
            digests: upload.digests,
            ...(upload.facts.image ? { image: upload.facts.image } : {}),
            ...(upload.facts.pdf ? { pdf: upload.facts.pdf } : {}),
          },
          ocflObjectId,
          logicalPath: `${fileId}/${upload.name}`,
          ...(upload.sequence !== undefined ? { sequence: upload.sequence } : {}),
          actor: context.actor,
          correlationId,
        });
        fresh.push({ index, upload, intent });
      }
      if (fresh.length) {
        let written: Awaited<ReturnType<OcflStorageRoot['addVersion']>>;
        try {
          written = await services.ocfl.addVersion(
            ocflObjectId,
            fresh.map(({ upload, intent }) => ({ logicalPath: intent.logicalPath, stagedPath: upload.path, size: upload.size, digests: upload.digests })),
            {
              created: new Date().toISOString(),
              message: `thukho: ${fresh.map(({ intent }) => `${intent.file.role} ${intent.file.fileId} "${intent.file.name}"`).join('; ')}`,
              user: ocflUser(context.actor),
            },
          );
        } catch (err) {
          // Not committed: undo the partial version and the intents, keep nothing.
          await services.ocfl.discardIncompleteVersion(ocflObjectId).catch(() => {});
          for (const { intent } of fresh) await services.journal.done(intent);
          throw isNoSpace(err) ? diskFull() : err;
        }
        for (const { index, intent } of fresh) {
          const done = await completeIntent(services, intent, written.version, written.contentPaths[intent.logicalPath] as string);
          await services.journal.done(intent);
          if (!done.file) throw new Error(`file ${intent.file.fileId} missing from object ${objectId} after its event`);
          outcomes[index] = { status: 'created', file: done.file, position: done.position };
        }
      }
      // Duplicates within the batch answer with the file their first copy became.
      return outcomes.map((o, i) => {
        if (o) return o;
        const first = outcomes[seen.get(uploads[i]?.digests.sha512 ?? '') ?? -1];
        if (!first) throw new Error('internal: batch duplicate without its original');
        return { status: 'duplicate', file: first.file, position: null };
      });
    });
  } finally {
    for (const u of uploads) await rm(u.path, { force: true });
  }
}

export async function ingestFile(services: IngestServices, input: IngestInput): Promise<IngestOutcome> {
  // Refuse before reading a byte of the body when the object cannot take files.
  activeState((await loadObject(services.store, input.objectId)).state, input.objectId);
  const upload = await stageUpload(services, input);
  const [outcome] = await commitStaged(services, input.objectId, [upload], input);
  if (!outcome) throw new Error('internal: no outcome for a single upload');
  return outcome;
}

function intentCorrelation(): string {
  return randomBytes(16).toString('hex');
}

/** A staging folder of this process; folders of dead processes are swept at start-up. */
export async function processStagingDir(storageDir: string): Promise<string> {
  const root = join(storageDir, 'staging');
  await mkdir(root, { recursive: true });
  for (const entry of await readdir(root)) {
    const pid = Number(entry.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) continue;
    if (pid === process.pid) continue;
    await rm(join(root, entry), { recursive: true, force: true });
  }
  const dir = join(root, `${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError, type Bilingual } from '../domain/errors.ts';
import type { FileRole } from '../domain/events.ts';
import type { ObjectState, StoredFile } from '../domain/object.ts';
import type { EventStore } from '../eventstore/port.ts';
import { checkDigests, type parseDigestHeader, stageStream } from '../storage/digest.ts';
import { safeFileName } from '../storage/file-name.ts';
import { identifyFile } from '../storage/format.ts';
import type { OcflStorageRoot } from '../storage/ocfl.ts';
import { completeIntent } from './complete-ingest.ts';
import type { IngestJournal } from './ingest-journal.ts';
import { reconcileObject } from './reconcile.ts';
import { isAlive, type KeyedLock } from './keyed-lock.ts';
import { loadObject, newId } from './object-commands.ts';

/**
 * The write path for bytes. Order is what makes it safe:
 *   1. stream the upload once to staging, hashing as it goes (nothing is kept on failure);
 *   2. check the client's digest and the real format (magic bytes, pixel limit);
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

function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const diskFull = () =>
  new IngestError(507, 'insufficient-storage', {
    vi: 'Ổ lưu trữ đã đầy; tệp không được lưu. Hãy báo quản trị viên giải phóng dung lượng rồi gửi lại.',
    en: 'The storage disk is full; nothing was stored. Ask the administrator to free space, then upload again.',
  });

export async function ingestFile(services: IngestServices, input: IngestInput): Promise<IngestOutcome> {
  const name = safeFileName(input.name);
  // Refuse before reading a byte of the body when the object cannot take files.
  activeState((await loadObject(services.store, input.objectId)).state, input.objectId);

  let staged: Awaited<ReturnType<typeof stageStream>>;
  try {
    // A client that sends an MD5 gets it checked even when MD5 is not kept by default.
    const md5 = services.md5 || (input.expectedDigests ?? []).some((d) => d.algorithm === 'md5');
    staged = await stageStream(input.source, services.stagingDir, { md5, maxBytes: services.maxFileBytes });
  } catch (err) {
    throw isDiskFull(err) ? diskFull() : err;
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
    const facts = await identifyFile(staged.path, { maxPixels: services.maxPixels });

    return await services.locks.run(input.objectId, async () => {
      // Under the object lock nobody else is writing it: what a dead process left is finished first.
      await reconcileObject(services, input.objectId);
      const state = activeState((await loadObject(services.store, input.objectId)).state, input.objectId);
      const existing = state.files.find((f) => f.digests.sha512 === staged.digests.sha512);
      if (existing) return { status: 'duplicate' as const, file: existing, position: null };

      const fileId = newId();
      const logicalPath = `${fileId}/${name}`;
      const intent = await services.journal.record({
        objectId: input.objectId,
        file: {
          fileId,
          name,
          role: input.role,
          size: staged.size,
          mediaType: facts.mediaType,
          digests: staged.digests,
          ...(facts.image ? { image: facts.image } : {}),
          ...(facts.pdf ? { pdf: facts.pdf } : {}),
        },
        logicalPath,
        ...(input.sequence !== undefined ? { sequence: input.sequence } : {}),
        actor: input.actor,
        correlationId: input.correlationId ?? intentCorrelation(),
      });
      let written: Awaited<ReturnType<OcflStorageRoot['addVersion']>>;
      try {
        written = await services.ocfl.addVersion(
          input.objectId,
          [{ logicalPath, stagedPath: staged.path, size: staged.size, digests: staged.digests }],
          { created: new Date().toISOString(), message: `thukho: ${input.role} ${fileId} "${name}"`, user: { name: input.actor.id } },
        );
      } catch (err) {
        // Not committed: undo the partial version and the intent, keep nothing.
        await services.ocfl.discardIncompleteVersion(input.objectId).catch(() => {});
        await services.journal.done(intent);
        throw isDiskFull(err) ? diskFull() : err;
      }
      const contentPath = written.contentPaths[logicalPath] as string;
      const done = await completeIntent(services, intent, written.version, contentPath);
      await services.journal.done(intent);
      if (!done.file) throw new Error(`file ${fileId} missing from object ${input.objectId} after its event`);
      return { status: 'created' as const, file: done.file, position: done.position };
    });
  } finally {
    await rm(staged.path, { force: true });
  }
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

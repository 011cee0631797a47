import { createHash, randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventStore } from '../eventstore/port.ts';
import { SEAL_STREAM } from '../eventstore/seal.ts';
import type { AddVersionFile, Inventory, OcflStorageRoot } from '../storage/ocfl.ts';
import type { KeyedLock } from './keyed-lock.ts';
import { ocflUser } from './ocfl-ids.ts';
import { type Description, describeCollection, describeSeals, describeWork } from './work-description.ts';

/**
 * Writes a subject's description (work-description.ts) into its OCFL object as a new version
 * when the head version does not already carry exactly those bytes. A version is only added,
 * never changed, so an interrupted write leaves an uncommitted `vN` that the next write (or
 * ingest's reconcile) discards first: the object stays valid, and the description catches up.
 */
export type DescriptionSubject = { kind: 'object'; id: string } | { kind: 'collection'; id: string } | { kind: 'seals' };

export interface DescriptionServices {
  store: EventStore;
  ocfl: OcflStorageRoot;
  stagingDir: string;
  /** The lock ingest takes per work: a description and an upload of one work do not interleave. */
  locks: KeyedLock;
}

export interface DescribedVersion {
  ocflId: string;
  /** The version written, or null when the head already described the log. */
  version: string | null;
  /** The id of the newest event the version describes (a causation id for what follows). */
  lastEventId: string | null;
}

export function subjectKey(subject: DescriptionSubject): string {
  return subject.kind === 'seals' ? 'seals' : `${subject.kind}:${subject.id}`;
}

export function parseSubjectKey(key: string): DescriptionSubject | null {
  if (key === 'seals') return { kind: 'seals' };
  const m = /^(object|collection):(.+)$/.exec(key);
  return m ? { kind: m[1] as 'object' | 'collection', id: m[2] as string } : null;
}

function describe(store: EventStore, subject: DescriptionSubject): Promise<Description | null> {
  switch (subject.kind) {
    case 'object':
      return describeWork(store, subject.id);
    case 'collection':
      return describeCollection(store, subject.id);
    case 'seals':
      return describeSeals(store, SEAL_STREAM);
  }
}

const sha = (alg: 'sha512' | 'sha256', text: Buffer) => createHash(alg).update(text).digest('hex');

/** The head version's digest of each logical path. */
function headState(inventory: Inventory | null): Map<string, string> {
  const out = new Map<string, string>();
  const state = inventory?.versions[inventory.head]?.state ?? {};
  for (const [digest, paths] of Object.entries(state)) for (const p of paths) out.set(p, digest);
  return out;
}

export async function writeDescription(services: DescriptionServices, subject: DescriptionSubject): Promise<DescribedVersion | null> {
  const run = () => writeLocked(services, subject);
  return subject.kind === 'object' ? services.locks.run(subject.id, run) : run();
}

async function writeLocked(services: DescriptionServices, subject: DescriptionSubject): Promise<DescribedVersion | null> {
  const { ocfl } = services;
  const description = await describe(services.store, subject);
  if (!description) return null;
  const { ocflId } = description;
  if (await ocfl.incompleteVersion(ocflId)) await ocfl.discardIncompleteVersion(ocflId);
  const head = headState(await ocfl.readInventory(ocflId));
  const changed = description.files
    .map((f) => ({ logicalPath: f.logicalPath, bytes: Buffer.from(f.content, 'utf8') }))
    .filter((f) => head.get(f.logicalPath) !== sha('sha512', f.bytes));
  const lastEventId = description.last?.id ?? null;
  if (changed.length === 0) return { ocflId, version: null, lastEventId };

  // Small files, written without fsync: addVersion fsyncs each one after moving it in.
  const staged: AddVersionFile[] = [];
  try {
    for (const f of changed) {
      const path = join(services.stagingDir, `describe-${randomBytes(8).toString('hex')}`);
      await writeFile(path, f.bytes, { flag: 'wx' });
      staged.push({ logicalPath: f.logicalPath, stagedPath: path, size: f.bytes.length, digests: { sha512: sha('sha512', f.bytes), sha256: sha('sha256', f.bytes) } });
    }
    const last = description.last;
    const at = last ? `${last.streamId}@${last.revision}` : 'nothing';
    try {
      const written = await ocfl.addVersion(ocflId, staged, {
        created: new Date().toISOString(),
        message: `thukho: description up to ${at} (${changed.map((f) => f.logicalPath).join(', ')})`,
        user: ocflUser(last?.metadata.actor ?? { id: 'thukho' }),
      });
      return { ocflId, version: written.version, lastEventId };
    } catch (err) {
      await ocfl.discardIncompleteVersion(ocflId).catch(() => {});
      throw err;
    }
  } finally {
    for (const s of staged) await rm(s.stagedPath, { force: true });
  }
}

/**
 * Group commit per subject: while a subject's version is being written, every caller that
 * asks for it again shares ONE next write, which starts when the current one ends and reads
 * the log then. A burst of edits to one work is at most two versions; a caller is answered
 * once a version that includes its change is durable.
 */
export class Describer {
  private readonly slots = new Map<string, { current: Promise<DescribedVersion | null>; next?: Promise<DescribedVersion | null> }>();

  constructor(private readonly services: DescriptionServices) {}

  describe(subject: DescriptionSubject): Promise<DescribedVersion | null> {
    const key = subjectKey(subject);
    const slot = this.slots.get(key);
    if (!slot) return this.start(key, subject);
    slot.next ??= slot.current.then(
      () => this.start(key, subject),
      () => this.start(key, subject),
    );
    return slot.next;
  }

  private start(key: string, subject: DescriptionSubject): Promise<DescribedVersion | null> {
    const current = writeDescription(this.services, subject);
    this.slots.set(key, { current });
    const clear = () => {
      const slot = this.slots.get(key);
      if (slot?.current === current && !slot.next) this.slots.delete(key);
    };
    current.then(clear, clear);
    return current;
  }
}

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EventMetadataSchema } from '../eventstore/envelope.ts';
import { verifyStreamChain } from '../eventstore/hash-chain.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { readReplicaSeals, type SealFile } from '../eventstore/seal.ts';
import type { SqliteEventStore } from '../eventstore/sqlite.ts';
import { OcflStorageRoot } from '../storage/ocfl.ts';
import { replicateObject, type StorageRootSet } from '../storage/replicas.ts';
import { parseOcflId } from './ocfl-ids.ts';
import { EVENTS_DIR, RECORD_PATH } from './work-description.ts';

/**
 * `thukho recover --from ROOT`: a repository rebuilt from one OCFL storage root alone (the
 * primary, or any replica), into an empty data directory.
 *
 * Each object's head version describes itself (work-description.ts). For every object:
 * its description files must match the digests its inventory records, and every stream in
 * them must hold as a hash chain from its genesis; an object that fails either is named
 * with the reason and left out, the rest are recovered. The objects are copied into the new
 * primary root version by version with every file's digest checked (the replication code),
 * then each stream is written into the new log at the global positions it had, so that the
 * seals on that root name the same heads. Finally the newest seal on the root is checked
 * stream by stream against what was recovered.
 *
 * Not in OCFL, by design: user accounts (their streams hold password hashes) and the daily
 * access streams (reading statistics). They come back from a backup of the log (ops/restore)
 * or not at all; accounts can be made again with `thukho users add`.
 */
export const RecoveredLine = z.object({
  streamId: z.string().min(1),
  revision: z.number().int().nonnegative(),
  position: z.string().regex(/^\d+$/),
  id: z.string().min(1),
  type: z.string().min(1),
  data: z.unknown(),
  metadata: EventMetadataSchema,
});

export interface RecoveredSubject {
  ocflId: string;
  kind: 'object' | 'collection' | 'seals';
  id: string | null;
  /** The OCFL version whose description was read. */
  version: string;
  events: number;
  /** The newest log position this subject's streams hold: everything up to it is recovered. */
  completeUpTo: string | null;
}

export interface UnrecoveredObject {
  ocflId: string;
  reason: string;
}

export interface SealCheck {
  status: 'verified' | 'mismatch' | 'no-seal';
  /** The seal file used (the newest usable one on the root). */
  position: string | null;
  sealedAt: string | null;
  merkleRoot: string | null;
  /** Sealed streams whose recovered event at the sealed revision has the sealed hash. */
  matching: number;
  /** Sealed streams recovered with another history, or not recovered although OCFL should hold them. */
  mismatched: Array<{ streamId: string; reason: string }>;
  /** Sealed streams that OCFL never holds (accounts, reading statistics). */
  notInOcfl: string[];
  problems: string[];
}

export interface RecoveryReport {
  from: string;
  objects: number;
  recovered: RecoveredSubject[];
  notRecovered: UnrecoveredObject[];
  streams: number;
  events: number;
  seal: SealCheck;
}

export interface RecoverOptions {
  from: string;
  /** An empty SQLite log: recovery keeps the original positions, which only this adapter can write. */
  store: SqliteEventStore;
  target: { path: string; root: OcflStorageRoot };
  onProgress?: (p: { phase: 'read' | 'copy' | 'log'; done: number; total: number }) => void;
}

/** Streams thukho keeps only in the log, never in OCFL. */
export function keptOnlyInLog(streamId: string): boolean {
  return streamId.startsWith('user-') || streamId.startsWith('access-');
}

const COPY_CONCURRENCY = 8;

type Candidate = RecoveredSubject & { streams: Map<string, RecordedEvent[]> };

const sha512 = (bytes: Buffer) => createHash('sha512').update(bytes).digest('hex');

async function readDescription(source: OcflStorageRoot, ocflId: string): Promise<Candidate> {
  const inventory = await source.readInventory(ocflId);
  if (!inventory) throw new Error('no committed inventory');
  const state = inventory.versions[inventory.head]?.state ?? {};
  const paths = new Map<string, string>();
  for (const [digest, list] of Object.entries(state)) for (const p of list) paths.set(p, digest);
  if (!paths.has(RECORD_PATH)) {
    throw new Error(`its head version ${inventory.head} has no ${RECORD_PATH}: written before thukho described its objects in OCFL, or not a thukho object`);
  }
  const owner = parseOcflId(ocflId);
  const streams = new Map<string, RecordedEvent[]>();
  let completeUpTo: bigint | null = null;
  let events = 0;
  for (const [logicalPath, digest] of [...paths].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const isEvents = logicalPath.startsWith(`${EVENTS_DIR}/`) && logicalPath.endsWith('.jsonl');
    if (!isEvents && logicalPath !== RECORD_PATH) continue;
    const bytes = await readFile(await source.contentFile(ocflId, logicalPath));
    if (sha512(bytes) !== digest) throw new Error(`${logicalPath} does not match the digest its inventory records (altered or damaged on this root)`);
    if (!isEvents) continue;
    const text = bytes.toString('utf8');
    for (const [n, line] of text.split('\n').entries()) {
      if (line === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw new Error(`${logicalPath} line ${n + 1} is not JSON`);
      }
      const parsed = RecoveredLine.safeParse(raw);
      if (!parsed.success) throw new Error(`${logicalPath} line ${n + 1} is not an event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      const e = parsed.data;
      const position = BigInt(e.position);
      const list = streams.get(e.streamId) ?? [];
      list.push({ id: e.id, streamId: e.streamId, revision: BigInt(e.revision), position, type: e.type, data: e.data, metadata: e.metadata as RecordedEvent['metadata'], created: new Date(e.metadata.occurredAt) });
      streams.set(e.streamId, list);
      if (completeUpTo === null || position > completeUpTo) completeUpTo = position;
      events++;
    }
  }
  for (const [streamId, list] of streams) {
    async function* each() {
      yield* list;
    }
    const chain = await verifyStreamChain(streamId, each());
    if (!chain.ok) throw new Error(`stream ${streamId} is broken at revision ${chain.broken.revision} (event ${chain.broken.eventId}): ${chain.broken.reason}`);
  }
  return {
    ocflId,
    kind: owner.kind,
    id: owner.kind === 'seals' ? null : owner.id,
    version: inventory.head,
    events,
    completeUpTo: completeUpTo === null ? null : String(completeUpTo),
    streams,
  };
}

/** The recovered streams against the newest seal on the root, stream by stream (by revision and hash). */
function checkSeal(seal: SealFile | null, streams: Map<string, RecordedEvent[]>, problems: string[]): SealCheck {
  const out: SealCheck = { status: 'no-seal', position: null, sealedAt: null, merkleRoot: null, matching: 0, mismatched: [], notInOcfl: [], problems };
  if (!seal) return out;
  out.position = seal.position;
  out.sealedAt = seal.sealedAt;
  out.merkleRoot = seal.merkleRoot;
  for (const head of seal.heads) {
    const events = streams.get(head.streamId);
    if (!events) {
      if (keptOnlyInLog(head.streamId)) out.notInOcfl.push(head.streamId);
      else out.mismatched.push({ streamId: head.streamId, reason: 'sealed, but not recovered from this root' });
      continue;
    }
    const at = events[Number(head.revision)];
    if (!at) out.mismatched.push({ streamId: head.streamId, reason: `sealed at revision ${head.revision}, recovered only up to ${events.length - 1}` });
    else if (at.metadata.hash !== head.hash) out.mismatched.push({ streamId: head.streamId, reason: `revision ${head.revision} has another hash than the sealed one` });
    else out.matching++;
  }
  // The seal's own event must be among what was recovered, unchanged.
  const sealEvents = streams.get(seal.event.streamId);
  const sealEvent = sealEvents?.[Number(seal.event.revision)];
  if (!sealEvent || sealEvent.metadata.hash !== seal.event.hash || String(sealEvent.position) !== seal.event.position) {
    out.mismatched.push({ streamId: seal.event.streamId, reason: `the seal's own event (revision ${seal.event.revision}) is not recovered as recorded` });
  }
  out.status = out.mismatched.length ? 'mismatch' : 'verified';
  return out;
}

export async function recoverFromRoot(options: RecoverOptions): Promise<RecoveryReport> {
  const source = await OcflStorageRoot.openExisting(options.from);
  const ids: string[] = [];
  for await (const id of source.listObjectIds()) ids.push(id);

  // 1. read and check every object's description
  const candidates: Candidate[] = [];
  const notRecovered: UnrecoveredObject[] = [];
  for (const [i, ocflId] of ids.entries()) {
    try {
      candidates.push(await readDescription(source, ocflId));
    } catch (err) {
      notRecovered.push({ ocflId, reason: (err as Error).message });
    }
    options.onProgress?.({ phase: 'read', done: i + 1, total: ids.length });
  }

  // A stream claimed by two objects is trusted from neither.
  const owners = new Map<string, Candidate[]>();
  for (const c of candidates) for (const s of c.streams.keys()) owners.set(s, [...(owners.get(s) ?? []), c]);
  const rejected = new Set<Candidate>();
  for (const [streamId, list] of owners) {
    if (list.length < 2) continue;
    for (const c of list) {
      rejected.add(c);
      notRecovered.push({ ocflId: c.ocflId, reason: `stream ${streamId} is also claimed by ${list.filter((o) => o !== c).map((o) => o.ocflId).join(', ')}` });
    }
  }

  // 2. copy each object into the new primary root, every file checked against its digest
  const roots: StorageRootSet = {
    primary: { label: 'primary', path: source.root, root: source },
    replicas: [{ label: 'recovered', path: options.target.path, root: options.target.root }],
    unavailable: [],
    all() {
      return [this.primary, ...this.replicas];
    },
  };
  const accepted = new Set<Candidate>();
  const eligible = candidates.filter((c) => !rejected.has(c));
  // Several objects at once: a copy is mostly waiting for fsyncs, which overlap on the disk.
  let next = 0;
  let copied = 0;
  const copier = async () => {
    while (next < eligible.length) {
      const c = eligible[next++] as Candidate;
      try {
        await replicateObject(roots, c.ocflId);
        accepted.add(c);
      } catch (err) {
        notRecovered.push({ ocflId: c.ocflId, reason: `its files could not be copied intact: ${(err as Error).message}` });
      }
      options.onProgress?.({ phase: 'copy', done: ++copied, total: eligible.length });
    }
  };
  await Promise.all(Array.from({ length: COPY_CONCURRENCY }, copier));
  // Objects without a description (written before descriptions) are still copied: their bytes are kept, nameless.
  for (const u of notRecovered) {
    if (candidates.some((c) => c.ocflId === u.ocflId)) continue;
    await replicateObject(roots, u.ocflId).catch(() => {});
  }

  // 3. the streams into the new log, at their original positions
  const streams = new Map<string, RecordedEvent[]>();
  for (const c of eligible) if (accepted.has(c)) for (const [s, list] of c.streams) streams.set(s, list);
  const ordered = [...streams].sort(([, a], [, b]) => (a[0]!.position < b[0]!.position ? -1 : 1));
  let events = 0;
  for (const [i, [streamId, list]] of ordered.entries()) {
    options.store.restoreStream(streamId, list);
    events += list.length;
    options.onProgress?.({ phase: 'log', done: i + 1, total: ordered.length });
  }

  // 4. the newest seal on this root
  const sealed = await readReplicaSeals({ label: 'source', path: source.root });
  const problems = [...(sealed.error ? [sealed.error] : []), ...sealed.unusable.map((u) => `${u.file}: ${u.reason}`)];
  const seal = checkSeal(sealed.latest, streams, problems);

  return {
    from: source.root,
    objects: ids.length,
    recovered: eligible.filter((c) => accepted.has(c)).map(({ streams: _s, ...rest }) => rest),
    notRecovered: notRecovered.sort((a, b) => (a.ocflId < b.ocflId ? -1 : 1)),
    streams: streams.size,
    events,
    seal,
  };
}

/** Written into the data directory by `thukho recover`: what it brought back, and what it could not. */
export const RECOVERY_RECORD = 'recovery.json';

const RecoveryRecord = z.object({ seal: z.object({ notInOcfl: z.array(z.string()) }) });

/** The sealed streams a recovery could not bring back by design; empty when this log was never recovered. */
export async function streamsAbsentByDesign(dataDir: string): Promise<Set<string>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dataDir, RECOVERY_RECORD), 'utf8'));
  } catch {
    return new Set();
  }
  const parsed = RecoveryRecord.safeParse(raw);
  return new Set(parsed.success ? parsed.data.seal.notInOcfl.filter(keptOnlyInLog) : []);
}

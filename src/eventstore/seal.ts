import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CURRENT_SCHEMA_VERSION, eventSchemas, parseEventData } from '../domain/events.ts';
import { fsyncDir, writeFileDurable } from '../storage/durable-file.ts';
import { isStorageRoot } from '../storage/ocfl.ts';
import { newEventId } from './event-id.ts';
import type { EventStore, RecordedEvent, StreamHead } from './port.ts';

/**
 * Seals. A hash chain proves that a stream was not altered only while its head hash is kept
 * somewhere a rewriter cannot reach: whoever can write the log can also edit an event,
 * recompute every later hash of that stream and the recorded head, and every chain check
 * passes again. A seal commits to every stream's head at one global position (a Merkle root
 * over the heads) and is copied onto every replica root, another disk or machine. `verify`
 * recomputes the heads as of the sealed position from the current log and names every stream
 * whose head is no longer the sealed one.
 *
 * The Merkle tree:
 *  - leaves: one per stream except `seal` itself (its events are written after the state they
 *    seal, and are checked against the replica copies instead): sha256 of the UTF-8 text
 *    `streamId + "\n" + headHash + "\n" + revision` (revision in decimal), where the head is
 *    the stream's newest event at or before the sealed position;
 *  - leaves are ordered by stream id, compared by UTF-16 code unit (as canonicalJson sorts keys);
 *  - an inner node is sha256(0x01 ‖ left ‖ right) over the raw 32-byte digests, as RFC 6962.
 *    The 0x01 prefix keeps inner nodes and leaves apart: a leaf's text starts with a stream id,
 *    which starts with a letter or digit, never with byte 0x01;
 *  - an odd node at the end of a level is promoted to the next level unchanged, never paired
 *    with a copy of itself. Duplicating it (as Bitcoin does) would give the leaf lists [a,b,c]
 *    and [a,b,c,c] the same root (CVE-2012-2459). Built level by level like this, the tree is
 *    the one RFC 6962 defines by splitting at the largest power of two below n;
 *  - no streams: the root is sha256 of the empty string (RFC 6962's empty tree).
 * The position is not hashed into the root (SealCreated documents the root as over the heads);
 * it is stored beside the root in the event and in every replica file.
 */

export const SEAL_STREAM = 'seal';
/** The folder inside each replica root that holds the seal files. */
export const SEALS_DIR = 'thukho-seals';
export const SEAL_FILE_FORMAT = 'thukho-seal/1';

export interface HeadAt {
  revision: bigint;
  hash: string;
}

export interface ComputedSeal {
  merkleRoot: string;
  /** The global position the seal covers: everything up to and including it. */
  position: bigint;
  streams: number;
  /** Every stream's head as of `position`, sorted by stream id (the Merkle leaves, in order). */
  heads: StreamHead[];
}

export interface SealProgress {
  /** Events read so far. */
  events: number;
  position: bigint;
  /** The position the pass stops at, when known (for a progress bar). */
  upTo: bigint | null;
}

// ---------------------------------------------------------------------------------------------
// Merkle tree

export function merkleLeaf(head: { streamId: string; revision: bigint; hash: string }): Buffer {
  return createHash('sha256').update(`${head.streamId}\n${head.hash}\n${head.revision.toString()}`, 'utf8').digest();
}

const INNER = Buffer.from([0x01]);

/** The root (hex) of the tree over leaves already in order; see the module comment for the rules. */
export function merkleRootOf(leaves: Buffer[]): string {
  if (leaves.length === 0) return createHash('sha256').digest('hex');
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(createHash('sha256').update(INNER).update(level[i] as Buffer).update(level[i + 1] as Buffer).digest());
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Buffer);
    level = next;
  }
  return (level[0] as Buffer).toString('hex');
}

const byStreamId = (a: { streamId: string }, b: { streamId: string }) => (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0);

function sealOf(heads: Map<string, HeadAt>, position: bigint): ComputedSeal {
  const list: StreamHead[] = [...heads].map(([streamId, h]) => ({ streamId, revision: h.revision, hash: h.hash })).sort(byStreamId);
  return { merkleRoot: merkleRootOf(list.map(merkleLeaf)), position, streams: list.length, heads: list };
}

// ---------------------------------------------------------------------------------------------
// Heads as of a position

const PROGRESS_EVERY = 10_000;

/**
 * Every stream's head as of `upTo`, from the log itself: one forward pass over $all. This
 * trusts nothing but the events, so it is what verification uses (the `streams` head table
 * is exactly what a rewriter edits along with the events).
 */
export async function headsFromLog(
  store: EventStore,
  upTo: bigint,
  onProgress?: (p: SealProgress) => void,
): Promise<Map<string, HeadAt>> {
  const heads = new Map<string, HeadAt>();
  let events = 0;
  for await (const e of store.readAll()) {
    if (e.position > upTo) break;
    events++;
    if (e.streamId !== SEAL_STREAM) heads.set(e.streamId, { revision: e.revision, hash: e.metadata.hash });
    if (events % PROGRESS_EVERY === 0) onProgress?.({ events, position: e.position, upTo });
  }
  onProgress?.({ events, position: upTo, upTo });
  return heads;
}

/**
 * The same heads from the store's list of stream heads, corrected for whatever was appended
 * after `upTo`: only the events after `upTo` are read, plus, for each stream they touch, its
 * newest events back to the first one at or before `upTo`. For a seal of the current state
 * this is a read of the head list and a handful of events instead of the whole log.
 *
 * Consistent without a snapshot: the head list is read after `upTo` was fixed and the tail
 * after the head list, so any head the list shows beyond `upTo` belongs to an event the tail
 * pass sees, and that stream is corrected. Events at or before `upTo` were all committed
 * before it was read (positions grow with commits in both adapters).
 */
export async function headsFromIndex(
  store: EventStore,
  upTo: bigint,
  onProgress?: (p: SealProgress) => void,
): Promise<Map<string, HeadAt>> {
  const heads = new Map<string, HeadAt>();
  for await (const h of store.listStreams()) {
    if (h.streamId !== SEAL_STREAM) heads.set(h.streamId, { revision: h.revision, hash: h.hash });
  }
  const touched = new Set<string>();
  let events = 0;
  // Position 0 is the empty log's seal, not a position an adapter produced: read from the start.
  for await (const e of store.readAll({ after: upTo === 0n ? undefined : upTo })) {
    if (e.position <= upTo) continue;
    events++;
    if (e.streamId !== SEAL_STREAM) touched.add(e.streamId);
    if (events % PROGRESS_EVERY === 0) onProgress?.({ events, position: e.position, upTo: null });
  }
  for (const streamId of touched) {
    heads.delete(streamId);
    for await (const e of store.readStream(streamId, { direction: 'backwards' })) {
      if (e.position <= upTo) {
        heads.set(streamId, { revision: e.revision, hash: e.metadata.hash });
        break;
      }
    }
  }
  return heads;
}

export interface ComputeSealOptions {
  /**
   * 'index': the store's head list plus the events after the position (fast for a recent
   * position; the default when no position is given). 'log': one pass over the log up to the
   * position (the default for an older position, and what verification uses).
   */
  source?: 'index' | 'log';
  onProgress?: (p: SealProgress) => void;
}

/**
 * The seal of the log as of `upTo` (default: the current head). An empty log seals as
 * position 0 with no streams.
 */
export async function computeSeal(store: EventStore, upTo?: bigint, options: ComputeSealOptions = {}): Promise<ComputedSeal> {
  const position = upTo ?? (await store.headPosition()) ?? 0n;
  const source = options.source ?? (upTo === undefined ? 'index' : 'log');
  const heads =
    source === 'index' ? await headsFromIndex(store, position, options.onProgress) : await headsFromLog(store, position, options.onProgress);
  return sealOf(heads, position);
}

// ---------------------------------------------------------------------------------------------
// Seal files on the replicas

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const Decimal = z.string().regex(/^\d+$/);

const SealFileSchema = z.object({
  format: z.literal(SEAL_FILE_FORMAT),
  merkleRoot: Sha256Hex,
  position: Decimal,
  streams: z.number().int().nonnegative(),
  sealedAt: z.string().min(1),
  /** The SealCreated event in the log, so that a rewritten `seal` stream is caught too. */
  event: z.object({
    id: z.string().min(1),
    streamId: z.literal(SEAL_STREAM),
    revision: Decimal,
    position: Decimal,
    hash: Sha256Hex,
  }),
  /** The replica this copy was written to. */
  replica: z.object({ label: z.string().min(1), path: z.string().min(1) }),
  /** How the leaves and the tree are made, for whoever recomputes the root without our code. */
  algorithm: z.string().min(1),
  /** Streams whose heads did not match the previous seal and were sealed anyway (`--force`). */
  forcedOver: z.array(z.string()).optional(),
  heads: z.array(z.object({ streamId: z.string().min(1), revision: Decimal, hash: z.string().min(1) })),
});
export type SealFile = z.infer<typeof SealFileSchema>;

const ALGORITHM =
  'leaf = sha256(utf8(streamId + "\\n" + headHash + "\\n" + revision)), leaves sorted by streamId (UTF-16 code units), ' +
  'stream "seal" excluded; node = sha256(0x01 || left || right); an odd last node is promoted unchanged (RFC 6962); ' +
  'no streams: sha256("")';

const SEAL_FILE = /^seal-(\d+)\.json$/;

export function sealFileName(position: bigint): string {
  return `seal-${position.toString()}.json`;
}

export interface ReplicaRoot {
  label: string;
  path: string;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

/**
 * The seals folder of a replica, created if needed. The replica root must be an OCFL storage
 * root already: a missing or empty directory is most likely a disk that is not mounted, and
 * writing there would put the seal on the disk underneath the mount point.
 */
async function sealsDirOf(replica: ReplicaRoot): Promise<string> {
  if (!(await isStorageRoot(replica.path))) {
    throw new Error(`${replica.path} is not an OCFL storage root (no 0=ocfl_1.1): a disk not mounted, or a replica never initialised (thukho replicas init ${replica.label})`);
  }
  const dir = join(replica.path, SEALS_DIR);
  try {
    await mkdir(dir);
    await fsyncDir(replica.path);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
  }
  return dir;
}

function sealFileText(seal: ComputedSeal, event: SealEventRef, replica: ReplicaRoot, forcedOver: string[] | undefined): string {
  const file: SealFile = {
    format: SEAL_FILE_FORMAT,
    merkleRoot: seal.merkleRoot,
    position: seal.position.toString(),
    streams: seal.streams,
    sealedAt: event.occurredAt,
    event: { id: event.id, streamId: SEAL_STREAM, revision: event.revision.toString(), position: event.position.toString(), hash: event.hash },
    replica: { label: replica.label, path: replica.path },
    algorithm: ALGORITHM,
    ...(forcedOver?.length ? { forcedOver } : {}),
    heads: seal.heads.map((h) => ({ streamId: h.streamId, revision: h.revision.toString(), hash: h.hash })),
  };
  // One head per line: `grep object-x seal-N.json` finds a stream's sealed head, and the file
  // stays about 110 bytes per stream.
  const { heads, ...rest } = file;
  const top = JSON.stringify(rest, null, 2).replace(/\n}$/, '');
  return `${top},\n  "heads": [\n${heads.map((h) => `    ${JSON.stringify(h)}`).join(',\n')}\n  ]\n}\n`;
}

async function latestPositionIn(dir: string): Promise<bigint> {
  try {
    const raw: unknown = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8'));
    const parsed = z.object({ position: Decimal }).safeParse(raw);
    return parsed.success ? BigInt(parsed.data.position) : -1n;
  } catch {
    return -1n;
  }
}

/** A seal file's own heads must give its root: otherwise the copy is damaged, not evidence. */
function selfConsistent(file: SealFile): string | null {
  const heads = file.heads.map((h) => ({ streamId: h.streamId, revision: BigInt(h.revision), hash: h.hash }));
  for (let i = 1; i < heads.length; i++) {
    if (byStreamId(heads[i - 1] as StreamHead, heads[i] as StreamHead) >= 0) return 'heads are not sorted by stream id';
  }
  if (heads.length !== file.streams) return `it lists ${heads.length} heads but says ${file.streams} streams`;
  if (merkleRootOf(heads.map(merkleLeaf)) !== file.merkleRoot) return 'its heads do not give its Merkle root (the file is damaged)';
  return null;
}

export interface ReplicaSeals {
  label: string;
  path: string;
  /** Seal files found (seal-<position>.json). */
  seals: number;
  /** The newest readable, self-consistent seal on this replica. */
  latest: SealFile | null;
  /** The replica could not be read at all (not mounted, no permission). */
  error?: string;
  /** Seal files that could not be used, newest first. */
  unusable: Array<{ file: string; reason: string }>;
}

/** The newest usable seal on one replica; damaged newer files are reported and skipped. */
export async function readReplicaSeals(replica: ReplicaRoot): Promise<ReplicaSeals> {
  const out: ReplicaSeals = { label: replica.label, path: replica.path, seals: 0, latest: null, unusable: [] };
  let names: string[];
  try {
    const s = await stat(replica.path);
    if (!s.isDirectory()) throw new Error(`${replica.path} is not a directory`);
  } catch (err) {
    out.error = errorMessage(err);
    return out;
  }
  try {
    names = await readdir(join(replica.path, SEALS_DIR));
  } catch (err) {
    // A replica that was never sealed to simply has no folder yet.
    if (!isMissing(err)) out.error = errorMessage(err);
    return out;
  }
  const files = names
    .map((name) => ({ name, m: SEAL_FILE.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map((f) => ({ name: f.name, position: BigInt(f.m[1] as string) }))
    .sort((a, b) => (a.position < b.position ? 1 : a.position > b.position ? -1 : 0));
  out.seals = files.length;
  for (const f of files) {
    const path = join(replica.path, SEALS_DIR, f.name);
    try {
      const parsed = SealFileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (!parsed.success) throw new Error(`not a seal file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      if (BigInt(parsed.data.position) !== f.position) throw new Error(`its name says position ${f.position}, its content ${parsed.data.position}`);
      const problem = selfConsistent(parsed.data);
      if (problem) throw new Error(problem);
      out.latest = parsed.data;
      break;
    } catch (err) {
      out.unusable.push({ file: path, reason: errorMessage(err) });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparing the log with a seal

export interface ChangedStream {
  streamId: string;
  /** The head the seal recorded; null when the stream did not exist at the sealed position. */
  sealedHead: HeadAt | null;
  /** The head the current log has at the sealed position; null when the stream is gone. */
  currentHeadAtPosition: HeadAt | null;
}

export function changedStreams(sealed: SealFile, current: Map<string, HeadAt>): ChangedStream[] {
  const out: ChangedStream[] = [];
  const seen = new Set<string>();
  for (const h of sealed.heads) {
    seen.add(h.streamId);
    const sealedHead = { revision: BigInt(h.revision), hash: h.hash };
    const now = current.get(h.streamId) ?? null;
    if (!now || now.revision !== sealedHead.revision || now.hash !== sealedHead.hash) {
      out.push({ streamId: h.streamId, sealedHead, currentHeadAtPosition: now });
    }
  }
  for (const [streamId, now] of current) {
    if (!seen.has(streamId)) out.push({ streamId, sealedHead: null, currentHeadAtPosition: now });
  }
  return out.sort(byStreamId);
}

export type SealEventCheck =
  | { status: 'ok' }
  /** The `seal` stream has no event where the replica copy says the seal was recorded. */
  | { status: 'missing'; detail: string }
  /** The event is there but differs from the replica copy: the seal stream was rewritten. */
  | { status: 'altered'; detail: string };

/** Does the log still hold, unchanged, the SealCreated event the replica copy names? */
export async function checkSealEvent(store: EventStore, file: SealFile): Promise<SealEventCheck> {
  const revision = BigInt(file.event.revision);
  let found: RecordedEvent | null = null;
  for await (const e of store.readStream(SEAL_STREAM, { fromRevision: revision, maxCount: 1 })) found = e;
  if (!found || found.revision !== revision) {
    return { status: 'missing', detail: `the "${SEAL_STREAM}" stream has no event at revision ${revision} (event ${file.event.id})` };
  }
  const differences: string[] = [];
  if (found.id !== file.event.id) differences.push(`event id ${found.id} instead of ${file.event.id}`);
  if (found.metadata.hash !== file.event.hash) differences.push('its hash differs');
  if (found.position.toString() !== file.event.position) differences.push(`position ${found.position} instead of ${file.event.position}`);
  const data = eventSchemas.SealCreated.safeParse(found.data);
  if (!data.success) differences.push('its data is not a SealCreated');
  else {
    if (data.data.merkleRoot !== file.merkleRoot) differences.push(`Merkle root ${data.data.merkleRoot} instead of ${file.merkleRoot}`);
    if (data.data.position !== file.position) differences.push(`sealed position ${data.data.position} instead of ${file.position}`);
    if (data.data.streams !== file.streams) differences.push(`${data.data.streams} streams instead of ${file.streams}`);
  }
  return differences.length ? { status: 'altered', detail: differences.join('; ') } : { status: 'ok' };
}

export interface SealVerification {
  status: 'ok' | 'mismatch' | 'no-seal';
  /** The newest seal found on any replica (heads left out), and the replicas that hold it. */
  seal: { merkleRoot: string; position: bigint; streams: number; sealedAt: string; eventId: string; foundOn: string[] } | null;
  /** Every stream whose head as of the sealed position is not the sealed one, by stream id. */
  changedStreams: ChangedStream[];
  /** Seal files found on all replicas together. */
  sealsFound: number;
  /** The SealCreated event in the log against the replica copy ('not-checked' without a seal). */
  sealEvent: SealEventCheck | { status: 'not-checked' };
  /** The root the current log gives at the sealed position. */
  currentRoot: string | null;
  replicas: Array<{ label: string; path: string; seals: number; latestPosition: bigint | null; error?: string }>;
  /** Damaged seal files, unreachable replicas, replicas that disagree: worth a person's look. */
  problems: string[];
}

function newest(replicas: ReplicaSeals[]): SealFile | null {
  let best: SealFile | null = null;
  for (const r of replicas) {
    if (r.latest && (!best || BigInt(r.latest.position) > BigInt(best.position))) best = r.latest;
  }
  return best;
}

/**
 * Checks the log against the newest seal found on any replica: the heads as of the sealed
 * position are recomputed from the events themselves and every stream whose head differs is
 * named; the `seal` stream's own event is compared with the replica copy, so a rewriter who
 * also rewrote the seal stream (new root, re-chained) is caught; replicas holding different
 * seals for the same position are a mismatch too.
 *
 * What this does not do is recompute each event's hash from its content: that is verifyLog's
 * job. The two together are `thukho verify`.
 */
export async function verifyAgainstSeals(
  store: EventStore,
  replicas: ReplicaRoot[],
  options: {
    onProgress?: (p: SealProgress) => void;
    /**
     * Streams a recovery from OCFL could not bring back by design (accounts, reading
     * statistics; listed in the data directory's recovery.json): while such a stream is
     * absent from the log, its sealed head stands in for it and it is reported, not a mismatch.
     */
    absentByDesign?: ReadonlySet<string>;
  } = {},
): Promise<SealVerification> {
  const found = await Promise.all(replicas.map(readReplicaSeals));
  const problems: string[] = [];
  for (const r of found) {
    if (r.error) problems.push(`replica ${r.label} (${r.path}) cannot be read: ${r.error}`);
    for (const u of r.unusable) problems.push(`replica ${r.label}: ${u.file} is unusable: ${u.reason}`);
  }
  const report: SealVerification = {
    status: 'no-seal',
    seal: null,
    changedStreams: [],
    sealsFound: found.reduce((n, r) => n + r.seals, 0),
    sealEvent: { status: 'not-checked' },
    currentRoot: null,
    replicas: found.map((r) => ({
      label: r.label,
      path: r.path,
      seals: r.seals,
      latestPosition: r.latest ? BigInt(r.latest.position) : null,
      ...(r.error ? { error: r.error } : {}),
    })),
    problems,
  };
  const seal = newest(found);
  if (!seal) return report;

  const holders = found.filter((r) => r.latest?.position === seal.position);
  let disagree = false;
  for (const r of holders) {
    const other = r.latest as SealFile;
    if (other.merkleRoot !== seal.merkleRoot || other.event.hash !== seal.event.hash) {
      disagree = true;
      problems.push(`replicas ${seal.replica.label} and ${r.label} hold different seals for position ${seal.position}`);
    }
  }
  if (seal.forcedOver?.length) {
    problems.push(`the seal at position ${seal.position} was made with --force over changes in: ${seal.forcedOver.join(', ')}`);
  }
  const position = BigInt(seal.position);
  // From the events, not the head list: the head list is what a rewriter edits along with them.
  const heads = await headsFromLog(store, position, options.onProgress);
  const absent = options.absentByDesign ?? new Set<string>();
  const standIns = seal.heads.filter((h) => absent.has(h.streamId) && !heads.has(h.streamId));
  for (const h of standIns) heads.set(h.streamId, { revision: BigInt(h.revision), hash: h.hash });
  if (standIns.length) problems.push(`${standIns.length} sealed stream(s) are not in this log since it was recovered from OCFL, which does not hold them (accounts, reading statistics): ${standIns.slice(0, 5).map((h) => h.streamId).join(', ')}${standIns.length > 5 ? ', …' : ''}`);
  report.currentRoot = sealOf(heads, position).merkleRoot;
  report.changedStreams = changedStreams(seal, heads);
  report.sealEvent = await checkSealEvent(store, seal);
  report.seal = {
    merkleRoot: seal.merkleRoot,
    position,
    streams: seal.streams,
    sealedAt: seal.sealedAt,
    eventId: seal.event.id,
    foundOn: holders.map((r) => r.label),
  };
  const ok = report.changedStreams.length === 0 && report.sealEvent.status === 'ok' && !disagree && report.currentRoot === seal.merkleRoot;
  report.status = ok ? 'ok' : 'mismatch';
  return report;
}

// ---------------------------------------------------------------------------------------------
// Sealing

export interface SealEventRef {
  id: string;
  revision: bigint;
  position: bigint;
  hash: string;
  occurredAt: string;
}

export type SealOutcome =
  | {
      status: 'sealed';
      seal: ComputedSeal;
      event: SealEventRef;
      /** Replicas that now hold the seal, with the file written. */
      writtenTo: Array<ReplicaRoot & { file: string }>;
      /** Replicas that could not be written (the seal is in the log and on the others). */
      failed: Array<ReplicaRoot & { reason: string }>;
      /** Streams that did not match the previous seal, sealed anyway because `force` was given. */
      forcedOver: string[];
    }
  | {
      /** Nothing was appended since the last seal: no new seal. */
      status: 'unchanged';
      lastSeal: { eventId: string; merkleRoot: string; position: bigint; streams: number; occurredAt: string };
    };

/**
 * The log no longer matches the previous seal. A new seal now would bless the change, so
 * none is made: the previous seal stays the evidence until a person has looked.
 */
export class SealRefusedError extends Error {
  constructor(
    readonly position: bigint,
    readonly changed: ChangedStream[],
    readonly reason: string,
  ) {
    super(`the log does not match the seal at position ${position}: ${reason}; no new seal was made`);
    this.name = 'SealRefusedError';
  }
}

async function latestSealEvent(store: EventStore) {
  for await (const e of store.readStream(SEAL_STREAM, { direction: 'backwards', maxCount: 1 })) return e;
  return null;
}

/** The latest seal in the log, as reports quote it (null before the first seal). */
export async function latestSeal(store: EventStore): Promise<{ merkleRoot: string; position: string; streams: number; sealedAt: string; eventId: string } | null> {
  const e = await latestSealEvent(store);
  if (!e) return null;
  const data = parseEventData('SealCreated', e.metadata.schemaVersion, e.data);
  return { merkleRoot: data.merkleRoot, position: data.position, streams: data.streams, sealedAt: e.metadata.occurredAt, eventId: e.id };
}

/**
 * Seal the log now: check that it still matches the previous seal, compute the new one,
 * append SealCreated to the `seal` stream, and write the seal to every replica root as
 * `thukho-seals/seal-<position>.json` and `latest.json`.
 *
 * The previous seal is the newest one on the replicas (checked head by head), or, when no
 * replica holds one, the newest SealCreated in the log (checked by root only). A mismatch
 * throws SealRefusedError unless `force` is given. When nothing was appended since the last
 * seal, nothing is done.
 *
 * `writtenTo` in the event lists the replicas whose seals folder was ready before the append;
 * a write that then fails is returned in `failed` (and a later verify finds no file there).
 */
export async function sealNow(
  store: EventStore,
  replicas: ReplicaRoot[],
  actor: { id: string; role: string },
  options: { force?: boolean; now?: () => Date; onProgress?: (p: SealProgress) => void; causationId?: string } = {},
): Promise<SealOutcome> {
  const head = await store.headPosition();
  const last = await latestSealEvent(store);
  const lastData = last ? eventSchemas.SealCreated.safeParse(last.data) : null;
  if (last && lastData?.success && head !== null && last.position === head) {
    const data = lastData.data;
    return {
      status: 'unchanged',
      lastSeal: { eventId: last.id, merkleRoot: data.merkleRoot, position: BigInt(data.position), streams: data.streams, occurredAt: last.metadata.occurredAt },
    };
  }

  const forcedOver: string[] = [];
  const refuse = (position: bigint, changed: ChangedStream[], reason: string, streams: string[]) => {
    if (!options.force) throw new SealRefusedError(position, changed, reason);
    forcedOver.push(...streams);
  };
  const previous = newest(await Promise.all(replicas.map(readReplicaSeals)));
  if (previous) {
    const position = BigInt(previous.position);
    // Only the events since the previous seal are read, so sealing stays cheap on a large log.
    const changed = changedStreams(previous, await headsFromIndex(store, position));
    const event = await checkSealEvent(store, previous);
    if (changed.length || event.status !== 'ok') {
      const reason = [
        changed.length ? `changed streams: ${changed.map((c) => c.streamId).join(', ')}` : '',
        event.status !== 'ok' ? `the seal event: ${event.detail}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      refuse(position, changed, reason, [...changed.map((c) => c.streamId), ...(event.status !== 'ok' ? [SEAL_STREAM] : [])]);
    }
  } else if (last && lastData && !lastData.success) {
    refuse(last.position, [], `the newest event of the "${SEAL_STREAM}" stream is not a valid SealCreated`, [SEAL_STREAM]);
  } else if (lastData?.success) {
    const position = BigInt(lastData.data.position);
    const root = sealOf(await headsFromIndex(store, position), position).merkleRoot;
    if (root !== lastData.data.merkleRoot) {
      const reason = `the heads give Merkle root ${root}, the seal in the log says ${lastData.data.merkleRoot} (no replica copy to name the streams)`;
      refuse(position, [], reason, ['(unnamed: no replica copy)']);
    }
  }

  const seal = await computeSeal(store, head ?? 0n, { source: 'index', ...(options.onProgress ? { onProgress: options.onProgress } : {}) });

  const ready: Array<{ replica: ReplicaRoot; dir: string }> = [];
  const failed: Array<ReplicaRoot & { reason: string }> = [];
  for (const replica of replicas) {
    try {
      ready.push({ replica, dir: await sealsDirOf(replica) });
    } catch (err) {
      failed.push({ ...replica, reason: errorMessage(err) });
    }
  }

  const id = newEventId();
  const occurredAt = (options.now?.() ?? new Date()).toISOString();
  const data = eventSchemas.SealCreated.parse({
    merkleRoot: seal.merkleRoot,
    position: seal.position.toString(),
    streams: seal.streams,
    writtenTo: ready.map((r) => ({ label: r.replica.label, path: r.replica.path })),
  });
  const appended = await store.append(
    SEAL_STREAM,
    [
      {
        id,
        type: 'SealCreated',
        data,
        metadata: {
          eventId: id,
          schemaVersion: CURRENT_SCHEMA_VERSION.SealCreated,
          occurredAt,
          actor,
          correlationId: id,
          causationId: options.causationId ?? null,
        },
      },
    ],
    'any',
  );
  let recorded: RecordedEvent | null = null;
  for await (const e of store.readStream(SEAL_STREAM, { fromRevision: appended.nextExpectedRevision, maxCount: 1 })) recorded = e;
  if (!recorded || recorded.id !== id) throw new Error(`the seal event ${id} was appended but cannot be read back`);
  const event: SealEventRef = { id, revision: recorded.revision, position: recorded.position, hash: recorded.metadata.hash, occurredAt };

  const writtenTo: Array<ReplicaRoot & { file: string }> = [];
  for (const { replica, dir } of ready) {
    try {
      const text = sealFileText(seal, event, replica, forcedOver);
      const name = sealFileName(seal.position);
      await writeFileDurable(dir, name, text);
      // latest.json is a convenience for people (verify reads the seal-<position> files); a
      // concurrent, newer seal that got there first is not replaced by this older one.
      if ((await latestPositionIn(dir)) < seal.position) await writeFileDurable(dir, 'latest.json', text);
      writtenTo.push({ ...replica, file: join(dir, name) });
    } catch (err) {
      failed.push({ ...replica, reason: errorMessage(err) });
    }
  }
  return { status: 'sealed', seal, event, writtenTo, failed, forcedOver };
}

import { readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { DomainError } from '../domain/errors.ts';
import { type EventData, type FixityFailure, isEventType, parseEventData, type PreservationEvent, PRESERVATION_EVENT_TYPES } from '../domain/events.ts';
import type { StoredFile } from '../domain/object.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { DerivativeStore } from '../iiif/derivative-store.ts';
import { DERIVATIVES_ROOT } from '../projections/fixity-read-model.ts';
import { checkFile, type FileCheck, type FixityAlgorithm, type FixityExpectation, type RateLimiter } from '../storage/fixity.ts';
import { OcflError, OcflStorageRoot } from '../storage/ocfl.ts';
import { validateObject } from '../storage/ocfl-validate.ts';
import { redactPaths } from '../storage/redact-paths.ts';
import { inLanes } from '../work-lanes.ts';
import { loadPreservation, recordDerivative, recordFact } from './machine-facts.ts';
import { loadObject, objectStream, preservationStream } from './object-commands.ts';

/**
 * Fixity checking of one object: every stored file on every storage root (primary and each
 * replica the log says it reached), every derivative pyramid, and the object's OCFL inventory
 * on each root. Each check becomes a FixityChecked event; a failed master or inventory is
 * handed to `repair` (which copies a verified copy over from another root) and the outcome
 * becomes FileRepaired or FileDamaged; a failed pyramid is made again from its master instead,
 * since it is reproducible. Every event goes on the work's preservation stream (head, append).
 *
 * Which digest decides: a master is judged by sha512 (the OCFL digest; computing sha256 as
 * well would cost a third more CPU on every byte and add no assurance), a pyramid by the sha256
 * DerivativeCreated pinned, an inventory by the algorithm of its sidecar.
 */
export const FIXITY_ACTOR = { id: 'worker:fixity', role: 'admin' } as const;
/** Pyramids live beside the primary root, outside OCFL; events and the read model name their place so. */
export const DERIVATIVES_LABEL = DERIVATIVES_ROOT;

export interface RootRef {
  label: string;
  path: string;
}

/** A storage root fixity can read. */
export interface FixityRoot extends RootRef {
  storage: OcflStorageRoot;
}

export type RepairOutcome = { repaired: true; from: RootRef } | { repaired: false; tried: Array<{ root: RootRef; reason: string }> };

/** Replaces a damaged copy on `damaged` with a verified one from another root (src/storage/replicas.ts). */
export type RepairFn = (
  damaged: RootRef,
  what: { target: 'master' | 'inventory'; ocflObjectId: string; contentPath?: string; expected?: { sha512: string; size: number } },
) => Promise<RepairOutcome>;

export interface DerivativeToRemake {
  objectId: string;
  fileId: string;
  masterSha512: string;
  ocflObjectId: string;
  contentPath: string;
}
export type RemakeDerivative = (file: DerivativeToRemake) => Promise<void>;

export type DamagedEvent = EventData<'FileDamaged'>;

/** checkFile, in this thread or a FixityPool's. */
export interface Hasher {
  /** How many checks it runs at once (a pool's size); 1 when absent. */
  readonly size?: number;
  check(path: string, expected: FixityExpectation, options: { limiter?: RateLimiter; signal?: AbortSignal; algorithms?: FixityAlgorithm[] }): Promise<FileCheck>;
}

export const inThread: Hasher = { size: 1, check: (path, expected, options) => checkFile(path, expected, options) };

export interface FixityServices {
  store: EventStore;
  /** Primary first ("primary"), then the replicas that could be opened. */
  roots: FixityRoot[];
  /** Where derivative pyramids are; without it pyramids are not checked. */
  derivatives?: Pick<DerivativeStore, 'root' | 'pyramidPath'>;
  hasher?: Hasher;
  repair: RepairFn;
  remakeDerivative?: RemakeDerivative;
  /** A copy is damaged beyond repair (the lead wires a webhook, a metric, an error log). */
  onDamaged?: (event: DamagedEvent) => void | Promise<void>;
  logger?: Logger;
}

// ---------------------------------------------------------------------------------------------
// Roots

/**
 * The configured storage roots that can be read. A replica root without its OCFL declaration
 * (a disk not mounted) is left out and reported: checking it would find every file "missing"
 * and a repair would write onto the mount point.
 */
export async function openFixityRoots(config: Pick<Config, 'ocflRoot' | 'replicas'>): Promise<{ roots: FixityRoot[]; unavailable: Array<RootRef & { reason: string }> }> {
  const roots: FixityRoot[] = [{ label: 'primary', path: config.ocflRoot, storage: await OcflStorageRoot.open(config.ocflRoot) }];
  const unavailable: Array<RootRef & { reason: string }> = [];
  for (const replica of config.replicas) {
    try {
      roots.push({ ...replica, storage: await OcflStorageRoot.openExisting(replica.path) });
    } catch (err) {
      unavailable.push({ ...replica, reason: (err as Error).message });
    }
  }
  return { roots, unavailable };
}

// ---------------------------------------------------------------------------------------------
// Plan

export type FixityTargetKind = 'master' | 'derivative' | 'inventory';

/** One copy of one object to check. */
export interface PlannedCheck {
  /** `objectId/fileId/target/root` (fileId empty for an inventory): the same key as the read model's. */
  key: string;
  objectId: string;
  fileId?: string;
  target: FixityTargetKind;
  root: RootRef;
  ocflObjectId: string;
  /** Absolute path of the bytes. */
  path: string;
  /** Path relative to the root, as events record it. */
  relPath: string;
  contentPath?: string;
  expected: FixityExpectation;
  algorithm: FixityAlgorithm;
  /** Bytes it will read, when known (progress and read budgets). */
  size: number;
  file?: StoredFile;
}

export interface ObjectPlan {
  objectId: string;
  status: 'active' | 'withdrawn';
  collectionId: string | null;
  checks: PlannedCheck[];
  /** Keys checked by events whose correlation id is the `run` asked for (resuming a run). */
  doneInRun: Map<string, DoneCheck>;
}

export interface DoneCheck {
  outcome: 'pass' | 'fail';
  bytes: number;
  repaired: boolean;
  damaged: boolean;
}

export function checkKey(objectId: string, fileId: string | undefined, target: FixityTargetKind, root: string): string {
  return `${objectId}/${fileId ?? ''}/${target}/${root}`;
}

const versionNumber = (v: string) => Number(/^v(\d+)$/.exec(v)?.[1] ?? Number.NaN);

/**
 * What to check of one work: its files (the object stream), the versions each replica holds
 * and its derivatives (its machine facts), and, when `run` is given, the checks already
 * recorded under that correlation id (a resumed run; the only case that reads every fact).
 */
export async function planObjectFixity(services: Pick<FixityServices, 'store' | 'roots' | 'derivatives'>, objectId: string, options: { run?: string } = {}): Promise<ObjectPlan> {
  const { state } = await loadObject(services.store, objectId);
  if (state.status === 'absent') {
    throw new DomainError('not-found', { vi: `Không tìm thấy tài liệu "${objectId}".`, en: `Object "${objectId}" does not exist.` }, { objectId });
  }
  const summary = await loadPreservation(services.store, objectId);
  const replicated = new Map(Object.entries(summary.replicated));
  const doneInRun = options.run === undefined ? new Map<string, DoneCheck>() : await checksOfRun(services.store, objectId, options.run);

  const checks: PlannedCheck[] = [];
  const files = [...state.files].sort((a, b) => a.sequence - b.sequence);
  for (const root of services.roots) {
    const onRoot = root.label === 'primary' ? files : files.filter((f) => versionNumber(f.storage.version) <= (replicated.get(root.label) ?? 0));
    for (const f of onRoot) {
      const objectRoot = root.storage.objectRoot(f.storage.ocflObjectId);
      checks.push({
        key: checkKey(objectId, f.fileId, 'master', root.label),
        objectId,
        fileId: f.fileId,
        target: 'master',
        root: { label: root.label, path: root.path },
        ocflObjectId: f.storage.ocflObjectId,
        path: root.storage.contentPathOnDisk(f.storage.ocflObjectId, f.storage.path),
        relPath: `${objectRoot}/${f.storage.path}`,
        contentPath: f.storage.path,
        expected: { sha512: f.digests.sha512, size: f.size },
        algorithm: 'sha512',
        size: f.size,
        file: f,
      });
    }
    // One inventory per OCFL object on the root (an object's files share one in practice).
    for (const ocflObjectId of new Set(onRoot.map((f) => f.storage.ocflObjectId))) {
      const objectRoot = root.storage.objectRoot(ocflObjectId);
      checks.push({
        key: checkKey(objectId, undefined, 'inventory', root.label),
        objectId,
        target: 'inventory',
        root: { label: root.label, path: root.path },
        ocflObjectId,
        path: join(root.path, ...objectRoot.split('/'), 'inventory.json'),
        relPath: `${objectRoot}/inventory.json`,
        expected: {},
        algorithm: 'sha512',
        size: 0,
      });
    }
  }
  if (services.derivatives) {
    const d = services.derivatives;
    for (const f of files) {
      const derivative = summary.derivatives[f.fileId];
      if (!derivative) continue;
      const path = d.pyramidPath(derivative.masterSha512);
      checks.push({
        key: checkKey(objectId, f.fileId, 'derivative', DERIVATIVES_LABEL),
        objectId,
        fileId: f.fileId,
        target: 'derivative',
        root: { label: DERIVATIVES_LABEL, path: d.root },
        ocflObjectId: f.storage.ocflObjectId,
        path,
        relPath: relative(d.root, path).split('\\').join('/'),
        expected: { sha256: derivative.pyramid.sha256, size: derivative.pyramid.size },
        algorithm: 'sha256',
        size: derivative.pyramid.size,
        file: f,
      });
    }
  }
  return { objectId, status: state.status, collectionId: state.metadata.collectionId ?? null, checks, doneInRun };
}

/** The checks, repairs and damage a run (by correlation id) already recorded for a work, on either of its streams. */
async function checksOfRun(store: EventStore, objectId: string, run: string): Promise<Map<string, DoneCheck>> {
  const done = new Map<string, DoneCheck>();
  for (const streamId of [objectStream(objectId), preservationStream(objectId)]) {
    for await (const recorded of store.readStream(streamId)) {
      if (recorded.metadata.correlationId !== run || !isEventType(recorded.type) || !(PRESERVATION_EVENT_TYPES as readonly string[]).includes(recorded.type)) continue;
      const event = { type: recorded.type, data: parseEventData(recorded.type, recorded.metadata.schemaVersion, recorded.data) } as PreservationEvent;
      if (event.type === 'FixityChecked') {
        const d = event.data;
        done.set(checkKey(objectId, d.target === 'inventory' ? undefined : d.fileId, d.target, d.storageRoot.label), { outcome: d.outcome, bytes: d.bytes, repaired: false, damaged: false });
      } else if (event.type === 'FileRepaired' || event.type === 'FileDamaged') {
        const d = event.data;
        const found = done.get(checkKey(objectId, d.target === 'inventory' ? undefined : d.fileId, d.target, d.storageRoot.label));
        if (found) found[event.type === 'FileRepaired' ? 'repaired' : 'damaged'] = true;
      }
    }
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// Run

export interface CheckResult {
  key: string;
  objectId: string;
  fileId?: string;
  target: FixityTargetKind;
  root: RootRef;
  /**
   * `absent`: a derivative pyramid that is not there at all (derivatives are not backed up, and
   * may be deleted to free space): work to do, not a fixity failure. Nothing is recorded for
   * it; it is made again from its master (`remade`) and checked in a later cycle.
   */
  outcome: 'pass' | 'fail' | 'absent';
  failure?: FixityFailure;
  bytes: number;
  durationMs: number;
  detail?: string;
  repaired: boolean;
  damaged: boolean;
  /** A failed or absent pyramid was handed to remakeDerivative, and made. */
  remade: boolean;
}

export interface FixityRunOptions {
  limiter?: RateLimiter;
  signal?: AbortSignal;
  /** Check only these copies (the due ones, or those a resumed run has not done). */
  only?: (check: PlannedCheck) => boolean;
  /** Called once a copy's events are in the log. */
  onResult?: (result: CheckResult) => void | Promise<void>;
  actor?: { id: string; role: string };
  correlationId?: string;
  causationId?: string;
}

export interface ObjectFixityResult {
  objectId: string;
  results: CheckResult[];
  /** Copies skipped this time (an inventory with a version being written, or left unfinished by a crash). */
  skipped: Array<{ key: string; reason: string }>;
}

/** Plans and checks one object (see the module comment). */
export async function checkObjectFixity(services: FixityServices, objectId: string, options: FixityRunOptions = {}): Promise<ObjectFixityResult> {
  const plan = await planObjectFixity(services, objectId);
  return runObjectFixity(services, plan, options);
}

const SidecarLine = z.string().regex(/^([0-9a-fA-F]{64}|[0-9a-fA-F]{128})[ \t]+inventory\.json\s*$/);

/** A check's finding; an inventory may also be 'invalid-inventory'. */
type Finding = Omit<FileCheck, 'failure'> & { failure?: FixityFailure };

/** Checks the copies of a plan: files in parallel (as far as the hasher goes), events in order. */
export async function runObjectFixity(services: FixityServices, plan: ObjectPlan, options: FixityRunOptions = {}): Promise<ObjectFixityResult> {
  const { store, logger } = services;
  const hasher = services.hasher ?? inThread;
  const { objectId } = plan;
  const context = {
    actor: options.actor ?? FIXITY_ACTOR,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    ...(options.causationId ? { causationId: options.causationId } : {}),
  };
  const record = (event: PreservationEvent) => recordFact(store, objectId, event, context);
  const chosen = plan.checks.filter((c) => !options.only || options.only(c));
  const results: CheckResult[] = [];
  const skipped: ObjectFixityResult['skipped'] = [];

  // Appends of one object go one after another: parallel appends to one stream would only
  // race for its revision.
  let chain: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn);
    chain = next.catch(() => {});
    return next;
  };

  const finish = async (c: PlannedCheck, check: Finding, expected: { sha512?: string; sha256?: string }, algorithm: FixityAlgorithm) => {
    if (c.target === 'derivative' && check.failure === 'missing') {
      // A pyramid that is simply not there (a restore from backup, a cleared disk) is made
      // again, quietly: an access copy, reproducible from its master, whose absence says
      // nothing about the bytes we keep. A pyramid present with other bytes still fails below:
      // something changed bytes on that disk, which staff must hear of.
      const result: CheckResult = {
        key: c.key,
        objectId,
        ...(c.fileId ? { fileId: c.fileId } : {}),
        target: c.target,
        root: c.root,
        outcome: 'absent',
        bytes: 0,
        durationMs: check.durationMs,
        repaired: false,
        damaged: false,
        remade: false,
      };
      logger?.info({ objectId, fileId: c.fileId }, 'derivative pyramid absent; making it again from its master');
      await remake(c, result);
      results.push(result);
      await options.onResult?.(result);
      return;
    }
    const result: CheckResult = {
      key: c.key,
      objectId,
      ...(c.fileId ? { fileId: c.fileId } : {}),
      target: c.target,
      root: c.root,
      outcome: check.outcome,
      ...(check.failure ? { failure: check.failure } : {}),
      bytes: check.bytes,
      durationMs: check.durationMs,
      ...(check.detail ? { detail: check.detail } : {}),
      repaired: false,
      damaged: false,
      remade: false,
    };
    const data: EventData<'FixityChecked'> = {
      objectId,
      ...(c.fileId ? { fileId: c.fileId } : {}),
      target: c.target,
      path: c.relPath,
      storageRoot: c.root,
      outcome: check.outcome,
      ...(check.failure ? { failure: check.failure } : {}),
      algorithm,
      expected,
      actual: check.actual,
      bytes: check.bytes,
      durationMs: check.durationMs,
      ...(check.detail ? { detail: redactPaths(check.detail).slice(0, 2000) } : {}),
    };
    await record({ type: 'FixityChecked', data });
    if (check.outcome === 'fail' && check.failure) {
      if (c.target === 'derivative') await remake(c, result);
      else await repairCopy(c, check.failure, result);
    }
    results.push(result);
    await options.onResult?.(result);
  };

  const remake = async (c: PlannedCheck, result: CheckResult) => {
    const f = c.file;
    if (plan.status === 'withdrawn') {
      // Nobody is shown a withdrawn object: its access copies are not worth making again.
      logger?.info({ objectId, fileId: c.fileId }, 'derivative of a withdrawn object is absent or failed its fixity check; not made again');
      return;
    }
    if (!services.remakeDerivative || !f) {
      logger?.warn({ objectId, fileId: c.fileId, path: c.path }, 'derivative pyramid absent or failed its fixity check; nothing is set up to make it again');
      return;
    }
    try {
      await services.remakeDerivative({ objectId, fileId: f.fileId, masterSha512: f.digests.sha512, ocflObjectId: f.storage.ocflObjectId, contentPath: f.storage.path });
      result.remade = true;
    } catch (err) {
      logger?.error({ err, objectId, fileId: c.fileId }, 'could not make the damaged derivative again');
    }
  };

  const repairCopy = async (c: PlannedCheck, failure: FixityFailure, result: CheckResult) => {
    const target = c.target as 'master' | 'inventory';
    let outcome: RepairOutcome;
    try {
      outcome = await services.repair(c.root, {
        target,
        ocflObjectId: c.ocflObjectId,
        ...(c.contentPath ? { contentPath: c.contentPath } : {}),
        ...(target === 'master' && c.expected.sha512 !== undefined && c.expected.size !== undefined ? { expected: { sha512: c.expected.sha512, size: c.expected.size } } : {}),
      });
    } catch (err) {
      // The repair itself broke: say the copy is damaged (someone must look) rather than nothing.
      logger?.error({ err, objectId, key: c.key }, 'repair failed');
      outcome = { repaired: false, tried: [{ root: c.root, reason: `repair failed: ${(err as Error).message}` }] };
    }
    const common = { objectId, ...(c.fileId ? { fileId: c.fileId } : {}), target, path: c.relPath, storageRoot: c.root, failure };
    if (outcome.repaired) {
      let sha512 = c.expected.sha512;
      let unreadable: string | undefined;
      if (target === 'inventory') {
        // The event names the bytes now in place; for an inventory they are only known by reading it.
        const now = await checkFile(c.path, {}, { algorithms: ['sha512'] });
        sha512 = now.actual.sha512;
        if (now.outcome !== 'pass') unreadable = now.detail ?? now.failure;
      }
      if (sha512 !== undefined && unreadable === undefined) {
        await record({ type: 'FileRepaired', data: { ...common, from: outcome.from, sha512 } });
        result.repaired = true;
        logger?.warn({ objectId, key: c.key, failure, from: outcome.from.label }, 'damaged copy repaired from another storage root');
        return;
      }
      outcome = { repaired: false, tried: [{ root: outcome.from, reason: `the repaired copy cannot be read: ${unreadable ?? 'no digest'}` }] };
    }
    const data: DamagedEvent = {
      ...common,
      tried: outcome.tried.slice(0, 100).map((t) => ({ root: t.root, reason: redactPaths(t.reason).slice(0, 500) })),
    };
    await record({ type: 'FileDamaged', data });
    result.damaged = true;
    logger?.error({ objectId, key: c.key, failure, tried: data.tried }, 'copy damaged and not repairable');
    try {
      await services.onDamaged?.(data);
    } catch (err) {
      logger?.error({ err, objectId, key: c.key }, 'onDamaged failed');
    }
  };

  const checkInventory = async (c: PlannedCheck) => {
    const root = services.roots.find((r) => r.label === c.root.label);
    if (!root) return;
    const objectDir = join(root.path, ...root.storage.objectRoot(c.ocflObjectId).split('/'));
    const readAndHash = async () => {
      let algorithm: FixityAlgorithm = 'sha512';
      let sidecar: string | null = null;
      for (const a of ['sha512', 'sha256'] as const) {
        sidecar = await readFile(join(objectDir, `inventory.json.${a}`), 'utf8').catch(() => null);
        if (sidecar !== null) {
          algorithm = a;
          break;
        }
      }
      const line = sidecar === null ? null : SidecarLine.safeParse(sidecar.trim());
      const expectedDigest = line?.success ? (line.data.split(/[ \t]/)[0] as string).toLowerCase() : undefined;
      const expected = expectedDigest ? { [algorithm]: expectedDigest } : {};
      const check = await hasher.check(c.path, expected, { ...(options.limiter ? { limiter: options.limiter } : {}), ...(options.signal ? { signal: options.signal } : {}), algorithms: [algorithm] });
      return { algorithm, sidecar, expectedDigest, expected, check };
    };
    const look = async () => {
      const read = await readAndHash();
      const ok = read.check.outcome === 'pass' && read.expectedDigest !== undefined;
      return { read, issues: ok ? await validateObject(objectDir, { checkDigests: false }) : [] };
    };
    let { read, issues } = await look();
    if (read.check.outcome === 'fail' || read.expectedDigest === undefined || issues.length > 0) {
      // A writer between the two renames of its commit, or in the middle of a version, looks
      // like damage: look again while no writer holds the object (the slow path only, so that
      // checks never hold up ingest).
      const again = await root.storage
        .whileNoWriter(c.ocflObjectId, async () => {
          const second = await look();
          // Under the lock, an unfinished version is what a crashed writer left; reconcile
          // cleans it up. Not damage: looked at again next time.
          const unfinished = second.issues.length > 0 ? await root.storage.incompleteVersion(c.ocflObjectId).catch(() => null) : null;
          return { ...second, unfinished };
        })
        .catch((err: unknown) => {
          if (err instanceof OcflError && err.code === 'locked') return null;
          throw err;
        });
      if (again === null || again.unfinished !== null) {
        skipped.push({ key: c.key, reason: again === null ? 'a version is being written' : `a version was left unfinished: ${again.unfinished}` });
        return;
      }
      ({ read, issues } = again);
    }
    const { algorithm, sidecar, expectedDigest, expected, check } = read;
    let result: Finding = check;
    if (check.outcome === 'fail') {
      if (check.failure === 'changed') result = { ...check, failure: 'invalid-inventory', detail: `inventory.json does not match its sidecar inventory.json.${algorithm}` };
    } else if (!expectedDigest) {
      result = { ...check, outcome: 'fail', failure: 'invalid-inventory', detail: sidecar === null ? 'the inventory has no sidecar digest file' : 'the sidecar digest file is malformed' };
    } else if (issues.length > 0) {
      const detail = issues.map((i) => `${i.code} ${i.path ? `${i.path}: ` : ''}${i.message}`).join('; ');
      result = { ...check, outcome: 'fail', failure: 'invalid-inventory', detail: detail.slice(0, 2000) };
    }
    await serially(() => finish(c, result, expected, algorithm));
  };

  // Files first, in parallel up to what the hasher runs at once (and a little more, so that it
  // never waits for us); then each root's inventory, once that root's files are repaired.
  const files = chosen.filter((c) => c.target !== 'inventory');
  const inventories = chosen.filter((c) => c.target === 'inventory');
  const width = (hasher.size ?? 1) + 1;
  const checked = inLanes(files, width, async (c) => {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    const algorithms: FixityAlgorithm[] = [c.algorithm];
    const check = await hasher.check(c.path, c.expected, { ...(options.limiter ? { limiter: options.limiter } : {}), ...(options.signal ? { signal: options.signal } : {}), algorithms });
    const expected = c.algorithm === 'sha512' ? { sha512: c.expected.sha512 as string } : { sha256: c.expected.sha256 as string };
    await serially(() => finish(c, check, expected, c.algorithm));
  });
  const failure = await checked.then(() => null, (err: unknown) => ({ err }));
  await chain;
  if (failure) throw failure.err;
  for (const c of inventories) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    await checkInventory(c);
  }
  await chain;
  return { objectId, results, skipped };
}

// ---------------------------------------------------------------------------------------------
// Making a damaged pyramid again

/**
 * A RemakeDerivative that builds the pyramid again in this process: the damaged folder is
 * removed first (DerivativeStore.build keeps what it finds), then built from the master and
 * recorded (nothing is recorded when the new pyramid has the same digest as the old one).
 */
export function remakeDerivativeInProcess(deps: {
  store: EventStore;
  derivatives: DerivativeStore;
  masterPath: (ocflObjectId: string, contentPath: string) => string;
  tileSize: number;
  maxPixels: number;
  actor?: { id: string; role: string };
}): RemakeDerivative {
  return async (file) => {
    await rm(deps.derivatives.dir(file.masterSha512), { recursive: true, force: true });
    const info = await deps.derivatives.build(deps.masterPath(file.ocflObjectId, file.contentPath), file.masterSha512, { tileSize: deps.tileSize, maxPixels: deps.maxPixels });
    await recordDerivative(deps.store, file.objectId, file.fileId, info, { actor: deps.actor ?? FIXITY_ACTOR });
  };
}

import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, open, opendir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { digestFile } from './digest.ts';
import { fsyncDir, type FsFaultHook, mkdirDurable, writeNewFile } from './durable-file.ts';
import { Inventory, isStorageRoot, objectLockPath, type OcflOptions, OcflStorageRoot } from './ocfl.ts';
import { acquireProcessLock, ProcessLockTimeout, ProcessLockQueue } from './process-lock.ts';

/**
 * Replica OCFL storage roots, their replication from the primary, and repair of a damaged
 * copy from a verified good one.
 *
 * A replica is an OCFL storage root of its own with the primary's layout, so an object sits
 * at the same relative path everywhere and a replica is usable alone (another disk can be
 * mounted as the primary after a loss). Versions are copied byte for byte, version
 * inventories included, so that a replica's root inventory is byte-identical to the
 * primary's once it has the same head: that is what makes an inventory repairable from any
 * root, and lag measurable by comparing sidecars.
 *
 * Crash safety follows OcflStorageRoot.addVersion: a new version's bytes are written and
 * fsynced inside `vN/` first, the root `inventory.json` is replaced by one rename (the
 * commit point), the sidecar after it; a crash leaves an uncommitted `vN` (or a stale
 * sidecar), which OcflStorageRoot.discardIncompleteVersion() cleans before the next copy.
 * A repair writes next to the damaged file under a temp name and renames over it, so the
 * damaged file is replaced whole or not at all.
 *
 * Writers exclude each other with OcflStorageRoot's own per-object lock file (objectLockPath,
 * taken through process-lock.ts), so that a replication or repair also excludes an
 * addVersion or discardIncompleteVersion, in another process or in this one.
 */

export interface StorageRootRef {
  label: string;
  path: string;
}

export interface OpenStorageRoot extends StorageRootRef {
  root: OcflStorageRoot;
}

export interface StorageRootSet {
  primary: { label: 'primary'; path: string; root: OcflStorageRoot };
  /** The configured replicas that are OCFL storage roots now. */
  replicas: OpenStorageRoot[];
  /** Configured replicas left out: missing, empty (a disk not mounted) or not an OCFL root. */
  unavailable: Array<StorageRootRef & { reason: string }>;
  /** The primary first, then the replicas in configuration order: the order repairs try. */
  all(): OpenStorageRoot[];
}

/**
 * Called before each filesystem step of a replication or a repair (and once per chunk
 * written); throwing from it makes that step fail as if the filesystem had. Steps:
 * mkdir, copy, write, fsync, verify, inventory, commit, sidecar (replication);
 * mkdir, write, fsync, verify, written, rename, fsync-dir (repair).
 */
export type StorageFaultHook = (step: string, path: string) => void | Promise<void>;

export type ReplicaErrorCode =
  | 'invalid-roots'
  | 'unknown-root'
  | 'not-found'
  | 'diverged'
  | 'damaged-source'
  | 'copy-mismatch'
  | 'write-failed'
  | 'locked'
  | 'unavailable';

export class ReplicaError extends Error {
  constructor(
    readonly code: ReplicaErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReplicaError';
  }
}

export interface ReplicatedVersion {
  replica: StorageRootRef;
  version: string;
  /** Content files copied (the version's new content; unchanged files are not stored again). */
  files: number;
  bytes: number;
}

/** Some replicas failed: what did get replicated is in `replicated`, so it can be recorded. */
export class ReplicationError extends Error {
  constructor(
    readonly replicated: ReplicatedVersion[],
    readonly failures: Array<{ replica: StorageRootRef; error: Error }>,
  ) {
    super(`replication failed on ${failures.map((f) => `${f.replica.label} (${f.error.message})`).join('; ')}`);
    this.name = 'ReplicationError';
  }
}

const ref = (r: StorageRootRef): StorageRootRef => ({ label: r.label, path: r.path });

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const describe = (err: unknown) => errorCode(err) ?? (err as Error).message;

// ---------------------------------------------------------------------------------------------
// Opening

function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function checkDeclaredRoots(config: { ocflRoot: string; replicas: ReadonlyArray<StorageRootRef> }): void {
  const declared = [{ label: 'primary', path: resolve(config.ocflRoot) }, ...config.replicas.map((r) => ({ label: r.label, path: resolve(r.path) }))];
  const labels = new Set<string>();
  for (const [i, r] of declared.entries()) {
    if (labels.has(r.label)) throw new ReplicaError('invalid-roots', `two storage roots are labelled "${r.label}"; "primary" is the main root and each replica needs its own label`);
    labels.add(r.label);
    for (const other of declared.slice(0, i)) {
      if (isInside(r.path, other.path) || isInside(other.path, r.path)) {
        throw new ReplicaError('invalid-roots', `storage roots "${other.label}" (${other.path}) and "${r.label}" (${r.path}) overlap; each replica needs a directory of its own, outside the others`);
      }
    }
  }
}

function checkLayout(primary: OcflStorageRoot, replica: StorageRootRef, root: OcflStorageRoot): void {
  if (JSON.stringify(root.layout) !== JSON.stringify(primary.layout)) {
    throw new ReplicaError('invalid-roots', `replica "${replica.label}" (${replica.path}) uses another storage layout than the primary (${JSON.stringify(root.layout)}); give it an empty directory`);
  }
}

/**
 * Opens the primary OCFL root (`config.ocflRoot`, label "primary") and every replica root
 * that is one now. A replica that is missing, empty or not an OCFL root is never created
 * here (an unmounted NAS looks exactly like an empty directory, and filling it would fill
 * the disk underneath): it is listed in `unavailable`, and only `initReplicaRoot` (`thukho
 * replicas init`) makes one. Refuses overlapping roots (a replica inside the primary would be
 * walked as the primary's objects) and a replica whose layout differs from the primary's.
 */
export async function openStorageRoots(
  config: { ocflRoot: string; replicas: ReadonlyArray<StorageRootRef> },
  options: OcflOptions = {},
): Promise<StorageRootSet> {
  checkDeclaredRoots(config);
  const primaryRoot = await OcflStorageRoot.open(config.ocflRoot, options);
  const primary = { label: 'primary' as const, path: resolve(config.ocflRoot), root: primaryRoot };
  const replicas: OpenStorageRoot[] = [];
  const unavailable: StorageRootSet['unavailable'] = [];
  for (const r of config.replicas) {
    let root: OcflStorageRoot;
    try {
      root = await OcflStorageRoot.openExisting(r.path, options);
    } catch (err) {
      unavailable.push({ label: r.label, path: resolve(r.path), reason: (err as Error).message });
      continue;
    }
    checkLayout(primaryRoot, r, root);
    replicas.push({ label: r.label, path: resolve(r.path), root });
  }
  return { primary, replicas, unavailable, all: () => [primary, ...replicas] };
}

/**
 * Makes the configured replica `label` an OCFL storage root with the primary's layout, for
 * `thukho replicas init`: the one way a replica root comes to exist. A directory that already
 * is one is left as it is (`created: false`); a non-empty directory that is not is refused.
 */
export async function initReplicaRoot(
  config: { ocflRoot: string; replicas: ReadonlyArray<StorageRootRef> },
  label: string,
): Promise<{ replica: StorageRootRef; created: boolean }> {
  checkDeclaredRoots(config);
  const wanted = config.replicas.find((r) => r.label === label);
  if (!wanted) {
    throw new ReplicaError('unknown-root', `no replica is labelled "${label}" in THUKHO_REPLICAS (configured: ${config.replicas.map((r) => r.label).join(', ') || 'none'})`);
  }
  const replica = { label: wanted.label, path: resolve(wanted.path) };
  const existed = await isStorageRoot(replica.path);
  const primary = await OcflStorageRoot.open(config.ocflRoot);
  checkLayout(primary, replica, await OcflStorageRoot.open(replica.path));
  return { replica, created: !existed };
}

function findRoot(roots: StorageRootSet, wanted: StorageRootRef): OpenStorageRoot {
  const found = roots.all().find((r) => r.label === wanted.label);
  if (!found) throw new ReplicaError('unknown-root', `no storage root is labelled "${wanted.label}"`, { root: wanted });
  if (resolve(wanted.path) !== found.path) {
    throw new ReplicaError('unknown-root', `storage root "${wanted.label}" is at ${found.path} now, not at ${wanted.path}`, { root: wanted });
  }
  return found;
}

const objectDirOf = (r: OpenStorageRoot, ocflId: string) => join(r.root.root, ...r.root.objectRoot(ocflId).split('/'));

// ---------------------------------------------------------------------------------------------
// Locking: OcflStorageRoot's lock file, so that other processes' addVersion waits for us.

/** Separate from OcflStorageRoot's queue: cleaning up runs through that one from inside this one. */
const replicaLocks = new ProcessLockQueue();

async function withObjectLock<T>(
  target: OpenStorageRoot,
  ocflId: string,
  options: { cleanUp: boolean; timeoutMs: number },
  fn: () => Promise<T>,
): Promise<T> {
  const path = objectLockPath(target.root.root, ocflId);
  const run = async (): Promise<T> => {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      let lock;
      try {
        // Cleaning takes the same lock itself, so it runs before ours, and is checked again after.
        lock = await acquireProcessLock(path, {
          timeoutMs: deadline - Date.now(),
          ...(options.cleanUp ? { beforeEachTry: () => target.root.discardIncompleteVersion(ocflId) } : {}),
        });
      } catch (err) {
        if (!(err instanceof ProcessLockTimeout)) throw err;
        throw new ReplicaError('locked', `OCFL object "${ocflId}" on "${target.label}" is locked by another process (${path}: ${err.holder}); if no thukho process runs, remove that file`, { ocflId, path });
      }
      if (options.cleanUp && (await target.root.incompleteVersion(ocflId).catch(() => null)) !== null) {
        await lock.release(); // another process died meanwhile: clean again
        continue;
      }
      let failed = false;
      try {
        return await fn();
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        await lock.release();
        // A failed copy leaves the replica as before (a crash leaves it for the next run).
        // Still inside this process's queue, so nothing of ours is in flight on the object.
        if (failed && options.cleanUp) await target.root.discardIncompleteVersion(ocflId).catch(() => {});
      }
    }
  };
  return replicaLocks.serially(path, run);
}

// ---------------------------------------------------------------------------------------------
// Small durable-write helpers (the ones in ocfl.ts are private to OcflStorageRoot)

async function fault(hook: StorageFaultHook | undefined, step: string, path: string): Promise<void> {
  if (hook) await hook(step, path);
}

/** The hook, told "inventory" instead of "write" (tests stop a replication at a version's own inventory). */
const asInventoryWrite = (hook: StorageFaultHook | undefined): FsFaultHook | undefined => hook && ((step, path) => hook(step === 'write' ? 'inventory' : step, path));

class SourceReadError extends Error {
  constructor(readonly source: string, cause: unknown) {
    super(`cannot read ${source}: ${describe(cause)}`, { cause });
  }
}

const CHUNK = 4 << 20;

/**
 * Copies `src` to a new file `dest` (mode 0644, like OCFL content here), hashing the bytes
 * read, and fsyncs it. Read errors come as SourceReadError, write errors as they are.
 */
async function copyHashing(src: string, dest: string, hook: StorageFaultHook | undefined): Promise<{ size: number; sha512: string; sha256: string }> {
  let input;
  try {
    input = await open(src, 'r');
  } catch (err) {
    throw new SourceReadError(src, err);
  }
  try {
    await fault(hook, 'write', dest);
    const output = await open(dest, 'wx', 0o644);
    try {
      // An unreadable damaged file may have left odd modes behind; the copy gets the usual ones.
      await output.chmod(0o644);
      const h512 = createHash('sha512');
      const h256 = createHash('sha256');
      // No bigger than the file: a 4 MiB buffer for each small file is garbage-collector work.
      const length = Math.min(CHUNK, Math.max(64 << 10, ((await input.stat().catch(() => null))?.size ?? CHUNK) + 1));
      const buffer = Buffer.allocUnsafe(length);
      let size = 0;
      for (;;) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await input.read(buffer, 0, length, size));
        } catch (err) {
          throw new SourceReadError(src, err);
        }
        if (bytesRead === 0) break;
        const chunk = buffer.subarray(0, bytesRead);
        h512.update(chunk);
        h256.update(chunk);
        await fault(hook, 'write', dest);
        let written = 0;
        while (written < bytesRead) {
          const { bytesWritten } = await output.write(chunk, written, bytesRead - written, size + written);
          written += bytesWritten;
        }
        size += bytesRead;
      }
      await fault(hook, 'fsync', dest);
      await output.sync();
      return { size, sha512: h512.digest('hex'), sha256: h256.digest('hex') };
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Inventories read with their sidecar

interface VerifiedInventory {
  bytes: Buffer;
  inventory: Inventory;
  sidecarName: string;
  sidecar: Buffer;
}

/** An inventory file whose sidecar digest verifies and that parses; else the reason it cannot serve. */
async function readVerifiedInventory(dir: string, ocflId: string): Promise<VerifiedInventory | { reason: string; missing?: true }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'inventory.json'));
  } catch (err) {
    return errorCode(err) === 'ENOENT' ? { reason: 'inventory.json is missing', missing: true } : { reason: `inventory.json is unreadable (${describe(err)})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { reason: 'inventory.json is not JSON' };
  }
  const inventory = Inventory.safeParse(parsed);
  if (!inventory.success) return { reason: 'inventory.json is not an OCFL inventory' };
  if (inventory.data.id !== ocflId) return { reason: `inventory.json is the inventory of "${inventory.data.id}"` };
  if (!inventory.data.versions[inventory.data.head]) return { reason: `inventory.json names head ${inventory.data.head} but has no such version` };
  const alg = inventory.data.digestAlgorithm;
  const sidecarName = `inventory.json.${alg}`;
  let sidecar: Buffer;
  try {
    sidecar = await readFile(join(dir, sidecarName));
  } catch (err) {
    return { reason: `${sidecarName} is ${errorCode(err) === 'ENOENT' ? 'missing' : `unreadable (${describe(err)})`}` };
  }
  const digest = createHash(alg).update(bytes).digest('hex');
  if (sidecar.toString('utf8').trim().split(/[ \t]+/)[0]?.toLowerCase() !== digest) {
    return { reason: `inventory.json does not match its sidecar ${sidecarName}` };
  }
  return { bytes, inventory: inventory.data, sidecarName, sidecar };
}

const versionNumber = (name: string) => Number(/^v(\d+)$/.exec(name)?.[1] ?? Number.NaN);

function sortedVersions(inv: Inventory): string[] {
  return Object.keys(inv.versions).sort((a, b) => versionNumber(a) - versionNumber(b));
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Throws unless every version the replica has is the primary's same version (a prefix of its history). */
function checkPrefix(source: Inventory, have: Inventory, replica: OpenStorageRoot): void {
  const diverged = (why: string): never => {
    throw new ReplicaError('diverged', `the copy of "${source.id}" on replica "${replica.label}" is not a copy of the primary's (${why}); it is left alone for a person to look at`, {
      ocflId: source.id,
      replica: ref(replica),
    });
  };
  if (have.digestAlgorithm !== source.digestAlgorithm) diverged('another digest algorithm');
  if (versionNumber(have.head) > versionNumber(source.head)) diverged(`its head ${have.head} is beyond the primary's ${source.head}`);
  for (const [name, version] of Object.entries(have.versions)) {
    const theirs = source.versions[name];
    if (!theirs || !sameJson(theirs.state, version.state) || theirs.created !== version.created) diverged(`version ${name} differs`);
  }
  for (const [digest, paths] of Object.entries(have.manifest)) {
    if (!sameJson(source.manifest[digest], paths)) diverged(`the manifest entry of ${digest.slice(0, 16)}… differs`);
  }
}

// ---------------------------------------------------------------------------------------------
// Replication

export interface ReplicateOptions {
  faults?: StorageFaultHook;
  /** Only these replica labels (default: every replica). */
  replicas?: string[];
  /** How long to wait for another process working on the same object (default 10 min). */
  lockTimeoutMs?: number;
}

/**
 * Copies every OCFL version of `ocflObjectId` that a replica lacks to it, in order, each one
 * verified on the replica before it is committed. Returns the versions newly replicated (an
 * empty list when every replica was up to date). Replicas are done one after the other; when
 * some fail, the others still get their copy and a ReplicationError says which failed and
 * what was replicated.
 */
export async function replicateObject(roots: StorageRootSet, ocflObjectId: string, options: ReplicateOptions = {}): Promise<ReplicatedVersion[]> {
  const atStart = await primaryInventory(roots.primary, ocflObjectId);
  // Every replica is brought to this same head, even if the primary gets more versions
  // meanwhile: a FileReplicated of version N then means every replica got N in that run
  // (the dispatcher closes a version's job on the first one), and the later versions are
  // their own jobs' work.
  const upTo = versionNumber(atStart.inventory.head);
  const targets = options.replicas ? roots.replicas.filter((r) => options.replicas?.includes(r.label)) : roots.replicas;
  const replicated: ReplicatedVersion[] = [];
  const failures: Array<{ replica: StorageRootRef; error: Error }> = [];
  for (const replica of targets) {
    try {
      // Versions committed before a failure are pushed as they are done, so they are reported.
      await replicateTo(roots.primary, replica, ocflObjectId, upTo, options, replicated);
    } catch (err) {
      failures.push({ replica: ref(replica), error: err instanceof Error ? err : new Error(String(err)) });
    }
  }
  if (failures.length > 0) throw new ReplicationError(replicated, failures);
  return replicated;
}

/** The primary's root inventory, verified against its sidecar: a damaged one must not be taken for a diverged replica. */
async function primaryInventory(primary: OpenStorageRoot, ocflId: string): Promise<VerifiedInventory> {
  let verified = await readVerifiedInventory(objectDirOf(primary, ocflId), ocflId);
  // An ingest committing right now renames the inventory, then its sidecar: look again shortly.
  for (let i = 0; i < 3 && 'reason' in verified && !verified.missing; i++) {
    await sleep(100);
    verified = await readVerifiedInventory(objectDirOf(primary, ocflId), ocflId);
  }
  if (!('reason' in verified)) return verified;
  if (verified.missing) throw new ReplicaError('not-found', `OCFL object "${ocflId}" is not in the primary storage root`, { ocflId });
  throw new ReplicaError('damaged-source', `the primary's inventory of "${ocflId}" cannot be used (${verified.reason}); a fixity check will repair it, then replication can go on`, { ocflId });
}

async function replicateTo(primary: OpenStorageRoot, replica: OpenStorageRoot, ocflId: string, upTo: number, options: ReplicateOptions, done: ReplicatedVersion[]): Promise<void> {
  // Opened earlier, perhaps unmounted since: never write onto the mount point.
  if (!(await isStorageRoot(replica.path))) {
    throw new ReplicaError('unavailable', `replica "${replica.label}" (${replica.path}) is no longer an OCFL storage root (not mounted?): nothing was written`, { replica: ref(replica) });
  }
  return withObjectLock(replica, ocflId, { cleanUp: true, timeoutMs: options.lockTimeoutMs ?? 600_000 }, async () => {
    // Read again under the lock: the primary may have committed more versions meanwhile.
    const source = (await primaryInventory(primary, ocflId)).inventory;
    const have = await replica.root.readInventory(ocflId);
    if (have) checkPrefix(source, have, replica);
    const from = have ? versionNumber(have.head) : 0;
    let first = !have;
    for (const version of sortedVersions(source)) {
      if (versionNumber(version) <= from || versionNumber(version) > upTo) continue;
      done.push(await copyVersion(primary, replica, ocflId, source, version, first, options.faults));
      first = false;
    }
  });
}

async function copyVersion(
  primary: OpenStorageRoot,
  replica: OpenStorageRoot,
  ocflId: string,
  source: Inventory,
  version: string,
  newObject: boolean,
  hook: StorageFaultHook | undefined,
): Promise<ReplicatedVersion> {
  const sourceDir = objectDirOf(primary, ocflId);
  const targetDir = objectDirOf(replica, ocflId);

  // The version's own inventory is the root inventory as it was when the version was committed.
  const own = await readVerifiedInventory(join(sourceDir, version), ocflId);
  if ('reason' in own) {
    throw new ReplicaError('damaged-source', `the primary's ${version}/inventory.json of "${ocflId}" cannot be used: ${own.reason}`, { ocflId, version });
  }
  const inv = own.inventory;
  if (inv.head !== version || !sameJson(inv.versions[version], source.versions[version])) {
    throw new ReplicaError('damaged-source', `the primary's ${version}/inventory.json of "${ocflId}" does not agree with its root inventory`, { ocflId, version });
  }
  for (const [digest, paths] of Object.entries(inv.manifest)) {
    if (!sameJson(source.manifest[digest], paths)) {
      throw new ReplicaError('damaged-source', `the primary's ${version}/inventory.json of "${ocflId}" does not agree with its root inventory about ${digest.slice(0, 16)}…`, { ocflId, version });
    }
  }
  const sha256ByPath = new Map<string, string>();
  for (const [digest, paths] of Object.entries(inv.fixity?.sha256 ?? {})) for (const p of paths) sha256ByPath.set(p, digest.toLowerCase());
  const files: Array<{ path: string; digest: string }> = [];
  for (const [digest, paths] of Object.entries(inv.manifest)) {
    for (const p of paths) if (p.startsWith(`${version}/`)) files.push({ path: p, digest: digest.toLowerCase() });
  }

  // ---- 1. object root and version directory (uncommitted until step 4)
  if (newObject) {
    await mkdirDurable(targetDir, hook);
    const namaste = (await readdir(sourceDir)).find((e) => e.startsWith('0=ocfl_object_'));
    if (!namaste) throw new ReplicaError('damaged-source', `the primary's object root of "${ocflId}" has no 0=ocfl_object_ declaration`, { ocflId });
    await writeNewFile(join(targetDir, namaste), await readFile(join(sourceDir, namaste)), hook);
    await fsyncDir(targetDir);
  }
  const versionDir = join(targetDir, version);
  await fault(hook, 'mkdir', versionDir);
  await mkdir(versionDir);

  // ---- 2. content: copy, fsync, and verify on the replica
  const dirs = new Set<string>();
  let bytes = 0;
  for (const f of files) {
    const src = join(sourceDir, ...f.path.split('/'));
    const dest = join(targetDir, ...f.path.split('/'));
    const parent = dirname(dest);
    if (!dirs.has(parent)) {
      await fault(hook, 'mkdir', parent);
      await mkdir(parent, { recursive: true });
      for (let d = parent; d !== versionDir && d.startsWith(versionDir); d = dirname(d)) dirs.add(d);
    }
    await fault(hook, 'copy', dest);
    let copied;
    try {
      copied = await copyHashing(src, dest, hook);
    } catch (err) {
      if (err instanceof SourceReadError) throw new ReplicaError('damaged-source', `the primary's copy of ${f.path} in "${ocflId}" ${err.message}`, { ocflId, path: f.path }, { cause: err });
      throw err;
    }
    const read = inv.digestAlgorithm === 'sha512' ? copied.sha512 : copied.sha256;
    if (read !== f.digest) {
      throw new ReplicaError('damaged-source', `the primary's copy of ${f.path} in "${ocflId}" does not match its ${inv.digestAlgorithm} digest; a fixity check will repair it, then replication can go on`, { ocflId, path: f.path });
    }
    await fault(hook, 'verify', dest);
    const onReplica = await digestFile(dest);
    const wanted256 = sha256ByPath.get(f.path);
    if (
      onReplica.size !== copied.size ||
      (inv.digestAlgorithm === 'sha512' ? onReplica.digests.sha512 : onReplica.digests.sha256) !== f.digest ||
      (wanted256 !== undefined && onReplica.digests.sha256 !== wanted256)
    ) {
      throw new ReplicaError('copy-mismatch', `the copy of ${f.path} written to replica "${replica.label}" does not read back with its digest: the replica's disk is failing?`, { ocflId, path: f.path });
    }
    bytes += copied.size;
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    await fsyncDir(d, hook);
  }

  // ---- 3. the version's own inventory and sidecar, byte for byte
  await writeNewFile(join(versionDir, 'inventory.json'), own.bytes, asInventoryWrite(hook));
  await writeNewFile(join(versionDir, own.sidecarName), own.sidecar, asInventoryWrite(hook));
  await fsyncDir(versionDir);
  await fsyncDir(targetDir);

  // ---- 4. commit: the root inventory by one rename, then its sidecar
  const temps: string[] = [];
  try {
    const inventoryTmp = join(targetDir, `.inventory.json.${randomUUID()}.tmp`);
    temps.push(inventoryTmp);
    await writeNewFile(inventoryTmp, own.bytes, hook);
    const sidecarTmp = join(targetDir, `.${own.sidecarName}.${randomUUID()}.tmp`);
    temps.push(sidecarTmp);
    await writeNewFile(sidecarTmp, own.sidecar, hook);
    await fault(hook, 'commit', join(targetDir, 'inventory.json'));
    await rename(inventoryTmp, join(targetDir, 'inventory.json')); // COMMIT
    temps.shift();
    // A crash here leaves a stale sidecar, which discardIncompleteVersion() rewrites.
    await fault(hook, 'sidecar', join(targetDir, own.sidecarName));
    await rename(sidecarTmp, join(targetDir, own.sidecarName));
    temps.shift();
    await fsyncDir(targetDir);
  } finally {
    for (const t of temps) await rm(t, { force: true }).catch(() => {});
  }
  return { replica: ref(replica), version, files: files.length, bytes };
}

/** Content files and bytes a version added, as recorded on `where` (for FileReplicated of a version copied earlier). */
export async function versionContent(where: OpenStorageRoot, ocflId: string, version: string): Promise<{ files: number; bytes: number } | null> {
  const inv = await where.root.readInventory(ocflId);
  if (!inv?.versions[version]) return null;
  let files = 0;
  let bytes = 0;
  for (const paths of Object.values(inv.manifest)) {
    for (const p of paths) {
      if (!p.startsWith(`${version}/`)) continue;
      files++;
      bytes += await stat(where.root.contentPathOnDisk(ocflId, p)).then((s) => s.size, () => 0);
    }
  }
  return { files, bytes };
}

// ---------------------------------------------------------------------------------------------
// Repair

export interface RepairWhat {
  target: 'master' | 'inventory';
  ocflObjectId: string;
  /** OCFL content path (`v1/content/…`) of a master. */
  contentPath?: string;
  /**
   * What a good copy must be: for a master its digest and size from the event log; for an
   * inventory (optional) the digest of the inventory.json bytes. When a master's is not
   * given, the first inventory whose sidecar verifies says it.
   */
  expected?: { sha512: string; size: number };
  /**
   * For an inventory: the head the object must have. Default: its highest version directory
   * on the damaged root, so that no repair can ever drop a version that is there.
   */
  head?: string;
}

export type RepairResult =
  | { repaired: true; from: StorageRootRef }
  | { repaired: false; tried: Array<{ root: StorageRootRef; reason: string }> };

export interface RepairOptions {
  faults?: StorageFaultHook;
  lockTimeoutMs?: number;
}

/**
 * Replaces a damaged master or object inventory on the `damaged` root with a good copy from
 * another root, tried in order (primary first). A copy is used only when it verifies (master:
 * sha512 and size; inventory: its sidecar, the same head); good copies are only read. The copy
 * is written beside the damaged file under a temp name, fsynced, verified again, and renamed
 * over it; the directory is fsynced. If that write fails (disk full) a ReplicaError
 * 'write-failed' is thrown and the damaged file is as it was; a temp file a crash left is
 * removed by the next repair. `{ repaired: false, tried }` when no root had a good copy.
 */
export async function repairFile(roots: StorageRootSet, damaged: StorageRootRef, what: RepairWhat, options: RepairOptions = {}): Promise<RepairResult> {
  const target = findRoot(roots, damaged);
  const others = roots.all().filter((r) => r.label !== target.label);
  if (what.target === 'master' && !what.contentPath) throw new ReplicaError('not-found', 'repairing a master needs its contentPath');
  return withObjectLock(target, what.ocflObjectId, { cleanUp: false, timeoutMs: options.lockTimeoutMs ?? 120_000 }, () =>
    what.target === 'master' ? repairMaster(roots, target, others, what, options.faults) : repairInventory(target, others, what, options.faults),
  );
}

const repairTempPrefix = (name: string) => `.${name}.repair-`;
const TEMP_SUFFIX = '.tmp';

/** Removes what an interrupted repair of `name` left in `dir` (temp copies, a set-aside damaged directory). */
async function removeRepairLeftovers(dir: string, names: string[]): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  let removed = false;
  for (const e of entries) {
    if (!e.endsWith(TEMP_SUFFIX) || !names.some((n) => e.startsWith(repairTempPrefix(n)))) continue;
    await rm(join(dir, e), { recursive: true, force: true });
    removed = true;
  }
  if (removed) await fsyncDir(dir);
}

/**
 * rename(temp, dest) where dest may be anything a damage left: a file of any mode (rename
 * needs no read permission), nothing, or a directory (set aside first, removed after).
 */
async function replaceWith(tmp: string, dest: string, hook: StorageFaultHook | undefined): Promise<void> {
  const dir = dirname(dest);
  const facts = await lstat(dest).catch(() => null);
  let aside: string | null = null;
  if (facts?.isDirectory()) {
    aside = join(dir, `${repairTempPrefix(basename(dest))}${randomUUID()}.damaged${TEMP_SUFFIX}`);
    await fault(hook, 'rename', dest);
    await rename(dest, aside);
  }
  await fault(hook, 'rename', dest);
  await rename(tmp, dest);
  await fault(hook, 'fsync-dir', dir);
  await fsyncDir(dir);
  if (aside) {
    await rm(aside, { recursive: true, force: true });
    await fsyncDir(dir);
  }
}

async function expectedMaster(roots: StorageRootSet, what: RepairWhat): Promise<{ sha512: string; size?: number }> {
  if (what.expected) return { sha512: what.expected.sha512.toLowerCase(), size: what.expected.size };
  for (const r of roots.all()) {
    const v = await readVerifiedInventory(objectDirOf(r, what.ocflObjectId), what.ocflObjectId);
    if ('reason' in v || v.inventory.digestAlgorithm !== 'sha512') continue;
    for (const [digest, paths] of Object.entries(v.inventory.manifest)) {
      if (paths.includes(what.contentPath as string)) return { sha512: digest.toLowerCase() };
    }
  }
  throw new ReplicaError('not-found', `no verified inventory of "${what.ocflObjectId}" names ${what.contentPath}, so a good copy cannot be told from a bad one`, { ...what });
}

async function repairMaster(roots: StorageRootSet, target: OpenStorageRoot, others: OpenStorageRoot[], what: RepairWhat, hook: StorageFaultHook | undefined): Promise<RepairResult> {
  const contentPath = what.contentPath as string;
  const dest = target.root.contentPathOnDisk(what.ocflObjectId, contentPath);
  const dir = dirname(dest);
  const name = basename(dest);
  await removeRepairLeftovers(dir, [name]);
  const expected = await expectedMaster(roots, what);
  const tried: Array<{ root: StorageRootRef; reason: string }> = [];
  for (const other of others) {
    const src = other.root.contentPathOnDisk(what.ocflObjectId, contentPath);
    let facts;
    try {
      facts = await digestFile(src);
    } catch (err) {
      tried.push({ root: ref(other), reason: errorCode(err) === 'ENOENT' ? 'missing' : `unreadable (${describe(err)})` });
      continue;
    }
    if (expected.size !== undefined && facts.size !== expected.size) {
      tried.push({ root: ref(other), reason: `${facts.size} bytes, expected ${expected.size}` });
      continue;
    }
    if (facts.digests.sha512 !== expected.sha512) {
      tried.push({ root: ref(other), reason: 'sha512 differs' });
      continue;
    }
    const tmp = join(dir, `${repairTempPrefix(name)}${randomUUID()}${TEMP_SUFFIX}`);
    try {
      await mkdirDurable(dir, hook);
      const copied = await copyHashing(src, tmp, hook);
      // Changed between the check and the copy: a copy that does not hold still is no source.
      if (copied.sha512 !== expected.sha512) {
        await rm(tmp, { force: true });
        tried.push({ root: ref(other), reason: 'changed while it was being copied' });
        continue;
      }
      await fault(hook, 'verify', tmp);
      const written = await digestFile(tmp);
      if (written.digests.sha512 !== expected.sha512 || written.size !== copied.size) {
        throw new ReplicaError('write-failed', `the copy written to ${tmp} does not read back with its digest`, { path: tmp });
      }
      await fault(hook, 'written', tmp);
      await replaceWith(tmp, dest, hook);
      return { repaired: true, from: ref(other) };
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      if (err instanceof SourceReadError) {
        tried.push({ root: ref(other), reason: `unreadable (${describe(err.cause)})` });
        continue;
      }
      if (err instanceof ReplicaError) throw err;
      throw new ReplicaError('write-failed', `writing the good copy of ${contentPath} on "${target.label}" failed (${describe(err)}); the damaged file is as it was`, { path: dest }, { cause: err });
    }
  }
  return { repaired: false, tried };
}

async function versionDirs(objectDir: string): Promise<string[]> {
  const entries = await readdir(objectDir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && /^v\d+$/.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => versionNumber(a) - versionNumber(b));
}

const INVENTORY_NAMES = ['inventory.json', 'inventory.json.sha512', 'inventory.json.sha256'];

/**
 * An object's inventories are the root one and each version's own (the root inventory as it
 * was when that version was committed); all are byte-identical across roots, since replicas
 * get them unchanged. Each one on the damaged root that does not verify against its sidecar
 * (or names the wrong head) is replaced by a copy from another root that does; if one of
 * them has no good copy anywhere, nothing is written.
 */
async function repairInventory(target: OpenStorageRoot, others: OpenStorageRoot[], what: RepairWhat, hook: StorageFaultHook | undefined): Promise<RepairResult> {
  const id = what.ocflObjectId;
  const objectDir = objectDirOf(target, id);
  const versions = await versionDirs(objectDir);
  const head = what.head ?? versions.at(-1) ?? null;
  if (head === null) {
    return { repaired: false, tried: [{ root: ref(target), reason: `the object "${id}" on "${target.label}" has no version directory to tell its head by` }] };
  }
  // '' is the object root; 'vN' a version directory. The root inventory comes last: it is the
  // one that decides what the object is.
  // A directory beyond the head is an uncommitted version: not for a repair to touch.
  const places = [...versions.filter((v) => versionNumber(v) <= versionNumber(head)), ''];
  const damaged: string[] = [];
  for (const place of places) {
    const dir = place === '' ? objectDir : join(objectDir, place);
    await removeRepairLeftovers(dir, INVENTORY_NAMES);
    const found = await readVerifiedInventory(dir, id);
    const wantHead = place === '' ? head : place;
    const expectedOk = place !== '' || !what.expected || ('bytes' in found && createHash('sha512').update(found.bytes).digest('hex') === what.expected.sha512.toLowerCase());
    if ('reason' in found || found.inventory.head !== wantHead || !expectedOk) damaged.push(place);
  }
  if (damaged.length === 0) {
    return {
      repaired: false,
      tried: [{ root: ref(target), reason: `every inventory.json of "${id}" on "${target.label}" verifies against its sidecar: what the check found is not in an inventory file (a missing content file?)` }],
    };
  }

  const tried: Array<{ root: StorageRootRef; reason: string }> = [];
  const plan: Array<{ place: string; good: VerifiedInventory; from: OpenStorageRoot }> = [];
  for (const place of damaged) {
    const wantHead = place === '' ? head : place;
    let chosen: { good: VerifiedInventory; from: OpenStorageRoot } | null = null;
    for (const other of others) {
      const otherDir = place === '' ? objectDirOf(other, id) : join(objectDirOf(other, id), place);
      const file = place === '' ? 'inventory.json' : `${place}/inventory.json`;
      const found = await readVerifiedInventory(otherDir, id);
      if ('reason' in found) {
        tried.push({ root: ref(other), reason: place === '' ? found.reason : `${place}/${found.reason}` });
        continue;
      }
      if (found.inventory.head !== wantHead) {
        tried.push({ root: ref(other), reason: `its ${file} names head ${found.inventory.head}, this object's head is ${wantHead}` });
        continue;
      }
      if (place === '' && what.expected && createHash('sha512').update(found.bytes).digest('hex') !== what.expected.sha512.toLowerCase()) {
        tried.push({ root: ref(other), reason: `sha512 of its ${file} differs` });
        continue;
      }
      chosen = { good: found, from: other };
      break;
    }
    if (!chosen) return { repaired: false, tried };
    plan.push({ place, ...chosen });
  }

  for (const { place, good } of plan) {
    const dir = place === '' ? objectDir : join(objectDir, place);
    const temps: string[] = [];
    try {
      const inventoryTmp = join(dir, `${repairTempPrefix('inventory.json')}${randomUUID()}${TEMP_SUFFIX}`);
      temps.push(inventoryTmp);
      await writeNewFile(inventoryTmp, good.bytes, hook);
      const sidecarTmp = join(dir, `${repairTempPrefix(good.sidecarName)}${randomUUID()}${TEMP_SUFFIX}`);
      temps.push(sidecarTmp);
      await writeNewFile(sidecarTmp, good.sidecar, hook);
      await fault(hook, 'verify', inventoryTmp);
      if (!(await readFile(inventoryTmp)).equals(good.bytes) || !(await readFile(sidecarTmp)).equals(good.sidecar)) {
        throw new ReplicaError('write-failed', `the inventory copy written to ${inventoryTmp} does not read back the same`, { path: inventoryTmp });
      }
      await fault(hook, 'written', inventoryTmp);
      // Inventory first: a crash between the two leaves a stale root sidecar, which
      // discardIncompleteVersion() rewrites (the inventory is the head version's own).
      await replaceWith(inventoryTmp, join(dir, 'inventory.json'), hook);
      temps.shift();
      await replaceWith(sidecarTmp, join(dir, good.sidecarName), hook);
      temps.shift();
    } catch (err) {
      for (const t of temps) await rm(t, { force: true }).catch(() => {});
      if (err instanceof ReplicaError) throw err;
      throw new ReplicaError('write-failed', `writing the good ${place === '' ? '' : `${place}/`}inventory.json of "${id}" on "${target.label}" failed (${describe(err)})`, { path: dir }, { cause: err });
    }
  }
  const main = plan.find((p) => p.place === '') ?? (plan[0] as (typeof plan)[number]);
  return { repaired: true, from: ref(main.from) };
}

// ---------------------------------------------------------------------------------------------
// Lag

export interface ReplicaLag extends StorageRootRef {
  /** Objects whose replica head is the primary's. */
  inSync: number;
  /** OCFL ids of objects the replica lacks, or has at an older head. */
  behind: string[];
  /**
   * OCFL ids whose replica sidecar differs and whose inventory is unreadable, has other
   * versions, or names the same or a later head: a replica to look at (damage to an inventory
   * that leaves its sidecar alone is for the fixity check to find, not for this measure).
   */
  differs: string[];
}

export interface ReplicationLagReport {
  /** Committed objects on the primary that were looked at. */
  objects: number;
  replicas: ReplicaLag[];
}

/**
 * How far each replica is behind the primary. Cheap: an object is in sync when its sidecar
 * (one line) is the same on both roots, which holds because replicas get the inventory bytes
 * unchanged; only objects that differ have their inventories parsed. Walks the primary's
 * whole tree unless `ocflObjectIds` is given.
 */
export async function replicationLag(roots: StorageRootSet, ocflObjectIds?: Iterable<string>): Promise<ReplicationLagReport> {
  const report: ReplicationLagReport = {
    objects: 0,
    replicas: roots.replicas.map((r) => ({ ...ref(r), inSync: 0, behind: [], differs: [] })),
  };
  const visit = async (rel: string) => {
    const primaryDir = join(roots.primary.root.root, ...rel.split('/'));
    const sidecarName = (await readdir(primaryDir).catch(() => [] as string[])).find((e) => e === 'inventory.json.sha512' || e === 'inventory.json.sha256');
    if (!sidecarName) return; // no object, or its first version is not committed yet
    const sidecar = await readFile(join(primaryDir, sidecarName)).catch(() => null);
    if (!sidecar) return;
    report.objects++;
    let primaryInv: Inventory | null | undefined;
    const loadPrimary = async () => {
      if (primaryInv !== undefined) return primaryInv;
      try {
        const parsed = Inventory.safeParse(JSON.parse(await readFile(join(primaryDir, 'inventory.json'), 'utf8')));
        primaryInv = parsed.success ? parsed.data : null;
      } catch {
        primaryInv = null;
      }
      return primaryInv;
    };
    for (const [i, replica] of roots.replicas.entries()) {
      const lag = report.replicas[i] as ReplicaLag;
      const replicaDir = join(replica.root.root, ...rel.split('/'));
      const theirs = await readFile(join(replicaDir, sidecarName)).catch(() => null);
      if (theirs?.equals(sidecar)) {
        lag.inSync++;
        continue;
      }
      const inv = await loadPrimary();
      if (!inv) return; // the primary's inventory is damaged: fixity's business, not lag's
      let replicaInv: Inventory | null = null;
      let missing = false;
      try {
        const parsed = Inventory.safeParse(JSON.parse(await readFile(join(replicaDir, 'inventory.json'), 'utf8')));
        replicaInv = parsed.success ? parsed.data : null;
      } catch (err) {
        missing = errorCode(err) === 'ENOENT';
      }
      const prefix =
        replicaInv !== null &&
        versionNumber(replicaInv.head) < versionNumber(inv.head) &&
        Object.entries(replicaInv.versions).every(([name, v]) => sameJson(v.state, inv.versions[name]?.state));
      if (missing || prefix) lag.behind.push(inv.id);
      else lag.differs.push(inv.id);
    }
  };
  if (ocflObjectIds) {
    for (const id of ocflObjectIds) await visit(roots.primary.root.objectRoot(id));
    return report;
  }
  const walk = async (rel: string): Promise<void> => {
    const dir = rel === '' ? roots.primary.root.root : join(roots.primary.root.root, ...rel.split('/'));
    const entries = [];
    for await (const e of await opendir(dir)) entries.push(e);
    if (entries.some((e) => e.isFile() && e.name.startsWith('0=ocfl_object_'))) {
      await visit(rel);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (!e.isDirectory() || e.name.startsWith('.') || (rel === '' && e.name === 'extensions')) continue;
      await walk(rel === '' ? e.name : `${rel}/${e.name}`);
    }
  };
  await walk('');
  return report;
}

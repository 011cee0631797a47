import { createHash, randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, mkdir, opendir, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { Digests } from './digest.ts';
import { createdChain, fsyncDir, fsyncFile, type FsFaultHook, mkdirDurable, replaceFile, writeFileDurable, writeTempFile } from './durable-file.ts';
import { ProcessLockQueue, ProcessLockTimeout } from './process-lock.ts';

/**
 * An OCFL 1.1 storage root (https://ocfl.io/1.1/spec/) with the storage layout of community
 * extension 0004-hashed-n-tuple-storage-layout.
 *
 * Crash safety of addVersion: every byte of a new version (content, then its own inventory and
 * sidecar) is written and fsynced inside `vN/` first; the object-root `inventory.json` is then
 * replaced with one atomic rename, which is the commit point. A `vN` directory that the root
 * inventory does not name is an incomplete version: incompleteVersion() finds it and
 * discardIncompleteVersion() removes it. A committed version is never modified.
 */

export const OCFL_SPEC_VERSION = '1.1';
export const INVENTORY_TYPE = 'https://ocfl.io/1.1/spec/#inventory';
export const LAYOUT_EXTENSION = '0004-hashed-n-tuple-storage-layout';
export const ROOT_NAMASTE = '0=ocfl_1.1';

/**
 * Whether `dir` is an OCFL storage root: it holds the root declaration (OCFL 1.1 §4.2). An
 * unmounted disk's mount point, a wrong path or a directory never initialised is not.
 */
export async function isStorageRoot(dir: string): Promise<boolean> {
  return stat(join(dir, ROOT_NAMASTE)).then(
    (s) => s.isFile(),
    () => false,
  );
}
const OBJECT_NAMASTE = '0=ocfl_object_1.1';

export type OcflErrorCode =
  | 'not-a-storage-root'
  | 'unsupported-storage-root'
  | 'invalid-layout'
  | 'invalid-id'
  | 'invalid-logical-path'
  | 'invalid-input'
  | 'invalid-inventory'
  | 'incomplete-version'
  | 'damaged-object'
  | 'not-found'
  | 'locked'
  | 'version-overflow';

export class OcflError extends Error {
  constructor(
    readonly code: OcflErrorCode,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OcflError';
  }
}

// ---------------------------------------------------------------------------------------------
// Inventory

const DigestMap = z.record(z.string(), z.array(z.string()));

export const OcflVersion = z.object({
  created: z.string(),
  message: z.string().optional(),
  user: z.object({ name: z.string(), address: z.string().optional() }).optional(),
  state: DigestMap,
});
export type OcflVersion = z.infer<typeof OcflVersion>;

export const Inventory = z.object({
  id: z.string().min(1),
  type: z.string(),
  digestAlgorithm: z.enum(['sha512', 'sha256']),
  head: z.string().regex(/^v\d+$/),
  contentDirectory: z.string().optional(),
  manifest: DigestMap,
  versions: z.record(z.string().regex(/^v\d+$/), OcflVersion),
  fixity: z.record(z.string(), DigestMap).optional(),
});
export type Inventory = z.infer<typeof Inventory>;

/** The inventory as written: fixed key order, two-space indent, final newline. */
function serializeInventory(inv: Inventory): string {
  const versions: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(inv.versions)) {
    versions[name] = {
      created: v.created,
      ...(v.message !== undefined ? { message: v.message } : {}),
      ...(v.user ? { user: { name: v.user.name, ...(v.user.address !== undefined ? { address: v.user.address } : {}) } } : {}),
      state: v.state,
    };
  }
  const ordered = {
    id: inv.id,
    type: inv.type,
    digestAlgorithm: inv.digestAlgorithm,
    head: inv.head,
    ...(inv.contentDirectory !== undefined ? { contentDirectory: inv.contentDirectory } : {}),
    manifest: inv.manifest,
    versions,
    ...(inv.fixity !== undefined ? { fixity: inv.fixity } : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

function parseVersionName(name: string): { n: number; width: number } | null {
  const m = /^v(\d+)$/.exec(name);
  if (!m || !m[1]) return null;
  const digits = m[1];
  const n = Number(digits);
  if (!Number.isSafeInteger(n) || n < 1) return null;
  return { n, width: digits.startsWith('0') ? digits.length : 0 };
}

function nextVersionName(head: string): string {
  const parsed = parseVersionName(head);
  if (!parsed) throw new OcflError('invalid-inventory', `head "${head}" is not a version name`);
  const n = parsed.n + 1;
  if (parsed.width === 0) return `v${n}`;
  const digits = String(n).padStart(parsed.width, '0');
  if (digits.length > parsed.width || !digits.startsWith('0')) {
    throw new OcflError('version-overflow', `object uses ${parsed.width}-digit zero-padded versions and cannot go past ${head}`);
  }
  return `v${digits}`;
}

// ---------------------------------------------------------------------------------------------
// Paths

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const MAX_LOGICAL_PATH_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;

/**
 * Throws OcflError('invalid-logical-path') unless `path` is a safe OCFL logical path: NFC,
 * well-formed UTF-8, no control characters or backslashes, `/`-separated segments that are
 * neither empty, `.` nor `..`, no leading or trailing `/`, at most 1024 UTF-8 bytes in all
 * and 255 per segment (it also becomes a file name on disk).
 */
export function validateLogicalPath(path: string): void {
  const fail = (why: string): never => {
    throw new OcflError('invalid-logical-path', `invalid logical path ${JSON.stringify(path)}: ${why}`, { path });
  };
  if (typeof path !== 'string' || path.length === 0) fail('it is empty');
  if (LONE_SURROGATE.test(path)) fail('it is not well-formed Unicode');
  if (CONTROL.test(path)) fail('it contains a control character');
  if (path.includes('\\')) fail('it contains a backslash (use / between folders)');
  if (path !== path.normalize('NFC')) fail('it is not in Unicode normal form C (NFC)');
  if (path.startsWith('/')) fail('it starts with /');
  if (path.endsWith('/')) fail('it ends with /');
  if (Buffer.byteLength(path, 'utf8') > MAX_LOGICAL_PATH_BYTES) fail(`it is longer than ${MAX_LOGICAL_PATH_BYTES} bytes of UTF-8`);
  for (const segment of path.split('/')) {
    if (segment === '') fail('it has an empty segment (//)');
    if (segment === '.' || segment === '..') fail(`it has a "${segment}" segment`);
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) fail(`a segment is longer than ${MAX_SEGMENT_BYTES} bytes of UTF-8`);
  }
}

/** OCFL E095: no logical path may be a folder of another. Returns the first conflict. */
function findPathConflict(paths: Iterable<string>): [string, string] | null {
  const all = new Set(paths);
  for (const p of all) {
    let i = p.indexOf('/');
    while (i >= 0) {
      const prefix = p.slice(0, i);
      if (all.has(prefix)) return [prefix, p];
      i = p.indexOf('/', i + 1);
    }
  }
  return null;
}

function validateId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new OcflError('invalid-id', 'an OCFL object id must be a non-empty string');
  if (LONE_SURROGATE.test(id)) throw new OcflError('invalid-id', `OCFL object id ${JSON.stringify(id)} is not well-formed Unicode`);
  if (Buffer.byteLength(id, 'utf8') > 4096) throw new OcflError('invalid-id', 'an OCFL object id must be at most 4096 bytes of UTF-8');
}

// ---------------------------------------------------------------------------------------------
// Extension 0004: hashed n-tuple storage layout

export interface HashedNTupleConfig {
  extensionName: typeof LAYOUT_EXTENSION;
  digestAlgorithm: string;
  tupleSize: number;
  numberOfTuples: number;
  shortObjectRoot: boolean;
}

export const DEFAULT_LAYOUT: HashedNTupleConfig = {
  extensionName: LAYOUT_EXTENSION,
  digestAlgorithm: 'sha256',
  tupleSize: 3,
  numberOfTuples: 3,
  shortObjectRoot: false,
};

/** OCFL digest algorithm names (spec §3.4 and extension 0001) → node:crypto names. */
const NODE_HASH: Record<string, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
  'blake2b-512': 'blake2b512',
  'sha512/256': 'sha512-256',
};

function checkLayoutConfig(config: HashedNTupleConfig): void {
  const bad = (why: string): never => {
    throw new OcflError('invalid-layout', `invalid ${LAYOUT_EXTENSION} configuration: ${why}`, { config });
  };
  const nodeName = NODE_HASH[config.digestAlgorithm];
  if (!nodeName) bad(`digest algorithm "${config.digestAlgorithm}" is not supported`);
  const hexLength = createHash(nodeName as string).digest().length * 2;
  for (const key of ['tupleSize', 'numberOfTuples'] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 0 || v > 32) bad(`${key} must be an integer from 0 to 32`);
  }
  if ((config.tupleSize === 0) !== (config.numberOfTuples === 0)) bad('tupleSize and numberOfTuples must both be 0 or both be positive');
  if (config.tupleSize * config.numberOfTuples > hexLength) bad(`tupleSize × numberOfTuples exceeds the ${hexLength} hex digits of the digest`);
  if (config.shortObjectRoot && config.tupleSize * config.numberOfTuples === hexLength) bad('shortObjectRoot must be false when the tuples use the whole digest');
}

/**
 * Object root path (relative to the storage root, `/`-separated) of `id` under extension 0004:
 * the digest of the UTF-8 id in lowercase hex, `numberOfTuples` directories of `tupleSize`
 * characters, then the full digest (or only its unused rest when `shortObjectRoot`).
 */
export function hashedNTupleObjectRoot(id: string, config: Partial<HashedNTupleConfig> = {}): string {
  const c: HashedNTupleConfig = { ...DEFAULT_LAYOUT, ...config };
  checkLayoutConfig(c);
  const digest = createHash(NODE_HASH[c.digestAlgorithm] as string).update(id, 'utf8').digest('hex');
  const parts: string[] = [];
  for (let i = 0; i < c.numberOfTuples; i++) parts.push(digest.slice(i * c.tupleSize, (i + 1) * c.tupleSize));
  parts.push(c.shortObjectRoot ? digest.slice(c.tupleSize * c.numberOfTuples) : digest);
  return parts.join('/');
}

// ---------------------------------------------------------------------------------------------
// Filesystem seam

export type OcflFsStep = 'mkdir' | 'write' | 'fsync' | 'rename' | 'copy' | 'remove';
/**
 * Called before every filesystem change that addVersion makes (and the object-creation steps
 * of it); throwing from it makes that step fail as if the filesystem had (tests inject ENOSPC).
 */
export type OcflFaultHook = (op: { step: OcflFsStep; path: string }) => void | Promise<void>;

export interface OcflOptions {
  faults?: OcflFaultHook;
  /** How long to wait for another process's lock on an object (default 120 s). */
  lockTimeoutMs?: number;
}

export interface AddVersionFile {
  logicalPath: string;
  stagedPath: string;
  size: number;
  digests: Digests;
}

export interface VersionInfo {
  /** RFC 3339 date-time, e.g. new Date().toISOString(). */
  created: string;
  message: string;
  user: { name: string; address?: string };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Promise.all that waits for every operation to end before it throws the first failure: no
 * write may still be running (and leave a file behind) once the caller cleans up.
 */
async function settled<T>(operations: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(operations);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Per object, shared by every OcflStorageRoot of this process. */
const objectLocks = new ProcessLockQueue();

/**
 * `.lock-<sha256 of id>` directly in the storage root (the spec lets a storage root hold
 * files it does not describe): every writer of the object takes it (see process-lock.ts).
 */
export function objectLockPath(root: string, ocflId: string): string {
  return join(root, `.lock-${createHash('sha256').update(ocflId, 'utf8').digest('hex')}`);
}

const INVENTORY_CACHE_SIZE = 256;

interface CacheEntry {
  key: string;
  inventory: Inventory;
  sidecarOk: string | null;
}

const fileKey = (facts: { ino: bigint; mtimeNs: bigint; size: bigint }) => `${facts.ino}:${facts.mtimeNs}:${facts.size}`;

export class OcflStorageRoot {
  /**
   * Parsed committed inventories, keyed by the inventory file's inode, mtime and size (a new
   * inventory always arrives by rename, so any change gives a new key). `sidecarOk` is the same
   * kind of key of the sidecar file once it was checked (or written) against exactly that
   * inventory. The inventories are never mutated.
   */
  private readonly cache = new Map<string, CacheEntry>();

  private constructor(
    readonly root: string,
    readonly layout: HashedNTupleConfig,
    private readonly options: OcflOptions,
  ) {}

  /**
   * Opens the storage root at `rootDir`, creating it when the directory is missing or empty.
   * Refuses a non-empty directory that is not an OCFL 1.1 storage root with extension 0004.
   */
  static async open(rootDir: string, options: OcflOptions = {}): Promise<OcflStorageRoot> {
    const root = resolve(rootDir);
    const created = await mkdir(root, { recursive: true });
    if (created) for (const d of createdChain(created, root)) await fsyncDir(d);
    const entries = await readdir(root);
    const namastes = entries.filter((e) => e.startsWith('0='));
    if (namastes.length === 0) {
      const leftovers = entries.filter((e) => !isInterruptedInitEntry(e));
      if (leftovers.length > 0) {
        const shown = leftovers.slice(0, 5).map((e) => JSON.stringify(e)).join(', ');
        throw new OcflError(
          'not-a-storage-root',
          `${root} is not empty and is not an OCFL storage root (no ${ROOT_NAMASTE} file; it holds ${shown}${leftovers.length > 5 ? ', …' : ''}). ` +
            'Point the OCFL root at an empty or new directory.',
          { root },
        );
      }
      await initStorageRoot(root);
      return new OcflStorageRoot(root, DEFAULT_LAYOUT, options);
    }
    if (namastes.length > 1 || namastes[0] !== ROOT_NAMASTE) {
      throw new OcflError('unsupported-storage-root', `${root} is an OCFL storage root of another version (${namastes.join(', ')}); only OCFL ${OCFL_SPEC_VERSION} is supported`, { root });
    }
    const declared = await readFile(join(root, ROOT_NAMASTE), 'utf8');
    if (declared !== 'ocfl_1.1\n') throw new OcflError('unsupported-storage-root', `${join(root, ROOT_NAMASTE)} does not contain "ocfl_1.1\\n"`, { root });
    return new OcflStorageRoot(root, await readLayout(root), options);
  }

  /**
   * Opens a storage root that exists, never creating one: a missing or empty directory (what
   * an unmounted NAS looks like) is refused, so nothing is ever written onto a mount point.
   * Replicas are opened this way; only `open` (the primary's first start, `thukho replicas
   * init`) creates a root.
   */
  static async openExisting(rootDir: string, options: OcflOptions = {}): Promise<OcflStorageRoot> {
    const root = resolve(rootDir);
    if (!(await isStorageRoot(root))) {
      throw new OcflError('not-a-storage-root', `${root} is not an OCFL storage root (no ${ROOT_NAMASTE}): a disk not mounted, a wrong path, or a root never initialised`, { root });
    }
    return OcflStorageRoot.open(root, options);
  }

  /** Object root of `ocflId`, relative to the storage root, `/`-separated (extension 0004). */
  objectRoot(ocflId: string): string {
    validateId(ocflId);
    return hashedNTupleObjectRoot(ocflId, this.layout);
  }

  /** Absolute path of a content path (`v1/content/...`) as recorded at ingest: no inventory read. */
  contentPathOnDisk(ocflId: string, contentPath: string): string {
    const parts = contentPath.split('/');
    if (parts.some((p) => p === '..' || p === '' || p === '.')) {
      throw new OcflError('invalid-logical-path', `content path "${contentPath}" is not a plain relative path`, { contentPath });
    }
    return join(this.objectDir(ocflId), ...parts);
  }

  private objectDir(ocflId: string): string {
    return join(this.root, ...this.objectRoot(ocflId).split('/'));
  }

  /** The committed (object-root) inventory of `ocflId`, or null when the object does not exist. */
  async readInventory(ocflId: string): Promise<Inventory | null> {
    const inventory = await this.loadInventory(ocflId);
    return inventory ? structuredClone(inventory) : null;
  }

  private async loadInventory(ocflId: string): Promise<Inventory | null> {
    return (await this.loadCommitted(ocflId))?.inventory ?? null;
  }

  private async loadCommitted(ocflId: string): Promise<CacheEntry | null> {
    const path = join(this.objectDir(ocflId), 'inventory.json');
    let facts;
    try {
      facts = await stat(path, { bigint: true });
    } catch (err) {
      if (errorCode(err) === 'ENOENT') {
        this.cache.delete(ocflId);
        return null;
      }
      throw err;
    }
    const key = fileKey(facts);
    const cached = this.cache.get(ocflId);
    if (cached && cached.key === key) {
      this.cache.delete(ocflId);
      this.cache.set(ocflId, cached);
      return cached;
    }
    const inventory = parseInventory(await readFile(path), path);
    if (inventory.id !== ocflId) {
      throw new OcflError('invalid-inventory', `${path} is the inventory of "${inventory.id}", not of "${ocflId}"`, { path });
    }
    return this.remember(ocflId, key, inventory, null);
  }

  private remember(ocflId: string, key: string, inventory: Inventory, sidecarOk: string | null): CacheEntry {
    const entry: CacheEntry = { key, inventory, sidecarOk };
    this.cache.delete(ocflId);
    this.cache.set(ocflId, entry);
    while (this.cache.size > INVENTORY_CACHE_SIZE) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
    return entry;
  }

  /** Absolute path of the bytes of `logicalPath` in the head (or the given) version. */
  async contentFile(ocflId: string, logicalPath: string, version?: string): Promise<string> {
    const inventory = await this.loadInventory(ocflId);
    if (!inventory) throw new OcflError('not-found', `OCFL object "${ocflId}" does not exist`, { ocflId });
    const v = version ?? inventory.head;
    const state = inventory.versions[v]?.state;
    if (!state) throw new OcflError('not-found', `OCFL object "${ocflId}" has no version ${v}`, { ocflId, version: v });
    const wanted = logicalPath.normalize('NFC');
    for (const [digest, paths] of Object.entries(state)) {
      if (!paths.includes(wanted)) continue;
      const contentPath = inventory.manifest[digest]?.[0];
      if (!contentPath) break;
      return join(this.objectDir(ocflId), ...contentPath.split('/'));
    }
    throw new OcflError('not-found', `"${logicalPath}" is not in version ${v} of OCFL object "${ocflId}"`, { ocflId, logicalPath, version: v });
  }

  /** Ids of all committed objects under the root (from each object's inventory). */
  async *listObjectIds(): AsyncIterable<string> {
    async function* walk(dir: string, top: boolean): AsyncGenerator<string> {
      const entries = [];
      for await (const entry of await opendir(dir)) entries.push(entry);
      if (entries.some((e) => e.isFile() && e.name.startsWith('0=ocfl_object_'))) {
        try {
          const inv = parseInventory(await readFile(join(dir, 'inventory.json')), join(dir, 'inventory.json'));
          yield inv.id;
        } catch (err) {
          if (errorCode(err) !== 'ENOENT') throw err; // an object whose first version was never committed
        }
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (top && e.name === 'extensions') continue;
        yield* walk(join(dir, e.name), false);
      }
    }
    yield* walk(this.root, true);
  }

  // -------------------------------------------------------------------------------------------
  // Locking

  /**
   * `fn` while no writer (of this or another process) changes the object: for a reader that
   * found the object inconsistent and must tell a commit in progress from damage.
   */
  async whileNoWriter<T>(ocflId: string, fn: () => Promise<T>): Promise<T> {
    validateId(ocflId);
    return this.withObjectLock(ocflId, fn);
  }

  /** Serialises work on one object: in this process, then with other processes through the lock file. */
  private async withObjectLock<T>(ocflId: string, fn: () => Promise<T>): Promise<T> {
    const path = objectLockPath(this.root, ocflId);
    try {
      return await objectLocks.run(path, fn, { timeoutMs: this.options.lockTimeoutMs ?? 120_000 });
    } catch (err) {
      if (!(err instanceof ProcessLockTimeout)) throw err;
      throw new OcflError('locked', `OCFL object "${ocflId}" is locked by another process (${path}: ${err.holder}). If no thukho process runs, remove that file.`, { ocflId, path });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  /**
   * The last file-system steps this root began, newest last: what a write that never ends
   * was doing (a CI run once saw a description version stop between its temp files and their
   * rename, and nothing said where). Kept small; read by whoever reports the stall.
   */
  private readonly steps: Array<{ step: OcflFsStep; path: string; at: string }> = [];

  recentSteps(): ReadonlyArray<{ step: OcflFsStep; path: string; at: string }> {
    return [...this.steps];
  }

  private async fault(step: OcflFsStep, path: string): Promise<void> {
    if (this.steps.push({ step, path, at: new Date().toISOString() }) > 16) this.steps.shift();
    if (this.options.faults) await this.options.faults({ step, path });
  }

  /** durable-file.ts reports each step to the fault hook. */
  private readonly hook: FsFaultHook = (step, path) => this.fault(step, path);

  /** A new file with `data`, not yet fsynced: addVersion fsyncs what it wrote in one round. */
  private async writeUnsynced(path: string, data: string | Uint8Array): Promise<void> {
    await this.fault('write', path);
    await writeFile(path, data, { flag: 'wx', mode: 0o644 });
  }

  private async renameChecked(from: string, to: string): Promise<void> {
    await this.fault('rename', to);
    await rename(from, to);
  }

  /** A second name for `path` (a hard link; a fsynced copy where links are not supported). */
  private async keepForUndo(path: string): Promise<string> {
    const dir = dirname(path);
    const name = path.slice(dir.length + 1);
    const tmp = join(dir, `.${name}.undo.${randomUUID()}.tmp`);
    try {
      await this.fault('write', tmp);
      await link(path, tmp);
      return tmp;
    } catch (err) {
      if (errorCode(err) === 'ENOSPC' || errorCode(err) === 'ENOENT') throw err;
      return writeTempFile(dir, `${name}.undo`, await readFile(path), this.hook);
    }
  }

  /**
   * Adds a version to `ocflId` (v1 of a new object) holding the previous head's state plus
   * `files` (a logical path already present is replaced). Staged files are moved in (renamed;
   * copied + fsynced when on another filesystem); bytes whose digest the object already has
   * are not stored again (the staged file is deleted after the commit). `digests` are trusted:
   * they must be those of the staged bytes (stageStream computed them in the same pass).
   *
   * If this throws, the version was not committed (or was rolled back); a partial `vN` may
   * be left for discardIncompleteVersion(). Staged files may have been moved into it.
   */
  async addVersion(
    ocflId: string,
    files: AddVersionFile[],
    info: VersionInfo,
  ): Promise<{ version: string; contentPaths: Record<string, string> }> {
    validateId(ocflId);
    if (!Array.isArray(files) || files.length === 0) throw new OcflError('invalid-input', 'addVersion needs at least one file');
    const seen = new Set<string>();
    for (const f of files) {
      validateLogicalPath(f.logicalPath);
      if (seen.has(f.logicalPath)) throw new OcflError('invalid-input', `logical path "${f.logicalPath}" is given twice`, { logicalPath: f.logicalPath });
      seen.add(f.logicalPath);
      if (!/^[0-9a-f]{128}$/.test(f.digests.sha512) || !/^[0-9a-f]{64}$/.test(f.digests.sha256)) {
        throw new OcflError('invalid-input', `the digests of "${f.logicalPath}" are not lowercase hex sha512/sha256`, { logicalPath: f.logicalPath });
      }
      if (f.digests.md5 !== undefined && !/^[0-9a-f]{32}$/.test(f.digests.md5)) {
        throw new OcflError('invalid-input', `the md5 of "${f.logicalPath}" is not lowercase hex`, { logicalPath: f.logicalPath });
      }
      if (!Number.isSafeInteger(f.size) || f.size < 0) throw new OcflError('invalid-input', `bad size for "${f.logicalPath}"`);
    }
    if (typeof info.created !== 'string' || !RFC3339.test(info.created)) {
      throw new OcflError('invalid-input', `created must be an RFC 3339 date-time, got ${JSON.stringify(info.created)}`);
    }
    if (typeof info.message !== 'string') throw new OcflError('invalid-input', 'message must be a string');
    if (!info.user || typeof info.user.name !== 'string' || info.user.name === '') throw new OcflError('invalid-input', 'user.name must be a non-empty string');

    return this.withObjectLock(ocflId, () => this.addVersionLocked(ocflId, files, info));
  }

  private async addVersionLocked(ocflId: string, files: AddVersionFile[], info: VersionInfo) {
    const objectDir = this.objectDir(ocflId);
    const incomplete = await this.findIncomplete(ocflId);
    if (incomplete) {
      throw new OcflError(
        'incomplete-version',
        `OCFL object "${ocflId}" has an uncommitted version at ${incomplete.path} (an interrupted write); call discardIncompleteVersion() first`,
        { ocflId, path: incomplete.path },
      );
    }
    // findIncomplete() just read (and cached) the committed inventory and checked its sidecar.
    const previous = (await this.loadCommitted(ocflId))?.inventory ?? null;

    const version = previous ? nextVersionName(previous.head) : 'v1';
    const algorithm = previous?.digestAlgorithm ?? 'sha512';
    const contentDirectory = previous?.contentDirectory ?? 'content';
    // Shallow copies: the previous inventory (shared with the cache) is never mutated, and
    // cloning a large inventory deeply would cost more than everything else here.
    const inventory: Inventory = previous
      ? {
          ...previous,
          manifest: { ...previous.manifest },
          versions: { ...previous.versions },
          ...(previous.fixity ? { fixity: Object.fromEntries(Object.entries(previous.fixity).map(([alg, block]) => [alg, { ...block }])) } : {}),
        }
      : { id: ocflId, type: INVENTORY_TYPE, digestAlgorithm: 'sha512', head: 'v1', manifest: {}, versions: {} };
    inventory.head = version;
    inventory.type = INVENTORY_TYPE;

    // The new logical state: previous head's state, then each file added or replaced.
    const state = new Map<string, string>();
    if (previous) {
      for (const [digest, paths] of Object.entries(previous.versions[previous.head]?.state ?? {})) {
        for (const p of paths) state.set(p, digest);
      }
    }
    const manifestKeys = new Map<string, string>(Object.keys(inventory.manifest).map((k) => [k.toLowerCase(), k]));
    const moves: Array<{ from: string; contentPath: string; file: AddVersionFile }> = [];
    const dedupStaged: string[] = [];
    const contentPaths: Record<string, string> = {};
    for (const f of files) {
      const digest = algorithm === 'sha512' ? f.digests.sha512 : f.digests.sha256;
      const facts = await stat(f.stagedPath).catch(() => null);
      if (!facts?.isFile()) throw new OcflError('invalid-input', `staged file ${f.stagedPath} for "${f.logicalPath}" does not exist`);
      if (facts.size !== f.size) {
        throw new OcflError('invalid-input', `staged file ${f.stagedPath} has ${facts.size} bytes, not the ${f.size} given for "${f.logicalPath}"`);
      }
      const existing = manifestKeys.get(digest);
      state.set(f.logicalPath, existing ?? digest);
      if (existing !== undefined) {
        contentPaths[f.logicalPath] = inventory.manifest[existing]?.[0] as string;
        dedupStaged.push(f.stagedPath);
        continue;
      }
      const contentPath = `${version}/${contentDirectory}/${f.logicalPath}`;
      inventory.manifest[digest] = [contentPath];
      manifestKeys.set(digest, digest);
      contentPaths[f.logicalPath] = contentPath;
      moves.push({ from: f.stagedPath, contentPath, file: f });
      const fixity = (inventory.fixity ??= {});
      const addFixity = (alg: string, value: string | undefined) => {
        if (value === undefined) return;
        const block = (fixity[alg] ??= {});
        block[value] = [...(block[value] ?? []), contentPath];
      };
      addFixity(algorithm === 'sha512' ? 'sha256' : 'sha512', algorithm === 'sha512' ? f.digests.sha256 : f.digests.sha512);
      addFixity('md5', f.digests.md5);
    }
    const conflict = findPathConflict(state.keys());
    if (conflict) {
      throw new OcflError('invalid-logical-path', `logical path "${conflict[1]}" would be inside the file "${conflict[0]}"`, { logicalPath: conflict[1] });
    }
    const newState: Record<string, string[]> = {};
    for (const [p, digest] of [...state].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) (newState[digest] ??= []).push(p);
    inventory.versions[version] = {
      created: info.created,
      message: info.message,
      user: { name: info.user.name, ...(info.user.address !== undefined ? { address: info.user.address } : {}) },
      state: newState,
    };

    // ---- 1. object root (new object) and the version directory
    if (!previous) {
      await mkdirDurable(objectDir, this.hook);
      await replaceFile(objectDir, OBJECT_NAMASTE, 'ocfl_object_1.1\n', this.hook);
      await fsyncDir(objectDir, this.hook);
    }
    const versionDir = join(objectDir, version);
    await this.fault('mkdir', versionDir);
    try {
      await mkdir(versionDir); // exclusive: a second writer of the same version fails here
    } catch (err) {
      if (errorCode(err) === 'EEXIST') {
        throw new OcflError('incomplete-version', `${versionDir} already exists (another writer, or an interrupted one)`, { ocflId, path: versionDir });
      }
      throw err;
    }

    // ---- 2. content: move the staged bytes in
    const copied: string[] = [];
    const dirs = new Set<string>([versionDir, objectDir]);
    const written: string[] = [];
    for (const move of moves) {
      const dest = join(objectDir, ...move.contentPath.split('/'));
      const parent = dirname(dest);
      if (!dirs.has(parent)) {
        await this.fault('mkdir', parent);
        await mkdir(parent, { recursive: true });
        for (let d = parent; d !== versionDir && d.startsWith(versionDir); d = dirname(d)) dirs.add(d);
      }
      try {
        await this.renameChecked(move.from, dest);
      } catch (err) {
        if (errorCode(err) !== 'EXDEV') throw err;
        await this.fault('copy', dest);
        await copyFile(move.from, dest, fsConstants.COPYFILE_EXCL);
        copied.push(move.from);
      }
      written.push(dest);
    }

    // ---- 3. the version's own inventory + sidecar, and the root's next ones under temp names
    const text = Buffer.from(serializeInventory(inventory), 'utf8');
    const sidecar = `${createHash(algorithm).update(text).digest('hex')} inventory.json\n`;
    const sidecarName = `inventory.json.${algorithm}`;
    const rootInventory = join(objectDir, 'inventory.json');
    const rootSidecar = join(objectDir, sidecarName);
    const temps: string[] = [];
    try {
      // Inside the uncommitted vN a file needs no temp name: a crash leaves the whole version to discard.
      await this.writeUnsynced(join(versionDir, 'inventory.json'), text);
      await this.writeUnsynced(join(versionDir, sidecarName), sidecar);
      written.push(join(versionDir, 'inventory.json'), join(versionDir, sidecarName));
      const inventoryTmp = join(objectDir, `.inventory.json.${randomUUID()}.tmp`);
      temps.push(inventoryTmp);
      await this.writeUnsynced(inventoryTmp, text);
      const sidecarTmp = join(objectDir, `.${sidecarName}.${randomUUID()}.tmp`);
      temps.push(sidecarTmp);
      await this.writeUnsynced(sidecarTmp, sidecar);
      written.push(inventoryTmp, sidecarTmp);
      // Everything the commit will name is made durable in two rounds, all files at once, then
      // every directory that got an entry: concurrent fsyncs share the file system's journal
      // commits, so a version of a few small files costs about two fsyncs' latency, not one
      // per file and directory.
      await settled(written.map((f) => fsyncFile(f, this.hook)));
      await settled([...dirs].map((d) => fsyncDir(d, this.hook)));

      // ---- 4. the root inventory: one rename commits
      // The old root files are kept under temp names (a hard link, or a copy where links are
      // not supported) before the commit, so that undoing it needs no free space.
      const undoInventory = previous ? await this.keepForUndo(rootInventory) : null;
      if (undoInventory) temps.push(undoInventory);
      const undoSidecar = previous ? await this.keepForUndo(rootSidecar).catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT') return null;
        throw err;
      }) : null;
      if (undoSidecar) temps.push(undoSidecar);

      await this.renameChecked(inventoryTmp, rootInventory); // COMMIT
      temps.splice(temps.indexOf(inventoryTmp), 1);
      let sidecarReplaced = false;
      try {
        await this.renameChecked(sidecarTmp, rootSidecar);
        temps.splice(temps.indexOf(sidecarTmp), 1);
        sidecarReplaced = true;
        await fsyncDir(objectDir, this.hook);
      } catch (err) {
        // Undo the commit: the object is exactly as before and this version is uncommitted
        // (the caller discards it), so that an error always means "not stored".
        try {
          if (undoInventory) {
            await rename(undoInventory, rootInventory);
            temps.splice(temps.indexOf(undoInventory), 1);
          } else {
            await unlink(rootInventory);
          }
          if (sidecarReplaced) {
            if (undoSidecar) {
              await rename(undoSidecar, rootSidecar);
              temps.splice(temps.indexOf(undoSidecar), 1);
            } else {
              await unlink(rootSidecar);
            }
          }
          await fsyncDir(objectDir);
        } catch (undoError) {
          throw new OcflError(
            'incomplete-version',
            `committing ${version} of "${ocflId}" failed (${(err as Error).message}) and so did undoing it (${(undoError as Error).message}); ` +
              'the version may or may not be committed: run discardIncompleteVersion() and read the inventory',
            { ocflId, version, cause: err },
          );
        }
        throw err;
      }
    } finally {
      for (const t of temps) await rm(t, { force: true }).catch(() => {});
    }

    // ---- 5. committed: drop staged files that were not moved, remember the inventory
    for (const p of [...dedupStaged, ...copied]) await rm(p, { force: true }).catch(() => {});
    const facts = await stat(rootInventory, { bigint: true }).catch(() => null);
    const sidecarFacts = await stat(rootSidecar, { bigint: true }).catch(() => null);
    if (facts) this.remember(ocflId, fileKey(facts), inventory, sidecarFacts ? fileKey(sidecarFacts) : null);
    else this.cache.delete(ocflId);
    return { version, contentPaths };
  }

  // -------------------------------------------------------------------------------------------
  // Interrupted writes

  /**
   * Finds what an interrupted addVersion left: a version directory beyond the root
   * inventory's head, an object root whose first version was never committed, a stale root
   * sidecar (crash between the two renames of the commit), temp files, or empty layout
   * directories. Returns the path concerned, or null when the object is clean.
   */
  async incompleteVersion(ocflId: string): Promise<string | null> {
    return (await this.findIncomplete(ocflId))?.path ?? null;
  }

  private async findIncomplete(ocflId: string): Promise<{ kind: 'uncommitted-object' | 'version' | 'sidecar' | 'temp' | 'empty-dir'; path: string } | null> {
    const objectDir = this.objectDir(ocflId);
    let entries: string[];
    try {
      entries = await readdir(objectDir);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      // Empty layout directories left by an object creation that failed early.
      for (let d = dirname(objectDir); d.length > this.root.length && d.startsWith(this.root); d = dirname(d)) {
        const list = await readdir(d).catch(() => null);
        if (list === null) continue;
        return list.length === 0 ? { kind: 'empty-dir', path: d } : null;
      }
      return null;
    }
    if (!entries.includes('inventory.json')) {
      const versions = entries.filter((e) => parseVersionName(e));
      return { kind: 'uncommitted-object', path: versions.length === 1 ? join(objectDir, versions[0] as string) : objectDir };
    }
    const committed = await this.loadCommitted(ocflId);
    if (!committed) return { kind: 'uncommitted-object', path: objectDir };
    const { inventory } = committed;
    const head = parseVersionName(inventory.head)?.n ?? 0;
    const beyond = entries
      .map((e) => ({ e, v: parseVersionName(e) }))
      .filter((x) => x.v && x.v.n > head)
      .sort((a, b) => (a.v?.n ?? 0) - (b.v?.n ?? 0));
    if (beyond[0]) return { kind: 'version', path: join(objectDir, beyond[0].e) };
    const temp = entries.find((e) => e.startsWith('.') && e.endsWith('.tmp'));
    if (temp) return { kind: 'temp', path: join(objectDir, temp) };
    const sidecarName = `inventory.json.${inventory.digestAlgorithm}`;
    const sidecarFacts = await stat(join(objectDir, sidecarName), { bigint: true }).catch(() => null);
    const sidecarKey = sidecarFacts ? fileKey(sidecarFacts) : null;
    if (sidecarKey === null || committed.sidecarOk !== sidecarKey) {
      const bytes = await readFile(join(objectDir, 'inventory.json'));
      const digest = createHash(inventory.digestAlgorithm).update(bytes).digest('hex');
      const sidecar = await readFile(join(objectDir, sidecarName), 'utf8').catch(() => '');
      if (sidecar.trim().split(/[ \t]+/)[0]?.toLowerCase() === digest) committed.sidecarOk = sidecarKey;
      else {
        // Stale only if the root inventory is the head version's own (a crash between the two
        // renames of the commit); anything else is damage for the validator to report.
        const headCopy = await readFile(join(objectDir, inventory.head, 'inventory.json')).catch(() => null);
        if (headCopy && headCopy.equals(bytes)) return { kind: 'sidecar', path: join(objectDir, sidecarName) };
      }
    }
    return null;
  }

  /**
   * Cleans up after an interrupted addVersion: removes the uncommitted version directory (or
   * the whole object root when its first version was never committed, with the layout
   * directories it leaves empty) and temp files, and rewrites a root sidecar that a crash
   * left stale. A committed version is never touched. Returns whether anything was done.
   */
  async discardIncompleteVersion(ocflId: string): Promise<boolean> {
    validateId(ocflId);
    return this.withObjectLock(ocflId, async () => {
      this.cache.delete(ocflId);
      let did = false;
      let rounds = 0;
      for (let found = await this.findIncomplete(ocflId); found; found = await this.findIncomplete(ocflId)) {
        if (++rounds > 20) throw new OcflError('damaged-object', `cannot clean up ${found.path}`, { ocflId, path: found.path });
        const objectDir = this.objectDir(ocflId);
        switch (found.kind) {
          case 'uncommitted-object': {
            const versions = (await readdir(objectDir)).filter((e) => parseVersionName(e));
            if (versions.length > 1 || (versions[0] !== undefined && versions[0] !== 'v1' && !/^v0+1$/.test(versions[0]))) {
              throw new OcflError(
                'damaged-object',
                `${objectDir} has versions ${versions.join(', ')} but no inventory.json: it is damaged, not interrupted; restore its inventory from a version directory or a replica`,
                { ocflId, path: objectDir },
              );
            }
            await rm(objectDir, { recursive: true, force: true });
            await this.pruneEmptyParents(dirname(objectDir));
            break;
          }
          case 'empty-dir':
            await this.pruneEmptyParents(found.path);
            break;
          case 'version':
          case 'temp':
            await rm(found.path, { recursive: true, force: true });
            await fsyncDir(objectDir);
            break;
          case 'sidecar': {
            const bytes = await readFile(join(objectDir, 'inventory.json'));
            const alg = parseInventory(bytes, join(objectDir, 'inventory.json')).digestAlgorithm;
            await writeFileDurable(objectDir, `inventory.json.${alg}`, `${createHash(alg).update(bytes).digest('hex')} inventory.json\n`);
            break;
          }
        }
        did = true;
      }
      return did;
    });
  }

  private async pruneEmptyParents(from: string): Promise<void> {
    let d = from;
    while (d.length > this.root.length && d.startsWith(this.root)) {
      try {
        await rmdir(d);
      } catch (err) {
        const code = errorCode(err);
        if (code === 'ENOENT') {
          d = dirname(d);
          continue;
        }
        if (code === 'ENOTEMPTY' || code === 'EEXIST') break;
        throw err;
      }
      d = dirname(d);
    }
    await fsyncDir(d).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Storage root creation

function isInterruptedInitEntry(name: string): boolean {
  return name === 'ocfl_layout.json' || name === 'extensions' || (name.startsWith('.') && name.endsWith('.tmp'));
}

/** Layout files first, the namaste last: a root is a root only once it is complete. */
async function initStorageRoot(root: string): Promise<void> {
  for (const e of await readdir(root)) {
    if (e.startsWith('.') && e.endsWith('.tmp')) await rm(join(root, e), { force: true });
  }
  const extDir = join(root, 'extensions', LAYOUT_EXTENSION);
  await mkdir(extDir, { recursive: true });
  await replaceFile(extDir, 'config.json', `${JSON.stringify(DEFAULT_LAYOUT, null, 2)}\n`);
  await fsyncDir(extDir);
  await fsyncDir(join(root, 'extensions'));
  await replaceFile(
    root,
    'ocfl_layout.json',
    `${JSON.stringify(
      {
        extension: LAYOUT_EXTENSION,
        description:
          'OCFL object identifiers are hashed with sha256; the lowercase hex digest is split into 3 directories of 3 characters each, followed by a directory named with the full digest, which is the object root (OCFL Community Extension 0004).',
      },
      null,
      2,
    )}\n`,
  );
  await replaceFile(root, ROOT_NAMASTE, 'ocfl_1.1\n');
  await fsyncDir(root);
}

async function readLayout(root: string): Promise<HashedNTupleConfig> {
  let layout: unknown;
  try {
    layout = JSON.parse(await readFile(join(root, 'ocfl_layout.json'), 'utf8'));
  } catch (err) {
    throw new OcflError('invalid-layout', `${root} has no readable ocfl_layout.json (${(err as Error).message}); the object layout cannot be known`, { root });
  }
  const extension = (layout as { extension?: unknown } | null)?.extension;
  if (extension !== LAYOUT_EXTENSION) {
    throw new OcflError('invalid-layout', `${root} uses storage layout ${JSON.stringify(extension)}; only ${LAYOUT_EXTENSION} is supported`, { root });
  }
  let config: Partial<HashedNTupleConfig> = {};
  try {
    config = JSON.parse(await readFile(join(root, 'extensions', LAYOUT_EXTENSION, 'config.json'), 'utf8')) as Partial<HashedNTupleConfig>;
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw new OcflError('invalid-layout', `cannot read the ${LAYOUT_EXTENSION} config: ${(err as Error).message}`, { root });
  }
  if (config.extensionName !== undefined && config.extensionName !== LAYOUT_EXTENSION) {
    throw new OcflError('invalid-layout', `the config of ${LAYOUT_EXTENSION} names ${JSON.stringify(config.extensionName)}`, { root });
  }
  const full: HashedNTupleConfig = { ...DEFAULT_LAYOUT, ...config, extensionName: LAYOUT_EXTENSION };
  checkLayoutConfig(full);
  return full;
}

function parseInventory(bytes: Buffer, path: string): Inventory {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new OcflError('invalid-inventory', `${path} is not JSON: ${(err as Error).message}`, { path });
  }
  const parsed = Inventory.safeParse(json);
  if (!parsed.success) {
    throw new OcflError('invalid-inventory', `${path} is not an OCFL inventory: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { path });
  }
  const inv = parsed.data;
  if (!inv.versions[inv.head]) throw new OcflError('invalid-inventory', `${path}: head ${inv.head} is not among its versions`, { path });
  return inv;
}

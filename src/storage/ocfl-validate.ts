import { createHash, type Hash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * An OCFL 1.1 validator written from the specification (https://ocfl.io/1.1/spec/) and its
 * validation codes, on purpose without the writer's code (ocfl.ts): it reads only what is on
 * disk. Each finding carries the spec's code (E0xx for a MUST, W0xx for a SHOULD), a message
 * and the path it concerns, relative to the directory validated (`/`-separated).
 *
 * Warnings are left out unless asked for; content digests are checked unless
 * `checkDigests: false` (a structural check only).
 */

export interface OcflIssue {
  code: string;
  message: string;
  path: string;
}

export interface ValidateOptions {
  /** Hash every content file against the manifest and fixity blocks (default true). */
  checkDigests?: boolean;
  /** Include W-codes (default false). */
  warnings?: boolean;
}

const INVENTORY_KEYS = new Set(['id', 'type', 'digestAlgorithm', 'head', 'contentDirectory', 'manifest', 'versions', 'fixity']);
const VERSION_KEYS = new Set(['created', 'message', 'user', 'state']);
const USER_KEYS = new Set(['name', 'address']);
const CONTENT_ALGORITHMS = new Set(['sha512', 'sha256']);
/** Spec §3.4 plus extension 0001 (digest algorithms) names → node:crypto names (null: not supported here, ignored per E028). */
const FIXITY_ALGORITHMS: Record<string, string | null> = {
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  sha512: 'sha512',
  'blake2b-512': 'blake2b512',
  'blake2b-160': null,
  'blake2b-256': null,
  'blake2b-384': null,
  'sha512/256': 'sha512-256',
  size: null,
};
const HEX_LENGTH: Record<string, number> = { md5: 32, sha1: 40, sha256: 64, sha512: 128, 'blake2b-512': 128, 'sha512/256': 64 };
const RFC3339 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Report {
  readonly issues: Array<OcflIssue & { warning: boolean }> = [];
  constructor(private readonly prefix: string) {}
  at(path: string): string {
    return [this.prefix, path].filter((p) => p !== '').join('/');
  }
  error(code: string, message: string, path = ''): void {
    this.issues.push({ code, message, path: this.at(path), warning: false });
  }
  warn(code: string, message: string, path = ''): void {
    this.issues.push({ code, message, path: this.at(path), warning: true });
  }
}

function finish(issues: Array<OcflIssue & { warning: boolean }>, options: ValidateOptions): OcflIssue[] {
  return issues.filter((i) => options.warnings || !i.warning).map(({ code, message, path }) => ({ code, message, path }));
}

async function entriesOf(dir: string): Promise<Dirent[] | null> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Paths (spec 3.5.2 / 3.5.3.1)

function pathProblem(path: string): 'segments' | 'slash' | null {
  if (path.startsWith('/') || path.endsWith('/')) return 'slash';
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'segments';
  return null;
}

/** Returns [a, b] where a is also a directory prefix of b, or null. */
function prefixConflict(paths: string[]): [string, string] | null {
  const all = new Set(paths);
  for (const p of all) {
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
      if (all.has(p.slice(0, i))) return [p.slice(0, i), p];
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Inventory structure (spec 3.5)

interface ParsedVersion {
  created?: string;
  message?: string;
  user?: { name?: unknown; address?: unknown };
  /** logical path → lowercase digest */
  state: Map<string, string>;
}

interface ParsedInventory {
  id?: string;
  type?: string;
  digestAlgorithm?: string;
  head?: string;
  contentDirectory: string;
  /** lowercase digest → content paths */
  manifest: Map<string, string[]>;
  versions: Map<string, ParsedVersion>;
  /** version names in numeric order, when the sequence is usable */
  versionOrder: string[];
  /** algorithm → lowercase digest → content paths */
  fixity: Map<string, Map<string, string[]>>;
}

function checkInventory(json: unknown, where: string, r: Report, specVersion: string): ParsedInventory | null {
  if (!isObject(json)) {
    r.error('E033', 'the inventory is not a JSON object', where);
    return null;
  }
  for (const key of Object.keys(json)) if (!INVENTORY_KEYS.has(key)) r.error('E102', `the inventory has a key that the spec does not describe: "${key}"`, where);
  const inv: ParsedInventory = { contentDirectory: 'content', manifest: new Map(), versions: new Map(), versionOrder: [], fixity: new Map() };

  const { id, type, digestAlgorithm, head, contentDirectory, manifest, versions, fixity } = json;
  if (typeof id !== 'string' || id === '') r.error('E036', 'the inventory has no "id" string', where);
  else {
    inv.id = id;
    if (!URI.test(id)) r.warn('W005', `the id "${id}" is not a URI`, where);
  }
  if (typeof type !== 'string') r.error('E036', 'the inventory has no "type" string', where);
  else {
    inv.type = type;
    const want = `https://ocfl.io/${specVersion}/spec/#inventory`;
    if (type !== want) r.error('E038', `type is "${type}", the object declares OCFL ${specVersion} so it must be "${want}"`, where);
  }
  if (typeof digestAlgorithm !== 'string') r.error('E036', 'the inventory has no "digestAlgorithm" string', where);
  else if (!CONTENT_ALGORITHMS.has(digestAlgorithm)) r.error('E025', `digestAlgorithm "${digestAlgorithm}" is not sha512 or sha256`, where);
  else {
    inv.digestAlgorithm = digestAlgorithm;
    if (digestAlgorithm !== 'sha512') r.warn('W004', 'digestAlgorithm SHOULD be sha512', where);
  }
  if (typeof head !== 'string') r.error('E036', 'the inventory has no "head" string', where);
  else inv.head = head;
  if (contentDirectory !== undefined) {
    if (typeof contentDirectory !== 'string' || contentDirectory === '') r.error('E017', 'contentDirectory must be a non-empty string', where);
    else if (contentDirectory.includes('/')) r.error('E017', `contentDirectory "${contentDirectory}" contains /`, where);
    else if (contentDirectory === '.' || contentDirectory === '..') r.error('E018', `contentDirectory must not be "${contentDirectory}"`, where);
    else inv.contentDirectory = contentDirectory;
  }

  // manifest
  const hexLength = inv.digestAlgorithm ? HEX_LENGTH[inv.digestAlgorithm] : undefined;
  if (manifest === undefined) r.error('E041', 'the inventory has no manifest', where);
  else if (!isObject(manifest)) r.error('E106', 'the manifest is not a JSON object', where);
  else {
    const allContentPaths: string[] = [];
    for (const [digest, paths] of Object.entries(manifest)) {
      const lower = digest.toLowerCase();
      if (hexLength !== undefined && !new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(digest)) {
        r.error('E092', `manifest key "${digest}" is not a ${inv.digestAlgorithm} hex digest`, where);
      }
      if (inv.manifest.has(lower)) r.error('E096', `digest ${digest} occurs more than once in the manifest (ignoring case)`, where);
      if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
        r.error('E092', `the manifest value for ${digest} is not an array of content paths`, where);
        continue;
      }
      const list = paths as string[];
      inv.manifest.set(lower, [...(inv.manifest.get(lower) ?? []), ...list]);
      for (const p of list) {
        if (p.includes('\\')) r.error('E035', `content path "${p}" does not use / as separator`, where);
        const problem = pathProblem(p);
        if (problem === 'slash') r.error('E100', `content path "${p}" begins or ends with /`, where);
        if (problem === 'segments') r.error('E099', `content path "${p}" has an empty, "." or ".." element`, where);
        allContentPaths.push(p);
      }
    }
    const dup = allContentPaths.find((p, i) => allContentPaths.indexOf(p) !== i);
    if (dup) r.error('E101', `content path "${dup}" occurs more than once`, where);
    const conflict = prefixConflict(allContentPaths);
    if (conflict) r.error('E101', `content path "${conflict[0]}" is also a directory of "${conflict[1]}"`, where);
  }

  // versions
  if (versions === undefined) r.error('E043', 'the inventory has no versions block', where);
  else if (!isObject(versions)) r.error('E045', 'versions is not a JSON object', where);
  else {
    const numbered: Array<{ name: string; n: number; digits: string }> = [];
    for (const name of Object.keys(versions)) {
      const m = /^v(\d+)$/.exec(name);
      if (!name.startsWith('v')) r.error('E104', `version "${name}" does not start with v`, where);
      else if (!m || !m[1] || Number(m[1]) < 1) r.error('E105', `version "${name}" is not v followed by a positive integer`, where);
      else numbered.push({ name, n: Number(m[1]), digits: m[1] });
    }
    numbered.sort((a, b) => a.n - b.n);
    const padded = numbered.filter((v) => v.digits.startsWith('0'));
    if (padded.length > 0) {
      const width = padded[0]?.digits.length ?? 0;
      if (numbered.some((v) => v.digits.length !== width)) r.error('E012', 'version names mix zero-padded and unpadded forms, or paddings of different lengths', where);
      else if (numbered.some((v) => !v.digits.startsWith('0'))) r.error('E011', `zero-padded version names must start with v0 (width ${width})`, where);
      r.warn('W001', 'version names SHOULD not be zero-padded', where);
    }
    if (numbered.length === 0) r.error('E008', 'the object has no versions', where);
    else {
      if (numbered[0]?.n !== 1) r.error('E009', `the version sequence starts at ${numbered[0]?.name}, not at 1`, where);
      for (let i = 1; i < numbered.length; i++) {
        const prev = numbered[i - 1] as { n: number; name: string };
        const cur = numbered[i] as { n: number; name: string };
        if (cur.n !== prev.n + 1) r.error('E010', `the version sequence has a gap between ${prev.name} and ${cur.name}`, where);
      }
      inv.versionOrder = numbered.map((v) => v.name);
      const highest = numbered[numbered.length - 1]?.name;
      if (inv.head !== undefined && inv.head !== highest) r.error('E040', `head is "${inv.head}" but the highest version is "${highest}"`, where);
    }
    for (const [name, value] of Object.entries(versions)) {
      const at = `${where} versions.${name}`;
      if (!isObject(value)) {
        r.error('E047', `version ${name} is not a JSON object`, at);
        continue;
      }
      for (const key of Object.keys(value)) if (!VERSION_KEYS.has(key)) r.error('E102', `version ${name} has a key the spec does not describe: "${key}"`, at);
      const version: ParsedVersion = { state: new Map() };
      if (typeof value.created !== 'string') r.error('E048', `version ${name} has no "created" string`, at);
      else if (!RFC3339.test(value.created)) r.error('E049', `version ${name}: created "${value.created}" is not an RFC 3339 date-time`, at);
      else version.created = value.created;
      if (value.message === undefined) r.warn('W007', `version ${name} has no message`, at);
      else if (typeof value.message !== 'string') r.error('E094', `version ${name}: message is not a string`, at);
      else version.message = value.message;
      if (value.user === undefined) r.warn('W007', `version ${name} has no user`, at);
      else if (!isObject(value.user) || typeof value.user.name !== 'string') r.error('E054', `version ${name}: user has no "name" string`, at);
      else {
        version.user = value.user;
        for (const key of Object.keys(value.user)) if (!USER_KEYS.has(key)) r.error('E102', `version ${name}: user has a key the spec does not describe: "${key}"`, at);
        if (value.user.address === undefined) r.warn('W008', `version ${name}: user has no address`, at);
        else if (typeof value.user.address !== 'string' || !URI.test(value.user.address)) r.warn('W009', `version ${name}: user address is not a URI`, at);
      }
      const state = value.state;
      if (state === undefined) r.error('E048', `version ${name} has no state`, at);
      else if (!isObject(state)) r.error('E048', `version ${name}: state is not a JSON object`, at);
      else {
        for (const [digest, paths] of Object.entries(state)) {
          if (!(isObject(manifest) && Object.hasOwn(manifest, digest))) r.error('E050', `version ${name}: state digest ${digest} is not a key of the manifest`, at);
          if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
            r.error('E051', `version ${name}: the state value for ${digest} is not an array of logical paths`, at);
            continue;
          }
          for (const p of paths as string[]) {
            const problem = pathProblem(p);
            if (problem === 'slash') r.error('E053', `version ${name}: logical path "${p}" begins or ends with /`, at);
            if (problem === 'segments') r.error('E052', `version ${name}: logical path "${p}" has an empty, "." or ".." element`, at);
            if (version.state.has(p)) r.error('E095', `version ${name}: logical path "${p}" occurs more than once`, at);
            version.state.set(p, digest.toLowerCase());
          }
        }
        const conflict = prefixConflict([...version.state.keys()]);
        if (conflict) r.error('E095', `version ${name}: logical path "${conflict[0]}" is also a directory of "${conflict[1]}"`, at);
      }
      inv.versions.set(name, version);
    }
    // Every manifest entry must be used by some version.
    const used = new Set<string>();
    for (const v of inv.versions.values()) for (const d of v.state.values()) used.add(d);
    for (const digest of inv.manifest.keys()) if (!used.has(digest)) r.error('E107', `manifest digest ${digest} is in no version state`, where);
  }

  // content paths must lie inside a version's content directory
  for (const [digest, paths] of inv.manifest) {
    for (const p of paths) {
      const [v, dir] = p.split('/');
      if (!v || !inv.versions.has(v) || dir !== inv.contentDirectory || p.split('/').length < 3) {
        r.error('E042', `content path "${p}" (of ${digest.slice(0, 12)}…) is not inside a version's "${inv.contentDirectory}" directory`, where);
      }
    }
  }

  // fixity
  if (fixity !== undefined) {
    if (!isObject(fixity)) r.error('E111', 'fixity is not a JSON object', where);
    else {
      const contentPaths = new Set([...inv.manifest.values()].flat());
      for (const [alg, block] of Object.entries(fixity)) {
        if (!(alg in FIXITY_ALGORITHMS)) {
          r.error('E056', `fixity algorithm "${alg}" is not in the spec's or the extensions' vocabulary`, where);
          continue;
        }
        if (!isObject(block)) {
          r.error('E057', `fixity block ${alg} is not a JSON object`, where);
          continue;
        }
        const map = new Map<string, string[]>();
        for (const [digest, paths] of Object.entries(block)) {
          const lower = digest.toLowerCase();
          if (map.has(lower)) r.error('E097', `fixity ${alg} digest ${digest} occurs more than once (ignoring case)`, where);
          if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
            r.error('E057', `fixity ${alg} value for ${digest} is not an array of content paths`, where);
            continue;
          }
          for (const p of paths as string[]) if (!contentPaths.has(p)) r.error('E057', `fixity ${alg} names content path "${p}", which is not in the manifest`, where);
          map.set(lower, [...(map.get(lower) ?? []), ...(paths as string[])]);
        }
        inv.fixity.set(alg, map);
      }
    }
  }
  return inv;
}

/** Spec 3.6: `inventory.json.ALG` beside each inventory, "DIGEST inventory.json". */
async function checkSidecar(dir: string, rel: string, names: string[], bytes: Buffer, algorithm: string | undefined, r: Report): Promise<void> {
  const sidecars = names.filter((n) => n.startsWith('inventory.json.'));
  if (!algorithm) return;
  const name = `inventory.json.${algorithm}`;
  for (const other of sidecars) if (other !== name) r.error('E059', `sidecar ${other} does not match digestAlgorithm ${algorithm}`, join(rel, other));
  if (!sidecars.includes(name)) {
    r.error('E058', `${name} is missing`, join(rel, name));
    return;
  }
  const text = await readFile(join(dir, name), 'utf8');
  const m = /^([0-9a-fA-F]+)[ \t]+inventory\.json\r?\n?$/.exec(text);
  if (!m || !m[1]) {
    r.error('E061', `${name} is not of the form "DIGEST inventory.json"`, join(rel, name));
    return;
  }
  const actual = createHash(algorithm).update(bytes).digest('hex');
  if (m[1].toLowerCase() !== actual) r.error('E060', `${name} says ${m[1]}, the inventory's ${algorithm} is ${actual}`, join(rel, name));
}

async function readJson(path: string): Promise<{ bytes: Buffer; json: unknown } | { bytes: Buffer | null; error: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    return { bytes: null, error: (err as Error).message };
  }
  try {
    return { bytes, json: JSON.parse(bytes.toString('utf8')) as unknown };
  } catch (err) {
    return { bytes, error: (err as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Objects (spec 3)

/** Hashes one file with several algorithms in one read. */
async function hashFile(path: string, algorithms: string[]): Promise<Map<string, string>> {
  const hashes = new Map<string, Hash>();
  for (const a of algorithms) {
    const node = a === 'sha512' || a === 'sha256' ? a : FIXITY_ALGORITHMS[a];
    if (node) hashes.set(a, createHash(node));
  }
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) for (const h of hashes.values()) h.update(chunk as Buffer);
  return new Map([...hashes].map(([a, h]) => [a, h.digest('hex')]));
}

/** Walks a content directory: files (relative paths), empty directories, links. */
async function walkContent(dir: string, rel: string, out: { files: string[]; empty: string[]; links: string[] }): Promise<void> {
  const entries = (await entriesOf(dir)) ?? [];
  if (entries.length === 0) out.empty.push(rel);
  for (const e of entries) {
    const childRel = `${rel}/${e.name}`;
    if (e.isSymbolicLink()) out.links.push(childRel);
    else if (e.isDirectory()) await walkContent(join(dir, e.name), childRel, out);
    else out.files.push(childRel);
  }
}

function sameState(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [p, d] of a) if (b.get(p) !== d) return false;
  return true;
}

async function checkObject(objectDir: string, r: Report, options: ValidateOptions): Promise<{ id?: string; specVersion?: string }> {
  const entries = await entriesOf(objectDir);
  if (!entries) {
    r.error('E001', 'the object root cannot be read');
    return {};
  }
  const names = entries.map((e) => e.name);
  const byName = new Map(entries.map((e) => [e.name, e]));

  // 3.2 conformance declaration
  let specVersion = '1.1';
  const namastes = names.filter((n) => n.startsWith('0='));
  if (namastes.length !== 1) r.error('E003', `the object root must hold exactly one version declaration, it holds ${namastes.length}`);
  const namaste = namastes[0];
  if (namaste) {
    const m = /^0=(ocfl_object_(\d+\.\d+))$/.exec(namaste);
    if (!m || !m[1] || !m[2]) r.error('E006', `declaration "${namaste}" is not 0=ocfl_object_<version>`, namaste);
    else {
      specVersion = m[2];
      if (specVersion !== '1.0' && specVersion !== '1.1') r.error('E006', `unknown OCFL version ${specVersion}`, namaste);
      const text = await readFile(join(objectDir, namaste), 'utf8').catch(() => null);
      if (text !== `${m[1]}\n`) r.error('E007', `${namaste} must contain "${m[1]}\\n"`, namaste);
    }
  }

  // 3.7 root inventory
  if (!names.includes('inventory.json')) {
    r.error('E063', 'the object root has no inventory.json');
    for (const n of names) if (n !== namaste && !/^v\d+$/.test(n)) r.error('E001', `unexpected entry "${n}" in the object root`, n);
    return { specVersion };
  }
  const root = await readJson(join(objectDir, 'inventory.json'));
  if ('error' in root) {
    r.error('E033', `inventory.json is not JSON: ${root.error}`, 'inventory.json');
    return { specVersion };
  }
  const inv = checkInventory(root.json, 'inventory.json', r, specVersion);
  if (!inv) return { specVersion };
  await checkSidecar(objectDir, '', names, root.bytes, inv.digestAlgorithm, r);

  // 3.1 nothing else in the object root
  for (const e of entries) {
    const n = e.name;
    if (e.isSymbolicLink()) {
      r.error('E090', `"${n}" is a link`, n);
      continue;
    }
    if (n === namaste || n === 'inventory.json' || n.startsWith('inventory.json.')) continue;
    if (e.isDirectory() && inv.versions.has(n)) continue;
    if (e.isDirectory() && n === 'logs') continue;
    if (e.isDirectory() && n === 'extensions') {
      for (const x of (await entriesOf(join(objectDir, n))) ?? []) if (!x.isDirectory()) r.error('E067', `"extensions/${x.name}" is not an extension directory`, `extensions/${x.name}`);
      continue;
    }
    if (e.isDirectory() && /^v\d+$/.test(n)) r.error('E001', `version directory "${n}" is not in the inventory (an uncommitted or stray version)`, n);
    else r.error('E001', `unexpected ${e.isDirectory() ? 'directory' : 'file'} "${n}" in the object root`, n);
  }

  // 3.3 version directories
  const contentPaths = new Map<string, string>(); // content path → lowercase manifest digest
  for (const [digest, paths] of inv.manifest) for (const p of paths) contentPaths.set(p, digest);
  const onDisk = new Set<string>();
  for (const v of inv.versionOrder) {
    const entry = byName.get(v);
    if (!entry || !entry.isDirectory()) {
      r.error('E010', `version directory ${v} is missing`, v);
      continue;
    }
    const vDir = join(objectDir, v);
    const vEntries = (await entriesOf(vDir)) ?? [];
    const vNames = vEntries.map((e) => e.name);
    for (const e of vEntries) {
      if (e.name === 'inventory.json' || e.name.startsWith('inventory.json.')) continue;
      if (e.isDirectory() && e.name === inv.contentDirectory) continue;
      if (e.isDirectory()) r.warn('W002', `version ${v} has a directory other than its content directory: "${e.name}"`, `${v}/${e.name}`);
      else r.error('E015', `unexpected file "${e.name}" in version directory ${v}`, `${v}/${e.name}`);
    }
    // 3.7 version inventory
    if (!vNames.includes('inventory.json')) r.warn('W010', `version ${v} has no inventory.json`, v);
    else {
      const vInv = await readJson(join(vDir, 'inventory.json'));
      if ('error' in vInv) r.error('E033', `${v}/inventory.json is not JSON: ${vInv.error}`, `${v}/inventory.json`);
      else {
        const parsed = checkInventory(vInv.json, `${v}/inventory.json`, r, specVersion);
        await checkSidecar(vDir, v, vNames, vInv.bytes, parsed?.digestAlgorithm, r);
        if (v === inv.head) {
          if (!vInv.bytes.equals(root.bytes)) r.error('E064', `inventory.json differs from ${v}/inventory.json, the inventory of the head version`, 'inventory.json');
        } else if (parsed) {
          if (parsed.head !== v) r.error('E040', `${v}/inventory.json has head "${parsed.head}", not ${v}`, `${v}/inventory.json`);
          if (parsed.id !== undefined && inv.id !== undefined && parsed.id !== inv.id) r.error('E110', `${v}/inventory.json has id "${parsed.id}", the object is "${inv.id}"`, `${v}/inventory.json`);
          for (const [name, old] of parsed.versions) {
            const current = inv.versions.get(name);
            if (!current) continue;
            if (!sameState(old.state, current.state)) r.error('E066', `${v}/inventory.json has another state for ${name} than the root inventory`, `${v}/inventory.json`);
            if (old.created !== current.created || old.message !== current.message || JSON.stringify(old.user) !== JSON.stringify(current.user)) {
              r.warn('W011', `${v}/inventory.json has other created/message/user for ${name}`, `${v}/inventory.json`);
            }
          }
        }
      }
    }
    // 3.3.1 content directory
    const contentDir = join(vDir, inv.contentDirectory);
    if (vEntries.some((e) => e.name === inv.contentDirectory && e.isDirectory())) {
      const found = { files: [] as string[], empty: [] as string[], links: [] as string[] };
      await walkContent(contentDir, `${v}/${inv.contentDirectory}`, found);
      for (const p of found.links) r.error('E090', `"${p}" is a link`, p);
      for (const p of found.empty) r.error('E024', `empty directory "${p}" in a content directory`, p);
      for (const p of found.files) {
        onDisk.add(p);
        if (!contentPaths.has(p)) r.error('E023', `file "${p}" is not in the manifest`, p);
      }
    }
  }

  // 3.5.2 every manifest content path exists, and (3.4 / 3.5.4) its bytes have the digests given
  for (const [p, digest] of contentPaths) {
    if (!onDisk.has(p)) {
      if (inv.versions.has(p.split('/')[0] ?? '')) r.error('E092', `content file "${p}" named in the manifest is missing`, p);
      continue;
    }
    if (options.checkDigests === false || !inv.digestAlgorithm) continue;
    const expected: Array<[string, string]> = [];
    for (const [alg, block] of inv.fixity) {
      if (!FIXITY_ALGORITHMS[alg]) continue;
      for (const [d, paths] of block) if (paths.includes(p)) expected.push([alg, d]);
    }
    let actual: Map<string, string>;
    try {
      actual = await hashFile(join(objectDir, ...p.split('/')), [inv.digestAlgorithm, ...expected.map(([a]) => a)]);
    } catch (err) {
      r.error('E092', `content file "${p}" cannot be read: ${(err as Error).message}`, p);
      continue;
    }
    if (actual.get(inv.digestAlgorithm) !== digest) {
      r.error('E092', `content file "${p}" has ${inv.digestAlgorithm} ${actual.get(inv.digestAlgorithm)}, the manifest says ${digest}`, p);
    }
    for (const [alg, d] of expected) {
      if (actual.get(alg) !== d) r.error('E093', `content file "${p}" has ${alg} ${actual.get(alg)}, the fixity block says ${d}`, p);
    }
  }
  return { ...(inv.id !== undefined ? { id: inv.id } : {}), specVersion };
}

/** Validates one OCFL object; paths in the issues are relative to `objectDir`. */
export async function validateObject(objectDir: string, options: ValidateOptions = {}): Promise<OcflIssue[]> {
  const r = new Report('');
  await checkObject(objectDir, r, options);
  return finish(r.issues, options);
}

// ---------------------------------------------------------------------------------------------
// Storage root (spec 4)

interface Layout0004 {
  digestAlgorithm: string;
  tupleSize: number;
  numberOfTuples: number;
  shortObjectRoot: boolean;
}

function path0004(id: string, c: Layout0004): string | null {
  const node = c.digestAlgorithm === 'sha256' || c.digestAlgorithm === 'sha512' ? c.digestAlgorithm : FIXITY_ALGORITHMS[c.digestAlgorithm];
  if (!node) return null;
  const hex = createHash(node).update(Buffer.from(id, 'utf8')).digest('hex');
  const segments: string[] = [];
  let i = 0;
  for (let t = 0; t < c.numberOfTuples; t++, i += c.tupleSize) segments.push(hex.substring(i, i + c.tupleSize));
  segments.push(c.shortObjectRoot ? hex.substring(i) : hex);
  return segments.join('/');
}

/**
 * Validates a storage root and every object under it. Paths in the issues are relative to
 * `rootDir`. Under extension 0004 each object must also sit at the path its id maps to.
 */
export async function validateStorageRoot(rootDir: string, options: ValidateOptions = {}): Promise<OcflIssue[]> {
  const r = new Report('');
  const entries = await entriesOf(rootDir);
  if (!entries) {
    r.error('E069', `${rootDir} cannot be read`);
    return finish(r.issues, options);
  }
  const names = entries.map((e) => e.name);

  // 4.2 root conformance declaration
  let rootVersion = '1.1';
  const namastes = names.filter((n) => n.startsWith('0='));
  if (namastes.length === 0) r.error('E069', 'the storage root has no conformance declaration (0=ocfl_1.1)');
  else if (namastes.length > 1) r.error('E076', `the storage root has ${namastes.length} version declarations`);
  const namaste = namastes[0];
  if (namaste) {
    const m = /^0=(ocfl_(\d+\.\d+))$/.exec(namaste);
    if (!m || !m[1] || !m[2]) r.error('E079', `declaration "${namaste}" is not 0=ocfl_<version>`, namaste);
    else {
      rootVersion = m[2];
      const text = await readFile(join(rootDir, namaste), 'utf8').catch(() => null);
      if (text !== `${m[1]}\n`) r.error('E080', `${namaste} must contain "${m[1]}\\n"`, namaste);
    }
  }

  // 4.1 layout description
  let layout: Layout0004 | null = null;
  if (names.includes('ocfl_layout.json')) {
    const parsed = await readJson(join(rootDir, 'ocfl_layout.json'));
    if ('error' in parsed || !isObject(parsed.json) || typeof parsed.json.extension !== 'string' || typeof parsed.json.description !== 'string') {
      r.error('E070', 'ocfl_layout.json must be a JSON object with "extension" and "description" strings', 'ocfl_layout.json');
    } else if (parsed.json.extension === '0004-hashed-n-tuple-storage-layout') {
      const config = await readJson(join(rootDir, 'extensions', '0004-hashed-n-tuple-storage-layout', 'config.json'));
      const c = 'error' in config ? {} : isObject(config.json) ? config.json : null;
      if (c === null) r.error('E070', 'the 0004 layout config.json is not a JSON object', 'extensions/0004-hashed-n-tuple-storage-layout/config.json');
      else {
        layout = {
          digestAlgorithm: typeof c.digestAlgorithm === 'string' ? c.digestAlgorithm : 'sha256',
          tupleSize: typeof c.tupleSize === 'number' ? c.tupleSize : 3,
          numberOfTuples: typeof c.numberOfTuples === 'number' ? c.numberOfTuples : 3,
          shortObjectRoot: c.shortObjectRoot === true,
        };
      }
    }
  }

  // 4.4 extensions directory holds only extension directories
  const ext = entries.find((e) => e.name === 'extensions');
  if (ext?.isDirectory()) {
    for (const x of (await entriesOf(join(rootDir, 'extensions'))) ?? []) if (!x.isDirectory()) r.error('E112', `"extensions/${x.name}" is not an extension directory`, `extensions/${x.name}`);
  }

  // 4.3 storage hierarchy: intermediate directories hold only directories, end in object roots
  const walk = async (dir: string, rel: string): Promise<void> => {
    const list = (await entriesOf(dir)) ?? [];
    if (list.some((e) => e.isFile() && e.name.startsWith('0=ocfl_object_'))) {
      const objectReport = new Report(rel);
      const { id, specVersion } = await checkObject(dir, objectReport, options);
      r.issues.push(...objectReport.issues);
      if (specVersion && Number(specVersion) > Number(rootVersion)) r.error('E081', `the object declares OCFL ${specVersion}, newer than the root's ${rootVersion}`, rel);
      if (layout && id !== undefined) {
        const expected = path0004(id, layout);
        if (expected !== null && expected !== rel) r.error('E083', `object "${id}" is at ${rel}, its 0004 layout path is ${expected}`, rel);
      }
      return;
    }
    if (list.length === 0) r.error('E073', `empty directory "${rel}" under the storage root`, rel);
    for (const e of list) {
      const childRel = `${rel}/${e.name}`;
      if (e.isSymbolicLink()) r.error('E090', `"${childRel}" is a link`, childRel);
      else if (e.isDirectory()) await walk(join(dir, e.name), childRel);
      else r.error('E084', `file "${childRel}" in an intermediate directory of the storage hierarchy`, childRel);
    }
  };
  for (const e of entries) {
    if (e.name === 'extensions') continue;
    if (e.isSymbolicLink()) r.error('E090', `"${e.name}" is a link`, e.name);
    else if (e.isDirectory()) await walk(join(rootDir, e.name), e.name);
    // other files at the top are allowed and ignored (E087)
  }
  return finish(r.issues, options);
}

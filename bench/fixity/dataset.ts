/**
 * The files of the fixity benchmark: incompressible bytes (an AES-128-CTR keystream, so that
 * no layer below can shortcut them and generating 4 GB takes seconds, not minutes), in two
 * shapes of ≈ 4 GB each: 64 × 64 MiB ("large": a few big masters) and 1,000 × 4 MiB ("many":
 * scanner pages). File i of a shape is always the same bytes, so a cache made once under
 * $TMPDIR/thukho-bench-fixity/ serves every later run, and --quick simply takes the first
 * files of the same shapes (generating only those).
 *
 * The expected digests (sha512 and sha256) come from `openssl dgst` when a file is generated,
 * not from our code, and are kept in manifest.json next to the files.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { progress } from '../../src/cli/progress.ts';
import { fsyncDir } from '../../src/storage/durable-file.ts';

export const CACHE_DIR = join(os.tmpdir(), 'thukho-bench-fixity');

export interface Shape {
  name: 'large' | 'many';
  count: number;
  size: number;
}

const MiB = 1 << 20;
export const SHAPES: Record<Shape['name'], Shape> = {
  large: { name: 'large', count: 64, size: 64 * MiB },
  many: { name: 'many', count: 1000, size: 4 * MiB },
};

export interface DatasetFile {
  path: string;
  size: number;
  sha512: string;
  sha256: string;
}

export interface Dataset {
  shape: Shape;
  dir: string;
  files: DatasetFile[];
  bytes: number;
}

interface Manifest {
  /** Bump when the generator changes: old caches are then regenerated, not trusted. */
  generator: number;
  size: number;
  files: Record<string, { sha512: string; sha256: string }>;
}

const GENERATOR = 1;

const fileName = (i: number) => `f${String(i).padStart(4, '0')}.bin`;

/** The key and counter depend on the shape and the index only: the same file on every machine. */
function writeKeystream(path: string, shape: Shape, index: number): void {
  const key = createHash('sha256').update(`thukho-bench-fixity/${shape.name}/${index}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(8 * MiB);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    for (let left = shape.size; left > 0; ) {
      const n = Math.min(left, zeros.length);
      const chunk = cipher.update(zeros.subarray(0, n));
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
      left -= n;
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** `openssl dgst -ALG -r` over many files, in batches that keep argv short. */
function opensslDigests(alg: 'sha512' | 'sha256', paths: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    const r = spawnSync('openssl', ['dgst', `-${alg}`, '-r', ...batch], { encoding: 'utf8', maxBuffer: 64 * MiB });
    if (r.status !== 0) throw new Error(`openssl dgst -${alg} failed: ${r.stderr}`);
    for (const [path, hex] of parseOpensslR(r.stdout)) out.set(path, hex);
  }
  return out;
}

/** Lines "HEX *PATH" (openssl dgst -r) → path → lowercase hex. */
export function parseOpensslR(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]+) \*(.+)$/.exec(line.trim());
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}

/** Lines "HEX  PATH" (sha512sum) → path → lowercase hex. */
export function parseSha512sum(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]{128}) [ *](.+)$/.exec(line.trimEnd());
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}

/**
 * The first `count` files of `shape`, generated where missing (or of the wrong size), with
 * their openssl digests. Files are fsynced before their digests are recorded.
 */
export async function makeDataset(shape: Shape, count: number, log: (line: string) => void): Promise<Dataset> {
  const dir = join(CACHE_DIR, `${shape.name}-${shape.size / MiB}MiB`);
  mkdirSync(dir, { recursive: true });
  const manifestPath = join(dir, 'manifest.json');
  let manifest: Manifest = { generator: GENERATOR, size: shape.size, files: {} };
  if (existsSync(manifestPath)) {
    const old = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (old.generator === GENERATOR && old.size === shape.size) manifest = old;
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, fileName(i));
    const ok = manifest.files[fileName(i)] !== undefined && existsSync(path) && statSync(path).size === shape.size;
    if (!ok) missing.push(i);
  }
  if (missing.length > 0) {
    log(`  generating ${missing.length} file(s) of ${shape.size / MiB} MiB in ${dir}…`);
    const bar = progress('  generating', 'files');
    for (const [k, i] of missing.entries()) {
      writeKeystream(join(dir, fileName(i)), shape, i);
      bar.update(k + 1, missing.length);
    }
    bar.finish(`  generated ${missing.length} file(s); digests by openssl dgst…`);
    await fsyncDir(dir);
    const paths = missing.map((i) => join(dir, fileName(i)));
    const sha512 = opensslDigests('sha512', paths);
    const sha256 = opensslDigests('sha256', paths);
    for (const i of missing) {
      const path = join(dir, fileName(i));
      const a = sha512.get(path);
      const b = sha256.get(path);
      if (!a || !b) throw new Error(`openssl gave no digest for ${path}`);
      manifest.files[fileName(i)] = { sha512: a, sha256: b };
    }
    writeFileSync(`${manifestPath}.tmp`, JSON.stringify(manifest));
    renameSync(`${manifestPath}.tmp`, manifestPath);
    await fsyncDir(dir);
  }
  const files: DatasetFile[] = [];
  for (let i = 0; i < count; i++) {
    const digests = manifest.files[fileName(i)];
    if (!digests) throw new Error(`no digests for ${fileName(i)}`);
    files.push({ path: join(dir, fileName(i)), size: shape.size, ...digests });
  }
  return { shape, dir, files, bytes: count * shape.size };
}

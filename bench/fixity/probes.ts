/**
 * Where the time of one fixity check goes: the hashing itself (in memory, no I/O), the reading
 * itself (no hashing), and read-and-hash loops that differ from checkFile in one thing each —
 * buffer size, synchronous reads on the hashing thread, a second buffer so that the next read
 * runs in libuv's pool while the current chunk is hashed, and the cost of adding sha256. Each
 * loop's sha512 is compared with openssl's, so a probe cannot win by skipping bytes.
 *
 * All probes run warm, in this process, on one thread (plus libuv's pool for async reads),
 * over the same files, and report MB/s and MB per CPU-second (the figure that survives a busy
 * machine). `openssl speed` gives the system OpenSSL's own hashing rate, in user CPU time.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { checkFile } from '../../src/storage/fixity.ts';
import { FixityPool } from '../../src/storage/fixity-pool.ts';
import { type DatasetFile, parseOpensslR } from './dataset.ts';
import { type Measured, runChildren, runHere } from './measure.ts';

type Alg = 'sha512' | 'sha256';

export interface ProbeResult {
  label: string;
  bytes: number;
  wall: number;
  cpu: number;
  /** read calls per file of this probe's files (0 for in-memory probes). */
  readsPerFile: number;
  /** Share of the machine (all cores) other processes used meanwhile. */
  othersShare: number;
  note?: string;
}

const MiB = 1 << 20;
const CORES = availableParallelism();
const share = (m: Measured) => m.others / (m.wall * CORES);

/** `openssl speed -evp ALG -bytes N`: bytes per user-CPU second (openssl speed's default divisor). */
export function opensslSpeed(alg: Alg, blockBytes: number, seconds = 2): number {
  const r = spawnSync('openssl', ['speed', '-mr', '-evp', alg, '-bytes', String(blockBytes), '-seconds', String(seconds)], { encoding: 'utf8' });
  const m = /^\+F:\d+:[^:]+:([\d.]+)/m.exec(r.stdout ?? '');
  return m ? Number(m[1]) : NaN;
}

/** sha over `total` bytes of one in-memory buffer, `update` by `chunk`. */
function hashInMemory(algs: Alg[], buffer: Buffer, total: number, chunk: number): void {
  const hashes = algs.map((a) => createHash(a));
  for (let done = 0; done < total; ) {
    for (let off = 0; off < buffer.length && done < total; off += chunk, done += chunk) {
      const part = buffer.subarray(off, off + chunk);
      for (const h of hashes) h.update(part);
    }
  }
  for (const h of hashes) h.digest();
}

type Mode = 'async-serial' | 'async-double' | 'sync';

/** One read-and-hash loop over a file; returns the hex digests. */
async function hashFile(path: string, mode: Mode, chunk: number, algs: Alg[], buffers: Buffer[]): Promise<Record<string, string>> {
  const hashes = algs.map((a) => [a, createHash(a)] as const);
  const feed = (b: Buffer) => {
    for (const [, h] of hashes) h.update(b);
  };
  if (mode === 'sync') {
    const fd = openSync(path, 'r');
    try {
      const buf = buffers[0] as Buffer;
      for (let pos = 0; ; ) {
        const n = readSync(fd, buf, 0, chunk, pos);
        if (n === 0) break;
        feed(buf.subarray(0, n));
        pos += n;
      }
    } finally {
      closeSync(fd);
    }
  } else {
    const handle = await open(path, 'r');
    try {
      if (mode === 'async-serial') {
        const buf = buffers[0] as Buffer;
        for (let pos = 0; ; ) {
          const { bytesRead } = await handle.read(buf, 0, chunk, pos);
          if (bytesRead === 0) break;
          feed(buf.subarray(0, bytesRead));
          pos += bytesRead;
        }
      } else {
        let which = 0;
        let pos = 0;
        let pending = handle.read(buffers[0] as Buffer, 0, chunk, 0);
        for (;;) {
          const { bytesRead } = await pending;
          if (bytesRead === 0) break;
          const current = buffers[which] as Buffer;
          pos += bytesRead;
          which ^= 1;
          pending = handle.read(buffers[which] as Buffer, 0, chunk, pos);
          feed(current.subarray(0, bytesRead));
        }
      }
    } finally {
      await handle.close();
    }
  }
  return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
}

/** Reading only: the same loop shapes with no hash (what the I/O alone costs). */
async function readOnly(path: string, mode: Mode, chunk: number, buffer: Buffer): Promise<number> {
  let total = 0;
  if (mode === 'sync') {
    const fd = openSync(path, 'r');
    try {
      for (let n; (n = readSync(fd, buffer, 0, chunk, total)) > 0; ) total += n;
    } finally {
      closeSync(fd);
    }
    return total;
  }
  const handle = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunk, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return total;
}

export interface ProbeOptions {
  files: DatasetFile[];
  /** Best of this many repetitions per probe (the machine is shared). */
  repeat: number;
  /** Before each probe: make sure the files are in the page cache (and wait for a quiet machine). */
  warm: () => Promise<void>;
  log: (line: string) => void;
}

export async function runProbes({ files, repeat, warm, log }: ProbeOptions): Promise<ProbeResult[]> {
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const fileSize = files[0]?.size ?? 0;
  const results: ProbeResult[] = [];
  const best = async (label: string, readsPerFile: number, fn: () => Promise<void>, note?: string) => {
    let top: ProbeResult | undefined;
    for (let i = 0; i < repeat; i++) {
      await warm();
      const m = await runHere(fn);
      const r: ProbeResult = { label, bytes, wall: m.wall, cpu: m.user + m.sys, readsPerFile, othersShare: share(m), ...(note ? { note } : {}) };
      if (!top || r.wall < top.wall) top = r;
    }
    results.push(top as ProbeResult);
    log(`    ${line(top as ProbeResult)}`);
  };
  const wrong: string[] = [];
  const verify = (f: DatasetFile, got: Record<string, string>, label: string) => {
    if (got.sha512 !== undefined && got.sha512 !== f.sha512) wrong.push(`${label}: ${f.path} sha512`);
    if (got.sha256 !== undefined && got.sha256 !== f.sha256) wrong.push(`${label}: ${f.path} sha256`);
  };
  const buffers = [Buffer.allocUnsafeSlow(8 * MiB), Buffer.allocUnsafeSlow(8 * MiB)];
  randomFillSync(buffers[0] as Buffer);

  // ---- hashing alone, in memory
  for (const [algs, chunk] of [
    [['sha512'], 4 * MiB],
    [['sha512'], 64 << 10],
    [['sha256'], 4 * MiB],
    [['sha512', 'sha256'], 4 * MiB],
  ] as Array<[Alg[], number]>) {
    await best(`memory ${algs.join('+')}, ${kib(chunk)} updates`, 0, async () => hashInMemory(algs, (buffers[0] as Buffer).subarray(0, 4 * MiB), bytes, chunk));
  }

  // ---- reading alone
  for (const [mode, chunk] of [
    ['async-serial', 4 * MiB],
    ['sync', 4 * MiB],
    ['sync', 256 << 10],
  ] as Array<[Mode, number]>) {
    await best(`read only, ${mode} ${kib(chunk)}`, Math.ceil(fileSize / chunk) + 1, async () => {
      for (const f of files) if ((await readOnly(f.path, mode, chunk, buffers[0] as Buffer)) !== f.size) wrong.push(`read only: ${f.path} short`);
    });
  }

  // ---- checkFile itself, and loops that differ from it in one thing
  await best('checkFile (sha512 only)', NaN, async () => {
    for (const f of files) {
      const r = await checkFile(f.path, { sha512: f.sha512, size: f.size });
      if (r.outcome !== 'pass') wrong.push(`checkFile: ${f.path} ${r.failure}`);
      verify(f, r.actual as Record<string, string>, 'checkFile');
    }
  }, 'as shipped');
  for (const [mode, chunk, algs] of [
    ['async-serial', 4 * MiB, ['sha512']],
    ['async-serial', 1 * MiB, ['sha512']],
    ['async-serial', 256 << 10, ['sha512']],
    ['async-double', 4 * MiB, ['sha512']],
    ['async-double', 1 * MiB, ['sha512']],
    ['async-double', 256 << 10, ['sha512']],
    ['sync', 4 * MiB, ['sha512']],
    ['sync', 1 * MiB, ['sha512']],
    ['sync', 256 << 10, ['sha512']],
    ['sync', 64 << 10, ['sha512']],
    ['async-serial', 4 * MiB, ['sha512', 'sha256']],
    ['async-double', 1 * MiB, ['sha512', 'sha256']],
  ] as Array<[Mode, number, Alg[]]>) {
    const label = `${mode} ${kib(chunk)} ${algs.join('+')}`;
    await best(label, Math.ceil(fileSize / chunk) + 1, async () => {
      for (const f of files) verify(f, await hashFile(f.path, mode, chunk, algs, buffers), label);
    }, mode === 'async-serial' && chunk === 4 * MiB ? "checkFile's loop" : undefined);
  }
  if (wrong.length) throw new Error(`probes computed wrong digests or short reads:\n${wrong.slice(0, 10).join('\n')}`);
  return results;
}

export interface ColdProbeOptions {
  files: DatasetFile[];
  cores: number;
  /** Empties the page cache (and waits for a quiet machine). */
  cold: () => Promise<void>;
  workDir: string;
  log: (line: string) => void;
}

/**
 * Cold, where the disk and the hashing can overlap or not: openssl (the kernel's readahead
 * runs ahead of its 8 KiB reads), checkFile one file at a time (each read waits for the disk,
 * then the disk idles while the chunk is hashed), checkFile with two files in flight on one
 * thread (what src/application/fixity.ts does with the in-thread hasher), the double-buffered
 * loop, and FixityPool with one and with two threads per core.
 */
export async function runColdProbes({ files, cores, cold, workDir, log }: ColdProbeOptions): Promise<ProbeResult[]> {
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const fileSize = files[0]?.size ?? 0;
  const results: ProbeResult[] = [];
  const wrong: string[] = [];
  const record = (label: string, m: Measured, readsPerFile: number, note?: string) => {
    const r: ProbeResult = { label, bytes, wall: m.wall, cpu: m.user + m.sys, readsPerFile, othersShare: share(m), ...(note ? { note } : {}) };
    results.push(r);
    log(`    ${line(r)}`);
  };
  const expect = (f: DatasetFile, sha512: string | undefined, label: string) => {
    if (sha512 !== f.sha512) wrong.push(`${label}: ${f.path}`);
  };

  await cold();
  const o = await runChildren([['openssl', 'dgst', '-sha512', '-r', ...files.map((f) => f.path)]], workDir);
  const ref = parseOpensslR(o.stdouts[0] ?? '');
  for (const f of files) expect(f, ref.get(f.path), 'openssl');
  record('cold openssl dgst -sha512', o, Math.ceil(fileSize / 8192) + 1, 'reference');

  await cold();
  record('cold checkFile, 1 file at a time', await runHere(async () => {
    for (const f of files) expect(f, (await checkFile(f.path, { sha512: f.sha512, size: f.size }, { algorithms: ['sha512'] })).actual.sha512, 'checkFile');
  }), NaN, 'as shipped, as in this bench');

  await cold();
  record('cold checkFile, 2 files in flight', await runHere(async () => {
    let next = 0;
    const lane = async () => {
      while (next < files.length) {
        const f = files[next++] as DatasetFile;
        expect(f, (await checkFile(f.path, { sha512: f.sha512, size: f.size }, { algorithms: ['sha512'] })).actual.sha512, 'checkFile ×2');
      }
    };
    await Promise.all([lane(), lane()]);
  }), NaN, "the application's in-thread lanes");

  const buffers = [Buffer.allocUnsafeSlow(MiB), Buffer.allocUnsafeSlow(MiB)];
  await cold();
  record('cold async-double 1 MiB, 1 file at a time', await runHere(async () => {
    for (const f of files) expect(f, (await hashFile(f.path, 'async-double', MiB, ['sha512'], buffers)).sha512, 'async-double');
  }), Math.ceil(fileSize / MiB) + 1);

  for (const threads of [cores, 2 * cores]) {
    const pool = new FixityPool(threads);
    try {
      await Promise.all(files.slice(0, threads).map(() => pool.check(files[0]?.path as string, {}, { algorithms: ['sha512'] })));
      await cold();
      record(`cold FixityPool(${threads})`, await runHere(async () => {
        const checks = await Promise.all(files.map((f) => pool.check(f.path, { sha512: f.sha512, size: f.size }, { algorithms: ['sha512'] })));
        checks.forEach((c, i) => expect(files[i] as DatasetFile, c.actual.sha512, `FixityPool(${threads})`));
      }), NaN, threads === cores ? 'one check per core' : 'two checks per core');
    } finally {
      await pool.close();
    }
  }
  if (wrong.length) throw new Error(`cold probes computed wrong digests:\n${wrong.slice(0, 10).join('\n')}`);
  return results;
}

function kib(n: number): string {
  return n >= MiB ? `${n / MiB} MiB` : `${n >> 10} KiB`;
}

export function line(r: ProbeResult): string {
  const mb = r.bytes / 1e6;
  const reads = r.readsPerFile > 0 ? `  ${r.readsPerFile} reads/file` : '';
  const busy = r.othersShare > 0.15 ? `  DISTURBED (others ${fmt(100 * r.othersShare)} %)` : '';
  return `${r.label.padEnd(40)} ${fmt(mb / r.wall).padStart(7)} MB/s  ${fmt(mb / r.cpu).padStart(7)} MB/CPU-s  CPU ${fmt(r.cpu, 2)} s${reads}${r.note ? `  (${r.note})` : ''}${busy}`;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
}

/**
 * Memory of one large upload: how much the server's resident set grows while a big TIFF is
 * POSTed to /api/objects/:id/files as a raw body (the issue: a 2 GB TIFF grew it by ≈ 94 MB;
 * target: flat, tens of MB). Not a timed test: it prints the server's RSS before, the peak
 * during the upload (sampled every 100 ms from /proc), after, and the growth.
 *
 *   npm run bench:upload-memory                 2048 MB (the case)
 *   npx tsx bench/ingest/upload-memory.ts --size=512
 *
 * The server runs in a child process (only its memory is measured) with its own data dir; the
 * TIFF is generated while it is sent (uncompressed 8-bit grey, 16-row strips, a valid header),
 * so no source file is needed. The upload takes the HTTP path as it is: stream to staging with
 * inline digests, then the header checks and the full decode (kept for single uploads).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { memoryOf, mib, RssSampler } from '../oai/rss.ts';

const args = process.argv.slice(2);
const sizeArg = args.find((a) => a.startsWith('--size='));
const SIZE_MB = sizeArg ? Number(sizeArg.slice(7)) : Number(process.env.THUKHO_BENCH_UPLOAD_MB ?? 2048);
if (!(Number.isFinite(SIZE_MB) && SIZE_MB >= 1)) throw new Error('--size wants a size in MB (≥ 1)');

const WIDTH = 20_000;
const ROWS_PER_STRIP = 16;

/** A TIFF header (IFD and strip tables) for WIDTH × height grey pixels that follow it directly. */
function tiffHeader(height: number): Buffer {
  const strips = Math.ceil(height / ROWS_PER_STRIP);
  const tags: Array<[tag: number, type: number, count: number, value: number]> = [];
  const ifdBytes = 2 + 9 * 12 + 4;
  const offsetsAt = 8 + ifdBytes;
  const countsAt = offsetsAt + 4 * strips;
  const dataAt = countsAt + 4 * strips;
  tags.push([256, 4, 1, WIDTH], [257, 4, 1, height], [258, 3, 1, 8], [259, 3, 1, 1], [262, 3, 1, 1]);
  tags.push([273, 4, strips, offsetsAt], [277, 3, 1, 1], [278, 4, 1, ROWS_PER_STRIP], [279, 4, strips, countsAt]);
  const buf = Buffer.alloc(dataAt);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    buf.writeUInt16LE(tag, at);
    buf.writeUInt16LE(type, at + 2);
    buf.writeUInt32LE(count, at + 4);
    if (type === 3 && count === 1) buf.writeUInt16LE(value, at + 8);
    else buf.writeUInt32LE(value, at + 8);
  });
  for (let s = 0; s < strips; s++) {
    const rows = Math.min(ROWS_PER_STRIP, height - s * ROWS_PER_STRIP);
    buf.writeUInt32LE(dataAt + s * ROWS_PER_STRIP * WIDTH, offsetsAt + 4 * s);
    buf.writeUInt32LE(rows * WIDTH, countsAt + 4 * s);
  }
  return buf;
}

// ---------------------------------------------------------------------------------------
// The child: a thukho server with a staff token, printing where it is.

async function child(): Promise<void> {
  const { createUser } = await import('../../src/application/users.ts');
  const { loadConfig } = await import('../../src/config.ts');
  const { startServer } = await import('../../src/serve.ts');
  const { pino } = await import('pino');
  const config = loadConfig(process.env);
  const server = await startServer(config, pino({ level: 'warn' }));
  const staff = await createUser(server.store, 'staff', 'Cán bộ', 'curator', { actor: { id: 'bench', role: 'admin' } });
  process.stdout.write(`${JSON.stringify({ url: server.url, token: staff.token })}\n`);
  process.on('SIGTERM', () => {
    server.stop().then(() => process.exit(0), () => process.exit(1));
  });
}

// ---------------------------------------------------------------------------------------
// The parent

function startChild(dataDir: string, maxPixels: number): Promise<{ proc: ChildProcess; url: string; token: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THUKHO_')) env[k] = v;
  Object.assign(env, {
    THUKHO_DATA_DIR: dataDir,
    THUKHO_HOST: '127.0.0.1',
    THUKHO_PORT: '0',
    THUKHO_LOG_LEVEL: 'warn',
    THUKHO_MAX_PIXELS: String(Math.max(1_000_000_000, maxPixels)),
    THUKHO_QUEUE_PREFIX: `bench-upload-${process.pid}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  const proc = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ proc, ...(JSON.parse(out.slice(0, nl)) as { url: string; token: string }) });
    });
    proc.once('exit', (code) => reject(new Error(`the server exited (${code}) before it started`)));
  });
}

async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

/** Streams header + pixels with backpressure; resolves with the status and body. */
function upload(url: string, token: string, objectId: string, header: Buffer, pixelBytes: number, onSent: (bytes: number) => void): Promise<{ status: number; body: string }> {
  const noise = randomFillSync(Buffer.alloc(1 << 20));
  return new Promise((resolve, reject) => {
    const req = request(`${url}/api/objects/${objectId}/files?name=big.tif`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/tiff', 'content-length': String(header.length + pixelBytes) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    let left = pixelBytes;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, noise.length);
        left -= n;
        onSent(pixelBytes - left);
        const more = req.write(n === noise.length ? noise : noise.subarray(0, n));
        if (!more) return void req.once('drain', pump);
      }
      req.end();
    };
    req.write(header);
    pump();
  });
}

async function main(): Promise<void> {
  const height = Math.ceil((SIZE_MB * 1e6) / WIDTH);
  const header = tiffHeader(height);
  const total = header.length + WIDTH * height;
  const work = mkdtempSync(join(os.tmpdir(), 'thukho-bench-upload-'));
  const [l1, l5] = os.loadavg();
  console.log(`upload memory: one raw-body upload of a ${(total / 1e6).toFixed(0)} MB TIFF (${WIDTH} × ${height} grey); load ${l1?.toFixed(2)} / ${l5?.toFixed(2)}, ${os.cpus().length} CPUs`);
  let proc: ChildProcess | undefined;
  try {
    const server = await startChild(join(work, 'data'), WIDTH * height);
    proc = server.proc;
    const pid = proc.pid as number;
    const objectId = (await call(server.url, server.token, 'POST', '/api/objects', { title: 'Bench upload', accessLevel: 'open' })).id as string;
    // Settle: start-up allocations done, then one GC-free second.
    await new Promise((r) => setTimeout(r, 3000));
    const before = memoryOf(pid);
    const sampler = new RssSampler(pid);
    sampler.set('upload');
    const t0 = performance.now();
    const pixels = WIDTH * height;
    let decile = 0;
    const res = await upload(server.url, server.token, objectId, header, pixels, (sent) => {
      const d = Math.floor((10 * sent) / pixels);
      if (d !== decile) sampler.set(d >= 10 ? 'checking' : 'upload', (decile = d));
    });
    const seconds = (performance.now() - t0) / 1000;
    sampler.set('after');
    await new Promise((r) => setTimeout(r, 2000));
    sampler.stop();
    const after = memoryOf(pid);
    // Streaming (by tenths of the bytes sent) apart from what follows the last byte (digest
    // checks, header checks, the decode check, the OCFL commit).
    const byTenth: string[] = [];
    for (let d = 0; d < 10; d++) {
      const xs = sampler.of('upload').filter((x) => x.records === d).map((x) => x.rss);
      if (xs.length) byTenth.push(`${d * 10}%: ${(Math.max(...xs) / 2 ** 20).toFixed(0)}`);
    }
    const checking = sampler.of('checking').map((x) => x.rss);
    console.log(`  server RSS (MiB) while streaming, by bytes sent: ${byTenth.join(', ')}; after the last byte until the answer: peak ${checking.length ? (Math.max(...checking) / 2 ** 20).toFixed(0) : 'n/a'}`);
    const during = [...sampler.of('upload'), ...sampler.of('checking')].map((x) => x.rss);
    const peak = Math.max(...during);
    if (res.status !== 201) console.log(`upload answered ${res.status}: ${res.body.slice(0, 500)}`);
    const [m1] = os.loadavg();
    console.log(`  answered ${res.status} in ${seconds.toFixed(1)} s (${(total / 1e6 / seconds).toFixed(0)} MB/s, load ${m1?.toFixed(2)})`);
    console.log(`  server RSS before ${mib(before?.rss ?? NaN)}, peak during ${mib(peak)} (${during.length} samples), after ${mib(after?.rss ?? NaN)}`);
    console.log(`  RSS growth (peak − before): ${mib(peak - (before?.rss ?? NaN))}   target: flat, tens of MB`);
  } finally {
    proc?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    rmSync(work, { recursive: true, force: true });
  }
}

if (args.includes('--child')) await child();
else await main();

/**
 * thukho's side of the IIIF bench, as an operator and a librarian use it: a staff account
 * made with `thukho users add`, `thukho serve` as a child process (its own process group,
 * with the workers it starts), the master uploaded through the HTTP API (POST
 * /api/objects, then a raw POST /api/objects/{id}/files?name= with a Content-Digest), and
 * the derivatives worker's result awaited on GET /api/objects/{id} (files[0].derivative).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { request } from 'node:http';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, type Group, sleep, startGroup, stopGroup, tail, waitForPort } from './procs.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin/thukho.js');
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface ThukhoSetup {
  dataDir: string;
  queuePrefix: string;
  token: string;
  objectId: string;
  fileId: string;
  /** Upload of the master: request start → response. */
  uploadSeconds: number;
  /** Upload complete (response received) → files[0].derivative present; null when not seen whole (a resumed run). */
  derivativeSeconds: number | null;
  derivative: Record<string, unknown> | null;
}

export interface ThukhoServer {
  baseUrl: string;
  group: Group;
  groups: Group[];
}

/** thukho's IIIF Image API 3 paths for one file: the same region and size strings as IIP's. */
export const thukhoPaths = (fileId: string) => ({
  tilePath: (region: string, size: string) => `/iiif/3/${fileId}/${region}/${size}/0/default.jpg`,
  infoPath: `/iiif/3/${fileId}/info.json`,
});

/**
 * Variables passed through from the bench's own environment: the image server's (cache sizes
 * etc.), and how the workers yield to readers (to compare, e.g. THUKHO_WORKER_NICE=0
 * THUKHO_DERIVATIVE_THREADS=2 for the behaviour before issue 20), and THUKHO_OCR.
 */
const PASSED = /^THUKHO_(IIIF_.+|WORKER_NICE|WORKER_SCHEDULING|DERIVATIVE_THREADS|DERIVATIVES_CONCURRENCY|REPLICATION_CONCURRENCY|OCR|OCR_CONCURRENCY)$/;
export function passthroughEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (PASSED.test(k) && v !== undefined) out[k] = v;
  return out;
}

function env(dataDir: string, queuePrefix: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  // Hermetic: nothing from the caller's shell may point thukho elsewhere.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THUKHO_')) out[k] = v;
  return {
    ...out,
    // The benches load the server from one address: the per-client render allowance would
    // turn their load into 429s. Measured without it, unless the caller sets it.
    THUKHO_IIIF_RENDER_MP_PER_MINUTE: '1000000000',
    ...passthroughEnv(),
    THUKHO_DATA_DIR: dataDir,
    THUKHO_HOST: '127.0.0.1',
    THUKHO_LOG_LEVEL: 'warn',
    THUKHO_QUEUE_PREFIX: queuePrefix,
    REDIS_URL,
    ...extra,
  };
}

/** `thukho users add bench --role curator`: the token it prints once. */
export function createStaffToken(dataDir: string, queuePrefix: string): string {
  const r = spawnSync(process.execPath, [BIN, 'users', 'add', 'bench', '--name', 'Bench IIIF', '--role', 'curator'], {
    cwd: REPO,
    env: env(dataDir, queuePrefix),
    encoding: 'utf8',
    timeout: 60_000,
  });
  const token = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !token) throw new Error(`thukho users add exited with ${r.status}: ${r.stderr}`);
  return token;
}

/** A reader account that signs in on the site with `password` (`thukho users add --password-stdin`). */
export function addReaderWithPassword(dataDir: string, queuePrefix: string, id: string, password: string): void {
  const r = spawnSync(process.execPath, [BIN, 'users', 'add', id, '--name', 'Bench reader', '--role', 'reader', '--password-stdin'], {
    cwd: REPO,
    env: env(dataDir, queuePrefix),
    input: `${password}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`thukho users add ${id} exited with ${r.status}: ${r.stderr}`);
}

/** `thukho serve` (with its workers); resolves when /health answers 200. No image request is sent. `extraEnv`: more THUKHO_* settings. */
export async function startThukho(dataDir: string, queuePrefix: string, workDir: string, extraEnv: Record<string, string> = {}): Promise<ThukhoServer> {
  const port = await freePort();
  const logPath = join(workDir, 'thukho-serve.log');
  // THUKHO_BENCH_CPU_PROF=DIR: each server writes a V8 CPU profile there when it stops
  // (NODE_OPTIONS may not carry --cpu-prof).
  const prof = process.env.THUKHO_BENCH_CPU_PROF;
  const group = startGroup('thukho serve', process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), BIN, 'serve'], { cwd: REPO, env: env(dataDir, queuePrefix, { ...extraEnv, THUKHO_PORT: String(port) }), logPath });
  try {
    await waitForPort(port, 60_000, group);
    const baseUrl = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let last = '';
    for (;;) {
      try {
        const res = await fetch(`${baseUrl}/health`);
        last = `${res.status} ${await res.text()}`;
        if (res.status === 200) break;
      } catch (err) {
        last = (err as Error).message;
      }
      if (group.exited) throw new Error(`thukho serve exited; see ${logPath}:\n${tail(logPath)}`);
      if (Date.now() > deadline) throw new Error(`thukho /health not 200 after 60 s (last: ${last.slice(0, 500)}); see ${logPath}`);
      await sleep(250);
    }
    return { baseUrl, group, groups: [group] };
  } catch (err) {
    await stopGroup(group);
    throw err;
  }
}

export async function stopThukho(s: ThukhoServer): Promise<void> {
  await stopGroup(s.group, 30_000);
}

export async function apiCall(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

/** Streams a file as the raw body of a POST, with an RFC 9530 Content-Digest; returns the JSON answer. */
function uploadRaw(url: string, token: string, path: string, sha256: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const size = statSync(path).size;
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
          'content-digest': `sha-256=:${sha256.toString('base64')}:`,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolvePromise({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> });
          } catch {
            resolvePromise({ status: res.statusCode ?? 0, json: { text } });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    createReadStream(path, { highWaterMark: 1 << 20 }).on('error', reject).pipe(req);
  });
}

async function sha256Of(path: string): Promise<Buffer> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest();
}

export interface Ingested {
  objectId: string;
  fileId: string;
  /** Request start → response. */
  uploadSeconds: number;
  /** process.hrtime.bigint() when the upload's response arrived. */
  uploadedAt: bigint;
}

/** Registers an object and uploads the master into it, as a librarian's script would. */
export async function ingestMaster(server: ThukhoServer, token: string, master: string, log: (s: string) => void): Promise<Ingested> {
  const base = server.baseUrl;
  const created = await apiCall(base, token, 'POST', '/api/objects', { title: 'Địa bạ làng Phú Xuân (IIIF bench, 10000 × 14000)' });
  if (created.status !== 201) throw new Error(`POST /api/objects → ${created.status} ${JSON.stringify(created.json).slice(0, 500)}`);
  const objectId = created.json.id as string;
  const digest = await sha256Of(master);
  log(`  uploading ${basename(master)} (${(statSync(master).size / 1e6).toFixed(1)} MB) into object ${objectId}…`);
  const t0 = process.hrtime.bigint();
  const up = await uploadRaw(`${base}/api/objects/${objectId}/files?name=${encodeURIComponent('dia-ba-phu-xuan.tif')}`, token, master, digest);
  const uploadedAt = process.hrtime.bigint();
  const uploadSeconds = Number(uploadedAt - t0) / 1e9;
  if (up.status !== 201) throw new Error(`upload → ${up.status} ${JSON.stringify(up.json).slice(0, 800)}`);
  const fileId = up.json.fileId as string;
  log(`  uploaded in ${uploadSeconds.toFixed(1)} s (${((statSync(master).size / 1e6) / uploadSeconds).toFixed(0)} MB/s): file ${fileId}`);
  return { objectId, fileId, uploadSeconds, uploadedAt };
}

/**
 * Polls GET /api/objects/{id} until the file has its `derivative` (returns it and the
 * seconds since `since`), or `timeoutMs` passes (throws, saying what is missing).
 */
export async function waitForDerivative(
  server: ThukhoServer,
  token: string,
  objectId: string,
  fileId: string,
  since: bigint,
  timeoutMs: number,
  log: (s: string) => void,
): Promise<{ seconds: number; derivative: Record<string, unknown> }> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let lastFailure = '';
  let nextNote = started + 30_000;
  for (;;) {
    const got = await apiCall(server.baseUrl, token, 'GET', `/api/objects/${objectId}`).catch((err: Error) => ({ status: 0, json: { error: err.message } as Record<string, unknown> }));
    const files = (got.json.files as Array<Record<string, unknown>> | undefined) ?? [];
    const file = files.find((f) => f.fileId === fileId) ?? files[0];
    if (file?.derivative) {
      return { seconds: Number(process.hrtime.bigint() - since) / 1e9, derivative: file.derivative as Record<string, unknown> };
    }
    const failure = file?.derivativeFailure as { reason?: string; attempts?: number } | undefined;
    if (failure && JSON.stringify(failure) !== lastFailure) {
      lastFailure = JSON.stringify(failure);
      log(`  the derivatives worker recorded a failure (attempt ${failure.attempts}): ${failure.reason}`);
    }
    if (server.group.exited) throw new Error(`thukho serve exited while we waited for the derivative; see ${server.group.logPath}:\n${tail(server.group.logPath)}`);
    if (Date.now() > deadline) {
      throw new Error(
        `no derivative for file ${fileId} after ${timeoutMs >= 60_000 ? `${(timeoutMs / 60_000).toFixed(1)} min` : `${(timeoutMs / 1000).toFixed(0)} s`}: GET /api/objects/${objectId} (HTTP ${got.status}) shows no files[0].derivative` +
          `${lastFailure ? ` (last failure: ${lastFailure})` : ' and no derivativeFailure either'}. ` +
          'Is the derivatives worker in workers/index.ts, and does `thukho serve` start it and dispatch jobs for FileIngested? ' +
          `Server log (${server.group.logPath}) ends with:\n${tail(server.group.logPath, 1500) || '(empty)'}`,
      );
    }
    if (Date.now() > nextNote) {
      log(`  … still waiting for the derivative (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      nextNote += 30_000;
    }
    await sleep(250);
  }
}

/** Deletes the bench's BullMQ keys (`PREFIX:*`) from redis; returns how many. */
export async function dropQueueKeys(queuePrefix: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  let n = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) n += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return n;
}

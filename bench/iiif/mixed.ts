/**
 * Readers while the library ingests (issue 20): the same wrk tile walk at c=8 on one fresh
 * `thukho serve` (the embedded profile: its workers started by its supervisor, as in
 * production on one host), first with nothing else to do ("idle"), then while N large TIFFs
 * are uploaded through the API one after another, as a librarian's script sends them, and the
 * real workers build their derivatives ("during ingest", in windows until the last derivative
 * is built). Prints the runs, the ratios (targets: throughput ≥ 0.6×, p99 ≤ 3× the idle run)
 * and how far the ingest got in each window.
 *
 * The TIFFs are uncompressed RGB (what scanners deliver), made once by sharp and cached; each
 * upload appends 16 random bytes after the image (readers of TIFF follow offsets and never see
 * them), so every run's masters are new to thukho and their derivatives are really built.
 */
import { type Hash, randomBytes, createHash } from 'node:crypto';
import { createReadStream, existsSync, renameSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import sharp from 'sharp';
import { sleep } from './procs.ts';
import { apiCall, type ThukhoServer } from './thukho.ts';
import { type WrkResult } from './wrk.ts';

export interface IngestSpec {
  files: number;
  /** Size of each file, in MB (10^6 bytes), as an uncompressed RGB TIFF. */
  mb: number;
}

/** The cached TIFFs (made with sharp the first time): `files` of about `mb` MB each. */
export async function prepareIngestFiles(cacheDir: string, spec: IngestSpec, log: (s: string) => void): Promise<string[]> {
  const side = Math.round(Math.sqrt((spec.mb * 1e6) / 3));
  const paths: string[] = [];
  for (let i = 1; i <= spec.files; i++) {
    const path = join(cacheDir, `ingest-${side}px-${i}.tif`);
    if (!existsSync(path)) {
      const t0 = Date.now();
      const tmp = `${path}.part`;
      // Paper grey with grain: compresses like a scan in the derivative, unlike flat colour.
      await sharp({ create: { width: side, height: side, channels: 3, background: { r: 232 - 4 * i, g: 226, b: 210 }, noise: { type: 'gaussian', mean: 220, sigma: 18 } } })
        .tiff({ compression: 'none' })
        .toFile(tmp);
      renameSync(tmp, path);
      log(`  made ${path} (${side} × ${side}, ${(statSync(path).size / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    paths.push(path);
  }
  return paths;
}

/**
 * The SHA-256 state after each file's bytes, computed once per run before the measuring starts:
 * a librarian's script hashes on its own machine, so the bench's client must not spend the
 * server's two cores on 100 MB of hashing per upload inside the measured windows.
 */
const fileHashes = new Map<string, Hash>();

export async function hashIngestFiles(paths: string[]): Promise<void> {
  for (const path of paths) {
    if (fileHashes.has(path)) continue;
    const h = createHash('sha256');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
    fileHashes.set(path, h);
  }
}

/** Streams the file then the trailer as one raw POST body, with the RFC 9530 Content-Digest of both. */
async function uploadWithTrailer(url: string, token: string, path: string, trailer: Buffer): Promise<{ status: number; text: string }> {
  await hashIngestFiles([path]);
  const h = (fileHashes.get(path) as Hash).copy();
  h.update(trailer);
  const size = statSync(path).size + trailer.length;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
          'content-digest': `sha-256=:${h.digest('base64')}:`,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = createReadStream(path, { highWaterMark: 1 << 20 });
    body.on('error', reject);
    body.pipe(req, { end: false });
    body.on('end', () => req.end(trailer));
  });
}

export interface IngestProgress {
  /** Seconds since the ingest started at which each upload was answered, each derivative appeared. */
  uploadedAt: number[];
  derivedAt: number[];
  failures: string[];
  /** Resolves when every upload is answered and every derivative present (or failed), or at the deadline. */
  done: Promise<void>;
  stop(): void;
}

/**
 * Uploads the files one after another (each into a new object) and watches, once a second, for
 * their derivatives (files[0].derivative on GET /api/objects/{id}).
 */
export function startIngest(server: ThukhoServer, token: string, files: string[], deadlineMs: number): IngestProgress {
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
  const progress: IngestProgress = { uploadedAt: [], derivedAt: [], failures: [], done: Promise.resolve(), stop: () => {} };
  let stopped = false;
  progress.stop = () => {
    stopped = true;
  };
  const objects: string[] = [];
  const uploads = (async () => {
    for (const [i, file] of files.entries()) {
      if (stopped) return;
      const created = await apiCall(server.baseUrl, token, 'POST', '/api/objects', { title: `Sổ đinh làng (bench: readers during ingest, ${i + 1})` });
      if (created.status !== 201) throw new Error(`POST /api/objects → ${created.status} ${JSON.stringify(created.json).slice(0, 300)}`);
      const id = created.json.id as string;
      const up = await uploadWithTrailer(`${server.baseUrl}/api/objects/${id}/files?name=so-dinh-${i + 1}.tif`, token, file, randomBytes(16));
      if (up.status !== 201) throw new Error(`upload ${i + 1} → ${up.status} ${up.text.slice(0, 300)}`);
      progress.uploadedAt.push(since());
      objects.push(id);
    }
  })();
  const watch = (async () => {
    const seen = new Set<string>();
    const deadline = Date.now() + deadlineMs;
    while (!stopped && Date.now() < deadline && seen.size < files.length) {
      for (const id of objects) {
        if (seen.has(id)) continue;
        const got = await apiCall(server.baseUrl, token, 'GET', `/api/objects/${id}`).catch(() => undefined);
        const file = (got?.json.files as Array<Record<string, unknown>> | undefined)?.[0];
        if (file?.derivative) {
          seen.add(id);
          progress.derivedAt.push(since());
        } else if (file?.derivativeFailure) {
          seen.add(id);
          progress.failures.push(`${id}: ${JSON.stringify(file.derivativeFailure).slice(0, 300)}`);
        }
      }
      await sleep(1000);
    }
  })();
  progress.done = Promise.all([uploads, watch]).then(() => undefined);
  return progress;
}

/** Counts of `times` (seconds since the ingest started) that fell within [0, window]. */
export const within = (times: number[], windowSeconds: number) => times.filter((s) => s <= windowSeconds).length;

export const TARGET_MIXED_RPS = 0.6;
export const TARGET_MIXED_P99 = 3;

export interface MixedResult {
  spec: IngestSpec;
  idle: WrkResult;
  /** The loaded windows as one (see combine in run.ts), and each of them. */
  during: WrkResult;
  windows: Array<{ r: WrkResult; from: number; to: number; uploads: number; derived: number; load: number }>;
  /** Load average (1 min) at the start of each run. */
  loadIdle: number;
  loadDuring: number;
  windowSeconds: number;
  progress: IngestProgress;
  /** Ingest start → last derivative; null when not all arrived before the deadline. */
  allDerivedSeconds: number | null;
}

/**
 * IIIF tile-serving benchmark: thukho side by side with IIPImage, in one run, on the same
 * machine, the same source image and the same requests, printing requests/s, p50 and p99
 * for both and the ratios thukho / IIPImage against the targets (throughput ≥ 1.0×, p99 ≤
 * 1.0×, cold and warm), the info.json p50s, and the time to make the pyramid of one
 * 140-megapixel TIFF. The reference is set up as /work/shared/REFERENCE.md describes.
 *
 *   npm run bench:iiif                 c = 8 and 32, cold then warm, wrk -d10s (≈ 5 min + ingest)
 *   npm run bench:iiif -- --quick      c = 8 only, wrk -d5s, the sharp pyramid time from the cache
 *   npm run bench:iiif -- --only=mixed readers during ingest only (thukho alone; see below)
 *
 * Also the machine's limit (issue 20): nginx serving, as static files, the exact bytes thukho
 * answers for every URL of the walk (bench/iiif/nginx.ts: written once to a tree mirroring the
 * URLs, beside thukho's data dir; nginx runs as our own process with a generated config, one
 * worker per core, on 127.0.0.1), walked the same way; thukho is printed as a ratio of it
 * (target ≥ 0.5× at c=32 warm). --no-nginx leaves it out.
 *
 * Options: --keep (keep the run dir: thukho's data dir, logs, path lists; re-use it with
 * --reuse-thukho=DIR to skip the ingest), --only=iip | --only=thukho (one half; the other
 * is not started), --derivative-timeout=MIN (default 10), --seconds=N (wrk duration),
 * --no-mixed (skip readers during ingest), --mixed-seconds=N (each of its wrk windows;
 * default 10). THUKHO_BENCH_INGEST_FILES and THUKHO_BENCH_INGEST_MB: the
 * TIFFs it uploads (default 4 × 100 MB, 4 × 25 MB with --quick).
 * THUKHO_IIIF_* variables set when the bench starts are passed on to `thukho serve`, and so
 * are THUKHO_WORKER_NICE, THUKHO_DERIVATIVE_THREADS, THUKHO_DERIVATIVES_CONCURRENCY,
 * THUKHO_REPLICATION_CONCURRENCY, THUKHO_OCR(_CONCURRENCY) (e.g. THUKHO_WORKER_NICE=0
 * THUKHO_DERIVATIVE_THREADS=2: the workers as they were before issue 20).
 * Needs: `apt-get install iipimage-server lighttpd wrk nginx` (wrk alone with --only=thukho|mixed), redis on REDIS_URL (default
 * redis://127.0.0.1:6379); root to drop the page cache (else cold = fresh server only).
 *
 * Method.
 *  - Source (bench/iiif/source.ts, cached under $TMPDIR/thukho-bench-iiif/): a 10,000 ×
 *    14,000 px RGB scan-like master (paper grey + gaussian grain + rows of Vietnamese and
 *    Han text), kept as an uncompressed TIFF (what thukho ingests), and IIPImage's copy,
 *    written from it by sharp as a tiled (256²) pyramidal JPEG-q85 TIFF. Writing that
 *    pyramid is timed on every full run ("plain sharp" pyramid time).
 *  - IIPImage 1.1 (bench/iiif/iip.ts): one iipsrv.fcgi per core (FILESYSTEM_PREFIX,
 *    VERBOSITY=0, MAX_IMAGE_CACHE_SIZE=256, --bind 127.0.0.1:PORT --backlog 1024) behind
 *    lighttpd (mod_fastcgi, both backends under /iiif, check-local disable), all on
 *    127.0.0.1; requests /iiif?IIIF=big.tif/{region}/{size}/0/default.jpg.
 *  - thukho (bench/iiif/thukho.ts): `node bin/thukho.js serve` as a child process (its own
 *    process group, with its workers), a fresh THUKHO_DATA_DIR, a staff token from
 *    `thukho users add`, the master uploaded through the HTTP API as a librarian's script
 *    would (POST /api/objects, raw POST /api/objects/{id}/files?name= with Content-Digest),
 *    then GET /api/objects/{id} polled until files[0].derivative appears: upload complete →
 *    derivative present is thukho's pyramid time (pyramid + pre-cut tile grid + event).
 *    Requests /iiif/3/{fileId}/{region}/{size}/0/default.jpg: the same region/size strings.
 *  - Like with like (bench/iiif/check.ts): before the load, 20 tiles from each server (every
 *    scale factor, the clipped corner tiles) must be 200 image/jpeg of the requested pixel
 *    size, and info.json must say 10,000 × 14,000; the two servers' tiles are compared
 *    pixel by pixel (mean absolute difference) and their sizes shown.
 *  - Load (bench/iiif/tiles.ts, walk.lua): every tile of the standard IIIF grid at every
 *    scale factor 1…64 (2,952 tiles: region x,y,w,h with w,h = 256·s clipped at the edges,
 *    size ceil(w/s),), shuffled with a fixed seed; `wrk -t2 -cC -dDs --timeout 10s -s
 *    walk.lua`, each wrk thread cycling through the list from its own offset (at ≈ 1,500
 *    rps a 10 s run walks the list ≈ 5 times, so "cold" is cold for its first pass only).
 *    walk.lua counts every response that is not a 200 (and empty bodies): a run with any is
 *    printed as INVALID and the bench exits 1 — a server answering errors fast cannot win.
 *  - Cold / warm: for each concurrency (8, then 32) and each server in turn (never both at
 *    once: 2 vCPU), `sync; echo 3 > /proc/sys/vm/drop_caches` (if permitted: said in the
 *    output; thukho's on-disk response cache, $THUKHO_DATA_DIR/cache/iiif, is emptied too,
 *    its pre-cut tiles are not), then the server is started fresh, we wait for a quiet machine
 *    (≤ 15 s), run wrk ("cold"), and run it again at once ("warm"); then the server stops.
 *    After the last warm run, the same process serves info.json: `wrk -t2 -c8 -d5s`.
 *  - Every run line also shows the CPU seconds the server (all its processes), wrk and
 *    everybody else on this shared machine used during the run ("others"); a run in which
 *    others used more than 15 % of the machine is marked "disturbed", and a ratio built on
 *    one is marked "unreliable": re-run when the machine is quiet.
 *  - Readers during ingest (bench/iiif/mixed.ts, issue 20), after the load: one fresh thukho
 *    serve with its workers; a 5 s warm-up walk, then the c=8 walk idle (one window of
 *    --mixed-seconds), then the same walk in consecutive windows from the moment N large TIFFs
 *    start to be uploaded one after another through the API until the embedded workers have
 *    built the last derivative. Prints each window (what the ingest did in it: uploading, or
 *    only the workers building), the whole loaded time (requests/s over all windows, mean
 *    weighted by requests, p99 of the worst window), the ratios (targets: throughput ≥ 0.6×,
 *    p99 ≤ 3× idle), the load average, and when each upload and derivative finished. Its CPU
 *    column counts the server and its workers (one process group).
 *  - Servers are stopped (SIGTERM, then SIGKILL to the process group) on every path,
 *    including errors and Ctrl-C; the bench's BullMQ keys (THUKHO_QUEUE_PREFIX) are deleted
 *    from redis at the end unless --keep.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { checkServer, compareSamples, type CheckResult } from './check.ts';
import { APT, type IipServer, missingTools, startIip, stopIip } from './iip.ts';
import { dropCaches, waitQuiet } from '../machine.ts';
import { groupCpuSeconds, killAllGroups, sleep } from './procs.ts';
import { HEIGHT, prepareSource, type Source, WIDTH } from './source.ts';
import {
  createStaffToken,
  dropQueueKeys,
  ingestMaster,
  passthroughEnv,
  startThukho,
  stopThukho,
  thukhoPaths,
  type ThukhoServer,
  type ThukhoSetup,
  waitForDerivative,
} from './thukho.ts';
import { sampleTiles, SCALE_FACTORS, SEED, shuffled, tileGrid } from './tiles.ts';
import { clean, killWrk, runWrk, type WrkResult } from './wrk.ts';
import { cutTiles, NGINX, NGINX_APT, nginxVersion, startNginx, stopNginx } from './nginx.ts';
import { hashIngestFiles, type IngestSpec, type MixedResult, prepareIngestFiles, startIngest, TARGET_MIXED_P99, TARGET_MIXED_RPS, within } from './mixed.ts';

// ---------------------------------------------------------------------------------------
// Settings

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const strArg = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const numArg = (name: string): number | undefined => {
  const v = strArg(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number`);
  return n;
};
const known = ['quick', 'keep', 'only', 'reuse-thukho', 'derivative-timeout', 'seconds', 'no-mixed', 'mixed-seconds', 'no-nginx'];
for (const a of args) {
  const name = a.replace(/^--/, '').split('=')[0] ?? '';
  if (!a.startsWith('--') || !known.includes(name)) {
    process.stderr.write(`unknown argument ${a}; options: ${known.map((k) => `--${k}`).join(' ')}\n`);
    process.exit(2);
  }
}
const QUICK = flag('quick');
const KEEP = flag('keep');
const ONLY = strArg('only');
if (ONLY !== undefined && ONLY !== 'iip' && ONLY !== 'thukho' && ONLY !== 'mixed') throw new Error('--only=iip, --only=thukho or --only=mixed');
const RUN_IIP = ONLY === undefined || ONLY === 'iip';
const RUN_THUKHO = ONLY !== 'iip';
/** --only=mixed: thukho's readers during ingest alone, not the cold/warm comparison. */
const RUN_LOAD = ONLY !== 'mixed';
const RUN_MIXED = RUN_THUKHO && !flag('no-mixed');
/** The machine's limit: nginx serving thukho's own tile bytes as static files (needs thukho's half). */
const RUN_NGINX = RUN_THUKHO && RUN_LOAD && !flag('no-nginx');
const MIXED_SECONDS = Math.max(1, Math.round(numArg('mixed-seconds') ?? 10));
/** Loaded windows at most (the ingest is waited for after them). */
const MIXED_MAX_WINDOWS = 30;
const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} wants a positive number`);
  return n;
};
const INGEST: IngestSpec = { files: Math.round(envInt('THUKHO_BENCH_INGEST_FILES', 4)), mb: envInt('THUKHO_BENCH_INGEST_MB', QUICK ? 25 : 100) };
const REUSE = strArg('reuse-thukho');
const DERIVATIVE_TIMEOUT_MS = (numArg('derivative-timeout') ?? 10) * 60_000;
const SECONDS = Math.max(1, Math.round(numArg('seconds') ?? (QUICK ? 5 : 10)));
const CONCURRENCY = QUICK ? [8] : [8, 32];
const THREADS = 2;
const INFO_SECONDS = 5;
const WRK_TIMEOUT_S = 10;
const TARGET_RPS = 1.0;
const TARGET_P99 = 1.0;
/** thukho / nginx throughput, at c=32 warm (issue 20). */
const TARGET_NGINX_RPS = 0.5;
const CACHE = join(os.tmpdir(), 'thukho-bench-iiif');

const log = (line = '') => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 1) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

// ---------------------------------------------------------------------------------------
// Types

type Side = 'IIPImage' | 'thukho' | 'nginx';
type Cache = 'cold' | 'warm';

interface Run {
  side: Side;
  c: number;
  cache: Cache;
  r: WrkResult;
}

interface Paths {
  tilePath(region: string, size: string): string;
  infoPath: string;
}

interface Started {
  baseUrl: string;
  pgids: number[];
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Start-up checks and shared state

// Without IIPImage, wrk is all the bench needs.
const missing = missingTools().filter((m) => RUN_IIP || m === 'wrk');
if (RUN_NGINX && !existsSync(NGINX)) missing.push(`nginx (${NGINX}; or skip it with --no-nginx)`);
if (missing.length) {
  log(`missing: ${missing.join(', ')}`);
  log(`install with: ${APT}${RUN_NGINX ? `; ${NGINX_APT}` : ''}`);
  process.exit(2);
}

const version = (cmd: string, argv: string[]) => (spawnSync(cmd, argv, { encoding: 'utf8' }).stdout ?? '').split('\n')[0]?.trim() ?? '?';
const pkgVersion = (pkg: string) => spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' }).stdout?.trim() || '?';
const cpus = os.cpus();
log(
  `thukho IIIF bench${QUICK ? ' (--quick)' : ''}${ONLY ? ` (--only=${ONLY})` : ''}: ${RUN_IIP ? `thukho vs IIPImage ${pkgVersion('iipimage-server')} (${cpus.length} × iipsrv.fcgi behind lighttpd ${pkgVersion('lighttpd')})` : 'thukho alone'}, ${version('wrk', ['-v']).replace(/\s*Copyright.*/, '')}`,
);
if (RUN_NGINX) log(`machine's limit: nginx ${nginxVersion()} (${cpus.length} workers, sendfile, open_file_cache) serving thukho's own tile bytes as static files`);
log(`machine: ${cpus[0]?.model ?? '?'} × ${cpus.length}, ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}`);
const CAN_DROP = dropCaches();
log(
  CAN_DROP
    ? 'page cache: dropping is permitted — every cold run starts after `sync; echo 3 > /proc/sys/vm/drop_caches` and a fresh server process'
    : 'page cache: dropping is NOT permitted (not root?) — "cold" means a fresh server process only; the OS page cache stays warm',
);
const pass = passthroughEnv();
if (Object.keys(pass).length) log(`passed to thukho serve: ${Object.entries(pass).map(([k, v]) => `${k}=${v}`).join(' ')}`);
log();

mkdirSync(join(CACHE, 'runs'), { recursive: true });
const runDir = mkdtempSync(join(CACHE, 'runs', 'run-'));
const live: Started[] = [];
let queuePrefix: string | undefined;
let interrupted = false;

function cleanupSync(): void {
  killWrk();
  killAllGroups();
  if (!KEEP) rmSync(runDir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`\n${sig}: stopping the servers…`);
    cleanupSync();
    const prefix = queuePrefix;
    const done = () => process.exit(130);
    setTimeout(done, 3000).unref();
    if (prefix && !KEEP && !REUSE) void dropQueueKeys(prefix).catch(() => 0).finally(done);
    else done();
  });
}

async function withServer<T>(start: () => Promise<Started>, fn: (s: Started) => Promise<T>): Promise<T> {
  const s = await start();
  live.push(s);
  try {
    return await fn(s);
  } finally {
    await s.stop();
    live.splice(live.indexOf(s), 1);
  }
}

// ---------------------------------------------------------------------------------------
// Output helpers

const HEADER = `${'server'.padEnd(9)} ${'c'.padStart(3)} ${'cache'.padEnd(5)} ${'rps'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'non-2xx'.padStart(8)} ${'sock err'.padStart(8)} ${'KB/resp'.padStart(8)} ${'requests'.padStart(9)}  CPU s: server / wrk / others`;

function row(run: Run): string {
  const r = run.r;
  const e = r.socketErrors;
  const sock = e.connect + e.read + e.write + e.timeout;
  const bad = r.non200 + r.empty;
  const flagText = clean(r) ? '' : `   INVALID (${r.non200} non-200${r.firstBad !== '-' ? `, first ${r.firstBad}` : ''}, ${r.empty} empty, socket errors ${JSON.stringify(e)})`;
  const busy = disturbed(r) ? `  disturbed: others used ${fmt(100 * othersShare(r), 0)} % of the CPU` : '';
  return `${run.side.padEnd(9)} ${String(run.c).padStart(3)} ${run.cache.padEnd(5)} ${fmt(r.rps, 0).padStart(8)} ${fmt(r.p50, 2).padStart(8)} ${fmt(r.p99, 2).padStart(8)} ${fmt(r.max, 1).padStart(8)} ${String(bad).padStart(8)} ${String(sock).padStart(8)} ${fmt(r.bytes / Math.max(1, r.requests) / 1024, 1).padStart(8)} ${String(r.requests).padStart(9)}  ${fmt(r.serverCpu, 1)} / ${fmt(r.wrkCpu, 1)} / ${fmt(r.othersCpu, 1)}${flagText}${busy}`;
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/** Share of the machine's CPU (all cores, the run's wall time) that other processes used. */
const othersShare = (r: WrkResult) => r.othersCpu / (r.seconds * cpus.length);
/** Above this, a run competed with somebody else's work for the CPU: its figures are marked. */
const DISTURBED = 0.15;
const disturbed = (r: WrkResult) => othersShare(r) > DISTURBED;

interface MixedWindow {
  r: WrkResult;
  /** Seconds since the ingest began. */
  from: number;
  to: number;
  /** Uploads answered and derivatives built by the window's end. */
  uploads: number;
  derived: number;
  load: number;
}

/** Waits (up to `maxSeconds`) until the process groups use less than a tenth of a core over 3 s; returns the cores they used last. */
async function waitGroupQuiet(pgids: number[], maxSeconds: number): Promise<number> {
  const cpu = () => pgids.reduce((n, g) => n + groupCpuSeconds(g), 0);
  let used = 1;
  for (const end = Date.now() + maxSeconds * 1000; Date.now() < end; ) {
    const c0 = cpu();
    await sleep(3000);
    used = (cpu() - c0) / 3;
    if (used < 0.1) break;
  }
  return used;
}

function windowRow(w: MixedWindow, files: number): string {
  const phase = w.uploads < files ? 'uploading' : w.derived < files ? 'workers building' : 'ingest done';
  return `${fmt(w.from, 0).padStart(4)}–${fmt(w.to, 0).padEnd(4)} s ${phase.padEnd(16)} ${fmt(w.r.rps, 0).padStart(7)} rps  mean ${fmt(w.r.mean, 2).padStart(6)} ms  p99 ${fmt(w.r.p99, 2).padStart(7)} ms  max ${fmt(w.r.max, 1).padStart(7)} ms  uploads ${w.uploads}/${files}, derivatives ${w.derived}/${files}  cores: server ${fmt((w.r.serverCpu - w.r.workersCpu) / w.r.seconds, 2)}, workers ${fmt(w.r.workersCpu / w.r.seconds, 2)}, wrk ${fmt(w.r.wrkCpu / w.r.seconds, 2)}, others ${fmt(w.r.othersCpu / w.r.seconds, 2)}  load avg ${fmt(w.load, 2)}${clean(w.r) ? '' : '  INVALID'}`;
}

/** Consecutive wrk runs as one: requests/s over all, mean weighted by requests, p99 and max of the worst run (percentiles do not add up). */
function combine(rs: WrkResult[]): WrkResult {
  const sum = (f: (r: WrkResult) => number) => rs.reduce((n, r) => n + f(r), 0);
  const requests = sum((r) => r.requests);
  const seconds = sum((r) => r.seconds);
  const worst = (f: (r: WrkResult) => number) => Math.max(...rs.map(f));
  const first = rs[0] as WrkResult;
  return {
    ...first,
    requests,
    seconds,
    bytes: sum((r) => r.bytes),
    rps: requests / seconds,
    mean: sum((r) => r.mean * r.requests) / requests,
    p50: sum((r) => r.p50 * r.requests) / requests,
    p90: worst((r) => r.p90),
    p99: worst((r) => r.p99),
    max: worst((r) => r.max),
    non200: sum((r) => r.non200),
    empty: sum((r) => r.empty),
    firstBad: rs.find((r) => r.firstBad !== '-')?.firstBad ?? '-',
    socketErrors: {
      connect: sum((r) => r.socketErrors.connect),
      read: sum((r) => r.socketErrors.read),
      write: sum((r) => r.socketErrors.write),
      timeout: sum((r) => r.socketErrors.timeout),
    },
    serverCpu: sum((r) => r.serverCpu),
    wrkCpu: sum((r) => r.wrkCpu),
    workersCpu: sum((r) => r.workersCpu),
    othersCpu: sum((r) => r.othersCpu),
  };
}

// ---------------------------------------------------------------------------------------
// Main

let exitCode = 0;
const runs: Run[] = [];
const infoRuns = new Map<Side, WrkResult>();
let source: Source | undefined;
let setup: ThukhoSetup | undefined;
let thukhoProblem: string | undefined = RUN_THUKHO ? undefined : 'not run (--only=iip)';
let iipProblem: string | undefined = RUN_IIP ? undefined : `not run (--only=${ONLY})`;
let nginxProblem: string | undefined = RUN_NGINX ? undefined : 'not run';
const checks = new Map<Side, CheckResult>();
let mixed: MixedResult | undefined;
let mixedProblem: string | undefined;

try {
  // ---- source
  source = await prepareSource(CACHE, { retime: !QUICK, log });
  const src = source;
  const grid = tileGrid(WIDTH, HEIGHT);
  const order = shuffled(grid, SEED);
  const samples = sampleTiles(grid, order, 20);
  log(`load: ${grid.length.toLocaleString('en-US')} tiles (scale factors ${SCALE_FACTORS.join(', ')}), shuffled (seed ${SEED}); wrk -t${THREADS} -c${CONCURRENCY.join('|')} -d${SECONDS}s --timeout ${WRK_TIMEOUT_S}s; run dir ${runDir}`);
  log();

  const writePaths = (name: string, p: Paths) => {
    const file = join(runDir, name);
    writeFileSync(file, `${order.map((t) => p.tilePath(...(t.path.split('/') as [string, string]))).join('\n')}\n`);
    return file;
  };
  const writeInfo = (name: string, p: Paths) => {
    const file = join(runDir, name);
    writeFileSync(file, `${p.infoPath}\n`);
    return file;
  };

  // ---- IIPImage
  let iipPaths: Paths | undefined;
  const startIipStarted = async (): Promise<Started> => {
    const s: IipServer = await startIip(src.pyramid, runDir);
    iipPaths = s;
    return { baseUrl: s.baseUrl, pgids: s.groups.map((g) => g.pgid), stop: () => stopIip(s) };
  };

  // ---- thukho: ingest and derivative (the server runs only for this, then stops)
  if (RUN_THUKHO) {
    log('thukho: preparing (staff token, serve, upload, derivative)…');
    try {
      const statePath = (dir: string) => join(dir, 'thukho.json');
      if (REUSE) {
        const dir = resolve(REUSE);
        setup = JSON.parse(readFileSync(statePath(dir), 'utf8')) as ThukhoSetup;
        queuePrefix = setup.queuePrefix;
        log(`  reusing ${dir}: object ${setup.objectId}, file ${setup.fileId}`);
        if (!setup.derivative) {
          const st = setup;
          await withServer(
            async () => {
              const s = await startThukho(st.dataDir, st.queuePrefix, runDir);
              return { baseUrl: s.baseUrl, pgids: [s.group.pgid], stop: () => stopThukho(s), s } as Started & { s: ThukhoServer };
            },
            async (started) => {
              const s = (started as Started & { s: ThukhoServer }).s;
              const d = await waitForDerivative(s, st.token, st.objectId, st.fileId, process.hrtime.bigint(), DERIVATIVE_TIMEOUT_MS, log);
              st.derivative = d.derivative;
              writeFileSync(statePath(dir), JSON.stringify(st, null, 2));
              log('  derivative present now (its time is unknown: the run that uploaded it did not see it finish)');
            },
          );
        }
      } else {
        const dataDir = join(runDir, 'thukho-data');
        mkdirSync(dataDir, { recursive: true });
        queuePrefix = `bench-iiif-${randomBytes(4).toString('hex')}`;
        const prefix = queuePrefix;
        const token = createStaffToken(dataDir, prefix);
        log(`  data dir ${dataDir}, THUKHO_QUEUE_PREFIX=${prefix}, staff token from \`thukho users add\``);
        await withServer(
          async () => {
            const s = await startThukho(dataDir, prefix, runDir);
            return { baseUrl: s.baseUrl, pgids: [s.group.pgid], stop: () => stopThukho(s), s } as Started & { s: ThukhoServer };
          },
          async (started) => {
            const s = (started as Started & { s: ThukhoServer }).s;
            const ing = await ingestMaster(s, token, src.master, log);
            setup = { dataDir, queuePrefix: prefix, token, objectId: ing.objectId, fileId: ing.fileId, uploadSeconds: ing.uploadSeconds, derivativeSeconds: null, derivative: null };
            writeFileSync(statePath(runDir), JSON.stringify(setup, null, 2));
            log(`  waiting for files[0].derivative (timeout ${DERIVATIVE_TIMEOUT_MS / 60_000} min)…`);
            const d = await waitForDerivative(s, token, ing.objectId, ing.fileId, ing.uploadedAt, DERIVATIVE_TIMEOUT_MS, log);
            setup.derivativeSeconds = d.seconds;
            setup.derivative = d.derivative;
            writeFileSync(statePath(runDir), JSON.stringify(setup, null, 2));
            log(`  derivative present ${fmt(d.seconds, 1)} s after the upload completed: ${JSON.stringify({ ...d.derivative, masterSha512: undefined, sizes: undefined })}`);
          },
        );
      }
    } catch (err) {
      thukhoProblem = (err as Error).message;
      log(`  thukho half cannot run: ${thukhoProblem}`);
    }
    log();
  }
  const thukhoReady = () => thukhoProblem === undefined && setup?.derivative;
  const tPaths = setup ? thukhoPaths(setup.fileId) : undefined;
  const startThukhoStarted = async (): Promise<Started> => {
    const st = setup as ThukhoSetup;
    const s = await startThukho(st.dataDir, st.queuePrefix, runDir);
    return { baseUrl: s.baseUrl, pgids: [s.group.pgid], stop: () => stopThukho(s) };
  };

  // ---- the machine's limit: nginx over thukho's own bytes for every URL of the walk
  let nginxRoot: string | undefined;
  if (RUN_NGINX && thukhoReady() && tPaths) {
    // Beside thukho's data dir: a --reuse-thukho run re-uses the tree too.
    const root = join(dirname((setup as ThukhoSetup).dataDir), 'nginx-root');
    const done = join(root, '.complete');
    try {
      if (existsSync(done)) log(`nginx: reusing the tiles cut earlier in ${root}`);
      else {
        rmSync(root, { recursive: true, force: true });
        const all = [...order.map((t) => tPaths.tilePath(...(t.path.split('/') as [string, string]))), tPaths.infoPath];
        log(`nginx: writing thukho's answer to each of the ${all.length.toLocaleString('en-US')} URLs of the walk (and info.json) under ${root}…`);
        const cut = await withServer(startThukhoStarted, (s) => cutTiles(s.baseUrl, all, root));
        writeFileSync(done, '');
        log(`  ${cut.files.toLocaleString('en-US')} files, ${fmt(cut.bytes / 1e6, 1)} MB`);
      }
      nginxRoot = root;
    } catch (err) {
      nginxProblem = (err as Error).message;
      log(`  nginx half cannot run: ${nginxProblem.split('\n')[0]}`);
    }
    log();
  } else if (RUN_NGINX) nginxProblem = 'thukho is not ready: nothing to cut';
  const startNginxStarted = async (): Promise<Started> => {
    const s = await startNginx(nginxRoot as string, runDir);
    return { baseUrl: s.baseUrl, pgids: s.groups.map((g) => g.pgid), stop: () => stopNginx(s) };
  };

  // ---- like with like
  log('like-with-like check: 20 tiles and info.json from each server (fresh processes, stopped afterwards)…');
  const showCheck = (side: Side, c: CheckResult) => {
    const avg = c.samples.length ? c.samples.reduce((n, s) => n + s.bytes, 0) / c.samples.length / 1024 : NaN;
    log(`  ${side.padEnd(9)} ${c.ok ? 'OK' : 'FAILED'}: ${c.samples.length}/${samples.length} tiles decoded, mean ${fmt(avg, 1)} KB/tile; info.json ${c.info ? `${c.info.width} × ${c.info.height}, tiles ${c.info.tiles}` : 'n/a'}`);
    for (const p of c.problems.slice(0, 8)) log(`      ✗ ${p}`);
    if (c.problems.length > 8) log(`      … and ${c.problems.length - 8} more`);
  };
  if (RUN_IIP) {
    const c = await withServer(startIipStarted, (s) => checkServer(s.baseUrl, iipPaths as Paths, samples, { width: WIDTH, height: HEIGHT }));
    checks.set('IIPImage', c);
    showCheck('IIPImage', c);
    if (!c.ok) iipProblem = `IIPImage failed the like-with-like check: ${c.problems[0]}`;
  }
  if (RUN_THUKHO && RUN_LOAD && thukhoReady()) {
    const c = await withServer(startThukhoStarted, (s) => checkServer(s.baseUrl, tPaths as Paths, samples, { width: WIDTH, height: HEIGHT }));
    checks.set('thukho', c);
    showCheck('thukho', c);
    if (!c.ok) thukhoProblem = `thukho failed the like-with-like check: ${c.problems[0]}`;
  }
  if (nginxRoot && tPaths) {
    const c = await withServer(startNginxStarted, (s) => checkServer(s.baseUrl, tPaths as Paths, samples, { width: WIDTH, height: HEIGHT }));
    checks.set('nginx', c);
    showCheck('nginx', c);
    if (!c.ok) nginxProblem = `nginx failed the like-with-like check: ${c.problems[0]}`;
  }
  if (checks.size === 0) log('  nothing to check: no server is ready');
  const ci = checks.get('IIPImage');
  const ct = checks.get('thukho');
  if (ci && ct) {
    const cmp = compareSamples(ci.samples, ct.samples);
    log(`  same picture? mean absolute difference over ${cmp.pairs} tile pairs: ${fmt(cmp.mean, 2)} / 255 (worst ${fmt(cmp.worst, 2)} at ${cmp.worstTile})${cmp.worst > 12 ? '  ← large: check that both serve the same image and region' : ''}`);
  }
  log();

  // ---- load
  const sides: Array<{ side: Side; ok: () => boolean; start: () => Promise<Started>; paths: () => Paths }> = [];
  if (RUN_IIP) sides.push({ side: 'IIPImage', ok: () => iipProblem === undefined, start: startIipStarted, paths: () => iipPaths as Paths });
  if (nginxRoot) sides.push({ side: 'nginx', ok: () => nginxProblem === undefined, start: startNginxStarted, paths: () => tPaths as Paths });
  if (RUN_THUKHO && RUN_LOAD) sides.push({ side: 'thukho', ok: () => thukhoProblem === undefined && Boolean(setup?.derivative), start: startThukhoStarted, paths: () => tPaths as Paths });

  const lastC = CONCURRENCY[CONCURRENCY.length - 1] as number;
  for (const c of CONCURRENCY) {
    for (const sd of sides) {
      if (!sd.ok()) continue;
      // thukho keeps rendered responses (not the pre-cut tiles) on disk across restarts: empty it too.
      const thukhoCache = sd.side === 'thukho' && setup ? join(setup.dataDir, 'cache', 'iiif') : undefined;
      if (thukhoCache) rmSync(thukhoCache, { recursive: true, force: true });
      if (CAN_DROP) dropCaches();
      log(`${sd.side}, c=${c}: ${CAN_DROP ? 'page cache dropped, ' : ''}${thukhoCache ? 'response cache emptied, ' : ''}fresh server…`);
      await withServer(sd.start, async (s) => {
        const p = sd.paths();
        const pathsFile = writePaths(`${sd.side}-paths.txt`, p);
        for (const cache of ['cold', 'warm'] as const) {
          if (cache === 'cold') {
            // A fresh thukho starts its workers (five node processes loading their modules):
            // measured at once, a busy machine would time their start-up, not the tile serving.
            const own = await waitGroupQuiet(s.pgids, 60);
            if (own >= 0.1) log(`    (${sd.side} still uses ${fmt(own, 2)} cores after 60 s; measuring anyway)`);
            const busy = await waitQuiet(15);
            if (busy >= 0.15) log(`    (machine still ${fmt(100 * busy, 0)} % busy after waiting 15 s; measuring anyway)`);
          }
          const r = await runWrk({ baseUrl: s.baseUrl, pathsFile, threads: THREADS, connections: c, seconds: SECONDS, timeoutSeconds: WRK_TIMEOUT_S, serverGroups: s.pgids, workDir: runDir });
          const run: Run = { side: sd.side, c, cache, r };
          runs.push(run);
          log(`  ${row(run)}`);
          if (!clean(r)) {
            exitCode = 1;
            log(`  !!! ${sd.side} answered ${r.non200} non-200 responses (first: ${r.firstBad}), ${r.empty} empty bodies, socket errors ${JSON.stringify(r.socketErrors)}: this run is INVALID`);
          }
        }
        if (c === lastC) {
          const infoFile = writeInfo(`${sd.side}-info.txt`, p);
          const r = await runWrk({ baseUrl: s.baseUrl, pathsFile: infoFile, threads: THREADS, connections: 8, seconds: INFO_SECONDS, timeoutSeconds: WRK_TIMEOUT_S, serverGroups: s.pgids, workDir: runDir });
          infoRuns.set(sd.side, r);
          log(`  info.json (c=8, ${INFO_SECONDS} s): ${fmt(r.rps, 0)} rps, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms${clean(r) ? '' : `  INVALID: ${r.non200} non-200 (first ${r.firstBad})`}`);
          if (!clean(r)) exitCode = 1;
        }
      });
      await sleep(500);
    }
  }

  // ---- readers during ingest (issue 20)
  if (RUN_MIXED && thukhoReady() && tPaths) {
    const st = setup as ThukhoSetup;
    log(`readers during ingest: ${INGEST.files} × ${INGEST.mb} MB uncompressed TIFFs…`);
    try {
      const files = await prepareIngestFiles(CACHE, INGEST, log);
      await hashIngestFiles(files);
      const pathsFile = writePaths('thukho-mixed-paths.txt', tPaths);
      await withServer(
        async () => {
          const s = await startThukho(st.dataDir, st.queuePrefix, runDir);
          return { baseUrl: s.baseUrl, pgids: [s.group.pgid], stop: () => stopThukho(s), s } as Started & { s: ThukhoServer };
        },
        async (started) => {
          const s = (started as Started & { s: ThukhoServer }).s;
          const walk = (seconds: number) =>
            runWrk({ baseUrl: s.baseUrl, pathsFile, threads: THREADS, connections: 8, seconds, timeoutSeconds: WRK_TIMEOUT_S, serverGroups: s.groups.map((g) => g.pgid), workDir: runDir });
          // Warm, as the loaded run will be: the idle figure is not a cold one.
          await walk(Math.min(5, MIXED_SECONDS));
          // Idle means our own workers too: jobs left by an earlier run (OCR of its pages, a
          // re-used data dir's queue) would otherwise be measured as "idle".
          const own = await waitGroupQuiet(s.groups.map((g) => g.pgid), 180);
          if (own >= 0.1) log(`    (thukho's workers still use ${fmt(own, 2)} cores after 180 s; measuring anyway: the idle figure includes them)`);
          const busy = await waitQuiet(15);
          if (busy >= 0.15) log(`    (machine still ${fmt(100 * busy, 0)} % busy after waiting 15 s; measuring anyway)`);
          const loadIdle = os.loadavg()[0] ?? NaN;
          const idle = await walk(MIXED_SECONDS);
          log(`  idle:          ${fmt(idle.rps, 0)} rps, mean ${fmt(idle.mean, 2)} ms, p99 ${fmt(idle.p99, 2)} ms, max ${fmt(idle.max, 1)} ms (load average ${fmt(loadIdle, 2)})`);
          const loadDuring = os.loadavg()[0] ?? NaN;
          const t0 = process.hrtime.bigint();
          const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
          const progress = startIngest(s, st.token, files, DERIVATIVE_TIMEOUT_MS);
          let settled = false;
          progress.done.then(
            () => (settled = true),
            () => (settled = true),
          );
          const windows: MixedWindow[] = [];
          do {
            const from = since();
            const r = await walk(MIXED_SECONDS);
            const to = since();
            const w: MixedWindow = { r, from, to, uploads: within(progress.uploadedAt, to), derived: within(progress.derivedAt, to), load: os.loadavg()[0] ?? NaN };
            windows.push(w);
            log(`  ${windowRow(w, files.length)}`);
            // A window that began with every derivative built would measure an idle server.
          } while (!settled && progress.derivedAt.length + progress.failures.length < files.length && windows.length < MIXED_MAX_WINDOWS);
          const during = combine(windows.map((w) => w.r));
          const windowSeconds = since();
          let allDerivedSeconds: number | null = null;
          try {
            await progress.done;
            if (progress.derivedAt.length === files.length) allDerivedSeconds = Math.max(...progress.derivedAt);
          } catch (err) {
            mixedProblem = `the ingest failed: ${(err as Error).message}`;
            progress.stop();
          }
          mixed = { spec: INGEST, idle, during, windows, loadIdle, loadDuring, windowSeconds, progress, allDerivedSeconds };
          if (!clean(idle) || !clean(during)) exitCode = 1;
        },
      );
    } catch (err) {
      mixedProblem = (err as Error).message;
    }
    if (mixedProblem) log(`  readers during ingest: ${mixedProblem.split('\n')[0]}`);
    log();
  }
} catch (err) {
  exitCode = 1;
  log();
  log(`ERROR: ${(err as Error).stack ?? String(err)}`);
} finally {
  for (const s of [...live].reverse()) await s.stop().catch(() => {});
  killAllGroups();
}

// ---------------------------------------------------------------------------------------
// Report

log();
log('='.repeat(118));
log(`RESULTS  ${WIDTH.toLocaleString('en-US')} × ${HEIGHT.toLocaleString('en-US')} px source; 2,952 distinct IIIF tiles (scale factors 1…64) shuffled; wrk -t${THREADS} -d${SECONDS}s; cold = ${CAN_DROP ? 'page cache dropped + ' : ''}fresh server process`);
log('-'.repeat(118));
if (RUN_LOAD) log(HEADER);
for (const c of RUN_LOAD ? CONCURRENCY : []) {
  for (const side of ['IIPImage', 'nginx', 'thukho'] as const) {
    for (const cache of ['cold', 'warm'] as const) {
      const run = runs.find((x) => x.side === side && x.c === c && x.cache === cache);
      if (run) log(row(run));
      else if ((side === 'IIPImage' && RUN_IIP) || (side === 'thukho' && RUN_THUKHO) || (side === 'nginx' && RUN_NGINX)) log(`${side.padEnd(9)} ${String(c).padStart(3)} ${cache.padEnd(5)}   not measured`);
    }
  }
}
log('-'.repeat(118));
if (RUN_LOAD) log(`ratios thukho / IIPImage   (targets: throughput ≥ ${fmt(TARGET_RPS, 1)}×, p99 ≤ ${fmt(TARGET_P99, 1)}×)`);
for (const c of RUN_LOAD ? CONCURRENCY : []) {
  for (const cache of ['cold', 'warm'] as const) {
    const i = runs.find((x) => x.side === 'IIPImage' && x.c === c && x.cache === cache);
    const t = runs.find((x) => x.side === 'thukho' && x.c === c && x.cache === cache);
    const label = `  c=${String(c).padEnd(2)} ${cache}:`;
    if (!i || !t) {
      log(`${label} n/a (${!t ? 'thukho' : 'IIPImage'} not measured)`);
      continue;
    }
    if (!clean(i.r) || !clean(t.r)) {
      log(`${label} INVALID (${!clean(t.r) ? 'thukho' : 'IIPImage'} answered non-200s or failed sockets)`);
      continue;
    }
    const rr = t.r.rps / i.r.rps;
    const pr = t.r.p99 / i.r.p99;
    // Two decimals, or three when two would hide which side of the target it is.
    const ratio = (x: number, target: number) => fmt(x, Math.abs(x - target) < 0.01 ? 3 : 2);
    const noisy = [i, t].filter((x) => disturbed(x.r)).map((x) => x.side);
    log(
      `${label} throughput ${ratio(rr, TARGET_RPS)}× ${verdict(rr >= TARGET_RPS)}   p99 ${ratio(pr, TARGET_P99)}× ${verdict(pr <= TARGET_P99)}   (rps ${fmt(t.r.rps, 0)} vs ${fmt(i.r.rps, 0)}; p99 ${fmt(t.r.p99, 2)} vs ${fmt(i.r.p99, 2)} ms)` +
        `${noisy.length ? `  — unreliable: ${noisy.join(' and ')} run disturbed by other work on the machine` : ''}`,
    );
  }
}
if (RUN_NGINX) {
  log('-'.repeat(118));
  log(`ratios thukho / nginx, the machine's limit for the same bytes   (target: throughput ≥ ${fmt(TARGET_NGINX_RPS, 1)}× at c=32 warm; load average now ${os.loadavg().map((x) => fmt(x, 2)).join(' ')})`);
  for (const c of CONCURRENCY) {
    for (const cache of ['cold', 'warm'] as const) {
      const n = runs.find((x) => x.side === 'nginx' && x.c === c && x.cache === cache);
      const t = runs.find((x) => x.side === 'thukho' && x.c === c && x.cache === cache);
      const label = `  c=${String(c).padEnd(2)} ${cache}:`;
      if (!n || !t) {
        log(`${label} n/a (${!t ? 'thukho' : `nginx: ${nginxProblem ?? 'not measured'}`})`);
        continue;
      }
      if (!clean(n.r) || !clean(t.r)) {
        log(`${label} INVALID (${!clean(t.r) ? 'thukho' : 'nginx'} answered non-200s or failed sockets)`);
        continue;
      }
      const rr = t.r.rps / n.r.rps;
      const judged = c === 32 && cache === 'warm';
      const noisy = [n, t].filter((x) => disturbed(x.r)).map((x) => x.side);
      log(
        `${label} throughput ${fmt(rr, 2)}×${judged ? ` ${verdict(rr >= TARGET_NGINX_RPS)}` : ''}   p99 ${fmt(t.r.p99 / n.r.p99, 2)}×   (rps ${fmt(t.r.rps, 0)} vs ${fmt(n.r.rps, 0)}; p99 ${fmt(t.r.p99, 2)} vs ${fmt(n.r.p99, 2)} ms; CPU s ${fmt(t.r.serverCpu, 1)} vs ${fmt(n.r.serverCpu, 1)}; wrk ${fmt(t.r.wrkCpu, 1)} vs ${fmt(n.r.wrkCpu, 1)})` +
          `${noisy.length ? `  — unreliable: ${noisy.join(' and ')} run disturbed by other work on the machine` : ''}`,
      );
    }
  }
  if (nginxProblem) log(`  nginx: ${nginxProblem.split('\n')[0]}`);
}
log('-'.repeat(118));
log('pyramid of one 140-megapixel TIFF (10,000 × 14,000, 420 MB uncompressed):');
if (source) {
  log(`  plain sharp, tiled pyramidal JPEG-q85 TIFF (IIPImage's copy): ${fmt(source.pyramidSeconds, 1)} s → ${fmt(source.pyramidBytes / 1e6, 1)} MB${source.pyramidFresh ? '' : ` (cached figure, measured ${source.pyramidMeasuredAt})`}`);
}
if (setup?.derivativeSeconds != null) {
  const d = setup.derivative ?? {};
  const pyr = d.pyramid as { size?: number; levels?: number } | undefined;
  log(
    `  thukho, upload complete → files[0].derivative: ${fmt(setup.derivativeSeconds, 1)} s (pyramid ${pyr?.size !== undefined ? `${fmt(pyr.size / 1e6, 1)} MB, ` : ''}${pyr?.levels ?? '?'} levels, ${d.tiles ?? '?'} pre-cut tiles${source ? `; ${fmt(setup.derivativeSeconds / source.pyramidSeconds, 1)}× sharp's time` : ''}); the upload itself ${fmt(setup.uploadSeconds, 1)} s${REUSE ? ' — measured by the run re-used with --reuse-thukho' : ''}`,
  );
} else if (setup?.derivative) log('  thukho: derivative made during an earlier run (--reuse-thukho): time unknown');
else log(`  thukho: n/a — ${thukhoProblem?.split('\n')[0] ?? 'no derivative'}`);
log('-'.repeat(118));
if (RUN_MIXED) {
  log(`readers during ingest (thukho, c=8, wrk -d${MIXED_SECONDS}s; ${INGEST.files} × ${INGEST.mb} MB TIFFs uploaded through the API, derivatives by the embedded workers)   targets: throughput ≥ ${fmt(TARGET_MIXED_RPS, 1)}×, p99 ≤ ${fmt(TARGET_MIXED_P99, 0)}× idle`);
  const workersEnv = Object.entries(passthroughEnv()).filter(([k]) => !k.startsWith('THUKHO_IIIF_'));
  log(`  workers: ${workersEnv.length ? workersEnv.map(([k, v]) => `${k}=${v}`).join(' ') : 'defaults (THUKHO_WORKER_NICE=10, THUKHO_WORKER_SCHEDULING=idle, THUKHO_DERIVATIVE_THREADS=cores−1, one derivative build at a time)'}`);
  if (mixed) {
    const m = mixed;
    const line = (label: string, r: WrkResult, load: number) =>
      `  ${label.padEnd(14)} ${fmt(r.rps, 0).padStart(8)} rps  mean ${fmt(r.mean, 2).padStart(6)} ms  p50 ${fmt(r.p50, 2).padStart(6)} ms  p99 ${fmt(r.p99, 2).padStart(7)} ms  max ${fmt(r.max, 1).padStart(7)} ms  CPU s server+workers ${fmt(r.serverCpu, 1)}, others ${fmt(r.othersCpu, 1)}  load avg ${fmt(load, 2)}${clean(r) ? '' : `  INVALID (${r.non200} non-200, first ${r.firstBad})`}`;
    log(line('idle', m.idle, m.loadIdle));
    for (const w of m.windows) log(`    ${windowRow(w, m.spec.files)}`);
    log(line('during ingest', m.during, m.loadDuring));
    const rr = m.during.rps / m.idle.rps;
    const pr = m.during.p99 / m.idle.p99;
    const noisy = disturbed(m.idle) ? '  — unreliable: the idle run was disturbed by other work on the machine' : '';
    log(`  (during ingest: ${m.windows.length} windows; rps over all of them, mean weighted by requests, p99 and max of the worst window)`);
    log(`  ratios during / idle: throughput ${fmt(rr, 2)}× ${verdict(rr >= TARGET_MIXED_RPS)}   p99 ${fmt(pr, 2)}× ${verdict(pr <= TARGET_MIXED_P99)}   mean ${fmt(m.during.mean / m.idle.mean, 2)}×${noisy}`);
    const p = m.progress;
    log(
      `  ingest: within the ${fmt(m.windowSeconds, 1)} s under load ${within(p.uploadedAt, m.windowSeconds)}/${m.spec.files} uploads answered and ${within(p.derivedAt, m.windowSeconds)}/${m.spec.files} derivatives built; ` +
        (m.allDerivedSeconds !== null ? `all ${m.spec.files} derivatives ${fmt(m.allDerivedSeconds, 1)} s after the first upload began` : `${p.derivedAt.length}/${m.spec.files} derivatives before the timeout`) +
        `${p.failures.length ? `; failures: ${p.failures.join('; ')}` : ''}`,
    );
    if (p.uploadedAt.length) log(`  uploads answered at ${p.uploadedAt.map((x) => `${fmt(x, 1)} s`).join(', ')}; derivatives at ${p.derivedAt.map((x) => `${fmt(x, 1)} s`).join(', ') || 'none'}`);
  } else log(`  n/a — ${mixedProblem?.split('\n')[0] ?? (thukhoProblem ? thukhoProblem.split('\n')[0] : 'not measured')}`);
  log('-'.repeat(118));
}
const ii = infoRuns.get('IIPImage');
const ti = infoRuns.get('thukho');
log(
  `info.json p50 (wrk -c8 -d${INFO_SECONDS}s): IIPImage ${ii ? `${fmt(ii.p50, 2)} ms (${fmt(ii.rps, 0)} rps)` : 'n/a'}, thukho ${ti ? `${fmt(ti.p50, 2)} ms (${fmt(ti.rps, 0)} rps)` : 'n/a'}${ii && ti ? `; ratio ${fmt(ti.p50 / ii.p50, 2)}×` : ''}`,
);
if (iipProblem) log(`IIPImage: ${iipProblem}`);
if (mixedProblem) exitCode = 1;
if (thukhoProblem && RUN_THUKHO) {
  log(`thukho: ${thukhoProblem.split('\n')[0]}`);
  exitCode = 1;
}
log('='.repeat(118));

if (queuePrefix && !KEEP && !REUSE) {
  const n = await dropQueueKeys(queuePrefix).catch(() => -1);
  if (n > 0) log(`removed ${n} redis keys ${queuePrefix}:*`);
}
if (KEEP) {
  log(`kept ${runDir}${setup ? ` (thukho data: ${setup.dataDir}; re-use with --reuse-thukho=${runDir})` : ''}`);
} else rmSync(runDir, { recursive: true, force: true });
try {
  rmdirSync(join(CACHE, 'runs')); // only when empty: other kept runs stay
} catch {
  /* not empty */
}
process.exit(exitCode);

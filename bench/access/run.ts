/**
 * What access events cost a reader: tile throughput of `thukho serve` with access events on
 * (THUKHO_ACCESS_EVENTS=on, the default) and off, under the same load, and the ratio on/off
 * against the target (≥ 0.95×); and how many access events per second reach the log.
 *
 *   npm run bench:access                       8 rounds × (on, off), 8 s each, 16 concurrent
 *   npm run bench:access -- --seconds=10 --rounds=1 --concurrency=8
 *
 * Method.
 *  - One data directory for every run: a staff token (`thukho users add`), a 3,000 × 4,000 px
 *    master (scan-like grey with grain, made by sharp) uploaded through the HTTP API and its
 *    derivative awaited (the pre-cut tile grid), and a small second work whose original the
 *    load downloads.
 *  - The load (from this process, node:http with keep-alive, C requests in flight): every
 *    tile of the standard 256 px grid at scale factors 1…16, shuffled with a fixed seed, with
 *    events mixed in as readers cause them: a manifest every 25 requests, an original download
 *    every 100, a search every 200. Tiles are not events; the manifests, downloads and
 *    searches are, so the on-run exercises the whole events path (buffer, batched appends to
 *    the log, the statistics projection) while tiles are served. Every response must be a 200
 *    with a body, or the run is INVALID.
 *  - Each run: `thukho serve` started fresh with the setting (and THUKHO_OCR=off: no page is
 *    being read by OCR in the background of one run and not the other), 3 s of unmeasured warm-up (tile
 *    caches), a wait for a quiet machine, then the measured run. Rounds alternate the order
 *    (on, off / off, on) so that a drift of the shared machine does not favour one side. This
 *    machine's speed drifts by up to half between runs a minute apart with the same CPU time
 *    used, so the figure is the median of each round's own ratio (its two runs are seconds
 *    apart), shown with the spread of the rounds; the ratio of the medians is shown too. Events/s written: /health's access.written before and after.
 *  - Then, with events on: manifests only for the same time, the events path's capacity
 *    (events/s written, and whether any were dropped).
 *  - Side by side (measureSideBySide): both servers at once on two copies of the data, the
 *    load switching between them every 2 s, so that both see the same machine.
 *  - CPU seconds of the server's process group and of everybody else on this shared machine
 *    are shown; a run where others used more than 15 % of the machine is marked "disturbed".
 *  - Sign-in: a reader account with a password (`thukho users add --password-stdin`), signed in
 *    through the site's form (GET /sign-in for the form token, then the timed POST) SIGN_INS
 *    times, SIGN_IN_CONCURRENCY at once, on an idle server; beside it, the reference: the bare
 *    argon2id verification (@node-rs/argon2, the same hash and costs) in this process, the same
 *    number of times at the same concurrency. The ratio of the p95s is what the HTTP path,
 *    sessions in Redis and throttling add to the hash itself.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { verify } from '@node-rs/argon2';
import sharp from 'sharp';
import { hashPassword } from '../../src/application/passwords.ts';
import { machineBusy, waitQuiet } from '../machine.ts';
import { groupCpuSeconds, killAllGroups, sleep } from '../iiif/procs.ts';
import { addReaderWithPassword, createStaffToken, dropQueueKeys, startThukho, stopThukho, type ThukhoServer, waitForDerivative } from '../iiif/thukho.ts';
import { shuffled, tileGrid } from '../iiif/tiles.ts';

const arg = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return raw === undefined ? fallback : Number(raw);
};
const SECONDS = arg('seconds', 8);
const ROUNDS = arg('rounds', 8);
const CONCURRENCY = arg('concurrency', 16);
const WARMUP_SECONDS = 3;
const WIDTH = 3000;
const HEIGHT = 4000;
const TARGET = 0.95;
const SLICES = arg('slices', 20);
const SLICE_SECONDS = arg('slice-seconds', 2);
const SIGN_INS = arg('sign-ins', 80);
const SIGN_IN_CONCURRENCY = arg('sign-in-concurrency', 4);
const READER = 'bench-reader';
const PASSWORD = 'một câu mật khẩu dài cho phép đo';
/** No OCR worker: reading the uploaded pages would take a core from whichever run comes first. */
const QUIET = { THUKHO_OCR: 'off' };

type Kind = 'tile' | 'manifest' | 'download' | 'search';
interface Load {
  paths: Array<{ kind: Kind; path: string }>;
}

interface RunResult {
  mode: 'on' | 'off' | 'events';
  seconds: number;
  counts: Record<Kind, number>;
  tileRps: number;
  tileP50: number;
  tileP99: number;
  bad: number;
  firstBad: string;
  eventsWritten: number;
  eventsDropped: number;
  serverCpu: number;
  othersShare: number;
}

const log = (s: string) => process.stdout.write(`${s}\n`);

async function api(base: string, token: string, method: string, path: string, body?: Buffer | object): Promise<Record<string, unknown>> {
  const raw = Buffer.isBuffer(body);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
    ...(body === undefined ? {} : { body: raw ? new Uint8Array(body) : JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

async function scanLike(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 214, g: 205, b: 186 }, noise: { type: 'gaussian', mean: 200, sigma: 25 } } })
    .tiff({ compression: 'lzw' })
    .toBuffer();
}

/** Registers the two works, uploads their masters, waits for the big one's tile grid. */
async function prepare(server: ThukhoServer, token: string): Promise<{ big: { objectId: string; fileId: string }; small: { objectId: string; fileId: string } }> {
  const big = await api(server.baseUrl, token, 'POST', '/api/objects', { id: 'dia-ba-bench', title: 'Địa bạ (access bench)' });
  const small = await api(server.baseUrl, token, 'POST', '/api/objects', { id: 'to-roi-bench', title: 'Tờ rời (access bench)' });
  const bigFile = await api(server.baseUrl, token, 'POST', `/api/objects/${big.id as string}/files?name=dia-ba.tif`, await scanLike(WIDTH, HEIGHT));
  const smallFile = await api(server.baseUrl, token, 'POST', `/api/objects/${small.id as string}/files?name=to-roi.tif`, await scanLike(300, 400));
  log(`  uploaded; waiting for the derivative of ${bigFile.fileId as string}…`);
  const d = await waitForDerivative(server, token, big.id as string, bigFile.fileId as string, process.hrtime.bigint(), 15 * 60_000, log);
  log(`  derivative made in ${d.seconds.toFixed(1)} s`);
  return { big: { objectId: big.id as string, fileId: bigFile.fileId as string }, small: { objectId: small.id as string, fileId: smallFile.fileId as string } };
}

function buildLoad(big: { objectId: string; fileId: string }, small: { objectId: string; fileId: string }, eventsOnly: boolean): Load {
  if (eventsOnly) return { paths: [{ kind: 'manifest', path: `/iiif/manifest/${big.objectId}` }, { kind: 'manifest', path: `/iiif/manifest/${small.objectId}` }] };
  const tiles = shuffled(tileGrid(WIDTH, HEIGHT, 256, [1, 2, 4, 8, 16]));
  const paths: Load['paths'] = [];
  tiles.forEach((t, i) => {
    paths.push({ kind: 'tile', path: `/iiif/3/${big.fileId}/${t.path}/0/default.jpg` });
    if (i % 25 === 24) paths.push({ kind: 'manifest', path: `/iiif/manifest/${i % 50 === 49 ? small.objectId : big.objectId}` });
    if (i % 100 === 99) paths.push({ kind: 'download', path: `/api/objects/${small.objectId}/files/${small.fileId}/content` });
    if (i % 200 === 199) paths.push({ kind: 'search', path: `/api/search?q=${encodeURIComponent(i % 400 === 399 ? 'địa bạ' : 'không có gì')}` });
  });
  return { paths };
}

async function health(base: string): Promise<{ written: number; dropped: number }> {
  const h = (await (await fetch(`${base}/health`)).json()) as { access?: { written?: number; dropped?: number } };
  return { written: h.access?.written ?? 0, dropped: h.access?.dropped ?? 0 };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** C loops over the path list (a shared cursor), for `seconds`; latencies of tiles only. */
async function drive(base: string, load: Load, seconds: number): Promise<{ counts: Record<Kind, number>; tileMs: number[]; bad: number; firstBad: string; elapsed: number }> {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const counts: Record<Kind, number> = { tile: 0, manifest: 0, download: 0, search: 0 };
  const tileMs: number[] = [];
  let bad = 0;
  let firstBad = '-';
  let cursor = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  const one = (path: string) =>
    new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, agent, headers: { 'user-agent': 'thukho-bench-access' } }, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const worker = async () => {
    while (performance.now() < until) {
      const next = load.paths[cursor++ % load.paths.length]!;
      const t0 = performance.now();
      try {
        const r = await one(next.path);
        if (r.status !== 200 || r.bytes === 0) {
          bad++;
          if (firstBad === '-') firstBad = `${r.status} ${next.path}`;
          continue;
        }
      } catch (err) {
        bad++;
        if (firstBad === '-') firstBad = `${(err as Error).message} ${next.path}`;
        continue;
      }
      counts[next.kind]++;
      if (next.kind === 'tile') tileMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  return { counts, tileMs, bad, firstBad, elapsed };
}

async function measure(dataDir: string, queuePrefix: string, workDir: string, mode: RunResult['mode'], load: Load): Promise<RunResult> {
  const server = await startThukho(dataDir, queuePrefix, workDir, { ...QUIET, THUKHO_ACCESS_EVENTS: mode === 'off' ? 'off' : 'on' });
  try {
    await drive(server.baseUrl, load, WARMUP_SECONDS);
    await waitQuiet();
    const before = await health(server.baseUrl);
    const cpu0 = groupCpuSeconds(server.group.pgid);
    const busy0 = machineBusy();
    const self0 = process.cpuUsage();
    const r = await drive(server.baseUrl, load, SECONDS);
    const self = process.cpuUsage(self0);
    const busy = machineBusy() - busy0;
    const serverCpu = groupCpuSeconds(server.group.pgid) - cpu0;
    // What the server wrote while the load ran (it appends every 5 s: the last seconds' events land after).
    await sleep(5500);
    const after = await health(server.baseUrl);
    const othersCpu = Math.max(0, busy - serverCpu - (self.user + self.system) / 1e6);
    const sorted = [...r.tileMs].sort((a, b) => a - b);
    return {
      mode,
      seconds: r.elapsed,
      counts: r.counts,
      tileRps: r.counts.tile / r.elapsed,
      tileP50: percentile(sorted, 50),
      tileP99: percentile(sorted, 99),
      bad: r.bad,
      firstBad: r.firstBad,
      eventsWritten: after.written - before.written,
      eventsDropped: after.dropped - before.dropped,
      serverCpu,
      othersShare: othersCpu / (r.elapsed * os.cpus().length),
    };
  } finally {
    await stopThukho(server);
  }
}

/** `count` runs of `once` (which returns milliseconds), `concurrency` at a time; sorted. */
async function timed(count: number, concurrency: number, once: () => Promise<number>): Promise<number[]> {
  const ms: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        ms.push(await once());
      }
    }),
  );
  return ms.sort((a, b) => a - b);
}

/** One sign-in through the site's form; the POST's milliseconds. */
async function signInOnce(base: string): Promise<number> {
  const form = await fetch(`${base}/sign-in`);
  const cookie = form.headers.getSetCookie().find((c) => c.startsWith('thukho_csrf='))?.split(';')[0] ?? '';
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const started = performance.now();
  const res = await fetch(`${base}/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ account: READER, password: PASSWORD, csrf, return: '/' }).toString(),
    redirect: 'manual',
  });
  const ms = performance.now() - started;
  await res.arrayBuffer();
  if (res.status !== 303 || !res.headers.getSetCookie().some((c) => c.startsWith('thukho_session='))) throw new Error(`sign-in answered ${res.status}`);
  return ms;
}

async function measureSignIn(dataDir: string, queuePrefix: string, workDir: string): Promise<void> {
  const server = await startThukho(dataDir, queuePrefix, workDir, QUIET);
  try {
    await signInOnce(server.baseUrl); // the first one warms the page and the session store
    await waitQuiet();
    const http = await timed(SIGN_INS, SIGN_IN_CONCURRENCY, () => signInOnce(server.baseUrl));
    const hash = await hashPassword(PASSWORD);
    const bare = await timed(SIGN_INS, SIGN_IN_CONCURRENCY, async () => {
      const started = performance.now();
      if (!(await verify(hash, PASSWORD.normalize('NFC')))) throw new Error('argon2 verify failed');
      return performance.now() - started;
    });
    const cost = /\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
    log(`sign-in (argon2id m=${cost?.[1]} KiB, t=${cost?.[2]}, p=${cost?.[3]}), ${SIGN_INS} × ${SIGN_IN_CONCURRENCY} at once:`);
    log(`  thukho POST /sign-in   p50 ${percentile(http, 50).toFixed(1)} ms  p95 ${percentile(http, 95).toFixed(1)} ms`);
    log(`  bare argon2id verify   p50 ${percentile(bare, 50).toFixed(1)} ms  p95 ${percentile(bare, 95).toFixed(1)} ms`);
    log(`  p95 ratio thukho / bare: ${(percentile(http, 95) / percentile(bare, 95)).toFixed(2)}×`);
  } finally {
    await stopThukho(server);
  }
}

/**
 * Both servers at once, on two copies of the same data: the load alternates between them every
 * SLICE_SECONDS, (on, off) then (off, on), so a drift of this shared machine falls on both
 * alike. The on-server's flushes and statistics run whenever they fall due, also while the
 * other is loaded: on two cores they mostly take the idle core then, which favours "on" a
 * little; the sequential rounds above have no such bias.
 */
async function measureSideBySide(
  on: { dataDir: string; queuePrefix: string; workDir: string },
  off: { dataDir: string; queuePrefix: string; workDir: string },
  load: Load,
): Promise<{ ratio: number; pairs: number[]; onRps: number; offRps: number; onP99: number; offP99: number; bad: number }> {
  const a = await startThukho(on.dataDir, on.queuePrefix, on.workDir, { ...QUIET, THUKHO_ACCESS_EVENTS: 'on' });
  const b = await startThukho(off.dataDir, off.queuePrefix, off.workDir, { ...QUIET, THUKHO_ACCESS_EVENTS: 'off' });
  try {
    await drive(a.baseUrl, load, WARMUP_SECONDS);
    await drive(b.baseUrl, load, WARMUP_SECONDS);
    await waitQuiet();
    const totals = { on: { tiles: 0, seconds: 0, ms: [] as number[] }, off: { tiles: 0, seconds: 0, ms: [] as number[] } };
    const pairs: number[] = [];
    let bad = 0;
    for (let i = 0; i < SLICES; i++) {
      const rps: Record<'on' | 'off', number> = { on: 0, off: 0 };
      for (const mode of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const r = await drive((mode === 'on' ? a : b).baseUrl, load, SLICE_SECONDS);
        totals[mode].tiles += r.counts.tile;
        totals[mode].seconds += r.elapsed;
        totals[mode].ms.push(...r.tileMs);
        rps[mode] = r.counts.tile / r.elapsed;
        bad += r.bad;
      }
      pairs.push(rps.on / rps.off);
    }
    const onRps = totals.on.tiles / totals.on.seconds;
    const offRps = totals.off.tiles / totals.off.seconds;
    const p99 = (ms: number[]) => percentile([...ms].sort((x, y) => x - y), 99);
    return { ratio: onRps / offRps, pairs, onRps, offRps, onP99: p99(totals.on.ms), offP99: p99(totals.off.ms), bad };
  } finally {
    await stopThukho(a);
    await stopThukho(b);
  }
}

function line(r: RunResult): string {
  const events = r.counts.manifest + r.counts.download + r.counts.search;
  return (
    `  ${r.mode.padEnd(6)} tiles ${r.tileRps.toFixed(0).padStart(6)}/s  p50 ${r.tileP50.toFixed(1)} ms  p99 ${r.tileP99.toFixed(1)} ms  ` +
    `| manifests ${r.counts.manifest}, downloads ${r.counts.download}, searches ${r.counts.search} (${(events / r.seconds).toFixed(0)} events/s caused)  ` +
    `| written ${r.eventsWritten} (${(r.eventsWritten / r.seconds).toFixed(0)}/s), dropped ${r.eventsDropped}  ` +
    `| server CPU ${r.serverCpu.toFixed(1)} s, others ${(r.othersShare * 100).toFixed(0)} %${r.othersShare > 0.15 ? ' disturbed' : ''}` +
    `${r.bad ? `  INVALID: ${r.bad} bad answers, first ${r.firstBad}` : ''}`
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(os.tmpdir(), 'thukho-bench-access-'));
  const dataDir = join(workDir, 'data');
  const queuePrefix = `bench-access-${process.pid}`;
  let exitCode = 0;
  try {
    log(`bench:access — ${os.cpus().length} cores, ${CONCURRENCY} concurrent, ${SECONDS} s per run, ${ROUNDS} round(s); work dir ${workDir}`);
    const token = createStaffToken(dataDir, queuePrefix);
    addReaderWithPassword(dataDir, queuePrefix, READER, PASSWORD);
    const setupServer = await startThukho(dataDir, queuePrefix, workDir, QUIET);
    let works;
    try {
      works = await prepare(setupServer, token);
    } finally {
      await stopThukho(setupServer);
    }
    const load = buildLoad(works.big, works.small, false);
    log(`  load: ${load.paths.length} paths per pass (${load.paths.filter((p) => p.kind === 'tile').length} tiles)`);
    const results: RunResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        const r = await measure(dataDir, queuePrefix, workDir, mode, load);
        log(line(r));
        results.push(r);
      }
    }
    const capacity = await measure(dataDir, queuePrefix, workDir, 'events', buildLoad(works.big, works.small, true));
    log(line(capacity));
    const copy = (name: string) => {
      const dir = join(workDir, name);
      cpSync(dataDir, join(dir, 'data'), { recursive: true });
      return { dataDir: join(dir, 'data'), queuePrefix: `${queuePrefix}-${name}`, workDir: dir };
    };
    const side = await measureSideBySide(copy('on'), copy('off'), load);
    log(
      `side by side, ${SLICES} × 2 slices of ${SLICE_SECONDS} s: on ${side.onRps.toFixed(0)} tiles/s (p99 ${side.onP99.toFixed(1)} ms), ` +
        `off ${side.offRps.toFixed(0)} tiles/s (p99 ${side.offP99.toFixed(1)} ms) = ${side.ratio.toFixed(3)}×; ` +
        `pairs: median ${median(side.pairs).toFixed(3)}×, ${Math.min(...side.pairs).toFixed(2)}–${Math.max(...side.pairs).toFixed(2)}`,
    );
    if (side.bad > 0) log(`INVALID: ${side.bad} bad answers side by side`);
    await measureSignIn(dataDir, queuePrefix, workDir);

    const on = median(results.filter((r) => r.mode === 'on').map((r) => r.tileRps));
    const off = median(results.filter((r) => r.mode === 'off').map((r) => r.tileRps));
    // Each round is one (on, off) pair, seconds apart.
    const paired = Array.from({ length: ROUNDS }, (_, i) => {
      const pair = results.slice(i * 2, i * 2 + 2);
      const a = pair.find((r) => r.mode === 'on');
      const b = pair.find((r) => r.mode === 'off');
      return a && b ? a.tileRps / b.tileRps : Number.NaN;
    }).filter((x) => Number.isFinite(x));
    const ratio = median(paired);
    const written = results.filter((r) => r.mode === 'on');
    const invalid = [...results, capacity].some((r) => r.bad > 0) || side.bad > 0;
    const disturbed = results.some((r) => r.othersShare > 0.15);
    log('');
    log(`tile throughput, events on / off, median of the rounds' ratios: ${ratio.toFixed(3)}× (target ≥ ${TARGET}×) ${ratio >= TARGET ? 'met' : 'NOT met'}${disturbed ? ' (unreliable: a run was disturbed)' : ''}`);
    log(`  rounds: ${paired.map((x) => x.toFixed(2)).join(' ')}; ratio of the medians ${on.toFixed(0)} / ${off.toFixed(0)} per s = ${(on / off).toFixed(3)}×`);
    log(`access events written under the tile load: ${median(written.map((r) => r.eventsWritten / r.seconds)).toFixed(0)}/s (median), dropped ${written.reduce((n, r) => n + r.eventsDropped, 0)}`);
    log(`access events written, manifests only: ${(capacity.eventsWritten / capacity.seconds).toFixed(0)}/s, dropped ${capacity.eventsDropped}`);
    if (invalid) {
      log('INVALID: some answers were not 200 with a body');
      exitCode = 1;
    }
  } finally {
    killAllGroups();
    await dropQueueKeys(queuePrefix).catch(() => 0);
    rmSync(workDir, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

process.on('SIGINT', () => {
  killAllGroups();
  process.exit(130);
});
await main();

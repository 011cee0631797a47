/**
 * OAI-PMH harvest benchmark (issue 19), side by side in one run on one machine:
 *
 *   1. thukho: `thukho serve` as its own process over a seeded repository (default 100,000
 *      open works with catalogue-sized metadata over 20 collections), harvested end to end
 *      through HTTP with `ListRecords&metadataPrefix=oai_dc` and its resumption tokens:
 *      records/s, bytes, and the server's memory (VmRSS and VmHWM from /proc every 100 ms):
 *      at the start, every tenth of the list, at the end, and its peak;
 *   2. the reference, the best case for the same bytes: the pages of thukho's first harvest
 *      saved as files and served by nginx as static files (bench/oai/reference.ts), harvested
 *      by the same client; the ratio of the two.
 * Rounds alternate reference and thukho after the first (page-saving) harvest; the figures
 * are the medians of the rounds. Targets: ≥ 5,000 records/s, flat memory.
 *
 *   npm run bench:oai
 *   OAI_BENCH_WORKS=10000 npm run bench:oai          (a quick run)
 *
 * Env: OAI_BENCH_WORKS (100000), OAI_BENCH_PAGES (pages per work, 1), OAI_BENCH_ROUNDS (2),
 * OAI_BENCH_CACHE (/var/tmp/thukho-bench-oai: the seeded repository, built once per size and
 * projection versions, see bench/seed-works.ts), OAI_BENCH_CPU_PROF=DIR (the server writes a
 * V8 CPU profile there when it stops), OAI_BENCH_REFERENCE=node (the bare Node server as the
 * reference instead of nginx), THUKHO_OAI_* (passed to the server, e.g. the page size).
 * --no-cache builds the repository in the run's directory; --keep leaves the run's directory.
 * Needs redis on REDIS_URL (default 127.0.0.1:6379) and nginx (/usr/sbin/nginx) for the reference.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { waitQuiet } from '../machine.ts';
import { freePort, groupCpuSeconds, killAllGroups, type Group, sleep, startGroup, stopGroup, waitForPort, waitHealthyAndSettled } from '../iiif/procs.ts';
import { dropQueueKeys } from '../iiif/thukho.ts';
import { provideRepository, repositoryKey, seedWorks } from '../seed-works.ts';
import { COLLECTIONS, describeWork } from './dataset.ts';
import { harvest, type HarvestResult } from './harvest.ts';
import { startReference } from './reference.ts';
import { memoryOf, mib, RssSampler } from './rss.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const int = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Math.max(0, Math.floor(Number(v)));
};
const WORKS = Math.max(1, int('OAI_BENCH_WORKS', 100_000));
const PAGES_PER_WORK = int('OAI_BENCH_PAGES', 1);
const ROUNDS = Math.max(1, int('OAI_BENCH_ROUNDS', 2));
const CACHE_ROOT = process.env.OAI_BENCH_CACHE || '/var/tmp/thukho-bench-oai';
const CPU_PROF = process.env.OAI_BENCH_CPU_PROF;
const NO_CACHE = process.argv.includes('--no-cache');
const KEEP = process.argv.includes('--keep');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PUBLIC_URL = 'https://thukho.example.vn';
/** Bump when the seed writes other events (the cached repository is then built again). */
const SEED_VERSION = 1;
const TARGET_RPS = 5000;

interface Milestone {
  records: number;
  rss: number;
  hwm: number;
}

interface Run {
  side: 'thukho' | 'reference';
  result: HarvestResult;
  /** Server memory before the first request, at every tenth of the list, after the last page. */
  start: { rss: number; hwm: number };
  milestones: Milestone[];
  end: { rss: number; hwm: number };
  serverCpuSeconds: number;
}

function check(side: string, r: HarvestResult): void {
  const problems: string[] = [];
  if (r.completeListSize !== r.records) problems.push(`completeListSize ${r.completeListSize} but ${r.records} records harvested`);
  if (r.duplicates > 0) problems.push(`${r.duplicates} identifiers seen twice`);
  if (r.distinct !== WORKS) problems.push(`${r.distinct} distinct identifiers for ${WORKS} open works`);
  if (problems.length) throw new Error(`${side} harvest is wrong: ${problems.join('; ')}`);
}

async function measured(side: Run['side'], endpoint: string, pid: number, pgid: number, sampler: RssSampler | null, phase: string, saveDir?: string): Promise<Run> {
  const busy = await waitQuiet(10);
  if (busy > 0.15) console.log(`  (machine still ${(busy * 100).toFixed(0)}% busy after 10 s; measuring anyway)`);
  const start = memoryOf(pid) ?? { rss: NaN, hwm: NaN };
  const step = Math.max(1, Math.ceil(WORKS / 10));
  const milestones: Milestone[] = [];
  let next = step;
  sampler?.set(phase, 0);
  const cpu0 = groupCpuSeconds(pgid);
  const result = await harvest({
    endpoint,
    saveDir,
    onPage: (p) => {
      sampler?.set(phase, p.records);
      while (p.records >= next) {
        const m = memoryOf(pid);
        if (m) milestones.push({ records: next, ...m });
        next += step;
      }
    },
  });
  const serverCpuSeconds = groupCpuSeconds(pgid) - cpu0;
  sampler?.set('idle', result.records);
  const end = memoryOf(pid) ?? { rss: NaN, hwm: NaN };
  check(side, result);
  const rps = result.records / result.seconds;
  console.log(
    `  ${phase.padEnd(16)} ${result.records} records in ${result.pages} pages, ${mib(result.bytes)} in ${result.seconds.toFixed(2)} s = ${Math.round(rps)} records/s, ` +
      `${(result.bytes / 1024 / 1024 / result.seconds).toFixed(1)} MiB/s; server CPU ${serverCpuSeconds.toFixed(2)} s, client CPU ${result.clientCpuSeconds.toFixed(2)} s; ` +
      `server RSS ${mib(start.rss)} → ${mib(end.rss)}, peak so far ${mib(end.hwm)}`,
  );
  return { side, result, start, milestones, end, serverCpuSeconds };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return Number.isInteger(mid) ? ((s[mid - 1] as number) + (s[mid] as number)) / 2 : (s[Math.floor(mid)] as number);
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
};

/** `thukho serve --no-workers` as its own process group (its RSS is the server's); resolves when /health answers. */
async function startThukhoServe(dataDir: string, queuePrefix: string, workDir: string): Promise<{ group: Group; baseUrl: string }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  // Hermetic: nothing from the caller's shell may point thukho elsewhere (but THUKHO_OAI_* are passed on).
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THUKHO_') || k.startsWith('THUKHO_OAI_')) env[k] = v;
  Object.assign(env, {
    THUKHO_DATA_DIR: dataDir,
    THUKHO_HOST: '127.0.0.1',
    THUKHO_PORT: String(port),
    THUKHO_PUBLIC_URL: PUBLIC_URL,
    THUKHO_LOG_LEVEL: 'warn',
    THUKHO_QUEUE_PREFIX: queuePrefix,
    REDIS_URL,
  });
  const logPath = join(workDir, 'thukho-serve.log');
  if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
  const group = startGroup('thukho serve', process.execPath, [...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), join(REPO, 'bin/thukho.js'), 'serve', '--no-workers'], { cwd: REPO, env, logPath });
  await waitForPort(port, 120_000, group);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitHealthyAndSettled(group, baseUrl, logPath, 'thukho serve');
  return { group, baseUrl };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'thukho-bench-oai-'));
  const dataDir = join(dir, 'data');
  const pagesDir = join(dir, 'pages');
  mkdirSync(dataDir);
  mkdirSync(pagesDir);
  const queuePrefix = `bench-oai-${process.pid}`;
  const config = loadConfig({ THUKHO_DATA_DIR: dataDir, REDIS_URL, THUKHO_LOG_LEVEL: 'silent', THUKHO_QUEUE_PREFIX: queuePrefix });
  const began = performance.now();
  const [load1, load5] = os.loadavg();
  console.log(
    `OAI-PMH bench: ${WORKS} open works (${PAGES_PER_WORK} page each) in ${COLLECTIONS.length} collections, ${ROUNDS} rounds; ` +
      `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load ${load1?.toFixed(2)} / ${load5?.toFixed(2)}, ${mib(os.totalmem())} RAM; in ${dir}`,
  );
  const runs: Run[] = [];
  let referenceKind = '';
  let server: { group: Group; baseUrl: string } | null = null;
  let sampler: RssSampler | null = null;
  try {
    await provideRepository({
      dataDir,
      config,
      cacheRoot: CACHE_ROOT,
      key: repositoryKey(config, `w${WORKS}-p${PAGES_PER_WORK}`, { SEED_VERSION, WORKS, PAGES_PER_WORK }),
      noCache: NO_CACHE,
      description: `${WORKS} works × ${PAGES_PER_WORK} pages`,
      seed: (store) => seedWorks(store, { works: WORKS, pagesPerWork: PAGES_PER_WORK, collections: COLLECTIONS, master: { size: 60_000_000, width: 4000, height: 6000 }, describe: describeWork,
        // Through the pipeline already: the OCR of the (Hán-Nôm) pages failed, so no job is left to hand out.
        pageFacts: (_w, objectId, file) => [{ type: 'OcrFailed', data: { objectId, fileId: file.fileId, masterSha512: file.digests.sha512, reason: 'no text recognised', attempts: 3 } }] }),
      redisUrl: REDIS_URL,
    });
    let t0 = performance.now();
    server = await startThukhoServe(dataDir, queuePrefix, dir);
    const pid = server.group.pgid;
    console.log(`thukho serve (pid ${pid}) settled in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${server.baseUrl}; RSS ${mib(memoryOf(pid)?.rss ?? NaN)}`);
    sampler = new RssSampler(pid);
    const endpoint = `${server.baseUrl}/oai`;

    console.log('\nharvests (ListRecords, oai_dc, one request at a time over one keep-alive connection, no compression asked):');
    // The first harvest saves every page for the reference; it is timed but not counted in the medians (the saving is the client's work).
    t0 = performance.now();
    const first = await measured('thukho', endpoint, pid, server.group.pgid, sampler, 'thukho (saving)', pagesDir);
    runs.push(first);
    const ref = await startReference(pagesDir, first.result.tokens, dir);
    referenceKind = ref.kind === 'nginx' ? 'nginx 1 worker, static files' : 'bare Node http server streaming the files (nginx could not run)';
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        runs.push(await measured('reference', ref.endpoint, ref.pid, ref.pgid, null, `reference ${round}`));
        runs.push(await measured('thukho', endpoint, pid, server.group.pgid, sampler, `thukho ${round}`));
      }
    } finally {
      await ref.stop();
    }
  } finally {
    sampler?.stop();
    if (server) await stopGroup(server.group, 30_000);
    await dropQueueKeys(queuePrefix).catch(() => 0);
    if (KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }

  const timed = (side: Run['side']) => runs.filter((r) => r.side === side && !(r === runs[0]));
  const us = timed('thukho');
  const them = timed('reference');
  const rps = (r: Run) => r.result.records / r.result.seconds;
  const usRps = median(us.map(rps));
  const refRps = median(them.map(rps));
  const last = us[us.length - 1] as Run;
  const bytes = last.result.bytes;
  const peak = Math.max(...(sampler?.samples.map((s) => s.hwm) ?? [NaN]));
  const ok = (good: boolean) => (good ? 'ok' : 'MISSED');

  console.log(`\nserver memory during the harvests (VmRSS; sampled every 100 ms, ${sampler?.samples.length ?? 0} samples):`);
  for (const r of runs.filter((x) => x.side === 'thukho')) {
    const line = r.milestones.map((m) => `${m.records >= 10_000 ? `${Math.round(m.records / 1000)}k` : m.records} ${(m.rss / 1024 / 1024).toFixed(0)}`).join(', ');
    console.log(`  ${(r === runs[0] ? 'thukho (saving)' : 'thukho').padEnd(16)} start ${(r.start.rss / 1024 / 1024).toFixed(0)}, ${line}, end ${(r.end.rss / 1024 / 1024).toFixed(0)} MiB`);
  }
  const tenth = last.milestones.find((m) => m.records >= Math.min(10_000, WORKS));
  const whole = last.milestones[last.milestones.length - 1];

  console.log(`\n== OAI-PMH bench figures: ${WORKS} records, ${os.cpus().length} CPUs, load before ${load1?.toFixed(2)} ==`);
  console.log(`harvested: ${last.result.records} records in ${last.result.pages} pages, ${mib(bytes)} (${Math.round(bytes / last.result.records)} bytes/record); count = completeListSize, no identifier twice: ok`);
  console.log(`thukho     ${Math.round(usRps).toString().padStart(7)} records/s  (median of ${us.length}: ${us.map((r) => Math.round(rps(r))).join(', ')}; first, saving pages: ${Math.round(rps(runs[0] as Run))})  target ≥ ${TARGET_RPS}: ${ok(usRps >= TARGET_RPS)}`);
  console.log(`reference  ${Math.round(refRps).toString().padStart(7)} records/s  (${referenceKind}; median of ${them.length}: ${them.map((r) => Math.round(rps(r))).join(', ')})`);
  console.log(`ratio thukho / reference: ${(usRps / refRps).toFixed(3)}×`);
  console.log(`per page (thukho, last round): first byte p50 ${pct(last.result.firstByteMs, 50).toFixed(1)} ms, p95 ${pct(last.result.firstByteMs, 95).toFixed(1)} ms; whole page p50 ${pct(last.result.pageMs, 50).toFixed(1)} ms, p95 ${pct(last.result.pageMs, 95).toFixed(1)} ms`);
  console.log(`server CPU per 1,000 records: thukho ${((last.serverCpuSeconds / last.result.records) * 1000 * 1000).toFixed(0)} ms, reference ${(((them[them.length - 1]?.serverCpuSeconds ?? NaN) / WORKS) * 1000 * 1000).toFixed(0)} ms`);
  if (tenth && whole) {
    console.log(`server RSS at ${tenth.records} records ${mib(tenth.rss)}, at ${whole.records} records ${mib(whole.rss)} (last round); at start ${mib(last.start.rss)}, end ${mib(last.end.rss)}`);
    const harvesting = sampler?.samples.filter((x) => x.phase !== 'idle').map((x) => x.rss) ?? [];
    console.log(`server peak RSS while harvesting (max of the 100 ms samples): ${mib(Math.max(...harvesting))}; VmHWM over its whole life (start-up included): ${mib(peak)}; growth from 10% to 100% of the list in the last round: ${mib(whole.rss - tenth.rss)}`);
  }
  console.log(`whole run ${((performance.now() - began) / 1000).toFixed(0)} s`);
}

process.once('SIGINT', () => {
  killAllGroups();
  process.exit(130);
});
main().catch((err: unknown) => {
  console.error(err);
  killAllGroups();
  process.exitCode = 1;
});

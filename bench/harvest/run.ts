/**
 * OAI-PMH harvester benchmark (issue 21): `thukho harvest` in its own process pulls every
 * oai_dc record from a `thukho serve` in another process (the bench/oai repository: seeded
 * works with catalogue-sized Vietnamese metadata, cached under /var/tmp, shared with
 * bench:oai) into a new, empty repository. Figures: records/s end to end (requests, parsing,
 * one ObjectRegistered per record appended to the target's log) and the harvester's memory
 * (VmRSS sampled every 100 ms, each sample labelled with the records the harvester's progress
 * line reported by then: RSS at 10 % and at 100 % of the records, their ratio, every tenth and
 * the peak), then a second run (`from` the first one's responseDate: nothing changes) and its
 * time. The bench repository's records link no files (--no-files changes nothing here).
 *
 *   npm run bench:harvest                         (10,000 records)
 *   HARVEST_BENCH_WORKS=1000 npm run bench:harvest (a quick run)
 *
 * Env: HARVEST_BENCH_WORKS (10000), OAI_BENCH_CACHE (/var/tmp/thukho-bench-oai),
 * THUKHO_OAI_PAGE_SIZE (the source's page size, default 100), HARVEST_BENCH_CPU_PROF=DIR
 * (the harvester writes a V8 CPU profile there). --keep leaves the run's directory.
 * Needs redis on REDIS_URL (default 127.0.0.1:6379) for the source server.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { freePort, groupCpuSeconds, type Group, sleep, startGroup, stopGroup, waitForPort, waitHealthyAndSettled } from '../iiif/procs.ts';
import { dropQueueKeys } from '../iiif/thukho.ts';
import { COLLECTIONS, describeWork } from '../oai/dataset.ts';
import { mib, RssSampler } from '../oai/rss.ts';
import { provideRepository, repositoryKey, seedWorks } from '../seed-works.ts';

/** The harvester's log so far (its progress lines), or nothing before it exists. */
const readLog = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WORKS = Math.max(1, Math.floor(Number(process.env.HARVEST_BENCH_WORKS || 10_000)));
const CACHE_ROOT = process.env.OAI_BENCH_CACHE || '/var/tmp/thukho-bench-oai';
const CPU_PROF = process.env.HARVEST_BENCH_CPU_PROF;
const KEEP = process.argv.includes('--keep');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The same seed as bench/oai (its SEED_VERSION, one page per work), so that the cached repository is shared. */
const SEED_VERSION = 1;
const PAGES_PER_WORK = 1;

/** The environment of a thukho child: nothing from the caller's THUKHO_* but the OAI page size. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THUKHO_') || k === 'THUKHO_OAI_PAGE_SIZE') env[k] = v;
  return { ...env, REDIS_URL, ...extra };
}

async function startSource(dataDir: string, queuePrefix: string, workDir: string): Promise<{ group: Group; url: string }> {
  const port = await freePort();
  const logPath = join(workDir, 'source-serve.log');
  const group = startGroup('thukho serve', process.execPath, [join(REPO, 'bin/thukho.js'), 'serve', '--no-workers'], {
    cwd: REPO,
    env: childEnv({ THUKHO_DATA_DIR: dataDir, THUKHO_HOST: '127.0.0.1', THUKHO_PORT: String(port), THUKHO_LOG_LEVEL: 'warn', THUKHO_QUEUE_PREFIX: queuePrefix }),
    logPath,
  });
  await waitForPort(port, 120_000, group);
  const url = `http://127.0.0.1:${port}`;
  await waitHealthyAndSettled(group, url, logPath, 'the source');
  return { group, url: `${url}/oai` };
}

interface HarvestRun {
  seconds: number;
  cpuSeconds: number;
  peakRss: number;
  milestones: Array<{ records: number; rss: number }>;
  report: { records: number; pages: number; created: unknown[]; changed: unknown[]; deleted: unknown[]; unchanged: number; refused: unknown[]; complete: boolean };
}

async function harvestOnce(label: string, source: string, targetDir: string, workDir: string): Promise<HarvestRun> {
  const out = join(workDir, `${label}.json`);
  const logPath = join(workDir, `${label}.log`);
  const t0 = performance.now();
  // Through a shell so that the report (JSON on stdout) lands in its own file, apart from the progress lines.
  const args = [...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), join(REPO, 'bin/thukho.js'), 'harvest', source, '--json'];
  const group = startGroup(`thukho harvest (${label})`, '/bin/sh', ['-c', `exec "$0" "$@" > ${JSON.stringify(out)}`, process.execPath, ...args], {
    cwd: REPO,
    env: childEnv({ THUKHO_DATA_DIR: targetDir, THUKHO_LOG_LEVEL: 'warn' }),
    logPath,
  });
  const sampler = new RssSampler(group.pgid);
  const milestones: HarvestRun['milestones'] = [];
  let cpu = 0;
  // The harvester prints a progress line every 5 s to its log file ("harvesting: 1,000 / 10,000 records"):
  // each RSS sample is labelled with the count it last reported, so a figure is "at N records", not "at t s".
  sampler.set(label, 0);
  while (!group.exited) {
    cpu = Math.max(cpu, groupCpuSeconds(group.pgid));
    const log = readLog(logPath);
    const last = [...log.matchAll(/harvesting: ([\d,]+)/g)].at(-1)?.[1];
    // "xong / done": the list is read to its end (the last count may fall between two progress lines).
    if (/xong \/ done/.test(log)) sampler.set(label, Number.MAX_SAFE_INTEGER);
    else if (last) sampler.set(label, Number(last.replace(/,/g, '')));
    await sleep(200);
  }
  sampler.stop();
  const seconds = (performance.now() - t0) / 1000;
  const report = JSON.parse(readFileSync(out, 'utf8')) as HarvestRun['report'];
  const samples = sampler.samples.filter((s) => s.rss > 0);
  for (let i = 1; i <= 10; i++) {
    const at = Math.ceil((i / 10) * report.records);
    const s = samples.find((x) => x.records >= at) ?? samples.at(-1);
    if (s) milestones.push({ records: at, rss: s.rss });
  }
  const peakRss = Math.max(...samples.map((s) => s.hwm));
  return { seconds, cpuSeconds: cpu, peakRss, milestones, report };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'thukho-bench-harvest-'));
  const sourceDir = join(dir, 'source');
  const targetDir = join(dir, 'target');
  mkdirSync(sourceDir);
  mkdirSync(targetDir);
  const queuePrefix = `bench-harvest-${process.pid}`;
  const config = loadConfig({ THUKHO_DATA_DIR: sourceDir, REDIS_URL, THUKHO_LOG_LEVEL: 'silent', THUKHO_QUEUE_PREFIX: queuePrefix });
  const [load1, load5] = os.loadavg();
  console.log(`harvest bench: ${WORKS} oai_dc records from thukho serve to thukho harvest; ${os.cpus().length} CPUs, load ${load1?.toFixed(2)} / ${load5?.toFixed(2)}; in ${dir}`);
  let source: { group: Group; url: string } | null = null;
  try {
    await provideRepository({
      dataDir: sourceDir,
      config,
      cacheRoot: CACHE_ROOT,
      key: repositoryKey(config, `w${WORKS}-p${PAGES_PER_WORK}`, { SEED_VERSION, WORKS, PAGES_PER_WORK }),
      noCache: false,
      description: `${WORKS} works × ${PAGES_PER_WORK} pages`,
      seed: (store) => seedWorks(store, { works: WORKS, pagesPerWork: PAGES_PER_WORK, collections: COLLECTIONS, master: { size: 60_000_000, width: 4000, height: 6000 }, describe: describeWork,
        pageFacts: (_w, objectId, file) => [{ type: 'OcrFailed', data: { objectId, fileId: file.fileId, masterSha512: file.digests.sha512, reason: 'no text recognised', attempts: 3 } }] }),
      redisUrl: REDIS_URL,
    });
    source = await startSource(sourceDir, queuePrefix, dir);
    console.log(`source: ${source.url}`);

    const first = await harvestOnce('first', source.url, targetDir, dir);
    const r = first.report;
    if (!r.complete || r.created.length !== WORKS || r.refused.length > 0) {
      throw new Error(`the harvest is wrong: complete ${r.complete}, ${r.created.length} created of ${WORKS}, ${r.refused.length} refused; see ${join(dir, 'first.log')}`);
    }
    const [l1] = os.loadavg();
    console.log(`first harvest: ${r.records} records in ${r.pages} pages, ${first.seconds.toFixed(1)} s = ${Math.round(r.records / first.seconds)} records/s end to end; harvester CPU ${first.cpuSeconds.toFixed(1)} s; load ${l1?.toFixed(2)}`);
    const at10 = first.milestones[0]?.rss ?? Number.NaN;
    const at100 = first.milestones.at(-1)?.rss ?? Number.NaN;
    console.log(`  harvester RSS at 10 % of the records ${mib(at10)}, at 100 % ${mib(at100)} (ratio ${(at100 / at10).toFixed(2)}); peak ${mib(first.peakRss)}`);
    console.log(`  harvester RSS by tenth of the records: ${first.milestones.map((m) => (m.rss / 1024 / 1024).toFixed(0)).join(', ')} MiB`);

    const second = await harvestOnce('second', source.url, targetDir, dir);
    const s = second.report;
    const nothing = s.created.length + s.changed.length + s.deleted.length === 0;
    const [l2] = os.loadavg();
    console.log(`second harvest (from the first's responseDate): ${s.records} records, ${s.unchanged} unchanged, ${nothing ? 'nothing changed: ok' : 'CHANGED SOMETHING'}; ${second.seconds.toFixed(1)} s; load ${l2?.toFixed(2)}`);
    const ratio = (first.milestones.at(-1)?.rss ?? Number.NaN) / (first.milestones[0]?.rss ?? Number.NaN);
    console.log(`\n== harvest bench: ${WORKS} records, ${Math.round(r.records / first.seconds)} records/s end to end, harvester RSS 10 % → 100 % ${mib(first.milestones[0]?.rss ?? Number.NaN)} → ${mib(first.milestones.at(-1)?.rss ?? Number.NaN)} (×${ratio.toFixed(2)}), peak ${mib(first.peakRss)}; load ${load1?.toFixed(2)} before, ${os.loadavg()[0]?.toFixed(2)} after ==`);
  } finally {
    if (source) await stopGroup(source.group, 30_000);
    await dropQueueKeys(queuePrefix).catch(() => 0);
    if (KEEP) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();

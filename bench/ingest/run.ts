/**
 * Bulk-ingest benchmark: `thukho ingest` side by side with the reference `cp -r` + `sync` of the
 * same files (see /work/shared/REFERENCE.md, "Hashing and disk"), in one run, on the same
 * machine and the same disk, printing MB/s, the ratio ours / (cp + sync) against the target
 * (≥ 0.9×), CPU seconds and peak RSS.
 *
 *   npx tsx bench/ingest/run.ts            20 TIFFs of ≈ 100 MB (2 GB), 2 warm rounds + a cold pair
 *   npx tsx bench/ingest/run.ts --quick    4 TIFFs (400 MB), 1 warm round + a cold pair
 *
 * Options: --files=N or --size=MB (env THUKHO_BENCH_INGEST_MB), --rounds=N (warm pairs; the order alternates), --no-cold, --keep (leave the
 * work dir), --breakdown / --no-breakdown (per-step timings of the ingest pipeline) and
 * --what-if / --no-what-if (the real stageUpload + commitStaged driven as bulk ingest does, then
 * with 1 MiB reads, then with two files in flight; bench/ingest/what-if.ts): both by default
 * only when the target is missed.
 *
 * Method. Source TIFFs are generated first (bench/ingest/dataset.ts) and flushed. Before every
 * timed run: `sync` (nobody's dirty pages are left to flush inside a measurement) and
 * `echo 3 > /proc/sys/vm/drop_caches` where permitted (every run starts from the same memory
 * state), then "warm" = every source byte read once (both sides read from the page cache), or
 * "cold" = nothing more (both sides read from the disk; cold runs are skipped when dropping
 * the cache is not permitted). cp: `sh -c 'cp -r SRC DST && sync'`. Ours: a fresh
 * THUKHO_DATA_DIR with the collection already created, then `node bin/thukho.js ingest SRC --collection bench --json`
 * as a child process (its wall time includes node + tsx start-up; the summary's own seconds
 * are shown too). CPU (user + sys) and peak RSS come from `/usr/bin/time -v`. Outputs are kept
 * until the end, so no deletion (ext4 here is mounted with `discard`) runs beside a measurement.
 * The machine is shared: before each run we wait (≤ 20 s) for a nearly idle second, and each
 * line shows "others' CPU", the CPU seconds other processes used during that run (from
 * /proc/stat), so a run disturbed by someone's test suite can be recognised.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { executeCollectionCommand } from '../../src/application/object-commands.ts';
import { objectOcflIdFor } from '../../src/application/ocfl-ids.ts';
import type { BulkIngestSummary } from '../../src/cli/bulk-ingest.ts';
import { idFromName } from '../../src/domain/vietnamese-fold.ts';
import { SqliteEventStore } from '../../src/eventstore/sqlite.ts';
import { digestFile } from '../../src/storage/digest.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { CLK_TCK, dropCaches, machineBusy, waitQuiet } from '../machine.ts';
import { breakdown, type StepTimes } from './breakdown.ts';
import { runVariant, VARIANTS, type VariantResult } from './what-if.ts';
import { type Dataset, type DatasetFile, HEIGHT, makeDataset, WIDTH } from './dataset.ts';

// ---------------------------------------------------------------------------------------
// Settings

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const numArg = (name: string): number | undefined => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  if (!a) return undefined;
  const n = Number(a.slice(name.length + 3));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} wants a positive integer`);
  return n;
};
const QUICK = flag('quick');
const KEEP = flag('keep');
const COLD = !flag('no-cold');
const BREAKDOWN: boolean | undefined = flag('breakdown') ? true : flag('no-breakdown') ? false : undefined;
const WHAT_IF: boolean | undefined = flag('what-if') ? true : flag('no-what-if') ? false : undefined;
/**
 * --size=MB (or THUKHO_BENCH_INGEST_MB): the dataset's total size, in ≈ 100 MB files, for a
 * shorter run on a loaded machine; the default stays the issue's 2 GB.
 */
const SIZE_MB = numArg('size') ?? (process.env.THUKHO_BENCH_INGEST_MB ? Number(process.env.THUKHO_BENCH_INGEST_MB) : undefined);
if (SIZE_MB !== undefined && !(Number.isFinite(SIZE_MB) && SIZE_MB >= 1)) throw new Error('--size / THUKHO_BENCH_INGEST_MB wants a size in MB (≥ 1)');
const FILES = numArg('files') ?? (SIZE_MB !== undefined ? Math.max(1, Math.round(SIZE_MB / 100)) : QUICK ? 4 : 20);
const ROUNDS = numArg('rounds') ?? (QUICK ? 1 : 2);
const TARGET = 0.9;
const COLLECTION = 'bench';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TIME_BIN = '/usr/bin/time';

const log = (line = '') => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => bytes / 1e6;
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------
// Machine helpers

function sh(cmd: string, argv: string[] = []): string {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return (r.stdout ?? '').trim();
}

function syncAll(): void {
  spawnSync('sync');
}

/** Reads every byte of the files once (puts them in the page cache). */
function warm(files: DatasetFile[]): void {
  const buf = Buffer.allocUnsafe(8 << 20);
  for (const f of files) {
    const fd = openSync(f.path, 'r');
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}

let CAN_DROP = false;

/**
 * Same conditions before every timed run: nothing dirty, and the page cache emptied where
 * permitted (so that every run starts with the same free memory: earlier runs' outputs would
 * otherwise pile up in the cache, and on this VM a run that has to take memory never used
 * before pays for it); then, for "warm", every source byte read once.
 */
async function prepare(cache: 'warm' | 'cold', files: DatasetFile[]): Promise<void> {
  syncAll();
  if (CAN_DROP) dropCaches();
  else if (cache === 'cold') throw new Error('cannot drop the page cache');
  if (cache === 'warm') warm(files);
  const busy = await waitQuiet();
  if (busy >= 0.15) log(`    (machine still ${fmt(100 * busy, 0)} % busy after waiting 20 s; measuring anyway)`);
}


interface Timed {
  /** CPU seconds that other processes used on the machine during the run. */
  others: number;
  wall: number;
  user: number;
  sys: number;
  /** kB; null when unknown. */
  maxRss: number | null;
  code: number;
  stdout: string;
  stderr: string;
}

const HAVE_TIME = existsSync(TIME_BIN);

/**
 * Runs argv, timing wall clock here and CPU + peak RSS with /usr/bin/time -v (or, without it,
 * CPU from the cutime/cstime a wrapping shell sees in /proc/$$/stat, and no RSS).
 */
function timed(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; workDir: string }): Promise<Timed> {
  const report = join(options.workDir, `.time-${process.hrtime.bigint()}`);
  const [cmd, ...rest] = HAVE_TIME
    ? [TIME_BIN, '-v', '-o', report, ...argv]
    : ['sh', '-c', '"$@"; rc=$?; cat /proc/$$/stat > "$THUKHO_BENCH_STAT"; exit $rc', 'sh', ...argv];
  const env = { ...(options.env ?? process.env), THUKHO_BENCH_STAT: report };
  return new Promise((resolvePromise, reject) => {
    const busy0 = machineBusy();
    const started = process.hrtime.bigint();
    const child = spawn(cmd as string, rest, { cwd: options.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - started) / 1e9;
      let user = NaN;
      let sys = NaN;
      let maxRss: number | null = null;
      try {
        const text = readFileSync(report, 'utf8');
        if (HAVE_TIME) {
          const field = (label: string) => Number(new RegExp(`${label}:\\s*([\\d.]+)`).exec(text)?.[1] ?? NaN);
          user = field('User time \\(seconds\\)');
          sys = field('System time \\(seconds\\)');
          maxRss = field('Maximum resident set size \\(kbytes\\)');
        } else {
          const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
          user = Number(fields[13]) / CLK_TCK; // cutime (field 16)
          sys = Number(fields[14]) / CLK_TCK; // cstime (field 17)
        }
        rmSync(report, { force: true });
      } catch {
        /* leave NaN */
      }
      const others = Math.max(0, machineBusy() - busy0 - (user + sys));
      resolvePromise({ others, wall, user, sys, maxRss, code: code ?? -1, stdout, stderr });
    });
  });
}

function describeFs(path: string): { dev: number; fstype: string; source: string; target: string } {
  const [fstype = '?', source = '?', target = '?'] = sh('findmnt', ['-n', '-o', 'FSTYPE,SOURCE,TARGET', '-T', path]).split(/\s+/);
  return { dev: statSync(path).dev, fstype, source, target };
}

// ---------------------------------------------------------------------------------------
// The two sides

interface Result {
  label: string;
  cache: 'warm' | 'cold';
  run: Timed;
  /** 1-minute load average when the run ended (the machine is shared). */
  load?: number;
  /** bulk ingest's own seconds (ours only). */
  internal?: number;
}

function checkOk(r: Timed, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code}\n${r.stderr.slice(-2000)}`);
}

async function runCp(ds: Dataset, work: string, cache: 'warm' | 'cold', tag: string): Promise<Result> {
  await prepare(cache, ds.files);
  const dst = join(work, `cp-${tag}`);
  const run = await timed(['sh', '-c', 'cp -r "$0" "$1" && sync', ds.dir, dst], { workDir: work });
  checkOk(run, 'cp + sync');
  const copied = ds.files.reduce((n, f) => n + statSync(join(dst, f.folder, f.name)).size, 0);
  if (copied !== ds.bytes) throw new Error(`cp copied ${copied} bytes, expected ${ds.bytes}`);
  return { label: 'cp -r + sync', cache, run, load: os.loadavg()[0] ?? 0 };
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THUKHO_')) env[k] = v;
  return { ...env, ...extra };
}

async function runOurs(ds: Dataset, work: string, cache: 'warm' | 'cold', tag: string, sha512: Map<string, string>, sampleIndex: number): Promise<Result> {
  const dataDir = join(work, `ours-${tag}`);
  mkdirSync(dataDir, { recursive: true });
  const store = new SqliteEventStore(join(dataDir, 'events.sqlite'));
  await executeCollectionCommand(store, { type: 'CreateCollection', collectionId: COLLECTION, title: 'Bench' }, { actor: { id: 'bench', role: 'admin' } });
  await store.close();

  await prepare(cache, ds.files);
  const run = await timed(['node', join(REPO, 'bin/thukho.js'), 'ingest', ds.dir, '--collection', COLLECTION, '--json'], {
    workDir: work,
    env: cleanEnv({ THUKHO_DATA_DIR: dataDir, THUKHO_LOG_LEVEL: 'warn' }),
  });
  checkOk(run, 'thukho ingest');

  // Verify: every file ingested, none rejected, and one sample's bytes in OCFL are the source's.
  const summary = JSON.parse(run.stdout) as BulkIngestSummary;
  const n = ds.files.length;
  if (summary.files.total !== n || summary.files.ingested !== n || summary.rejected.length !== 0 || summary.bytes.ingested !== ds.bytes) {
    throw new Error(`thukho ingest did not ingest everything: ${JSON.stringify({ files: summary.files, bytes: summary.bytes, rejected: summary.rejected })}`);
  }
  const sample = ds.files[sampleIndex % n] as DatasetFile;
  const want = sha512.get(sample.path) as string;
  const ocfl = await OcflStorageRoot.open(join(dataDir, 'ocfl'));
  // OCFL ids are URIs (src/application/ocfl-ids.ts): the work's id alone finds nothing.
  const objectId = objectOcflIdFor(idFromName(sample.folder));
  const inventory = await ocfl.readInventory(objectId);
  const contentPath = inventory?.manifest[want]?.[0];
  if (!inventory || !contentPath) throw new Error(`OCFL object ${objectId} has no content with the sha512 of ${sample.path}`);
  const inState = Object.values(inventory.versions[inventory.head]?.state ?? {}).flat().some((p) => p.endsWith(`/${sample.name}`));
  if (!inState) throw new Error(`OCFL object ${objectId} head state does not name ${sample.name}`);
  const stored = join(ocfl.root, ...ocfl.objectRoot(objectId).split('/'), ...contentPath.split('/'));
  const got = createHash('sha512').update(readFileSync(stored)).digest('hex');
  if (got !== want) throw new Error(`sha512 of ${stored} is ${got}, the source's is ${want}`);
  log(`    verified: ${summary.files.ingested}/${n} files ingested, 0 rejected; ${sample.folder}/${sample.name} → ${contentPath} sha512 ${got.slice(0, 16)}… matches`);
  return { label: 'thukho ingest', cache, run, load: os.loadavg()[0] ?? 0, internal: summary.seconds };
}

// ---------------------------------------------------------------------------------------
// Output

function line(r: Result, bytes: number): string {
  const cpu = r.run.user + r.run.sys;
  const rss = r.run.maxRss === null ? 'n/a' : `${fmt(r.run.maxRss / 1024, 0)} MB`;
  const internal = r.internal !== undefined ? `  (in-process ${fmt(r.internal, 2)} s = ${fmt(mb(bytes) / r.internal)} MB/s)` : '';
  return `${`${r.label} [${r.cache}]`.padEnd(26)} ${fmt(mb(bytes) / r.run.wall).padStart(7)} MB/s  ${fmt(r.run.wall, 2).padStart(6)} s  CPU ${fmt(cpu, 2).padStart(6)} s (u ${fmt(r.run.user, 2)} + s ${fmt(r.run.sys, 2)})  peak RSS ${rss}  others' CPU ${fmt(r.run.others, 1)} s  load ${fmt(r.load ?? os.loadavg()[0] ?? 0, 2)}${internal}`;
}

function verdict(ratio: number): string {
  return ratio >= TARGET ? 'PASS' : 'MISS';
}

// ---------------------------------------------------------------------------------------
// Main

const cpus = os.cpus();
log(`thukho ingest benchmark${QUICK ? ' (--quick)' : ''}: ${FILES} TIFFs ${WIDTH}×${HEIGHT} RGB uncompressed, ${ROUNDS} warm round(s)${COLD ? ' + cold pair' : ''}`);
log(`machine: ${cpus[0]?.model ?? '?'} × ${cpus.length}, ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}`);

const repoFs = describeFs(REPO);
const tmpFs = describeFs(os.tmpdir());
const base = tmpFs.dev === repoFs.dev ? os.tmpdir() : join(REPO, '.bench-tmp');
log(`repo on ${repoFs.source} (${repoFs.fstype}, ${repoFs.target}); ${os.tmpdir()} on ${tmpFs.source} (${tmpFs.fstype}): ${base === os.tmpdir() ? 'same device, work dir there' : `different device, work dir under ${base}`}`);
mkdirSync(base, { recursive: true });
const work = mkdtempSync(join(base, 'thukho-bench-ingest-'));
const cleanup = () => {
  if (KEEP) return log(`kept ${work}`);
  rmSync(work, { recursive: true, force: true });
  if (base !== os.tmpdir()) rmSync(base, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  const canDrop = dropCaches();
  CAN_DROP = canDrop;
  log(`drop_caches: ${canDrop ? 'permitted (cold runs done)' : 'NOT permitted: warm runs only'}`);
  log(`/usr/bin/time: ${HAVE_TIME ? 'yes (CPU and peak RSS from time -v)' : 'missing (apt-get install time); CPU from /proc, no RSS'}`);
  log();

  log('generating source files…');
  const ds = await makeDataset(join(work, 'src'), FILES, log);
  syncAll();
  log(`source: ${ds.files.length} files in ${ds.objects} object folders, ${fmt(mb(ds.bytes))} MB, ${ds.dir}`);
  const sha512 = new Map<string, string>();
  for (const f of ds.files) sha512.set(f.path, (await digestFile(f.path)).digests.sha512);
  log();

  // ---- warm pairs, alternating order
  const warmCp: Result[] = [];
  const warmOurs: Result[] = [];
  let sampleIndex = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const order: Array<'cp' | 'ours'> = r % 2 === 0 ? ['cp', 'ours'] : ['ours', 'cp'];
    for (const side of order) {
      if (side === 'cp') {
        const res = await runCp(ds, work, 'warm', `warm${r}`);
        warmCp.push(res);
        log(`  round ${r + 1}  ${line(res, ds.bytes)}`);
      } else {
        const res = await runOurs(ds, work, 'warm', `warm${r}`, sha512, sampleIndex++ * 7 + ds.files.length - 1);
        warmOurs.push(res);
        log(`  round ${r + 1}  ${line(res, ds.bytes)}`);
      }
    }
  }

  // ---- cold pair
  let coldCp: Result | undefined;
  let coldOurs: Result | undefined;
  if (COLD && canDrop) {
    coldCp = await runCp(ds, work, 'cold', 'cold');
    log(`  cold     ${line(coldCp, ds.bytes)}`);
    coldOurs = await runOurs(ds, work, 'cold', 'cold', sha512, sampleIndex++ * 7);
    log(`  cold     ${line(coldOurs, ds.bytes)}`);
  }
  log();

  // ---- hashing, for context
  const paths = ds.files.map((f) => f.path);
  const hashRuns: Array<{ label: string; run: Timed }> = [];
  const hashCmd = async (label: string, argv: string[], cache: 'warm' | 'cold') => {
    await prepare(cache, ds.files);
    const run = await timed(argv, { workDir: work });
    checkOk(run, label);
    hashRuns.push({ label: `${label} [${cache}]`, run });
  };
  await hashCmd('openssl dgst -sha512', ['openssl', 'dgst', '-sha512', ...paths], 'warm');
  await hashCmd('openssl dgst -sha256', ['openssl', 'dgst', '-sha256', ...paths], 'warm');
  await hashCmd('sha512sum', ['sha512sum', ...paths], 'warm');
  if (COLD && canDrop) await hashCmd('openssl dgst -sha512', ['openssl', 'dgst', '-sha512', ...paths], 'cold');
  // What stageStream must do on one thread: sha512 + sha256 of every byte (digestFile, warm).
  await prepare('warm', ds.files);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const p of paths) await digestFile(p);
  const nodeWall = Number(process.hrtime.bigint() - t0) / 1e9;
  const nodeCpu = process.cpuUsage(cpu0);

  // ---- breakdown
  const sum = (rs: Result[]) => rs.reduce((n, r) => n + r.run.wall, 0);
  const warmRatio = sum(warmCp) / sum(warmOurs); // = (bytes / ours time) / (bytes / cp time)
  const coldRatio = coldCp && coldOurs ? coldCp.run.wall / coldOurs.run.wall : undefined;
  let steps: StepTimes[] | undefined;
  const wantBreakdown = BREAKDOWN ?? (warmRatio < TARGET || (coldRatio !== undefined && coldRatio < TARGET));
  if (wantBreakdown) {
    const some = ds.files.slice(0, Math.min(ds.files.length, QUICK ? 4 : 6));
    log(`per-step breakdown over ${some.length} files (in-process, warm; see bench/ingest/breakdown.ts)…`);
    await prepare('warm', ds.files);
    steps = await breakdown(some, join(work, 'breakdown'), syncAll);
  }

  let whatIf: { cp: Result; variants: VariantResult[] } | undefined;
  if (WHAT_IF ?? (warmRatio < TARGET)) {
    log('what-if probes (in-process stageUpload + commitStaged, warm; see bench/ingest/what-if.ts)…');
    const cp = await runCp(ds, work, 'warm', 'what-if');
    log(`  ${line(cp, ds.bytes)}`);
    const variants: VariantResult[] = [];
    for (const v of VARIANTS) {
      await prepare('warm', ds.files);
      const r = await runVariant(v, ds.files, join(work, `what-if-${v}`));
      variants.push(r);
      log(`  ${v.padEnd(24)} ${fmt(mb(ds.bytes) / r.wall).padStart(7)} MB/s  ${fmt(r.wall, 2).padStart(6)} s  CPU ${fmt(r.cpu, 2)} s`);
    }
    whatIf = { cp, variants };
  }

  // ---- report
  log();
  log('='.repeat(100));
  log(`RESULTS  ${ds.files.length} files, ${fmt(mb(ds.bytes))} MB, same disk (${repoFs.source} ${repoFs.fstype}), MB = 10^6 bytes`);
  log('-'.repeat(100));
  for (const r of [...warmCp, ...warmOurs]) log(line(r, ds.bytes));
  const warmCpRate = (mb(ds.bytes) * warmCp.length) / sum(warmCp);
  const warmOursRate = (mb(ds.bytes) * warmOurs.length) / sum(warmOurs);
  log(`warm (all rounds): cp + sync ${fmt(warmCpRate)} MB/s, ours ${fmt(warmOursRate)} MB/s → ratio ours/(cp+sync) = ${fmt(warmRatio, 2)} (target ≥ ${TARGET}) ${verdict(warmRatio)}`);
  if (coldCp && coldOurs && coldRatio !== undefined) {
    log(line(coldCp, ds.bytes));
    log(line(coldOurs, ds.bytes));
    log(`cold: cp + sync ${fmt(mb(ds.bytes) / coldCp.run.wall)} MB/s, ours ${fmt(mb(ds.bytes) / coldOurs.run.wall)} MB/s → ratio = ${fmt(coldRatio, 2)} (target ≥ ${TARGET}) ${verdict(coldRatio)}`);
  } else log(`cold: not run (${COLD ? 'drop_caches not permitted' : '--no-cold'})`);
  log('-'.repeat(100));
  for (const h of hashRuns) {
    log(`${h.label.padEnd(30)} ${fmt(mb(ds.bytes) / h.run.wall).padStart(7)} MB/s  ${fmt(h.run.wall, 2).padStart(6)} s  CPU ${fmt(h.run.user + h.run.sys, 2)} s  others' CPU ${fmt(h.run.others, 1)} s`);
  }
  const nodeCpuS = (nodeCpu.user + nodeCpu.system) / 1e6;
  log(`${'node sha512+sha256 [warm]'.padEnd(30)} ${fmt(mb(ds.bytes) / nodeWall).padStart(7)} MB/s  ${fmt(nodeWall, 2).padStart(6)} s  CPU ${fmt(nodeCpuS, 2)} s  (digestFile: one pass, one thread, both digests)`);
  if (steps) {
    log('-'.repeat(100));
    const total = (k: keyof StepTimes, part: 'wall' | 'cpu') => steps!.reduce((n, s) => n + s[k][part], 0);
    const pipeline: Array<keyof StepTimes> = ['stage', 'identify', 'decode', 'journal', 'ocfl', 'event'];
    const all = pipeline.reduce((n, k) => n + total(k, 'wall'), 0);
    const allCpu = pipeline.reduce((n, k) => n + total(k, 'cpu'), 0);
    const bytes = ds.files.slice(0, steps.length).reduce((n, f) => n + f.size, 0);
    log(`breakdown, ${steps.length} files, ${fmt(mb(bytes))} MB: pipeline ${fmt(all, 2)} s wall = ${fmt(mb(bytes) / all)} MB/s, ${fmt(allCpu, 2)} s CPU (all threads)`);
    for (const k of pipeline) {
      const w = total(k, 'wall');
      const c = total(k, 'cpu');
      log(`  ${k.padEnd(10)} ${fmt(w, 2).padStart(6)} s wall ${fmt((100 * w) / all).padStart(5)} %  ${fmt(mb(bytes) / w, 0).padStart(6)} MB/s alone   CPU ${fmt(c, 2).padStart(5)} s`);
    }
    const what: Record<string, string> = {
      hashOnly: 'stage part: sha512+sha256 alone, bytes in memory',
      writeOnly: 'stage part: 1 MiB writes + fsync alone, no hash',
      decodeLastRow: 'candidate decode check: sequential decode, keep the last row',
    };
    for (const k of ['hashOnly', 'writeOnly', 'decodeLastRow'] as const) {
      const w = total(k, 'wall');
      const c = total(k, 'cpu');
      log(`  (${what[k]}) ${fmt(w, 2)} s wall = ${fmt(mb(bytes) / w, 0)} MB/s, CPU ${fmt(c, 2)} s`);
    }
  }
  if (whatIf) {
    log('-'.repeat(100));
    const cpWall = whatIf.cp.run.wall;
    log(`what-if (in-process, warm; cp + sync just before: ${fmt(mb(ds.bytes) / cpWall)} MB/s):`);
    for (const r of whatIf.variants) {
      const ratio = cpWall / r.wall;
      log(`  ${r.variant.padEnd(16)} ${fmt(mb(ds.bytes) / r.wall).padStart(7)} MB/s  CPU ${fmt(r.cpu, 2).padStart(6)} s  ratio ${fmt(ratio, 2)} ${verdict(ratio)}`);
    }
  }
  log('='.repeat(100));
} finally {
  cleanup();
}

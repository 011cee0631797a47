/**
 * Fixity benchmark: our fixity hashing (src/storage/fixity.ts `checkFile` on one thread, and
 * src/storage/fixity-pool.ts `FixityPool` on every core) side by side with `openssl dgst
 * -sha512` over the same files, in one run, on the same machine, cold and warm, printing MB/s,
 * CPU seconds and MB per CPU-second for every side, and the ratios against the targets:
 *   - per core:  checkFile ≥ 0.95 × `openssl dgst -sha512` (one process);
 *   - all cores: FixityPool(N) ≥ 0.9 × N × `openssl dgst -sha512` (one process): 1.8× on 2 cores.
 * Context: `openssl dgst -sha512` as N processes over interleaved halves (the N-core
 * reference), and coreutils `sha512sum`. The reference is set up as /work/shared/REFERENCE.md
 * ("Hashing and disk") describes.
 *
 *   npm run bench:fixity                 64 × 64 MiB and 1,000 × 4 MiB (≈ 4.2 GB each), 4 warm rounds + 2 cold (≈ 40 min)
 *   npm run bench:fixity -- --quick      16 × 64 MiB and 250 × 4 MiB (≈ 1 GB each), 1 warm round + 1 cold
 *
 * Options: --keep (keep the run dir: results.json, the control files), --rounds=N (warm
 * rounds), --cold-rounds=N, --sides=ours,pool1,pool (only these beside openssl), --no-cold, --only=large|many (one dataset), --quiet-wait=S (default 30: how long
 * to wait for a quiet machine before each run), --profile / --no-profile (the probes of
 * bench/fixity/probes.ts, warm and cold: by default only when a sha512 target is missed).
 *
 * Method.
 *  - Data (bench/fixity/dataset.ts): incompressible bytes (AES-CTR keystream), generated once
 *    into $TMPDIR/thukho-bench-fixity/ and re-used (the cache is kept; rm -rf it to free the
 *    disk). Expected digests come from `openssl dgst -sha512` / `-sha256` at generation.
 *  - Sides, in turn (never two at once): openssl dgst -sha512 -r FILES (one process) ·
 *    checkFile(path, {sha512, size}, {algorithms: ['sha512']}) file after file, on the main
 *    thread (what the fixity worker asks for a master) · the same through FixityPool(1): one
 *    pool thread, checkFile's path in the worker, whose checks all run in a pool · checkFile
 *    with sha512 + sha256 (the issue's "sha512 and sha256") · FixityPool(N) with all files
 *    submitted at once, sha512, then sha512 + sha256 ·
 *    openssl as N processes, file i to process i mod N (the N-core reference); the order is
 *    reversed every other round, and sha512sum runs once per cache state, for context. Ours
 *    run in this process, with no read budget (unlimited); a fresh pool per run, its threads
 *    started (one tiny check each) before the clock starts, as in the long-lived worker; the
 *    start-up is printed apart.
 *  - Cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before each run (as root; when not
 *    permitted, cold runs are skipped and the output says so). Warm: every byte read once
 *    before each run. Then we wait (≤ 30 s) for a nearly idle second of this shared machine.
 *  - Measured per run: wall seconds; CPU (user + sys) from /usr/bin/time for children, from
 *    process.cpuUsage() for ours (all threads, libuv's pool and the FixityPool's included);
 *    bytes read from the disk (ru_inblock: proves a cold run read the disk, flags a warm run
 *    whose cache someone dropped); CPU seconds other processes used meanwhile ("others"). A
 *    run in which others used > 15 % of the machine is marked "disturbed".
 *  - Ratios: this VM's speed drifts by ±20 % over minutes (other tenants, steal time), so a
 *    ratio is taken within a round, from openssl's run and ours a few seconds apart, and the
 *    median over the rounds is judged (range shown), leaving out disturbed rounds when there
 *    are undisturbed ones. The same by MB per CPU-second is shown beside it. The table shows
 *    each side's best run.
 *  - Correctness: every digest of every run is checked, openssl's against the generation-time
 *    digests and ours against openssl's of this run; every check must `pass` with the file's
 *    size read. Before the timed runs a control proves that checkFile and the pool do report
 *    an altered and a truncated file. A run with any wrong answer is INVALID and the bench
 *    exits 1: a fast wrong answer cannot win.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { checkFile, type FileCheck } from '../../src/storage/fixity.ts';
import { FixityPool } from '../../src/storage/fixity-pool.ts';
import { dropCaches, waitQuiet } from '../machine.ts';
import { CACHE_DIR, type Dataset, type DatasetFile, makeDataset, parseOpensslR, parseSha512sum, SHAPES, type Shape } from './dataset.ts';
import { HAVE_TIME, type Measured, runChildren, runHere, TIME_BIN } from './measure.ts';
import { line as probeLine, opensslSpeed, type ProbeResult, runColdProbes, runProbes } from './probes.ts';

// ---------------------------------------------------------------------------------------
// Settings

const args = process.argv.slice(2);
const known = ['quick', 'keep', 'rounds', 'cold-rounds', 'no-cold', 'only', 'sides', 'profile', 'no-profile', 'quiet-wait'];
for (const a of args) {
  const name = a.replace(/^--/, '').split('=')[0] ?? '';
  if (!a.startsWith('--') || !known.includes(name)) {
    process.stderr.write(`unknown argument ${a}; options: ${known.map((k) => `--${k}`).join(' ')}\n`);
    process.exit(2);
  }
}
const flag = (name: string) => args.includes(`--${name}`);
const strArg = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = flag('quick');
const KEEP = flag('keep');
const COLD = !flag('no-cold');
const ROUNDS = (() => {
  const v = strArg('rounds');
  if (v === undefined) return QUICK ? 1 : 4;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error('--rounds wants a positive integer');
  return n;
})();
/** Seconds to wait, at most, for a nearly idle second before each run. */
const QUIET_WAIT = (() => {
  const v = strArg('quiet-wait');
  const n = v === undefined ? 30 : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error('--quiet-wait wants seconds ≥ 0');
  return n;
})();
/** Cold rounds cost a disk read of the whole dataset per side: fewer of them. */
const COLD_ROUNDS = (() => {
  const v = strArg('cold-rounds');
  if (v === undefined) return QUICK ? 1 : 2;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error('--cold-rounds wants a positive integer');
  return n;
})();
const ONLY = strArg('only');
if (ONLY !== undefined && ONLY !== 'large' && ONLY !== 'many') throw new Error('--only=large or --only=many');
const PROFILE: boolean | undefined = flag('profile') ? true : flag('no-profile') ? false : undefined;
const SHAPE_LIST: Shape[] = [SHAPES.large, SHAPES.many].filter((s) => ONLY === undefined || s.name === ONLY);
const COUNT: Record<Shape['name'], number> = { large: QUICK ? 16 : 64, many: QUICK ? 250 : 1000 };

const CORES = os.availableParallelism();
const TARGET_CORE = 0.95;
const TARGET_ALL = 0.9 * CORES;
/** Share of the machine others may use during a run before it is marked disturbed. */
const DISTURBED = 0.15;

const log = (text = '') => process.stdout.write(`${text}\n`);
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const mb = (bytes: number) => bytes / 1e6;

// ---------------------------------------------------------------------------------------
// Sides

type Cache = 'warm' | 'cold';
type SideId = 'openssl' | 'opensslN' | 'sha512sum' | 'ours' | 'oursBoth' | 'pool1' | 'pool' | 'poolBoth';
/**
 * The order of a round (reversed every other round): what is compared with openssl runs next
 * to it, so that a ratio is taken from two runs a few seconds apart. sha512sum is context
 * only: first round of each cache state.
 */
const ALL_ROUND_SIDES: SideId[] = ['openssl', 'ours', 'pool1', 'oursBoth', 'pool', 'poolBoth', 'opensslN'];
/** --sides=pool1,pool: only these beside openssl (which every ratio needs), for more rounds in the same time. */
const ROUND_SIDES: SideId[] = (() => {
  const v = strArg('sides');
  if (v === undefined) return ALL_ROUND_SIDES;
  const wanted = v.split(',');
  for (const w of wanted) if (!ALL_ROUND_SIDES.includes(w as SideId)) throw new Error(`--sides: ${w}? one of ${ALL_ROUND_SIDES.join(',')}`);
  return ALL_ROUND_SIDES.filter((side) => side === 'openssl' || wanted.includes(side));
})();
const SIDES: SideId[] = ['openssl', 'opensslN', 'sha512sum', 'ours', 'oursBoth', 'pool1', 'pool', 'poolBoth'];
const LABEL: Record<SideId, string> = {
  openssl: 'openssl dgst -sha512',
  opensslN: `openssl dgst -sha512 ×${CORES} procs`,
  sha512sum: 'sha512sum',
  ours: 'checkFile sha512',
  pool1: 'FixityPool(1) sha512',
  oursBoth: 'checkFile sha512+sha256',
  pool: `FixityPool(${CORES}) sha512`,
  poolBoth: `FixityPool(${CORES}) sha512+sha256`,
};

interface Digest {
  sha512?: string;
  sha256?: string;
}

interface SideOutput {
  m: Measured;
  digests: Map<string, Digest>;
  /** Checks that did not `pass` or read fewer bytes than the file has (ours only). */
  notPassed: string[];
  startupMs?: number;
}

interface Run {
  dataset: Shape['name'];
  cache: Cache;
  round: number;
  side: SideId;
  m: Measured;
  problems: string[];
  startupMs?: number;
}

const runs: Run[] = [];

function interleave(paths: string[], n: number): string[][] {
  return Array.from({ length: n }, (_, k) => paths.filter((_, i) => i % n === k));
}

async function opensslSide(ds: Dataset, work: string, processes: number): Promise<SideOutput> {
  const paths = ds.files.map((f) => f.path);
  const r = await runChildren(interleave(paths, processes).map((part) => ['openssl', 'dgst', '-sha512', '-r', ...part]), work);
  const digests = new Map<string, Digest>();
  for (const out of r.stdouts) for (const [p, hex] of parseOpensslR(out)) digests.set(p, { sha512: hex });
  return { m: r, digests, notPassed: [] };
}

async function sha512sumSide(ds: Dataset, work: string): Promise<SideOutput> {
  const r = await runChildren([['sha512sum', ...ds.files.map((f) => f.path)]], work);
  const digests = new Map<string, Digest>();
  for (const [p, hex] of parseSha512sum(r.stdouts[0] ?? '')) digests.set(p, { sha512: hex });
  return { m: r, digests, notPassed: [] };
}

const expectedFor = (f: DatasetFile, both: boolean) => (both ? { sha512: f.sha512, sha256: f.sha256, size: f.size } : { sha512: f.sha512, size: f.size });
const algorithmsFor = (both: boolean): Array<'sha512' | 'sha256'> => (both ? ['sha512', 'sha256'] : ['sha512']);

function collect(ds: Dataset, results: FileCheck[]): Pick<SideOutput, 'digests' | 'notPassed'> {
  const digests = new Map<string, Digest>();
  const notPassed: string[] = [];
  results.forEach((r, i) => {
    const f = ds.files[i] as DatasetFile;
    digests.set(f.path, r.actual);
    if (r.outcome !== 'pass' || r.bytes !== f.size) notPassed.push(`${f.path}: ${r.outcome}${r.failure ? ` (${r.failure})` : ''}, ${r.bytes} bytes${r.detail ? `: ${r.detail}` : ''}`);
  });
  return { digests, notPassed };
}

async function oursSide(ds: Dataset, both: boolean): Promise<SideOutput> {
  const m = await runHere(async () => {
    const out: FileCheck[] = [];
    for (const f of ds.files) out.push(await checkFile(f.path, expectedFor(f, both), { algorithms: algorithmsFor(both) }));
    return out;
  });
  return { m, ...collect(ds, m.value) };
}

async function poolSide(ds: Dataset, both: boolean, tiny: string, threads = CORES): Promise<SideOutput> {
  const pool = new FixityPool(threads);
  try {
    // Threads start on demand: one tiny check per thread starts them all, as a long-lived
    // worker's pool has long been started when a cycle begins.
    const t0 = performance.now();
    await Promise.all(Array.from({ length: threads }, () => pool.check(tiny, {}, { algorithms: ['sha512'] })));
    const startupMs = performance.now() - t0;
    const m = await runHere(() => Promise.all(ds.files.map((f) => pool.check(f.path, expectedFor(f, both), { algorithms: algorithmsFor(both) }))));
    return { m, ...collect(ds, m.value), startupMs };
  } finally {
    await pool.close();
  }
}

/**
 * Every digest a side produced must be the reference's (openssl's of this run for ours, the
 * generation-time openssl digests for the children); a side must name every file.
 */
function verify(ds: Dataset, side: SideId, out: SideOutput, reference: Map<string, string>): string[] {
  const problems: string[] = [...out.notPassed.slice(0, 5).map((p) => `not passed: ${p}`)];
  if (out.notPassed.length > 5) problems.push(`… and ${out.notPassed.length - 5} more not passed`);
  const wantSha256 = side === 'oursBoth' || side === 'poolBoth';
  let wrong = 0;
  for (const f of ds.files) {
    const d = out.digests.get(f.path);
    const ref = reference.get(f.path) ?? f.sha512;
    const bad = !d || d.sha512 !== ref || d.sha512 !== f.sha512 || (wantSha256 && d.sha256 !== f.sha256);
    if (bad && wrong++ < 5) problems.push(`wrong or missing digest for ${f.path}: ${JSON.stringify(d ?? null).slice(0, 80)}`);
  }
  if (wrong > 5) problems.push(`… ${wrong} files with wrong or missing digests in all`);
  return problems;
}

// ---------------------------------------------------------------------------------------
// Machine state before a run

let CAN_DROP = false;

/** Every byte of the files read once (into the page cache). */
function warmUp(files: DatasetFile[]): void {
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

async function prepare(cache: Cache, files: DatasetFile[]): Promise<void> {
  spawnSync('sync');
  if (cache === 'cold') {
    if (!dropCaches()) throw new Error('cannot drop the page cache');
  } else warmUp(files);
  const busy = await waitQuiet(QUIET_WAIT);
  if (busy >= DISTURBED) log(`    (machine still ${fmt(100 * busy, 0)} % busy after waiting ${QUIET_WAIT} s; measuring anyway)`);
}

// ---------------------------------------------------------------------------------------
// Output

const othersShare = (m: Measured) => m.others / (m.wall * CORES);
const disturbed = (m: Measured) => othersShare(m) > DISTURBED;

function runLine(label: string, m: Measured, bytes: number, extra = ''): string {
  const cpu = m.user + m.sys;
  const disk = Number.isFinite(m.diskRead) ? `${fmt(mb(m.diskRead), 0)} MB` : 'n/a';
  return (
    `${label.padEnd(34)} ${fmt(mb(bytes) / m.wall, 0).padStart(6)} MB/s ${fmt(m.wall, 2).padStart(7)} s  CPU ${fmt(cpu, 2).padStart(6)} s (u ${fmt(m.user, 2)} + s ${fmt(m.sys, 2)}) ` +
    `${fmt(mb(bytes) / cpu, 0).padStart(5)} MB/CPU-s  disk ${disk.padStart(7)}  others ${fmt(m.others, 1)} s${disturbed(m) ? '  DISTURBED' : ''}${extra}`
  );
}

function best(dataset: Shape['name'], cache: Cache, side: SideId): Run | undefined {
  return runs
    .filter((r) => r.dataset === dataset && r.cache === cache && r.side === side && r.problems.length === 0)
    .sort((a, b) => a.m.wall - b.m.wall)[0];
}

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
};

interface Paired {
  /** Median over rounds of openssl's wall time / the side's, both from the same round. */
  ratio: number;
  min: number;
  max: number;
  rounds: number;
  /** Same, by MB per CPU-second. */
  cpuRatio: number;
  /** Rounds used in which either run was disturbed (only when every round was). */
  disturbed: number;
  /** Disturbed rounds left out. */
  left: number;
}

/** `against` (default openssl dgst -sha512, one process) vs `side`, round by round. */
function paired(dataset: Shape['name'], cache: Cache, side: SideId, against: SideId = 'openssl'): Paired | undefined {
  const pairs: Array<{ ratio: number; cpu: number; noisy: boolean }> = [];
  const rounds = new Set(runs.filter((r) => r.dataset === dataset && r.cache === cache).map((r) => r.round));
  for (const round of rounds) {
    const find = (s: SideId) => runs.find((r) => r.dataset === dataset && r.cache === cache && r.round === round && r.side === s && r.problems.length === 0);
    const o = find(against);
    const x = find(side);
    if (!o || !x) continue;
    pairs.push({ ratio: o.m.wall / x.m.wall, cpu: (o.m.user + o.m.sys) / (x.m.user + x.m.sys), noisy: disturbed(o.m) || disturbed(x.m) });
  }
  if (!pairs.length) return undefined;
  // Rounds in which somebody else's work competed for the CPU say little: left out when others are left.
  const quiet = pairs.filter((p) => !p.noisy);
  const used = quiet.length ? quiet : pairs;
  const ratios = used.map((p) => p.ratio);
  return { ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), rounds: used.length, cpuRatio: median(used.map((p) => p.cpu)), disturbed: quiet.length ? 0 : pairs.length, left: pairs.length - used.length };
}

// ---------------------------------------------------------------------------------------
// Control: a wrong file must be reported as wrong

async function control(work: string): Promise<string[]> {
  const problems: string[] = [];
  const good = join(work, 'control-good.bin');
  const altered = join(work, 'control-altered.bin');
  const short = join(work, 'control-short.bin');
  const bytes = randomBytes(3 * (1 << 20) + 12345);
  writeFileSync(good, bytes);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x01;
  writeFileSync(altered, flipped);
  writeFileSync(short, bytes);
  truncateSync(short, bytes.length - 1);
  const ref = parseOpensslR(spawnSync('openssl', ['dgst', '-sha512', '-r', good], { encoding: 'utf8' }).stdout);
  const ref256 = parseOpensslR(spawnSync('openssl', ['dgst', '-sha256', '-r', good], { encoding: 'utf8' }).stdout);
  const expected = { sha512: ref.get(good) as string, sha256: ref256.get(good) as string, size: bytes.length };
  const pool = new FixityPool(CORES);
  try {
    for (const [name, check] of [
      ['checkFile', (p: string) => checkFile(p, expected, { algorithms: ['sha512', 'sha256'] })],
      ['FixityPool', (p: string) => pool.check(p, expected, { algorithms: ['sha512', 'sha256'] })],
    ] as const) {
      const g = await check(good);
      if (g.outcome !== 'pass' || g.actual.sha512 !== expected.sha512 || g.actual.sha256 !== expected.sha256) problems.push(`${name}: the intact file did not pass (${JSON.stringify(g)})`);
      const a = await check(altered);
      if (a.outcome !== 'fail' || a.failure !== 'changed') problems.push(`${name}: a file with one bit flipped was not reported as changed (${a.outcome}/${a.failure})`);
      const s = await check(short);
      if (s.outcome !== 'fail' || s.failure !== 'truncated') problems.push(`${name}: a file one byte short was not reported as truncated (${s.outcome}/${s.failure})`);
    }
  } finally {
    await pool.close();
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// Main

const version = (cmd: string, argv: string[]) => (spawnSync(cmd, argv, { encoding: 'utf8' }).stdout ?? '').split('\n')[0]?.trim() ?? '?';
const cpus = os.cpus();
log(`thukho fixity bench${QUICK ? ' (--quick)' : ''}: checkFile / FixityPool vs ${version('openssl', ['version'])} and ${version('sha512sum', ['--version'])}`);
log(`machine: ${cpus[0]?.model ?? '?'} × ${CORES}, ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, node ${process.version} (OpenSSL ${process.versions.openssl}), ${os.platform()} ${os.release()}`);
CAN_DROP = dropCaches();
log(
  CAN_DROP
    ? 'page cache: dropping is permitted (running as root) — cold runs start after `sync; echo 3 > /proc/sys/vm/drop_caches`'
    : 'page cache: dropping is NOT permitted (not root?) — cold runs skipped, warm only',
);
if (!HAVE_TIME) {
  log(`${TIME_BIN} is missing (apt-get install time): needed for the CPU of the reference tools`);
  process.exit(2);
}
const DO_COLD = COLD && CAN_DROP;
log(`runs: ${ROUNDS} warm round(s)${DO_COLD ? ` + ${COLD_ROUNDS} cold` : ''} per dataset; ratio = median over rounds of (openssl's time / ours) within a round; targets: per core ≥ ${fmt(TARGET_CORE, 2)}×, ${CORES} cores ≥ ${fmt(TARGET_ALL, 2)}× openssl dgst -sha512 (one process)`);
log();

const work = mkdtempSync(join(os.tmpdir(), 'thukho-bench-fixity-run-'));
const cleanup = () => {
  if (KEEP) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

let exitCode = 0;
const datasets: Dataset[] = [];
const probeResults = new Map<Shape['name'], ProbeResult[]>();
let speed: { sha512: number; sha256: number; sha512small: number } | undefined;
try {
  // ---- data
  log(`datasets (cache ${CACHE_DIR}, kept for later runs):`);
  for (const shape of SHAPE_LIST) {
    const ds = await makeDataset(shape, COUNT[shape.name], log);
    datasets.push(ds);
    log(`  ${shape.name}: ${ds.files.length} × ${shape.size >> 20} MiB = ${fmt(mb(ds.bytes), 0)} MB in ${ds.dir}`);
  }
  const tiny = join(work, 'tiny.bin');
  writeFileSync(tiny, randomBytes(4096));

  // ---- control
  const controlProblems = await control(work);
  if (controlProblems.length) {
    log('CONTROL FAILED — our fixity does not report damaged files; no figure below can be trusted:');
    for (const p of controlProblems) log(`  ${p}`);
    exitCode = 1;
  } else log('control: checkFile and FixityPool pass an intact file, report a 1-bit flip as changed and a 1-byte-short file as truncated');
  log();

  // ---- runs
  for (const ds of datasets) {
    const name = ds.shape.name;
    // openssl's digests of this run: what ours must match.
    const reference = new Map<string, string>();
    const caches: Array<[Cache, number]> = [['warm', ROUNDS]];
    if (DO_COLD) caches.push(['cold', COLD_ROUNDS]);
    for (const [cache, rounds] of caches) {
      for (let round = 0; round < rounds; round++) {
        log(`${name} (${ds.files.length} × ${ds.shape.size >> 20} MiB), ${cache}, round ${round + 1}/${rounds}:`);
        const order = round % 2 === 0 ? [...ROUND_SIDES] : [...ROUND_SIDES].reverse();
        if (round === 0 && ROUND_SIDES === ALL_ROUND_SIDES) order.push('sha512sum');
        // openssl (one process) first in a round that has no reference digests yet.
        const ordered = reference.size === 0 ? (['openssl', ...order.filter((s) => s !== 'openssl')] as SideId[]) : order;
        for (const side of ordered) {
          await prepare(cache, ds.files);
          let out: SideOutput;
          try {
            switch (side) {
              case 'openssl':
                out = await opensslSide(ds, work, 1);
                break;
              case 'opensslN':
                out = await opensslSide(ds, work, CORES);
                break;
              case 'sha512sum':
                out = await sha512sumSide(ds, work);
                break;
              case 'ours':
                out = await oursSide(ds, false);
                break;
              case 'oursBoth':
                out = await oursSide(ds, true);
                break;
              case 'pool1':
                out = await poolSide(ds, false, tiny, 1);
                break;
              case 'pool':
                out = await poolSide(ds, false, tiny);
                break;
              case 'poolBoth':
                out = await poolSide(ds, true, tiny);
                break;
            }
          } catch (err) {
            log(`  ${LABEL[side].padEnd(34)} ERROR ${(err as Error).message.split('\n')[0]}`);
            exitCode = 1;
            continue;
          }
          if (side === 'openssl' && reference.size === 0) for (const [p, d] of out.digests) if (d.sha512) reference.set(p, d.sha512);
          const problems = verify(ds, side, out, reference);
          const run: Run = { dataset: name, cache, round, side, m: out.m, problems, ...(out.startupMs !== undefined ? { startupMs: out.startupMs } : {}) };
          runs.push(run);
          const coldNote = cache === 'warm' && out.m.diskRead > ds.bytes * 0.05 ? `  (read ${fmt(mb(out.m.diskRead), 0)} MB from disk: the cache was dropped under this warm run)` : '';
          const startNote = out.startupMs !== undefined ? `  (threads started in ${fmt(out.startupMs, 0)} ms, before the clock)` : '';
          log(`  ${runLine(LABEL[side], out.m, ds.bytes, `${problems.length ? '  INVALID' : '  digests ok'}${coldNote}${startNote}`)}`);
          for (const p of problems) log(`    !!! ${p}`);
          if (problems.length) exitCode = 1;
        }
      }
    }
    log();
  }

  // ---- profile
  // The worker's variant (sha512) decides: a miss on one thread or on all cores, warm or cold.
  const misses: string[] = [];
  for (const ds of datasets) {
    for (const cache of ['warm', 'cold'] as const) {
      for (const [side, target] of [
        ['ours', TARGET_CORE],
        ['pool1', TARGET_CORE],
        ['pool', TARGET_ALL],
      ] as Array<[SideId, number]>) {
        const p = paired(ds.shape.name, cache, side);
        if (p && p.ratio < target) misses.push(`${LABEL[side]} ${ds.shape.name} ${cache}`);
      }
    }
  }
  if (PROFILE ?? misses.length > 0) {
    log(`profile (${PROFILE ? '--profile' : `missed: ${misses.join(', ')}`}): bench/fixity/probes.ts, one thread unless said, best of ${QUICK ? 1 : 2} warm, 1 cold`);
    speed = { sha512: opensslSpeed('sha512', 4 << 20), sha256: opensslSpeed('sha256', 4 << 20), sha512small: opensslSpeed('sha512', 8192) };
    log(`  openssl speed (user CPU): sha512 ${fmt(mb(speed.sha512), 0)} MB/s on 4 MiB blocks, ${fmt(mb(speed.sha512small), 0)} MB/s on 8 KiB blocks (openssl dgst's read size); sha256 ${fmt(mb(speed.sha256), 0)} MB/s`);
    for (const ds of datasets) {
      // About 1 GB of each shape: enough to be steady, short enough to repeat.
      const files = ds.files.slice(0, Math.max(1, Math.min(ds.files.length, Math.round(1.07e9 / ds.shape.size))));
      log(`  ${ds.shape.name}: ${files.length} × ${ds.shape.size >> 20} MiB, warm`);
      const warm = async () => {
        warmUp(files);
        await waitQuiet(5);
      };
      const results = await runProbes({ files, repeat: QUICK ? 1 : 2, warm, log });
      if (DO_COLD) {
        log(`  ${ds.shape.name}: ${files.length} × ${ds.shape.size >> 20} MiB, cold`);
        results.push(...(await runColdProbes({ files, cores: CORES, cold: () => prepare('cold', files), workDir: work, log })));
      }
      probeResults.set(ds.shape.name, results);
    }
    log();
  }
} catch (err) {
  exitCode = 1;
  log();
  log(`ERROR: ${(err as Error).stack ?? String(err)}`);
}

// ---------------------------------------------------------------------------------------
// Report

const W = 132;
log('='.repeat(W));
log(`RESULTS  MB = 10^6 bytes; each side's best valid run (n = runs, range of MB/s); CPU = user + sys of all processes/threads; disk = bytes read from the disk during the run`);
for (const ds of datasets) {
  const name = ds.shape.name;
  log('-'.repeat(W));
  log(`${name}: ${ds.files.length} × ${ds.shape.size >> 20} MiB = ${fmt(mb(ds.bytes), 0)} MB`);
  for (const cache of ['warm', 'cold'] as const) {
    for (const side of SIDES) {
      const all = runs.filter((r) => r.dataset === name && r.cache === cache && r.side === side);
      if (!all.length) continue;
      const b = best(name, cache, side);
      const rates = all.filter((r) => r.problems.length === 0).map((r) => mb(ds.bytes) / r.m.wall);
      const spread = rates.length > 1 ? `  n=${all.length}, ${fmt(Math.min(...rates), 0)}–${fmt(Math.max(...rates), 0)} MB/s` : `  n=${all.length}`;
      if (!b) log(`  [${cache}] ${LABEL[side].padEnd(34)} INVALID in every run`);
      else log(`  [${cache}] ${runLine(LABEL[side], b.m, ds.bytes, spread)}`);
    }
  }
}
log('-'.repeat(W));
log('ratios ours / openssl dgst -sha512 (one process), speed: median over rounds of the two runs of one round (range); CPU: the same by MB per CPU-second');
const ratioText = (x: number, target: number) => fmt(x, Math.abs(x - target) < 0.01 ? 3 : 2);
for (const ds of datasets) {
  const name = ds.shape.name;
  for (const cache of ['warm', 'cold'] as const) {
    if (!runs.some((r) => r.dataset === name && r.cache === cache)) continue;
    log(`  ${name} ${cache}:`);
    for (const [side, target, what] of [
      ['ours', TARGET_CORE, 'per core, sha512, main thread'],
      ['pool1', TARGET_CORE, 'per core, sha512, pool thread'],
      ['oursBoth', TARGET_CORE, 'per core, sha512+sha256'],
      ['pool', TARGET_ALL, `${CORES} cores, sha512 (the worker's way)`],
      ['poolBoth', TARGET_ALL, `${CORES} cores, sha512+sha256`],
      ['opensslN', TARGET_ALL, `(openssl ×${CORES} processes)`],
    ] as Array<[SideId, number, string]>) {
      const p = paired(name, cache, side);
      if (!p) {
        log(`    ${what.padEnd(34)} n/a`);
        continue;
      }
      const range = `${p.rounds > 1 ? ` (${fmt(p.min, 2)}–${fmt(p.max, 2)}, ${p.rounds} rounds)` : ' (1 round)'}${p.left ? `, ${p.left} disturbed round(s) left out` : ''}`;
      const judged = side === 'opensslN' ? 'reference' : `${verdict(p.ratio >= target)} (target ≥ ${fmt(target, 2)}×)`;
      const noisy = p.disturbed ? '  — unreliable: every round was disturbed by other work' : '';
      log(`    ${what.padEnd(34)} ${ratioText(p.ratio, target).padStart(5)}× ${judged}${range}  CPU ${fmt(p.cpuRatio, 2)}×${noisy}`);
    }
  }
}
// What adding sha256 costs (the issue's "sha512 and sha256"; the worker computes one digest per file).
const costs: string[] = [];
for (const ds of datasets) {
  for (const cache of ['warm', 'cold'] as const) {
    const p = paired(ds.shape.name, cache, 'oursBoth', 'ours');
    if (p) costs.push(`${ds.shape.name} ${cache}: +${fmt(100 * (1 / p.ratio - 1), 0)} % time, +${fmt(100 * (1 / p.cpuRatio - 1), 0)} % CPU`);
  }
}
if (costs.length) {
  log(`sha256 on top of sha512 (checkFile, one thread; median over rounds): ${costs.join('; ')}`);
  log('  the fixity worker asks for one digest per file (src/application/fixity.ts: sha512 for masters, OCFL\'s digest; sha256 for pyramids) and runs every check');
  log('  in its FixityPool (workers/fixity.ts), so the "sha512" rows, "pool thread" and FixityPool, are what it does');
}
const starts = runs.filter((r) => r.startupMs !== undefined).map((r) => r.startupMs as number);
if (starts.length) log(`FixityPool(${CORES}) thread start-up (not in the figures): ${fmt(Math.min(...starts), 0)}–${fmt(Math.max(...starts), 0)} ms per pool`);
if (probeResults.size) {
  log('-'.repeat(W));
  log('profile (see bench/fixity/probes.ts): MB/s, MB per CPU-second; warm best of runs, cold one run each');
  if (speed) log(`  openssl speed: sha512 ${fmt(mb(speed.sha512), 0)} MB/CPU-s (4 MiB blocks), ${fmt(mb(speed.sha512small), 0)} (8 KiB blocks); sha256 ${fmt(mb(speed.sha256), 0)}`);
  for (const [name, results] of probeResults) {
    log(`  ${name}:`);
    for (const r of results) log(`    ${probeLine(r)}`);
  }
}
log('='.repeat(W));

writeFileSync(join(work, 'results.json'), JSON.stringify({ datasets: datasets.map((d) => ({ shape: d.shape, files: d.files.length, bytes: d.bytes })), runs, probes: Object.fromEntries(probeResults), speed }, null, 2));
cleanup();
{
  const cached = datasets.reduce((n, d) => n + d.files.reduce((k, f) => k + (statSync(f.path, { throwIfNoEntry: false })?.size ?? 0), 0), 0);
  log(`dataset cache kept for later runs: ${CACHE_DIR} (${fmt(cached / 1e9, 1)} GB of it used by this run; rm -rf it to free the disk)`);
}
process.exit(exitCode);

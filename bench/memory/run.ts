/**
 * `npm run bench:memory [-- --quick]`: how much memory the embedded profile (`thukho serve`:
 * the server, the worker processes it starts, and the redis-server it starts when REDIS_URL is
 * unset) holds, idle and while a few pages are ingested, against the 500 MB target for a small
 * province's server (issue 20).
 *
 * What it does, as an operator would: a fresh THUKHO_DATA_DIR, a staff token from `thukho users
 * add`, `thukho serve` as the leader of its own process group on a free port; then
 *  1. idle: waits until every process of the tree is there and the total has settled, and
 *     samples it;
 *  2. under ingest: uploads THUKHO_BENCH_MEMORY_PAGES synthetic page images (A4 at 300 dpi with
 *     lines of Vietnamese text, so that the OCR worker has real work) through the HTTP API and
 *     samples every 500 ms until each page's derivative and OCR are done: the peak and mean;
 *  3. after: idle again (what the workers give back once the work is done).
 * Each sample sums every process of the tree: PSS from /proc/PID/smaps_rollup (a shared page
 * counts once over all the processes that share it), else RSS; the table says which.
 *
 * Redis: REDIS_URL (default redis://127.0.0.1:6379) with a queue prefix of its own, whose keys
 * are deleted at the end; that server is not ours and is not counted. THUKHO_BENCH_MEMORY_REDIS=
 * private leaves REDIS_URL unset, as `npm run demo` does: thukho starts its own redis-server,
 * which is then counted.
 *
 * Passed on to `thukho serve` when set: THUKHO_WORKER_PROCESSES, THUKHO_OCR, THUKHO_OCR_*,
 * THUKHO_WORKER_*, THUKHO_DERIVATIVE*, THUKHO_IIIF_*, MALLOC_ARENA_MAX, NODE_OPTIONS (e.g.
 * THUKHO_WORKER_PROCESSES=each for the layout before issue 20).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { freePort, killAllGroups, sleep, startGroup, stopGroup, tail, waitForPort, type Group } from '../iiif/procs.ts';
import { CLK_TCK } from '../machine.ts';
import { REPO, apiCall, createStaffToken, dropQueueKeys } from '../iiif/thukho.ts';

const QUICK = process.argv.includes('--quick');
const PAGES = Math.max(1, Number(process.env.THUKHO_BENCH_MEMORY_PAGES ?? (QUICK ? 2 : 4)));
const PRIVATE_REDIS = process.env.THUKHO_BENCH_MEMORY_REDIS === 'private';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TARGET_MB = 500;
const BIN = join(REPO, 'bin/thukho.js');
const PASSED = /^(THUKHO_(WORKER_.+|OCR.*|DERIVATIVE.+|IIIF_.+|REPLICATION_CONCURRENCY)|MALLOC_ARENA_MAX|NODE_OPTIONS)$/;

const log = (s: string) => process.stderr.write(`${s}\n`);
const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');

// ---------------------------------------------------------------------------------------------
// The process tree and its memory
// ---------------------------------------------------------------------------------------------

interface Proc {
  pid: number;
  role: string;
  kb: number;
}

const hasSmapsRollup = (() => {
  try {
    readFileSync(`/proc/${process.pid}/smaps_rollup`, 'utf8');
    return true;
  } catch {
    return false;
  }
})();
const METRIC = hasSmapsRollup ? 'PSS' : 'RSS';

function childrenOf(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command may hold spaces and parentheses: the ppid is the second field after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(entry));
      kids.set(ppid, list);
    } catch {
      /* gone meanwhile */
    }
  }
  return kids;
}

function roleOf(pid: number, root: number): string {
  if (pid === root) return 'server';
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const w = argv.indexOf('worker');
  if (w >= 0 && argv[w + 1]) return `worker ${argv[w + 1]}`;
  if (argv.some((a) => a.includes('redis-server'))) return 'redis-server (ours)';
  if (argv.some((a) => a.includes('esbuild'))) return 'esbuild (tsx)';
  return argv.filter(Boolean).join(' ').slice(0, 40);
}

function memoryKb(pid: number): number {
  const text = readFileSync(`/proc/${pid}/${hasSmapsRollup ? 'smaps_rollup' : 'status'}`, 'utf8');
  const m = text.match(hasSmapsRollup ? /^Pss:\s+(\d+) kB/m : /^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
}

/** Every process descended from `root` (itself included), with its memory now. */
function sampleTree(root: number): Proc[] {
  const kids = childrenOf();
  const out: Proc[] = [];
  const walk = (pid: number) => {
    try {
      out.push({ pid, role: roleOf(pid, root), kb: memoryKb(pid) });
    } catch {
      return; // exited meanwhile
    }
    for (const k of kids.get(pid) ?? []) walk(k);
  };
  walk(root);
  return out;
}

const totalMb = (ps: Proc[]) => ps.reduce((s, p) => s + p.kb, 0) / 1024;

// ---------------------------------------------------------------------------------------------
// thukho serve
// ---------------------------------------------------------------------------------------------

function serveEnv(dataDir: string, queuePrefix: string, port: number): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  // Hermetic: nothing from the caller's shell points thukho elsewhere, but the knobs measured.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THUKHO_') && k !== 'REDIS_URL' && k !== 'MALLOC_ARENA_MAX' && k !== 'NODE_OPTIONS') out[k] = v;
  for (const [k, v] of Object.entries(process.env)) if (PASSED.test(k) && v !== undefined) out[k] = v;
  return {
    ...out,
    THUKHO_DATA_DIR: dataDir,
    THUKHO_HOST: '127.0.0.1',
    THUKHO_PORT: String(port),
    THUKHO_LOG_LEVEL: 'warn',
    THUKHO_QUEUE_PREFIX: queuePrefix,
    ...(PRIVATE_REDIS ? {} : { REDIS_URL }),
  };
}

async function waitHealthy(baseUrl: string, group: Group): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await fetch(`${baseUrl}/health`).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (group.exited) throw new Error(`thukho serve exited; see ${group.logPath}:\n${tail(group.logPath)}`);
    if (Date.now() > deadline) throw new Error(`thukho /health not 200 after 120 s; see ${group.logPath}`);
    await sleep(250);
  }
}

/** CPU seconds (user + system) of one process so far; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * Idle: the tree has `minWorkers` worker processes, none of its processes used more than 3 % of
 * a core over the last 3 s twice in a row (a worker still loading its modules burns CPU, which
 * a busy machine stretches to a minute), and its total moved less than 2 % meanwhile.
 */
async function settle(root: number, minWorkers: number, maxSeconds: number): Promise<Proc[]> {
  const deadline = Date.now() + maxSeconds * 1000;
  let quietRounds = 0;
  let before = sampleTree(root);
  let cpu = new Map(before.map((p) => [p.pid, cpuSeconds(p.pid)]));
  for (;;) {
    await sleep(3000);
    const ps = sampleTree(root);
    const now = new Map(ps.map((p) => [p.pid, cpuSeconds(p.pid)]));
    const busiest = Math.max(...ps.map((p) => ((now.get(p.pid) ?? 0) - (cpu.get(p.pid) ?? 0)) / 3));
    const moved = Math.abs(totalMb(ps) - totalMb(before)) / Math.max(1, totalMb(ps));
    const workers = ps.filter((p) => p.role.startsWith('worker ')).length;
    quietRounds = workers >= minWorkers && busiest < 0.03 && moved < 0.02 ? quietRounds + 1 : 0;
    if (quietRounds >= 2) return ps;
    if (Date.now() > deadline) {
      log(`  (not quiet after ${maxSeconds} s: busiest process at ${(busiest * 100).toFixed(0)} % of a core; sampled anyway)`);
      return ps;
    }
    before = ps;
    cpu = now;
  }
}

// ---------------------------------------------------------------------------------------------
// Pages to ingest
// ---------------------------------------------------------------------------------------------

const LINES = [
  'Địa bạ làng Phú Xuân, tổng An Cựu, huyện Hương Trà',
  'Ruộng công điền ba mẫu hai sào, đất thổ cư một mẫu',
  'Năm Gia Long thứ tư, tháng bảy, ngày mười hai',
  'Các chức sắc trong làng cùng ký tên điểm chỉ làm bằng',
  'Xứ Đồng Giữa giáp xứ Bàu Sen, phía đông giáp sông',
];

async function pageImage(n: number): Promise<Buffer> {
  const width = 2480;
  const height = 3508;
  const rows: string[] = [];
  for (let i = 0; i < 60; i++) {
    const text = `${n + 1}.${i + 1} ${LINES[(i + n) % LINES.length]}`;
    rows.push(`<text x="160" y="${220 + i * 52}" font-family="DejaVu Serif" font-size="38">${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#f4efe2"/>${rows.join('')}</svg>`;
  return sharp(Buffer.from(svg)).withMetadata({ density: 300 }).tiff({ compression: 'lzw' }).toBuffer();
}

const StaffObject = z.object({
  files: z.array(z.object({ fileId: z.string(), status: z.object({ derivative: z.string(), ocr: z.string() }).partial().optional() }).passthrough()),
});

/** True once every file's derivative and OCR are no longer pending. */
async function workDone(baseUrl: string, token: string, objectId: string): Promise<{ done: boolean; note: string }> {
  const got = await apiCall(baseUrl, token, 'GET', `/api/objects/${objectId}`);
  const parsed = StaffObject.safeParse(got.json);
  if (got.status !== 200 || !parsed.success) return { done: false, note: `HTTP ${got.status}` };
  const statuses = parsed.data.files.map((f) => f.status ?? {});
  const pending = statuses.filter((s) => s.derivative === 'pending' || s.ocr === 'pending' || s.derivative === undefined);
  return { done: pending.length === 0, note: statuses.map((s) => `${s.derivative ?? '?'}/${s.ocr ?? '?'}`).join(' ') };
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

function table(title: string, ps: Proc[], peaks?: Map<string, number>): void {
  const byRole = new Map<string, number>();
  for (const p of ps) byRole.set(p.role, (byRole.get(p.role) ?? 0) + p.kb / 1024);
  if (peaks) for (const [role, mb] of peaks) byRole.set(role, mb);
  const total = peaks ? [...peaks.values()].reduce((a, b) => a + b, 0) : totalMb(ps);
  process.stdout.write(`\n${title} (${METRIC}, MB; load average ${load()})\n`);
  for (const [role, mb] of [...byRole].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${role.padEnd(44)} ${mb.toFixed(0).padStart(6)}\n`);
  process.stdout.write(`  ${'total'.padEnd(44)} ${total.toFixed(0).padStart(6)}   (target ≤ ${TARGET_MB}: ${(total / TARGET_MB).toFixed(2)}× the target, ${total <= TARGET_MB ? 'met' : 'NOT met'})\n`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'thukho-bench-memory-'));
  const dataDir = join(work, 'data');
  const queuePrefix = `bench-memory-${randomBytes(4).toString('hex')}`;
  let group: Group | undefined;
  const stopAll = () => {
    killAllGroups();
    process.exit(130);
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  try {
    log(`bench:memory: ${PAGES} pages, redis ${PRIVATE_REDIS ? 'private (started by thukho, counted)' : `${REDIS_URL} (shared, not counted), prefix ${queuePrefix}`}, metric ${METRIC}`);
    const pages = await Promise.all(Array.from({ length: PAGES }, (_, i) => pageImage(i)));
    const token = createStaffToken(dataDir, queuePrefix);
    const port = await freePort();
    const env = serveEnv(dataDir, queuePrefix, port);
    log(`starting thukho serve on port ${port} (THUKHO_WORKER_PROCESSES=${env.THUKHO_WORKER_PROCESSES ?? '(default)'}, MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX ?? '(unset)'})`);
    group = startGroup('thukho serve', process.execPath, [BIN, 'serve'], { cwd: REPO, env, logPath: join(work, 'serve.log') });
    const root = group.pgid;
    await waitForPort(port, 120_000, group);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitHealthy(baseUrl, group);
    // How many worker processes this layout starts: the count once it has stopped growing.
    let workers = 0;
    for (let i = 0; i < 60; i++) {
      const n = sampleTree(root).filter((p) => p.role.startsWith('worker ')).length;
      if (n > 0 && n === workers) break;
      workers = n;
      await sleep(2000);
    }
    const idle = await settle(root, workers, 300);
    table('idle', idle);
    const idleTotal = totalMb(idle);

    // Under ingest.
    const created = await apiCall(baseUrl, token, 'POST', '/api/objects', { title: 'Địa bạ làng Phú Xuân (bench:memory)' });
    if (created.status !== 201) throw new Error(`POST /api/objects → ${created.status} ${JSON.stringify(created.json).slice(0, 400)}`);
    const objectId = String(created.json.id);
    const peaks = new Map<string, number>();
    let peakTotal = 0;
    let sum = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const ps = sampleTree(root);
        const byRole = new Map<string, number>();
        for (const p of ps) byRole.set(p.role, (byRole.get(p.role) ?? 0) + p.kb / 1024);
        for (const [role, mb] of byRole) peaks.set(role, Math.max(peaks.get(role) ?? 0, mb));
        const t = totalMb(ps);
        peakTotal = Math.max(peakTotal, t);
        sum += t;
        samples++;
        await sleep(500);
      }
    })();
    const t0 = Date.now();
    for (const [i, page] of pages.entries()) {
      const res = await fetch(`${baseUrl}/api/objects/${objectId}/files?name=page-${i + 1}.tif`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(page),
      });
      if (res.status !== 201) throw new Error(`upload of page ${i + 1} → ${res.status} ${(await res.text()).slice(0, 400)}`);
      log(`  uploaded page ${i + 1}/${PAGES} (${(page.length / 1e6).toFixed(1)} MB)`);
    }
    let lastNote = '';
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const { done, note } = await workDone(baseUrl, token, objectId);
      if (note !== lastNote) log(`  derivative/ocr per page: ${note} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      lastNote = note;
      if (done) break;
      if (group.exited) throw new Error(`thukho serve exited; see ${group.logPath}:\n${tail(group.logPath)}`);
      if (Date.now() > deadline) throw new Error(`the pages' work was not done after 30 min (${note}); see ${group.logPath}`);
      await sleep(1000);
    }
    sampling = false;
    await sampler;
    const ingestSeconds = (Date.now() - t0) / 1000;
    table(`under ingest: per-process peaks over ${samples} samples, ${ingestSeconds.toFixed(0)} s (sum of the peaks; the whole tree's peak was ${peakTotal.toFixed(0)}, mean ${(sum / samples).toFixed(0)})`, [], peaks);

    // Once the work is done: what the workers give back (the OCR engines' idle unload, THUKHO_OCR_IDLE_SECONDS).
    // Past the OCR engines' idle unload (THUKHO_OCR_IDLE_SECONDS, 120 s by default).
    const wait = Number(process.env.THUKHO_BENCH_MEMORY_AFTER_S ?? Number(process.env.THUKHO_OCR_IDLE_SECONDS ?? 120) + 15);
    await sleep(wait * 1000);
    const after = await settle(root, 0, 120);
    table(`after the ingest, ${wait} s on`, after);
    const errors = readFileSync(group.logPath, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l));
    if (errors.length) process.stdout.write(`\n${errors.length} error lines in serve's log, the first: ${errors.slice(0, 3).map((l) => l.slice(0, 300)).join('\n')}\n`);
    process.stdout.write(
      `\nbench:memory summary (${METRIC}): idle ${idleTotal.toFixed(0)} MB (${(idleTotal / TARGET_MB).toFixed(2)}× the ${TARGET_MB} MB target), ` +
        `under ingest peak ${peakTotal.toFixed(0)} MB, after ${totalMb(after).toFixed(0)} MB; load average ${load()}\n`,
    );
  } finally {
    if (group) await stopGroup(group, 30_000);
    if (!PRIVATE_REDIS) await dropQueueKeys(queuePrefix).catch(() => 0);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

/**
 * Tiles under render pressure: how long a pre-cut tile takes while one anonymous client keeps
 * six odd-size requests in flight (regions and sizes no grid cut and no cache holds, so each
 * is a render), for each setting of THUKHO_IIIF_RENDERS (renders at once). Issue 12 saw such a
 * client slow an unrelated tile from 10 ms to 7 s: every render holds one of libuv's four pool
 * threads, which the tile's file read needs too.
 *
 *   npm run bench:iiif-pressure                      THUKHO_IIIF_RENDERS = 4, then 2
 *   npm run bench:iiif-pressure -- --renders=1,2,4   other settings
 *
 * Method. The 10,000 × 14,000 master of bench:iiif (bench/iiif/source.ts, cached) is ingested
 * once into a fresh `thukho serve`; once its derivative exists, for each setting the server is
 * restarted with it, 200 distinct grid tiles are fetched one after another (alone), then again
 * (other tiles) while six loops each send one odd-size request after another; printed: tile
 * p50 / p99 alone and under pressure, and how the odd-size requests were answered (200, 429
 * from the per-client budget, 503). Every tile must be a 200, or the run is marked INVALID.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { waitQuiet } from '../machine.ts';
import { killAllGroups } from './procs.ts';
import { createStaffToken, dropQueueKeys, ingestMaster, startThukho, stopThukho, thukhoPaths, waitForDerivative } from './thukho.ts';
import { shuffled, tileGrid } from './tiles.ts';
import { HEIGHT, prepareSource, WIDTH } from './source.ts';

const args = process.argv.slice(2);
const rendersArg = args.find((a) => a.startsWith('--renders='))?.slice('--renders='.length) ?? '4,2';
const SETTINGS = rendersArg.split(',').map(Number);
if (SETTINGS.some((n) => !Number.isInteger(n) || n < 1) || args.some((a) => !a.startsWith('--renders='))) {
  process.stderr.write('usage: render-pressure.ts [--renders=N,N,...]\n');
  process.exit(2);
}
const TILES = 200;
const ODD_CLIENTS = 6;
const log = (line = '') => process.stdout.write(`${line}\n`);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function tileTimes(baseUrl: string, paths: string[]): Promise<{ p50: number; p99: number; bad: number }> {
  const ms: number[] = [];
  let bad = 0;
  for (const path of paths) {
    const t0 = performance.now();
    const res = await fetch(`${baseUrl}${path}`);
    await res.arrayBuffer();
    ms.push(performance.now() - t0);
    if (res.status !== 200) bad++;
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), bad };
}

async function main(): Promise<number> {
  // The same cache as bench:iiif: the master is made once for both.
  const cache = join(os.tmpdir(), 'thukho-bench-iiif');
  mkdirSync(cache, { recursive: true });
  const source = await prepareSource(cache, { retime: false, log });
  const work = mkdtempSync(join(os.tmpdir(), 'thukho-bench-pressure-'));
  const dataDir = join(work, 'data');
  const queuePrefix = `bench-pressure-${process.pid}`;
  let failed = false;
  try {
    const token = createStaffToken(dataDir, queuePrefix);
    let server = await startThukho(dataDir, queuePrefix, work);
    const ingested = await ingestMaster(server, token, source.master, log);
    const made = await waitForDerivative(server, token, ingested.objectId, ingested.fileId, ingested.uploadedAt, 10 * 60_000, log);
    log(`  derivative made in ${made.seconds.toFixed(1)} s`);
    await stopThukho(server);

    const { tilePath } = thukhoPaths(ingested.fileId);
    const grid = shuffled(tileGrid(WIDTH, HEIGHT).filter((t) => t.scale <= 4));
    log();
    log(`renders at once | tiles alone p50 / p99 (ms) | tiles with ${ODD_CLIENTS} odd-size requests in flight p50 / p99 (ms) | odd-size answers`);
    for (const [run, renders] of SETTINGS.entries()) {
      process.env.THUKHO_IIIF_RENDERS = String(renders);
      server = await startThukho(dataDir, queuePrefix, work);
      try {
        await waitQuiet();
        // Fresh tiles for each measurement: the memory cache must not answer them.
        const slice = (k: number) => grid.slice((2 * run + k) * TILES, (2 * run + k + 1) * TILES).map((t) => tilePath(`${t.x},${t.y},${t.w},${t.h}`, `${t.outW},`));
        const alone = await tileTimes(server.baseUrl, slice(0));
        let stop = false;
        let n = 0;
        const answers: Record<number, number> = {};
        const odd = async () => {
          while (!stop) {
            const i = n++;
            // A region and size of its own each time (nothing cached), rotated: a real render.
            const res = await fetch(`${server.baseUrl}/iiif/3/${ingested.fileId}/${(i * 37) % 6000},${(i * 53) % 8000},3000,3000/${1500 + i},/${(i % 89) + 1}/default.jpg`);
            await res.arrayBuffer();
            answers[res.status] = (answers[res.status] ?? 0) + 1;
          }
        };
        const loops = Array.from({ length: ODD_CLIENTS }, odd);
        const pressed = await tileTimes(server.baseUrl, slice(1));
        stop = true;
        await Promise.all(loops);
        const invalid = alone.bad + pressed.bad > 0;
        failed ||= invalid;
        const f = (x: number) => x.toFixed(1);
        const counts = Object.entries(answers).map(([status, count]) => `${count}× ${status}`).join(', ');
        log(`${String(renders).padStart(15)} | ${`${f(alone.p50)} / ${f(alone.p99)}`.padStart(26)} | ${`${f(pressed.p50)} / ${f(pressed.p99)}`.padStart(62)} | ${counts}${invalid ? '  INVALID: a tile was not 200' : ''}`);
      } finally {
        await stopThukho(server);
      }
    }
  } finally {
    await dropQueueKeys(queuePrefix).catch(() => 0);
    rmSync(work, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

process.on('SIGINT', () => {
  killAllGroups();
  process.exit(130);
});
main().then(
  (code) => process.exit(code),
  (err: Error) => {
    killAllGroups();
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

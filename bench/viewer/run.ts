/**
 * bench/viewer — how fast the reading room shows the first page, and what it ships.
 *
 *   npm run bench:viewer [-- --runs 10]
 *
 * One run, one machine, side by side:
 *  - thukho: `thukho demo` (the real command, its own data folder and port) seeds the demo
 *    collection; then `/objects/truyen-kieu-1871` is opened in Debian's headless Chromium
 *    (playwright-core) over loopback, and timed from navigation start to
 *      · "first tile painted": the viewer's `thukho:first-tile` performance mark, set when
 *        OpenSeadragon has drawn its first tile on the canvas;
 *      · "first image of page 1": the responseEnd of the first image of page 1's image
 *        service (Resource Timing), which is also measurable in the reference.
 *  - reference: Mirador 4 (its UMD build, gzip-served from a static page on another port, as
 *    an institution would embed it) opening the same manifest from the same server; only
 *    "first image of page 1" can be measured in it.
 * Three cache conditions, median of N runs each:
 *  - cold: a fresh server process (`thukho serve`, started for every run), the kernel's page
 *    cache dropped when permitted (said when not), a fresh browser;
 *  - browser-cold: the server warm, a fresh browser context (empty HTTP cache);
 *  - warm: the same context reloading the page (assets and tiles in the HTTP cache).
 * Shipped bytes: every script and style sheet the object page loads, as sent (gzip), from
 * Resource Timing's encodedBodySize, and the same for Mirador's page.
 * Targets (issue 6): first tile painted ≤ 1.0 s cold on loopback; shipped ≤ 350 kB gzip.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium, type Page } from 'playwright-core';
import { dropCaches, waitQuiet } from '../machine.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OBJECT = 'truyen-kieu-1871';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

const log = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** `thukho <command>` as a child in its own process group (so that a stuck one can be killed whole). */
function thukho(command: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', command], {
    cwd: ROOT,
    env: { ...process.env, ...env, THUKHO_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  // Like systemd's stop: the main process is asked, and stops its workers and redis itself.
  process.kill(child.pid!, 'SIGINT');
  const killed = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000);
  await done;
  clearTimeout(killed);
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

type Json = Record<string, unknown>;

/** The demo object's page-1 file id, once every page has its derivatives. */
async function demoReady(url: string): Promise<string> {
  return until('the demo derivatives', 180_000, async () => {
    const res = await fetch(`${url}/api/objects/${OBJECT}`);
    if (res.status !== 200) return undefined;
    const files = ((await res.json()) as Json).files as Json[];
    if (!files.length || !files.every((f) => f.derivative)) return undefined;
    const m = await fetch(`${url}/iiif/manifest/${OBJECT}`);
    return m.status === 200 ? (files[0]!.fileId as string) : undefined;
  });
}

interface Sample {
  painted: number | null;
  firstImage: number | null;
  shippedBytes: number;
}

/** Opens `url` and waits for page 1's first image (and, for ours, the painted mark). */
async function measure(page: Page, url: string, fileId: string, ours: boolean, reload = false): Promise<Sample> {
  if (reload) await page.reload({ waitUntil: 'commit' });
  else await page.goto(url, { waitUntil: 'commit' });
  const prefix = `/iiif/3/${fileId}/`;
  return page.evaluate(`(${IN_PAGE})(${JSON.stringify(prefix)}, ${ours})`) as Promise<Sample>;
}

/**
 * Runs in the page: waits for page 1's first image (and, for ours, the painted mark), then
 * sums the JS and CSS as sent. A string, because tsx's helpers do not exist in the browser.
 */
const IN_PAGE = `async (prefix, ours) => {
  const deadline = performance.now() + 30000;
  const firstImage = () => {
    const ends = performance.getEntriesByType('resource')
      .filter((e) => e.name.includes(prefix) && /\\.(jpg|png|webp)$/.test(new URL(e.name).pathname))
      .map((e) => e.responseEnd)
      .filter((t) => t > 0);
    return ends.length ? Math.min(...ends) : null;
  };
  for (;;) {
    const mark = performance.getEntriesByName('thukho:first-tile')[0];
    const painted = mark ? mark.startTime : null;
    const image = firstImage();
    if (image !== null && (!ours || painted !== null)) {
      const shipped = performance.getEntriesByType('resource')
        .filter((e) => /\\.(js|css)$/.test(new URL(e.name).pathname))
        .reduce((n, e) => n + e.encodedBodySize, 0);
      return { painted, firstImage: image, shippedBytes: shipped };
    }
    if (performance.now() > deadline) return { painted, firstImage: image, shippedBytes: -1 };
    await new Promise((r) => setTimeout(r, 10));
  }
}`;

function miradorSite(manifestUrl: string): Promise<{ server: Server; url: string }> {
  const js = gzipSync(readFileSync(join(ROOT, 'node_modules', 'mirador', 'dist', 'mirador.min.js')), { level: 9 });
  const html = `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Mirador</title>
<style>html,body{margin:0;height:100%}#m{position:absolute;inset:0}</style></head><body><div id="m"></div>
<script src="/mirador.min.js"></script><script>Mirador.viewer({id:'m',windows:[{manifestId:${JSON.stringify(manifestUrl)}}],window:{allowClose:false,sideBarOpen:false},workspaceControlPanel:{enabled:false}});</script></body></html>`;
  const server = createServer((req, res) => {
    if (req.url === '/mirador.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'content-encoding': 'gzip', 'content-length': js.length, 'cache-control': 'public, max-age=31536000, immutable' }).end(js);
    } else if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(html);
    } else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  return new Promise((resolve) => server.once('listening', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })));
}

function row(name: string, xs: Sample[], key: 'painted' | 'firstImage'): string {
  const v = xs.map((s) => s[key]).filter((x): x is number => x !== null);
  if (!v.length) return `${name.padEnd(34)} —`;
  return `${name.padEnd(34)} median ${median(v).toFixed(0).padStart(5)} ms   min ${Math.min(...v).toFixed(0).padStart(5)}   max ${Math.max(...v).toFixed(0).padStart(5)}   (n=${v.length})`;
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'viewer', 'dist', '.vite', 'manifest.json'))) {
    log('building the viewer (npm run build)…');
    const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'thukho-bench-viewer-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { THUKHO_DATA_DIR: dataDir, THUKHO_PORT: String(port), THUKHO_HOST: '127.0.0.1', THUKHO_QUEUE_PREFIX: `bench-viewer-${process.pid}` };
  let server = thukho('demo', env);
  let browser: Browser | undefined;
  let mirador: Server | undefined;
  try {
    const fileId = await demoReady(url);
    log(`thukho demo is up at ${url}; the demo object's derivatives are made (data ${dataDir})`);
    const objectUrl = `${url}/objects/${OBJECT}`;
    const site = await miradorSite(`${url}/iiif/manifest/${OBJECT}`);
    mirador = site.server;

    // --- cold: a fresh server, page cache dropped, a fresh browser, every run ------------------
    await stop(server);
    const cold: Sample[] = [];
    let dropped = true;
    for (let i = 0; i < RUNS; i++) {
      dropped = dropCaches() && dropped;
      server = thukho('serve', env);
      await until('the server', 60_000, async () => ((await fetch(`${url}/health`)).status < 500 ? true : undefined));
      await waitQuiet(5);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      cold.push(await measure(page, objectUrl, fileId, true));
      await browser.close();
      browser = undefined;
      await stop(server);
    }
    server = thukho('serve', env);
    await until('the server', 60_000, async () => ((await fetch(`${url}/health`)).status < 500 ? true : undefined));

    // --- browser-cold and warm, ours and Mirador, interleaved --------------------------------
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const results = { ours: { browserCold: [] as Sample[], warm: [] as Sample[] }, mirador: { browserCold: [] as Sample[], warm: [] as Sample[] } };
    // One throw-away visit each, so that neither is the first to touch the server.
    for (const target of [objectUrl, site.url]) {
      const c = await browser.newContext();
      await measure(await c.newPage(), target, fileId, target === objectUrl).catch(() => undefined);
      await c.close();
    }
    await waitQuiet(5);
    for (let i = 0; i < RUNS; i++) {
      for (const [name, target] of [['ours', objectUrl], ['mirador', site.url]] as const) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        results[name].browserCold.push(await measure(page, target, fileId, name === 'ours'));
        await sleep(300);
        results[name].warm.push(await measure(page, target, fileId, name === 'ours', true));
        await context.close();
      }
    }

    const shipped = (xs: Sample[]) => Math.max(...xs.map((s) => s.shippedBytes));
    log('');
    log(`Reading room first page, ${OBJECT}, Chromium ${browser.version()} on loopback, 1280×900, ${RUNS} runs each`);
    log(dropped ? 'cold runs: page cache dropped before each server start' : 'cold runs: the page cache could NOT be dropped here (not permitted); cold = fresh server process and fresh browser only');
    log(row('thukho, cold: first tile painted', cold, 'painted'));
    log(row('thukho, cold: first image of page 1', cold, 'firstImage'));
    log(row('thukho, browser-cold: painted', results.ours.browserCold, 'painted'));
    log(row('thukho, browser-cold: first image', results.ours.browserCold, 'firstImage'));
    log(row('Mirador 4, browser-cold: first image', results.mirador.browserCold, 'firstImage'));
    log(row('thukho, warm: painted', results.ours.warm, 'painted'));
    log(row('thukho, warm: first image', results.ours.warm, 'firstImage'));
    log(row('Mirador 4, warm: first image', results.mirador.warm, 'firstImage'));
    const ratio = (a: Sample[], b: Sample[]) =>
      median(a.map((s) => s.firstImage!).filter(Number.isFinite)) / median(b.map((s) => s.firstImage!).filter(Number.isFinite));
    log(`ratio thukho / Mirador, first image of page 1: browser-cold ${ratio(results.ours.browserCold, results.mirador.browserCold).toFixed(2)}×, warm ${ratio(results.ours.warm, results.mirador.warm).toFixed(2)}× (below 1 = thukho faster)`);
    const coldPainted = median(cold.map((s) => s.painted).filter((x): x is number => x !== null));
    log(`target first tile painted ≤ 1000 ms cold: ${coldPainted.toFixed(0)} ms → ${coldPainted <= 1000 ? 'PASS' : 'MISS'}`);
    const ours = shipped(results.ours.browserCold);
    const theirs = shipped(results.mirador.browserCold);
    log(`shipped JS + CSS (gzip, as sent): thukho object page ${(ours / 1000).toFixed(1)} kB; Mirador page ${(theirs / 1000).toFixed(1)} kB; ratio ${(ours / theirs).toFixed(2)}×`);
    log(`target shipped ≤ 350 kB gzip: ${ours <= 350_000 ? 'PASS' : 'MISS'}`);
  } finally {
    await browser?.close().catch(() => undefined);
    mirador?.close();
    await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:viewer failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

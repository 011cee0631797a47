import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import type { DerivativesWorker } from '../../workers/derivatives.ts';
import { DEMO_OBJECTS } from '../../src/cli/demo-collection.ts';
import { seedDemoCollection } from '../helpers/demo.ts';
import { MIRADOR_NOISE, startMiradorSite } from '../helpers/mirador.ts';
import { testWithServer } from '../helpers/server.ts';
import { type Json, poll } from '../helpers/api.ts';
import { launchChromium, outputDir, pixelStats as screenshotStats, watchProblems } from '../helpers/browser.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The real-client check: Mirador 4 (its UMD build, as an institution would embed it) in
 * Debian's headless Chromium, on a page served from another origin, opens the manifest of a
 * three-page demo manuscript and draws its first page with OpenSeadragon from our Image API.
 * Screenshots go to test-output/mirador/.
 */
const test = testWithServer();

/** The demo manuscript `npm run demo` serves: Kim Vân Kiều tân truyện, three rendered pages. */
const DEMO = DEMO_OBJECTS[0]!;
const TITLE = DEMO.metadata.title;
/** The demo pages' paper colour (src/cli/demo-pages.ts). */
const PAPER = { r: 233, g: 220, b: 190 };

let worker: DerivativesWorker | undefined;
let browser: Browser | undefined;
let viewerSite: Server | undefined;
let objectId = '';
let fileIds: string[] = [];

test.after.always(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (viewerSite ? viewerSite.close(() => resolve()) : resolve()));
  viewerSite?.closeAllConnections();
  await worker?.close();
});

test.serial('the demo manuscript is seeded as `thukho demo` seeds it, its derivatives made and its manifest served', async (t) => {
  const s = t.context.server;
  // Seeded exactly as `thukho demo` does, through the ingest path, derivatives made.
  const seeded = await seedDemoCollection(s, [DEMO.id]);
  worker = seeded.worker;
  objectId = DEMO.id;
  fileIds = seeded.files[objectId]!;
  t.is(fileIds.length, 3);
  // The manifests projection catches up on its own: the manifest appears with all three canvases.
  const manifestUrl = `${s.url}/iiif/manifest/${objectId}`;
  let last = '';
  const manifest = await poll(`a manifest with three canvases at ${manifestUrl}`, 15_000, async () => {
    const res = await fetch(manifestUrl);
    const body = await res.text();
    last = `${res.status} ${body.slice(0, 300)}`;
    if (res.status !== 200) return undefined;
    const m = JSON.parse(body) as Json;
    return (m.items as unknown[] | undefined)?.length === 3 ? m : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; last answer: ${last}`);
  });
  t.is(manifest.type, 'Manifest');
  t.true(JSON.stringify(manifest.label).includes(TITLE), `label ${JSON.stringify(manifest.label)}`);
});

test.serial('Mirador 4 in Chromium, from another origin, shows the first page from our Image API', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  t.truthy(objectId, 'the manuscript was ingested');
  const s = t.context.server;
  const OUT = outputDir('mirador');
  const manifestUrl = `${s.url}/iiif/manifest/${objectId}`;
  const site = await startMiradorSite(manifestUrl);
  viewerSite = site.server;
  t.not(new URL(site.url).origin, new URL(s.url).origin, 'the viewer page is on another origin');

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const page: Page = await context.newPage();

  const { problems, unexpected: unexpectedProblems } = watchProblems(page, MIRADOR_NOISE);
  const imageApi: Array<{ url: string; status: number; type: string }> = [];
  const manifestAnswers: number[] = [];
  page.on('response', (r) => {
    const url = r.url();
    if (url.startsWith(`${s.url}/iiif/3/`)) imageApi.push({ url, status: r.status(), type: r.headers()['content-type'] ?? '' });
    if (url.startsWith(manifestUrl)) manifestAnswers.push(r.status());
  });

  const shot = async (name: string) => page.screenshot({ path: join(OUT, name) }).catch(() => undefined);
  try {
    await page.goto(site.url, { waitUntil: 'load' });
    t.true(await page.evaluate(() => typeof (window as unknown as { Mirador?: { viewer?: unknown } }).Mirador?.viewer === 'function'), 'the UMD build defines Mirador.viewer');

    // OpenSeadragon asks for info.json, then tiles: wait until an image tile has come back.
    const isTile = (r: { url: string; type: string }) => !r.url.endsWith('/info.json') && r.type.startsWith('image/');
    await poll('an image tile from /iiif/3/', 30_000, async () => (imageApi.some(isTile) ? true : undefined)).catch(async (err: Error) => {
      await shot('no-tiles.png');
      throw new Error(`${err.message}; manifest answers ${JSON.stringify(manifestAnswers)}; image API answers ${JSON.stringify(imageApi)}; problems ${JSON.stringify(problems)}`);
    });

    // … and until the canvas shows the page: paper-coloured pixels and ink, not one flat colour.
    const canvas = page.locator('#mirador .openseadragon-canvas canvas').first();
    await canvas.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    let stats: Awaited<ReturnType<typeof mirStats>> | undefined;
    let png: Buffer | undefined;
    await poll('the OpenSeadragon canvas to show the page', 30_000, async () => {
      png = await canvas.screenshot();
      stats = await mirStats(png);
      return stats.paperShare > 0.05 && stats.inkPixels > 200 && stats.stdev > 8 ? true : undefined;
    }, 500).catch(() => undefined);
    if (png) await sharp(png).toFile(join(OUT, 'canvas.png'));
    await shot('mirador.png');
    t.log(`canvas ${stats?.width}×${stats?.height}: stdev ${stats?.stdev.toFixed(1)}, ${stats?.colours} colours, ${((stats?.paperShare ?? 0) * 100).toFixed(1)}% paper, ${stats?.inkPixels} ink pixels`);
    t.truthy(stats, 'the canvas could be captured');
    t.true(stats!.colours > 16, `the canvas is (nearly) one colour: ${stats!.colours} colours`);
    t.true(stats!.stdev > 8, `pixel standard deviation ${stats!.stdev.toFixed(2)} is that of a blank canvas`);
    t.true(stats!.paperShare > 0.05, `only ${(stats!.paperShare * 100).toFixed(2)}% of the canvas is the page's paper colour`);
    t.true(stats!.inkPixels > 200, `only ${stats!.inkPixels} dark (text) pixels on the canvas`);

    // The window's title bar names the object in Vietnamese.
    const topBar = page.locator('#mirador .mirador-window-top-bar').first();
    await poll('the window title', 15_000, async () => ((await topBar.textContent().catch(() => ''))?.includes(TITLE) ? true : undefined)).catch(() => undefined);
    const barText = (await topBar.textContent().catch(() => null)) ?? '';
    t.true(barText.includes(TITLE), `window top bar says ${JSON.stringify(barText)}`);
    await shot('mirador.png');

    // The next canvas is the second page uploaded: its tiles come from its own image service.
    await page.locator('#mirador .mirador-next-canvas-button').first().click();
    const second = await poll('a tile of the second page', 30_000, async () =>
      imageApi.some((r) => r.url.includes(`/iiif/3/${fileIds[1]}/`) && isTileEntry(r)) ? true : undefined,
    ).catch(() => false);
    t.true(second, `no tile of the second page (${fileIds[1]}) after "next"`);
    await poll('the second page drawn', 30_000, async () => {
      const st = await mirStats(await canvas.screenshot());
      return st.paperShare > 0.05 && st.inkPixels > 200 ? true : undefined;
    }, 500).catch(() => undefined);
    await shot('mirador-page-2.png');
  } finally {
    await shot('mirador-final.png');
  }

  // Every answer of the Image API was a 200, and tiles (not only info.json) were among them.
  const tiles = imageApi.filter(isTileEntry);
  t.log(`image API: ${imageApi.length} answers, ${tiles.length} images, e.g. ${tiles.slice(0, 4).map((r) => r.url.slice(s.url.length)).join(' ')}`);
  t.deepEqual(imageApi.filter((r) => r.status !== 200), [], 'Image API answers other than 200');
  t.true(imageApi.some((r) => r.url.endsWith('/info.json')), 'info.json was fetched');
  t.true(tiles.length >= 1, 'at least one tile image was fetched');
  t.true(tiles.some((r) => /\/iiif\/3\/[^/]+\/\d+,\d+,\d+,\d+\//.test(r.url)), 'OpenSeadragon fetched region tiles (x,y,w,h), not only whole images');
  t.deepEqual(manifestAnswers.filter((st) => st !== 200 && st !== 304), [], 'manifest answers');
  const unexpected = unexpectedProblems();
  if (problems.length) console.log(`Mirador page problems${unexpected.length ? '' : ' (all expected)'}:\n  ${problems.join('\n  ')}`);
  t.deepEqual(unexpected, [], 'console errors, page errors or failed requests in the Mirador page');
});

/** Mirador lays its zoom buttons and "1 of 3" over the bottom 15% of the canvas. */
function mirStats(png: Buffer) {
  return screenshotStats(png, PAPER, 0.85);
}

function isTileEntry(r: { url: string; type: string }): boolean {
  return !r.url.endsWith('/info.json') && r.type.startsWith('image/');
}

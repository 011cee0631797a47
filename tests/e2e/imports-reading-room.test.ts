import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { firstTilePainted, launchChromium, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { type Running, freePort, thukho as runThukho, show, signalGroup, startThukho, waitForHealth } from '../helpers/cli.ts';
import { workIdFor } from '../../src/application/harvest.ts';
import { iiifWorkId } from '../../src/application/iiif-import.ts';
import { validatePresentation3 } from '../helpers/presentation3.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';

/**
 * What the "done when" asks of every way in: a work brought in from an earlier system
 * validates as IIIF and reads in the reading room, in real Chromium, like a work ingested here.
 */
const test = testWithServer();
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'saf');

let browser: Browser | undefined;
let worker: DerivativesWorker | undefined;
let work = '';
let source: Running | undefined;
/** The demo source's base URL and its work's manifest, once the harvest test has started it. */
let demo: { base: string; work: string; manifest: Json } | undefined;

test.serial.before(async (t) => {
  const s = t.context.server;
  worker = await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config });
  browser = await launchChromium();
  work = mkdtempSync(join(tmpdir(), 'thukho-imports-'));
});

test.after.always(async () => {
  if (source) {
    signalGroup(source, 'SIGTERM');
    await source.exited;
  }
  await browser?.close();
  await worker?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every page of `objectId` has its derivative; then its manifest, once it has that many canvases. */
async function waitForPages(s: Parameters<typeof staffCall>[0] & { url: string }, objectId: string, pages: number): Promise<Json> {
  await poll(`the derivatives of ${objectId}`, 120_000, async () => {
    const o = await staffCall(s, 'GET', `/api/objects/${objectId}`);
    const list = (o.files as Json[] | undefined) ?? [];
    const failed = list.find((f) => f.derivativeFailure);
    if (failed) throw new Error(`derivative failed for ${objectId}: ${JSON.stringify(failed.derivativeFailure)}`);
    return list.length === pages && list.every((f) => f.derivative) ? true : undefined;
  });
  return poll(`the manifest of ${objectId} with ${pages} canvases`, 60_000, async () => {
    const r = await fetch(`${s.url}/iiif/manifest/${objectId}`);
    if (r.status !== 200) return undefined;
    const m = (await r.json()) as Json;
    return (m.items as unknown[] | undefined)?.length === pages ? m : undefined;
  });
}

/** Opens the work's page as a researcher would; the viewer must be ready and paint a tile. */
async function readsInTheReadingRoom(url: string, objectId: string): Promise<{ state: string; problems: string[] }> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  try {
    const page = await context.newPage();
    const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
    const response = await page.goto(`${url}/objects/${objectId}`, { waitUntil: 'domcontentloaded' });
    if (response?.status() !== 200) return { state: `HTTP ${response?.status()}`, problems: unexpected() };
    const state = await viewerSettled(page);
    if (state === 'ready') await firstTilePainted(page);
    return { state, problems: unexpected() };
  } finally {
    await context.close();
  }
}

test.serial('a DSpace SAF import validates as IIIF and reads in the reading room', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: 'dspace-cu', title: 'Kho DSpace cũ' });
  const archive = join(work, 'dspace7');
  cpSync(join(FIXTURES, 'dspace7'), archive, { recursive: true });
  const run = await runThukho(s.dataDir, ['import-saf', archive, '--collection', 'dspace-cu']);
  t.is(run.code, 0, show(run));

  const manifest = await waitForPages(s, 'hdl-123456789-42', 2);
  t.deepEqual(validatePresentation3(manifest), []);
  const opened = await readsInTheReadingRoom(s.url, 'hdl-123456789-42');
  t.is(opened.state, 'ready');
  t.deepEqual(opened.problems, []);
});

test.serial('a work harvested from another thukho (its pages through the manifest its record links) validates as IIIF and reads in the reading room', async (t) => {
  t.timeout(scaledTimeout(600_000));
  const s = t.context.server;
  // The source: `thukho demo` in a second process on its own data dir, its OAI-PMH and IIIF.
  const port = await freePort();
  const sourceDir = join(work, 'source');
  source = startThukho(sourceDir, ['demo'], { THUKHO_PORT: String(port), THUKHO_HOST: '127.0.0.1', THUKHO_OCR: 'off', THUKHO_QUEUE_PREFIX: `harvest-src-${process.pid}`, THUKHO_OAI_REPOSITORY_IDENTIFIER: 'demo.example.vn' });
  await waitForHealth(source, port);
  const base = `http://127.0.0.1:${port}`;
  const WORK = 'truyen-kieu-1871';
  const original = await poll(`the demo manifest of ${WORK} with every page served`, 180_000, async () => {
    const o = await fetch(`${base}/api/objects/${WORK}`);
    if (o.status !== 200) return undefined;
    const pages = ((await o.json()) as { files: unknown[] }).files.length;
    const r = await fetch(`${base}/iiif/manifest/${WORK}`);
    if (r.status !== 200) return undefined;
    const m = (await r.json()) as Json;
    const canvases = (m.items as Array<{ items: Array<{ items: Array<{ body: { service?: Array<{ id: string }> } }> }> }> | undefined) ?? [];
    if (!pages || canvases.length !== pages) return undefined;
    for (const c of canvases) {
      const info = await fetch(`${c.items[0]!.items[0]!.body.service![0]!.id}/info.json`);
      await info.body?.cancel();
      if (info.status !== 200) return undefined; // its derivative is still being made
    }
    return m;
  }, 500);
  const canvases = (original.items as unknown[]).length;
  demo = { base, work: WORK, manifest: original };
  const oaiId = `oai:demo.example.vn:${WORK}`;
  await poll(`the OAI record of ${WORK}`, 60_000, async () => {
    const r = await fetch(`${base}/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=${encodeURIComponent(oaiId)}`);
    return (await r.text()).includes(`/iiif/manifest/${WORK}`) ? true : undefined;
  });

  const run = await runThukho(s.dataDir, ['harvest', `${base}/oai`, '--json'], { THUKHO_QUEUE_PREFIX: s.config.queuePrefix });
  const report = JSON.parse(run.stdout) as { manifests: Array<{ objectId: string; imported: boolean; pages?: number }> };
  t.is(run.code, 0, show(run));
  const objectId = workIdFor(oaiId);
  const ours = report.manifests.find((m) => m.objectId === objectId);
  t.like(ours, { imported: true, pages: canvases }, show(run));

  const manifest = await waitForPages(s, objectId, canvases);
  t.deepEqual(validatePresentation3(manifest), []);
  t.deepEqual(
    (manifest.items as Array<{ width: number; height: number }>).map((c) => [c.width, c.height]),
    (original.items as Array<{ width: number; height: number }>).map((c) => [c.width, c.height]),
    'the source’s pages at full size',
  );
  const opened = await readsInTheReadingRoom(s.url, objectId);
  t.is(opened.state, 'ready');
  t.deepEqual(opened.problems, []);
});

test.serial('a work imported by `thukho import-iiif` from another thukho validates as IIIF and reads in the reading room', async (t) => {
  t.timeout(scaledTimeout(300_000));
  const s = t.context.server;
  if (!demo) return t.fail('the demo source did not start in the harvest test before this one');
  const manifestUrl = `${demo.base}/iiif/manifest/${demo.work}`;
  const run = await runThukho(s.dataDir, ['import-iiif', manifestUrl], { THUKHO_QUEUE_PREFIX: s.config.queuePrefix });
  t.is(run.code, 0, show(run));
  const canvases = (demo.manifest.items as unknown[]).length;
  const objectId = iiifWorkId(manifestUrl);
  const manifest = await waitForPages(s, objectId, canvases);
  t.deepEqual(validatePresentation3(manifest), []);
  const opened = await readsInTheReadingRoom(s.url, objectId);
  t.is(opened.state, 'ready');
  t.deepEqual(opened.problems, []);
});

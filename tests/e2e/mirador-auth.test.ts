import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { createUserWithPassword } from '../../src/application/users.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { launchChromium, outputDir, pixelStats, watchProblems } from '../helpers/browser.ts';
import { MIRADOR_NOISE, startMiradorSite } from '../helpers/mirador.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Mirador 4 (its UMD build, embedded by a page of another origin) reaches a restricted image
 * through the IIIF authorization services, in Debian's headless Chromium: the image is refused,
 * Mirador offers our sign-in, the reader signs in in the window it opens, the window closes by
 * itself, Mirador gets a token from the token service in an iframe, and the pages are drawn.
 * Mirador 4.0.0 speaks IIIF Authentication 1.0 only: this is the 1.0 login service beside our
 * 2.0 services (our own viewer uses 2.0: viewer-auth.test.ts). Screenshots: test-output/mirador-auth/.
 *
 * The viewer page is on another port of 127.0.0.1: another origin, the same site, so that the
 * session's SameSite=Lax cookie goes with the tiles, as it would for a viewer on the library's
 * own domain. (For viewers on other sites the IIIF cookie is SameSite=None, which browsers
 * require to be Secure: that needs TLS, which this test does not have.)
 */
const test = testWithServer();

const PASSWORD = 'mật khẩu bạn đọc Mirador';
const PAPER = { r: 233, g: 220, b: 190 };
/** Mirador's own noise, and the refusals this test is about. */
const EXPECTED_PROBLEMS = [
  ...MIRADOR_NOISE,
  // Before signing in: the browser logs each refused resource, blocks the refused tiles'
  // problem+json from an <img> (ORB), and OpenSeadragon reports them.
  /^console\.error: Failed to load resource: the server responded with a status of 401/,
  /^request failed: http:\/\/127\.0\.0\.1:\d+\/iiif\/3\/\S+ net::ERR_BLOCKED_BY_ORB$/,
  /^console\.error: Tile %s failed to load: %s - error: %s /,
];

let browser: Browser | undefined;
let viewerSite: Server | undefined;
let objectId = '';
let fileIds: string[] = [];

test.after.always(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (viewerSite ? viewerSite.close(() => resolve()) : resolve()));
  viewerSite?.closeAllConnections();
});

/** A page of paper with lines of "ink": what the pixel check recognises as a page. */
async function manuscriptPage(columns: number): Promise<Buffer> {
  const lines = Array.from({ length: columns }, (_, i) => `<rect x="${120 + i * 60}" y="120" width="22" height="${900 + (i % 3) * 120}" fill="#2a2118"/>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="960" height="1360"><rect width="100%" height="100%" fill="rgb(${PAPER.r},${PAPER.g},${PAPER.b})"/>${lines}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

test.serial.before(async (t) => {
  const { server } = t.context;
  const made = await createUserWithPassword(server.store, 'nghien-cuu', 'Nhà nghiên cứu', 'reader', PASSWORD, { actor: { id: 'test', role: 'admin' } });
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && made.position !== null) await users.waitForPosition(made.position, scaledTimeout(60_000));
  const created = await staffCall(server, 'POST', '/api/objects', { title: 'Gia phả họ Nguyễn (hạn chế)', accessLevel: 'restricted' });
  objectId = created.id as string;
  for (const [name, columns] of [['to-1a.png', 12], ['to-1b.png', 10]] as const) {
    fileIds.push((await uploadFile(server, objectId, await manuscriptPage(columns), name)).fileId as string);
  }
  await poll('the manifest with its canvas', 15_000, async () => {
    const res = await fetch(`${server.url}/iiif/manifest/${objectId}`);
    return res.status === 200 && (((await res.json()) as Json).items as unknown[] | undefined)?.length === 2 ? true : undefined;
  });
});

test.serial('Mirador 4 shows the sign-in, the reader signs in in its window, Mirador gets a token, and the restricted pages are drawn', async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const s = t.context.server;
  const OUT = outputDir('mirador-auth');
  const site = await startMiradorSite(`${s.url}/iiif/manifest/${objectId}`);
  viewerSite = site.server;
  const siteUrl = site.url;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const page: Page = await context.newPage();
  const { problems, unexpected } = watchProblems(page, EXPECTED_PROBLEMS);
  const answers: Array<{ url: string; status: number; type: string; bearer: boolean }> = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${s.url}/iiif/`)) {
      answers.push({ url: r.url().slice(s.url.length), status: r.status(), type: r.headers()['content-type'] ?? '', bearer: /^Bearer iiif_/.test(r.request().headers().authorization ?? '') });
    }
  });
  const isTile = (a: { url: string; type: string }, fileId = fileIds[0]) => a.url.startsWith(`/iiif/3/${fileId}/`) && !a.url.endsWith('/info.json') && a.type.startsWith('image/');
  const shot = (name: string) => page.screenshot({ path: join(OUT, name) }).catch(() => undefined);

  try {
    await page.goto(siteUrl, { waitUntil: 'load' });
    // Mirador finds the login service on the manifest's image service and offers it: a bar
    // with the service's label; its "continue" shows the header, description and our button.
    const bar = page.getByText('Đăng nhập để xem / Sign in to view');
    await bar.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) }).catch(async (err: Error) => {
      await shot('no-login-bar.png');
      throw new Error(`${err.message}; answers ${JSON.stringify(answers)}; problems ${JSON.stringify(problems)}`);
    });
    await page.getByRole('button', { name: /continue/i }).click();
    const button = page.getByRole('button', { name: 'Đăng nhập / Sign in' });
    await button.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    await page.getByText('Tài liệu hạn chế / Restricted material').waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    await shot('refused.png');
    t.false(answers.some((a) => isTile(a) && a.status === 200), 'no tile before signing in');

    const popupOpened = page.waitForEvent('popup');
    await button.click();
    const popup = await popupOpened;
    // Our access service sends the reader to the site's sign-in page, in Vietnamese.
    await popup.waitForURL(/\/sign-in\?return=/, { timeout: scaledTimeout(60_000) });
    await popup.locator('input[name="account"]').fill('nghien-cuu');
    await popup.locator('input[name="password"]').fill(PASSWORD);
    const closed = popup.waitForEvent('close', { timeout: scaledTimeout(60_000) });
    await popup.locator('form[action="/sign-in"] button[type="submit"]').click();
    await closed; // the access service's page closes its own window

    // Mirador asks the token service (1.0) in an iframe, and asks for info.json again with the token.
    await poll('info.json with the token', 30_000, async () =>
      answers.some((a) => a.url === `/iiif/3/${fileIds[0]}/info.json` && a.status === 200 && a.bearer) ? true : undefined,
    ).catch(async (err: Error) => {
      await shot('no-token.png');
      throw new Error(`${err.message}; answers ${JSON.stringify(answers)}; problems ${JSON.stringify(problems)}`);
    });
    t.true(answers.some((a) => a.url.startsWith('/iiif/auth/v1/token?') && a.status === 200), 'the token came from the 1.0 token service, in an iframe');
    await page.getByText('Đăng nhập để xem / Sign in to view').waitFor({ state: 'hidden', timeout: scaledTimeout(60_000) });

    // Mirador 4.0 keeps the tiles the page open during sign-in was refused (OpenSeadragon does
    // not ask for a failed tile again): each page it opens from now on is drawn, the first
    // one included when the reader comes back to it.
    const canvas = page.locator('#mirador .openseadragon-canvas canvas').first();
    const drawn = async (what: string, fileId: string) => {
      await poll(`a tile of ${what}`, 30_000, async () => (answers.some((a) => isTile(a, fileId) && a.status === 200) ? true : undefined)).catch(async (err: Error) => {
        await shot(`no-tiles-${fileId}.png`);
        throw new Error(`${err.message}; answers ${JSON.stringify(answers)}; problems ${JSON.stringify(problems)}`);
      });
      let stats: Awaited<ReturnType<typeof pixelStats>> | undefined;
      await poll(`${what} drawn`, 30_000, async () => {
        stats = await pixelStats(await canvas.screenshot(), PAPER, 0.85);
        return stats.paperShare > 0.05 && stats.inkPixels > 200 ? true : undefined;
      }, 500).catch(() => undefined);
      t.truthy(stats);
      t.true(stats!.paperShare > 0.05, `${what}: only ${(stats!.paperShare * 100).toFixed(1)}% paper on the canvas`);
      t.true(stats!.inkPixels > 200, `${what}: only ${stats!.inkPixels} ink pixels on the canvas`);
    };
    await page.locator('#mirador .mirador-next-canvas-button').first().click();
    await drawn('the second page (tờ 1b)', fileIds[1]!);
    await shot('signed-in-page-2.png');
    answers.length = 0;
    await page.locator('#mirador .mirador-previous-canvas-button').first().click();
    await drawn('the first page again (tờ 1a)', fileIds[0]!);
    await shot('signed-in-page-1.png');
  } finally {
    await shot('final.png');
  }
  t.log(`${problems.length} expected problems in the page (refusals before signing in, Mirador's React warning)`);
  t.deepEqual(unexpected(), [], 'console errors, page errors or failed requests in the Mirador page');
});

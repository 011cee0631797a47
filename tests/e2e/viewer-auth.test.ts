import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { pino } from 'pino';
import { setPassword } from '../../src/application/users.ts';
import { derivativeOf, type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { launchChromium, looksLikeAPage, outputDir, pixelStats, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { page as scanPage } from '../helpers/images.ts';
import { startTestServer, type TestServer, testWithServer } from '../helpers/server.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Our reading room as an IIIF Authorization Flow 2.0 client, in Debian's headless Chromium
 * against real servers: a restricted work opened anonymously shows the sign-in prompt (in
 * Vietnamese, from the access service) and loads no image; the prompt's button opens the
 * access service in a window, the reader signs in there, the window closes itself, the viewer
 * gets a token in its hidden frame, the probe says 200 and the pages are drawn; the logout
 * button ends it. From the reading room's addresses (a second server) the pages open without
 * any prompt. Screenshots go to test-output/viewer-auth/.
 */
const test = testWithServer();

const PASSWORD = 'mật khẩu bạn đọc thử nghiệm';
const ADMIN = { actor: { id: 'test', role: 'admin' } };
const PAPER = { r: 236, g: 228, b: 210 };
const OUT = outputDir('viewer-auth');

let browser: Browser | undefined;
let readingRoom: TestServer | undefined;
const workers: DerivativesWorker[] = [];
/** The restricted work on each server: its id and its pages' file ids. */
const works = new Map<TestServer, { id: string; files: string[] }>();

/** A restricted work of two scanned pages, with their derivatives made and its manifest out. */
async function restrictedWork(s: TestServer): Promise<{ id: string; files: string[] }> {
  workers.push(await startDerivativesWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config }));
  const created = await staffCall(s, 'POST', '/api/objects', { title: 'Sắc phong hạn chế', accessLevel: 'restricted' });
  const id = created.id as string;
  const files: string[] = [];
  for (const [n, text] of [[1, 'Sắc phong năm Minh Mạng thứ năm'], [2, 'Trang hai của sắc phong cổ']] as const) {
    const f = await uploadFile(s, id, await scanPage(text, { width: 600, height: 800, format: 'png' }), `trang-${n}.png`);
    files.push(f.fileId as string);
  }
  for (const fileId of files) {
    const d = await derivativeOf(s, id, fileId);
    if (d.failed) throw new Error(`derivative failed: ${JSON.stringify(d)}`);
  }
  await poll(`the manifest of ${id} with its pages`, 20_000, async () => {
    const res = await fetch(`${s.url}/iiif/manifest/${id}`);
    if (res.status !== 200) return undefined;
    const items = ((await res.json()) as Json).items;
    return Array.isArray(items) && items.length === 2 ? true : undefined;
  });
  return { id, files };
}

test.serial.before(async (t) => {
  const { server } = t.context;
  const changed = await setPassword(server.store, 'reader', PASSWORD, ADMIN);
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && changed.position !== null) await users.waitForPosition(changed.position, scaledTimeout(60_000));
  works.set(server, await restrictedWork(server));
  readingRoom = await startTestServer({ THUKHO_READING_ROOM_CIDRS: '127.0.0.1/32' });
  works.set(readingRoom, await restrictedWork(readingRoom));
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  for (const w of workers) await w.close();
  await readingRoom?.close();
});

interface Opened {
  page: Page;
  context: BrowserContext;
  unexpected: () => string[];
  /** Image API image requests (not info.json) and their statuses, as answered. */
  images: Array<{ url: string; status: number }>;
  /** Everything the page asked of the IIIF auth services, in order. */
  auth: string[];
}

async function open(url: string): Promise<Opened> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const page = await context.newPage();
  // OpenSeadragon may cancel a tile it no longer needs when the view moves: not a failure.
  const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
  const images: Opened['images'] = [];
  const auth: string[] = [];
  const record = (r: Response) => {
    const u = r.url();
    if (u.includes('/iiif/3/') && !u.endsWith('/info.json')) images.push({ url: u, status: r.status() });
  };
  // Every page of the context: the access window is a second page.
  context.on('response', record);
  context.on('request', (r) => {
    if (r.url().includes('/iiif/auth/')) auth.push(new URL(r.url()).pathname);
  });
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, context, unexpected, images, auth };
}

/** The viewer's canvas, once it shows a page (paper and ink), as pixel statistics. */
async function paintedPage(page: Page, name: string) {
  const osd = page.locator('[data-role="osd"]');
  let stats: Awaited<ReturnType<typeof pixelStats>> | undefined;
  await poll(`a painted page in ${name}`, 30_000, async () => {
    stats = await pixelStats(await osd.screenshot(), PAPER);
    return looksLikeAPage(stats) ? true : undefined;
  }, 300).catch(() => undefined);
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  return stats!;
}

const authStep = (page: Page) => page.getAttribute('[data-role="auth"]', 'data-auth');

test.serial('anonymous: a restricted work shows the sign-in prompt in Vietnamese and loads no image; signing in in the window opens it', async (t) => {
  const s = t.context.server;
  const work = works.get(s)!;
  const manifest = `${s.url}/iiif/manifest/${work.id}`;
  const { page, context, unexpected, images, auth } = await open(`${s.url}/viewer?manifest=${encodeURIComponent(manifest)}`);
  try {
    const prompt = page.locator('[data-role="auth"]');
    await prompt.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    t.is(await authStep(page), 'prompt');
    t.is(await page.getAttribute('#thukho-viewer', 'data-state'), 'auth', 'not loading any more: waiting for the reader');
    t.true(await page.locator('[data-action="next"]').isVisible(), 'the tools work while the prompt is up');
    t.is((await page.locator('[data-role="auth-heading"]').textContent())?.trim(), 'Tài liệu hạn chế', 'the access service’s heading, in Vietnamese');
    t.regex((await page.locator('[data-role="auth-note"]').textContent()) ?? '', /bạn đọc.*đăng nhập/i);
    const button = page.locator('[data-action="auth-confirm"]');
    t.is((await button.textContent())?.trim(), 'Đăng nhập');
    await page.screenshot({ path: join(OUT, 'prompt.png') });
    t.is(images.filter((i) => i.status === 200).length, 0, `no image was loaded: ${JSON.stringify(images)}`);
    t.deepEqual(images, [], 'no image was even asked for (thumbnails wait too)');
    // The reading room (external) was tried before the prompt, and nothing was opened.
    t.true(auth.some((p) => p.startsWith('/iiif/auth/probe/')), `the probe was asked: ${auth.join(', ')}`);
    t.true(auth.includes('/iiif/auth/token'), `the external service's token service was tried: ${auth.join(', ')}`);
    t.false(auth.includes('/iiif/auth/access'), 'no window opened without a click');
    t.is(await page.locator('[data-action="logout"]').isVisible(), false, 'no token, no logout');

    // The click opens the access service in a window; it sends the reader to /sign-in.
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await popup.waitForURL(/\/sign-in/);
    t.true(auth.includes('/iiif/auth/access'), 'the access service was opened');
    t.regex(await authStep(page) ?? '', /waiting/);
    t.regex((await page.locator('[data-role="auth-status"]').textContent()) ?? '', /đăng nhập/i);
    await popup.fill('input[name="account"]', 'reader');
    await popup.fill('input[name="password"]', PASSWORD);
    await Promise.all([popup.waitForEvent('close', { timeout: scaledTimeout(60_000) }), popup.click('form button[type="submit"]')]);

    // Token in the hidden frame, probe with it: the pages open.
    await prompt.waitFor({ state: 'hidden', timeout: scaledTimeout(60_000) });
    t.is(await viewerSettled(page), 'ready');
    await poll('tiles answered 200', 30_000, async () => (images.some((i) => i.status === 200 && i.url.includes(`/iiif/3/${work.files[0]}/`)) ? true : undefined));
    const stats = await paintedPage(page, 'signed-in');
    t.true(looksLikeAPage(stats), `the canvas does not show the page: ${JSON.stringify(stats)}`);
    t.is(await page.locator('iframe.tv-auth-frame').count(), 0, 'the token frame is gone once it has answered');
    t.is(await page.getAttribute('[data-action="logout"]', 'aria-label'), 'Đăng xuất');
    t.true(await page.locator('[data-action="logout"]').isVisible(), 'a token held, its logout offered');

    // The next page opens at once: its probe passes on the same sign-in, no second prompt.
    await page.click('[data-action="next"]');
    await page.waitForFunction(() => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === '2');
    await poll('tiles of page 2', 30_000, async () => (images.some((i) => i.status === 200 && i.url.includes(`/iiif/3/${work.files[1]}/`)) ? true : undefined));
    t.true(await prompt.isHidden());
    await paintedPage(page, 'signed-in-page-2');
    // Restricted thumbnails waited for the sign-in; now they are there.
    await poll('thumbnails', 15_000, async () => ((await page.locator('nav[data-role="thumbnails"] img').count()) === 2 ? true : undefined));
    t.deepEqual(unexpected(), []);

    // Logout: the logout service in a window (our sign-out page); signed out, the prompt is back.
    const [bye] = await Promise.all([page.waitForEvent('popup'), page.click('[data-action="logout"]')]);
    await bye.waitForURL(/\/sign-out/);
    await Promise.all([bye.waitForURL((u) => u.pathname === '/'), bye.click('form[action="/sign-out"] button[type="submit"]')]);
    await bye.close();
    await prompt.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    t.is(await authStep(page), 'prompt');
    t.true(await page.locator('[data-action="logout"]').isHidden());
    await page.screenshot({ path: join(OUT, 'signed-out.png') });
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('in English, and a window closed without signing in: the token service’s reason and a retry, still no image', async (t) => {
  const s = t.context.server;
  const work = works.get(s)!;
  const manifest = `${s.url}/iiif/manifest/${work.id}`;
  const { page, context, unexpected, images } = await open(`${s.url}/viewer?lang=en&manifest=${encodeURIComponent(manifest)}`);
  try {
    const prompt = page.locator('[data-role="auth"]');
    await prompt.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    t.is((await page.locator('[data-role="auth-heading"]').textContent())?.trim(), 'Restricted material');
    const button = page.locator('[data-action="auth-confirm"]');
    t.is((await button.textContent())?.trim(), 'Sign in');

    // The reader closes the window without signing in: the token service says why (missingAspect).
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await popup.waitForURL(/\/sign-in/);
    await popup.close();
    await page.waitForFunction(() => document.querySelector('[data-role="auth"]')?.getAttribute('data-auth') === 'failed', undefined, { timeout: scaledTimeout(60_000) });
    t.is((await page.locator('[data-role="auth-heading"]').textContent())?.trim(), 'Not signed in');
    t.regex((await page.locator('[data-role="auth-note"]').textContent()) ?? '', /not signed in as a reader/);
    t.is((await button.textContent())?.trim(), 'Try again');
    t.true(await button.isEnabled());
    await page.screenshot({ path: join(OUT, 'failed-en.png') });

    // The retry opens the access service again, from the click.
    const [again] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await again.waitForURL(/\/sign-in/);
    t.is(await authStep(page), 'waiting');
    await again.close();
    await page.waitForFunction(() => document.querySelector('[data-role="auth"]')?.getAttribute('data-auth') === 'failed', undefined, { timeout: scaledTimeout(60_000) });
    t.deepEqual(images, [], 'no image was asked for');
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('reading room: from its addresses the object page opens the restricted work without a prompt or signing in', async (t) => {
  const s = readingRoom!;
  const work = works.get(s)!;
  const { page, context, unexpected, images, auth } = await open(`${s.url}/objects/${work.id}`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await poll('tiles answered 200', 30_000, async () => (images.some((i) => i.status === 200 && i.url.includes(`/iiif/3/${work.files[0]}/`)) ? true : undefined));
    const stats = await paintedPage(page, 'reading-room');
    t.true(looksLikeAPage(stats), JSON.stringify(stats));
    t.true(await page.locator('[data-role="auth"]').isHidden(), 'no prompt');
    t.false(auth.includes('/iiif/auth/access'), 'no access window');
    t.true(await page.locator('[data-action="logout"]').isHidden(), 'no token, nothing to log out of');
    t.is(images.filter((i) => i.status !== 200).length, 0, JSON.stringify(images.filter((i) => i.status !== 200)));
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

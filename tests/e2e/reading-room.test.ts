import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { page as scanPage } from '../helpers/images.ts';
import { derivativeOf, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { firstTilePainted, launchChromium, looksLikeAPage, outputDir, pixelStats, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { seedDemoCollection } from '../helpers/demo.ts';
import { testWithServer } from '../helpers/server.ts';
import type { DerivativesWorker } from '../../workers/derivatives.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The reading room as a researcher meets it: our own server, the demo collection seeded as
 * `thukho demo` seeds it, the object page `/objects/{id}` in Debian's headless Chromium.
 * First tile painted, deeper tiles on zoom, page turning (buttons, keys, thumbnails, page box),
 * two-page spreads in both reading directions, share links (URL and IIIF Content State),
 * filters, rotation, download, English, a 360 × 740 phone, and escaped metadata.
 * Screenshots go to test-output/reading-room/.
 */
const test = testWithServer();

const KIEU = 'truyen-kieu-1871'; // vie + lzh: a right-to-left book
const LVT = 'luc-van-tien-1889'; // Quốc ngữ print: left to right
const PAPER = { r: 233, g: 220, b: 190 };
const OUT = outputDir('reading-room');

let browser: Browser | undefined;
let worker: DerivativesWorker | undefined;
let files: Record<string, string[]> = {};

test.serial.before(async (t) => {
  const seeded = await seedDemoCollection(t.context.server, [KIEU, LVT]);
  worker = seeded.worker;
  files = seeded.files;
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  await worker?.close();
});

interface Opened {
  page: Page;
  context: BrowserContext;
  unexpected: () => string[];
  /** Image API requests the page made, in order. */
  images: string[];
  /** The HTTP status of the page itself. */
  status: number;
}

async function open(url: string, viewport = { width: 1280, height: 900 }, extra: { isMobile?: boolean; hasTouch?: boolean } = {}): Promise<Opened> {
  const context = await browser!.newContext({ viewport, locale: 'vi-VN', ...extra });
  const page = await context.newPage();
  // OpenSeadragon may cancel a tile it no longer needs when the view moves: not a failure.
  const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
  const images: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/iiif/3/')) images.push(r.url());
  });
  const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, context, unexpected, images, status: response?.status() ?? 0 };
}

/** The viewer's canvas, once it shows a page (paper and ink), as pixel statistics. */
async function paintedPage(page: Page, name: string) {
  const osd = page.locator('[data-role="osd"]');
  let png: Buffer | undefined;
  let stats: Awaited<ReturnType<typeof pixelStats>> | undefined;
  await poll(`a painted page in ${name}`, 30_000, async () => {
    png = await osd.screenshot();
    stats = await pixelStats(png, PAPER);
    return looksLikeAPage(stats) ? true : undefined;
  }, 300).catch(() => undefined);
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  return stats!;
}

type ViewerState = { page: number; pageCount: number; spread: boolean; zoom: number; rotation: number; bounds: { x: number; y: number; w: number; h: number } | null; shown: Array<{ page: number; x: number }> };
const state = (page: Page) => page.evaluate(() => (window as unknown as { thukhoViewer: { state(): unknown } }).thukhoViewer.state()) as Promise<ViewerState>;
const attr = async (page: Page, name: string) => (await page.getAttribute('#thukho-viewer', name)) ?? '';
const waitPage = (page: Page, n: number) => page.waitForFunction((want) => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === String(want), n, { timeout: scaledTimeout(60_000) });

/** Scale factor of a tile request: region width over delivered width (1 = full resolution). */
function scaleOf(url: string): number | undefined {
  const m = /\/iiif\/3\/[^/]+\/(\d+),(\d+),(\d+),(\d+)\/(\d+),(\d*)\//.exec(url);
  if (!m) return undefined;
  return Number(m[3]) / Number(m[5]);
}

test.serial('desktop: the demo manuscript opens, its first tile is painted, the record and metadata are in Vietnamese', async (t) => {
  const { page, context, unexpected } = await open(`${t.context.server.url}/objects/${KIEU}`);
  try {
    t.is(await viewerSettled(page), 'ready');
    const ms = await firstTilePainted(page);
    t.log(`first tile painted ${ms.toFixed(0)} ms after navigation`);
    const stats = await paintedPage(page, 'desktop');
    t.true(looksLikeAPage(stats), `the canvas does not show a page: ${JSON.stringify(stats)}`);
    t.is(await page.getAttribute('html', 'lang'), 'vi');
    t.is(await attr(page, 'data-page'), '1');
    t.is(await attr(page, 'data-page-count'), '3');
    t.is(await attr(page, 'data-direction'), 'right-to-left');
    t.is(await page.locator('nav[data-role="thumbnails"] button[data-page]').count(), 3);
    const next = (await page.getAttribute('[data-action="next"]', 'aria-label')) ?? '';
    t.regex(next, /trang|sau|tiếp/i, `the next button speaks Vietnamese: ${next}`);

    await page.click('[data-action="info"]');
    const info = page.locator('[data-role="metadata"]');
    await info.waitFor({ state: 'visible' });
    const text = (await info.textContent()) ?? '';
    t.true(text.includes('Kim Vân Kiều tân truyện'), text.slice(0, 200));
    t.true(text.includes('Thư viện') || text.includes('Nơi lưu giữ'), 'the holding library is named');
    await page.screenshot({ path: join(OUT, 'desktop-info.png') });
    await page.keyboard.press('Escape');
    await info.waitFor({ state: 'hidden' });
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('zoom: zooming in asks the Image API for higher-resolution tiles', async (t) => {
  const { page, context, unexpected, images } = await open(`${t.context.server.url}/objects/${KIEU}?spread=0`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    await paintedPage(page, 'zoom-before');
    const first = files[KIEU]![0]!;
    const scales = () => images.filter((u) => u.includes(`/iiif/3/${first}/`)).map(scaleOf).filter((s): s is number => s !== undefined);
    const before = Math.min(...scales());
    const zoomBefore = (await state(page)).zoom;
    const seen = images.length;
    for (let i = 0; i < 4; i++) await page.click('[data-action="zoom-in"]');
    await poll('finer tiles after zooming in', 15_000, async () => (Math.min(...scales()) < before ? true : undefined), 200).catch(() => undefined);
    const after = Math.min(...scales());
    t.log(`finest tile scale before ${before}, after ${after}; ${images.length - seen} new requests`);
    t.true(after < before, `no finer tiles requested (scale factor ${before} → ${after})`);
    // The state gives the zoom shown now, which follows the clicks' animation.
    const zoomAfter = await poll('the zoom animation to end', 15_000, async () => {
      const z = (await state(page)).zoom;
      return z > zoomBefore * 2 ? z : undefined;
    }, 100).catch(async () => (await state(page)).zoom);
    t.true(zoomAfter > zoomBefore * 2, `zoom ${zoomBefore} → ${zoomAfter}`);
    await paintedPage(page, 'zoom-after');
    await page.click('[data-action="home"]');
    await poll('the home view', 5000, async () => ((await state(page)).zoom < zoomBefore * 1.5 ? true : undefined), 100);
    t.pass();
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('pages: next and previous, keys, thumbnails, the page box; spreads put the earlier page on the right in a right-to-left book', async (t) => {
  const { page, context, unexpected, images } = await open(`${t.context.server.url}/objects/${KIEU}`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    // A paged book on a wide screen opens as spreads: page 1 alone, then 2–3.
    t.is(await attr(page, 'data-spread'), 'true');
    await page.click('[data-action="next"]');
    await waitPage(page, 2);
    const [, second, third] = files[KIEU]!;
    await poll('tiles of pages 2 and 3', 15_000, async () => (images.some((u) => u.includes(`/iiif/3/${second}/`)) && images.some((u) => u.includes(`/iiif/3/${third}/`)) ? true : undefined));
    const shown = (await state(page)).shown;
    t.deepEqual(shown.map((s) => s.page).sort(), [2, 3]);
    const x = (n: number) => shown.find((s) => s.page === n)!.x;
    t.true(x(2) > x(3), `right to left: page 2 should be right of page 3 (${JSON.stringify(shown)})`);
    await paintedPage(page, 'spread-rtl');

    await page.click('[data-action="prev"]');
    await waitPage(page, 1);
    // In a right-to-left book the left arrow reads on.
    await page.locator('[data-role="osd"]').click();
    await page.keyboard.press('ArrowLeft');
    await waitPage(page, 2);
    await page.keyboard.press('Home');
    await waitPage(page, 1);

    await page.click('[data-action="spread"]');
    await page.waitForFunction(() => document.querySelector('#thukho-viewer')?.getAttribute('data-spread') === 'false');
    await page.click('nav[data-role="thumbnails"] button[data-page="3"]');
    await waitPage(page, 3);
    t.is(await page.getAttribute('nav[data-role="thumbnails"] button[data-page="3"]', 'aria-current'), 'page');
    await page.fill('input[data-role="page-input"]', '2');
    await page.press('input[data-role="page-input"]', 'Enter');
    await waitPage(page, 2);
    await paintedPage(page, 'page-2');
    t.true(page.url().includes('page=2'), `the address keeps the page: ${page.url()}`);
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('a left-to-right book puts the earlier page of a spread on the left', async (t) => {
  const { page, context, unexpected } = await open(`${t.context.server.url}/objects/${LVT}?page=2&spread=1`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    t.is(await attr(page, 'data-direction'), 'left-to-right');
    const shown = (await state(page)).shown;
    const x = (n: number) => shown.find((s) => s.page === n)!.x;
    t.true(x(2) < x(3), JSON.stringify(shown));
    await paintedPage(page, 'spread-ltr');
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('share: the link and the IIIF Content State reopen the same page and region', async (t) => {
  const base = t.context.server.url;
  const { page, context, unexpected } = await open(`${base}/objects/${KIEU}?spread=0&page=3`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    t.is(await attr(page, 'data-page'), '3');
    for (let i = 0; i < 3; i++) await page.click('[data-action="zoom-in"]');
    await page.waitForTimeout(1200); // let the zoom animation settle
    const here = await state(page);
    await page.click('[data-action="share"]');
    const link = await page.inputValue('input[data-role="share-url"]');
    const contentState = await page.inputValue('input[data-role="share-content-state"]');
    t.regex(link, /[?&]page=3(&|$)/);
    t.regex(link, /[?&]xywh=\d+,\d+,\d+,\d+/);
    t.true(contentState.includes('iiif-content='), contentState);
    await page.screenshot({ path: join(OUT, 'share.png') });

    for (const [name, url] of [['link', link], ['content-state', contentState]] as const) {
      const other = await context.newPage();
      const problems = watchProblems(other, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
      await other.goto(url);
      t.is(await viewerSettled(other), 'ready', name);
      await firstTilePainted(other);
      // The content state names a canvas, not a layout: on a wide screen page 3 may open
      // inside its spread (2–3), zoomed to the same region of page 3.
      await poll(`${name}: page 3 on screen`, 15_000, async () => ((await state(other)).shown.some((p) => p.page === 3) ? true : undefined));
      await other.waitForTimeout(800);
      const there = await state(other);
      t.truthy(there.bounds && here.bounds);
      // The same region, within what aspect-ratio fitting of a different window allows.
      const centre = (b: { x: number; y: number; w: number; h: number }) => [b.x + b.w / 2, b.y + b.h / 2];
      const [ax, ay] = centre(here.bounds!);
      const [bx, by] = centre(there.bounds!);
      t.true(Math.abs(ax! - bx!) < here.bounds!.w * 0.1 && Math.abs(ay! - by!) < here.bounds!.h * 0.1, `${name}: ${JSON.stringify(here.bounds)} vs ${JSON.stringify(there.bounds)}`);
      t.true(there.zoom > here.zoom * 0.7 && there.zoom < here.zoom * 1.4, `${name}: zoom ${here.zoom} vs ${there.zoom}`);
      await other.screenshot({ path: join(OUT, `share-opened-${name}.png`) });
      t.deepEqual(problems.unexpected(), [], name);
      await other.close();
    }
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('filters, rotation, full screen and download of the page image', async (t) => {
  const { page, context, unexpected } = await open(`${t.context.server.url}/objects/${KIEU}?spread=0`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    const plain = await paintedPage(page, 'filters-before');

    await page.click('[data-action="filters"]');
    await page.check('[data-filter="invert"]');
    const filter = await page.locator('[data-role="osd"] canvas').first().evaluate((c) => getComputedStyle(c).filter);
    t.regex(filter, /invert/);
    const inverted = await pixelStats(await page.locator('[data-role="osd"]').screenshot(), { r: 255 - PAPER.r, g: 255 - PAPER.g, b: 255 - PAPER.b });
    t.true(inverted.paperShare > plain.paperShare * 0.5, `inverted paper share ${inverted.paperShare} vs ${plain.paperShare}`);
    await page.screenshot({ path: join(OUT, 'filters-inverted.png') });
    await page.click('[data-action="reset-filters"]');
    t.notRegex(await page.locator('[data-role="osd"] canvas').first().evaluate((c) => getComputedStyle(c).filter), /invert/);
    await page.keyboard.press('Escape');

    await page.click('[data-action="rotate-right"]');
    await poll('a quarter turn', 5000, async () => ((await state(page)).rotation === 90 ? true : undefined), 100);
    t.is((await state(page)).rotation, 90);
    await page.click('[data-action="rotate-left"]');
    await poll('back upright', 5000, async () => ((await state(page)).rotation % 360 === 0 ? true : undefined), 100);

    // The button says what it will do: "full screen", then "leave full screen", then "full screen" again.
    const fullscreenLabel = async () => (await page.getAttribute('[data-action="fullscreen"]', 'aria-label')) ?? '';
    const enter = await fullscreenLabel();
    await page.click('[data-action="fullscreen"]');
    await poll('full screen', 5000, async () => ((await page.evaluate(() => document.fullscreenElement?.id ?? null)) === 'thukho-viewer' ? true : undefined), 100);
    // The label follows the fullscreenchange event, which may come a moment after the element is set.
    const leave = await poll('the button to say "leave full screen"', 5000, async () => {
      const now = await fullscreenLabel();
      return now !== enter ? now : undefined;
    }, 100).catch(() => enter);
    t.not(leave, enter, 'in full screen the button offers to leave it');
    await page.keyboard.press('Escape');
    await page.evaluate(() => (document.fullscreenElement ? document.exitFullscreen() : undefined));
    await poll('back from full screen', 5000, async () => ((await page.evaluate(() => document.fullscreenElement)) === null ? true : undefined), 100);
    const after = await poll('the button to say "full screen" again', 5000, async () => {
      const now = await fullscreenLabel();
      return now === enter ? now : undefined;
    }, 100).catch(() => leave);
    t.is(after, enter, 'back from full screen the button offers it again');

    const download = page.locator('a[data-action="download"]');
    t.false(await download.isHidden(), 'an open object offers its page image');
    const href = (await download.getAttribute('href')) ?? '';
    t.regex(href, new RegExp(`/iiif/3/${files[KIEU]![0]}/full/max/0/default\\.jpg$`));
    const res = await fetch(new URL(href, t.context.server.url));
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'image/jpeg');
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('English: ?lang=en switches the site and the viewer, and the switch keeps the page', async (t) => {
  const { page, context, unexpected } = await open(`${t.context.server.url}/objects/${KIEU}?spread=0&page=2`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await page.click('a[data-lang-switch="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    t.is(await viewerSettled(page), 'ready');
    await waitPage(page, 2);
    t.true(page.url().includes('lang=en'));
    const next = (await page.getAttribute('[data-action="next"]', 'aria-label')) ?? '';
    t.regex(next, /next/i);
    await page.click('[data-action="info"]');
    const text = (await page.locator('[data-role="metadata"]').textContent()) ?? '';
    t.regex(text, /Held by|Title|Language|Date/);
    await firstTilePainted(page);
    await paintedPage(page, 'english');
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('phone: 360 × 740, nothing overflows, the page is painted, swiping turns it', async (t) => {
  const { page, context, unexpected } = await open(`${t.context.server.url}/objects/${LVT}`, { width: 360, height: 740 }, { isMobile: true, hasTouch: true });
  try {
    t.is(await viewerSettled(page), 'ready');
    await firstTilePainted(page);
    const stats = await paintedPage(page, 'phone');
    t.true(looksLikeAPage(stats), JSON.stringify(stats));
    t.is(await attr(page, 'data-spread'), 'false', 'no spreads on a narrow screen');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    t.true(width <= 360, `the page is ${width} px wide at a 360 px viewport`);
    // Zoom is a pinch on a phone; the rarer tools wait behind "more".
    t.true(await page.locator('[data-action="zoom-in"]').isHidden(), 'zoom buttons give way to pinch on a phone');
    for (const action of ['prev', 'next', 'more']) {
      const box = await page.locator(`[data-action="${action}"]`).boundingBox();
      t.truthy(box, `${action} is visible`);
      t.true(box!.x >= 0 && box!.x + box!.width <= 360, `${action} lies inside the screen`);
      t.true(box!.width >= 40 && box!.height >= 40, `${action} is a ${box!.width}×${box!.height} touch target`);
    }
    // A quick horizontal swipe, finger right to left: the next page of a left-to-right book.
    const osd = (await page.locator('[data-role="osd"]').boundingBox())!;
    const y = osd.y + osd.height / 2;
    const cdp = await context.newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number) =>
      cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
    await touch('touchStart', osd.x + osd.width * 0.8);
    for (let i = 1; i <= 5; i++) await touch('touchMove', osd.x + osd.width * (0.8 - i * 0.12));
    await touch('touchEnd', 0);
    await waitPage(page, 2);
    await paintedPage(page, 'phone-page-2');
    await page.click('[data-action="more"]');
    const zoom = await page.locator('[data-action="zoom-in"]').boundingBox();
    t.truthy(zoom, 'after "more", zoom-in is on screen');
    t.true(zoom!.x >= 0 && zoom!.x + zoom!.width <= 360);
    await page.screenshot({ path: join(OUT, 'phone-more.png') });
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('escaping: a title with <script> shows as text on the page and in the viewer, and runs nothing', async (t) => {
  const s = t.context.server;
  const title = '<script>window.__xss = 1</script> Sổ "đinh" & điền';
  const created = await staffCall(s, 'POST', '/api/objects', { id: 'xss-title', title, description: '<img src=x onerror="window.__xss = 2">' });
  t.is(created.id, 'xss-title');
  const f = await uploadFile(s, 'xss-title', await scanPage('Sổ đinh điền', { width: 600, height: 800 }), 'p1.tif');
  await derivativeOf(s, 'xss-title', f.fileId as string);
  await poll('its manifest', 15_000, async () => ((await fetch(`${s.url}/iiif/manifest/xss-title`)).status === 200 ? true : undefined));
  const { page, context, unexpected } = await open(`${s.url}/objects/xss-title`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await page.click('[data-action="info"]');
    const text = (await page.locator('[data-role="metadata"]').textContent()) ?? '';
    t.true(text.includes('<script>window.__xss = 1</script>'), 'the title is shown as text');
    t.true((await page.locator('h1').first().textContent())?.includes('<script>'), 'the record heading shows the title as text');
    t.is(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'nothing ran');
    t.is(await page.locator('img[src="x"]').count(), 0);
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('a restricted object tells an anonymous reader why, and its viewer asks them to sign in', async (t) => {
  const s = t.context.server;
  const o = await staffCall(s, 'GET', `/api/objects/${LVT}`);
  const res = await fetch(`${s.url}/api/objects/${LVT}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json', 'if-match': `"${o.revision as number}"` },
    body: JSON.stringify({ accessLevel: 'restricted' }),
  });
  t.is(res.status, 200, await res.clone().text());
  const { page, context, unexpected, status } = await open(`${s.url}/objects/${LVT}`);
  try {
    // The record is public (200); the images are not, and the page says how to get them.
    t.is(status, 200);
    await page.locator('[data-role="auth"]').waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    t.regex((await page.locator('[data-action="auth-confirm"]').textContent()) ?? '', /Đăng nhập/);
    t.true(((await page.locator('h1').textContent()) ?? '').includes(o.title as string), 'the record');
    t.regex((await page.locator('[data-code="sign-in-needed"]').textContent()) ?? '', /phòng đọc.*đăng nhập|đăng nhập.*phòng đọc/i);
    await page.screenshot({ path: join(OUT, 'restricted.png') });
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('out-of-range pages open page 1 with a notice', async (t) => {
  for (const bad of ['99', '0', 'abc']) {
    const { page, context, unexpected } = await open(`${t.context.server.url}/objects/${KIEU}?page=${bad}`);
    try {
      t.is(await viewerSettled(page), 'ready', bad);
      await firstTilePainted(page);
      t.is(await attr(page, 'data-page'), '1', bad);
      const notice = page.locator('[data-role="notice"][data-code="page-out-of-range"]');
      await notice.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
      t.true(((await notice.textContent()) ?? '').length > 10, bad);
      if (bad === '99') await page.screenshot({ path: join(OUT, 'page-out-of-range.png') });
      t.deepEqual(unexpected(), [], bad);
    } finally {
      await context.close();
    }
  }
});


/**
 * Interactive elements without an accessible name, and images without alt: an audit run in
 * the page. A string, because tsx's helpers (`__name`) do not exist inside the browser.
 */
const UNNAMED_CONTROLS = `(() => {
  const bad = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type="hidden"]), select, textarea')) {
    if (el.offsetParent === null && getComputedStyle(el).position !== 'fixed') continue;
    const id = el.getAttribute('id');
    const by = el.getAttribute('aria-labelledby');
    const name =
      (el.getAttribute('aria-label') || '').trim() ||
      (by ? (document.getElementById(by)?.textContent || '').trim() : '') ||
      (el.getAttribute('title') || '').trim() ||
      (id ? (document.querySelector('label[for="' + id + '"]')?.textContent || '').trim() : '') ||
      (el.closest('label')?.textContent || '').trim() ||
      (el.tagName === 'INPUT' ? '' : (el.textContent || '').trim()) ||
      Array.from(el.querySelectorAll('img[alt]')).map((i) => i.getAttribute('alt')).join('').trim();
    if (!name) bad.push(el.outerHTML.slice(0, 120));
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) bad.push(img.outerHTML.slice(0, 120));
  return bad;
})()`;
const unnamedControls = (page: Page) => page.evaluate(UNNAMED_CONTROLS) as Promise<string[]>;

test.serial('public site: home, collection and search lead to the reader, in both languages and on a phone, every control named', async (t) => {
  const base = t.context.server.url;
  for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 360, height: 740 }]] as const) {
    const { page, context, unexpected } = await open(`${base}/`, viewport);
    try {
      t.is(await page.getAttribute('html', 'lang'), 'vi');
      t.is(await page.locator('h1').count(), 1, `${label}: one h1`);
      t.true(await page.locator('a[href^="/collections/"]').count() >= 1, `${label}: the demo collection is listed`);
      t.true(await page.locator(`a[href="/objects/${KIEU}"]`).count() >= 1, `${label}: recent additions list the demo book`);
      await page.waitForLoadState('load');
      t.deepEqual(await unnamedControls(page), [], `${label}: home`);
      t.true(await page.evaluate(() => document.documentElement.scrollWidth) <= viewport.width, `${label}: home overflows`);
      await page.screenshot({ path: join(OUT, `site-home-${label}.png`), fullPage: true });

      // Search without diacritics finds the book, and its result opens the reader.
      await page.fill('input[name="q"]', 'kim van kieu');
      await page.press('input[name="q"]', 'Enter');
      await page.waitForURL(/\/search\?/);
      t.true(await page.evaluate(() => document.documentElement.scrollWidth) <= viewport.width, `${label}: search overflows`);
      t.is(await page.locator('mark').first().textContent().then((s) => s?.normalize('NFC')), 'Kim', `${label}: the match is marked`);
      t.deepEqual(await unnamedControls(page), [], `${label}: search`);
      await page.screenshot({ path: join(OUT, `site-search-${label}.png`), fullPage: true });
      await page.click(`main a[href="/objects/${KIEU}"]`);
      await page.waitForURL(new RegExp(`/objects/${KIEU}`));
      t.is(await viewerSettled(page), 'ready');
      await firstTilePainted(page);
      t.deepEqual(await unnamedControls(page), [], `${label}: object page`);
      t.true(await page.evaluate(() => document.documentElement.scrollWidth) <= viewport.width, `${label}: object page overflows`);

      // The collection page, in English.
      const collections = await (await fetch(`${base}/api/collections`)).json() as { items: Array<{ id: string }> };
      await page.goto(`${base}/collections/${collections.items[0]!.id}?lang=en`);
      t.is(await page.getAttribute('html', 'lang'), 'en');
      t.true(await page.locator(`a[href="/objects/${KIEU}"]`).count() >= 1, `${label}: the collection lists the book`);
      t.deepEqual(await unnamedControls(page), [], `${label}: collection`);
      await page.screenshot({ path: join(OUT, `site-collection-${label}-en.png`), fullPage: true });
      t.deepEqual(unexpected().filter((p) => !/status of 404/.test(p)), [], label);
    } finally {
      await context.close();
    }
  }
});

test.serial('table of contents: the record panel lists it, and an entry opens its first page (its canvas label shown beside it)', async (t) => {
  const s = t.context.server;
  const [first, , third] = files[KIEU]!;
  const set = await staffCall(s, 'PUT', `/api/objects/${KIEU}/structure`, { ranges: [{ label: 'Mở đầu', fileId: first }, { label: 'Hồi thứ hai', fileId: third }] });
  t.is((set.structure as unknown[]).length, 2, JSON.stringify(set));
  await staffCall(s, 'PUT', `/api/objects/${KIEU}/page-labels`, { labels: [{ fileId: third, label: 'tờ 2a' }] });
  // The manifest projection runs on its own: wait for the document to carry both.
  await poll('the manifest with its structures', 15_000, async () => {
    const m = (await (await fetch(`${s.url}/iiif/manifest/${KIEU}`)).json()) as { structures?: unknown[]; items: Array<{ label: Record<string, string[]> }> };
    return m.structures?.length === 2 && m.items[2]?.label.vi?.[0] === 'tờ 2a' ? true : undefined;
  });
  const { page, context, unexpected } = await open(`${s.url}/objects/${KIEU}?spread=0`);
  try {
    t.is(await viewerSettled(page), 'ready');
    await page.click('[data-action="info"]');
    const entries = page.locator('nav[data-role="contents"] button');
    t.is(await entries.count(), 2);
    t.deepEqual(await entries.allInnerTexts().then((x) => x.map((s2) => s2.replace(/\s+/g, ' ').trim())), ['Mở đầu Trang 1', 'Hồi thứ hai tờ 2a']);
    t.is(await entries.nth(1).getAttribute('aria-label'), 'Hồi thứ hai, từ trang tờ 2a');
    await page.screenshot({ path: join(OUT, 'contents.png') });
    await entries.nth(1).click();
    await waitPage(page, 3);
    if (!(await entries.first().isVisible())) await page.click('[data-action="info"]');
    await entries.first().click();
    await waitPage(page, 1);
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

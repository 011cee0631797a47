import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { poll } from '../helpers/api.ts';
import { firstTilePainted, launchChromium, looksLikeAPage, outputDir, pixelStats, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { testWithServer } from '../helpers/server.ts';
import { SEARCH_HITS, type StaticIiifSite, startStaticIiifSite } from '../helpers/static-iiif.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The reading room is not tied to our server: `/viewer?manifest=URL` reads somebody else's
 * Presentation 3 manifest from another origin — hand-written in the IIIF cookbook's style,
 * level-0 static tiles (Image API 3 and 2) — searches inside it through its SearchService2,
 * and says in plain words what is wrong with broken manifests and failing tile servers.
 */
const test = testWithServer();
const PAPER = { r: 233, g: 220, b: 190 };
const OUT = outputDir('viewer-external');

let browser: Browser | undefined;
let site: StaticIiifSite | undefined;

test.serial.before(async () => {
  site = await startStaticIiifSite();
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  await site?.close();
});

async function open(path: string, allowed: RegExp[] = [], viewport = { width: 1280, height: 860 }) {
  const context: BrowserContext = await browser!.newContext({ viewport, locale: 'vi-VN' });
  const page: Page = await context.newPage();
  const watch = watchProblems(page, allowed);
  await page.goto(`${serverUrl}${path}`, { waitUntil: 'domcontentloaded' });
  return { page, context, unexpected: watch.unexpected };
}
let serverUrl = '';
test.beforeEach((t) => {
  serverUrl = t.context.server.url;
});

const viewerUrl = (manifest: string, extra = '') => `/viewer?manifest=${encodeURIComponent(manifest)}${extra}`;

async function painted(page: Page, name: string) {
  await firstTilePainted(page);
  let stats: Awaited<ReturnType<typeof pixelStats>> | undefined;
  await poll(`${name}: a painted page`, 30_000, async () => {
    stats = await pixelStats(await page.locator('[data-role="osd"]').screenshot(), PAPER);
    return looksLikeAPage(stats) ? true : undefined;
  }, 300).catch(() => undefined);
  await page.screenshot({ path: join(OUT, `${name}.png`) });
  return stats!;
}

const tileRequests = (prefix: string) => site!.requests.filter((p) => p.startsWith(prefix) && !p.endsWith('/info.json'));

test.serial('a cookbook-style manifest with level-0 Image API 3 tiles from another origin: painted, paged, described', async (t) => {
  const manifest = `${site!.url}/cookbook/manifest.json`;
  const { page, context, unexpected } = await open(viewerUrl(manifest));
  try {
    t.is(await viewerSettled(page), 'ready');
    const stats = await painted(page, 'cookbook-level0');
    t.true(looksLikeAPage(stats), JSON.stringify(stats));
    t.true(tileRequests('/tiles3/page-1/').length > 0, 'tiles came from the static site');
    t.is(await page.getAttribute('#thukho-viewer', 'data-page-count'), '2');
    t.is(await page.getAttribute('#thukho-viewer', 'data-spread'), 'false', 'behavior individuals: no spreads');
    t.is(await page.locator('nav[data-role="thumbnails"] button[data-page]').count(), 2);
    t.true(await page.locator('[data-action="download"]').isHidden(), 'no rendering, no download');
    await page.click('[data-action="next"]');
    await page.waitForFunction(() => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === '2');
    await poll('tiles of page 2', 15_000, async () => (tileRequests('/tiles3/page-2/').length > 0 ? true : undefined));
    await painted(page, 'cookbook-page-2');

    // Its metadata: English only (no vi), an HTML value kept to the IIIF subset, its script dropped.
    await page.click('[data-action="info"]');
    const meta = page.locator('[data-role="metadata"]');
    t.true(((await meta.textContent()) ?? '').includes('A museum book, served as static files'));
    t.is(await meta.locator('i').count() > 0, true, 'the <i> of an HTML value is kept');
    t.is(await meta.locator('script').count(), 0);
    t.is(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('the bare /viewer page says what to do, and its form opens a pasted manifest address', async (t) => {
  const { page, context, unexpected } = await open('/viewer');
  try {
    t.is(await viewerSettled(page), 'error');
    t.is(await page.getAttribute('[data-role="message"]', 'data-code'), 'no-manifest');
    await page.fill('input[name="manifest"]', `${site!.url}/cookbook/manifest.json`);
    await page.press('input[name="manifest"]', 'Enter');
    await page.waitForURL(/\/viewer\?manifest=/);
    t.is(await viewerSettled(page), 'ready');
    await painted(page, 'viewer-form');
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('Image API 2 level-0 services work too', async (t) => {
  const { page, context, unexpected } = await open(viewerUrl(`${site!.url}/image-api-2/manifest.json`));
  try {
    t.is(await viewerSettled(page), 'ready');
    t.true(looksLikeAPage(await painted(page, 'image-api-2')));
    t.true(tileRequests('/tiles2/page-1/').length > 0);
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('search inside: hits listed with snippets, and drawn over the page', async (t) => {
  const { page, context, unexpected } = await open(viewerUrl(`${site!.url}/cookbook/manifest.json`));
  try {
    t.is(await viewerSettled(page), 'ready');
    await painted(page, 'search-before');
    const button = page.locator('[data-action="search"]');
    t.false(await button.isHidden(), 'the manifest has a SearchService2, so search is offered');
    await button.click();
    await page.fill('form[data-role="search-form"] input[name="q"]', 'Kiều');
    await page.press('form[data-role="search-form"] input[name="q"]', 'Enter');
    const results = page.locator('ol[data-role="search-results"] button[data-page]');
    await poll('search results', 15_000, async () => ((await results.count()) === SEARCH_HITS.length ? true : undefined));
    const first = (await results.first().textContent()) ?? '';
    t.true(first.includes(SEARCH_HITS[0].exact) && first.includes('càng sắc sảo'), first);
    t.is(await page.locator('ol[data-role="search-results"] mark').first().textContent(), 'Kiều');
    await results.first().click();
    await page.waitForFunction(() => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === '2');
    const hits = page.locator('[data-role="osd"] .tv-hit');
    await poll('hit overlays', 15_000, async () => ((await hits.count()) >= 1 ? true : undefined));
    const osd = (await page.locator('[data-role="osd"]').boundingBox())!;
    const box = await hits.first().boundingBox();
    t.truthy(box, 'the overlay is laid out');
    t.true(box!.width > 4 && box!.height > 4, JSON.stringify(box));
    t.true(box!.x < osd.x + osd.width && box!.x + box!.width > osd.x && box!.y < osd.y + osd.height && box!.y + box!.height > osd.y, 'the hit is in view');
    await page.waitForTimeout(700);
    await page.screenshot({ path: join(OUT, 'search-overlay.png') });

    // A word that is not there: a plain "no results", not an error.
    await page.fill('form[data-role="search-form"] input[name="q"]', 'không có');
    await page.press('form[data-role="search-form"] input[name="q"]', 'Enter');
    await poll('no results', 10_000, async () => ((await results.count()) === 0 && /0|không|no/i.test((await page.locator('[data-role="search-count"]').textContent()) ?? '') ? true : undefined));
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('an image service that fails half its tiles: what loads is shown, and a plain notice says the rest failed', async (t) => {
  // The browser itself logs each failed tile; that, and only that, is expected here.
  const failedTile = /Failed to load resource: the server responded with a status of 500/;
  const { page, context, unexpected } = await open(viewerUrl(`${site!.url}/failing/manifest.json`), [failedTile]);
  try {
    t.is(await viewerSettled(page), 'ready');
    const notice = page.locator('[data-role="notice"][data-code="tiles-failed"]');
    await notice.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
    t.true(((await notice.textContent()) ?? '').length > 10);
    const stats = await pixelStats(await page.locator('[data-role="osd"]').screenshot(), PAPER);
    t.true(stats.inkPixels > 0 || stats.paperShare > 0.01, `some of the page is shown: ${JSON.stringify(stats)}`);
    t.true(await page.locator('[data-action="retry-tiles"]').isVisible());
    await page.screenshot({ path: join(OUT, 'failing-tiles.png') });
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('a page without an image service, and one whose service is gone: a notice on that page, the others still read', async (t) => {
  const { page, context, unexpected } = await open(viewerUrl(`${site!.url}/mixed/manifest.json`), [/status of 404/]);
  try {
    t.is(await viewerSettled(page), 'ready');
    await painted(page, 'mixed-page-1');
    for (const [n, code] of [[2, 'page-no-service'], [3, 'image-service-failed']] as const) {
      await page.click('[data-action="next"]');
      await page.waitForFunction((want) => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === String(want), n);
      const notice = page.locator(`[data-role="notice"][data-code="${code}"]`);
      await notice.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
      t.true(((await notice.textContent()) ?? '').length > 15, code);
      t.is(await page.getAttribute('#thukho-viewer', 'data-state'), 'ready', `${code} is not fatal`);
      await page.screenshot({ path: join(OUT, `notice-${code}.png`) });
    }
    await page.click('nav[data-role="thumbnails"] button[data-page="1"]');
    await page.waitForFunction(() => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === '1');
    t.true(looksLikeAPage(await painted(page, 'mixed-back-to-1')), 'page 1 reads again');
    t.deepEqual(unexpected(), []);
  } finally {
    await context.close();
  }
});

test.serial('broken manifests: a clear message for each, never a blank page or an uncaught error', async (t) => {
  const cases: Array<[string, string, RegExp[]]> = [
    ['/bad/missing.json', 'manifest-http', [/status of 404/]],
    ['/bad/not-json.json', 'manifest-not-json', []],
    ['/bad/p2.json', 'presentation-2', []],
    ['/bad/zero.json', 'no-canvases', []],
    ['/bad/no-service.json', 'no-image-service', []],
  ];
  for (const [path, code, allowed] of cases) {
    const { page, context, unexpected } = await open(viewerUrl(`${site!.url}${path}`), allowed);
    try {
      t.is(await viewerSettled(page), 'error', path);
      const message = page.locator(`[data-role="message"][data-code="${code}"]`);
      await message.waitFor({ state: 'visible', timeout: scaledTimeout(60_000) });
      t.is(await message.getAttribute('role'), 'alert', path);
      const text = ((await message.textContent()) ?? '').trim();
      t.true(text.length > 15, `${path}: "${text}"`);
      if (code === 'manifest-http') t.true(text.includes('404'), text);
      await page.screenshot({ path: join(OUT, `error-${code}.png`) });
      t.deepEqual(unexpected(), [], path);
    } finally {
      await context.close();
    }
  }
  // Not even a URL, or a server that is not there: still an error in words, whatever its code.
  const closed = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => closed.once('listening', resolve));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  for (const manifest of ['not a url', `http://127.0.0.1:${closedPort}/manifest.json`]) {
    const { page, context, unexpected } = await open(viewerUrl(manifest), [/ERR_CONNECTION_REFUSED|Failed to load resource/]);
    try {
      t.is(await viewerSettled(page), 'error', manifest);
      const message = page.locator('[data-role="message"][role="alert"]');
      t.true(await message.isVisible(), manifest);
      t.true(((await message.textContent()) ?? '').trim().length > 15, manifest);
      t.deepEqual(unexpected(), [], manifest);
    } finally {
      await context.close();
    }
  }
});

test.serial('IIIF Content State: a valid one opens its canvas; garbage says so', async (t) => {
  const manifest = `${site!.url}/cookbook/manifest.json`;
  const state = {
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://example.org/share/1',
    type: 'Annotation',
    motivation: ['contentState'],
    target: { id: `${site!.url}/cookbook/canvas/p2#xywh=100,200,600,500`, type: 'Canvas', partOf: [{ id: manifest, type: 'Manifest' }] },
  };
  const encoded = Buffer.from(encodeURIComponent(JSON.stringify(state)), 'utf8').toString('base64url');
  {
    const { page, context, unexpected } = await open(`/viewer?iiif-content=${encoded}`);
    try {
      t.is(await viewerSettled(page), 'ready');
      await page.waitForFunction(() => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === '2');
      await painted(page, 'content-state');
      t.deepEqual(unexpected(), []);
    } finally {
      await context.close();
    }
  }
  {
    const { page, context, unexpected } = await open('/viewer?iiif-content=%25%25not-base64!!');
    try {
      t.is(await viewerSettled(page), 'error');
      t.is(await page.getAttribute('[data-role="message"]', 'data-code'), 'content-state-invalid');
      t.deepEqual(unexpected(), []);
    } finally {
      await context.close();
    }
  }
});

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { scaledTimeout } from './time-scale.ts';

/**
 * Real headless Chromium for browser tests: Debian's `chromium`, driven by playwright-core,
 * with the flags this machine needs (no sandbox as root, no GPU, no calls home).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TEST_OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url));

/** Playwright's limits for actions, waits and navigations in every context of `launchChromium` (Playwright's own default is 30 s). */
export const BROWSER_WAIT_MS = 60_000;

/**
 * Every context (and so every `browser.newPage()`) gets Playwright limits scaled to how busy the
 * machine is: they only catch a page that never gets there, see time-scale.ts.
 */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: scaledTimeout(180_000),
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
    const context = await newContext(...args);
    context.setDefaultTimeout(scaledTimeout(BROWSER_WAIT_MS));
    context.setDefaultNavigationTimeout(scaledTimeout(BROWSER_WAIT_MS));
    return context;
  };
  return browser;
}

/** The folder for one test file's screenshots, made if missing. */
export function outputDir(name: string): string {
  const dir = join(TEST_OUTPUT, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Collects what must not happen in a page: uncaught errors always, console errors and failed
 * requests unless `allowed` names them (a test that breaks a tile on purpose allows the
 * browser's own "Failed to load resource" line for it, nothing else).
 */
export function watchProblems(page: Page, allowed: RegExp[] = []): { problems: string[]; unexpected: () => string[] } {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return {
    problems,
    unexpected: () => problems.filter((p) => p.startsWith('page error:') || !allowed.some((re) => re.test(p))),
  };
}

/**
 * What a screenshot holds: spread of pixel values, distinct colours, share of paper-coloured
 * pixels and the number of ink (dark) pixels. `keepTop` leaves out the bottom of the picture
 * where a viewer may lay its own controls over the image.
 */
export async function pixelStats(png: Buffer, paper: { r: number; g: number; b: number }, keepTop = 1) {
  const meta = await sharp(png).metadata();
  const crop = { left: 0, top: 0, width: meta.width!, height: Math.max(1, Math.floor(meta.height! * keepTop)) };
  const { data, info } = await sharp(png).extract(crop).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const stats = await sharp(png).extract(crop).removeAlpha().stats();
  const colours = new Set<number>();
  let paperPixels = 0;
  let ink = 0;
  const n = info.width * info.height;
  for (let i = 0; i < data.length; i += info.channels) {
    const r = data[i]!;
    const g = data[i + 1]!;
    const b = data[i + 2]!;
    colours.add((r << 16) | (g << 8) | b);
    if (Math.abs(r - paper.r) <= 10 && Math.abs(g - paper.g) <= 10 && Math.abs(b - paper.b) <= 10) paperPixels++;
    if (0.299 * r + 0.587 * g + 0.114 * b < 110) ink++;
  }
  return {
    width: info.width,
    height: info.height,
    stdev: Math.max(...stats.channels.map((c) => c.stdev)),
    colours: colours.size,
    paperShare: paperPixels / n,
    inkPixels: ink,
  };
}

export type PixelStats = Awaited<ReturnType<typeof pixelStats>>;

/** A drawn page: paper and ink, not one flat colour. */
export function looksLikeAPage(s: PixelStats): boolean {
  return s.paperShare > 0.05 && s.inkPixels > 200 && s.stdev > 8 && s.colours > 16;
}

/** Waits until the reading room has opened its document or given up on it; its data-state. */
export async function viewerSettled(page: Page): Promise<string> {
  await page.waitForFunction(() => {
    const s = document.querySelector('#thukho-viewer')?.getAttribute('data-state');
    return s === 'ready' || s === 'error';
  }, undefined, { timeout: scaledTimeout(BROWSER_WAIT_MS) });
  return (await page.getAttribute('#thukho-viewer', 'data-state')) ?? '';
}

/** Waits for the viewer's first drawn tile; ms from navigation start. */
export async function firstTilePainted(page: Page): Promise<number> {
  await page.waitForFunction(() => performance.getEntriesByName('thukho:first-tile').length > 0, undefined, { timeout: scaledTimeout(BROWSER_WAIT_MS) });
  return page.evaluate(() => performance.getEntriesByName('thukho:first-tile')[0]!.startTime);
}

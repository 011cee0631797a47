import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { staffCall } from '../helpers/api.ts';
import { launchChromium, outputDir, watchProblems } from '../helpers/browser.ts';
import { testWithServer } from '../helpers/server.ts';

/**
 * Nôm on screen in Debian's headless Chromium: on a page whose title holds Nôm characters
 * the browser loads our "Thukho Nom" faces and draws those characters with them. This
 * machine also has fonts-hanazono installed system-wide (the same glyphs under the same
 * names), so "not a box" proves nothing: Chromium's own report of the fonts it used for the
 * node (CDP CSS.getPlatformFontsForNode) must name a web font (isCustomFont) for every Nôm
 * glyph. Screenshots go to test-output/nom-font/.
 */
const test = testWithServer();
const OUT = outputDir('nom-font');

const CHU = String.fromCodePoint(0x21982); // 𡦂 "chữ"
const NOM = String.fromCodePoint(0x20c50); // 𠱐 "nôm"
const DA = String.fromCodePoint(0x340c); // 㐌 "đã", Ext A
const TITLE = `Truyện ${CHU}${NOM} ${CHU}`;
const NOM_GLYPHS_IN_TITLE = 3;

let browser: Browser | undefined;
const ids: Record<string, string> = {};

test.serial.before(async (t) => {
  const s = t.context.server;
  for (const [key, body] of Object.entries({
    nom: { title: TITLE, description: `Bản chép tay ${DA} ${CHU}.` },
    plain: { title: 'Lục Vân Tiên', description: 'Truyện thơ Nôm, bản Quốc ngữ.' },
  })) {
    const made = await staffCall(s, 'POST', '/api/objects', body);
    if (typeof made.id !== 'string') throw new Error(JSON.stringify(made));
    ids[key] = made.id;
  }
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
});

interface PlatformFont {
  familyName: string;
  postScriptName?: string;
  isCustomFont: boolean;
  glyphCount: number;
}

/** The fonts Chromium drew the element's text with, as it reports them. */
async function fontsOf(page: Page, selector: string): Promise<PlatformFont[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  await cdp.detach();
  return fonts as PlatformFont[];
}

/** The document's "Thukho Nom" faces once every font the page uses has settled. */
function nomFaces(page: Page): Promise<Array<{ status: string; unicodeRange: string }>> {
  return page.evaluate(async () => {
    await document.fonts.ready;
    return [...document.fonts].filter((f) => f.family.replace(/"/g, '') === 'Thukho Nom').map((f) => ({ status: f.status, unicodeRange: f.unicodeRange }));
  });
}

test.serial('an object page with Nôm in its title: the served faces load, and the Nôm glyphs are drawn with them', async (t) => {
  const context = await browser!.newContext({ viewport: { width: 1000, height: 700 }, locale: 'vi-VN' });
  const page = await context.newPage();
  const { unexpected } = watchProblems(page);
  const fontRequests: string[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/fonts/nom/')) fontRequests.push(`${r.status()} ${r.url()}`);
  });
  const response = await page.goto(`${t.context.server.url}/objects/${ids.nom}`, { waitUntil: 'load' });
  t.is(response?.status(), 200);
  t.is(await page.textContent('#h-title'), TITLE);

  const faces = await nomFaces(page);
  t.true(faces.length > 0, 'the page declares "Thukho Nom" faces');
  t.true(faces.some((f) => f.status === 'loaded' && /U\+21982/i.test(f.unicodeRange)), `the face for 𡦂 loaded: ${JSON.stringify(faces)}`);
  t.true(fontRequests.length > 0 && fontRequests.every((r) => r.startsWith('200 ')), fontRequests.join('\n'));

  const title = await fontsOf(page, '#h-title');
  const custom = title.filter((f) => f.isCustomFont);
  t.log(JSON.stringify(title));
  t.is(custom.reduce((n, f) => n + f.glyphCount, 0), NOM_GLYPHS_IN_TITLE, `every Nôm glyph of the title from a web font: ${JSON.stringify(title)}`);
  t.true(custom.every((f) => /^HanaMin[AB]$/.test(f.familyName)), 'the web font is the subset of Hanazono we serve');
  // The Vietnamese letters stay in the page's own font: the face is restricted to its characters.
  t.true(title.some((f) => !f.isCustomFont && f.glyphCount >= 'Truyện'.length));

  const description = await fontsOf(page, '[data-field="description"] dd p');
  t.is(description.filter((f) => f.isCustomFont).reduce((n, f) => n + f.glyphCount, 0), 2, `㐌 and 𡦂 of the description: ${JSON.stringify(description)}`);

  await page.locator('#h-title').screenshot({ path: join(OUT, 'object-title.png') });
  t.deepEqual(unexpected(), []);
  await context.close();
});

test.serial('a page without Nôm declares no face and fetches no font', async (t) => {
  const context = await browser!.newContext({ locale: 'vi-VN' });
  const page = await context.newPage();
  const fontRequests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/fonts/')) fontRequests.push(r.url());
  });
  await page.goto(`${t.context.server.url}/objects/${ids.plain}`, { waitUntil: 'load' });
  t.deepEqual(await nomFaces(page), []);
  t.deepEqual(fontRequests, []);
  t.true((await fontsOf(page, '#h-title')).every((f) => !f.isCustomFont));
  await context.close();
});

test.serial('search results: the Nôm title of a hit is drawn with the served face', async (t) => {
  const context = await browser!.newContext({ locale: 'vi-VN' });
  const page = await context.newPage();
  await page.goto(`${t.context.server.url}/search?q=truyen`, { waitUntil: 'load' });
  await nomFaces(page);
  const card = `a[href="/objects/${ids.nom}"] .card-title`;
  t.is(await page.textContent(card), TITLE);
  const fonts = await fontsOf(page, card);
  t.is(fonts.filter((f) => f.isCustomFont).reduce((n, f) => n + f.glyphCount, 0), NOM_GLYPHS_IN_TITLE, JSON.stringify(fonts));
  await page.screenshot({ path: join(OUT, 'search.png') });
  await context.close();
});

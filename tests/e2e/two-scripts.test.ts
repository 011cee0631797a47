import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { DerivativesWorker } from '../../workers/derivatives.ts';
import { DEMO_OBJECTS } from '../../src/cli/demo-collection.ts';
import { type Json, poll } from '../helpers/api.ts';
import { launchChromium, outputDir, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { seedDemoCollection } from '../helpers/demo.ts';
import { MIRADOR_NOISE, startMiradorSite } from '../helpers/mirador.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Titles in two scripts (issue 19): the demo's Kim Vân Kiều tân truyện has alternative titles in
 * Han script (金雲翹新傳) and in Vietnamese (Truyện Kiều). Both must be on screen in a Vietnamese
 * and in an English interface, in our reading room and in Mirador 4 (Debian's Chromium).
 * Screenshots go to test-output/two-scripts/.
 */
const test = testWithServer();

const KIEU = DEMO_OBJECTS.find((o) => o.id === 'truyen-kieu-1871')!;
const HAN = '金雲翹新傳';
const VIETNAMESE = 'Truyện Kiều';
const TITLE = KIEU.metadata.title;
const OUT = outputDir('two-scripts');

let browser: Browser | undefined;
let worker: DerivativesWorker | undefined;

test.serial.before(async (t) => {
  t.timeout(scaledTimeout(5 * 60_000));
  const seeded = await seedDemoCollection(t.context.server, [KIEU.id]);
  worker = seeded.worker;
  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
  await worker?.close();
});

test.serial('the demo work has its titles in both scripts, and its manifest tags each', async (t) => {
  t.deepEqual(KIEU.metadata.alternativeTitle?.slice(0, 2), [HAN, VIETNAMESE]);
  const url = `${t.context.server.url}/iiif/manifest/${KIEU.id}`;
  const m = await poll('the manifest', 30_000, async () => {
    const res = await fetch(url);
    return res.status === 200 ? ((await res.json()) as Json) : undefined;
  });
  const alt = (m.metadata as Array<{ label: Json; value: Json }>).filter((e) => (e.label.en as string[])[0] === 'Alternative title').map((e) => e.value);
  // The work is in Vietnamese (and Literary Chinese): its Han-script title is Nôm-era Vietnamese, vi-Hani.
  t.deepEqual(alt, [{ 'vi-Hani': [HAN] }, { vi: [VIETNAMESE, 'Đoạn trường tân thanh'] }]);
});

for (const lang of ['vi', 'en'] as const) {
  test.serial(`reading room (${lang}): the information panel shows the Han and the Vietnamese titles`, async (t) => {
    t.timeout(scaledTimeout(5 * 60_000));
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, locale: lang === 'vi' ? 'vi-VN' : 'en-GB' });
    const page: Page = await context.newPage();
    const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
    try {
      await page.goto(`${t.context.server.url}/objects/${KIEU.id}${lang === 'en' ? '?lang=en' : ''}`, { waitUntil: 'domcontentloaded' });
      t.is(await viewerSettled(page), 'ready');
      t.is(await page.getAttribute('html', 'lang'), lang);
      await page.click('[data-action="info"]');
      const info = page.locator('[data-role="metadata"]');
      await info.waitFor({ state: 'visible' });
      const text = (await info.innerText()) ?? '';
      await page.screenshot({ path: join(OUT, `reading-room-${lang}.png`) });
      t.true(text.includes(TITLE), `title missing: ${text.slice(0, 400)}`);
      t.true(text.includes(HAN), `Han title missing in ${lang}: ${text.slice(0, 400)}`);
      t.true(text.includes(VIETNAMESE), `Vietnamese title missing in ${lang}: ${text.slice(0, 400)}`);
      t.true(text.includes(lang === 'vi' ? 'Nhan đề khác' : 'Alternative title'), 'the field is named in the interface language');
      t.deepEqual(unexpected(), []);
    } finally {
      await context.close();
    }
  });
}

for (const lang of ['vi', 'en'] as const) {
  test.serial(`Mirador 4 (${lang}): the window shows the title, and its information panel the Han and the Vietnamese titles`, async (t) => {
    t.timeout(scaledTimeout(5 * 60_000));
    const manifestUrl = `${t.context.server.url}/iiif/manifest/${KIEU.id}`;
    const site = await startMiradorSite(manifestUrl, { language: lang, info: true });
    const context = await browser!.newContext({ viewport: { width: 1400, height: 900 }, locale: lang === 'vi' ? 'vi-VN' : 'en-GB' });
    const page = await context.newPage();
    const { unexpected } = watchProblems(page, MIRADOR_NOISE);
    try {
      await page.goto(site.url, { waitUntil: 'load' });
      const panel = page.locator('#mirador aside, #mirador [class*="companion-window"]').first();
      const text = await poll(`both titles in Mirador (${lang})`, 30_000, async () => {
        const all = await page.locator('#mirador').innerText().catch(() => '');
        return all.includes(HAN) && all.includes(VIETNAMESE) && all.includes(TITLE) ? all : undefined;
      }).catch(async (err: Error) => {
        await page.screenshot({ path: join(OUT, `mirador-${lang}-missing.png`) });
        const all = await page.locator('#mirador').innerText().catch(() => '');
        throw new Error(`${err.message}; Mirador shows: ${all.slice(0, 600)}`);
      });
      await page.screenshot({ path: join(OUT, `mirador-${lang}.png`) });
      t.true(await panel.isVisible(), 'the information panel is open');
      // The window's title bar names the work.
      const bar = (await page.locator('#mirador .mirador-window-top-bar').first().innerText()) ?? '';
      t.true(bar.includes(TITLE), `title bar: ${bar}`);
      // Mirador speaks the interface language asked for (its own labels), and lists the field.
      t.true(text.includes(lang === 'vi' ? 'Nhan đề khác' : 'Alternative title'), text.slice(0, 600));
      t.deepEqual(unexpected(), []);
    } finally {
      await context.close();
      await new Promise<void>((r) => site.server.close(() => r()));
      site.server.closeAllConnections();
    }
  });
}

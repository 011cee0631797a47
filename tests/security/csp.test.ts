import anyTest, { type TestFn } from 'ava';
import type { Browser } from 'playwright-core';
import { staffCall } from '../helpers/api.ts';
import { launchChromium, watchProblems } from '../helpers/browser.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * Our pages' CSP in Chromium: the one inline element we write (a page's Nôm @font-face
 * rules) is allowed by its hash and applies; anything else inline (a script, a style
 * element, a style attribute, an event handler) is refused, so an escaping bug elsewhere
 * could not run script; and the pages report no violation of their own.
 */
const test = anyTest as TestFn<{ server: TestServer; browser: Browser }>;

test.before(async (t) => {
  t.context.server = await startTestServer();
  t.context.browser = await launchChromium();
});
test.after.always(async (t) => {
  await t.context.browser?.close();
  await t.context.server?.close();
});

const OBJECT = 'tho-nom-csp';

test.serial.before(async (t) => {
  await staffCall(t.context.server, 'POST', '/api/objects', { id: OBJECT, title: 'Quốc âm thi tập 𡨸 㗂', accessLevel: 'open' });
});

async function openPage(t: { context: { browser: Browser } }, url: string) {
  const context = await t.context.browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective}: ${e.sample}`));
  });
  const watch = watchProblems(page, [/Content Security Policy/]);
  const res = await page.goto(url, { waitUntil: 'load' });
  return { page, context, res, watch };
}

test.serial('a page with Nôm: its @font-face rules are allowed by hash and apply; no violation', async (t) => {
  const s = t.context.server;
  for (const path of [`/objects/${OBJECT}`, `/search?q=${encodeURIComponent('𡨸')}`]) {
    const { page, context, res, watch } = await openPage(t, `${s.url}${path}`);
    try {
      const csp = res?.headers()['content-security-policy'] ?? '';
      t.regex(csp, /style-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+/, path);
      t.notRegex(csp, /unsafe-inline/, path);
      const faces = await page.evaluate(() =>
        [...document.styleSheets].filter((sheet) => (sheet.ownerNode as Element | null)?.getAttribute('data-role') === 'nom-font').flatMap((sheet) => [...sheet.cssRules].filter((r) => r instanceof CSSFontFaceRule).length),
      );
      t.true(faces.length === 1 && faces[0]! > 0, `${path}: the Nôm font rules apply (${JSON.stringify(faces)})`);
      t.deepEqual(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp), [], path);
      t.deepEqual(watch.problems, [], path);
    } finally {
      await context.close();
    }
  }
});

test.serial('inline script, style, style attribute and event handler are refused on our pages', async (t) => {
  const s = t.context.server;
  const { page, context } = await openPage(t, `${s.url}/objects/${OBJECT}`);
  try {
    const result = await page.evaluate(async (limitMs) => {
      const w = window as unknown as { __ran: string[]; __csp: string[] };
      w.__ran = [];
      const script = document.createElement('script');
      script.textContent = "window.__ran.push('script')";
      document.body.append(script);
      const style = document.createElement('style');
      style.textContent = 'body { outline: 7px solid red }';
      document.head.append(style);
      const div = document.createElement('div');
      div.innerHTML = '<p id="styled" style="color: rgb(1, 2, 3)">x</p><img id="handler" src="data:," onerror="window.__ran.push(\'handler\')" onload="window.__ran.push(\'handler\')">';
      document.body.append(div);
      // Violations are reported asynchronously, later on a busy machine: wait for the four kinds
      // (a scaled hang guard), then a moment more for anything that would wrongly run.
      // (No named function in here: tsx would wrap it in a helper the page does not have.)
      const giveUpAt = Date.now() + limitMs;
      while (new Set(w.__csp.map((v) => v.split(':')[0])).size < 4 && Date.now() < giveUpAt) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      return {
        ran: w.__ran,
        outline: getComputedStyle(document.body).outlineWidth,
        colour: getComputedStyle(document.getElementById('styled')!).color,
        directives: [...new Set(w.__csp.map((v) => v.split(':')[0]))].sort(),
      };
    }, scaledTimeout(60_000));
    t.deepEqual(result.ran, []);
    t.not(result.outline, '7px');
    t.not(result.colour, 'rgb(1, 2, 3)');
    t.deepEqual(result.directives, ['script-src-attr', 'script-src-elem', 'style-src-attr', 'style-src-elem']);
  } finally {
    await context.close();
  }
});

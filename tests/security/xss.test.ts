import anyTest, { type TestFn } from 'ava';
import type { Browser, Page } from 'playwright-core';
import { recordFact } from '../../src/application/machine-facts.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { launchChromium, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { page as scan } from '../helpers/images.ts';
import { type TestServer, startTestServer } from '../helpers/server.ts';

/**
 * XSS payloads in every field a cataloguer, a depositor or OCR can fill: title, alternative
 * titles, creator, subject, description and the other Dublin Core texts, the file name (the
 * page's download label), a collection's title and description, a page's text, and a search
 * query, each marked with its field's name. Every page that shows them is opened in
 * Chromium (home, collection, search results and facets, the object page with the viewer's
 * record and search panels, the standalone viewer): the payload must be there as text, no
 * element of it in the DOM, nothing of it run, and no CSP violation either (the CSP would
 * only hide an escaping bug: a violation means markup got through).
 * Needs the viewer built (`npm run build`); without it the viewer parts say so and are skipped.
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

/** Breaks out of text, double- and single-quoted attributes, and tries four ways to run. */
const payload = (field: string) =>
  `Khảo ${field} "'><script>__xss.push('${field}')</script><img src=x data-xss="${field}" onerror="__xss.push('${field}')">` +
  `<svg data-xss="${field}" onload="__xss.push('${field}')"></svg><a data-xss="${field}" href="javascript:__xss.push('${field}')">x</a>`;

/** For fields of at most 200 characters. */
const short = (field: string) => `"'><script>__xss.push('${field}')</script><img src=x data-xss="${field}" onerror="__xss.push('${field}')">`;

const FIELDS = ['title', 'creator', 'subject', 'description', 'source', 'extent'] as const;
const SHORT_FIELDS = ['date', 'type', 'format', 'identifier'] as const;
const COLLECTION = 'xss-bo-suu-tap';
const OBJECT = 'xss-moi-truong';

test.serial.before(async (t) => {
  const s = t.context.server;
  await staffCall(s, 'POST', '/api/collections', { id: COLLECTION, title: payload('collection-title'), description: payload('collection-description') });
  const record: Json = { id: OBJECT, accessLevel: 'open', collectionId: COLLECTION, alternativeTitle: [payload('alternativeTitle')] };
  for (const f of FIELDS) record[f] = payload(f);
  for (const f of SHORT_FIELDS) record[f] = short(f);
  const made = await staffCall(s, 'POST', '/api/objects', record);
  t.is(made.id, OBJECT, JSON.stringify(made));
  const name = `trang "'><img src=x data-xss="file-name" onerror="__xss.push('file-name')">.tif`;
  const uploaded = await fetch(`${s.url}/api/objects/${OBJECT}/files?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(await scan('Khảo — 考', { width: 600, height: 800 })),
  });
  let fileId: string;
  if (uploaded.status === 201) {
    fileId = ((await uploaded.json()) as Json).fileId as string;
  } else {
    // A name the store refuses never reaches a page; the page still needs an image.
    t.log(`the file name was refused (${uploaded.status}): ${await uploaded.text()}`);
    fileId = (await uploadFile(s, OBJECT, await scan('Khảo — 考', { width: 600, height: 800 }), 'trang_1.tif')).fileId as string;
  }
  await recordFact(s.store, OBJECT, { type: 'PageTextRecorded', data: { objectId: OBJECT, fileId, text: payload('page-text'), source: 'transcription', engine: 'test' } }, { actor: { id: 'worker:ocr', role: 'admin' } });
  await poll('the manifest and the search index', 30_000, async () => {
    const manifest = await fetch(`${s.url}/iiif/manifest/${OBJECT}`);
    const hits = (await (await fetch(`${s.url}/api/search?q=${encodeURIComponent('Khảo page-text')}`)).json()) as Json;
    return manifest.status === 200 && ((hits.total as number) ?? 0) > 0 ? true : undefined;
  });
});

interface Visit {
  page: Page;
  close: () => Promise<void>;
  problems: () => string[];
}

async function visit(t: { context: { browser: Browser } }, url: string): Promise<Visit> {
  const context = await t.context.browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const page = await context.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { __xss: string[]; __csp: string[] };
    w.__xss = [];
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective}: ${e.sample || e.blockedURI}`));
  });
  // Tiles OpenSeadragon gives up on when the view moves are not a failure.
  const { unexpected } = watchProblems(page, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
  const res = await page.goto(url, { waitUntil: 'load' });
  if (!res || res.status() !== 200) throw new Error(`${url}: ${res?.status()}`);
  return { page, close: () => context.close(), problems: unexpected };
}

/** Nothing ran, nothing of the payload became an element or a link, no CSP violation, no error. */
async function assertInert(t: import('ava').ExecutionContext, v: Visit, where: string): Promise<void> {
  const state = await v.page.evaluate(() => {
    const w = window as unknown as { __xss: string[]; __csp: string[] };
    return {
      ran: w.__xss,
      csp: w.__csp,
      elements: [...document.querySelectorAll('[data-xss]')].map((e) => `${e.tagName} ${e.getAttribute('data-xss')}`),
      scriptLinks: [...document.querySelectorAll('a[href^="javascript:" i]')].length,
      badImages: [...document.querySelectorAll('img[src="x"]')].length,
    };
  });
  t.deepEqual(state, { ran: [], csp: [], elements: [], scriptLinks: 0, badImages: 0 }, where);
  t.deepEqual(v.problems(), [], where);
}

const textOf = (v: Visit) => v.page.evaluate(() => document.body.innerText);

test.serial('site pages: home, collection, search results and facets, the object record', async (t) => {
  const s = t.context.server;
  const pages: Array<[string, string[]]> = [
    ['/', ['collection-title', 'title']],
    [`/collections/${COLLECTION}`, ['collection-title', 'collection-description', 'title', 'creator']],
    [`/search?q=${encodeURIComponent('Khảo')}`, ['title', 'creator']],
    [`/search?q=${encodeURIComponent('page-text')}`, ['page-text']],
    [`/search?q=${encodeURIComponent(payload('query'))}`, []],
    [`/search?type=${encodeURIComponent(short('type'))}`, ['type']],
    [`/objects/${OBJECT}`, ['title', 'alternativeTitle', 'creator', 'subject', 'description', 'collection-title']],
  ];
  for (const [path, shown] of pages) {
    const v = await visit(t, `${s.url}${path}`);
    try {
      await assertInert(t, v, path);
      const text = await textOf(v);
      for (const field of shown) t.true(text.includes(`<script>__xss.push('${field}')</script>`), `${path}: ${field} shown as text`);
    } finally {
      await v.close();
    }
  }
});

test.serial('the reading room on the object page: record panel, page text search, thumbnails', async (t) => {
  const s = t.context.server;
  const v = await visit(t, `${s.url}/objects/${OBJECT}`);
  try {
    if (!(await v.page.locator('#thukho-viewer').count())) {
      t.log('the viewer is not built (npm run build): only the page was checked');
      await assertInert(t, v, 'object page without viewer');
      return;
    }
    t.is(await viewerSettled(v.page), 'ready');
    await v.page.click('[data-action="info"]');
    const record = (await v.page.locator('[data-role="metadata"]').textContent()) ?? '';
    for (const field of ['title', 'creator', 'subject', 'description', 'collection-title']) {
      t.true(record.includes(`__xss.push('${field}')`), `record panel: ${field} shown as text`);
    }
    await v.page.click('[data-action="search"]');
    await v.page.fill('form[data-role="search-form"] input[name="q"]', 'page-text');
    await v.page.press('form[data-role="search-form"] input[name="q"]', 'Enter');
    await poll('a search hit in the viewer', 15_000, async () => ((await v.page.locator('[data-role="search-results"] li').count()) > 0 ? true : undefined));
    t.true(((await v.page.locator('[data-role="search-results"]').textContent()) ?? '').includes('__xss.push'), 'the snippet shows the page text as text');
    await assertInert(t, v, 'viewer');
  } finally {
    await v.close();
  }
});

test.serial('the standalone viewer, given our manifest', async (t) => {
  const s = t.context.server;
  const v = await visit(t, `${s.url}/viewer?manifest=${encodeURIComponent(`${s.url}/iiif/manifest/${OBJECT}`)}`);
  try {
    if (await v.page.locator('#thukho-viewer').count()) {
      t.is(await viewerSettled(v.page), 'ready');
      await v.page.click('[data-action="info"]');
    }
    await assertInert(t, v, '/viewer');
  } finally {
    await v.close();
  }
});

test.serial('a manifest address that is script is never a link or a source', async (t) => {
  const s = t.context.server;
  const v = await visit(t, `${s.url}/viewer?manifest=${encodeURIComponent("javascript:__xss.push('manifest')")}`);
  try {
    await v.page.waitForTimeout(500);
    const state = await v.page.evaluate(() => (window as unknown as { __xss: string[] }).__xss);
    t.deepEqual(state, []);
    t.is(await v.page.locator('a[href^="javascript:" i], [src^="javascript:" i]').count(), 0);
  } finally {
    await v.close();
  }
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { pino } from 'pino';
import { createUserWithPassword } from '../../src/application/users.ts';
import { type DerivativesWorker, startDerivativesWorker } from '../../workers/derivatives.ts';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { launchChromium, outputDir, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { page as scanPage } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * What the staff object screens do beyond staff-objects.test.ts, in real headless Chromium
 * (run `npm run build` first): the create form's refusals beside their fields in both
 * languages, an unsupported file refused before its bytes are sent, each file's ingest status
 * (the real derivatives worker runs here, in this process), page labels generated from a
 * pattern and edited by hand, a table of contents, an access change with its required reason,
 * and withdrawal — each followed into the manifest, the reading room and the public page.
 */
const test = testWithServer();

const PASSWORD = 'mật khẩu cán bộ biên mục';
const ADMIN = { actor: { id: 'test', role: 'admin' } } as const;
const OUT = outputDir('staff-describe');
const TITLE = 'Hương ước làng Mộ Trạch';

let browser: Browser;
let worker: DerivativesWorker | undefined;
let folder: string;
let objectId = '';
/** File ids in reading order (trang-01, trang-02, trang-03). */
let fileIds: string[] = [];

test.serial.before(async (t) => {
  const { server } = t.context;
  const made = await createUserWithPassword(server.store, 'bien-muc', 'Cán bộ biên mục', 'curator', PASSWORD, ADMIN);
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && made.position !== null) await users.waitForPosition(made.position, scaledTimeout(60_000));
  // The test server runs no worker processes: the derivatives worker runs here, on the same redis queues.
  worker = await startDerivativesWorker({ store: server.store, redisUrl: server.config.redisUrl!, logger: pino({ level: 'silent' }), config: server.config });
  browser = await launchChromium();
  folder = mkdtempSync(join(tmpdir(), 'thukho-staff-describe-'));
  mkdirSync(join(folder, 'scans'));
  for (const [n, text] of [[1, 'Tờ một 鄉'], [2, 'Tờ hai 約'], [3, 'Tờ ba 村']] as const) {
    writeFileSync(join(folder, 'scans', `trang-0${n}.png`), await scanPage(text, { format: 'png', width: 400, height: 560 }));
  }
  // What people drop along with scans: a program and a note. Neither is a format the repository keeps.
  writeFileSync(join(folder, 'scans', 'may-quet.exe'), Buffer.from('MZ not a scan'));
  writeFileSync(join(folder, 'scans', 'ghi-chu.txt'), 'ghi chú của người quét');
});

test.after.always(async () => {
  await browser?.close();
  await worker?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function signedIn(base: string, path: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'vi-VN', viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.fill('input[name="account"]', 'bien-muc');
  await page.fill('input[name="password"]', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === path.split('?')[0]), page.click('form.sign-in-form button[type="submit"]')]);
  return { context, page };
}

const manifestOf = async (base: string, id: string, token?: string): Promise<Json> =>
  (await (await fetch(`${base}/iiif/manifest/${id}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})).json()) as Json;
const canvasLabels = (m: Json) => (m.items as Json[]).map((c) => ((c.label as Record<string, string[]> | undefined)?.vi ?? (c.label as Record<string, string[]> | undefined)?.none ?? [])[0]);
const waitPage = (page: Page, n: number) => page.waitForFunction((want) => document.querySelector('#thukho-viewer')?.getAttribute('data-page') === String(want), n, { timeout: scaledTimeout(60_000) });
/** The first event of a type in the history panel (newest first). */
const historyEvent = (page: Page, type: string) => page.locator(`#history-list li.history-event[data-type="${type}"]`).first();

test.serial('the create form puts the server\'s refusals beside their fields, in Vietnamese and with ?lang=en in English; the language switch keeps the page', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, '/staff/objects/new');
  const posts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/objects') posts.push(r.url());
  });
  // No title and a language typed as a name: the server is asked, and says both at once.
  await page.fill('#f-title', '');
  await page.fill('#f-language', 'Hán Nôm');
  await page.click('#create-object');
  await page.locator('#f-language-error').waitFor({ state: 'visible' });
  await page.locator('#f-title-error').waitFor({ state: 'visible' });
  t.is(posts.length, 1, 'the server checked the form');
  const titleError = (await page.textContent('#f-title-error')) ?? '';
  const languageError = (await page.textContent('#f-language-error')) ?? '';
  t.regex(titleError, /nhan đề|trống|bắt buộc/i);
  t.regex(languageError, /ISO 639-3/);
  for (const [field, text] of [['title', titleError], ['language', languageError]] as const) {
    t.notRegex(text, / \/ /, `${field}: one language, not "vi / en": ${text}`);
    t.notRegex(text, /must|expected|Invalid input|too small/i, `${field}: Vietnamese, in plain words: ${text}`);
  }
  t.is(await page.getAttribute('#f-title', 'aria-invalid'), 'true');
  t.is(await page.getAttribute('#f-language', 'aria-invalid'), 'true');
  await page.screenshot({ path: join(OUT, '01-form-refused-vi.png'), fullPage: true });

  // The language switch keeps this page; in English the same refusals read in English.
  await Promise.all([page.waitForURL((u) => u.pathname === '/staff/objects/new' && u.searchParams.get('lang') === 'en'), page.click('a[data-lang-switch="en"]')]);
  t.is(await page.getAttribute('html', 'lang'), 'en');
  t.is(await page.textContent('label[for="f-title"]'), 'Title *');
  await page.fill('#f-language', 'Han Nom');
  await page.click('#create-object');
  await page.locator('#f-language-error').waitFor({ state: 'visible' });
  const enTitle = (await page.textContent('#f-title-error')) ?? '';
  const enLanguage = (await page.textContent('#f-language-error')) ?? '';
  t.regex(enTitle, /title|empty|required/i);
  t.regex(enLanguage, /ISO 639-3 code/);
  for (const text of [enTitle, enLanguage]) t.notRegex(text, /không|trống|mã ISO| \/ /, `English only: ${text}`);
  await page.screenshot({ path: join(OUT, '02-form-refused-en.png'), fullPage: true });
  t.is((await staffCall(server, 'GET', '/api/objects?limit=200')).items instanceof Array, true);
  t.is(((await staffCall(server, 'GET', '/api/objects?limit=200')).items as Json[]).length, 0, 'nothing was created');

  // Back to Vietnamese on the same page, then a good record.
  await Promise.all([page.waitForURL((u) => u.pathname === '/staff/objects/new' && u.searchParams.get('lang') !== 'en'), page.click('a[data-lang-switch="vi"]')]);
  t.is(await page.getAttribute('html', 'lang'), 'vi');
  await page.fill('#f-title', TITLE);
  await page.fill('#f-language', 'vie');
  await Promise.all([page.waitForURL((u) => /^\/staff\/objects\/[a-z0-9][a-z0-9_-]*$/.test(u.pathname) && u.pathname !== '/staff/objects/new'), page.click('#create-object')]);
  objectId = new URL(page.url()).pathname.split('/').pop() ?? '';
  t.is(await page.textContent('#object-title'), TITLE);
  // The switch on the object screen keeps the object too.
  await Promise.all([page.waitForURL((u) => u.pathname === `/staff/objects/${objectId}` && u.searchParams.get('lang') === 'en'), page.click('a[data-lang-switch="en"]')]);
  t.is(await page.textContent('#access-heading'), 'Access level');
  await context.close();
});

test.serial('an unsupported file is refused in the upload list before its bytes are sent; each stored file shows its status until the derivative is done', async (t) => {
  const { server } = t.context;
  // Should the form test have failed, a work made through the API keeps the later tests meaningful.
  objectId ||= String((await staffCall(server, 'POST', '/api/objects', { title: TITLE, language: ['vie'] })).id);
  const { context, page } = await signedIn(server.url, `/staff/objects/${objectId}`);
  const problems = watchProblems(page);
  const sent: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (r.method() === 'POST' && u.pathname === `/api/objects/${objectId}/files`) sent.push(u.searchParams.get('name') ?? '');
  });
  await page.setInputFiles('#upload-folder', join(folder, 'scans'));
  await poll('every row settled', 60_000, async () => {
    const states = await page.locator('#upload-list tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
    return states.length === 5 && states.every((s) => s === 'done' || s === 'refused') ? states : undefined;
  }, 200);
  for (const name of ['may-quet.exe', 'ghi-chu.txt']) {
    const row = page.locator(`#upload-list tr[data-name="${name}"]`);
    t.is(await row.getAttribute('data-state'), 'refused', name);
    const why = (await row.locator('.upload-status').textContent()) ?? '';
    t.regex(why, /^Bị từ chối: .{10,}/, `${name}: refused with a reason: ${why}`);
    t.notRegex(why, / \/ /, `${name}: the reason in one language: ${why}`);
  }
  t.deepEqual([...sent].sort(), ['trang-01.png', 'trang-02.png', 'trang-03.png'], 'no bytes were sent for the refused files');
  for (const n of [1, 2, 3]) {
    const row = page.locator(`#upload-list tr[data-name="trang-0${n}.png"]`);
    t.is(await row.getAttribute('data-state'), 'done');
    t.is(await row.locator('.upload-status').textContent(), 'Đã lưu');
  }
  await page.screenshot({ path: join(OUT, '03-upload-refused.png'), fullPage: true });

  // The pages panel: three cards, each stored; the derivative pending, then done (the screen reads again while work is pending).
  await poll('three page cards', 30_000, async () => ((await page.locator('#page-grid li.page-card').count()) === 3 ? true : undefined), 200);
  const stored = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  fileIds = [...(stored.files as Json[])].sort((a, b) => Number(a.sequence) - Number(b.sequence)).map((f) => String(f.fileId));
  t.is(fileIds.length, 3);
  for (const card of await page.locator('#page-grid li.page-card .file-status').all()) {
    t.regex((await card.textContent()) ?? '', /đã lưu/);
    t.true(['pending', 'done'].includes((await card.getAttribute('data-derivative')) ?? ''));
  }
  await poll('every derivative done on screen', 90_000, async () => ((await page.locator('#page-grid .file-status[data-derivative="done"]').count()) === 3 ? true : undefined), 250);
  t.is(await page.locator('#page-grid .file-status[data-derivative="pending"]').count(), 0);
  const statuses = ((await staffCall(server, 'GET', `/api/objects/${objectId}`)).files as Json[]).map((f) => f.status as Json);
  t.true(statuses.every((s) => s.stored === true && s.derivative === 'done'), JSON.stringify(statuses));
  // The thumbnails are drawn (from the derivatives now made), not broken images.
  await page.locator('#page-grid').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll<HTMLImageElement>('#page-grid img')];
    return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, undefined, { timeout: scaledTimeout(15_000) });
  await page.locator('#page-grid').screenshot({ path: join(OUT, '04-file-status.png') });
  t.deepEqual(problems.unexpected(), []);
  await context.close();
});

test.serial('page labels: generated from "tờ {f}", one edited by hand; the manifest and the reading room follow', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, `/staff/objects/${objectId}`);
  const [a, b, c] = fileIds as [string, string, string];
  // While OCR is pending (no OCR worker runs here) the screen reads the object again every few
  // seconds: an order moved but not yet saved must survive those reads.
  if ((await page.locator('#page-grid .file-status[data-ocr="pending"]').count()) > 0) {
    await page.click(`li.page-card[data-file="${c}"] button.move-up`);
    t.deepEqual((await page.getAttribute('#page-grid', 'data-order'))?.split(','), [a, c, b]);
    await page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === `/api/objects/${objectId}`, { timeout: scaledTimeout(60_000) });
    await page.waitForTimeout(200);
    t.deepEqual((await page.getAttribute('#page-grid', 'data-order'))?.split(','), [a, c, b], 'the unsaved order survives the status poll');
    t.is(await page.getAttribute('#save-order', 'disabled'), null, 'and can still be saved');
    await page.click(`li.page-card[data-file="${c}"] button.move-down`);
    t.deepEqual((await page.getAttribute('#page-grid', 'data-order'))?.split(','), [a, b, c]);
    t.is(await page.getAttribute('#save-order', 'disabled'), '', 'back to the saved order: nothing to save');
  } else t.log('no work pending on this object: the screen does not poll, so the unsaved-order check does not apply');
  await page.fill('#label-pattern', 'tờ {f}');
  await page.fill('#label-start', '1');
  await page.click('#generate-labels');
  await poll('the generated labels', 15_000, async () => {
    const v = await page.locator('#page-grid input.page-label').evaluateAll((xs) => xs.map((x) => (x as HTMLInputElement).value));
    return JSON.stringify(v) === JSON.stringify(['tờ 1a', 'tờ 1b', 'tờ 2a']) ? v : undefined;
  });
  t.pass('the pages panel shows tờ 1a, tờ 1b, tờ 2a');
  await historyEvent(page, 'PageLabelsSet').waitFor();

  // One label by hand: the third page is the back cover.
  await page.fill(`#page-grid input.page-label[data-page="${c}"]`, 'bìa sau');
  t.is(await page.getAttribute('#save-labels', 'disabled'), null);
  await page.click('#save-labels');
  await page.locator('#save-labels[disabled]').waitFor();
  await page.locator('#staff-status.notice-ok').waitFor();
  const o = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  t.deepEqual((o.pages as Json[]).map((p) => [p.fileId, p.label]), [[a, 'tờ 1a'], [b, 'tờ 1b'], [c, 'bìa sau']]);
  // The history names the page as people do (its number), not by its image id.
  await poll('the hand edit in the history', 15_000, async () => ((await page.locator('#history-list li.history-event[data-type="PageLabelsSet"]').count()) === 2 ? true : undefined));
  const edit = historyEvent(page, 'PageLabelsSet').locator('tbody tr');
  t.is(await edit.count(), 1);
  t.deepEqual((await edit.locator('th, td').allTextContents()).map((x) => x.trim()), ['Nhãn trang 3', 'tờ 2a', 'bìa sau']);
  await page.screenshot({ path: join(OUT, '05-page-labels.png'), fullPage: true });

  await poll('the manifest\'s canvas labels', 30_000, async () => {
    const labels = canvasLabels(await manifestOf(server.url, objectId));
    return JSON.stringify(labels) === JSON.stringify(['tờ 1a', 'tờ 1b', 'bìa sau']) ? labels : undefined;
  }, 200);
  t.pass('the manifest labels its canvases');

  const reading = await context.newPage();
  await reading.goto(`${server.url}/objects/${objectId}?spread=0`);
  t.is(await viewerSettled(reading), 'ready');
  t.deepEqual(
    await reading.locator('nav[data-role="thumbnails"] button.tv-thumb').evaluateAll((bs) => bs.map((x) => x.getAttribute('aria-label'))),
    ['tờ 1a', 'tờ 1b', 'bìa sau'],
  );
  await reading.screenshot({ path: join(OUT, '06-reading-room-labels.png') });
  await context.close();
});

test.serial('table of contents: two entries saved from the screen become manifest ranges, and the reading room opens "Quyển hạ" at page 3', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, `/staff/objects/${objectId}`);
  const [a, , c] = fileIds as [string, string, string];
  await page.click('#toc-add');
  await page.click('#toc-add');
  const rows = page.locator('#toc-editor tbody tr');
  t.is(await rows.count(), 2);
  await rows.nth(0).locator('input.toc-label').fill('Quyển thượng');
  await rows.nth(1).locator('input.toc-label').fill('Quyển hạ');
  t.is(await rows.nth(0).locator('select.toc-page').inputValue(), a, 'a new entry starts at page 1');
  await rows.nth(1).locator('select.toc-page').selectOption(c);
  await page.click('#toc-save');
  await poll('the structure saved', 15_000, async () => {
    const o = await staffCall(server, 'GET', `/api/objects/${objectId}`);
    return Array.isArray(o.structure) && o.structure.length === 2 ? o : undefined;
  });
  const o = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  t.deepEqual(o.structure, [{ label: 'Quyển thượng', fileId: a }, { label: 'Quyển hạ', fileId: c }]);
  await historyEvent(page, 'StructureSet').waitFor();
  t.is(await historyEvent(page, 'StructureSet').locator('tr[data-field="structure"] .diff-after').textContent(), 'Quyển thượng (trang 1); Quyển hạ (trang 3)');
  t.deepEqual(await page.locator('#toc-editor input.toc-label').evaluateAll((xs) => xs.map((x) => (x as HTMLInputElement).value)), ['Quyển thượng', 'Quyển hạ'], 'the editor shows what was saved');
  await page.locator('#pages-heading').screenshot({ path: join(OUT, '07-toc-editor.png') });

  const manifest = await poll('the manifest\'s structures', 30_000, async () => {
    const m = await manifestOf(server.url, objectId);
    return Array.isArray(m.structures) && m.structures.length === 2 ? m : undefined;
  }, 200);
  const canvases = (manifest.items as Json[]).map((x) => String(x.id));
  const ranges = manifest.structures as Json[];
  t.deepEqual(ranges.map((r) => (r.label as Record<string, string[]>).vi?.[0] ?? (r.label as Record<string, string[]>).none?.[0]), ['Quyển thượng', 'Quyển hạ']);
  t.deepEqual(ranges.map((r) => (r.items as Json[]).map((i) => String(i.id))), [[canvases[0], canvases[1]], [canvases[2]]]);
  t.true(ranges.every((r) => r.type === 'Range'));

  const reading = await context.newPage();
  const problems = watchProblems(reading, [/^request failed: \S+\/iiif\/3\/\S+ net::ERR_ABORTED$/]);
  await reading.goto(`${server.url}/objects/${objectId}?spread=0`);
  t.is(await viewerSettled(reading), 'ready');
  await reading.click('[data-action="info"]');
  const entries = reading.locator('nav[data-role="contents"] button');
  t.is(await entries.count(), 2);
  t.deepEqual(await entries.allInnerTexts().then((x) => x.map((s) => s.replace(/\s+/g, ' ').trim())), ['Quyển thượng tờ 1a', 'Quyển hạ bìa sau']);
  await reading.screenshot({ path: join(OUT, '08-reading-room-toc.png') });
  await entries.nth(1).click();
  await waitPage(reading, 3);
  t.is(await reading.getAttribute('#thukho-viewer', 'data-page'), '3');
  t.deepEqual(problems.unexpected(), []);
  await context.close();
});

test.serial('access level: refused without a reason (in the screen, no request), refused by the server with its reason beside the field, saved with one; the public page follows', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, `/staff/objects/${objectId}`);
  const puts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT' && r.url().endsWith(`/api/objects/${objectId}/access`)) puts.push(r.postData() ?? '');
  });
  await page.selectOption('#access-form select[name="accessLevel"]', 'restricted');
  await page.click('#change-access');
  await page.locator('#f-access-reason-error').waitFor({ state: 'visible' });
  t.regex((await page.textContent('#f-access-reason-error')) ?? '', /lý do/i);
  t.is(puts.length, 0, 'the screen asked for the reason before sending');
  // The server says the same to a client that sends none, in plain words in both languages.
  for (const body of [{ accessLevel: 'restricted' }, { accessLevel: 'restricted', reason: '   ' }]) {
    const res = await fetch(`${server.url}/api/objects/${objectId}/access`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.staffToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    t.is(res.status, 400);
    const p = (await res.json()) as Json;
    const message = String((p.errors as Json[])[0]?.message);
    t.regex(message, /không được để trống|bắt buộc/, message);
    t.notRegex(message, /expected|Too small|Invalid input/, message);
  }
  // A reason pasted with a stray control character: the server refuses it, and the screen shows why beside the field.
  await page.fill('#f-access-reason', 'Theo yêu cầu của dòng họ\u0007');
  await page.click('#change-access');
  await poll('the server\'s refusal', 15_000, async () => ((await page.textContent('#f-access-reason-error')) ?? '').includes('U+0007') ? true : undefined);
  t.is(puts.length, 1);
  t.notRegex((await page.textContent('#f-access-reason-error')) ?? '', / \/ /, 'in the page\'s language only');
  t.is(await page.getAttribute('#f-access-reason', 'aria-invalid'), 'true');
  await page.screenshot({ path: join(OUT, '09-access-refused.png'), fullPage: true });
  t.is((await staffCall(server, 'GET', `/api/objects/${objectId}`)).accessLevel, 'open', 'nothing changed');

  await page.fill('#f-access-reason', 'Theo yêu cầu của dòng họ hiến tặng');
  await page.click('#change-access');
  await page.locator('#staff-status.notice-ok').waitFor();
  t.is((await staffCall(server, 'GET', `/api/objects/${objectId}`)).accessLevel, 'restricted');
  const change = historyEvent(page, 'AccessPolicyChanged');
  await change.waitFor({ timeout: scaledTimeout(60_000) });
  t.regex((await change.locator('.history-reason').textContent()) ?? '', /Theo yêu cầu của dòng họ hiến tặng/);
  t.is(await change.locator('tr[data-field="accessLevel"] .diff-before').textContent(), 'Mở (ai cũng xem được)', 'access levels in the words the screen uses');
  t.is(await change.locator('tr[data-field="accessLevel"] .diff-after').textContent(), 'Hạn chế (bạn đọc đã đăng nhập, phòng đọc)');
  await page.locator('#history').screenshot({ path: join(OUT, '10-access-history.png') });

  // An anonymous visitor: the record, but the images only after signing in.
  const visitor = await browser.newContext({ locale: 'vi-VN' });
  const vp = await visitor.newPage();
  const res = await vp.goto(`${server.url}/objects/${objectId}`);
  t.is(res?.status(), 200);
  t.regex((await vp.textContent('h1')) ?? '', new RegExp(TITLE));
  const info = await fetch(`${server.url}/iiif/3/${fileIds[0]}/info.json`);
  t.true(info.status === 401 || info.status === 403, `a restricted page's image is refused to a visitor: ${info.status}`);
  const tile = await fetch(`${server.url}/iiif/3/${fileIds[0]}/full/max/0/default.jpg`);
  t.true(tile.status === 401 || tile.status === 403, `and its pixels: ${tile.status}`);
  await vp.screenshot({ path: join(OUT, '11-restricted-visitor.png'), fullPage: true });
  await visitor.close();
  await context.close();
});

test.serial('withdraw: a reason and the confirm step; the screen turns read-only, the public page answers 410 with the reason, the history keeps it', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, `/staff/objects/${objectId}`);
  const REASON = 'Bản trùng với hồ sơ HU-0012, đã nhập trước';
  await page.click('#withdraw');
  await page.locator('#f-withdraw-reason-error').waitFor({ state: 'visible' });
  t.true(await page.locator('#withdraw-confirm').isHidden(), 'no confirm step without a reason');
  await page.fill('#f-withdraw-reason', REASON);
  await page.click('#withdraw');
  await page.locator('#withdraw-confirm').waitFor({ state: 'visible' });
  t.regex((await page.textContent('#withdraw-confirm')) ?? '', new RegExp(REASON));
  // "No" keeps it.
  await page.click('#withdraw-no');
  t.true(await page.locator('#withdraw-confirm').isHidden());
  t.is((await staffCall(server, 'GET', `/api/objects/${objectId}`)).status, 'active');
  await page.click('#withdraw');
  await page.screenshot({ path: join(OUT, '12-withdraw-confirm.png'), fullPage: true });
  await Promise.all([page.waitForEvent('load'), page.click('#withdraw-yes')]);
  t.regex((await page.textContent('main .notice-warning')) ?? '', new RegExp(REASON));
  t.is(await page.locator('#save-record').count(), 0, 'read-only: no save');
  t.is(await page.locator('#access-form').count(), 0);
  t.is(await page.locator('#withdraw-form').count(), 0);
  t.is(await page.locator('#upload-drop').count(), 0);
  t.is(await page.getAttribute('#f-title', 'readonly'), '');
  t.is(await page.locator('#page-grid button, #page-grid input').count(), 0, 'no reorder or label controls');
  const withdrawn = historyEvent(page, 'ObjectWithdrawn');
  await withdrawn.waitFor({ timeout: scaledTimeout(60_000) });
  t.regex((await withdrawn.locator('.history-reason').textContent()) ?? '', new RegExp(REASON));
  await page.screenshot({ path: join(OUT, '13-withdrawn.png'), fullPage: true });

  const visitor = await browser.newContext({ locale: 'vi-VN' });
  const vp = await visitor.newPage();
  const res = await vp.goto(`${server.url}/objects/${objectId}`);
  t.is(res?.status(), 410);
  t.regex((await vp.textContent('.withdrawn-reason')) ?? '', new RegExp(REASON));
  await vp.screenshot({ path: join(OUT, '14-public-410.png'), fullPage: true });
  await visitor.close();
  const manifest = await fetch(`${server.url}/iiif/manifest/${objectId}`);
  t.is(manifest.status, 410);
  await context.close();
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createUserWithPassword } from '../../src/application/users.ts';
import { type Json, poll, staffCall } from '../helpers/api.ts';
import { launchChromium, outputDir, viewerSettled, watchProblems } from '../helpers/browser.ts';
import { page as scanPage } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The staff objects screens in real headless Chromium (run `npm run build` first): a curator
 * signs in, creates a work with the Dublin Core form (a double click makes one work), uploads
 * three pages from a folder, reorders them by drag and drop, edits the title with a reason and
 * sees the reading room and the manifest follow, and reads the history as a diff; a stale edit
 * shows both versions; an auditor sees the screen without edit controls; a reader is refused
 * and a visitor is sent to sign in.
 */
const test = testWithServer();

const PASSWORD = 'mật khẩu cán bộ thư viện tỉnh';
const ADMIN = { actor: { id: 'test', role: 'admin' } } as const;
const OUT = outputDir('staff-objects');
const TITLE = 'Địa bạ xã Tứ Kỳ';
const NEW_TITLE = 'Địa bạ xã Tứ Kỳ, huyện Hoàng Long';

let browser: Browser;
let folder: string;
let objectId = '';

test.serial.before(async (t) => {
  const { server } = t.context;
  let last: bigint | null = null;
  for (const [id, role] of [['bien-muc', 'curator'], ['kiem-soat', 'auditor'], ['ban-doc', 'reader']] as const) {
    last = (await createUserWithPassword(server.store, id, `Người dùng ${id}`, role, PASSWORD, ADMIN)).position;
  }
  const users = server.projections.find((p) => p.projection.name === 'users');
  if (users && last !== null) await users.waitForPosition(last, scaledTimeout(60_000));
  browser = await launchChromium();
  // A scanner's output folder: three pages (and the desktop's bookkeeping file, left out).
  folder = mkdtempSync(join(tmpdir(), 'thukho-staff-upload-'));
  const dir = join(folder, 'dia-ba-tu-ky');
  mkdirSync(dir);
  for (const [n, text] of [[1, 'Trang một 田'], [2, 'Trang hai 地'], [3, 'Trang ba 簿']] as const) {
    writeFileSync(join(dir, `trang-0${n}.png`), await scanPage(text, { format: 'png', width: 420, height: 600 }));
  }
  writeFileSync(join(dir, '.DS_Store'), 'not a scan');
});

test.after.always(async () => {
  await browser?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function signedIn(base: string, account: string, path: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'vi-VN', viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${base}${path}`);
  await page.waitForURL(/\/sign-in/);
  await page.fill('input[name="account"]', account);
  await page.fill('input[name="password"]', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === path), page.click('form.sign-in-form button[type="submit"]')]);
  return { context, page };
}

async function objectsTitled(server: { url: string; staffToken: string }, title: string): Promise<Json[]> {
  const list = await staffCall(server, 'GET', '/api/objects?limit=200');
  return (list.items as Json[]).filter((o) => o.title === title);
}

const fileOrder = async (page: Page) => ((await page.getAttribute('#page-grid', 'data-order')) ?? '').split(',').filter(Boolean);

test.serial('a curator creates a work, uploads a folder of pages, reorders them, edits the title and reads the history', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, 'bien-muc', '/staff/objects');
  const problems = watchProblems(page, [/Failed to load resource: the server responded with a status of (400|404|409|412)/]);
  await page.screenshot({ path: join(OUT, '01-list.png'), fullPage: true });

  // The form: Vietnamese labels and help, the server's refusal shown beside its field.
  await page.click('#new-object');
  await page.waitForURL(/\/staff\/objects\/new$/);
  t.is(await page.textContent('label[for="f-title"]'), 'Nhan đề *');
  t.truthy(await page.textContent('#f-viewingDirection-help'));
  await page.fill('#f-title', TITLE);
  await page.fill('#f-creator', 'Bộ Hộ');
  await page.fill('#f-language', 'tiếng Việt');
  await page.click('#create-object');
  await page.locator('#f-language-error').waitFor({ state: 'visible' });
  t.regex((await page.textContent('#f-language-error')) ?? '', /ISO 639-3/);
  t.is(await page.getAttribute('#f-language', 'aria-invalid'), 'true');
  await page.screenshot({ path: join(OUT, '02-validation.png'), fullPage: true });
  t.is((await objectsTitled(server, TITLE)).length, 0, 'nothing was created from the refused form');

  // Double-clicking submit makes one work.
  await page.fill('#f-language', 'vie, lzh');
  await page.selectOption('#f-viewingDirection', 'right-to-left');
  await Promise.all([page.waitForURL((u) => /^\/staff\/objects\/[a-z0-9][a-z0-9_-]*$/.test(u.pathname) && u.pathname !== '/staff/objects/new'), page.dblclick('#create-object')]);
  objectId = page.url().split('/').pop() ?? '';
  t.is(await page.textContent('#object-title'), TITLE);
  const made = await objectsTitled(server, TITLE);
  t.is(made.length, 1, 'a double click created one object');
  t.deepEqual(made[0]?.language, ['vie', 'lzh']);
  t.is(made[0]?.viewingDirection, 'right-to-left');

  // Three pages from a folder: digests in the browser, progress, stored in the folder's order.
  await page.setInputFiles('#upload-folder', join(folder, 'dia-ba-tu-ky'));
  await poll('three files stored', 60_000, async () => ((await page.locator('#upload-list tr[data-state="done"]').count()) === 3 ? true : undefined), 200);
  t.is(await page.locator('#upload-list tr').count(), 3, 'the desktop file was left out');
  await poll('three thumbnails', 30_000, async () => ((await page.locator('#page-grid li.page-card').count()) === 3 ? true : undefined), 200);
  t.is(await page.getAttribute('#upload-total', 'value'), await page.getAttribute('#upload-total', 'max'), 'the total progress is full');
  await page.screenshot({ path: join(OUT, '03-uploaded.png'), fullPage: true });
  const names = await page.locator('#page-grid li.page-card .file-name').allTextContents();
  t.deepEqual(names, ['trang-01.png', 'trang-02.png', 'trang-03.png'], 'pages in the folder order');
  const [a, b, c] = await fileOrder(page);
  const stored = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  const sha = (name: string) => ((stored.files as Json[]).find((f) => f.name === name)?.digests as Json | undefined)?.sha256;
  t.regex(String(sha('trang-01.png')), /^[0-9a-f]{64}$/);

  // Drag the third page before the first, and save.
  await page.dragAndDrop(`li.page-card[data-file="${c}"]`, `li.page-card[data-file="${a}"]`, { targetPosition: { x: 10, y: 10 } });
  t.deepEqual(await fileOrder(page), [c, a, b], 'dropped before the first page');
  // And with the keyboard: the first page (now c) one down and back up.
  await page.click(`li.page-card[data-file="${c}"] button.move-down`);
  t.deepEqual(await fileOrder(page), [a, c, b]);
  await page.click(`li.page-card[data-file="${c}"] button.move-up`);
  t.deepEqual(await fileOrder(page), [c, a, b]);
  await page.click('#save-order');
  await page.locator('#save-order[disabled]').waitFor();
  const reordered = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  t.deepEqual([...(reordered.files as Json[])].sort((x, y) => Number(x.sequence) - Number(y.sequence)).map((f) => f.fileId), [c, a, b]);
  const manifestOrder = async () => {
    const m = (await (await fetch(`${server.url}/iiif/manifest/${objectId}`, { headers: { authorization: `Bearer ${server.staffToken}` } })).json()) as Json;
    return (m.items as Json[]).map((canvas) => [a, b, c].find((id) => JSON.stringify(canvas).includes(`/iiif/3/${id}`)));
  };
  await poll('the manifest in the new order', 30_000, async () => (JSON.stringify(await manifestOrder()) === JSON.stringify([c, a, b]) ? true : undefined), 200);
  t.pass('the manifest follows the new order');
  await page.screenshot({ path: join(OUT, '04-reordered.png'), fullPage: true });

  // Edit the title with a reason.
  await page.fill('#f-title', NEW_TITLE);
  await page.fill('#f-reason', 'Bổ sung tên huyện theo bản gốc');
  await page.click('#save-record');
  await poll('the title saved', 15_000, async () => ((await page.textContent('#object-title')) === NEW_TITLE ? true : undefined), 100);
  const after = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  t.is(after.title, NEW_TITLE);

  // The history: who, when, why, and the title before → after.
  const edit = page.locator('#history-list li.history-event[data-type="MetadataEdited"]').first();
  await edit.waitFor({ timeout: scaledTimeout(60_000) });
  t.is(await edit.locator('tr[data-field="title"] .diff-before').textContent(), TITLE);
  t.is(await edit.locator('tr[data-field="title"] .diff-after').textContent(), NEW_TITLE);
  t.regex((await edit.textContent()) ?? '', /bien-muc/);
  t.regex((await edit.locator('.history-reason').textContent()) ?? '', /Bổ sung tên huyện theo bản gốc/);
  await page.locator('#history').screenshot({ path: join(OUT, '05-history.png') });

  // The reading room and the manifest show the new title.
  await poll('the manifest label', 30_000, async () => {
    const m = (await (await fetch(`${server.url}/iiif/manifest/${objectId}`)).json()) as Json;
    return JSON.stringify(m.label).includes(NEW_TITLE) ? true : undefined;
  }, 200);
  const reading = await context.newPage();
  await reading.goto(`${server.url}/objects/${objectId}`);
  t.regex((await reading.textContent('h1')) ?? '', new RegExp(NEW_TITLE));
  t.is(await viewerSettled(reading), 'ready');
  await reading.screenshot({ path: join(OUT, '06-reading-room.png') });
  t.deepEqual(problems.unexpected(), []);
  await context.close();
});

test.serial('a stale edit shows both versions and the curator chooses; nothing is overwritten silently', async (t) => {
  const { server } = t.context;
  t.truthy(objectId, 'the first test made the work');
  const { context, page } = await signedIn(server.url, 'bien-muc', `/staff/objects/${objectId}`);
  // Someone else saves a new title while this form is open.
  const current = await fetch(`${server.url}/api/objects/${objectId}`, { headers: { authorization: `Bearer ${server.staffToken}` } });
  const theirs = await fetch(`${server.url}/api/objects/${objectId}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${server.staffToken}`, 'content-type': 'application/json', 'if-match': current.headers.get('etag') ?? '' },
    body: JSON.stringify({ title: 'Địa bạ xã Tứ Kỳ (bản của đồng nghiệp)' }),
  });
  t.is(theirs.status, 200);
  await page.fill('#f-title', 'Địa bạ xã Tứ Kỳ (bản của tôi)');
  await page.fill('#f-date', 'Gia Long năm thứ 4 (1805)');
  await page.click('#save-record');
  const panel = page.locator('#conflict');
  await panel.waitFor({ state: 'visible' });
  const text = (await panel.textContent()) ?? '';
  t.regex(text, /bản của đồng nghiệp/);
  t.regex(text, /bản của tôi/);
  await page.screenshot({ path: join(OUT, '07-conflict.png'), fullPage: true });
  const stillTheirs = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  t.is(stillTheirs.title, 'Địa bạ xã Tứ Kỳ (bản của đồng nghiệp)', 'nothing overwritten before the person chooses');
  // Both changed the title: no choice is made for them.
  t.is(await page.locator('input[name="keep-title"]:checked').count(), 0);
  t.is(await page.locator('input[name="keep-date"][value="mine"]:checked').count(), 1, 'only this person changed the date: theirs (the mine choice) is preselected');
  await page.check('input[name="keep-title"][value="theirs"]');
  await page.click('#conflict-save');
  await panel.waitFor({ state: 'hidden' });
  const merged = await staffCall(server, 'GET', `/api/objects/${objectId}`);
  t.is(merged.title, 'Địa bạ xã Tứ Kỳ (bản của đồng nghiệp)');
  t.is(merged.date, 'Gia Long năm thứ 4 (1805)');
  t.is(await page.inputValue('#f-title'), 'Địa bạ xã Tứ Kỳ (bản của đồng nghiệp)');
  await context.close();
});

test.serial('an auditor sees the object screen read-only; a reader is refused; a visitor is sent to sign in', async (t) => {
  const { server } = t.context;
  const auditor = await signedIn(server.url, 'kiem-soat', `/staff/objects/${objectId}`);
  const page = auditor.page;
  t.truthy(await page.textContent('#read-only-notice'));
  t.is(await page.locator('#save-record').count(), 0);
  t.is(await page.locator('#upload-drop').count(), 0);
  t.is(await page.locator('#access-form').count(), 0);
  t.is(await page.locator('#withdraw-form').count(), 0);
  t.is(await page.getAttribute('#f-title', 'readonly'), '');
  t.is(await page.locator('#page-grid button').count(), 0, 'no reorder buttons');
  await page.locator('#history-list li.history-event').first().waitFor();
  await page.screenshot({ path: join(OUT, '08-auditor.png'), fullPage: true });
  const list = await page.goto(`${server.url}/staff/objects`);
  t.is(list?.status(), 200);
  t.is(await page.locator('#new-object').count(), 0);
  const form = await page.goto(`${server.url}/staff/objects/new`);
  t.is(form?.status(), 403);
  await auditor.context.close();

  const reader = await browser.newContext({ locale: 'vi-VN' });
  const rp = await reader.newPage();
  await rp.goto(`${server.url}/sign-in`);
  await rp.fill('input[name="account"]', 'ban-doc');
  await rp.fill('input[name="password"]', PASSWORD);
  await Promise.all([rp.waitForURL((u) => !u.pathname.startsWith('/sign-in')), rp.click('form.sign-in-form button[type="submit"]')]);
  const refused = await rp.goto(`${server.url}/staff/objects/${objectId}`);
  t.is(refused?.status(), 403);
  t.false(((await rp.textContent('body')) ?? '').includes('Tứ Kỳ'), 'not a glimpse of the work');
  await rp.screenshot({ path: join(OUT, '09-reader-403.png') });
  await reader.close();

  const anonymous = await fetch(`${server.url}/staff/objects`, { redirect: 'manual' });
  t.is(anonymous.status, 302);
  t.regex(anonymous.headers.get('location') ?? '', /^\/sign-in\?return=%2Fstaff%2Fobjects/);
});

test.serial('the list filters and pages through the read model; a bad filter is a 400 page', async (t) => {
  const { server } = t.context;
  const { context, page } = await signedIn(server.url, 'bien-muc', '/staff/objects');
  t.is(await page.locator(`tr[data-object="${objectId}"] a[href="/staff/objects/${objectId}"]`).count(), 1);
  await page.goto(`${server.url}/staff/objects?accessLevel=confidential`);
  t.is(await page.locator(`tr[data-object="${objectId}"]`).count(), 0, 'an open work is not listed as confidential');
  for (let i = 0; i < 3; i++) await staffCall(server, 'POST', '/api/objects', { title: `Văn tự ${i}` });
  await page.goto(`${server.url}/staff/objects?limit=2`);
  t.is(await page.locator('table.objects-table tbody tr').count(), 2);
  await page.click('a[rel="next"]');
  t.regex(page.url(), /cursor=\d+/);
  t.true((await page.locator('table.objects-table tbody tr').count()) >= 1);
  const bad = await page.goto(`${server.url}/staff/objects?fixity=maybe`);
  t.is(bad?.status(), 400);
  await context.close();
});

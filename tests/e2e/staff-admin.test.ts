import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { createUserWithPassword } from '../../src/application/users.ts';
import { QUEUES, queueConnection } from '../../src/queue/queues.ts';
import { OcflStorageRoot } from '../../src/storage/ocfl.ts';
import { startFixityWorker } from '../../workers/fixity.ts';
import { type Json, poll, staffCall, uploadFile } from '../helpers/api.ts';
import { launchChromium, outputDir, watchProblems } from '../helpers/browser.ts';
import { flipByte } from '../helpers/damage.ts';
import { page as scan } from '../helpers/images.ts';
import { testWithServer } from '../helpers/server.ts';
import { scaledTimeout } from '../helpers/time-scale.ts';

/**
 * The preservation, statistics, users and jobs screens in real Chromium. An auditor signs in,
 * sees a damaged file first on the preservation dashboard, opens the work's provenance
 * timeline (chain verified), sees the statistics chart drawn, and is refused the users page
 * and the queue board; an admin adds a user, issues a token (which works against /api) and
 * revokes it (then 401), and opens the queue board (bull-board), where a failed job is retried.
 */
const test = testWithServer();
const OUT = outputDir('staff-admin');
const PASSWORD = 'mật khẩu thử nghiệm đủ dài';
const ADMIN_CTX = { actor: { id: 'test', role: 'admin' } };
let browser: Browser;
let objectId = '';
let damagedFileId = '';

test.serial.before(async (t) => {
  const s = t.context.server;
  let last: bigint | null = null;
  for (const [id, role] of [['kiem-soat', 'auditor'], ['quan-tri', 'admin']] as const) {
    last = (await createUserWithPassword(s.store, id, `Người dùng ${id}`, role, PASSWORD, ADMIN_CTX)).position;
  }
  const users = s.projections.find((p) => p.projection.name === 'users');
  if (users && last !== null) await users.waitForPosition(last, scaledTimeout(60_000));

  // A work with one page damaged on the only storage root, found by a requested check.
  const o = await staffCall(s, 'POST', '/api/objects', { title: 'Lĩnh Nam chích quái' });
  objectId = String(o.id);
  await uploadFile(s, objectId, await scan('Truyện Hồng Bàng'), 'trang_1.tif');
  const second = await uploadFile(s, objectId, await scan('Truyện Ngư Tinh'), 'trang_2.tif');
  damagedFileId = String(second.fileId);
  await s.describeNow();
  const storage = second.storage as Json;
  const ocfl = await OcflStorageRoot.open(s.config.ocflRoot);
  await flipByte(ocfl.contentPathOnDisk(String(storage.ocflObjectId), String(storage.path)), 1000);
  const other = await staffCall(s, 'POST', '/api/objects', { title: 'Đại Nam thực lục' });
  await uploadFile(s, String(other.id), await scan('Quyển một'), 'trang_1.tif');

  // Some use for the statistics: the works opened, a search that finds, one that does not.
  for (let i = 0; i < 3; i++) await fetch(`${s.url}/iiif/manifest/${objectId}`);
  await fetch(`${s.url}/iiif/manifest/${String(other.id)}`);
  await fetch(`${s.url}/api/search?q=${encodeURIComponent('Lĩnh Nam')}`);
  await fetch(`${s.url}/api/search?q=${encodeURIComponent('không có gì cả xyz')}`);

  browser = await launchChromium();
});

test.after.always(async () => {
  await browser?.close();
});

async function signIn(page: Page, base: string, account: string, to: string): Promise<void> {
  await page.goto(`${base}${to}`);
  await page.waitForURL(/\/sign-in/);
  await page.fill('#account', account);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === to), page.click('main button[type="submit"]')]);
}

test.serial('an auditor: damaged file first on the dashboard, re-check, provenance verified, statistics chart; no users page, no queue board', async (t) => {
  const s = t.context.server;
  const context = await browser.newContext({ locale: 'vi-VN' });
  const page = await context.newPage();
  const watch = watchProblems(page);
  await signIn(page, s.url, 'kiem-soat', '/staff/preservation');

  // The re-check button queues a check; the fixity worker runs it and finds the flipped byte.
  t.is(await page.locator('.fixity-problems tbody tr[data-state="damaged"]').count(), 0, 'nothing is known to be damaged yet');
  await page.fill('#recheck-id', 'khong-co');
  await page.click('#recheck-form button[type="submit"]');
  await page.locator('#staff-status.notice-error').waitFor();
  t.regex((await page.textContent('#staff-status')) ?? '', /Không có tài liệu "khong-co"/);
  await page.fill('#recheck-id', objectId);
  await page.click('#recheck-form button[type="submit"]');
  await page.locator('#staff-status.notice-ok').waitFor();
  t.regex((await page.textContent('#staff-status')) ?? '', /Đã xếp lịch kiểm tra/);
  const worker = await startFixityWorker({ store: s.store, redisUrl: s.config.redisUrl!, logger: pino({ level: 'silent' }), config: s.config, repair: async () => ({ repaired: false, tried: [] }) });
  try {
    await poll('the damaged copy on the dashboard', 30_000, async () => {
      await page.goto(`${s.url}/staff/preservation`);
      const rows = page.locator('.fixity-problems tbody tr');
      if ((await rows.count()) === 0) return undefined;
      return (await rows.first().getAttribute('data-state')) === 'damaged' ? true : undefined;
    }, 300);
  } finally {
    await worker.close();
  }
  const first = page.locator('.fixity-problems tbody tr').first();
  t.is(await first.getAttribute('data-object-id'), objectId, 'the damaged file is listed first');
  t.regex((await first.textContent()) ?? '', new RegExp(damagedFileId));
  t.regex((await first.textContent()) ?? '', /Hỏng, không sửa được/);
  t.true(Number((await page.textContent('.fixity-counts tr[data-state="damaged"] td')) ?? '0') >= 1);
  await page.screenshot({ path: join(OUT, '1-auditor-preservation.png'), fullPage: true });

  // The provenance timeline: every event, the chain verified.
  await Promise.all([page.waitForURL(/\/provenance$/), first.locator('a', { hasText: 'Lịch sử bảo quản' }).click()]);
  t.is(await page.getAttribute('[data-chain-status]', 'data-chain-status'), 'verified');
  t.regex((await page.textContent('.chain-status')) ?? '', /Chuỗi băm đã được xác minh/);
  const types = await page.locator('.provenance-events tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-type')));
  t.is(types[0], 'ObjectRegistered');
  t.true(types.includes('FileIngested') && types.includes('FixityChecked') && types.includes('FileDamaged'), types.join(', '));
  const premis = await page.getAttribute('a[href$="provenance?format=xml"]', 'href');
  const xml = await page.evaluate(async (href) => (await fetch(href!)).text(), premis);
  t.regex(xml, /<premis:premis|<premis /);
  await page.screenshot({ path: join(OUT, '2-auditor-provenance.png'), fullPage: true });

  // Statistics: the chart is drawn (a canvas with ink), the tables and CSV links are there.
  await page.goto(`${s.url}/staff/stats`);
  await page.locator('#views-chart[data-drawn="true"] canvas').waitFor();
  const inked = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('#views-chart canvas')!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return { width: c.width, height: c.height, n };
  });
  t.true(inked.width > 200 && inked.height > 100 && inked.n > 200, JSON.stringify(inked));
  t.regex((await page.textContent('.stats-works')) ?? '', /Lĩnh Nam chích quái/);
  t.regex((await page.textContent('.stats-zero')) ?? '', /không có gì cả xyz/);
  const csvHref = await page.getAttribute('a.csv[href*="table=works"]', 'href');
  const csv = await page.evaluate(async (href) => {
    const r = await fetch(href!);
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  }, csvHref);
  t.is(csv.status, 200);
  t.regex(csv.type ?? '', /text\/csv/);
  t.regex(csv.text, /Lĩnh Nam chích quái/);
  await page.screenshot({ path: join(OUT, '3-auditor-stats.png'), fullPage: true });

  // Admin-only pages.
  const users = await page.goto(`${s.url}/staff/users`);
  t.is(users?.status(), 403);
  const board = await page.goto(`${s.url}/staff/queues`);
  t.is(board?.status(), 403);
  t.regex((await page.textContent('main')) ?? '', /quản trị viên/);
  const boardApi = await page.evaluate(async () => (await fetch('/staff/queues/api/queues')).status);
  t.is(boardApi, 403, 'nor its API');
  await page.screenshot({ path: join(OUT, '4-auditor-queues-403.png'), fullPage: true });
  t.deepEqual(watch.unexpected().filter((p) => !/403|404|Forbidden|Not Found/.test(p)), []);
  await context.close();
});

test.serial('an admin: adds a user, issues a token that works, revokes it (401), opens the queue board and retries a failed job', async (t) => {
  const s = t.context.server;
  const context = await browser.newContext({ locale: 'vi-VN' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
  const page = await context.newPage();
  const watch = watchProblems(page);
  page.on('dialog', (d) => void d.accept());
  await signIn(page, s.url, 'quan-tri', '/staff/users');

  // Add an account.
  await page.fill('#new-id', 'thu-thu-moi');
  await page.fill('#new-name', 'Thủ thư Mới');
  await page.selectOption('#new-role', 'curator');
  await page.fill('#new-password', 'một mật khẩu ban đầu dài');
  await Promise.all([page.waitForEvent('load'), page.click('#add-user-form button[type="submit"]')]);
  const row = page.locator('tr[data-user-id="thu-thu-moi"]');
  await row.waitFor();
  t.regex((await row.textContent()) ?? '', /Thủ thư Mới/);
  t.is(await row.locator('select#role-thu-thu-moi').inputValue(), 'curator');
  await page.locator('#staff-status.notice-ok').waitFor();

  // Issue a token: shown once, with a copy button.
  await row.locator('form.token-issue input[name="name"]').fill('nhap-lieu');
  await row.locator('form.token-issue button[type="submit"]').click();
  const value = page.locator('.token-once input.token-value');
  await value.waitFor();
  const token = await value.inputValue();
  t.regex(token, /^thk_/);
  await page.click('.token-once button.token-copy');
  t.is(await page.evaluate(() => navigator.clipboard.readText()), token, 'the copy button copies it');
  await page.screenshot({ path: join(OUT, '5-admin-token-once.png'), fullPage: true });
  const works = await fetch(`${s.url}/api/objects`, { headers: { authorization: `Bearer ${token}` } });
  t.is(works.status, 200, 'the token works against /api');
  await Promise.all([page.waitForEvent('load'), page.click('.token-once button.token-done')]);
  t.is(await page.locator('.token-once').count(), 0, 'never shown again');

  // Revoke it.
  await Promise.all([page.waitForEvent('load'), page.click('tr[data-user-id="thu-thu-moi"] button.token-revoke[data-token="nhap-lieu"]')]);
  t.is(await page.locator('tr[data-user-id="thu-thu-moi"] button.token-revoke').count(), 0);
  const refused = await fetch(`${s.url}/api/objects`, { headers: { authorization: `Bearer ${token}` } });
  t.is(refused.status, 401, 'a revoked token is refused');

  // Disabling oneself is refused with the reason.
  await page.click('tr[data-user-id="quan-tri"] button.user-disable');
  await page.locator('#staff-status.notice-error').waitFor();
  t.regex((await page.textContent('#staff-status')) ?? '', /không thể tự khoá/);
  await page.screenshot({ path: join(OUT, '6-admin-users.png'), fullPage: true });

  // A job that failed for good, for the board to retry.
  const connection = queueConnection(s.config.redisUrl!);
  const queue = new Queue(QUEUES.seal, { connection, prefix: s.config.queuePrefix });
  const job = await queue.add('thu-loi', { kind: 'test' }, { attempts: 1 });
  const workerConnection = queueConnection(s.config.redisUrl!);
  const failing = new Worker(QUEUES.seal, async () => {
    throw new Error('lỗi thử nghiệm / test failure');
  }, { connection: workerConnection, prefix: s.config.queuePrefix });
  await poll('the job to fail', 10_000, async () => ((await job.getState()) === 'failed' ? true : undefined));
  await failing.close();
  workerConnection.disconnect();

  await page.goto(`${s.url}/staff/jobs`);
  t.regex((await page.textContent('.failed-jobs')) ?? '', /lỗi thử nghiệm/);
  await page.screenshot({ path: join(OUT, '7-admin-jobs.png'), fullPage: true });

  const csp: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/.test(m.text())) csp.push(m.text());
  });
  const board = await page.goto(`${s.url}/staff/queues`);
  t.is(board?.status(), 200);
  t.regex(board?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.getByText(QUEUES.seal).first().waitFor({ timeout: scaledTimeout(60_000) });
  await page.screenshot({ path: join(OUT, '8-admin-queue-board.png'), fullPage: true });
  await page.goto(`${s.url}/staff/queues/queue/${QUEUES.seal}?status=failed`);
  await page.getByText('lỗi thử nghiệm').first().waitFor({ timeout: scaledTimeout(60_000) });
  await page.screenshot({ path: join(OUT, '9-admin-queue-failed.png'), fullPage: true });
  // bull-board's own retry (of every failed job of the queue: here the one).
  await page.getByRole('button', { name: /retry all/i }).click();
  const confirm = page.getByRole('button', { name: /^confirm$/i });
  // Some bull-board versions ask to confirm: click it whenever it shows, until the job has left "failed".
  await poll('the job to be retried', 60_000, async () => {
    if (await confirm.isVisible()) await confirm.click().catch(() => undefined);
    return (await job.getState()) !== 'failed' ? true : undefined;
  });
  t.not(await job.getState(), 'failed');
  await queue.close();
  connection.disconnect();
  t.log(`CSP messages on the board: ${csp.length ? csp.join(' | ') : 'none'}`);
  t.deepEqual(
    watch.unexpected().filter((p) => !/Content Security Policy|fonts\.googleapis|ERR_BLOCKED_BY_CSP|409|Conflict|\/staff\/queues\/api\/.* net::ERR_ABORTED/.test(p)),
    [],
  );
  await context.close();
});

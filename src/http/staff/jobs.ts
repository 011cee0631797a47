import type Router from '@koa/router';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { KoaAdapter } from '@bull-board/koa';
import type { Context, Middleware, Next } from 'koa';
import { authOf, requireRole } from '../auth.ts';
import { jobsReport } from '../routes/jobs.ts';
import type { AppServices } from '../services.ts';
import { html, type SafeHtml } from '../site/html.ts';
import { type Bilingual, type Lang, formatCount, tr } from '../site/i18n.ts';
import { when } from './dashboard.ts';
import { isAdmin, type StaffKit } from './routes.ts';

/**
 * Jobs: /staff/jobs (any staff) shows each background queue's depth, what runs now and what
 * failed and why; /staff/queues (admins) is bull-board, embedded rather than written again,
 * for looking into any job and retrying failed ones.
 *
 * bull-board is its own small koa app (React UI, its JSON API under /staff/queues/api). It is
 * behind the same gate as every staff page (sign in; admins only: 403 otherwise, a problem
 * for its API) and gets its own CSP, as narrow as it runs with. Its UI sends writes (retry)
 * through axios, which copies an `XSRF-TOKEN` cookie into an `X-XSRF-TOKEN` header: the
 * session's CSRF token is given to it that way (a cookie for /staff/queues only), and the
 * auth middleware takes that header as the CSRF token.
 */
const TEXT = {
  title: { vi: 'Hàng đợi công việc', en: 'Background jobs' },
  intro: {
    vi: 'Các công việc chạy nền: ảnh phái sinh, nhận dạng chữ (OCR), sao lưu, kiểm tra tính toàn vẹn, niêm phong và kiểm toán chuỗi băm.',
    en: 'Work done in the background: derivatives, OCR, replication, fixity checks, seals and hash-chain audits.',
  },
  queue: { vi: 'Hàng đợi', en: 'Queue' },
  waiting: { vi: 'Đang chờ', en: 'Waiting' },
  active: { vi: 'Đang chạy', en: 'Running' },
  delayed: { vi: 'Chờ thử lại', en: 'Waiting to retry' },
  failed: { vi: 'Thất bại', en: 'Failed' },
  running: { vi: 'Đang chạy', en: 'Running now' },
  noRunning: { vi: 'Không có công việc nào đang chạy.', en: 'No job is running.' },
  failedJobs: { vi: 'Công việc thất bại (hết số lần thử)', en: 'Failed jobs (out of attempts)' },
  noFailed: { vi: 'Không có công việc thất bại.', en: 'No failed jobs.' },
  job: { vi: 'Công việc', en: 'Job' },
  reason: { vi: 'Lý do', en: 'Reason' },
  attempts: { vi: 'Số lần thử', en: 'Attempts' },
  at: { vi: 'Lúc', en: 'At' },
  started: { vi: 'Bắt đầu', en: 'Started' },
  board: { vi: 'Mở bảng hàng đợi (xem chi tiết, chạy lại công việc thất bại)', en: 'Open the queue board (details, retry failed jobs)' },
  boardAdmins: { vi: 'Chạy lại công việc thất bại: quản trị viên làm trên bảng hàng đợi.', en: 'Retrying failed jobs: administrators do it on the queue board.' },
  unavailable: { vi: 'Hàng đợi (Redis) không trả lời lúc này.', en: 'The queues (Redis) do not answer right now.' },
} as const satisfies Record<string, Bilingual>;

const QUEUE_NAMES: Record<string, Bilingual> = {
  audit: { vi: 'Kiểm toán chuỗi băm', en: 'Chain audit' },
  derivatives: { vi: 'Ảnh phái sinh', en: 'Derivatives' },
  replication: { vi: 'Sao lưu', en: 'Replication' },
  ocr: { vi: 'Nhận dạng chữ (OCR)', en: 'OCR' },
  fixity: { vi: 'Kiểm tra toàn vẹn', en: 'Fixity' },
  seal: { vi: 'Niêm phong nhật ký', en: 'Log seals' },
};

const brief = (data: unknown): string => {
  const text = JSON.stringify(data) ?? '';
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
};

async function jobsMain(lang: Lang, services: AppServices, admin: boolean): Promise<SafeHtml> {
  let report;
  try {
    report = await jobsReport(services.queues, 20);
  } catch {
    return html`<h1>${tr(lang, TEXT.title)}</h1><p class="notice notice-error">${tr(lang, TEXT.unavailable)}</p>`;
  }
  return html`<h1>${tr(lang, TEXT.title)}</h1>
<p>${tr(lang, TEXT.intro)}</p>
<p>${admin ? html`<a href="/staff/queues">${tr(lang, TEXT.board)}</a>` : tr(lang, TEXT.boardAdmins)}</p>
<table class="queue-depths">
<thead><tr><th>${tr(lang, TEXT.queue)}</th><th>${tr(lang, TEXT.waiting)}</th><th>${tr(lang, TEXT.active)}</th><th>${tr(lang, TEXT.delayed)}</th><th>${tr(lang, TEXT.failed)}</th></tr></thead>
<tbody>${report.queues.map(
    (q) => html`<tr data-queue="${q.key}"><th scope="row">${QUEUE_NAMES[q.key] ? tr(lang, QUEUE_NAMES[q.key] as Bilingual) : q.key}<br><small>${q.name}</small></th>
<td>${formatCount(lang, q.waiting)}</td><td>${formatCount(lang, q.active)}</td><td>${formatCount(lang, q.delayed)}</td><td>${q.failed ? html`<span class="badge badge-failed">${formatCount(lang, q.failed)}</span>` : '0'}</td></tr>`,
  )}</tbody>
</table>
<h2>${tr(lang, TEXT.running)}</h2>
${
  report.running.length === 0
    ? html`<p>${tr(lang, TEXT.noRunning)}</p>`
    : html`<table class="running-jobs"><thead><tr><th>${tr(lang, TEXT.queue)}</th><th>${tr(lang, TEXT.job)}</th><th>${tr(lang, TEXT.started)}</th></tr></thead>
<tbody>${report.running.map((j) => html`<tr><td>${j.queue}</td><td>${j.name} <small>${j.jobId}</small><br><small>${brief(j.data)}</small></td><td>${when(j.startedAt)}</td></tr>`)}</tbody></table>`
}
<h2>${tr(lang, TEXT.failedJobs)}</h2>
${
  report.failed.length === 0
    ? html`<p>${tr(lang, TEXT.noFailed)}</p>`
    : html`<table class="failed-jobs"><thead><tr><th>${tr(lang, TEXT.queue)}</th><th>${tr(lang, TEXT.job)}</th><th>${tr(lang, TEXT.reason)}</th><th>${tr(lang, TEXT.attempts)}</th><th>${tr(lang, TEXT.at)}</th></tr></thead>
<tbody>${report.failed.map(
        (j) => html`<tr data-job-id="${j.jobId}"><td>${j.queue}</td><td>${j.name} <small>${j.jobId}</small><br><small>${brief(j.data)}</small></td><td>${j.reason}</td><td>${j.attempts}</td><td>${when(j.failedAt)}</td></tr>`,
      )}</tbody></table>`
}`;
}

export const QUEUE_BOARD_PATH = '/staff/queues';

/**
 * bull-board's own CSP: its scripts and styles are files of its own (no inline script runs;
 * its loading placeholder's inline styles are refused, which only leaves it unstyled for a
 * moment), its API is same-origin, and its page sets `<base href>` to its own path. Google
 * Fonts, which its page links to, are refused: the UI falls back to local fonts.
 */
export const QUEUE_BOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const XSRF_COOKIE = 'XSRF-TOKEN';

function queueBoard(services: AppServices): Middleware {
  const adapter = new KoaAdapter();
  adapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: Object.values(services.queues).map((q) => new BullMQAdapter(q, { allowRetries: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'thukho', miscLinks: [{ text: '← /staff/jobs', url: '/staff/jobs' }] } },
  });
  return adapter.registerPlugin() as unknown as Middleware;
}

export function registerJobScreens(router: Router, staff: StaffKit): void {
  router.get(
    '/staff/jobs',
    staff.route(async (s) => {
      const lang = s.page.lang;
      return s.render({ title: tr(lang, TEXT.title), section: 'jobs', main: await jobsMain(lang, staff.services, isAdmin(authOf(s.ctx).viewer)) });
    }),
  );

  // Made on first use: a server whose admins never open the board never builds it.
  let board: Middleware | undefined;
  // The staff gate for a page nobody but an admin gets past (sign in first; 403 page otherwise).
  const refuse = staff.route(() => '', { allow: isAdmin });
  const gate = async (ctx: Context, next: Next): Promise<void> => {
    const { actor, csrfToken } = authOf(ctx);
    if (!isAdmin(authOf(ctx).viewer)) {
      // Its API answers scripts: a problem (401/403), not a page.
      if (ctx.path.startsWith(`${QUEUE_BOARD_PATH}/api/`)) requireRole(ctx, isAdmin, { vi: 'quản trị viên toàn hệ thống', en: 'an instance-wide administrator' });
      await refuse(ctx, next);
      return;
    }
    if (csrfToken) {
      // Readable by the board's script (axios copies it into X-XSRF-TOKEN), for its pages only.
      ctx.cookies.set(XSRF_COOKIE, csrfToken, { path: QUEUE_BOARD_PATH, httpOnly: false, sameSite: 'strict', secure: ctx.secure, overwrite: true });
    }
    board ??= queueBoard(staff.services);
    await board(ctx, next);
    ctx.set('Content-Security-Policy', QUEUE_BOARD_CSP);
    ctx.set('Cache-Control', 'private, no-store');
  };
  router.all(QUEUE_BOARD_PATH, gate);
  router.all(/^\/staff\/queues\/.*/, gate);
}

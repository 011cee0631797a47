import type { Role } from '../../domain/access-policy.ts';
import { SafeHtml, html } from '../site/html.ts';
import { type Bilingual, type Lang, T, tr } from '../site/i18n.ts';
import { both, languageSwitch, notBuiltNotice, type PageContext } from '../site/layout.ts';

/**
 * The staff workspace's page shell: its own header and navigation, the site's styles, and
 * the staff script, which loads the module named by `data-staff-page` for what the page does
 * in the browser (uploads, drag and drop, charts). The server renders what can be read
 * without the script; every change goes through the documented /api routes.
 */
export type StaffSection = 'objects' | 'preservation' | 'jobs' | 'stats' | 'users' | 'libraries';

export const STAFF_TEXT = {
  workspace: { vi: 'Khu làm việc của cán bộ', en: 'Staff workspace' },
  navLabel: { vi: 'Các mục của khu làm việc', en: 'Workspace sections' },
  objects: { vi: 'Tài liệu', en: 'Objects' },
  preservation: { vi: 'Bảo quản', en: 'Preservation' },
  jobs: { vi: 'Hàng đợi', en: 'Jobs' },
  stats: { vi: 'Thống kê', en: 'Statistics' },
  users: { vi: 'Người dùng', en: 'Users' },
  libraries: { vi: 'Thư viện', en: 'Libraries' },
  publicSite: { vi: 'Trang công khai', en: 'Public site' },
  signedInAs: { vi: 'Đã đăng nhập:', en: 'Signed in as' },
  signOut: { vi: 'Đăng xuất', en: 'Sign out' },
  forbiddenTitle: { vi: 'Không có quyền truy cập', en: 'Access denied' },
  forbiddenText: {
    vi: 'Khu làm việc chỉ dành cho cán bộ thư viện (biên mục, kiểm soát, quản trị). Nếu bạn cần quyền này, hãy liên hệ quản trị viên.',
    en: 'The workspace is for library staff only (curators, auditors, administrators). If you need access, ask an administrator.',
  },
  adminOnlyText: {
    vi: 'Mục này chỉ dành cho quản trị viên.',
    en: 'This section is for administrators only.',
  },
  noScript: {
    vi: 'Trang này cần JavaScript để tải tệp, kéo thả và vẽ biểu đồ; hãy bật JavaScript.',
    en: 'This page needs JavaScript for uploads, drag and drop and charts; please enable it.',
  },
  role: {
    vi: 'Vai trò',
    en: 'Role',
  },
} as const satisfies Record<string, Bilingual>;

export const ROLE_NAMES: Record<Role, Bilingual> = {
  public: { vi: 'khách', en: 'public' },
  reader: { vi: 'bạn đọc', en: 'reader' },
  auditor: { vi: 'kiểm soát viên', en: 'auditor' },
  curator: { vi: 'cán bộ biên mục', en: 'curator' },
  admin: { vi: 'quản trị viên', en: 'administrator' },
};

/** Who is working: what the navigation shows and what the page's script may offer. */
export interface StaffUser {
  id: string;
  name: string;
  role: Role;
}

export interface StaffShell {
  title: string;
  section: StaffSection;
  main: SafeHtml;
  /** The browser module for this page (viewer/src/staff/main.ts maps names to modules). */
  script?: string;
  /** Data for the page's script, embedded as JSON (never executed: CSP allows no inline script). */
  data?: unknown;
}

interface NavItem {
  section: StaffSection;
  href: string;
  text: Bilingual;
  visible: (role: Role) => boolean;
}

const NAV: readonly NavItem[] = [
  { section: 'objects', href: '/staff/objects', text: STAFF_TEXT.objects, visible: () => true },
  { section: 'preservation', href: '/staff/preservation', text: STAFF_TEXT.preservation, visible: () => true },
  { section: 'jobs', href: '/staff/jobs', text: STAFF_TEXT.jobs, visible: () => true },
  { section: 'stats', href: '/staff/stats', text: STAFF_TEXT.stats, visible: (r) => r === 'auditor' || r === 'admin' },
  { section: 'users', href: '/staff/users', text: STAFF_TEXT.users, visible: (r) => r === 'admin' },
  { section: 'libraries', href: '/staff/libraries', text: STAFF_TEXT.libraries, visible: () => true },
];

/** JSON inside a `<script type="application/json">`: `<` escaped so no text can close the element. */
function jsonData(data: unknown): SafeHtml {
  return new SafeHtml(JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
}

export function staffNav(lang: Lang, user: StaffUser, current: StaffSection): SafeHtml {
  return html`<nav class="staff-nav" aria-label="${tr(lang, STAFF_TEXT.navLabel)}">
<ul>
${NAV.filter((n) => n.visible(user.role)).map((n) =>
  n.section === current
    ? html`<li><a href="${n.href}" aria-current="page">${tr(lang, n.text)}</a></li>`
    : html`<li><a href="${n.href}">${tr(lang, n.text)}</a></li>`,
)}
</ul>
</nav>`;
}

export function staffPage(ctx: PageContext, user: StaffUser, csrfToken: string | undefined, shell: StaffShell): string {
  const { lang, assets } = ctx;
  const script = assets.staff;
  const body = html`<body class="staff" data-staff-page="${shell.script ?? ''}" data-lang="${lang}" data-role="${user.role}" data-user="${user.id}">
<a class="skip-link" href="#main">${tr(lang, T.skip)}</a>
<header class="site-header staff-header">
<div class="container header-inner">
<a class="brand" href="/staff"><span class="brand-name">${tr(lang, STAFF_TEXT.workspace)}</span> <span class="brand-institution">${ctx.institution}</span></a>
<nav class="site-nav" aria-label="${tr(lang, T.navLabel)}">
<ul>
<li><a href="/">${tr(lang, STAFF_TEXT.publicSite)}</a></li>
<li>${languageSwitch(ctx)}</li>
<li class="signed-in"><span>${tr(lang, STAFF_TEXT.signedInAs)} <strong>${user.name}</strong> (${tr(lang, ROLE_NAMES[user.role])})</span> · <a href="/sign-out">${tr(lang, STAFF_TEXT.signOut)}</a></li>
</ul>
</nav>
</div>
${staffNav(lang, user, shell.section)}
</header>
${assets.built ? '' : notBuiltNotice(lang)}
<main id="main" class="staff-main container">
${shell.script ? html`<noscript><p class="notice notice-warning">${both(lang, STAFF_TEXT.noScript)}</p></noscript>` : ''}
${shell.main}
</main>
${shell.data === undefined ? '' : html`<script type="application/json" id="staff-data">${jsonData(shell.data)}</script>`}
${script ? html`${script.css.map((href) => html`<link rel="stylesheet" href="${href}">`)}<script type="module" src="${script.js}"></script>` : ''}
</body>`;
  const fontFaces = ctx.fontFaces(`${shell.title}\n${body.value}`);
  return html`<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
${csrfToken ? html`<meta name="csrf-token" content="${csrfToken}">` : ''}
<title>${shell.title} — ${tr(lang, STAFF_TEXT.workspace)}</title>
<link rel="icon" href="data:,">
${assets.siteCss ? html`<link rel="stylesheet" href="${assets.siteCss}">` : ''}
${fontFaces ? html`<style data-role="nom-font">${new SafeHtml(fontFaces)}</style>` : ''}
${script ? script.preload.map((href) => html`<link rel="modulepreload" href="${href}">`) : ''}
</head>
${body}
</html>
`.value;
}

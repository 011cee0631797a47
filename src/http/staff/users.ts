import type Router from '@koa/router';
import { ACCOUNT_ROLES, type Role } from '../../domain/access-policy.ts';
import { PASSWORD_MIN_CHARS } from '../../application/passwords.ts';
import { type UserRow, userRows } from '../routes/users.ts';
import { html, type SafeHtml } from '../site/html.ts';
import { type Bilingual, type Lang, tr } from '../site/i18n.ts';
import { ROLE_NAMES } from './layout.ts';
import { isAdmin, type StaffKit } from './routes.ts';

/**
 * Accounts (/staff/users, admins only): every account with its role and status, a form to add
 * one, and per account: change the role, disable or enable, its API tokens (issue one, shown
 * once with a copy button; revoke). Rendered here; every change goes through /api/users…
 * (viewer/src/staff/users.ts), which also refuses what would leave no working admin.
 */
const TEXT = {
  title: { vi: 'Người dùng và quyền', en: 'Users and roles' },
  add: { vi: 'Thêm người dùng', en: 'Add a user' },
  id: { vi: 'Tên đăng nhập', en: 'Account id' },
  idHelp: { vi: 'Chữ thường không dấu, số, "-" hoặc "_", ví dụ: nguyen-van-a', en: 'Lowercase letters, digits, "-" or "_", e.g. nguyen-van-a' },
  name: { vi: 'Họ tên', en: 'Name' },
  role: { vi: 'Vai trò', en: 'Role' },
  password: { vi: 'Mật khẩu ban đầu', en: 'Initial password' },
  passwordHelp: {
    vi: `Ít nhất ${PASSWORD_MIN_CHARS} ký tự; để trống để tạo tài khoản cho chương trình (chỉ có mã truy cập API).`,
    en: `At least ${PASSWORD_MIN_CHARS} characters; leave empty for a script's account (API token only).`,
  },
  create: { vi: 'Tạo tài khoản', en: 'Create account' },
  status: { vi: 'Trạng thái', en: 'Status' },
  active: { vi: 'đang hoạt động', en: 'active' },
  disabled: { vi: 'đã khoá', en: 'disabled' },
  tokens: { vi: 'Mã truy cập API', en: 'API tokens' },
  noTokens: { vi: 'không có', en: 'none' },
  changeRole: { vi: 'Đổi vai trò', en: 'Change role' },
  disable: { vi: 'Khoá', en: 'Disable' },
  enable: { vi: 'Mở khoá', en: 'Enable' },
  revoke: { vi: 'Thu hồi', en: 'Revoke' },
  tokenName: { vi: 'Tên mã mới', en: 'New token name' },
  tokenRole: { vi: 'Giới hạn quyền', en: 'Scope' },
  accountRole: { vi: '(như tài khoản)', en: '(as the account)' },
  issue: { vi: 'Cấp mã', en: 'Issue token' },
  you: { vi: '(bạn)', en: '(you)' },
  actions: { vi: 'Thao tác', en: 'Actions' },
  library: { vi: 'Thư viện', en: 'Library' },
  wholeInstance: { vi: 'toàn hệ thống', en: 'whole instance' },
  libraryHelp: {
    vi: 'Mã thư viện mà tài khoản là cán bộ (quyền cán bộ chỉ áp dụng cho tài liệu, bộ sưu tập và số liệu của thư viện đó); để trống: toàn hệ thống.',
    en: 'The id of the library whose staff the account is (staff rights then hold only for its works, collections and figures); empty: the whole instance.',
  },
  changeLibrary: { vi: 'Đổi thư viện', en: 'Change library' },
} as const satisfies Record<string, Bilingual>;

function roleOptions(lang: Lang, selected: Role | undefined): SafeHtml[] {
  return ACCOUNT_ROLES.map((r) => (r === selected ? html`<option value="${r}" selected>${tr(lang, ROLE_NAMES[r])}</option>` : html`<option value="${r}">${tr(lang, ROLE_NAMES[r])}</option>`));
}

function userRow(lang: Lang, u: UserRow, me: string): SafeHtml {
  const id = u.id;
  return html`<tr data-user-id="${id}" data-status="${u.status}">
<td><strong>${id}</strong> ${id === me ? tr(lang, TEXT.you) : ''}<br>${u.name}</td>
<td><form class="user-role" data-user-id="${id}"><label class="visually-hidden" for="role-${id}">${tr(lang, TEXT.role)}</label>
<select id="role-${id}" name="role">${roleOptions(lang, u.role)}</select> <button type="submit">${tr(lang, TEXT.changeRole)}</button></form></td>
<td data-library="${u.library ?? ''}">${u.library === null ? html`<em>${tr(lang, TEXT.wholeInstance)}</em>` : html`<strong>${u.library}</strong>`}
<form class="user-library" data-user-id="${id}"><label class="visually-hidden" for="library-${id}">${tr(lang, TEXT.library)}</label>
<input type="text" id="library-${id}" name="library" value="${u.library ?? ''}" pattern="[a-z0-9][a-z0-9_\-]*" size="10"> <button type="submit">${tr(lang, TEXT.changeLibrary)}</button></form></td>
<td>${u.status === 'active' ? html`<span class="badge badge-passed">${tr(lang, TEXT.active)}</span> <button type="button" class="user-disable" data-user-id="${id}">${tr(lang, TEXT.disable)}</button>` : html`<span class="badge badge-failed">${tr(lang, TEXT.disabled)}</span> <button type="button" class="user-enable" data-user-id="${id}">${tr(lang, TEXT.enable)}</button>`}</td>
<td><ul class="tokens">${u.tokens.length === 0 ? html`<li>${tr(lang, TEXT.noTokens)}</li>` : u.tokens.map((t) => html`<li data-token="${t.name}">${t.name}${t.role ? html` <small>(${tr(lang, ROLE_NAMES[t.role])})</small>` : ''} <button type="button" class="token-revoke" data-user-id="${id}" data-token="${t.name}">${tr(lang, TEXT.revoke)}</button></li>`)}</ul>
<form class="token-issue" data-user-id="${id}">
<label for="token-name-${id}">${tr(lang, TEXT.tokenName)}</label> <input type="text" id="token-name-${id}" name="name" required pattern="[a-z0-9][a-z0-9._\\-]{0,63}" placeholder="script-1">
<label for="token-role-${id}">${tr(lang, TEXT.tokenRole)}</label> <select id="token-role-${id}" name="role"><option value="">${tr(lang, TEXT.accountRole)}</option>${roleOptions(lang, undefined)}</select>
<button type="submit">${tr(lang, TEXT.issue)}</button>
</form></td>
</tr>`;
}

export function registerUserScreens(router: Router, staff: StaffKit): void {
  router.get(
    '/staff/users',
    staff.route(
      (s) => {
        const lang = s.page.lang;
        const users = userRows(staff.services);
        const main = html`<h1>${tr(lang, TEXT.title)}</h1>
<table class="users">
<thead><tr><th>${tr(lang, TEXT.id)} / ${tr(lang, TEXT.name)}</th><th>${tr(lang, TEXT.role)}</th><th>${tr(lang, TEXT.library)}</th><th>${tr(lang, TEXT.status)}</th><th>${tr(lang, TEXT.tokens)}</th></tr></thead>
<tbody>${users.map((u) => userRow(lang, u, s.user.id))}</tbody>
</table>
<section aria-labelledby="add-user">
<h2 id="add-user">${tr(lang, TEXT.add)}</h2>
<form class="staff-form" id="add-user-form" novalidate>
<div class="field"><label for="new-id">${tr(lang, TEXT.id)}</label><p class="help" id="new-id-help">${tr(lang, TEXT.idHelp)}</p><input type="text" id="new-id" name="id" required aria-describedby="new-id-help" autocomplete="off"></div>
<div class="field"><label for="new-name">${tr(lang, TEXT.name)}</label><input type="text" id="new-name" name="name" required autocomplete="off"></div>
<div class="field"><label for="new-role">${tr(lang, TEXT.role)}</label><select id="new-role" name="role">${roleOptions(lang, 'curator')}</select></div>
<div class="field"><label for="new-library">${tr(lang, TEXT.library)}</label><p class="help" id="new-library-help">${tr(lang, TEXT.libraryHelp)}</p><input type="text" id="new-library" name="library" autocomplete="off" aria-describedby="new-library-help"></div>
<div class="field"><label for="new-password">${tr(lang, TEXT.password)}</label><p class="help" id="new-password-help">${tr(lang, TEXT.passwordHelp)}</p><input type="password" id="new-password" name="password" autocomplete="new-password" aria-describedby="new-password-help"></div>
<div><button type="submit">${tr(lang, TEXT.create)}</button></div>
</form>
</section>`;
        return s.render({ title: tr(lang, TEXT.title), section: 'users', main, script: 'users' });
      },
      { allow: isAdmin },
    ),
  );
}

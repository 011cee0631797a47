import { api, ApiError, type Bilingual } from './api.ts';
import { announce, t } from './page.ts';

/**
 * The users page: every change through /api/users… (admins). After a change the page is
 * loaded again (the server renders the list) and the outcome is announced there. A new token
 * is shown once, with a copy button, before anything reloads: it is never shown again.
 */
const NEXT_MESSAGE = 'thukho-staff-message';

const TEXT = {
  created: { vi: 'Đã tạo tài khoản.', en: 'Account created.' },
  roleChanged: { vi: 'Đã đổi vai trò.', en: 'Role changed.' },
  libraryChanged: { vi: 'Đã đổi thư viện.', en: 'Library changed.' },
  disabled: { vi: 'Đã khoá tài khoản.', en: 'Account disabled.' },
  enabled: { vi: 'Đã mở khoá tài khoản.', en: 'Account enabled.' },
  revoked: { vi: 'Đã thu hồi mã truy cập.', en: 'Token revoked.' },
  confirmRevoke: { vi: 'Thu hồi mã này? Các chương trình đang dùng nó sẽ bị từ chối.', en: 'Revoke this token? Scripts using it will be refused.' },
  confirmDisable: { vi: 'Khoá tài khoản này? Các phiên đăng nhập và mã truy cập của nó dừng ngay.', en: 'Disable this account? Its sessions and tokens stop at once.' },
  tokenOnce: {
    vi: 'Mã truy cập mới — chỉ hiện MỘT lần. Hãy sao chép và cất giữ an toàn ngay bây giờ:',
    en: 'The new API token — shown ONCE. Copy it and keep it safe now:',
  },
  copy: { vi: 'Sao chép', en: 'Copy' },
  copied: { vi: 'Đã sao chép.', en: 'Copied.' },
  done: { vi: 'Tôi đã lưu mã, tiếp tục', en: 'I have saved it, continue' },
  required: { vi: 'Hãy điền tên đăng nhập và họ tên.', en: 'Fill in the account id and the name.' },
} as const satisfies Record<string, Bilingual>;

function reloadWith(message: Bilingual): void {
  sessionStorage.setItem(NEXT_MESSAGE, JSON.stringify(message));
  location.reload();
}

function fail(err: unknown): void {
  announce(err instanceof ApiError ? err.messages : String(err), 'error');
}

/** Shows a secret once, with a copy button; `Continue` reloads the page. */
function showOnce(token: string, message: Bilingual): void {
  const panel = document.createElement('section');
  panel.className = 'notice notice-info token-once';
  panel.setAttribute('role', 'alert');
  const p = document.createElement('p');
  p.textContent = t(TEXT.tokenOnce);
  const input = document.createElement('input');
  input.type = 'text';
  input.readOnly = true;
  input.value = token;
  input.className = 'token-value';
  input.setAttribute('aria-label', t(TEXT.tokenOnce));
  const copy = document.createElement('button');
  copy.type = 'button';
  copy.className = 'token-copy';
  copy.textContent = t(TEXT.copy);
  copy.addEventListener('click', () => {
    input.select();
    const done = () => announce(TEXT.copied, 'ok');
    if (navigator.clipboard) navigator.clipboard.writeText(token).then(done, () => document.execCommand('copy') && done());
    else if (document.execCommand('copy')) done();
  });
  const next = document.createElement('button');
  next.type = 'button';
  next.className = 'token-done';
  next.textContent = t(TEXT.done);
  next.addEventListener('click', () => reloadWith(message));
  const row = document.createElement('div');
  row.className = 'actions';
  row.append(input, copy, next);
  panel.append(p, row);
  document.getElementById('main')?.prepend(panel);
  input.focus();
  input.select();
}

function onAddUser(form: HTMLFormElement): void {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const id = String(data.get('id') ?? '').trim();
    const name = String(data.get('name') ?? '').trim();
    const password = String(data.get('password') ?? '');
    const library = String(data.get('library') ?? '').trim();
    if (!id || !name) return announce(TEXT.required, 'error');
    const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
    if (button) button.disabled = true;
    api<{ token?: string }>('POST', '/api/users', { json: { id, name, role: String(data.get('role')), ...(password ? { password } : {}), ...(library ? { library } : {}) } })
      .then((res) => (res.data.token ? showOnce(res.data.token, TEXT.created) : reloadWith(TEXT.created)))
      .catch((err: unknown) => {
        if (button) button.disabled = false;
        fail(err);
      });
  });
}

export function start(): void {
  const pending = sessionStorage.getItem(NEXT_MESSAGE);
  if (pending) {
    sessionStorage.removeItem(NEXT_MESSAGE);
    announce(JSON.parse(pending) as Bilingual, 'ok');
  }
  const add = document.getElementById('add-user-form');
  if (add instanceof HTMLFormElement) onAddUser(add);

  document.addEventListener('submit', (event) => {
    const form = event.target as HTMLFormElement;
    const userId = form.dataset.userId;
    if (!userId) return;
    event.preventDefault();
    const data = new FormData(form);
    const path = `/api/users/${encodeURIComponent(userId)}`;
    if (form.classList.contains('user-role')) {
      api('PUT', `${path}/role`, { json: { role: String(data.get('role')) } }).then(() => reloadWith(TEXT.roleChanged), fail);
    } else if (form.classList.contains('user-library')) {
      const library = String(data.get('library') ?? '').trim();
      api('PUT', `${path}/library`, { json: { library: library || null } }).then(() => reloadWith(TEXT.libraryChanged), fail);
    } else if (form.classList.contains('token-issue')) {
      const role = String(data.get('role') ?? '');
      api<{ token: string }>('POST', `${path}/tokens`, { json: { name: String(data.get('name') ?? '').trim(), ...(role ? { role } : {}) } }).then(
        (res) => showOnce(res.data.token, { vi: 'Đã cấp mã truy cập.', en: 'Token issued.' }),
        fail,
      );
    }
  });

  document.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>('button[data-user-id]');
    const userId = button?.dataset.userId;
    if (!button || !userId) return;
    const path = `/api/users/${encodeURIComponent(userId)}`;
    if (button.classList.contains('user-disable')) {
      if (!confirm(t(TEXT.confirmDisable))) return;
      api('POST', `${path}/disable`).then(() => reloadWith(TEXT.disabled), fail);
    } else if (button.classList.contains('user-enable')) {
      api('POST', `${path}/enable`).then(() => reloadWith(TEXT.enabled), fail);
    } else if (button.classList.contains('token-revoke') && button.dataset.token) {
      if (!confirm(t(TEXT.confirmRevoke))) return;
      api('DELETE', `${path}/tokens/${encodeURIComponent(button.dataset.token)}`).then(() => reloadWith(TEXT.revoked), fail);
    }
  });
}

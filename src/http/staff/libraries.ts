import type Router from '@koa/router';
import { type LibraryView, listLibraries } from '../../projections/object-read-model.ts';
import { homeLibraryOf } from '../routes/libraries.ts';
import { html, type SafeHtml } from '../site/html.ts';
import { type Bilingual, type Lang, tr } from '../site/i18n.ts';
import { authOf } from '../auth.ts';
import { isAdmin, type StaffKit } from './routes.ts';

/**
 * Libraries (/staff/libraries): every library sharing the instance with its code and contact;
 * for administrators a form to register one and, per library, a form to edit it. Rendered
 * here; every change goes through /api/libraries (viewer/src/staff/libraries.ts), which says
 * what is wrong (empty name, bad code, duplicate id) in both languages.
 */
const TEXT = {
  title: { vi: 'Các thư viện', en: 'Libraries' },
  intro: {
    vi: 'Các thư viện dùng chung hệ thống. Mỗi bộ sưu tập thuộc một thư viện; tài liệu không thuộc bộ sưu tập nào của thư viện khác là của thư viện chính.',
    en: 'The libraries sharing this instance. Every collection belongs to one; works in no other library\'s collection belong to the home library.',
  },
  id: { vi: 'Mã', en: 'Id' },
  idHelp: { vi: 'Chữ thường không dấu, số, "-" hoặc "_", ví dụ: huyen-cam-xuyen', en: 'Lowercase letters, digits, "-" or "_", e.g. huyen-cam-xuyen' },
  nameVi: { vi: 'Tên (tiếng Việt)', en: 'Name (Vietnamese)' },
  nameEn: { vi: 'Tên (tiếng Anh)', en: 'Name (English)' },
  code: { vi: 'Mã ISIL', en: 'ISIL code' },
  codeHelp: { vi: 'Chữ, số, "-", ":" hoặc "/", tối đa 16 ký tự, ví dụ VN-HT01', en: 'Letters, digits, "-", ":" or "/", 16 at most, e.g. VN-HT01' },
  address: { vi: 'Địa chỉ', en: 'Address' },
  email: { vi: 'Thư điện tử', en: 'E-mail' },
  phone: { vi: 'Điện thoại', en: 'Phone' },
  url: { vi: 'Trang web', en: 'Web site' },
  logo: { vi: 'Biểu trưng (địa chỉ http(s) hoặc đường dẫn "/…")', en: 'Logo (an http(s) URL or a "/…" path)' },
  home: { vi: 'thư viện chính', en: 'home library' },
  homeNote: {
    vi: 'Tên lấy từ THUKHO_INSTITUTION; đăng ký thư viện với cùng mã để thêm mã ISIL, địa chỉ, biểu trưng.',
    en: 'Named by THUKHO_INSTITUTION; register a library with the same id to give it a code, address and logo.',
  },
  add: { vi: 'Đăng ký thư viện', en: 'Register a library' },
  save: { vi: 'Lưu', en: 'Save' },
  edit: { vi: 'Sửa', en: 'Edit' },
  contact: { vi: 'Liên hệ', en: 'Contact' },
  none: { vi: 'chưa có thư viện nào', en: 'no libraries yet' },
} as const satisfies Record<string, Bilingual>;

function nameOf(lang: Lang, l: LibraryView): string {
  return lang === 'en' && l.name.en ? l.name.en : l.name.vi;
}

function field(id: string, label: Bilingual, lang: Lang, name: string, value: string | undefined, extra: { required?: boolean; help?: Bilingual; type?: string } = {}): SafeHtml {
  const help = extra.help ? html`<p class="help" id="${id}-help">${tr(lang, extra.help)}</p>` : '';
  const described = extra.help ? `${id}-help` : '';
  return extra.required
    ? html`<div class="field"><label for="${id}">${tr(lang, label)}</label>${help}<input type="${extra.type ?? 'text'}" id="${id}" name="${name}" value="${value ?? ''}" required aria-describedby="${described}" autocomplete="off"></div>`
    : html`<div class="field"><label for="${id}">${tr(lang, label)}</label>${help}<input type="${extra.type ?? 'text'}" id="${id}" name="${name}" value="${value ?? ''}" aria-describedby="${described}" autocomplete="off"></div>`;
}

/** The fields of a library's record (an empty field clears it on an edit). */
function recordFields(lang: Lang, prefix: string, l: LibraryView | undefined): SafeHtml[] {
  return [
    field(`${prefix}-name-vi`, TEXT.nameVi, lang, 'nameVi', l?.name.vi, { required: true }),
    field(`${prefix}-name-en`, TEXT.nameEn, lang, 'nameEn', l?.name.en),
    field(`${prefix}-code`, TEXT.code, lang, 'code', l?.code, { help: TEXT.codeHelp }),
    field(`${prefix}-address`, TEXT.address, lang, 'address', l?.address),
    field(`${prefix}-email`, TEXT.email, lang, 'email', l?.contact?.email, { type: 'email' }),
    field(`${prefix}-phone`, TEXT.phone, lang, 'phone', l?.contact?.phone),
    field(`${prefix}-url`, TEXT.url, lang, 'url', l?.contact?.url, { type: 'url' }),
    field(`${prefix}-logo`, TEXT.logo, lang, 'logo', l?.logo),
  ];
}

function libraryRow(lang: Lang, l: LibraryView, admin: boolean): SafeHtml {
  const contact = [l.contact?.email, l.contact?.phone, l.contact?.url].filter((v): v is string => !!v);
  const editable = admin && l.revision >= 0;
  return html`<tr data-library-id="${l.id}">
<td><strong>${l.id}</strong>${l.home ? html` <span class="badge">${tr(lang, TEXT.home)}</span>` : ''}</td>
<td>${nameOf(lang, l)}${l.home && l.revision < 0 ? html`<p class="help">${tr(lang, TEXT.homeNote)}</p>` : ''}</td>
<td>${l.code ?? ''}</td>
<td>${l.address ?? ''}</td>
<td>${contact.map((c) => html`<div>${c}</div>`)}</td>
${admin ? html`<td>${editable ? html`<details><summary>${tr(lang, TEXT.edit)}</summary><form class="staff-form library-edit" data-library-id="${l.id}" data-revision="${String(l.revision)}" novalidate>${recordFields(lang, `edit-${l.id}`, l)}<div><button type="submit">${tr(lang, TEXT.save)}</button></div></form></details>` : ''}</td>` : ''}
</tr>`;
}

export function registerLibraryScreens(router: Router, staff: StaffKit): void {
  router.get(
    '/staff/libraries',
    staff.route((s) => {
      const lang = s.page.lang;
      const { readDb, config } = staff.services;
      const admin = isAdmin(authOf(s.ctx).viewer);
      const libraries = listLibraries(readDb, homeLibraryOf(config));
      const main = html`<h1>${tr(lang, TEXT.title)}</h1>
<p>${tr(lang, TEXT.intro)}</p>
<table class="libraries">
<thead><tr><th>${tr(lang, TEXT.id)}</th><th>${tr(lang, TEXT.nameVi)}</th><th>${tr(lang, TEXT.code)}</th><th>${tr(lang, TEXT.address)}</th><th>${tr(lang, TEXT.contact)}</th>${admin ? html`<th>${tr(lang, TEXT.edit)}</th>` : ''}</tr></thead>
<tbody>${libraries.length ? libraries.map((l) => libraryRow(lang, l, admin)) : html`<tr><td colspan="5">${tr(lang, TEXT.none)}</td></tr>`}</tbody>
</table>
${admin ? html`<section aria-labelledby="add-library">
<h2 id="add-library">${tr(lang, TEXT.add)}</h2>
<form class="staff-form" id="add-library-form" novalidate>
${field('new-library-id', TEXT.id, lang, 'id', undefined, { required: true, help: TEXT.idHelp })}
${recordFields(lang, 'new-library', undefined)}
<div><button type="submit">${tr(lang, TEXT.add)}</button></div>
</form>
</section>` : ''}`;
      return s.render({ title: tr(lang, TEXT.title), section: 'libraries', main, script: 'libraries' });
    }),
  );
}

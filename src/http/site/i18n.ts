import type { Bilingual } from '../../domain/errors.ts';
import { FIELD_LABELS as CATALOGUE_FIELD_LABELS } from '../../domain/metadata.ts';

/**
 * The site's two languages: Vietnamese first, English second. Language is a server-side
 * choice (the `lang` query parameter, else the `thukho_lang` cookie, else Vietnamese) so that
 * every page, link and error reads in one language, and the viewer follows `data-lang`.
 */
export const LANGS = ['vi', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const LANG_COOKIE = 'thukho_lang';

export type { Bilingual };

export function isLang(value: unknown): value is Lang {
  return value === 'vi' || value === 'en';
}

/** `fromQuery` wins and should be remembered; otherwise the cookie, otherwise Vietnamese. */
export function chooseLanguage(fromQuery: string | undefined, fromCookie: string | undefined): { lang: Lang; remember: boolean } {
  if (isLang(fromQuery)) return { lang: fromQuery, remember: true };
  if (isLang(fromCookie)) return { lang: fromCookie, remember: false };
  return { lang: 'vi', remember: false };
}

export const other = (lang: Lang): Lang => (lang === 'vi' ? 'en' : 'vi');

export function tr(lang: Lang, text: Bilingual): string {
  return text[lang];
}

export function formatCount(lang: Lang, n: number): string {
  return n.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB');
}

const ROMAN: Array<[number, string]> = [
  [1000, 'M'], [900, 'CM'], [500, 'D'], [400, 'CD'], [100, 'C'], [90, 'XC'],
  [50, 'L'], [40, 'XL'], [10, 'X'], [9, 'IX'], [5, 'V'], [4, 'IV'], [1, 'I'],
];

function roman(n: number): string {
  let out = '';
  for (const [value, numeral] of ROMAN) {
    while (n >= value) {
      out += numeral;
      n -= value;
    }
  }
  return out;
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}

/** Centuries as Vietnamese writes them ("Thế kỷ XIX", "Thế kỷ III TCN") and English ("19th century"). */
export function centuryLabel(lang: Lang, century: number): string {
  const n = Math.abs(century);
  if (lang === 'vi') return `Thế kỷ ${roman(n)}${century < 0 ? ' TCN' : ''}`;
  return `${ordinal(n)} century${century < 0 ? ' BCE' : ''}`;
}

/** Labels of the catalogue fields, in display order (Dublin Core, as in the IIIF manifest). */
/** The record's labels: the catalogue's own (shared with IIIF manifests), and access. */
export const FIELD_LABELS = {
  ...CATALOGUE_FIELD_LABELS,
  access: { vi: 'Quyền truy cập', en: 'Access' },
} as const satisfies Record<string, Bilingual>;

/** Every fixed string of the site. */
export const T = {
  siteName: { vi: 'Thư khố', en: 'Thư khố' },
  tagline: { vi: 'Kho tài liệu số', en: 'Digital archive' },
  skip: { vi: 'Chuyển đến nội dung chính', en: 'Skip to main content' },
  breadcrumb: { vi: 'Đường dẫn', en: 'Breadcrumb' },
  navLabel: { vi: 'Điều hướng chính', en: 'Main navigation' },
  home: { vi: 'Trang chủ', en: 'Home' },
  search: { vi: 'Tìm kiếm', en: 'Search' },
  switchTo: { vi: 'Tiếng Việt', en: 'English' },
  searchLabel: { vi: 'Tìm trong thư mục', en: 'Search the catalogue' },
  searchPlaceholder: { vi: 'Nhan đề, tác giả, chủ đề… (có dấu hoặc không dấu)', en: 'Title, creator, subject… (with or without diacritics)' },
  searchButton: { vi: 'Tìm', en: 'Search' },
  collections: { vi: 'Bộ sưu tập', en: 'Collections' },
  libraries: { vi: 'Thư viện', en: 'Libraries' },
  noCollections: { vi: 'Chưa có bộ sưu tập nào.', en: 'There are no collections yet.' },
  recent: { vi: 'Mới bổ sung', en: 'Recent additions' },
  noObjects: { vi: 'Chưa có tài liệu nào.', en: 'There are no documents yet.' },
  noImage: { vi: 'Chưa có ảnh', en: 'No image yet' },
  searchTitle: { vi: 'Tìm kiếm', en: 'Search' },
  browseTitle: { vi: 'Tất cả tài liệu', en: 'All documents' },
  refine: { vi: 'Thu hẹp kết quả', en: 'Refine results' },
  facetCollection: { vi: 'Bộ sưu tập', en: 'Collection' },
  facetLanguage: { vi: 'Ngôn ngữ', en: 'Language' },
  facetType: { vi: 'Loại hình', en: 'Type' },
  facetCentury: { vi: 'Thế kỷ', en: 'Century' },
  facetHasText: { vi: 'Văn bản trang', en: 'Page text' },
  facetAccess: { vi: 'Quyền truy cập', en: 'Access' },
  hasText: { vi: 'Có văn bản trang', en: 'With page text' },
  noText: { vi: 'Chưa có văn bản trang', en: 'No page text yet' },
  levelOpen: { vi: 'Mở', en: 'Open' },
  levelRestricted: { vi: 'Hạn chế', en: 'Restricted' },
  levelConfidential: { vi: 'Mật', en: 'Confidential' },
  sortBy: { vi: 'Sắp xếp', en: 'Sort by' },
  sortRelevance: { vi: 'Mức liên quan', en: 'Relevance' },
  sortTitle: { vi: 'Nhan đề', en: 'Title' },
  sortDate: { vi: 'Năm (cũ trước)', en: 'Date (oldest first)' },
  sortDateDesc: { vi: 'Năm (mới trước)', en: 'Date (newest first)' },
  pageHitsHeading: { vi: 'Trang có từ cần tìm', en: 'Pages with your words' },
  selected: { vi: 'đang chọn, bấm để bỏ', en: 'selected, activate to remove' },
  clearFilters: { vi: 'Bỏ mọi bộ lọc', en: 'Clear all filters' },
  noResults: { vi: 'Không có tài liệu nào khớp. Hãy thử ít từ hơn hoặc bỏ bớt bộ lọc.', en: 'No documents match. Try fewer words or remove a filter.' },
  results: { vi: 'Kết quả', en: 'Results' },
  pagination: { vi: 'Phân trang', en: 'Pagination' },
  previous: { vi: '← Trang trước', en: '← Previous' },
  next: { vi: 'Trang sau →', en: 'Next →' },
  objectsInCollection: { vi: 'Tài liệu trong bộ sưu tập', en: 'Documents in this collection' },
  subCollections: { vi: 'Bộ sưu tập con', en: 'Sub-collections' },
  iiifCollection: { vi: 'Bộ sưu tập IIIF (JSON)', en: 'IIIF collection (JSON)' },
  iiifManifest: { vi: 'IIIF manifest', en: 'IIIF manifest' },
  record: { vi: 'Thông tin thư mục', en: 'Catalogue record' },
  links: { vi: 'Liên kết', en: 'Links' },
  noImages: { vi: 'Tài liệu chưa có ảnh số.', en: 'This document has not been digitised yet.' },
  pagesPending: { vi: 'Các trang của tệp PDF đang được chuẩn bị để xem; hãy quay lại sau ít phút.', en: 'The pages of the PDF are being prepared for viewing; come back in a few minutes.' },
  downloadPdf: { vi: 'Tải tệp PDF gốc', en: 'Download the original PDF' },
  noscript: {
    vi: 'Trình xem ảnh cần JavaScript. Bạn vẫn có thể mở tài liệu bằng IIIF manifest trong một trình xem IIIF khác:',
    en: 'The image viewer needs JavaScript. You can still open the document in another IIIF viewer with its IIIF manifest:',
  },
  viewerTitle: { vi: 'Trình xem IIIF', en: 'IIIF viewer' },
  viewerIntro: {
    vi: 'Trình xem này mở được mọi IIIF manifest Presentation 3 có dịch vụ ảnh Image API 2 hoặc 3, của bất kỳ thư viện nào cho phép (CORS). Liên kết dạng /viewer?manifest=URL hoặc /viewer?iiif-content=… cũng được.',
    en: 'This viewer opens any IIIF Presentation 3 manifest with Image API 2 or 3 services, from any library that allows it (CORS). Links of the form /viewer?manifest=URL or /viewer?iiif-content=… work too.',
  },
  viewerOpenLabel: { vi: 'Địa chỉ IIIF manifest', en: 'IIIF manifest address' },
  viewerOpen: { vi: 'Mở', en: 'Open' },
  viewerNotBuilt: {
    vi: 'Trình xem ảnh chưa được dựng (build), nên chưa xem được ảnh. Quản trị viên hãy chạy: npm run build',
    en: 'The image viewer has not been built, so images cannot be shown yet. Administrators: run npm run build',
  },
  accessOpen: { vi: 'Tài liệu mở: ai cũng xem được.', en: 'Open: anyone may read this document.' },
  accessRestricted: {
    vi: 'Hạn chế: chỉ dành cho bạn đọc đã đăng ký hoặc tại phòng đọc.',
    en: 'Restricted: for registered readers or in the reading room only.',
  },
  accessConfidential: { vi: 'Mật: chỉ cán bộ thư viện xem được.', en: 'Confidential: library staff only.' },
  backHome: { vi: 'Về trang chủ', en: 'Back to the home page' },
  footer: { vi: 'Tài liệu số hoá của', en: 'Digitised documents of' },
  allCollectionsIiif: { vi: 'Tất cả bộ sưu tập (IIIF)', en: 'All collections (IIIF)' },
  // Errors
  notFoundTitle: { vi: 'Không tìm thấy', en: 'Not found' },
  notFoundPage: { vi: 'Không có trang nào ở địa chỉ này.', en: 'There is no page at this address.' },
  badRequestTitle: { vi: 'Yêu cầu không hợp lệ', en: 'Bad request' },
  badEncoding: {
    vi: 'Địa chỉ chứa mã hoá phần trăm (%) không hợp lệ (không phải UTF-8).',
    en: 'The address contains an invalid percent-encoding (not UTF-8).',
  },
  badPage: { vi: 'Số trang phải là một số nguyên dương, ví dụ page=2.', en: 'The page number must be a positive whole number, e.g. page=2.' },
  noSuchPage: { vi: 'Không có trang kết quả này.', en: 'There is no such page of results.' },
  queryTooLong: { vi: 'Câu tìm kiếm quá dài (tối đa 500 ký tự).', en: 'The search query is too long (500 characters at most).' },
  badId: { vi: 'Mã trong địa chỉ không hợp lệ.', en: 'The id in the address is not valid.' },
  objectNotFound: { vi: 'Không tìm thấy tài liệu này.', en: 'This document does not exist.' },
  collectionNotFound: { vi: 'Không tìm thấy bộ sưu tập này.', en: 'This collection does not exist.' },
  restrictedTitle: { vi: 'Tài liệu hạn chế', en: 'Restricted document' },
  restrictedText: {
    vi: 'Ảnh và tệp của tài liệu này chỉ dành cho bạn đọc đã đăng ký: hãy đăng nhập, hoặc đến phòng đọc của thư viện để đọc mà không cần đăng nhập.',
    en: 'The images and files of this document are for registered readers: sign in, or come to the library’s reading room to read it without signing in.',
  },
  goneTitle: { vi: 'Tài liệu đã được rút', en: 'Document withdrawn' },
  goneText: { vi: 'Tài liệu này đã được rút khỏi kho.', en: 'This document has been withdrawn from the archive.' },
  withdrawnStaffOnly: { vi: 'Tài liệu này đã được rút khỏi kho; chỉ cán bộ thư viện còn thấy nó.', en: 'This document has been withdrawn; only library staff still see it.' },
  reason: { vi: 'Lý do', en: 'Reason' },
  errorTitle: { vi: 'Lỗi máy chủ', en: 'Server error' },
  errorText: {
    vi: 'Đã có lỗi phía máy chủ; lỗi đã được ghi lại. Vui lòng thử lại sau.',
    en: 'Something went wrong on the server; it has been logged. Please try again later.',
  },
} as const satisfies Record<string, Bilingual>;

/** The sign-in and sign-out pages and the header's account links. */
export const ACCOUNT_TEXT = {
  signIn: { vi: 'Đăng nhập', en: 'Sign in' },
  signOut: { vi: 'Đăng xuất', en: 'Sign out' },
  workspace: { vi: 'Khu làm việc', en: 'Workspace' },
  signedInAs: { vi: 'Đã đăng nhập:', en: 'Signed in as' },
  signInTitle: { vi: 'Đăng nhập', en: 'Sign in' },
  signInIntro: {
    vi: 'Dành cho bạn đọc đã đăng ký và cán bộ thư viện. Tài khoản do thư viện cấp; nếu chưa có, hãy liên hệ phòng đọc.',
    en: 'For registered readers and library staff. Accounts are issued by the library; if you have none, ask at the reading room.',
  },
  account: { vi: 'Tên tài khoản', en: 'Account name' },
  password: { vi: 'Mật khẩu', en: 'Password' },
  wrongCredentials: { vi: 'Tên tài khoản hoặc mật khẩu không đúng.', en: 'The account name or the password is wrong.' },
  formExpired: {
    vi: 'Biểu mẫu đã hết hạn hoặc không đến từ trang này; hãy đăng nhập lại.',
    en: 'The form has expired or did not come from this page; please sign in again.',
  },
  alreadySignedIn: { vi: 'Bạn đang đăng nhập với tên', en: 'You are signed in as' },
  signOutTitle: { vi: 'Đăng xuất', en: 'Sign out' },
  signOutQuestion: { vi: 'Đăng xuất khỏi Thư khố trên trình duyệt này?', en: 'Sign out of Thư khố in this browser?' },
  notSignedIn: { vi: 'Bạn chưa đăng nhập.', en: 'You are not signed in.' },
  unavailable: {
    vi: 'Tạm thời chưa đăng nhập được (máy chủ phiên làm việc không trả lời); hãy thử lại sau ít phút.',
    en: 'Signing in is unavailable for now (the session server does not answer); try again in a few minutes.',
  },
} as const satisfies Record<string, Bilingual>;

/** Too many failed sign-ins: the wait, in whole minutes (at least one). */
export function tooManyAttempts(seconds: number): Bilingual {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return {
    vi: `Đăng nhập sai quá nhiều lần. Hãy thử lại sau ${minutes} phút.`,
    en: `Too many failed sign-ins. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`,
  };
}

export function resultCount(n: number): Bilingual {
  return { vi: `${formatCount('vi', n)} kết quả`, en: `${formatCount('en', n)} ${n === 1 ? 'result' : 'results'}` };
}

export function pageLabel(label: string): Bilingual {
  return { vi: `Trang ${label}`, en: `Page ${label}` };
}

export function morePages(n: number): Bilingual {
  return { vi: `và ${formatCount('vi', n)} trang khác`, en: `and ${formatCount('en', n)} more ${n === 1 ? 'page' : 'pages'}` };
}

export function pageOf(page: number, pages: number): Bilingual {
  return { vi: `Trang ${page} / ${pages}`, en: `Page ${page} of ${pages}` };
}

export function objectCount(n: number): Bilingual {
  return { vi: `${formatCount('vi', n)} tài liệu`, en: `${formatCount('en', n)} ${n === 1 ? 'document' : 'documents'}` };
}

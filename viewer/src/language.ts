/**
 * Interface language, IIIF language maps, and every string the viewer shows (vi and en).
 * Pure: no DOM, so the unit tests and the root type check can load it under Node.
 */

export type Lang = 'vi' | 'en';

/** A IIIF language map: language tag (or `none`) → values. */
export type LanguageMap = Record<string, string[]>;

export function isLang(value: unknown): value is Lang {
  return value === 'vi' || value === 'en';
}

/**
 * The values to show for `lang`. Han-Nôm text is catalogued under `none`, so `none` comes
 * before the other interface language: a title must never vanish behind the language switch.
 */
export function pickValues(map: LanguageMap | undefined, lang: Lang): string[] {
  if (!map) return [];
  const order = lang === 'vi' ? ['vi', 'none', 'en'] : ['en', 'none', 'vi'];
  for (const key of order) {
    const values = map[key];
    if (values && values.length > 0) return values;
  }
  // Regional tags (vi-VN, en-GB) before any other language.
  const keys = Object.keys(map);
  const regional = keys.find((k) => k.toLowerCase().startsWith(`${lang}-`));
  for (const key of regional ? [regional, ...keys] : keys) {
    const values = map[key];
    if (values && values.length > 0) return values;
  }
  return [];
}

/** Values joined for one line of text. */
export function pickText(map: LanguageMap | undefined, lang: Lang): string {
  return pickValues(map, lang).join('; ');
}

/** Per the Presentation 3 spec, a value that starts with "<" and ends with ">" is HTML. */
export function looksLikeHtml(value: string): boolean {
  const t = value.trim();
  return t.startsWith('<') && t.endsWith('>');
}

const vi = {
  loading: 'Đang tải…',
  viewer: 'Trình xem tài liệu',
  toolbar: 'Công cụ xem',
  prev: 'Trang trước',
  next: 'Trang sau',
  zoomIn: 'Phóng to',
  zoomOut: 'Thu nhỏ',
  home: 'Xem toàn trang',
  rotateLeft: 'Xoay trái',
  rotateRight: 'Xoay phải',
  fullscreen: 'Toàn màn hình',
  exitFullscreen: 'Thoát toàn màn hình',
  spread: 'Xem hai trang',
  filters: 'Chỉnh ảnh',
  info: 'Thông tin tài liệu',
  share: 'Chia sẻ',
  search: 'Tìm trong tài liệu',
  download: 'Tải ảnh trang này',
  more: 'Thêm công cụ',
  page: 'Trang',
  pageCount: 'trên {count}',
  pageStatus: 'Trang {page}/{count}',
  thumbnails: 'Các trang',
  thumbnail: 'Trang {page}',
  close: 'Đóng',
  dismiss: 'Đóng thông báo',
  retry: 'Thử lại',
  brightness: 'Độ sáng',
  contrast: 'Độ tương phản',
  invert: 'Đảo màu',
  grayscale: 'Ảnh xám',
  resetFilters: 'Đặt lại',
  filtersHint: 'Giúp đọc chữ mờ; chỉ thay đổi cách hiển thị, không thay đổi ảnh gốc.',
  shareUrl: 'Liên kết tới trang và vùng đang xem',
  shareContentState: 'Liên kết IIIF Content State (mở được trong trình xem IIIF khác)',
  copy: 'Sao chép',
  copied: 'Đã sao chép',
  searchFor: 'Từ cần tìm',
  searchSubmit: 'Tìm',
  searching: 'Đang tìm…',
  searchCount: '{count} kết quả',
  searchCountMore: 'Hơn {count} kết quả',
  searchNone: 'Không có kết quả.',
  searchMore: 'Xem thêm kết quả',
  hitPage: 'Trang {page}',
  rights: 'Quyền sử dụng',
  provider: 'Đơn vị cung cấp',
  homepage: 'Trang giới thiệu',
  manifestLink: 'IIIF manifest',
  contents: 'Mục lục',
  contentsEntry: '{label}, từ trang {page}',
  untitled: 'Không có nhan đề',
  langSwitch: 'English',
  authHeading: 'Tài liệu hạn chế',
  authNote: 'Các trang này dành cho bạn đọc đã đăng nhập hoặc đọc tại phòng đọc của thư viện.',
  authConfirm: 'Đăng nhập',
  authRetry: 'Thử lại',
  authWaiting: 'Hãy đăng nhập trong cửa sổ vừa mở; trang sẽ hiện khi cửa sổ đó đóng lại.',
  authChecking: 'Đang kiểm tra quyền xem…',
  authFailedHeading: 'Chưa xem được tài liệu này',
  authFailedNote: 'Máy chủ chưa cho phép xem các trang này. Bạn có thể đăng nhập lại bằng tài khoản khác.',
  authBlocked: 'Trình duyệt đã chặn cửa sổ đăng nhập. Hãy cho phép trang này mở cửa sổ bật lên rồi thử lại.',
  authRefused: 'Không xem được các trang này.',
  logout: 'Đăng xuất',
  'manifest-http': 'Không tải được manifest (HTTP {status}). Hãy kiểm tra đường dẫn.',
  'manifest-network': 'Không kết nối được tới máy chủ để tải manifest. Hãy kiểm tra mạng rồi thử lại.',
  'manifest-not-json': 'Địa chỉ này không trả về manifest IIIF (nội dung không phải JSON).',
  'presentation-2': 'Đây là manifest IIIF Presentation 2; trình xem này chỉ đọc được Presentation 3.',
  'not-a-manifest': 'Tài liệu này không phải là manifest IIIF Presentation 3.',
  'no-manifest': 'Chưa có manifest nào để mở.',
  'no-canvases': 'Manifest không có trang ảnh nào để hiển thị.',
  'no-image-service': 'Các trang trong manifest không có dịch vụ ảnh IIIF (Image API 2 hoặc 3) nên không hiển thị được.',
  'page-no-service': 'Trang này không có dịch vụ ảnh IIIF nên không hiển thị được. Các trang khác vẫn xem bình thường.',
  'image-service-failed': 'Không tải được ảnh của trang này (dịch vụ ảnh không phản hồi). Hãy thử lại sau.',
  'tiles-failed': 'Một số phần của ảnh không tải được.',
  'page-out-of-range': 'Không có trang “{page}”; tài liệu có {count} trang. Đang hiển thị trang 1.',
  'content-state-invalid': 'Liên kết chia sẻ không hợp lệ hoặc không đọc được.',
  'search-failed': 'Không tìm được: dịch vụ tìm kiếm không phản hồi. Hãy thử lại sau.',
} as const;

export type StringKey = keyof typeof vi;

const en: Record<StringKey, string> = {
  loading: 'Loading…',
  viewer: 'Document viewer',
  toolbar: 'Viewer tools',
  prev: 'Previous page',
  next: 'Next page',
  zoomIn: 'Zoom in',
  zoomOut: 'Zoom out',
  home: 'Show whole page',
  rotateLeft: 'Rotate left',
  rotateRight: 'Rotate right',
  fullscreen: 'Full screen',
  exitFullscreen: 'Exit full screen',
  spread: 'Two-page view',
  filters: 'Adjust image',
  info: 'About this item',
  share: 'Share',
  search: 'Search in this item',
  download: 'Download this page image',
  more: 'More tools',
  page: 'Page',
  pageCount: 'of {count}',
  pageStatus: 'Page {page}/{count}',
  thumbnails: 'Pages',
  thumbnail: 'Page {page}',
  close: 'Close',
  dismiss: 'Dismiss',
  retry: 'Retry',
  brightness: 'Brightness',
  contrast: 'Contrast',
  invert: 'Invert colours',
  grayscale: 'Greyscale',
  resetFilters: 'Reset',
  filtersHint: 'Helps with faded ink; changes only the display, never the image itself.',
  shareUrl: 'Link to this page and view',
  shareContentState: 'IIIF Content State link (opens in other IIIF viewers)',
  copy: 'Copy',
  copied: 'Copied',
  searchFor: 'Search for',
  searchSubmit: 'Search',
  searching: 'Searching…',
  searchCount: '{count} results',
  searchCountMore: 'More than {count} results',
  searchNone: 'No results.',
  searchMore: 'More results',
  hitPage: 'Page {page}',
  rights: 'Rights',
  provider: 'Provided by',
  homepage: 'Home page',
  manifestLink: 'IIIF manifest',
  contents: 'Contents',
  contentsEntry: '{label}, from page {page}',
  untitled: 'Untitled',
  langSwitch: 'Tiếng Việt',
  authHeading: 'Restricted item',
  authNote: 'These pages are for signed-in readers and for readers in the library’s reading room.',
  authConfirm: 'Sign in',
  authRetry: 'Try again',
  authWaiting: 'Please sign in in the window that has opened; the pages appear when it closes.',
  authChecking: 'Checking access…',
  authFailedHeading: 'This item cannot be shown yet',
  authFailedNote: 'The server has not allowed these pages yet. You can sign in again with another account.',
  authBlocked: 'The browser blocked the sign-in window. Allow pop-ups for this site and try again.',
  authRefused: 'These pages cannot be shown.',
  logout: 'Sign out',
  'manifest-http': 'The manifest could not be loaded (HTTP {status}). Please check the link.',
  'manifest-network': 'Could not reach the server to load the manifest. Check your connection and try again.',
  'manifest-not-json': 'This address did not return a IIIF manifest (the content is not JSON).',
  'presentation-2': 'This is a IIIF Presentation 2 manifest; this viewer reads Presentation 3 only.',
  'not-a-manifest': 'This document is not a IIIF Presentation 3 manifest.',
  'no-manifest': 'No manifest was given to open.',
  'no-canvases': 'The manifest has no pages to show.',
  'no-image-service': 'The pages in this manifest have no IIIF image service (Image API 2 or 3), so they cannot be shown.',
  'page-no-service': 'This page has no IIIF image service and cannot be shown. The other pages work as usual.',
  'image-service-failed': 'The image of this page could not be loaded (the image service did not respond). Please try again later.',
  'tiles-failed': 'Some parts of the image could not be loaded.',
  'page-out-of-range': 'There is no page “{page}”; this item has {count} pages. Showing page 1.',
  'content-state-invalid': 'The shared link is invalid or could not be read.',
  'search-failed': 'Search failed: the search service did not respond. Please try again later.',
};

export const STRINGS: Record<Lang, Record<StringKey, string>> = { vi, en };

/** A UI string with `{name}` placeholders filled in. */
export function t(lang: Lang, key: StringKey, params: Record<string, string | number> = {}): string {
  return STRINGS[lang][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

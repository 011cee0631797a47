import { type SafeHtml, html } from '../site/html.ts';
import { type Bilingual, type Lang, tr } from '../site/i18n.ts';

/**
 * The object screen's upload and pages panels as the server renders them: the controls
 * exist in the HTML (labelled, usable by keyboard), and the page's script
 * (viewer/src/staff/upload.ts, pages.ts) fills in the lists and does the work.
 */
export const UPLOAD_TEXT = {
  heading: { vi: 'Tải tệp lên', en: 'Upload files' },
  drop: { vi: 'Kéo thả tệp hoặc cả thư mục vào đây', en: 'Drop files or a whole folder here' },
  dropHelp: {
    vi: 'Ảnh quét TIFF, JPEG, PNG, JPEG 2000 hoặc PDF. Máy tính của bạn tính mã băm SHA-256 trước khi gửi; máy chủ kiểm tra lại. Nếu mạng bị ngắt, tệp chưa xong được gửi lại; tệp đã lưu không gửi lại.',
    en: 'Scanned TIFF, JPEG, PNG, JPEG 2000 or PDF. Your computer computes each SHA-256 before sending; the server checks it. If the network drops, unfinished files are sent again; stored files are not.',
  },
  chooseFiles: { vi: 'Chọn tệp…', en: 'Choose files…' },
  chooseFolder: { vi: 'Chọn thư mục…', en: 'Choose a folder…' },
  total: { vi: 'Tổng tiến độ', en: 'Total progress' },
  retry: { vi: 'Gửi lại các tệp lỗi', en: 'Retry failed files' },
  pagesHeading: { vi: 'Trang và thứ tự', en: 'Pages and order' },
  pagesHelp: {
    vi: 'Kéo thả ảnh thu nhỏ để đổi thứ tự, hoặc dùng nút Lên/Xuống; rồi bấm "Lưu thứ tự". Nhãn trang hiện trong phòng đọc.',
    en: 'Drag the thumbnails to reorder, or use the Up/Down buttons; then press "Save order". Page labels show in the reading room.',
  },
  saveOrder: { vi: 'Lưu thứ tự', en: 'Save order' },
  labelsHeading: { vi: 'Nhãn trang', en: 'Page labels' },
  pattern: { vi: 'Mẫu nhãn', en: 'Label pattern' },
  patternHelp: {
    vi: '{n} là số trang, {f} là số tờ có mặt a/b (1a, 1b, 2a…). Ví dụ "tờ {f}" hoặc "trang {n}".',
    en: '{n} is the page number, {f} the folio with its side (1a, 1b, 2a…). E.g. "tờ {f}" or "page {n}".',
  },
  start: { vi: 'Bắt đầu từ', en: 'Start at' },
  generate: { vi: 'Tạo nhãn cho mọi trang', en: 'Label every page' },
  saveLabels: { vi: 'Lưu nhãn đã sửa', en: 'Save edited labels' },
  tocHeading: { vi: 'Mục lục', en: 'Table of contents' },
  tocHelp: {
    vi: 'Mỗi mục bắt đầu ở trang đã chọn và kéo dài đến mục sau. Phòng đọc hiển thị mục lục này.',
    en: 'Each entry starts at the chosen page and runs to the next entry. The reading room shows this table of contents.',
  },
  addEntry: { vi: 'Thêm mục', en: 'Add entry' },
  saveToc: { vi: 'Lưu mục lục', en: 'Save table of contents' },
} as const satisfies Record<string, Bilingual>;

export function uploadPanel(lang: Lang): SafeHtml {
  const T = UPLOAD_TEXT;
  return html`<h2 id="upload-heading">${tr(lang, T.heading)}</h2>
<div class="upload-drop" id="upload-drop" tabindex="0" aria-describedby="upload-help">
<p><strong>${tr(lang, T.drop)}</strong></p>
<p class="help" id="upload-help">${tr(lang, T.dropHelp)}</p>
<p class="actions">
<label class="button">${tr(lang, T.chooseFiles)} <input type="file" id="upload-files" multiple class="visually-hidden-input"></label>
<label class="button">${tr(lang, T.chooseFolder)} <input type="file" id="upload-folder" multiple webkitdirectory class="visually-hidden-input"></label>
</p>
</div>
<div class="upload-total"><label for="upload-total">${tr(lang, T.total)}</label> <progress id="upload-total" max="1" value="0"></progress> <span id="upload-total-text"></span></div>
<table class="upload-list" id="upload-list" hidden><tbody></tbody></table>
<p class="actions"><button type="button" id="upload-retry" hidden>${tr(lang, T.retry)}</button></p>`;
}

export function pagesPanel(lang: Lang, editable: boolean): SafeHtml {
  const T = UPLOAD_TEXT;
  return html`<h2 id="pages-heading">${tr(lang, T.pagesHeading)}</h2>
${editable ? html`<p class="help">${tr(lang, T.pagesHelp)}</p>` : ''}
<ol class="page-grid" id="page-grid" aria-labelledby="pages-heading"></ol>
${editable
  ? html`<p class="actions"><button type="button" id="save-order" disabled>${tr(lang, T.saveOrder)}</button> <button type="button" id="save-labels" disabled>${tr(lang, T.saveLabels)}</button></p>
<h3>${tr(lang, T.labelsHeading)}</h3>
<form class="filters" id="label-pattern-form" novalidate>
<div class="field"><label for="label-pattern">${tr(lang, T.pattern)}</label><input type="text" id="label-pattern" name="pattern" value="tờ {f}" maxlength="200" aria-describedby="label-pattern-help"></div>
<div class="field"><label for="label-start">${tr(lang, T.start)}</label><input type="number" id="label-start" name="start" value="1" min="1" max="100000" step="1"></div>
<div class="actions"><button type="submit" id="generate-labels">${tr(lang, T.generate)}</button></div>
<p class="help" id="label-pattern-help">${tr(lang, T.patternHelp)}</p>
</form>
<h3>${tr(lang, T.tocHeading)}</h3>
<p class="help">${tr(lang, T.tocHelp)}</p>
<table class="toc-editor" id="toc-editor"><tbody></tbody></table>
<p class="actions"><button type="button" id="toc-add">${tr(lang, T.addEntry)}</button> <button type="button" id="toc-save">${tr(lang, T.saveToc)}</button></p>`
  : html`<h3>${tr(lang, T.tocHeading)}</h3><table class="toc-editor" id="toc-editor"><tbody></tbody></table>`}`;
}

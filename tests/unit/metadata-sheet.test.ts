import test from 'ava';
import { sheetChanges } from '../../src/cli/bulk-ingest.ts';
import { SHEET_COLUMNS, SheetError, type SheetField, enumValue, fieldOfHeader, parseSheetEntry, readMetadataCsv } from '../../src/cli/metadata-sheet.ts';
import { METADATA_FIELDS } from '../../src/domain/metadata.ts';

test('every field of the form has a column, headed in Vietnamese or English, with or without diacritics', (t) => {
  const fields = new Set(SHEET_COLUMNS.map((c) => c.field));
  for (const f of METADATA_FIELDS) t.true(fields.has(f), f);
  for (const f of ['accessLevel', 'pageLabelPattern', 'folder', 'id'] as const) t.true(fields.has(f), f);
  const cases: Array<[string, SheetField]> = [
    ['Hướng đọc', 'viewingDirection'],
    ['huong doc', 'viewingDirection'],
    ['viewingDirection', 'viewingDirection'],
    ['Viewing direction', 'viewingDirection'],
    ['Cách trình bày', 'behavior'],
    ['cach trinh bay', 'behavior'],
    ['behavior', 'behavior'],
    ['Mức truy cập', 'accessLevel'],
    ['access_level', 'accessLevel'],
    ['Mẫu nhãn trang', 'pageLabelPattern'],
    ['pageLabelPattern', 'pageLabelPattern'],
    ['Bộ sưu tập', 'collectionId'],
    ['collectionId', 'collectionId'],
    ['NHAN ĐỀ', 'title'],
    ['Khổ', 'extent'],
    ['Định dạng', 'format'],
    // Typed on a keyboard that composes differently (NFD).
    ['Hướng đọc'.normalize('NFD'), 'viewingDirection'],
  ];
  for (const [header, field] of cases) t.is(fieldOfHeader(header), field, header);
  t.is(fieldOfHeader('Màu bìa'), undefined);
});

test('reading direction, presentation and access level in English or Vietnamese words', (t) => {
  const cases: Array<[Parameters<typeof enumValue>[0], string, string]> = [
    ['viewingDirection', 'phải sang trái', 'right-to-left'],
    ['viewingDirection', 'Từ phải sang trái', 'right-to-left'],
    ['viewingDirection', 'right-to-left', 'right-to-left'],
    ['viewingDirection', 'trái sang phải', 'left-to-right'],
    ['viewingDirection', 'trên xuống dưới', 'top-to-bottom'],
    ['viewingDirection', 'dưới lên trên', 'bottom-to-top'],
    ['viewingDirection', 'Left to right', 'left-to-right'],
    ['behavior', 'sách', 'paged'],
    ['behavior', 'đóng tập', 'paged'],
    ['behavior', 'tờ rời', 'individuals'],
    ['behavior', 'continuous', 'continuous'],
    ['behavior', 'unordered', 'unordered'],
    ['accessLevel', 'mở', 'open'],
    ['accessLevel', 'Công khai', 'open'],
    ['accessLevel', 'hạn chế', 'restricted'],
    ['accessLevel', 'mật', 'confidential'],
    ['accessLevel', 'confidential', 'confidential'],
  ];
  for (const [field, cell, value] of cases) t.is(enumValue(field, cell), value, `${field}: ${cell}`);
  t.is(enumValue('viewingDirection', 'ngang'), undefined);
});

test('a sheet with the new columns: values parsed into the API words', (t) => {
  const rows = readMetadataCsv(
    'Thư mục,Nhan đề,Ngôn ngữ,Hướng đọc,Cách trình bày,Mức truy cập,Mẫu nhãn trang,Bộ sưu tập\n' +
      'Chinh phụ ngâm,Chinh phụ ngâm khúc,vie;lzh,phải sang trái,sách,hạn chế,tờ {f},han-nom\n' +
      'Tờ rời,Văn tế,vie,,tờ rời,,,\n',
  );
  const a = parseSheetEntry(rows.get('Chinh phụ ngâm') ?? {});
  t.true(a.ok);
  if (a.ok) {
    t.deepEqual(a.entry, {
      title: 'Chinh phụ ngâm khúc',
      language: ['vie', 'lzh'],
      viewingDirection: 'right-to-left',
      behavior: 'paged',
      accessLevel: 'restricted',
      pageLabelPattern: 'tờ {f}',
      collectionId: 'han-nom',
    });
  }
  const b = parseSheetEntry(rows.get('Tờ rời') ?? {});
  t.deepEqual(b, { ok: true, entry: { title: 'Văn tế', language: ['vie'], behavior: 'individuals' } });
});

test('a bad value is refused naming the column and the accepted values, in both languages', (t) => {
  const r = parseSheetEntry({ title: 'x', viewingDirection: 'ngang', accessLevel: 'bí mật quốc gia' });
  t.false(r.ok);
  if (!r.ok) {
    t.regex(r.reason, /Hướng đọc\/viewingDirection: "ngang" không hợp lệ.*phải sang trái.*is not valid; use right-to-left/);
    t.regex(r.reason, /Mức truy cập\/accessLevel: "bí mật quốc gia"/);
  }
  const pattern = parseSheetEntry({ title: 'x', pageLabelPattern: 'tờ' });
  t.false(pattern.ok);
  if (!pattern.ok) t.regex(pattern.reason, /Mẫu nhãn trang\/pageLabelPattern: mẫu phải có \{n\} hoặc \{f\}.*needs \{n\} or \{f\}/);
  const unknown = parseSheetEntry({ title: 'x', pageLabelPattern: 'trang {p}' });
  t.false(unknown.ok);
  if (!unknown.ok) t.regex(unknown.reason, /only \{n\} and \{f\}.*\{p\}/);
  t.true(parseSheetEntry({ title: 'x', pageLabelPattern: 'trang {n}' }).ok);
  const key = parseSheetEntry({ title: 'x', colour: 'red' });
  t.false(key.ok);
  if (!key.ok) t.regex(key.reason, /colour/);
});

test('an unknown column is refused with the accepted headers in both languages', (t) => {
  const err = t.throws(() => readMetadataCsv('Thư mục,Nhan đề,Màu bìa\nA,B,đỏ\n'), { instanceOf: SheetError });
  t.regex(err?.message ?? '', /không nhận cột "Màu bìa"/);
  t.regex(err?.message ?? '', /unknown column\(s\) "Màu bìa"/);
  for (const h of ['"Hướng đọc"/"viewingDirection"', '"Cách trình bày"/"behavior"', '"Mức truy cập"/"accessLevel"', '"Mẫu nhãn trang"/"pageLabelPattern"', '"Bộ sưu tập"/"collectionId"']) {
    t.true(err?.message.includes(h), h);
  }
  t.throws(() => readMetadataCsv('Thư mục,Nhan đề,title\nA,B,C\n'), { instanceOf: SheetError, message: /both name Nhan đề\/title/ });
});

test('a re-run changes only the fields the row gives that differ', (t) => {
  const current = { title: 'Chinh phụ ngâm', language: ['vie'], date: '1800', yearFrom: 1800, yearTo: 1800, collectionId: 'han-nom', description: 'bản khắc' };
  const entry = (e: Record<string, unknown>) => {
    const r = parseSheetEntry(e);
    if (!r.ok) throw new Error(r.reason);
    return r.entry;
  };
  t.deepEqual(sheetChanges(current, entry({ title: 'Chinh phụ ngâm', language: ['vie'], date: '1800' })), {});
  t.deepEqual(sheetChanges(current, entry({ title: 'Chinh phụ ngâm khúc', viewingDirection: 'phải sang trái', accessLevel: 'mở', pageLabelPattern: 'tờ {f}' })), {
    title: 'Chinh phụ ngâm khúc',
    viewingDirection: 'right-to-left',
  });
  // An empty cell (absent) leaves the description; a named collection moves the work.
  t.deepEqual(sheetChanges(current, entry({ title: 'Chinh phụ ngâm', collectionId: 'kho-b' })), { collectionId: 'kho-b' });
});

import test from 'ava';
import { FileNameError, MAX_FILE_NAME_BYTES, naturalCompare, safeFileName } from '../../src/storage/file-name.ts';

test('keeps an ordinary Vietnamese name, in NFC', (t) => {
  t.is(safeFileName('Địa bạ làng Phú Xuân - trang 1.tif'), 'Địa bạ làng Phú Xuân - trang 1.tif');
  const nfd = 'Nguyễn Trãi.tif'.normalize('NFD');
  t.not(nfd, 'Nguyễn Trãi.tif');
  t.is(safeFileName(nfd), 'Nguyễn Trãi.tif'.normalize('NFC'));
  t.is(safeFileName(nfd).length, 'Nguyễn Trãi.tif'.normalize('NFC').length);
});

test('strips any directory part, Unix or Windows, relative or absolute', (t) => {
  const cases: Array<[string, string]> = [
    ['../../etc/passwd', 'passwd'],
    ['../../etc/trang.tif', 'trang.tif'],
    ['/var/lib/thukho/x.tif', 'x.tif'],
    ['C:\\Users\\thuvien\\Scans\\Sổ bộ 1.tif', 'Sổ bộ 1.tif'],
    ['..\\..\\windows\\win.ini', 'win.ini'],
    ['C:tệp.tif', 'tệp.tif'],
    ['a/b\\c/d.jpg', 'd.jpg'],
    ['  trang 2.png  ', 'trang 2.png'],
  ];
  for (const [raw, expected] of cases) t.is(safeFileName(raw), expected, raw);
});

test('refuses empty names, dot names and names that are only a directory', (t) => {
  for (const raw of ['', '   ', '/', '../', 'thư mục/', '\\']) {
    const err = t.throws(() => safeFileName(raw), { instanceOf: FileNameError }, JSON.stringify(raw));
    t.is(err?.code, 'empty-name');
  }
  for (const raw of ['.', '..', 'a/..', 'x\\.']) {
    const err = t.throws(() => safeFileName(raw), { instanceOf: FileNameError }, raw);
    t.is(err?.code, 'dot-name');
  }
});

test('refuses control characters and bidi overrides, naming the character', (t) => {
  for (const raw of ['a\u0001b.tif', 'a\u0000.tif', 'dòng\nmới.tif', 'tab\t.tif', 'del\u007f.tif', 'c1\u0085.tif', 'tài_liệu\u202Efit.exe']) {
    const err = t.throws(() => safeFileName(raw), { instanceOf: FileNameError }, JSON.stringify(raw));
    t.is(err?.code, 'control-character');
    t.regex(err?.messages.vi ?? '', /ký tự điều khiển/);
    t.regex(err?.messages.en ?? '', /U\+[0-9A-F]{4}/);
  }
});

test('limits names to 255 UTF-8 bytes, not characters, and never truncates', (t) => {
  const ascii = `${'a'.repeat(251)}.tif`; // 255 bytes
  t.is(safeFileName(ascii), ascii);
  t.throws(() => safeFileName(`a${ascii}`), { instanceOf: FileNameError });

  // 300 characters of Vietnamese: far more than 255 bytes.
  const vi = `${'Nguyễn '.repeat(43)}.tif`;
  t.true(vi.length < 310);
  const err = t.throws(() => safeFileName(vi), { instanceOf: FileNameError });
  t.is(err?.code, 'name-too-long');
  t.true((err?.detail.bytes as number) > MAX_FILE_NAME_BYTES);
  t.regex(err?.messages.vi ?? '', /quá dài/);
  t.regex(err?.messages.vi ?? '', /byte/);

  // 100 "ễ" (3 bytes each in NFC) = 300 bytes: too long although only 104 characters.
  t.throws(() => safeFileName(`${'ễ'.repeat(100)}.tif`), { instanceOf: FileNameError });
  // 84 × 3 + 3 = 255 bytes: fits exactly.
  const fits = `${'ễ'.repeat(84)}.tt`;
  t.is(Buffer.byteLength(fits), 255);
  t.throws(() => safeFileName(`${fits}t`), { instanceOf: FileNameError });
  t.is(safeFileName(fits), fits);
  // The byte count is of the NFC form: NFD input that fits once composed is accepted.
  t.is(safeFileName(fits.normalize('NFD')), fits);
});

test('the directory part does not count towards the length', (t) => {
  const long = `${'thư mục/'.repeat(60)}trang 1.tif`;
  t.is(safeFileName(long), 'trang 1.tif');
});

test('naturalCompare sorts page numbers as numbers', (t) => {
  const names = ['page_10.tif', 'page_2.tif', 'page_1.tif', 'page_21.tif', 'page_3.tif'];
  t.deepEqual([...names].sort(naturalCompare), ['page_1.tif', 'page_2.tif', 'page_3.tif', 'page_10.tif', 'page_21.tif']);
  t.true(naturalCompare('Trang 9', 'Trang 10') < 0);
  t.true(naturalCompare('tap2/trang10', 'tap10/trang2') < 0);
  t.true(naturalCompare('a', 'a') === 0);
});

test('naturalCompare uses the Vietnamese alphabet', (t) => {
  const names = ['đình.tif', 'dân.tif', 'ấp.tif', 'an.tif', 'ăn.tif', 'bến.tif', 'ơn.tif', 'ô.tif', 'o.tif'];
  t.deepEqual([...names].sort(naturalCompare), ['an.tif', 'ăn.tif', 'ấp.tif', 'bến.tif', 'dân.tif', 'đình.tif', 'o.tif', 'ô.tif', 'ơn.tif']);
});

test('naturalCompare is a total order: collator ties fall back to code points', (t) => {
  t.not(naturalCompare('trang_02.tif', 'trang_2.tif'), 0);
  t.is(Math.sign(naturalCompare('trang_02.tif', 'trang_2.tif')), -Math.sign(naturalCompare('trang_2.tif', 'trang_02.tif')));
  const nfc = 'Huế.tif';
  const nfd = nfc.normalize('NFD');
  t.not(naturalCompare(nfc, nfd), 0);
  // Same input, any order in: same order out.
  const a = ['b10', 'b02', 'b2', 'a1', 'B2'];
  t.deepEqual([...a].sort(naturalCompare), [...a].reverse().sort(naturalCompare));
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import sharp from 'sharp';
import { eventSchemas, PAGE_TEXT_MAX_CHARS } from '../../src/domain/events.ts';
import { openPdf, pageRaster, PdfError, type PageWord, type PdfDocument } from '../../src/storage/pdf-pages.ts';
import { pdf, type PdfPageSpec } from '../helpers/pdf.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const tempDir = tempDirs(test, 'thukho-pdf-');

const FIRST: PdfPageSpec = {
  width: 300,
  height: 200,
  lines: [
    { x: 20, y: 150, size: 24, text: 'Hello world' },
    { x: 20, y: 60, size: 18, text: 'Second line here' },
  ],
};
const SECOND: PdfPageSpec = { width: 612, height: 792, lines: [{ x: 72, y: 700, size: 12, text: 'Page two' }] };
const LIMIT = { dpi: 144, maxPixels: 100_000_000 };

function file(bytes: Buffer, name = 'master.pdf'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, bytes);
  return path;
}

async function withPdf<T>(t: ExecutionContext, bytes: Buffer, use: (doc: PdfDocument) => Promise<T>): Promise<T> {
  const doc = await openPdf(file(bytes));
  t.teardown(() => doc.close());
  return use(doc);
}

/** Grey levels of a PNG, one byte a pixel. */
async function grey(png: Buffer): Promise<{ width: number; height: number; at: (x: number, y: number) => number }> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, at: (x, y) => data[y * info.width + x]! };
}

const DARK = 128;

function darkIn(image: Awaited<ReturnType<typeof grey>>, box: { x: number; y: number; w: number; h: number }): number {
  let n = 0;
  for (let y = box.y; y < box.y + box.h; y++) for (let x = box.x; x < box.x + box.w; x++) if (image.at(x, y) < DARK) n++;
  return n;
}

/** Dark pixels outside every word's box (with a pixel of slack for anti-aliasing). */
function strayInk(image: Awaited<ReturnType<typeof grey>>, words: PageWord[]): number {
  const inSome = (x: number, y: number) => words.some((w) => x >= w.x - 1 && x <= w.x + w.w && y >= w.y - 1 && y <= w.y + w.h);
  let stray = 0;
  for (let y = 0; y < image.height; y++) for (let x = 0; x < image.width; x++) if (image.at(x, y) < DARK && !inSome(x, y)) stray++;
  return stray;
}

// Every test in this file runs with fetch replaced: pdfjs must take fonts and CMaps from disk.
const fetchCalls: string[] = [];
const realFetch = globalThis.fetch;
test.before(() => {
  globalThis.fetch = async (input: string | URL | Request) => {
    fetchCalls.push(String(input instanceof Request ? input.url : input));
    throw new Error('network access attempted in a PDF test');
  };
});
test.after.always(() => {
  globalThis.fetch = realFetch;
});

test.serial('opening, rendering and reading text fetch nothing from the network and log nothing', async (t) => {
  const logged: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = (...args: unknown[]) => void logged.push(`${m}: ${args.map(String).join(' ')}`);
  try {
    const whole = pdf([FIRST, SECOND]);
    for (const bytes of [whole, whole.subarray(0, whole.length - 30), pdf([FIRST], { encrypt: { userPassword: 'x', ownerPassword: 'y' } })]) {
      try {
        const doc = await openPdf(file(bytes));
        for (let n = 1; n <= doc.pageCount; n++) {
          await doc.renderPage(n, LIMIT);
          await doc.pageText(n, LIMIT);
        }
        await doc.close();
      } catch (error) {
        t.true(error instanceof PdfError, String(error));
      }
    }
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]!));
  }
  t.deepEqual(fetchCalls, []);
  t.deepEqual(logged, []);
});

test('page count and each page size in points', async (t) => {
  await withPdf(t, pdf([FIRST, SECOND]), async (doc) => {
    t.is(doc.pageCount, 2);
    t.false(doc.encrypted);
    t.deepEqual(await doc.pageSize(1), { width: 300, height: 200 });
    t.deepEqual(await doc.pageSize(2), { width: 612, height: 792 });
  });
});

test('a page renders at the DPI asked, dark where the text is and white elsewhere', async (t) => {
  await withPdf(t, pdf([FIRST, SECOND]), async (doc) => {
    const page = await doc.renderPage(1, LIMIT);
    t.is(page.dpi, 144);
    const image = await grey(page.png);
    t.deepEqual([image.width, image.height, page.width, page.height], [600, 400, 600, 400]);
    // "Hello world" at 24 pt on the baseline y = 150 pt: pixels (40.., 100 - 44 .. 100) from the top.
    t.true(darkIn(image, { x: 40, y: 56, w: 200, h: 44 }) > 500);
    t.is(darkIn(image, { x: 0, y: 0, w: 600, h: 40 }), 0);
    t.is(darkIn(image, { x: 400, y: 0, w: 200, h: 400 }), 0);
    const second = await doc.renderPage(2, { dpi: 72, maxPixels: LIMIT.maxPixels });
    t.deepEqual([second.width, second.height], [612, 792]);
  });
});

test('a page of black text is one grey channel; a page with colour is RGB; a long side is capped by maxEdge', async (t) => {
  await withPdf(t, pdf([FIRST]), async (doc) => {
    const page = await doc.renderPage(1, LIMIT);
    t.is(page.channels, 1);
    t.like(await sharp(page.png).metadata(), { channels: 1, width: 600, height: 400 });
    const capped = await doc.renderPage(1, { ...LIMIT, maxEdge: 300 });
    t.deepEqual([capped.width, capped.height], [300, 200]);
    t.is(capped.dpi, 72);
  });
  // Red text (0.8 0.1 0.1 rg): pdf.js repairs the cross-reference table the longer content moved.
  const red = Buffer.from(pdf([FIRST]).toString('latin1').replace('BT /F1 24 Tf', '0.8 0.1 0.1 rg BT /F1 24 Tf'), 'latin1');
  await withPdf(t, red, async (doc) => {
    const page = await doc.renderPage(1, LIMIT);
    t.is(page.channels, 3);
    const { channels } = await sharp(page.png).stats();
    t.is(channels.length, 3);
    t.true(channels[0]!.min > 150, 'red ink is light in the red channel');
    t.true(channels[1]!.min < 100, 'and dark in the green one');
  });
});

test('the text layer comes in reading order, with word boxes on the dark pixels of the rendered page', async (t) => {
  await withPdf(t, pdf([FIRST]), async (doc) => {
    const text = await doc.pageText(1, LIMIT);
    t.is(text.text, 'Hello world\nSecond line here');
    t.false(text.truncated);
    t.deepEqual(
      text.words.map((w) => text.text.slice(w.start, w.end)),
      ['Hello', 'world', 'Second', 'line', 'here'],
    );
    // What is read is what a PageTextRecorded event holds.
    t.notThrows(() => eventSchemas.PageTextRecorded.parse({ objectId: 'hn-0001', fileId: 'f-0001', text: text.text, source: 'born-digital', engine: 'pdfjs-dist 5', words: text.words }));
    const image = await grey((await doc.renderPage(1, LIMIT)).png);
    for (const word of text.words) {
      t.true(word.x + word.w <= image.width && word.y + word.h <= image.height);
      // A word's box holds ink, a good share of it for a word of a few letters.
      t.true(darkIn(image, word) > 40 * (word.end - word.start), `${text.text.slice(word.start, word.end)}: ${JSON.stringify(word)}`);
    }
    // And every dark pixel lies in some word's box.
    t.is(strayInk(image, text.words), 0);
    // Words on one line share it: "Hello" ends left of "world", both on the same band.
    const [hello, world] = text.words;
    t.true(hello!.x + hello!.w <= world!.x + 2);
    t.true(Math.abs(hello!.y - world!.y) <= 1);
  });
});

test('a page with more text than one record holds is cut at a whole run, and says so', async (t) => {
  const line = 'abcdefghi '.repeat(10).trim();
  const lines = Array.from({ length: 2100 }, (_, i) => ({ x: 10, y: 10 + (i % 180), size: 1, text: line }));
  await withPdf(t, pdf([{ width: 300, height: 200, lines }]), async (doc) => {
    const text = await doc.pageText(1, { dpi: 72, maxPixels: 1_000_000 });
    t.true(text.truncated);
    t.true(text.text.length <= PAGE_TEXT_MAX_CHARS && text.text.length > PAGE_TEXT_MAX_CHARS - 2 * line.length);
    t.true(text.text.endsWith(line));
    t.true(text.words.every((w) => w.end <= text.text.length));
    t.is(text.words.length, (text.text.split('\n').length) * 10);
  });
});

test('Vietnamese letters come out as Unicode text (NFC), each word sliced whole', async (t) => {
  // The 14 standard fonts draw no ư, ệ or ẵ (a real Vietnamese PDF embeds its font); the text
  // layer still maps each code to its letter through the font's /Differences glyph names.
  await withPdf(t, pdf([{ width: 400, height: 200, lines: [{ x: 20, y: 120, size: 24, text: 'Thư viện Đà Nẵng' }] }]), async (doc) => {
    const text = await doc.pageText(1, LIMIT);
    t.is(text.text, 'Thư viện Đà Nẵng');
    t.is(text.text, text.text.normalize('NFC'));
    t.deepEqual(
      text.words.map((w) => text.text.slice(w.start, w.end)),
      ['Thư', 'viện', 'Đà', 'Nẵng'],
    );
    for (let i = 1; i < text.words.length; i++) t.true(text.words[i - 1]!.x < text.words[i]!.x);
  });
});

test('a page turned by /Rotate is rendered turned, and its word boxes turn with it', async (t) => {
  await withPdf(t, pdf([{ ...FIRST, rotate: 90 }]), async (doc) => {
    t.deepEqual(await doc.pageSize(1), { width: 200, height: 300 });
    const page = await doc.renderPage(1, LIMIT);
    t.deepEqual([page.width, page.height], [400, 600]);
    const text = await doc.pageText(1, LIMIT);
    t.is(text.text, 'Hello world\nSecond line here');
    const image = await grey(page.png);
    for (const word of text.words) t.true(word.h > word.w && darkIn(image, word) > 40 * (word.end - word.start));
    t.is(strayInk(image, text.words), 0);
  });
});

test('a long thin page (a 200-inch strip) renders whole', async (t) => {
  await withPdf(t, pdf([{ width: 14_400, height: 10, lines: [{ x: 14_000, y: 2, size: 6, text: 'strip end' }] }]), async (doc) => {
    const page = await doc.renderPage(1, { dpi: 300, maxPixels: 100_000_000 });
    t.deepEqual([page.width, page.height, page.dpi], [60_000, 42, 300]);
    const image = await grey(page.png);
    const text = await doc.pageText(1, { dpi: 300, maxPixels: 100_000_000 });
    t.is(text.text, 'strip end');
    t.true(text.words[0]!.x >= 58_000);
    t.is(strayInk(image, text.words), 0);
  });
});

test('a 2,000-page PDF opens, and its last page is read before its first', async (t) => {
  const pages = Array.from({ length: 2000 }, (_, i) => ({ width: 300, height: 200, lines: [{ x: 20, y: 100, size: 12, text: `Page ${i + 1}` }] }));
  await withPdf(t, pdf(pages), async (doc) => {
    t.is(doc.pageCount, 2000);
    t.is((await doc.pageText(2000, { dpi: 72, maxPixels: 1_000_000 })).text, 'Page 2000');
    t.is((await doc.pageText(1, { dpi: 72, maxPixels: 1_000_000 })).text, 'Page 1');
  });
});

test('a page over the pixel limit is rendered smaller, and its word boxes follow', async (t) => {
  await withPdf(t, pdf([FIRST]), async (doc) => {
    const limit = { dpi: 600, maxPixels: 60_000 };
    const page = await doc.renderPage(1, limit);
    t.true(page.width * page.height <= limit.maxPixels);
    t.true(page.dpi < 600 && page.dpi > 60);
    const image = await grey(page.png);
    t.deepEqual([image.width, image.height], [page.width, page.height]);
    const text = await doc.pageText(1, limit);
    t.deepEqual([text.width, text.height, text.dpi], [page.width, page.height, page.dpi]);
    for (const word of text.words) t.true(darkIn(image, word) > 0);
  });
});

test('the raster of a page: its pixels at the DPI asked, or the DPI that fits the limit', (t) => {
  t.deepEqual(pageRaster({ width: 595, height: 842 }, { dpi: 72, maxPixels: 1_000_000 }), { width: 595, height: 842, dpi: 72 });
  const fitted = pageRaster({ width: 14_400, height: 1 }, { dpi: 300, maxPixels: 100 });
  t.true(fitted.width * fitted.height <= 100 && fitted.width >= 90 && fitted.height === 1);
  t.throws(() => pageRaster({ width: 10, height: 10 }, { dpi: 0, maxPixels: 100 }), { instanceOf: RangeError });
  t.throws(() => pageRaster({ width: 10, height: 10 }, { dpi: 72, maxPixels: 0 }), { instanceOf: RangeError });
});

test('a PDF encrypted with a user password is refused with a clear error', async (t) => {
  const path = file(pdf([FIRST], { encrypt: { userPassword: 'bí mật', ownerPassword: 'owner' } }));
  const error = await t.throwsAsync(openPdf(path), { instanceOf: PdfError });
  t.is(error.code, 'password-required');
  t.regex(error.messages.en, /user password/);
  t.regex(error.messages.vi, /mật khẩu/);
  t.is(error.detail.path, path);
  t.false(error.messages.en.includes(path));
});

test('a PDF encrypted with only an owner password is read, and says it is encrypted', async (t) => {
  await withPdf(t, pdf([FIRST], { encrypt: { userPassword: '', ownerPassword: 'owner' } }), async (doc) => {
    t.true(doc.encrypted);
    t.is((await doc.pageText(1, LIMIT)).text, 'Hello world\nSecond line here');
    t.true(darkIn(await grey((await doc.renderPage(1, LIMIT)).png), { x: 40, y: 56, w: 200, h: 44 }) > 500);
  });
});

test('a truncated or damaged PDF gives a corrupt error or readable pages, never anything else', async (t) => {
  const whole = pdf([FIRST, SECOND]);
  const outcomes = new Set<string>();
  for (const cut of [16, 100, 250, 400, 600, whole.length - 200, whole.length - 60, whole.length - 10]) {
    try {
      const doc = await openPdf(file(whole.subarray(0, cut), `cut-${cut}.pdf`));
      try {
        for (let n = 1; n <= doc.pageCount; n++) {
          await doc.renderPage(n, LIMIT);
          await doc.pageText(n, LIMIT);
        }
        outcomes.add('read');
      } finally {
        await doc.close();
      }
    } catch (error) {
      t.true(error instanceof PdfError, `cut at ${cut}: ${String(error)}`);
      t.is((error as PdfError).code, 'corrupt');
      outcomes.add('corrupt');
    }
  }
  t.true(outcomes.has('corrupt'));
  const garbage = await t.throwsAsync(openPdf(file(Buffer.from('%PDF-1.7\nthis is not a PDF\n'))), { instanceOf: PdfError });
  t.is(garbage.code, 'corrupt');
  t.regex(garbage.messages.en, /truncated or damaged/);
  t.regex(garbage.messages.vi, /cắt cụt hoặc hỏng/);
});

/** The PDF with one string swapped for another of the same length, so the xref stays true. */
function patched(bytes: Buffer, from: string, to: string): Buffer {
  const text = bytes.toString('latin1');
  if (from.length !== to.length || !text.includes(from)) throw new Error(`cannot patch ${from}`);
  return Buffer.from(text.replace(from, to), 'latin1');
}

test('a page tree that loops back on itself gives a corrupt error for the page, not a hang', async (t) => {
  await withPdf(t, patched(pdf([FIRST, SECOND]), '/Kids [4 0 R 6 0 R]', '/Kids [2 0 R 6 0 R]'), async (doc) => {
    const error = await t.throwsAsync(doc.renderPage(1, LIMIT), { instanceOf: PdfError });
    t.is(error.code, 'corrupt');
    t.is(error.detail.page, 1);
    t.regex(error.messages.vi, /Không thể đọc trang 1 của tệp PDF/);
  });
});

test('a page naming a font it does not have still gives its text', async (t) => {
  await withPdf(t, patched(pdf([FIRST]), 'BT /F1 24 Tf', 'BT /F9 24 Tf'), async (doc) => {
    t.is((await doc.pageText(1, LIMIT)).text, 'Hello world\nSecond line here');
    t.truthy((await doc.renderPage(1, LIMIT)).png.length);
  });
});

test('a page number out of range is refused', async (t) => {
  await withPdf(t, pdf([FIRST, SECOND]), async (doc) => {
    for (const n of [0, 3, 1.5, -1]) {
      const error = await t.throwsAsync(doc.renderPage(n, LIMIT), { instanceOf: PdfError });
      t.is(error.code, 'page-out-of-range');
      t.regex(error.messages.en, /pages 1 to 2/);
      t.regex(error.messages.vi, /từ 1 đến 2/);
      t.is(error.detail.page, n);
    }
    await t.throwsAsync(doc.pageText(3, LIMIT), { instanceOf: PdfError });
    await t.throwsAsync(doc.pageSize(3), { instanceOf: PdfError });
  });
});

test('a missing file is reported as such, not as a corrupt PDF', async (t) => {
  const error = await t.throwsAsync(openPdf(join(tempDir(), 'absent.pdf')));
  t.false(error instanceof PdfError);
  t.is((error as NodeJS.ErrnoException).code, 'ENOENT');
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import test from 'ava';
import sharp from 'sharp';
import { FormatError, type FormatErrorCode, identifyFile, iccDescription } from '../../src/storage/format.ts';
import { pdf as writePdf } from '../helpers/pdf.ts';

/**
 * Sample files are made here, from scratch: real images by sharp (a scan-like page with a
 * line of Vietnamese rendered from SVG), and hand-built headers for what no encoder would
 * write on purpose (decompression bombs, a JPEG 2000 file when this libvips cannot encode
 * JPEG 2000, HTML saved as ".pdf").
 */

let dir: string;
const MAX = 50_000_000; // 50 megapixels

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'thukho-format-'));
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Buffer | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

function page(text = 'Địa bạ làng Phú Xuân — năm Minh Mạng thứ 21', width = 480, height = 240) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <text x="16" y="${height / 2}" font-size="22" font-family="DejaVu Serif, serif" fill="#222">${text}</text></svg>`;
  return sharp({ create: { width, height, channels: 3, background: { r: 236, g: 228, b: 210 } } }).composite([
    { input: Buffer.from(svg) },
  ]);
}

async function refused(t: import('ava').ExecutionContext, path: string, code: FormatErrorCode, maxPixels = MAX): Promise<FormatError> {
  const err = await t.throwsAsync(identifyFile(path, { maxPixels }), { instanceOf: FormatError });
  t.is(err?.code, code);
  t.truthy(err?.messages.vi);
  t.truthy(err?.messages.en);
  return err as FormatError;
}

// ---- hand-built headers ------------------------------------------------------------

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.alloc(64)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A little-endian classic TIFF whose IFDs claim the given sizes (8-bit grey, one strip each). */
function tiffBomb(pages: Array<[number, number]>): Buffer {
  const entries = 8;
  const ifdSize = 2 + entries * 12 + 4;
  const buf = Buffer.alloc(8 + pages.length * ifdSize + 16);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  const dataAt = 8 + pages.length * ifdSize;
  pages.forEach(([w, h], i) => {
    const at = 8 + i * ifdSize;
    buf.writeUInt16LE(entries, at);
    const tags: Array<[number, number, number]> = [
      [256, 4, w], // ImageWidth LONG
      [257, 4, h], // ImageLength LONG
      [258, 3, 8], // BitsPerSample
      [259, 3, 1], // Compression none
      [262, 3, 1], // BlackIsZero
      [273, 4, dataAt], // StripOffsets
      [278, 4, h], // RowsPerStrip
      [279, 4, 16], // StripByteCounts
    ];
    tags.forEach(([tag, type, value], j) => {
      const e = at + 2 + j * 12;
      buf.writeUInt16LE(tag, e);
      buf.writeUInt16LE(type, e + 2);
      buf.writeUInt32LE(1, e + 4);
      if (type === 3) buf.writeUInt16LE(value, e + 8);
      else buf.writeUInt32LE(value, e + 8);
    });
    buf.writeUInt32LE(i + 1 < pages.length ? at + ifdSize : 0, at + 2 + entries * 12);
  });
  return buf;
}

/** A big-endian BigTIFF with one IFD claiming `w` × `h`. */
function bigTiffBomb(w: number, h: number): Buffer {
  const buf = Buffer.alloc(16 + 8 + 2 * 20 + 8);
  buf.write('MM', 0, 'latin1');
  buf.writeUInt16BE(43, 2);
  buf.writeUInt16BE(8, 4);
  buf.writeBigUInt64BE(16n, 8);
  buf.writeBigUInt64BE(2n, 16);
  const entry = (i: number, tag: number, value: number) => {
    const e = 24 + i * 20;
    buf.writeUInt16BE(tag, e);
    buf.writeUInt16BE(16, e + 2); // LONG8
    buf.writeBigUInt64BE(1n, e + 4);
    buf.writeBigUInt64BE(BigInt(value), e + 12);
  };
  entry(0, 256, w);
  entry(1, 257, h);
  return buf;
}

function box(type: string, ...content: Buffer[]): Buffer {
  const data = Buffer.concat(content);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + data.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, data]);
}

function siz(width: number, height: number, bits: number): Buffer {
  const b = Buffer.alloc(4 + 2 + 2 + 32 + 2 + 3);
  b.writeUInt16BE(0xff4f, 0); // SOC
  b.writeUInt16BE(0xff51, 2); // SIZ
  b.writeUInt16BE(38 + 3, 4); // Lsiz for one component
  b.writeUInt32BE(width, 8);
  b.writeUInt32BE(height, 12);
  b.writeUInt32BE(width, 24); // one tile
  b.writeUInt32BE(height, 28);
  b.writeUInt16BE(1, 40); // Csiz
  b.writeUInt8(bits - 1, 42);
  b.writeUInt8(1, 43);
  b.writeUInt8(1, 44);
  return b;
}

/** A JP2 file: signature, ftyp, jp2h (ihdr, colr, res/resc), and a codestream that starts with SIZ. */
function jp2(opts: { width: number; height: number; bits?: number; icc?: Buffer; dpi?: number; sizWidth?: number; sizHeight?: number }): Buffer {
  const bits = opts.bits ?? 8;
  const ihdr = Buffer.alloc(14);
  ihdr.writeUInt32BE(opts.height, 0);
  ihdr.writeUInt32BE(opts.width, 4);
  ihdr.writeUInt16BE(1, 8);
  ihdr.writeUInt8(bits - 1, 10);
  ihdr.writeUInt8(7, 11);
  const colr = opts.icc
    ? Buffer.concat([Buffer.from([2, 0, 0]), opts.icc])
    : Buffer.from([1, 0, 0, 0, 0, 0, 17]); // enumerated greyscale
  const parts = [box('ihdr', ihdr), box('colr', colr)];
  if (opts.dpi) {
    const ppm = Math.round(opts.dpi / 0.0254); // pixels per metre
    const r = Buffer.alloc(10);
    r.writeUInt16BE(ppm, 0);
    r.writeUInt16BE(1, 2);
    r.writeUInt16BE(ppm, 4);
    r.writeUInt16BE(1, 6);
    parts.push(box('res ', box('resc', r)));
  }
  return Buffer.concat([
    Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]),
    box('ftyp', Buffer.from('jp2 \0\0\0\0jp2 ', 'latin1')),
    box('jp2h', ...parts),
    box('jp2c', siz(opts.sizWidth ?? opts.width, opts.sizHeight ?? opts.height, bits), Buffer.from([0xff, 0xd9])),
  ]);
}

function pdf(pages: number): Buffer {
  const objs: string[] = [];
  objs.push('<< /Type /Catalog /Pages 2 0 R >>');
  const kids = Array.from({ length: pages }, (_, i) => `${3 + i} 0 R`).join(' ');
  objs.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`);
  for (let i = 0; i < pages; i++) objs.push('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>');
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) body += `${String(o).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

// ---- images made by sharp --------------------------------------------------------------

test('TIFF: dimensions, bit depth, ICC description and DPI', async (t) => {
  const path = await file(
    'scan.tif',
    await page().withMetadata({ density: 400 }).withIccProfile('srgb').tiff({ compression: 'lzw' }).toBuffer(),
  );
  const facts = await identifyFile(path, { maxPixels: MAX });
  t.is(facts.format, 'tiff');
  t.is(facts.mediaType, 'image/tiff');
  t.true(facts.decoded);
  t.deepEqual(facts.image, { width: 480, height: 240, bitDepth: 8, iccProfile: 'sRGB', dpi: 400, pages: 1 });
});

test('TIFF: multi-page, 16-bit and 1-bit', async (t) => {
  const pages = await Promise.all(['Trang một', 'Trang hai', 'Trang ba'].map((s) => page(s, 300, 200).png().toBuffer()));
  const multi = await file('multi.tif', await sharp(pages, { join: { animated: true } }).tiff({ compression: 'lzw' }).toBuffer());
  const m = await identifyFile(multi, { maxPixels: MAX });
  t.is(m.image?.pages, 3);
  t.is(m.image?.width, 300);
  t.is(m.image?.height, 200);

  const deep = await file('deep.tif', await page().toColourspace('rgb16').tiff({ compression: 'deflate' }).toBuffer());
  t.is((await identifyFile(deep, { maxPixels: MAX })).image?.bitDepth, 16);

  const bitonal = await file('bitonal.tif', await sharp(await page().png().toBuffer()).removeAlpha().threshold(128).toColourspace('b-w').tiff({ bitdepth: 1, compression: 'ccittfax4' }).toBuffer());
  const b = await identifyFile(bitonal, { maxPixels: MAX });
  t.is(b.image?.bitDepth, 1);
  t.true(b.decoded);
});

test('JPEG and PNG', async (t) => {
  const jpeg = await file('trang.jpg', await page().withMetadata({ density: 300 }).jpeg({ quality: 85 }).toBuffer());
  const j = await identifyFile(jpeg, { maxPixels: MAX });
  t.is(j.format, 'jpeg');
  t.is(j.mediaType, 'image/jpeg');
  t.like(j.image, { width: 480, height: 240, bitDepth: 8, dpi: 300 });

  const png = await file('trang.png', await page().withIccProfile('srgb').png().toBuffer());
  const p = await identifyFile(png, { maxPixels: MAX });
  t.is(p.format, 'png');
  t.is(p.mediaType, 'image/png');
  t.like(p.image, { width: 480, height: 240, bitDepth: 8, iccProfile: 'sRGB' });

  const png16 = await file('trang16.png', await page().toColourspace('rgb16').png().toBuffer());
  t.is((await identifyFile(png16, { maxPixels: MAX })).image?.bitDepth, 16);
});

test('the name does not matter: a PNG called .tif is a PNG', async (t) => {
  const path = await file('lies.tif', await page().png().toBuffer());
  t.is((await identifyFile(path, { maxPixels: MAX })).format, 'png');
});

test('JPEG 2000: JP2 and raw codestream, from the header', async (t) => {
  const icc = (await sharp(await page().withIccProfile('srgb').tiff().toBuffer()).metadata()).icc as Buffer;
  const path = await file('trang.jp2', jp2({ width: 6000, height: 4000, bits: 8, icc, dpi: 400 }));
  const facts = await identifyFile(path, { maxPixels: MAX });
  t.is(facts.format, 'jp2');
  t.is(facts.mediaType, 'image/jp2');
  t.is(facts.image?.width, 6000);
  t.is(facts.image?.height, 4000);
  t.is(facts.image?.bitDepth, 8);
  t.is(facts.image?.iccProfile, 'sRGB');
  t.is(Math.round(facts.image?.dpi ?? 0), 400);
  // The prebuilt libvips has no JPEG 2000 decoder: the facts are the header's, undecoded.
  if (!sharp.format.jp2.input.file) t.false(facts.decoded);

  const grey = await file('grey.jp2', jp2({ width: 100, height: 50, bits: 16 }));
  const g = await identifyFile(grey, { maxPixels: MAX });
  t.like(g.image, { width: 100, height: 50, bitDepth: 16 });
  t.is(g.image?.iccProfile, undefined);

  const raw = await file('trang.j2c', Buffer.concat([siz(2000, 3000, 12), Buffer.from([0xff, 0xd9])]));
  const r = await identifyFile(raw, { maxPixels: MAX });
  t.is(r.format, 'jp2');
  t.is(r.mediaType, 'image/j2c');
  t.like(r.image, { width: 2000, height: 3000, bitDepth: 12 });
});

// ---- decompression bombs ----------------------------------------------------------------

async function quicklyRefused(t: import('ava').ExecutionContext, name: string, bytes: Buffer, page = 1) {
  const path = await file(name, bytes);
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const err = await refused(t, path, 'too-many-pixels');
  const ms = performance.now() - started;
  // Refused from the header, not by decoding: the memory shows it (a decode of these is gigabytes);
  // the time is only logged, a busy machine being slow, not wrong.
  t.log(`${name} refused in ${ms.toFixed(0)} ms`);
  t.true(process.memoryUsage().rss - rss < 64 * 1024 * 1024, `${name}: memory grew`);
  t.is(err.detail.page, page);
  return err;
}

test('a PNG header claiming 100,000 × 100,000 px is refused before decoding', async (t) => {
  const err = await quicklyRefused(t, 'bomb.png', pngBomb(100_000, 100_000));
  t.is(err.detail.width, 100_000);
  t.is(err.detail.height, 100_000);
  t.regex(err.messages.vi, /100\.000 × 100\.000 điểm ảnh/);
  t.regex(err.messages.en, /100,000 × 100,000 pixels/);
});

test('TIFF and BigTIFF bombs are refused, including one hidden on page 2', async (t) => {
  await quicklyRefused(t, 'bomb.tif', tiffBomb([[100_000, 100_000]]));
  await quicklyRefused(t, 'bomb2.tif', tiffBomb([[100, 100], [100_000, 100_000]]), 2);
  await quicklyRefused(t, 'bomb.btf', bigTiffBomb(100_000, 100_000));
});

test('JPEG 2000 bombs are refused, in ihdr or only in the codestream', async (t) => {
  await quicklyRefused(t, 'bomb.jp2', jp2({ width: 100_000, height: 100_000 }));
  await quicklyRefused(t, 'sneaky.jp2', jp2({ width: 100, height: 100, sizWidth: 100_000, sizHeight: 100_000 }), 2);
  await quicklyRefused(t, 'bomb.j2c', siz(100_000, 100_000, 8));
});

test('maxPixels is honoured exactly; a JPEG over the limit is refused from its SOF', async (t) => {
  const path = await file('limit.jpg', await page('Giới hạn', 200, 100).jpeg().toBuffer());
  t.is((await identifyFile(path, { maxPixels: 20_000 })).image?.width, 200);
  await refused(t, path, 'too-many-pixels', 19_999);
});

// ---- broken and disguised files -----------------------------------------------------

test('a truncated JPEG is unreadable, with sharp\'s reason', async (t) => {
  const whole = await page().jpeg().toBuffer();
  const path = await file('cut.jpg', whole.subarray(0, Math.floor(whole.length / 2)));
  const err = await refused(t, path, 'unreadable-image');
  t.regex(err.messages.en, /premature end|truncated/i);
  t.regex(err.messages.vi, /Không đọc được ảnh JPEG/);
});

test('a truncated JPEG is refused every time, also when checked concurrently', async (t) => {
  const whole = await page('Kiểm tra đồng thời').jpeg().toBuffer();
  const path = await file('cut-concurrent.jpg', whole.subarray(0, Math.floor(whole.length * 0.6)));
  const good = await file('good-concurrent.jpg', whole);
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => identifyFile(i % 3 === 2 ? good : path, { maxPixels: MAX })),
  );
  results.forEach((r, i) => {
    if (i % 3 === 2) t.is(r.status, 'fulfilled');
    else t.is(r.status === 'rejected' && (r.reason as FormatError).code, 'unreadable-image', `call ${i}`);
  });
});

test('a TIFF whose header is whole but whose strip data is cut short is unreadable', async (t) => {
  // One 100 × 100 8-bit strip needs 10,000 bytes; the file holds 16.
  const err = await refused(t, await file('short-strip.tif', tiffBomb([[100, 100]])), 'unreadable-image');
  t.regex(err.messages.vi, /TIFF/);
});

test('truncated TIFF and PNG are unreadable; a header that stops short is too', async (t) => {
  const tif = await page().tiff().toBuffer(); // uncompressed, strips at the start, IFD at the end
  await refused(t, await file('cut.tif', tif.subarray(0, Math.floor(tif.length / 2))), 'unreadable-image');
  const png = await page().png().toBuffer();
  await refused(t, await file('cut.png', png.subarray(0, Math.floor(png.length / 2))), 'unreadable-image');
  await refused(t, await file('stub.png', png.subarray(0, 12)), 'unreadable-image');
  await refused(t, await file('stub.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00])), 'unreadable-image');
  await refused(t, await file('stub.tif', Buffer.from('II*\0\x08\0\0\0', 'latin1')), 'unreadable-image');
  // The pixel data is garbage although the header is fine.
  const garbage = Buffer.concat([png.subarray(0, 33), pngChunk('IDAT', Buffer.alloc(200, 0x55)), pngChunk('IEND', Buffer.alloc(0))]);
  await refused(t, await file('garbage.png', garbage), 'unreadable-image');
});

test('a TIFF whose IFD chain loops is refused, not followed forever', async (t) => {
  const loop = tiffBomb([[10, 10], [10, 10]]);
  // Point the second IFD's "next" back at the first.
  const ifdSize = 2 + 8 * 12 + 4;
  loop.writeUInt32LE(8, 8 + ifdSize + 2 + 8 * 12);
  const err = await refused(t, await file('loop.tif', loop), 'unreadable-image');
  t.regex(err.messages.en, /loops/);
});

test('PDF: version and page count; truncated PDF refused', async (t) => {
  const path = await file('sach.pdf', pdf(3));
  const facts = await identifyFile(path, { maxPixels: MAX });
  t.deepEqual(facts, { mediaType: 'application/pdf', format: 'pdf', size: pdf(3).length, pdf: { version: '1.4', pages: 3 } });
  t.is(facts.image, undefined);

  const whole = pdf(2);
  const err = await refused(t, await file('cut.pdf', whole.subarray(0, whole.length - 40)), 'unreadable-pdf');
  t.regex(err.messages.vi, /%%EOF/);

  // Junk before the header (allowed within the first 1024 bytes).
  const junk = await file('junk.pdf', Buffer.concat([Buffer.alloc(100, 0x20), pdf(1)]));
  t.is((await identifyFile(junk, { maxPixels: MAX })).pdf?.version, '1.4');
});

test('PDF: one locked with a user password is refused (nothing could ever read it); one with only an owner password is accepted', async (t) => {
  const page = { width: 300, height: 200, lines: [{ x: 20, y: 100, size: 14, text: 'Khoá' }] };
  const err = await refused(t, await file('khoa.pdf', writePdf([page], { encrypt: { userPassword: 'bí mật', ownerPassword: 'chủ' } })), 'encrypted-pdf');
  t.regex(err.messages.vi, /mật khẩu người dùng.*Hãy nộp bản không mã hoá/);
  t.regex(err.messages.en, /user password.*Ingest an unencrypted copy/);
  const owner = await identifyFile(await file('quyen.pdf', writePdf([page], { encrypt: { userPassword: '', ownerPassword: 'chủ' } })), { maxPixels: MAX });
  t.like(owner, { mediaType: 'application/pdf', pdf: { version: '1.7', pages: 1 } });
});

test('an HTML page saved as .pdf is refused as unknown, saying it is HTML', async (t) => {
  for (const [name, body] of [
    ['loi.pdf', '<!DOCTYPE html><html><body>%PDF-1.4</body></html>'],
    ['dang-nhap.pdf', '\n  <html lang="vi"><head><title>Đăng nhập</title></head><body>Phiên đã hết hạn</body></html>'],
  ] as const) {
    const err = await refused(t, await file(name, body), 'unknown-format');
    t.is(err.detail.looksLike, 'html');
    t.regex(err.messages.vi, /HTML/);
  }
});

test('unknown and empty files', async (t) => {
  const err = await refused(t, await file('a.txt', 'chỉ là văn bản'), 'unknown-format');
  t.is(err.messages.vi, 'Không nhận dạng được định dạng tệp; chấp nhận TIFF, JPEG, JPEG 2000, PNG, PDF.');
  t.deepEqual(err.detail.accepted, ['tiff', 'jpeg', 'jp2', 'png', 'pdf']);
  await refused(t, await file('gif.tif', Buffer.from('GIF89a\x01\0\x01\0', 'latin1')), 'unknown-format');
  await refused(t, await file('ab', 'ab'), 'unknown-format');
  const empty = await refused(t, await file('empty.tif', ''), 'empty-file');
  t.is(empty.messages.vi, 'Tệp rỗng (0 byte).');
});

test('iccDescription reads v2 and v4 profiles and tolerates junk', (t) => {
  // v2 textDescriptionType
  const text = 'Adobe RGB (1998)';
  const desc = Buffer.alloc(12 + text.length + 1 + 67);
  desc.write('desc', 0, 'latin1');
  desc.writeUInt32BE(text.length + 1, 8);
  desc.write(text, 12, 'latin1');
  const header = Buffer.alloc(132 + 12);
  header.writeUInt32BE(1, 128);
  header.write('desc', 132, 'latin1');
  header.writeUInt32BE(144, 136);
  header.writeUInt32BE(desc.length, 140);
  t.is(iccDescription(Buffer.concat([header, desc])), 'Adobe RGB (1998)');
  t.is(iccDescription(Buffer.alloc(10)), undefined);
  t.is(iccDescription(Buffer.alloc(400, 0xff)), undefined);
});

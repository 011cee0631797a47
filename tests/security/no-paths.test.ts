import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import { page, pngBombHeader } from '../helpers/images.ts';
import { type TestServer, testWithServer } from '../helpers/server.ts';

/**
 * A refused upload once answered "…: /tmp/thukho-e2e-x/staging/4711-ab12cd34/.staging-<uuid>:
 * bad seek to 30984": the data directory, the server's process id and the staging layout,
 * told to any client. Every refusal of an upload must say what is wrong with the bytes and
 * nothing about where the server keeps them.
 */
const test = testWithServer();

type Json = Record<string, unknown>;

/** A one-strip 4 × 4 grey TIFF whose StripOffsets point `stripAt` bytes into a file of 150. */
function tiffWithStripAt(stripAt: number): Buffer {
  const tags: Array<[number, number, number]> = [
    [256, 4, 4], // ImageWidth
    [257, 4, 4], // ImageLength
    [258, 3, 8], // BitsPerSample
    [259, 3, 1], // Compression: none
    [262, 3, 1], // PhotometricInterpretation: BlackIsZero
    [273, 4, stripAt], // StripOffsets
    [278, 4, 4], // RowsPerStrip
    [279, 4, 16], // StripByteCounts
  ];
  const ifdSize = 2 + tags.length * 12 + 4;
  const buf = Buffer.alloc(8 + ifdSize + 16);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, value], j) => {
    const e = 8 + 2 + j * 12;
    buf.writeUInt16LE(tag, e);
    buf.writeUInt16LE(type, e + 2);
    buf.writeUInt32LE(1, e + 4);
    if (type === 3) buf.writeUInt16LE(value, e + 8);
    else buf.writeUInt32LE(value, e + 8);
  });
  return buf;
}

async function createObject(s: TestServer): Promise<string> {
  const res = await fetch(`${s.url}/api/objects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Không lộ đường dẫn' }),
  });
  return ((await res.json()) as Json).id as string;
}

/** What a body must never contain: where this server keeps things, and who it is. */
function leaks(s: TestServer, body: string): string[] {
  const found: string[] = [];
  for (const dir of new Set([s.dataDir, realpathSync(s.dataDir), tmpdir(), realpathSync(tmpdir())])) {
    if (body.includes(dir)) found.push(dir);
  }
  if (body.includes('.staging-')) found.push('.staging-');
  if (/staging\//.test(body)) found.push('staging/');
  // The staging folder of this process: "<pid>-<8 hex>".
  const own = new RegExp(`\\b${process.pid}-[0-9a-f]{8}\\b`).exec(body);
  if (own) found.push(own[0]);
  return found;
}

test.serial('no refused upload names a path of the server, raw or multipart, in Vietnamese or English', async (t) => {
  const s = t.context.server;
  const id = await createObject(s);
  const good = await page('Đúng định dạng');
  const lzw = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#a83' } })
    .tiff({ compression: 'lzw' })
    .toBuffer();
  const garbledLzw = Buffer.from(lzw);
  garbledLzw.fill(0xff, 16, 400); // the strip data, not the IFD at the end
  const jpeg = await page('cắt cụt', { format: 'jpeg' });
  const png = await page('cắt cụt', { format: 'png' });
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n');
  const wrongDigest = `sha-256=:${createHash('sha256').update('khác').digest('base64')}:`;

  const cases: Array<[string, Buffer, string, number, string, Record<string, string>?]> = [
    ['a TIFF whose strip lies past its end (libvips: "PATH: bad seek")', tiffWithStripAt(30_984), 'seek.tif', 422, 'unreadable-image'],
    ['a TIFF whose strip offset is far past its end', tiffWithStripAt(1 << 30), 'seek-far.tif', 422, 'unreadable-image'],
    ['a TIFF with garbled LZW data', garbledLzw, 'lzw.tif', 422, 'unreadable-image'],
    ['a truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'cut.jpg', 422, 'unreadable-image'],
    ['a truncated PNG', png.subarray(0, Math.floor(png.length / 2)), 'cut.png', 422, 'unreadable-image'],
    ['a truncated PDF', pdf, 'cut.pdf', 422, 'unreadable-pdf'],
    ['a text file', Buffer.from('chỉ là văn bản'), 'a.txt', 422, 'unknown-format'],
    ['an HTML page', Buffer.from('<!doctype html><title>lỗi</title>'), 'a.pdf', 422, 'unknown-format'],
    ['a decompression bomb', pngBombHeader(100_000, 100_000), 'bomb.png', 422, 'too-many-pixels'],
    ['an empty file', Buffer.alloc(0), 'empty.tif', 422, 'empty-file'],
    ['a checksum that does not match', good, 'a.tif', 400, 'digest-mismatch', { 'content-digest': wrongDigest }],
  ];
  for (const [name, bytes, fileName, status, type, headers] of cases) {
    for (const language of ['vi', 'en']) {
      const raw = await fetch(`${s.url}/api/objects/${id}/files?name=${encodeURIComponent(fileName)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'application/octet-stream', 'accept-language': language, ...headers },
        body: new Uint8Array(bytes),
      });
      const rawBody = await raw.text();
      // A raw upload named as no accepted format is refused from its name, before its bytes.
      const [rawStatus, rawType] = fileName === 'a.txt' ? [415, 'unsupported-format'] : [status, type];
      t.is(raw.status, rawStatus, `${name}: ${rawBody}`);
      t.is((JSON.parse(rawBody) as Json).type, `/problems/${rawType}`, name);
      t.deepEqual(leaks(s, rawBody), [], `${name} (raw, ${language}): ${rawBody}`);

      if (headers) continue; // digests travel in headers of raw uploads only
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(bytes)]), fileName);
      const multipart = await fetch(`${s.url}/api/objects/${id}/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.staffToken}`, 'accept-language': language },
        body: form,
      });
      const multipartBody = await multipart.text();
      t.is(multipart.status, status, `${name} (multipart): ${multipartBody}`);
      t.deepEqual(leaks(s, multipartBody), [], `${name} (multipart, ${language}): ${multipartBody}`);
    }
  }
});

test.serial('the reason still says what is wrong with the bytes, once', async (t) => {
  const s = t.context.server;
  const id = await createObject(s);
  const res = await fetch(`${s.url}/api/objects/${id}/files?name=seek.tif`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.staffToken}`, 'content-type': 'image/tiff', 'accept-language': 'en' },
    body: new Uint8Array(tiffWithStripAt(30_984)),
  });
  const json = (await res.json()) as Json;
  t.is(res.status, 422);
  const reason = json.reason as string;
  t.regex(reason, /bad seek to 30984/);
  t.is(reason.split('bad seek to 30984').length, 2, reason);
  t.regex((json.messages as { vi: string }).vi, /^Không đọc được ảnh TIFF/);
});

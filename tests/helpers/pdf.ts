import { createHash } from 'node:crypto';

/**
 * Small PDFs written byte by byte (PDF 1.7, ISO 32000-1), so that the tests know exactly what
 * a file holds: where each line of text sits, in which standard font, and which bytes are
 * missing from a truncated one.
 */
export interface PdfTextLine {
  /** Baseline start in PDF points from the page's bottom-left corner. */
  x: number;
  y: number;
  size: number;
  /**
   * Latin-1 letters go through WinAnsiEncoding; others (Vietnamese ư, ệ, Đ ...) take codes
   * 128 and up through the font's /Differences with /uniXXXX glyph names (at most 32 of them).
   */
  text: string;
}

export interface PdfPageSpec {
  width: number;
  height: number;
  lines: PdfTextLine[];
  /** /Rotate: degrees clockwise the page is turned when shown. */
  rotate?: 0 | 90 | 180 | 270;
}

export interface PdfOptions {
  /** Standard security handler, revision 2 (40-bit RC4, ISO 32000-1 §7.6.3). */
  encrypt?: { userPassword: string; ownerPassword: string };
}

// ISO 32000-1 §7.6.3.3, algorithm 2, step a: the 32-byte padding string.
const PASSWORD_PADDING = Buffer.from('28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A', 'hex');

export function pdf(pages: PdfPageSpec[], options: PdfOptions = {}): Buffer {
  const fileId = createHash('md5').update(JSON.stringify(pages)).digest();
  const security = options.encrypt === undefined ? undefined : standardSecurity(options.encrypt, fileId);
  // Object 1 catalog, 2 page tree, 3 font, then a page and its content stream for each page.
  const pageRefs = pages.map((_, i) => `${4 + 2 * i} 0 R`).join(' ');
  const extra = [...new Set(pages.flatMap((p) => p.lines.flatMap((l) => [...l.text].filter((ch) => ch.codePointAt(0)! > 0xff))))];
  if (extra.length > 32) throw new Error('at most 32 characters beyond Latin-1 in one test PDF');
  const codeOf = new Map(extra.map((ch, i) => [ch, 128 + i]));
  const differences = extra.length === 0 ? '' : ` /Differences [128 ${extra.map((ch) => `/uni${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ')}]`;
  const encode = (text: string) => [...text].map((ch) => {
    const code = codeOf.get(ch) ?? ch.codePointAt(0)!;
    if (code > 0xff) throw new Error(`cannot encode ${ch}`);
    return code >= 0x20 && code < 0x7f ? escapePdfString(ch) : `\\${code.toString(8).padStart(3, '0')}`;
  }).join('');
  const objects: Array<(num: number) => Buffer> = [
    () => Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    () => Buffer.from(`<< /Type /Pages /Kids [${pageRefs}] /Count ${pages.length} >>`),
    () => Buffer.from(`<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding${differences} >> >>`),
  ];
  pages.forEach((page, i) => {
    objects.push(() =>
      Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${page.width} ${page.height}] /Rotate ${page.rotate ?? 0} /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`),
    );
    objects.push((num) => {
      const content = Buffer.from(
        page.lines.map((l) => `BT /F1 ${l.size} Tf ${l.x} ${l.y} Td (${encode(l.text)}) Tj ET`).join('\n'),
        'ascii',
      );
      const body = security === undefined ? content : rc4(objectKey(security.key, num), content);
      return Buffer.concat([Buffer.from(`<< /Length ${body.length} >>\nstream\n`), body, Buffer.from('\nendstream')]);
    });
  });
  if (security !== undefined) {
    objects.push(() => Buffer.from(`<< /Filter /Standard /V 1 /R 2 /O <${security.o.toString('hex')}> /U <${security.u.toString('hex')}> /P ${security.p} >>`));
  }

  const chunks: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let length = chunks[0]!.length;
  objects.forEach((make, i) => {
    const num = i + 1;
    offsets.push(length);
    const chunk = Buffer.concat([Buffer.from(`${num} 0 obj\n`), make(num), Buffer.from('\nendobj\n')]);
    chunks.push(chunk);
    length += chunk.length;
  });
  // §7.5.4: each xref entry is exactly 20 bytes, "nnnnnnnnnn ggggg n\r\n".
  const xref = [`xref\n0 ${objects.length + 1}\n`, '0000000000 65535 f\r\n', ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n\r\n`)].join('');
  const encryptRef = security === undefined ? '' : ` /Encrypt ${objects.length} 0 R`;
  const trailer = `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${encryptRef} /ID [<${fileId.toString('hex')}> <${fileId.toString('hex')}>] >>\nstartxref\n${length}\n%%EOF\n`;
  chunks.push(Buffer.from(xref + trailer));
  return Buffer.concat(chunks);
}

function escapePdfString(text: string): string {
  return text.replace(/[\\()]/g, (c) => `\\${c}`);
}

interface Security {
  key: Buffer;
  o: Buffer;
  u: Buffer;
  p: number;
}

// Algorithms 2, 3 and 4 of ISO 32000-1 §7.6.3.3-4 for revision 2.
function standardSecurity(passwords: { userPassword: string; ownerPassword: string }, fileId: Buffer): Security {
  const p = -4; // every permission
  const ownerKey = createHash('md5').update(padPassword(passwords.ownerPassword)).digest().subarray(0, 5);
  const o = rc4(ownerKey, padPassword(passwords.userPassword));
  const pBytes = Buffer.alloc(4);
  pBytes.writeInt32LE(p);
  const key = createHash('md5').update(Buffer.concat([padPassword(passwords.userPassword), o, pBytes, fileId])).digest().subarray(0, 5);
  const u = rc4(key, PASSWORD_PADDING);
  return { key, o, u, p };
}

function padPassword(password: string): Buffer {
  return Buffer.concat([Buffer.from(password, 'latin1'), PASSWORD_PADDING]).subarray(0, 32);
}

// Algorithm 1: the key of one object is MD5(file key, object number (3 bytes), generation (2 bytes)).
function objectKey(key: Buffer, num: number): Buffer {
  const suffix = Buffer.from([num & 0xff, (num >> 8) & 0xff, (num >> 16) & 0xff, 0, 0]);
  return createHash('md5').update(Buffer.concat([key, suffix])).digest().subarray(0, key.length + 5);
}

// RC4 in a few lines: OpenSSL 3 leaves it to the legacy provider, which Node does not load.
function rc4(key: Buffer, data: Buffer): Buffer {
  const s = Array.from({ length: 256 }, (_, i) => i);
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  let a = 0;
  j = 0;
  for (let k = 0; k < data.length; k++) {
    a = (a + 1) & 0xff;
    j = (j + s[a]!) & 0xff;
    [s[a], s[j]] = [s[j]!, s[a]!];
    out[k] = data[k]! ^ s[(s[a]! + s[j]!) & 0xff]!;
  }
  return out;
}

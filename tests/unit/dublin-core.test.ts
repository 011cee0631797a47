import test from 'ava';
import type { ExecutionContext } from 'ava';
import { DC_NS, OAI_DC_NS, dublinCoreXml } from '../../src/formats/dublin-core.ts';
import { escapeXml } from '../../src/formats/xml.ts';

/**
 * A small well-formedness check, enough for what dublinCoreXml emits: one XML declaration,
 * tags balanced and properly nested, no raw "<" or ">" in text, every "&" a known entity or a
 * character reference, and no character outside XML 1.0's Char production.
 * Returns the elements as [name, decoded text] in document order.
 */
function parse(t: ExecutionContext, xml: string): Array<[string, string]> {
  t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'));
  t.false(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(xml), 'only XML 1.0 characters');
  const body = xml.slice(xml.indexOf('?>') + 2);
  const stack: string[] = [];
  const out: Array<[string, string]> = [];
  const token = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+="[^"<&]*")*)\s*(\/?)>|([^<]+)/gy;
  let last = 0;
  let current: [string, string] | undefined;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    last = token.lastIndex;
    const [, close, name, , selfClose, text] = m;
    if (text !== undefined) {
      t.false(text.includes('>'), `raw ">" in text: ${text}`);
      for (const amp of text.matchAll(/&[^;]*;?/g)) {
        t.regex(amp[0], /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);$/, `bad entity ${amp[0]}`);
      }
      if (stack.length === 0) t.regex(text, /^\s*$/, 'text outside the root element');
      if (current) {
        current[1] += text
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&apos;/g, "'")
          .replace(/&amp;/g, '&');
      }
      continue;
    }
    if (close) {
      t.is(stack.pop(), name, `</${name}> closes the open element`);
      current = undefined;
    } else if (!selfClose) {
      if (stack.length > 0) t.is(stack.length, 1, 'dc elements are direct children of the root');
      stack.push(name!);
      if (stack.length === 2) {
        current = [name!, ''];
        out.push(current);
      }
    }
  }
  t.is(last, body.length, 'the whole document was tokenised (no stray "<")');
  t.deepEqual(stack, [], 'every element is closed');
  return out;
}

const full = {
  title: 'Truyện Kiều <script>alert("x")</script> & Đoạn trường tân thanh',
  alternativeTitle: ['金雲翹傳', '斷腸新聲'],
  creator: 'Nguyễn Du',
  date: 'Tự Đức năm thứ 24 (1871)',
  yearFrom: 1871,
  yearTo: 1871,
  language: ['vie', 'lzh'],
  subject: 'Văn học; Truyện thơ Nôm',
  description: 'Bản khắc gỗ, Liễu Văn Đường.\r\nCó chú thích ]]> cuối sách.',
  type: 'Text',
  format: 'image/tiff',
  identifier: 'NĐ-HN-0042',
  source: 'Thư viện tỉnh Nam Định',
  rights: 'http://rightsstatements.org/vocab/NoC-US/1.0/',
  extent: '120 tờ',
  collectionId: 'han-nom',
};

test('maps every metadata field to the oai_dc elements', (t) => {
  const xml = dublinCoreXml(full, 'obj-kieu');
  t.true(xml.includes(`xmlns:oai_dc="${OAI_DC_NS}"`));
  t.true(xml.includes(`xmlns:dc="${DC_NS}"`));
  t.true(xml.includes(`xsi:schemaLocation="${OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"`));
  t.deepEqual(parse(t, xml), [
    ['dc:title', full.title],
    ['dc:title', '金雲翹傳'],
    ['dc:title', '斷腸新聲'],
    ['dc:creator', 'Nguyễn Du'],
    ['dc:subject', 'Văn học; Truyện thơ Nôm'],
    ['dc:description', 'Bản khắc gỗ, Liễu Văn Đường.\nCó chú thích ]]> cuối sách.'],
    ['dc:date', 'Tự Đức năm thứ 24 (1871)'],
    ['dc:type', 'Text'],
    ['dc:format', 'image/tiff'],
    ['dc:format', '120 tờ'],
    ['dc:identifier', 'obj-kieu'],
    ['dc:identifier', 'NĐ-HN-0042'],
    ['dc:source', 'Thư viện tỉnh Nam Định'],
    ['dc:language', 'vie'],
    ['dc:language', 'lzh'],
    ['dc:relation', 'han-nom'],
    ['dc:rights', 'http://rightsstatements.org/vocab/NoC-US/1.0/'],
  ]);
  // Titles carry no language tag: a Han-Nôm title is not "vi".
  t.false(xml.includes('xml:lang'));
});

test('escapes markup in text', (t) => {
  const xml = dublinCoreXml({ title: 'A <script>alert(1)</script> & B' }, 'x');
  t.true(xml.includes('<dc:title>A &lt;script&gt;alert(1)&lt;/script&gt; &amp; B</dc:title>'));
  t.false(xml.includes('<script>'));
  t.deepEqual(parse(t, xml)[0], ['dc:title', 'A <script>alert(1)</script> & B']);
  t.is(escapeXml(`<a href="x">'&amp;'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;amp;&apos;&lt;/a&gt;');
});

test('strips characters XML 1.0 does not allow and normalises to NFC', (t) => {
  const nfd = 'Truyện Kiều'.normalize('NFD');
  const xml = dublinCoreXml(
    { title: `${nfd}\u0000\u0001\u0008\u000B\u000C\u001F\uFFFE\uFFFF\uD800 🙂 𡨸喃\tx`, creator: '\u0007' },
    'x',
  );
  const elements = parse(t, xml);
  t.deepEqual(elements, [
    ['dc:title', 'Truyện Kiều 🙂 𡨸喃\tx'.normalize('NFC')],
    ['dc:identifier', 'x'],
  ]);
  t.is(elements[0]![1], `${'Truyện Kiều'.normalize('NFC')} 🙂 𡨸喃\tx`);
});

test('falls back to the year range for dc:date, skips empty and unknown fields', (t) => {
  const range = parse(t, dublinCoreXml({ title: 'Đại Nam thực lục', yearFrom: 1821, yearTo: 1909 }, 'dnlt'));
  t.deepEqual(range, [
    ['dc:title', 'Đại Nam thực lục'],
    ['dc:date', '1821/1909'],
    ['dc:identifier', 'dnlt'],
  ]);
  const one = parse(t, dublinCoreXml({ title: 'x', yearFrom: 1945, subject: '  ', language: [], secret: 'no', nested: { a: 1 } }, 'y'));
  t.deepEqual(one, [
    ['dc:title', 'x'],
    ['dc:date', '1945'],
    ['dc:identifier', 'y'],
  ]);
  // The object id and a same identifier are not repeated.
  t.is(parse(t, dublinCoreXml({ title: 'x', identifier: 'y' }, 'y')).filter(([n]) => n === 'dc:identifier').length, 1);
});

test('the checker itself catches broken XML', (t) => {
  // Guard against a checker that accepts anything: run it in a throwaway context.
  const failures: string[] = [];
  const fake = {
    true: (v: boolean, m?: string) => void (v || failures.push(m ?? 'true')),
    false: (v: boolean, m?: string) => void (!v || failures.push(m ?? 'false')),
    is: (a: unknown, b: unknown, m?: string) => void (a === b || failures.push(m ?? 'is')),
    regex: (s: string, r: RegExp, m?: string) => void (r.test(s) || failures.push(m ?? 'regex')),
    deepEqual: (a: unknown, b: unknown, m?: string) =>
      void (JSON.stringify(a) === JSON.stringify(b) || failures.push(m ?? 'deepEqual')),
  } as unknown as ExecutionContext;
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n';
  parse(fake, `${head}<oai_dc:dc><dc:title>a < b</dc:title></oai_dc:dc>\n`);
  t.true(failures.length > 0, 'raw <');
  failures.length = 0;
  parse(fake, `${head}<oai_dc:dc><dc:title>a & b</dc:title></oai_dc:dc>\n`);
  t.true(failures.length > 0, 'raw &');
  failures.length = 0;
  parse(fake, `${head}<oai_dc:dc><dc:title>a</dc:creator></oai_dc:dc>\n`);
  t.true(failures.length > 0, 'unbalanced');
  failures.length = 0;
  parse(fake, `${head}<oai_dc:dc><dc:title>ok</dc:title></oai_dc:dc>\n`);
  t.deepEqual(failures, []);
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { SafFormatError, anonymousCanRead, handleOf, languageCode, mapDublinCore, parseContents, readMetadataXml } from '../../src/formats/dspace-saf.ts';
import { parseXml, XmlError } from '../../src/formats/xml-parse.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'saf');

test('the XML reader (src/formats/xml-parse.ts) on what DSpace writes: entities, character references, CDATA, comments, CRLF, attribute quotes', (t) => {
  const root = parseXml('\uFEFF<?xml version="1.0"?>\r\n<!-- c --><a x="1 &amp; 2" y=\'&#x1EA1;\'>A&lt;&#7841;<![CDATA[<b>]]><b/><?pi x?></a>\n');
  t.is(root.name, 'a');
  t.deepEqual(root.attributes, { x: '1 & 2', y: 'ạ' });
  t.is(root.text, 'A<ạ<b>');
  t.deepEqual(root.children.map((c) => c.name), ['b']);
  t.is(parseXml('<a>x\r\ny</a>').text, 'x\ny');
});

test('the XML reader refuses what is not well-formed, with where', (t) => {
  const cases: Array<[string, RegExp]> = [
    ['<a><b></a>', /<\/a> does not close <b>/],
    ['<a>', /never closed/],
    ['<a x=1/>', /must be quoted/],
    ['<a x="1" x="2"/>', /appears twice/],
    ['<a>&nbsp;</a>', /undeclared entity/],
    ['<a>AT&T</a>', /does not start a reference/],
    ['<a>\u0001</a>', /U\+1 is not allowed/],
    ['<a/><b/>', /after the root/],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE/],
    ['', /root element was expected/],
    ['<a>&#0;</a>', /bad character reference|illegal character/],
  ];
  for (const [xml, why] of cases) {
    const err = t.throws(() => parseXml(xml), { instanceOf: XmlError }, xml);
    t.regex(err?.message ?? '', why, xml);
  }
  const where = t.throws(() => parseXml('<a>\n  <b>\n</a>'), { instanceOf: XmlError });
  t.is(where?.line, 3);
});

test('golden: the dublin_core.xml DSpace 7 exports reads value by value and maps onto our record', (t) => {
  const { schema, values } = readMetadataXml(readFileSync(join(FIXTURES, 'dspace7', '0', 'dublin_core.xml'), 'utf8'), 'dublin_core.xml');
  t.is(schema, 'dc');
  t.is(values.length, 17);
  t.deepEqual(values.find((v) => v.element === 'title' && !v.qualifier), { schema: 'dc', element: 'title', language: 'vi', value: 'Truyện Kiều <bản Quan Văn Đường> & chú giải' });
  t.deepEqual(values[0], { schema: 'dc', element: 'contributor', qualifier: 'author', value: 'Nguyễn Du' });
  const { metadata, unmapped } = mapDublinCore(values);
  t.like(metadata, { title: 'Truyện Kiều <bản Quan Văn Đường> & chú giải', creator: 'Nguyễn Du; Kiều Oánh Mậu', date: '1902', language: ['vie'], identifier: 'HN-0042' });
  t.deepEqual(unmapped, []);
  const dcterms = readMetadataXml(readFileSync(join(FIXTURES, 'dspace7', '0', 'metadata_dcterms.xml'), 'utf8'), 'metadata_dcterms.xml');
  t.deepEqual(dcterms.values, [{ schema: 'dcterms', element: 'spatial', language: 'vi', value: 'Hà Nội' }]);
  t.throws(() => readMetadataXml('<dublin_core><value element="title">x</value></dublin_core>', 'dublin_core.xml'), { instanceOf: SafFormatError });
});

test('contents lines as DSpace writes them; unknown bundles, options and registered bitstreams are problems', (t) => {
  const { lines, problems } = parseContents(readFileSync(join(FIXTURES, 'dspace7', '0', 'contents'), 'utf8'));
  t.deepEqual(problems, []);
  t.deepEqual(lines.map((l) => [l.name, l.bundle, l.primary, l.description]), [
    ['page_1.png', 'ORIGINAL', true, 'Tờ 1'],
    ['page_2.tif', 'ORIGINAL', false, 'Tờ 2'],
    ['license.txt', 'LICENSE', false, undefined],
    ['page_1.png.jpg', 'THUMBNAIL', false, 'Generated Thumbnail'],
  ]);
  const bad = parseContents('a.png\tbundle:SECRET\nb.png\tcolour:red\n-r -s 1 -f x.png\tbundle:ORIGINAL\nc.png\n');
  t.deepEqual(bad.problems.map((p) => p.line), [1, 2, 3]);
  t.deepEqual(bad.lines.map((l) => [l.name, l.bundle]), [['b.png', 'ORIGINAL'], ['c.png', 'ORIGINAL']]);
  t.is(anonymousCanRead("-r 'Anonymous'"), true);
  t.is(anonymousCanRead("-r 'Thủ thư'"), false);
  t.is(anonymousCanRead(undefined), undefined);
});

test('handles and language codes as DSpace writes them', (t) => {
  t.is(handleOf('123456789/42\n'), '123456789/42');
  t.is(handleOf('http://hdl.handle.net/123456789/42'), '123456789/42');
  t.is(handleOf('https://repo.example.vn/handle/10.1/7'), '10.1/7');
  t.is(handleOf('not a handle'), undefined);
  t.is(languageCode('en_US'), 'eng');
  t.is(languageCode('vi'), 'vie');
  t.is(languageCode('lzh'), 'lzh');
  t.is(languageCode('other'), undefined);
});

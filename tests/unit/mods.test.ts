import test from 'ava';
import { MODS_NS, modsElement, modsXml, scriptOf } from '../../src/formats/mods.ts';
import { type XmlElement, parseXml } from '../helpers/xml.ts';
import { assertValidXml } from '../helpers/xml-schema.ts';

/**
 * The MODS mapping as golden vectors: for a full Vietnamese and Han-Nôm record, every leaf
 * element with its path and attributes, written out by hand from the LoC "Dublin Core to
 * MODS" crosswalk (not produced by the code under test), and the document valid against the
 * official MODS 3.8 schema.
 */
const full = {
  title: 'Truyện Kiều <script>alert("x")</script> & Đoạn trường tân thanh',
  alternativeTitle: ['金雲翹新傳', 'Kim Vân Kiều tân truyện', '𡨸喃 Nôm'],
  creator: 'Nguyễn Du',
  date: 'Tự Đức năm thứ 24 (1871)',
  yearFrom: 1870,
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
  viewingDirection: 'right-to-left',
  behavior: 'paged',
};
const LINKS = { page: 'https://thuvien.example.vn/objects/obj-kieu', manifest: 'https://thuvien.example.vn/iiif/manifest/obj-kieu' };

/** Every element with text as "path[attributes] = text", attributes in document order. */
function leaves(root: XmlElement): string[] {
  const out: string[] = [];
  const walk = (e: XmlElement, path: string) => {
    const attrs = Object.entries(e.attributes)
      .filter(([k]) => !k.startsWith('xmlns'))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const here = `${path}${path ? '/' : ''}${e.localName}${attrs ? `[${attrs}]` : ''}`;
    if (e.children.length === 0) out.push(`${here} = ${e.text}`);
    for (const c of e.children) {
      t_ns(c);
      walk(c, here);
    }
  };
  const t_ns = (e: XmlElement) => {
    if (e.namespace !== MODS_NS) throw new Error(`${e.name} is not in the MODS namespace`);
  };
  for (const c of root.children) {
    t_ns(c);
    walk(c, '');
  }
  return out;
}

test('a full Vietnamese and Han-Nôm record: every element, attribute and text of the crosswalk', async (t) => {
  const xml = modsXml(full, 'obj-kieu', LINKS);
  t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<mods:mods '));
  const root = parseXml(xml);
  t.is(root.namespace, MODS_NS);
  t.is(root.localName, 'mods');
  t.is(root.attributes.version, '3.8');
  t.is(root.attributes['xsi:schemaLocation'], 'http://www.loc.gov/mods/v3 http://www.loc.gov/standards/mods/v3/mods-3-8.xsd');
  t.deepEqual(leaves(root), [
    'titleInfo[script=Latn]/title = Truyện Kiều <script>alert("x")</script> & Đoạn trường tân thanh',
    'titleInfo[type=alternative script=Hani]/title = 金雲翹新傳',
    'titleInfo[type=alternative script=Latn]/title = Kim Vân Kiều tân truyện',
    // Two scripts in one title: no script is claimed.
    'titleInfo[type=alternative]/title = 𡨸喃 Nôm',
    'name/namePart = Nguyễn Du',
    'name/role/roleTerm[type=code authority=marcrelator] = cre',
    'name/role/roleTerm[type=text authority=marcrelator] = creator',
    'typeOfResource = text',
    'originInfo/dateOther = Tự Đức năm thứ 24 (1871)',
    'originInfo/dateOther[encoding=w3cdtf point=start keyDate=yes] = 1870',
    'originInfo/dateOther[encoding=w3cdtf point=end] = 1871',
    'language/languageTerm[type=code authority=iso639-3] = vie',
    'language/languageTerm[type=code authority=iso639-3] = lzh',
    'physicalDescription/internetMediaType = image/tiff',
    'physicalDescription/extent = 120 tờ',
    'abstract = Bản khắc gỗ, Liễu Văn Đường.\nCó chú thích ]]> cuối sách.',
    'subject/topic = Văn học; Truyện thơ Nôm',
    'identifier[type=local] = NĐ-HN-0042',
    'location/url[usage=primary access=object in context] = https://thuvien.example.vn/objects/obj-kieu',
    'location/url[access=raw object note=IIIF Presentation 3 manifest] = https://thuvien.example.vn/iiif/manifest/obj-kieu',
    'relatedItem[type=original]/note = Thư viện tỉnh Nam Định',
    'relatedItem[type=host]/identifier[type=local] = han-nom',
    'accessCondition[type=use and reproduction xlink:href=http://rightsstatements.org/vocab/NoC-US/1.0/] = http://rightsstatements.org/vocab/NoC-US/1.0/',
    'recordInfo/recordIdentifier = obj-kieu',
  ]);
  await assertValidXml(t, xml, 'mods');
});

test('the element OAI-PMH embeds has no declaration and declares its own namespaces', async (t) => {
  const el = modsElement({ title: 'Đại Nam nhất thống chí' }, 'dai-nam');
  t.true(el.startsWith('<mods:mods xmlns:mods="http://www.loc.gov/mods/v3" xmlns:xlink="http://www.w3.org/1999/xlink"'));
  t.false(el.includes('<?xml'));
  t.deepEqual(leaves(parseXml(el)), ['titleInfo[script=Latn]/title = Đại Nam nhất thống chí', 'recordInfo/recordIdentifier = dai-nam']);
  await assertValidXml(t, el, 'mods');
});

test('types: DCMI Type and MODS terms become typeOfResource, anything else a genre', (t) => {
  const types = (type: string) => leaves(parseXml(modsElement({ title: 'x', type }, 'x'))).filter((l) => !l.startsWith('titleInfo') && !l.startsWith('recordInfo'));
  t.deepEqual(types('StillImage'), ['typeOfResource = still image']);
  t.deepEqual(types('still image'), ['typeOfResource = still image']);
  t.deepEqual(types('Image'), ['typeOfResource = still image']);
  t.deepEqual(types('PhysicalObject'), ['typeOfResource = three dimensional object']);
  t.deepEqual(types('Collection'), ['typeOfResource[collection=yes] = mixed material']);
  t.deepEqual(types('Sắc phong'), ['genre = Sắc phong']);
});

test('years: one year, an open range, and years before 1 (EDTF, since w3cdtf has no sign)', (t) => {
  const dates = (m: Record<string, unknown>) => leaves(parseXml(modsElement({ title: 'x', ...m }, 'x'))).filter((l) => l.startsWith('originInfo'));
  t.deepEqual(dates({ yearFrom: 1871, yearTo: 1871 }), ['originInfo/dateOther[encoding=w3cdtf keyDate=yes] = 1871']);
  t.deepEqual(dates({ yearFrom: 980 }), ['originInfo/dateOther[encoding=w3cdtf keyDate=yes] = 0980']);
  t.deepEqual(dates({ yearTo: -111 }), ['originInfo/dateOther[encoding=edtf keyDate=yes] = -0111']);
  t.deepEqual(dates({ yearFrom: -257, yearTo: 938 }), [
    'originInfo/dateOther[encoding=edtf point=start keyDate=yes] = -0257',
    'originInfo/dateOther[encoding=w3cdtf point=end] = 0938',
  ]);
  t.deepEqual(dates({}), []);
});

test('format: a media type is internetMediaType, anything else a form', (t) => {
  const physical = (format: string) => leaves(parseXml(modsElement({ title: 'x', format }, 'x'))).filter((l) => l.startsWith('physical'));
  t.deepEqual(physical('application/pdf'), ['physicalDescription/internetMediaType = application/pdf']);
  t.deepEqual(physical('27 x 16 cm'), ['physicalDescription/form = 27 x 16 cm']);
});

test('empty, blank and non-XML values are left out; a repeated alternative title or the title itself appears once', async (t) => {
  const xml = modsXml({ title: 'Kiều', alternativeTitle: ['Kiều', '金雲翹', '金雲翹', '  ', '\u0001'], creator: '', subject: ['\u0000'], language: [] }, 'k');
  t.deepEqual(leaves(parseXml(xml)), [
    'titleInfo[script=Latn]/title = Kiều',
    'titleInfo[type=alternative script=Hani]/title = 金雲翹',
    'recordInfo/recordIdentifier = k',
  ]);
  await assertValidXml(t, xml, 'mods');
});

test('script detection: Han (CJK and its extensions, with Han punctuation), Latin with Vietnamese diacritics, neither', (t) => {
  t.is(scriptOf('金雲翹新傳'), 'Hani');
  t.is(scriptOf('𡨸喃'), 'Hani');
  t.is(scriptOf('《大南一統志》'), 'Hani');
  t.is(scriptOf('Đại Nam nhất thống chí (1882)'), 'Latn');
  t.is(scriptOf('Kiều 翹'), undefined);
  t.is(scriptOf('1871'), undefined);
});

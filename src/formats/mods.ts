import { type RecordLinks, values } from './dublin-core.ts';
import { type XmlNode, serialiseXml, xmlNode } from './xml-tree.ts';

/**
 * MODS 3.8 for one object, from our Dublin Core-shaped metadata (src/domain/metadata.ts),
 * following the Library of Congress "Dublin Core to MODS" crosswalk
 * (https://www.loc.gov/standards/mods/dcsimple-mods.html) where it applies:
 *
 *   title            → titleInfo/title
 *   alternativeTitle → titleInfo type="alternative"/title
 *                      Each title gets the ISO 15924 script it is written in when every letter
 *                      is of one script (script="Hani" for Hán/Nôm, "Latn" for quốc ngữ): the
 *                      script can be read off the text, its language cannot (a Han title may be
 *                      Literary Chinese or Nôm), so no lang is claimed.
 *   creator          → name/namePart + role/roleTerm (marcrelator "cre", text "creator")
 *   date             → originInfo/dateOther (free text, e.g. a reign year "Tự Đức năm thứ 24")
 *   yearFrom/yearTo  → originInfo/dateOther keyDate="yes" encoding="w3cdtf" (edtf before year 0),
 *                      point="start"/"end" for a range. dateOther, not dateIssued/dateCreated:
 *                      a DC date does not say which event it dates.
 *   language         → language/languageTerm type="code" authority="iso639-3". MODS 3.8 lifted
 *                      the closed list on @authority; "iso639-3" is the term in the LoC
 *                      language-code source list, and it says exactly what we store (`lzh` has
 *                      no ISO 639-2 equivalent, so iso639-2b would be wrong for it).
 *   subject          → subject/topic (one topic per value: we do not split a cataloguer's text)
 *   description      → abstract
 *   type             → typeOfResource when it names a DCMI Type or a MODS resource type
 *                      (case-insensitive), else genre
 *   format           → physicalDescription/internetMediaType when it is a media type, else form
 *   extent           → physicalDescription/extent
 *   identifier       → identifier type="local"
 *   source           → relatedItem type="original"/note (the crosswalk's relatedItem "original";
 *                      a note because our source is free text, not a title)
 *   rights (a URI)   → accessCondition type="use and reproduction" xlink:href
 *   collectionId     → relatedItem type="host"/identifier type="local"
 *   the object id    → recordInfo/recordIdentifier
 *   links.page       → location/url usage="primary" access="object in context"
 *                      (3.8 deprecates usage="primary display" in favour of "primary")
 *   links.manifest   → location/url access="raw object" note="IIIF Presentation 3 manifest"
 *   links.holder     → location/physicalLocation (the holding library's name; its code with type="code")
 *   viewingDirection, behavior: IIIF presentation hints, nothing in MODS; left out.
 */

export const MODS_NS = 'http://www.loc.gov/mods/v3';
export const MODS_XSD = 'http://www.loc.gov/standards/mods/v3/mods-3-8.xsd';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

const m = (name: string, content?: Parameters<typeof xmlNode>[1], attributes?: Record<string, string | undefined>): XmlNode =>
  xmlNode(`mods:${name}`, content, attributes);

/** ISO 15924 code of the one script every letter of `text` is written in, if there is one. */
export function scriptOf(text: string): 'Hani' | 'Latn' | undefined {
  const letters = text.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return undefined;
  if (letters.every((c) => /\p{Script=Han}/u.test(c))) return 'Hani';
  if (letters.every((c) => /\p{Script=Latin}/u.test(c))) return 'Latn';
  return undefined;
}

/**
 * The MODS resource types (typeOfResource's documented list), and the DCMI Type terms mapped
 * to them as the crosswalk does. Keys are lower case, without spaces.
 */
const RESOURCE_TYPES: Readonly<Record<string, string>> = {
  text: 'text',
  cartographic: 'cartographic',
  notatedmusic: 'notated music',
  'soundrecording-musical': 'sound recording-musical',
  'soundrecording-nonmusical': 'sound recording-nonmusical',
  soundrecording: 'sound recording',
  sound: 'sound recording',
  stillimage: 'still image',
  image: 'still image',
  movingimage: 'moving image',
  threedimensionalobject: 'three dimensional object',
  physicalobject: 'three dimensional object',
  'software,multimedia': 'software, multimedia',
  software: 'software, multimedia',
  interactiveresource: 'software, multimedia',
  dataset: 'software, multimedia',
  mixedmaterial: 'mixed material',
  collection: 'mixed material',
};

function resourceType(type: string): { term: string; collection: boolean } | undefined {
  const key = type.toLowerCase().replace(/\s+/g, '');
  const term = RESOURCE_TYPES[key];
  // DCMI "Collection" is the crosswalk's typeOfResource collection="yes".
  return term === undefined ? undefined : { term, collection: key === 'collection' };
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(?:\s*;.*)?$/i;

/** w3cdtf wants four digits; years before 1 need EDTF's signed form. */
function encodedYear(year: number): { text: string; encoding: string } {
  return year >= 0
    ? { text: String(year).padStart(4, '0'), encoding: 'w3cdtf' }
    : { text: `-${String(-year).padStart(4, '0')}`, encoding: 'edtf' };
}

function yearDates(from: unknown, to: unknown): XmlNode[] {
  const ok = (y: unknown): y is number => typeof y === 'number' && Number.isInteger(y);
  const single = ok(from) && ok(to) && from === to ? from : !ok(to) && ok(from) ? from : !ok(from) && ok(to) ? to : undefined;
  if (single !== undefined) {
    const y = encodedYear(single);
    return [m('dateOther', y.text, { encoding: y.encoding, keyDate: 'yes' })];
  }
  if (ok(from) && ok(to)) {
    const a = encodedYear(from);
    const b = encodedYear(to);
    return [
      m('dateOther', a.text, { encoding: a.encoding, point: 'start', keyDate: 'yes' }),
      m('dateOther', b.text, { encoding: b.encoding, point: 'end' }),
    ];
  }
  return [];
}

function title(text: string, type?: 'alternative'): XmlNode {
  return m('titleInfo', [m('title', text)], { type, script: scriptOf(text) });
}

function modsNode(metadata: Record<string, unknown>, id: string, links: RecordLinks, rootAttributes: Record<string, string>): XmlNode {
  const md = metadata;
  const [mainTitle] = values(md.title);
  const alternatives = [...new Set(values(md.alternativeTitle))].filter((t) => t !== mainTitle);
  const dates = [...values(md.date).map((d) => m('dateOther', d)), ...yearDates(md.yearFrom, md.yearTo)];
  const physical = [
    ...values(md.format).map((f) => (MEDIA_TYPE.test(f) ? m('internetMediaType', f) : m('form', f))),
    ...values(md.extent).map((e) => m('extent', e)),
  ];
  const types = values(md.type).map((t) => {
    const r = resourceType(t);
    return r ? m('typeOfResource', r.term, { collection: r.collection ? 'yes' : undefined }) : m('genre', t);
  });
  const urls = [
    // physicalLocation comes before url in a MODS location.
    ...values(links.holder?.name).map((n) => m('physicalLocation', n)),
    ...values(links.holder?.code).map((c) => m('physicalLocation', c, { type: 'code' })),
    ...values(links.page).map((u) => m('url', u, { usage: 'primary', access: 'object in context' })),
    ...values(links.manifest).map((u) => m('url', u, { access: 'raw object', note: 'IIIF Presentation 3 manifest' })),
  ];
  const children: Array<XmlNode | undefined> = [
    ...(mainTitle === undefined ? [] : [title(mainTitle)]),
    ...alternatives.map((t) => title(t, 'alternative')),
    ...values(md.creator).map((c) =>
      m('name', [
        m('namePart', c),
        m('role', [m('roleTerm', 'cre', { type: 'code', authority: 'marcrelator' }), m('roleTerm', 'creator', { type: 'text', authority: 'marcrelator' })]),
      ]),
    ),
    ...types,
    dates.length > 0 ? m('originInfo', dates) : undefined,
    ...values(md.language).map((code) => m('language', [m('languageTerm', code, { type: 'code', authority: 'iso639-3' })])),
    physical.length > 0 ? m('physicalDescription', physical) : undefined,
    ...values(md.description).map((d) => m('abstract', d)),
    ...values(md.subject).map((s) => m('subject', [m('topic', s)])),
    ...values(md.identifier).map((i) => m('identifier', i, { type: 'local' })),
    urls.length > 0 ? m('location', urls) : undefined,
    ...values(md.source).map((s) => m('relatedItem', [m('note', s)], { type: 'original' })),
    ...values(md.collectionId).map((c) => m('relatedItem', [m('identifier', c, { type: 'local' })], { type: 'host' })),
    ...values(md.rights).map((r) => m('accessCondition', r, { type: 'use and reproduction', 'xlink:href': r })),
    m('recordInfo', [m('recordIdentifier', id)]),
  ];
  return m('mods', children, rootAttributes);
}

/**
 * The `mods:mods` element for one object (no XML declaration: OAI-PMH and METS embed it).
 * It declares its own namespaces, so it can be dropped into any document as is.
 */
export function modsElement(metadata: Record<string, unknown>, id: string, links: RecordLinks = {}): string {
  return serialiseXml(
    modsNode(metadata, id, links, {
      'xmlns:mods': MODS_NS,
      'xmlns:xlink': XLINK_NS,
      'xmlns:xsi': XSI_NS,
      'xsi:schemaLocation': `${MODS_NS} ${MODS_XSD}`,
      version: '3.8',
    }),
  );
}

/** The MODS document (with an XML declaration) for one object. */
export function modsXml(metadata: Record<string, unknown>, id: string, links: RecordLinks = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${modsElement(metadata, id, links)}\n`;
}

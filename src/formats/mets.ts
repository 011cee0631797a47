import { type RecordLinks, values } from './dublin-core.ts';
import { modsElement } from './mods.ts';
import { type XmlNode, serialiseXml, xmlNode } from './xml-tree.ts';

/**
 * A METS 1.12 document for one work: MODS as descriptive metadata, its PREMIS provenance as
 * digital-provenance metadata, every file with its size and checksum and a URL to fetch it,
 * and the pages in reading order (with a logical map from the table of contents when there
 * is one). Element order follows the METS schema's sequence (metsHdr, dmdSec, amdSec,
 * fileSec, structMap, structLink), which a validator enforces.
 *
 * Pure: the caller decides which files, pages and URLs there are (src/http/routes/exports.ts).
 */
export const METS_NS = 'http://www.loc.gov/METS/';
export const METS_XSD = 'http://www.loc.gov/standards/mets/mets.xsd';
const XLINK_NS = 'http://www.w3.org/1999/xlink';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** METS CHECKSUMTYPE values we have digests for. */
export type MetsChecksumType = 'SHA-512' | 'SHA-256' | 'MD5';

export interface MetsFile {
  /** An xs:ID, unique in the document (see metsId). */
  id: string;
  mimeType: string;
  size: number;
  checksum?: { type: MetsChecksumType; value: string };
  /** Where the file can be fetched. */
  href: string;
  /** How `href` reaches it: a plain URL (default), or another kind of locator, named. */
  otherLocType?: string;
  /** METS GROUPID: a master and the derivatives made from it share one (versions of one file). */
  groupId?: string;
}

export interface MetsFileGroup {
  use: string;
  files: MetsFile[];
}

export interface MetsPage {
  /** Label in the work's own numbering (e.g. "tờ 1a"); absent when the page has none. */
  label?: string;
  /** Files shown on this page: its master, derivative, OCR… (ids from the file groups). */
  fileIds: string[];
}

export interface MetsWork {
  objectId: string;
  metadata: Record<string, unknown>;
  links?: RecordLinks;
  /** When the record was created and last changed (ISO 8601), for metsHdr. */
  createdAt: string;
  updatedAt: string;
  /** Who keeps the work (THUKHO_INSTITUTION). */
  institution: string;
  /** A `premis:premis` element, when the reader may see the work's provenance. */
  premis?: string;
  fileGroups: MetsFileGroup[];
  /** In reading order. */
  pages: MetsPage[];
  /** The table of contents: each entry with the indexes (0-based, into `pages`) of its pages. */
  contents: Array<{ label: string; pages: number[] }>;
}

/**
 * An xs:ID (NCName) from a prefix and our ids, which may start with a digit or contain "~"
 * (page image ids): anything outside [A-Za-z0-9._-] becomes "_".
 */
export function metsId(prefix: string, ...parts: Array<string | number>): string {
  return [prefix, ...parts.map((p) => String(p).replace(/[^A-Za-z0-9._-]/g, '_'))].join('-');
}

const t = (name: string, content?: Parameters<typeof xmlNode>[1], attributes?: Record<string, string | undefined>): XmlNode =>
  xmlNode(`mets:${name}`, content, attributes);

const DMD_ID = 'dmd-mods';
const DIGIPROV_ID = 'digiprov-premis';

function fileNode(f: MetsFile): XmlNode {
  return t(
    'file',
    [
      t('FLocat', [], {
        LOCTYPE: f.otherLocType === undefined ? 'URL' : 'OTHER',
        OTHERLOCTYPE: f.otherLocType,
        'xlink:type': 'simple',
        'xlink:href': f.href,
      }),
    ],
    {
      ID: f.id,
      MIMETYPE: f.mimeType,
      SIZE: String(f.size),
      CHECKSUM: f.checksum?.value,
      CHECKSUMTYPE: f.checksum?.type,
      GROUPID: f.groupId,
    },
  );
}

export function metsXml(work: MetsWork): string {
  const [title] = values(work.metadata.title);
  const pageIds = work.pages.map((_, i) => metsId('page', i + 1));
  const children: Array<XmlNode | undefined> = [
    t('metsHdr', [t('agent', [t('name', work.institution)], { ROLE: 'CREATOR', TYPE: 'ORGANIZATION' }), t('agent', [t('name', 'thukho')], { ROLE: 'CREATOR', TYPE: 'OTHER', OTHERTYPE: 'SOFTWARE' })], {
      CREATEDATE: work.createdAt,
      LASTMODDATE: work.updatedAt,
    }),
    t('dmdSec', [t('mdWrap', [t('xmlData', [{ raw: modsElement(work.metadata, work.objectId, work.links ?? {}) }])], { MDTYPE: 'MODS', MDTYPEVERSION: '3.8' })], { ID: DMD_ID }),
    work.premis === undefined
      ? undefined
      : t('amdSec', [t('digiprovMD', [t('mdWrap', [t('xmlData', [{ raw: work.premis }])], { MDTYPE: 'PREMIS', MDTYPEVERSION: '3.0' })], { ID: DIGIPROV_ID })], { ID: 'amd' }),
    work.fileGroups.some((g) => g.files.length > 0)
      ? t('fileSec', work.fileGroups.filter((g) => g.files.length > 0).map((g) => t('fileGrp', g.files.map(fileNode), { USE: g.use })))
      : undefined,
    t(
      'structMap',
      [
        t(
          'div',
          work.pages.map((p, i) =>
            t('div', p.fileIds.map((id) => t('fptr', [], { FILEID: id })), {
              ID: pageIds[i],
              TYPE: 'page',
              ORDER: String(i + 1),
              ORDERLABEL: p.label || undefined,
              LABEL: p.label || `${i + 1}`,
            }),
          ),
          { ID: 'physical-root', TYPE: 'physSequence', LABEL: title, DMDID: DMD_ID, ADMID: work.premis === undefined ? undefined : DIGIPROV_ID },
        ),
      ],
      { TYPE: 'physical' },
    ),
  ];
  const contents = work.contents.filter((c) => c.pages.length > 0);
  if (contents.length > 0) {
    children.push(
      t('structMap', [t('div', contents.map((c, i) => t('div', [], { ID: metsId('section', i + 1), TYPE: 'section', ORDER: String(i + 1), LABEL: c.label })), { ID: 'logical-root', TYPE: 'work', LABEL: title, DMDID: DMD_ID })], { TYPE: 'logical' }),
      // Each entry links to the pages it runs over: structLink is where METS relates two maps.
      t(
        'structLink',
        contents.flatMap((c, i) =>
          c.pages.flatMap((p) => (pageIds[p] === undefined ? [] : [t('smLink', [], { 'xlink:from': metsId('section', i + 1), 'xlink:to': pageIds[p] })])),
        ),
      ),
    );
  }
  const root = t('mets', children, {
    'xmlns:mets': METS_NS,
    'xmlns:xlink': XLINK_NS,
    'xmlns:xsi': XSI_NS,
    'xsi:schemaLocation': `${METS_NS} ${METS_XSD}`,
    OBJID: work.objectId,
    LABEL: title,
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialiseXml(root)}\n`;
}

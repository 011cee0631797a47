import { NOT_XML_CHAR, escapeXml } from './xml.ts';

/**
 * Simple Dublin Core as an OAI-PMH `oai_dc:dc` record, for bags (data/metadata/dc.xml) and
 * the OAI-PMH mapping.
 *
 * Mapping from our metadata (src/domain/metadata.ts):
 *   title, alternativeTitle → dc:title (no xml:lang: a title may be Vietnamese, Han-Nôm or
 *                             French, and tagging it "vi" would be wrong as often as right)
 *   creator → dc:creator     subject → dc:subject        description → dc:description
 *   date → dc:date (when absent, yearFrom/yearTo as "1820" or "1820/1830")
 *   type → dc:type           format, extent → dc:format (DCMI: extent is a refinement of format)
 *   identifier and the object id → dc:identifier        source, links.holder → dc:source
 *   language → dc:language (ISO 639-3 codes as given)  collectionId → dc:relation
 *   rights → dc:rights
 * Unknown fields are ignored. A string or an array of strings is accepted for every field.
 * Text is NFC-normalised, escaped, and stripped of characters XML 1.0 does not allow.
 */

export const OAI_DC_NS = 'http://www.openarchives.org/OAI/2.0/oai_dc/';
export const DC_NS = 'http://purl.org/dc/elements/1.1/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const OAI_DC_XSD = 'http://www.openarchives.org/OAI/2.0/oai_dc.xsd';

/**
 * The usable texts of one metadata field: a string, a finite number, or an array of them,
 * trimmed, without the ones that would be empty once characters XML cannot carry are gone.
 * Shared by every writer of our metadata (Dublin Core, MODS) so they drop the same values.
 */
export function values(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) {
      const s = String(v).trim();
      if (s && s.normalize('NFC').replace(NOT_XML_CHAR, '').trim()) out.push(s);
    }
  }
  return out;
}

/** yearFrom/yearTo as one DC date: "1820", or the ISO 8601 interval "1820/1830". */
export function yearRange(from: unknown, to: unknown): string[] {
  const ok = (y: unknown): y is number => typeof y === 'number' && Number.isInteger(y);
  if (ok(from) && ok(to)) return [from === to ? String(from) : `${from}/${to}`];
  if (ok(from)) return [String(from)];
  if (ok(to)) return [String(to)];
  return [];
}

/**
 * Where a record can be seen by a harvester's users. Aggregators link to `dc:identifier` URLs, so
 * the public page goes there; the IIIF manifest goes in `dc:relation`, the usual place for it in
 * oai_dc (there is no element for "a machine-readable view of the same work").
 */
export interface RecordLinks {
  page?: string;
  manifest?: string;
  /**
   * The library holding the work (its original and this record): dc:source in oai_dc (the
   * original the digitised work derives from is that library's), MODS location/physicalLocation.
   */
  holder?: { name: string; code?: string | undefined };
}

/** The `oai_dc:dc` element for one object (no XML declaration: OAI-PMH embeds it in a record). */
export function dublinCoreElement(metadata: Record<string, unknown>, id: string, links: RecordLinks = {}): string {
  const m = metadata;
  const dates = values(m.date);
  const elements: Array<[string, string[]]> = [
    ['title', [...values(m.title), ...values(m.alternativeTitle)]],
    ['creator', values(m.creator)],
    ['subject', values(m.subject)],
    ['description', values(m.description)],
    ['date', dates.length > 0 ? dates : yearRange(m.yearFrom, m.yearTo)],
    ['type', values(m.type)],
    ['format', [...values(m.format), ...values(m.extent)]],
    ['identifier', [...values(id), ...values(m.identifier), ...values(links.page)]],
    ['source', [...values(m.source), ...values(links.holder?.name)]],
    ['language', values(m.language)],
    ['relation', [...values(m.collectionId), ...values(links.manifest)]],
    ['rights', values(m.rights)],
  ];
  const lines = [
    `<oai_dc:dc xmlns:oai_dc="${OAI_DC_NS}" xmlns:dc="${DC_NS}" xmlns:xsi="${XSI_NS}" xsi:schemaLocation="${OAI_DC_NS} ${OAI_DC_XSD}">`,
  ];
  for (const [name, texts] of elements) {
    for (const text of new Set(texts)) lines.push(`  <dc:${name}>${escapeXml(text)}</dc:${name}>`);
  }
  lines.push('</oai_dc:dc>');
  return lines.join('\n');
}

/** The `oai_dc:dc` document (with an XML declaration) for one object. */
export function dublinCoreXml(metadata: Record<string, unknown>, id: string, links: RecordLinks = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${dublinCoreElement(metadata, id, links)}\n`;
}

import { escapeXml } from './xml.ts';

/**
 * OAI-PMH 2.0 response pieces (http://www.openarchives.org/OAI/2.0/openarchivesprotocol.htm),
 * written as separate strings so that a list is streamed record by record: `responseHead`,
 * then the verb's element and its records, then `RESPONSE_TAIL`. No storage, no HTTP here.
 */
export const OAI_NS = 'http://www.openarchives.org/OAI/2.0/';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const OAI_XSD = 'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd';
const OAI_IDENTIFIER_NS = 'http://www.openarchives.org/OAI/2.0/oai-identifier';
const OAI_IDENTIFIER_XSD = 'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd';

export const OAI_VERBS = ['Identify', 'ListMetadataFormats', 'ListSets', 'GetRecord', 'ListIdentifiers', 'ListRecords'] as const;
export type OaiVerb = (typeof OAI_VERBS)[number];

export const OAI_ERROR_CODES = [
  'badArgument',
  'badResumptionToken',
  'badVerb',
  'cannotDisseminateFormat',
  'idDoesNotExist',
  'noRecordsMatch',
  'noMetadataFormats',
  'noSetHierarchy',
] as const;
export type OaiErrorCode = (typeof OAI_ERROR_CODES)[number];
export interface OaiError {
  code: OaiErrorCode;
  message: string;
}

/** The request element's attributes, in the schema's order (only arguments that were valid). */
const REQUEST_ATTRIBUTES = ['verb', 'identifier', 'metadataPrefix', 'from', 'until', 'set', 'resumptionToken'] as const;
export type OaiRequestEcho = Partial<Record<(typeof REQUEST_ATTRIBUTES)[number], string>>;

/**
 * The XML declaration, the root element, responseDate and request. `echo` is null when the
 * request had a badVerb or badArgument error: then the spec wants the base URL alone.
 */
export function responseHead(responseDate: string, baseUrl: string, echo: OaiRequestEcho | null): string {
  const attributes = echo
    ? REQUEST_ATTRIBUTES.filter((a) => echo[a] !== undefined)
        .map((a) => ` ${a}="${escapeXml(echo[a]!)}"`)
        .join('')
    : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<OAI-PMH xmlns="${OAI_NS}" xmlns:xsi="${XSI_NS}" xsi:schemaLocation="${OAI_NS} ${OAI_XSD}">\n` +
    `<responseDate>${responseDate}</responseDate>\n` +
    `<request${attributes}>${escapeXml(baseUrl)}</request>\n`
  );
}

export const RESPONSE_TAIL = '</OAI-PMH>\n';

export function errorsElement(errors: readonly OaiError[]): string {
  return errors.map((e) => `<error code="${e.code}">${escapeXml(e.message)}</error>\n`).join('');
}

export interface IdentifyInfo {
  repositoryName: string;
  baseUrl: string;
  adminEmails: readonly string[];
  earliestDatestamp: string;
  repositoryIdentifier: string;
  sampleIdentifier: string;
}

export function identifyElement(i: IdentifyInfo): string {
  return (
    '<Identify>\n' +
    `<repositoryName>${escapeXml(i.repositoryName)}</repositoryName>\n` +
    `<baseURL>${escapeXml(i.baseUrl)}</baseURL>\n` +
    '<protocolVersion>2.0</protocolVersion>\n' +
    i.adminEmails.map((a) => `<adminEmail>${escapeXml(a)}</adminEmail>\n`).join('') +
    `<earliestDatestamp>${i.earliestDatestamp}</earliestDatestamp>\n` +
    '<deletedRecord>persistent</deletedRecord>\n' +
    '<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>\n' +
    '<description>\n' +
    `<oai-identifier xmlns="${OAI_IDENTIFIER_NS}" xsi:schemaLocation="${OAI_IDENTIFIER_NS} ${OAI_IDENTIFIER_XSD}">\n` +
    '<scheme>oai</scheme>\n' +
    `<repositoryIdentifier>${escapeXml(i.repositoryIdentifier)}</repositoryIdentifier>\n` +
    '<delimiter>:</delimiter>\n' +
    `<sampleIdentifier>${escapeXml(i.sampleIdentifier)}</sampleIdentifier>\n` +
    '</oai-identifier>\n' +
    '</description>\n' +
    '</Identify>\n'
  );
}

export interface MetadataFormat {
  prefix: string;
  schema: string;
  namespace: string;
}

export function metadataFormatsElement(formats: readonly MetadataFormat[]): string {
  return (
    '<ListMetadataFormats>\n' +
    formats
      .map(
        (f) =>
          `<metadataFormat><metadataPrefix>${escapeXml(f.prefix)}</metadataPrefix><schema>${escapeXml(f.schema)}</schema>` +
          `<metadataNamespace>${escapeXml(f.namespace)}</metadataNamespace></metadataFormat>\n`,
      )
      .join('') +
    '</ListMetadataFormats>\n'
  );
}

export function setsElement(sets: Iterable<{ spec: string; name: string }>): string {
  let out = '<ListSets>\n';
  for (const s of sets) out += `<set><setSpec>${escapeXml(s.spec)}</setSpec><setName>${escapeXml(s.name)}</setName></set>\n`;
  return `${out}</ListSets>\n`;
}

export interface RecordHeader {
  identifier: string;
  datestamp: string;
  setSpecs: readonly string[];
  deleted: boolean;
}

export function headerElement(h: RecordHeader): string {
  return (
    `<header${h.deleted ? ' status="deleted"' : ''}><identifier>${escapeXml(h.identifier)}</identifier>` +
    `<datestamp>${h.datestamp}</datestamp>` +
    h.setSpecs.map((s) => `<setSpec>${escapeXml(s)}</setSpec>`).join('') +
    '</header>'
  );
}

/** One record; `metadata` (an element such as oai_dc:dc) is left out for a deleted record. */
export function recordElement(h: RecordHeader, metadata: string | undefined): string {
  return `<record>${headerElement(h)}${h.deleted || metadata === undefined ? '' : `<metadata>\n${metadata}\n</metadata>`}</record>\n`;
}

export interface ResumptionInfo {
  /** Empty on the last page of a resumed list. */
  token: string;
  completeListSize: number;
  cursor: number;
  /** Absent with an empty token. */
  expirationDate?: string;
}

export function resumptionTokenElement(r: ResumptionInfo): string {
  const expiry = r.expirationDate ? ` expirationDate="${r.expirationDate}"` : '';
  return `<resumptionToken${expiry} completeListSize="${r.completeListSize}" cursor="${r.cursor}">${escapeXml(r.token)}</resumptionToken>\n`;
}

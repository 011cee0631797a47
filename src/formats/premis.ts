import {
  type AuthorityTerm,
  IDENTIFIER_TYPES,
  type Identifier,
  type PremisAgent,
  type PremisEvent,
  type Provenance,
  type ProvenanceFile,
} from '../application/provenance.ts';
import { escapeXml } from './xml.ts';

/**
 * A PREMIS 3.0 document for one object's provenance: the intellectual entity and its files
 * (fixity, size, format, original name, where they sit in OCFL), every event, and every
 * agent those events link to. Element order follows the PREMIS 3.0 schema's sequences, since
 * a validator rejects a right element in the wrong place. Controlled terms carry the
 * id.loc.gov authority and value URIs; Vietnamese and English texts are given as two
 * repeated elements (PREMIS has no language attribute on them), Vietnamese first.
 */
export const PREMIS_NS = 'http://www.loc.gov/premis/v3';
export const PREMIS_XSD = 'https://www.loc.gov/standards/premis/v3/premis.xsd';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

type Attributes = Record<string, string>;

/** A tiny element tree, serialised with escaping in one place. */
interface Node {
  name: string;
  attributes?: Attributes;
  text?: string;
  children?: Node[];
}

const el = (name: string, content: string | Node[], attributes?: Attributes): Node => ({
  name: `premis:${name}`,
  ...(typeof content === 'string' ? { text: content } : { children: content }),
  ...(attributes ? { attributes } : {}),
});

function serialise(node: Node, indent: string, out: string[]): void {
  const attrs = Object.entries(node.attributes ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  if (node.children && node.children.length > 0) {
    out.push(`${indent}<${node.name}${attrs}>`);
    for (const child of node.children) serialise(child, `${indent}  `, out);
    out.push(`${indent}</${node.name}>`);
  } else {
    out.push(`${indent}<${node.name}${attrs}>${escapeXml(node.text ?? '')}</${node.name}>`);
  }
}

/** An element whose text is a controlled term, with its vocabulary's URIs. */
const authority = (name: string, t: AuthorityTerm): Node =>
  el(name, t.value, { authority: t.authority, authorityURI: t.authorityURI, valueURI: t.valueURI });

const identifier = (prefix: string, id: Identifier): Node =>
  el(`${prefix}Identifier`, [el(`${prefix}IdentifierType`, id.type), el(`${prefix}IdentifierValue`, id.value)]);

function entityObject(p: Provenance): Node {
  const ocflIds = [...new Set(p.object.files.map((f) => f.storage.ocflObjectId))];
  const children: Node[] = [
    identifier('object', p.object.objectIdentifier),
    ...ocflIds.map((id) => identifier('object', { type: IDENTIFIER_TYPES.ocflObject, value: id })),
  ];
  if (p.object.files.length > 0) {
    children.push(
      el('relationship', [
        el('relationshipType', 'structural', {
          authority: 'relationshipType',
          authorityURI: 'http://id.loc.gov/vocabulary/preservation/relationshipType',
          valueURI: 'http://id.loc.gov/vocabulary/preservation/relationshipType/str',
        }),
        el('relationshipSubType', 'includes', {
          authority: 'relationshipSubType',
          authorityURI: 'http://id.loc.gov/vocabulary/preservation/relationshipSubType',
          valueURI: 'http://id.loc.gov/vocabulary/preservation/relationshipSubType/inc',
        }),
        ...p.object.files.map((f) =>
          el('relatedObjectIdentifier', [
            el('relatedObjectIdentifierType', f.objectIdentifier.type),
            el('relatedObjectIdentifierValue', f.objectIdentifier.value),
            el('relatedObjectSequence', String(f.sequence)),
          ]),
        ),
      ]),
    );
  }
  return el('object', children, { 'xsi:type': 'premis:intellectualEntity' });
}

function fileObject(f: ProvenanceFile): Node {
  return el(
    'object',
    [
      identifier('object', f.objectIdentifier),
      el('objectCharacteristics', [
        el('compositionLevel', '0'),
        ...f.fixity.map((x) => el('fixity', [authority('messageDigestAlgorithm', x.messageDigestAlgorithm), el('messageDigest', x.messageDigest)])),
        el('size', String(f.size)),
        el('format', [el('formatDesignation', [el('formatName', f.mediaType)])]),
      ]),
      el('originalName', f.originalName),
      el('storage', [
        el('contentLocation', [
          el('contentLocationType', IDENTIFIER_TYPES.contentPath),
          el('contentLocationValue', f.storage.contentPath),
        ]),
      ]),
    ],
    { 'xsi:type': 'premis:file' },
  );
}

function eventNode(e: PremisEvent): Node {
  const detail = e.eventDetailInformation.eventDetail;
  const outcome = e.eventOutcomeInformation;
  const note = outcome.eventOutcomeDetail?.note;
  return el('event', [
    identifier('event', e.eventIdentifier),
    authority('eventType', e.eventType),
    el('eventDateTime', e.eventDateTime),
    el('eventDetailInformation', [el('eventDetail', detail.vi)]),
    el('eventDetailInformation', [el('eventDetail', detail.en)]),
    el('eventOutcomeInformation', [
      authority('eventOutcome', outcome.eventOutcome),
      ...(note ? [note.vi, note.en].map((text) => el('eventOutcomeDetail', [el('eventOutcomeDetailNote', text)])) : []),
    ]),
    ...e.linkingAgentIdentifier.map((a) =>
      el('linkingAgentIdentifier', [
        el('linkingAgentIdentifierType', a.type),
        el('linkingAgentIdentifierValue', a.value),
        authority('linkingAgentRole', a.role),
        // The actor's role inside thukho, as a second, local role term.
        el('linkingAgentRole', a.actorRole, { authority: 'thukho role' }),
      ]),
    ),
    ...e.linkingObjectIdentifier.map((o) =>
      el('linkingObjectIdentifier', [
        el('linkingObjectIdentifierType', o.type),
        el('linkingObjectIdentifierValue', o.value),
        authority('linkingObjectRole', o.role),
      ]),
    ),
  ]);
}

function agentNode(a: PremisAgent): Node {
  return el('agent', [
    identifier('agent', a.agentIdentifier),
    el('agentName', a.agentName),
    authority('agentType', a.agentType),
    el('agentNote', `Vai trò trong thukho / thukho roles: ${a.roles.join(', ')}`),
  ]);
}

/** Text for an XML comment: "--" may not occur in one, nor may it end with "-". */
function commentText(text: string): string {
  return escapeXml(text).replace(/-(?=-)/g, '- ').replace(/-$/, '- ');
}

function chainComment(streamId: string, c: Provenance['chain']): string {
  const text =
    c.status === 'intact'
      ? `hash chain of ${streamId}: intact (${c.events} events, head ${c.head})`
      : `hash chain of ${streamId}: BROKEN at revision ${c.revision}: ${c.reason}`;
  return `<!-- ${commentText(text)} -->`;
}

/** The `premis:premis` element for one object's provenance (no XML declaration: METS embeds it). */
export function premisElement(p: Provenance): string {
  const out: string[] = [
    `<premis:premis xmlns:premis="${PREMIS_NS}" xmlns:xsi="${XSI_NS}" xsi:schemaLocation="${PREMIS_NS} ${PREMIS_XSD}" version="3.0">`,
    `  ${chainComment(p.streamId, p.chain)}`,
    `  ${chainComment(p.factsStreamId, p.factsChain)}`,
  ];
  const body: Node[] = [entityObject(p), ...p.object.files.map(fileObject), ...p.events.map(eventNode), ...p.agents.map(agentNode)];
  for (const node of body) serialise(node, '  ', out);
  out.push('</premis:premis>');
  return out.join('\n');
}

/** The PREMIS 3.0 XML document (with an XML declaration) for one object's provenance. */
export function premisXml(p: Provenance): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${premisElement(p)}\n`;
}

import { escapeXml } from './xml.ts';

/**
 * A tiny element tree for the writers whose schemas fix element order and nesting (MODS,
 * METS): building a tree first keeps escaping in one place and makes an empty element
 * impossible to forget to close.
 */
export interface XmlNode {
  /** Qualified name as written, e.g. "mods:titleInfo". */
  name: string;
  /** Attributes in the order written; an undefined value is left out. */
  attributes?: Record<string, string | undefined>;
  text?: string;
  children?: Array<XmlNode | RawXml>;
}

/** Already-serialised XML to embed as is (e.g. another writer's element); never user text. */
export interface RawXml {
  raw: string;
}

export function xmlNode(
  name: string,
  content: string | Array<XmlNode | RawXml | undefined | false> = [],
  attributes?: Record<string, string | undefined>,
): XmlNode {
  const node: XmlNode = { name };
  if (typeof content === 'string') node.text = content;
  else node.children = content.filter((c): c is XmlNode | RawXml => Boolean(c));
  if (attributes) node.attributes = attributes;
  return node;
}

function attributesOf(node: XmlNode): string {
  return Object.entries(node.attributes ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(v).replace(/\n/g, '&#10;').replace(/\t/g, '&#9;')}"`)
    .join('');
}

/**
 * Serialises `node` with two-space indentation; text content is escaped. Raw XML is written
 * exactly as given (re-indenting it would change the text of any element spanning lines).
 */
export function serialiseXml(node: XmlNode | RawXml, indent = ''): string {
  const out: string[] = [];
  const walk = (n: XmlNode | RawXml, pad: string): void => {
    if ('raw' in n) {
      out.push(n.raw);
      return;
    }
    const attrs = attributesOf(n);
    if (n.children && n.children.length > 0) {
      out.push(`${pad}<${n.name}${attrs}>`);
      for (const child of n.children) walk(child, `${pad}  `);
      out.push(`${pad}</${n.name}>`);
    } else if (n.text !== undefined && n.text !== '') {
      out.push(`${pad}<${n.name}${attrs}>${escapeXml(n.text)}</${n.name}>`);
    } else {
      out.push(`${pad}<${n.name}${attrs}/>`);
    }
  };
  walk(node, indent);
  return out.join('\n');
}

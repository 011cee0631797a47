/**
 * A small, strict XML 1.0 + Namespaces parser (no XML parser is installed; tests must not
 * depend on xmllint, and the OAI-PMH harvester reads other repositories' responses with it). It throws on anything a conforming
 * parser would refuse in the documents we write: characters outside Char, bad names,
 * unbalanced or misnested tags, duplicate attributes, "<" in attribute values, unknown
 * entities, "]]>" in text, "--" in comments, undeclared prefixes, more than one root.
 * DOCTYPEs are refused outright (we never write one). Returns the element tree with
 * namespaces resolved and text decoded, for assertions.
 */
export interface XmlElement {
  /** The qualified name as written, e.g. "premis:event". */
  name: string;
  /** The namespace URI the prefix resolves to ('' for none). */
  namespace: string;
  localName: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its descendants'), decoded. */
  text: string;
}

export class XmlError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(
    readonly reason: string,
    readonly offset: number,
    source = '',
  ) {
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    super(`${reason} (line ${line}, column ${column})`);
    this.name = 'XmlError';
    this.line = line;
    this.column = column;
  }
}

const NOT_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NAME_START = 'A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
/** A Name without colons (NCName); a QName is one or two of them. */
const NCNAME = `[${NAME_START}][${NAME_CHAR}]*`;
const QNAME = new RegExp(`^${NCNAME}(?::${NCNAME})?$`, 'u');
const NAME_AT = new RegExp(`[:${NAME_START}][:${NAME_CHAR}]*`, 'uy');
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function isChar(cp: number): boolean {
  return !NOT_CHAR.test(String.fromCodePoint(cp));
}

export function parseXml(input: string): XmlElement {
  // A byte order mark may lead (Windows tools write one); line ends read as LF (XML 1.0 §2.11).
  const xml = (input.startsWith('\uFEFF') ? input.slice(1) : input).replace(/\r\n?/g, '\n');
  let i = 0;
  const fail = (message: string, at = i): never => {
    throw new XmlError(message, at, xml);
  };
  const bad = NOT_CHAR.exec(xml);
  if (bad) fail(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase()} is not allowed in XML 1.0`, bad.index);

  const startsWith = (s: string) => xml.startsWith(s, i);
  const skipSpace = () => {
    const start = i;
    while (i < xml.length && ' \t\r\n'.includes(xml[i] as string)) i++;
    return i > start;
  };
  const name = (): string => {
    NAME_AT.lastIndex = i;
    const m = NAME_AT.exec(xml);
    if (!m) return fail('a name was expected');
    i += m[0].length;
    return m[0];
  };
  /** Decodes the references in a piece of text; `attribute` also normalises literal whitespace. */
  const decode = (raw: string, at: number, attribute: boolean): string => {
    let out = '';
    for (let k = 0; k < raw.length; k++) {
      const c = raw[k] as string;
      if (c === '&') {
        const end = raw.indexOf(';', k);
        if (end < 0) fail('"&" that does not start a reference', at + k);
        const ref = raw.slice(k + 1, end);
        if (ref.startsWith('#')) {
          const cp = /^#x[0-9A-Fa-f]+$/.test(ref) ? Number.parseInt(ref.slice(2), 16) : /^#[0-9]+$/.test(ref) ? Number.parseInt(ref.slice(1), 10) : Number.NaN;
          if (!Number.isFinite(cp) || cp > 0x10ffff || !isChar(cp)) fail(`bad character reference &${ref};`, at + k);
          out += String.fromCodePoint(cp);
        } else {
          const v = PREDEFINED[ref];
          if (v === undefined) fail(`undeclared entity &${ref};`, at + k);
          out += v;
        }
        k = end;
      } else if (attribute && (c === '\t' || c === '\n' || c === '\r')) {
        out += ' ';
      } else {
        out += c;
      }
    }
    return out;
  };
  const comment = () => {
    const start = i;
    i += 4;
    const end = xml.indexOf('-->', i);
    if (end < 0) fail('unterminated comment', start);
    const body = xml.slice(i, end);
    if (body.includes('--') || body.endsWith('-')) fail('"--" inside a comment', start);
    i = end + 3;
  };
  const pi = () => {
    const start = i;
    i += 2;
    const target = name();
    if (target.toLowerCase() === 'xml') fail('an XML declaration is only allowed at the very start', start);
    if (target.includes(':')) fail('a processing instruction target may not contain ":"', start);
    const end = xml.indexOf('?>', i);
    if (end < 0) fail('unterminated processing instruction', start);
    i = end + 2;
  };
  const misc = () => {
    for (;;) {
      skipSpace();
      if (startsWith('<!--')) comment();
      else if (startsWith('<?')) pi();
      else return;
    }
  };

  if (startsWith('<?xml') && /^<\?xml[\s?]/.test(xml)) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unterminated XML declaration');
    const decl = xml.slice(0, end + 2);
    if (!/^<\?xml\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*\?>$/.test(decl)) {
      fail('malformed XML declaration');
    }
    i = end + 2;
  }
  misc();
  if (startsWith('<!DOCTYPE')) fail('DOCTYPE is not expected here');
  if (!startsWith('<')) fail('the root element was expected');

  type Open = { element: XmlElement; scope: Map<string, string> };
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  const resolve = (qname: string, scope: Map<string, string>, isAttribute: boolean, at: number): [string, string] => {
    if (!QNAME.test(qname)) fail(`"${qname}" is not a valid qualified name`, at);
    const colon = qname.indexOf(':');
    if (colon < 0) return [isAttribute ? '' : (scope.get('') ?? ''), qname];
    const prefix = qname.slice(0, colon);
    const ns = scope.get(prefix);
    if (ns === undefined) fail(`namespace prefix "${prefix}" is not declared`, at);
    return [ns as string, qname.slice(colon + 1)];
  };

  const startTag = () => {
    const start = i;
    i++;
    const tag = name();
    const raw: Array<[string, string, number]> = [];
    for (;;) {
      const spaced = skipSpace();
      if (startsWith('/>') || startsWith('>')) break;
      if (!spaced) fail('whitespace expected between attributes');
      const at = i;
      const attr = name();
      skipSpace();
      if (xml[i] !== '=') fail(`"=" expected after attribute ${attr}`);
      i++;
      skipSpace();
      const quote = xml[i];
      if (quote !== '"' && quote !== "'") fail('attribute value must be quoted');
      const end = xml.indexOf(quote as string, i + 1);
      if (end < 0) fail('unterminated attribute value');
      const value = xml.slice(i + 1, end);
      if (value.includes('<')) fail(`"<" in the value of attribute ${attr}`, i);
      if (raw.some(([n]) => n === attr)) fail(`attribute ${attr} appears twice`, at);
      raw.push([attr, decode(value, i + 1, true), at]);
      i = end + 1;
    }
    const selfClosing = startsWith('/>');
    i += selfClosing ? 2 : 1;

    const parentScope = stack.at(-1)?.scope ?? new Map([['xml', XML_NS], ['xmlns', XMLNS_NS]]);
    const scope = new Map(parentScope);
    for (const [n, v, at] of raw) {
      if (n === 'xmlns') scope.set('', v);
      else if (n.startsWith('xmlns:')) {
        const p = n.slice(6);
        if (p === 'xmlns' || (p === 'xml') !== (v === XML_NS)) fail(`reserved prefix ${p} misused`, at);
        if (v === '') fail(`prefix ${p} may not be undeclared in XML 1.0`, at);
        scope.set(p, v);
      }
    }
    const [namespace, localName] = resolve(tag, scope, false, start);
    const attributes: Record<string, string> = {};
    const expanded = new Set<string>();
    for (const [n, v, at] of raw) {
      attributes[n] = v;
      if (n === 'xmlns' || n.startsWith('xmlns:')) continue;
      const [ns, local] = resolve(n, scope, true, at);
      const key = `{${ns}}${local}`;
      if (expanded.has(key)) fail(`attribute {${ns}}${local} appears twice`, at);
      expanded.add(key);
    }
    const element: XmlElement = { name: tag, namespace, localName, attributes, children: [], text: '' };
    const parent = stack.at(-1);
    if (parent) parent.element.children.push(element);
    else if (root) fail('a second root element', start);
    else root = element;
    if (!selfClosing) stack.push({ element, scope });
  };

  do {
    if (startsWith('</')) {
      const start = i;
      i += 2;
      const tag = name();
      skipSpace();
      if (xml[i] !== '>') fail('">" expected');
      i++;
      const open = stack.pop();
      if (!open || open.element.name !== tag) fail(`</${tag}> does not close <${open?.element.name ?? '(nothing)'}>`, start);
    } else if (startsWith('<!--')) {
      comment();
    } else if (startsWith('<![CDATA[')) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA section');
      (stack.at(-1) as Open).element.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (startsWith('<?')) {
      pi();
    } else if (startsWith('<!')) {
      fail('markup declarations are not expected here');
    } else if (startsWith('<')) {
      startTag();
    } else {
      const start = i;
      const end = xml.indexOf('<', i);
      const raw = xml.slice(i, end < 0 ? xml.length : end);
      if (raw.includes(']]>')) fail('"]]>" in text', start + raw.indexOf(']]>'));
      (stack.at(-1) as Open).element.text += decode(raw, start, false);
      i += raw.length;
    }
  } while (stack.length > 0 && i < xml.length);
  if (stack.length > 0) fail(`<${stack.at(-1)?.element.name}> is never closed`);
  misc();
  if (i < xml.length) fail('content after the root element');
  return root as XmlElement;
}

/** Every element below `from` (depth-first, document order) with this namespace and local name. */
export function findAll(from: XmlElement, namespace: string, localName: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (c.namespace === namespace && c.localName === localName) out.push(c);
      walk(c);
    }
  };
  walk(from);
  return out;
}

/** The one child with this local name (in `from`'s namespace); throws when there is not exactly one. */
export function child(from: XmlElement, localName: string): XmlElement {
  const found = from.children.filter((c) => c.localName === localName && c.namespace === from.namespace);
  if (found.length !== 1) throw new Error(`<${from.name}> has ${found.length} <${localName}> children, expected 1`);
  return found[0] as XmlElement;
}

/** The text of every child with this local name, in order. */
export function childTexts(from: XmlElement, localName: string): string[] {
  return from.children.filter((c) => c.localName === localName && c.namespace === from.namespace).map((c) => c.text);
}

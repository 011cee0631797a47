/**
 * A strict reader for small XML documents from outside (DSpace's dublin_core.xml and
 * metadata_*.xml): the project has no XML parser dependency, and these files are small,
 * namespace-free and written by machines. It checks well-formedness (one root, matching
 * tags, quoted unique attributes, legal characters, known entities) and refuses a DOCTYPE
 * outright: no entity expansion, so no "billion laughs" and no external entities.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (text and CDATA directly inside it), concatenated. */
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${reason} (line ${line}, column ${column})`);
    this.name = 'XmlSyntaxError';
  }
}

const NAME = /^[A-Za-z_:\u00C0-\uFFFF][A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]*/;
// XML 1.0 Char: tab, LF, CR, and everything from U+0020 except surrogates and U+FFFE/U+FFFF.
// eslint-disable-next-line no-control-regex
const ILLEGAL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Parses `input` (a decoded string; a leading BOM is allowed) into its root element. */
export function parseXml(input: string): XmlElement {
  // End-of-line handling (XML 1.0 §2.11): CR LF and lone CR read as LF.
  const src = (input.startsWith('\uFEFF') ? input.slice(1) : input).replace(/\r\n?/g, '\n');
  let pos = 0;
  const fail = (reason: string, at = pos): never => {
    const before = src.slice(0, at);
    const line = before.split('\n').length;
    throw new XmlSyntaxError(reason, line, at - before.lastIndexOf('\n'));
  };
  const bad = ILLEGAL_CHAR.exec(src);
  if (bad) fail(`illegal character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`, bad.index);

  const decode = (raw: string, at: number): string =>
    raw.replace(/&([^;&]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) fail('"&" not starting an entity reference (write &amp;)', at);
      if (ref.startsWith('#')) {
        const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (!/^#(x[0-9A-Fa-f]+|[0-9]+)$/.test(ref) || !Number.isFinite(code) || code > 0x10ffff) fail(`bad character reference &${ref};`, at);
        const char = String.fromCodePoint(code);
        if (ILLEGAL_CHAR.test(char) || (code >= 0xd800 && code <= 0xdfff)) fail(`character reference &${ref}; names an illegal character`, at);
        return char;
      }
      const value = PREDEFINED[ref];
      if (value === undefined) fail(`unknown entity &${ref};`, at);
      return value as string;
    });

  const skipMisc = (allowDeclaration: boolean) => {
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))![0].length;
      pos += ws;
      if (src.startsWith('<?xml', pos) && /^<\?xml[\s?]/.test(src.slice(pos, pos + 6))) {
        if (!allowDeclaration || pos !== ws || ws !== 0) fail('XML declaration not at the very start');
        const end = src.indexOf('?>', pos);
        if (end < 0) fail('unclosed XML declaration');
        pos = end + 2;
        allowDeclaration = false;
      } else if (src.startsWith('<?', pos)) {
        const end = src.indexOf('?>', pos);
        if (end < 0) fail('unclosed processing instruction');
        pos = end + 2;
      } else if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos + 4);
        if (end < 0) fail('unclosed comment');
        if (src.slice(pos + 4, end).includes('--')) fail('"--" inside a comment');
        pos = end + 3;
      } else if (src.startsWith('<!DOCTYPE', pos)) {
        fail('a DOCTYPE is not accepted (no DTDs or entity declarations)');
      } else return;
      allowDeclaration = false;
    }
  };

  const element = (): XmlElement => {
    if (src[pos] !== '<') fail('expected "<"');
    pos++;
    const name = NAME.exec(src.slice(pos))?.[0];
    if (!name) fail('expected an element name');
    pos += name!.length;
    const node: XmlElement = { name: name!, attributes: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(src.slice(pos))![0].length;
      pos += ws;
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return node;
      }
      if (src[pos] === '>') {
        pos++;
        break;
      }
      if (!ws) fail(`expected whitespace, ">" or "/>" in <${name}>`);
      const attr = NAME.exec(src.slice(pos))?.[0];
      if (!attr) fail(`bad attribute in <${name}>`);
      pos += attr!.length;
      const eq = /^\s*=\s*/.exec(src.slice(pos));
      if (!eq) fail(`attribute ${attr} has no "="`);
      pos += eq![0].length;
      const quote = src[pos];
      if (quote !== '"' && quote !== "'") fail(`attribute ${attr} value is not quoted`);
      const end = src.indexOf(quote!, pos + 1);
      if (end < 0) fail(`unclosed value of attribute ${attr}`);
      const raw = src.slice(pos + 1, end);
      if (raw.includes('<')) fail(`"<" inside the value of attribute ${attr}`);
      if (attr! in node.attributes) fail(`attribute ${attr} repeated in <${name}>`);
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal whitespace becomes spaces.
      node.attributes[attr!] = decode(raw.replace(/[\t\n\r]/g, ' '), pos);
      pos = end + 1;
    }
    for (;;) {
      const next = src.indexOf('<', pos);
      if (next < 0) fail(`<${name}> is never closed`);
      const chars = src.slice(pos, next);
      if (chars.includes(']]>')) fail('"]]>" in text');
      node.text += decode(chars, pos);
      pos = next;
      if (src.startsWith('</', pos)) {
        pos += 2;
        const close = NAME.exec(src.slice(pos))?.[0];
        if (close !== name) fail(`</${close ?? ''}> closes <${name}>`);
        pos += close!.length;
        pos += /^\s*/.exec(src.slice(pos))![0].length;
        if (src[pos] !== '>') fail(`expected ">" after </${name}`);
        pos++;
        return node;
      }
      if (src.startsWith('<![CDATA[', pos)) {
        const end = src.indexOf(']]>', pos);
        if (end < 0) fail('unclosed CDATA section');
        node.text += src.slice(pos + 9, end);
        pos = end + 3;
      } else if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos + 4);
        if (end < 0) fail('unclosed comment');
        pos = end + 3;
      } else if (src.startsWith('<?', pos)) {
        const end = src.indexOf('?>', pos);
        if (end < 0) fail('unclosed processing instruction');
        pos = end + 2;
      } else if (src.startsWith('<!', pos)) {
        fail('unexpected markup declaration');
      } else node.children.push(element());
    }
  };

  skipMisc(true);
  if (pos >= src.length) fail('no root element');
  const root = element();
  skipMisc(false);
  if (pos < src.length) fail('content after the root element');
  return root;
}

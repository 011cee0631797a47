/** XML text for every writer in formats/ (and the HTML pages, whose escaping is the same). */

/** Characters outside the XML 1.0 `Char` production (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
export const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Escapes text for XML element content (also safe in a quoted attribute value, where a line
 * break reads as a space): NFC, characters XML 1.0 does not allow removed, CR and CRLF made LF.
 */
export function escapeXml(text: string): string {
  return text
    .normalize('NFC')
    .replace(NOT_XML_CHAR, '')
    .replace(/\r\n?/g, '\n') // what an XML parser would make of them anyway
    .replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

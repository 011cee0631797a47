/**
 * Reports as CSV (RFC 4180) for spreadsheets: UTF-8 with a BOM and CRLF line ends, so that a
 * file opened by double-click shows the diacritics. A text cell that a spreadsheet would run
 * as a formula (=, +, -, @ first: text readers typed into a search can reach a report) is
 * kept as text with a leading apostrophe (OWASP's advice on CSV injection); numbers are as they are.
 */
const field = (v: string | number): string => {
  const s = typeof v === 'number' ? String(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function csvDocument(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return `\uFEFF${rows.map((r) => r.map(field).join(',')).join('\r\n')}\r\n`;
}

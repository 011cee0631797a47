/**
 * RFC 4180 CSV as spreadsheets write it: quoted fields with doubled quotes and line breaks,
 * CRLF or LF, a UTF-8 BOM (Excel adds one), and `;` as the separator when the header line
 * has more semicolons than commas (Excel's choice in locales with a decimal comma).
 */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

export function parseCsv(text: string): string[][] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const firstLine = src.slice(0, src.search(/\r?\n|$/));
  const sep = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let fieldStartLine = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field !== '') throw new CsvError('a quote inside an unquoted field', line);
      quoted = true;
      fieldStartLine = line;
    } else if (c === sep) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      line++;
    } else field += c;
  }
  if (quoted) throw new CsvError('a quoted field is never closed', fieldStartLine);
  row.push(field);
  if (row.length > 1 || row[0] !== '') rows.push(row);
  return rows;
}

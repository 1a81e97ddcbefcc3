/** @module A small RFC 4180 CSV reader and writer, reporting line numbers so import errors can name them. */

/** One parsed record with the line it starts on (1-based, the header is line 1). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** Parses CSV text (quoted fields, doubled quotes, CRLF or LF); an unterminated quote is reported. @see RFC 4180 §2 */
export function parseCsv(text: string): { records: CsvRecord[]; error?: { line: number; message: string } } {
  const records: CsvRecord[] = [];
  let line = 1;
  let start = 1;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  const src = text.startsWith('\ufeff') ? text.slice(1) : text;
  const endRecord = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === '')) records.push({ line: start, cells });
    cells = [];
    cell = '';
  };
  while (i < src.length) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (c === '\n') line++;
      cell += c; i++; continue;
    }
    if (c === '"' && cell === '') { quoted = true; i++; continue; }
    if (c === ',') { cells.push(cell); cell = ''; i++; continue; }
    if (c === '\r' && src[i + 1] === '\n') { i++; continue; }
    if (c === '\n') { endRecord(); line++; start = line; i++; continue; }
    cell += c; i++;
  }
  if (quoted) return { records, error: { line: start, message: 'a quoted field is not closed' } };
  if (cell !== '' || cells.length > 0) endRecord();
  return { records };
}

/** Formats one CSV line, quoting cells that need it; cells starting with = + - @ are prefixed so spreadsheets do not run them. @see RFC 4180 §2 */
export function csvLine(cells: readonly (string | number | null | undefined)[]): string {
  return cells.map((v) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=@]|^[+-][^\d ]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }).join(',');
}

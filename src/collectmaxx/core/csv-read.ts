// A strict reader for Collectmaxx result files. The specification says result files
// follow the input rules (UTF-8, `;`, `"` qualifier, LF) and the portal PayLink
// file is `;`-separated. A file is all-or-nothing: the first thing that is not
// well-formed stops the read with its line and column, so an operator can open
// the file at that spot. Lenient only where it cannot change meaning: a BOM,
// CRLF line ends, unquoted fields, trailing empty lines.

export class FileFormatError extends Error {
  /** 1-based; 0 means the problem is the file name, not its content. */
  readonly line: number;
  /** 1-based, counted in characters (Unicode code points) of that line. */
  readonly column: number;
  readonly reason: string;
  constructor(reason: string, line: number, column: number) {
    super(line === 0 ? reason : `line ${line}, column ${column}: ${reason}`);
    this.name = 'FileFormatError';
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export interface CsvCell {
  readonly value: string;
  /** Where the cell starts (its opening quote if quoted). */
  readonly line: number;
  readonly column: number;
}

export interface CsvRow {
  readonly line: number;
  readonly cells: readonly CsvCell[];
}

/** Byte offset of the first invalid UTF-8 sequence, or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    let need: number;
    let min: number;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; } else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; } else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; } else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Decode UTF-8 strictly; an invalid byte is reported at its line and column. */
export function decodeUtf8(bytes: Uint8Array): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const before = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(0, bad));
    const lines = before.split('\n');
    const last = lines[lines.length - 1] ?? '';
    throw new FileFormatError('invalid UTF-8 byte sequence', lines.length, [...last.replace(/^\uFEFF/, '')].length + 1);
  }
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}

export interface ReadCsvOptions {
  /** Field delimiter; `;` for every Collectmaxx file. */
  readonly delimiter?: string;
}

/**
 * Read the whole file into rows of cells. Every row must have as many cells
 * as the first (the header); a short row is reported at its end, a long one
 * at its first extra cell. Scans the decoded string in place (values are
 * slices), so a file costs about its own size twice, not an array entry per
 * character: monthly result files can be large.
 */
export function readCsv(input: string | Uint8Array, opts: ReadCsvOptions = {}): CsvRow[] {
  const delimiter = opts.delimiter ?? ';';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new RangeError('delimiter must be one character other than a quote or line break');
  }
  const decoded = typeof input === 'string' ? input : decodeUtf8(input);
  const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  const n = text.length;
  const D = delimiter.charCodeAt(0);
  const rows: CsvRow[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const fail = (reason: string, l = line, c = col): never => {
    throw new FileFormatError(reason, l, c);
  };
  // Columns count code points: a surrogate pair is one character.
  const step = () => {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    col++;
  };
  const onlyLineBreaksLeft = () => {
    for (let j = i; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === LF) continue;
      if (c === CR && text.charCodeAt(j + 1) === LF) { j++; continue; }
      return false;
    }
    return true;
  };

  while (i < n && !onlyLineBreaksLeft()) {
    const rowLine = line;
    const cells: CsvCell[] = [];
    for (;;) {
      const cellLine = line;
      const cellCol = col;
      let value = '';
      if (text.charCodeAt(i) === QUOTE) {
        i++; col++;
        let from = i;
        for (;;) {
          if (i >= n) fail('quoted field is not closed', cellLine, cellCol);
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              value += text.slice(from, i + 1); // up to and including one of the two quotes
              i += 2; col += 2;
              from = i;
              continue;
            }
            value += text.slice(from, i);
            i++; col++;
            break;
          }
          if (c === LF) { i++; line++; col = 1; } else step();
        }
        if (i < n) {
          const next = text.charCodeAt(i);
          if (next !== D && next !== LF && next !== CR) {
            fail(`unexpected ${JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))} after a closing quote (a quote inside a field must be doubled)`);
          }
        }
      } else {
        const from = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === D || c === LF || c === CR) break;
          if (c === QUOTE) fail('quote inside an unquoted field');
          step();
        }
        value = text.slice(from, i);
      }
      cells.push({ value, line: cellLine, column: cellCol });
      const t = i < n ? text.charCodeAt(i) : -1;
      if (t === D) { i++; col++; continue; }
      if (t === CR) {
        if (text.charCodeAt(i + 1) !== LF) fail('carriage return without line feed');
        i += 2;
      } else if (t === LF) i++;
      const width = rows[0]?.cells.length;
      if (width !== undefined && cells.length !== width) {
        if (cells.length > width) {
          const extra = cells[width] as CsvCell;
          fail(`${cells.length} fields where the header has ${width}`, extra.line, extra.column);
        }
        fail(`${cells.length} fields where the header has ${width}`);
      }
      rows.push({ line: rowLine, cells });
      if (t !== -1) { line++; col = 1; }
      break;
    }
  }
  return rows;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

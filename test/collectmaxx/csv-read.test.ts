import t, { type Test } from 'tap';
import { decodeUtf8, FileFormatError, readCsv } from '../../src/collectmaxx/core/csv-read.js';

const values = (s: string | Uint8Array) => readCsv(s).map((r) => r.cells.map((c) => c.value));

t.test('quoted and unquoted fields, doubled quotes, line ends', async (t) => {
  t.same(values('"a";"b"\n"1";"2"\n'), [['a', 'b'], ['1', '2']]);
  t.same(values('a;b\r\n1;2'), [['a', 'b'], ['1', '2']], 'CRLF and no final newline');
  t.same(values('"a";"b"\n"x ""y"" z";"1;2"\n'), [['a', 'b'], ['x "y" z', '1;2']]);
  t.same(values('"a";"b"\n"line1\nline2";""\n'), [['a', 'b'], ['line1\nline2', '']], 'newline inside quotes');
  t.same(values('a;b;c\n;;\n'), [['a', 'b', 'c'], ['', '', '']]);
  t.same(values('\uFEFFa;b\n1;2\n\n\n'), [['a', 'b'], ['1', '2']], 'BOM and trailing empty lines');
  t.same(values(''), []);
  t.same(values(Buffer.from('"naïve";"€"\n', 'utf8')), [['naïve', '€']]);
});

t.test('cells know where they start', async (t) => {
  const rows = readCsv('"h1";"h2"\n"a\nb";"c"\n"d";"e"\n');
  t.same(rows.map((r) => r.line), [1, 2, 4]);
  t.same(rows[1]!.cells.map((c) => [c.line, c.column]), [[2, 1], [3, 4]]);
  t.same(rows[2]!.cells.map((c) => [c.line, c.column]), [[4, 1], [4, 5]]);
});

function failsAt(t: Test, input: string | Uint8Array, line: number, column: number, reason: RegExp) {
  try {
    readCsv(input);
    t.fail(`expected an error at ${line}:${column}`);
  } catch (err) {
    t.ok(err instanceof FileFormatError, 'FileFormatError');
    const e = err as FileFormatError;
    t.same([e.line, e.column], [line, column], `position of: ${e.message}`);
    t.match(e.reason, reason);
    t.equal(e.message, `line ${line}, column ${column}: ${e.reason}`);
  }
}

t.test('the first error is reported with line and column', async (t) => {
  failsAt(t, '"a";"b"\n"1";"2\n', 2, 5, /quoted field is not closed/);
  failsAt(t, '"a";"b"\n"1";"2\n"3";"4"\n', 3, 2, /unexpected "3" after a closing quote/);
  failsAt(t, '"a";"b"\n"1"x;"2"\n', 2, 4, /unexpected "x" after a closing quote/);
  failsAt(t, '"a";"b"\n"1";"say "hi""\n', 2, 11, /unexpected "h" after a closing quote/);
  failsAt(t, 'a;b\n1;x"y\n', 2, 4, /quote inside an unquoted field/);
  failsAt(t, '"a";"b"\n"1";"2";"3"\n', 2, 9, /3 fields where the header has 2/);
  failsAt(t, '"a";"b";"c"\n"1";"2"\n', 2, 8, /2 fields where the header has 3/);
  failsAt(t, '"a";"b"\n"1";"2"\n\n"3";"4"\n', 3, 1, /1 fields where the header has 2/);
  failsAt(t, '"a";"b"\r"1";"2"\n', 1, 8, /carriage return without line feed/);
  failsAt(t, '"ä";"b"\n"ü€";"x"y\n', 2, 9, /after a closing quote/);
  failsAt(t, '"a";"b"\n"😀";"x"y\n', 2, 8, /after a closing quote/);
  failsAt(t, Buffer.concat([Buffer.from('"a";"b"\n"ok";"b', 'utf8'), Buffer.from([0xff]), Buffer.from('"\n')]), 2, 8, /invalid UTF-8/);
});

t.test('strict UTF-8', async (t) => {
  t.equal(decodeUtf8(Buffer.from('héllo', 'utf8')), 'héllo');
  t.throws(() => decodeUtf8(Buffer.from([0x61, 0x0a, 0x62, 0xc3, 0x28])), { name: 'FileFormatError', line: 2, column: 2 }, 'truncated sequence');
  t.throws(() => decodeUtf8(Buffer.from([0xc0, 0xaf])), { name: 'FileFormatError', line: 1, column: 1 }, 'overlong');
  t.throws(() => decodeUtf8(Buffer.from([0xed, 0xa0, 0x80])), { name: 'FileFormatError', line: 1, column: 1 }, 'surrogate');
  t.throws(() => decodeUtf8(Buffer.from('hé\u00ff', 'latin1')), { name: 'FileFormatError', line: 1, column: 2 }, 'latin-1 is not UTF-8');
});

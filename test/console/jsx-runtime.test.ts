import t from 'tap';
import { documentHtml, escapeHtml, h } from '../../src/console/jsx-runtime.js';
import { safeNext } from '../../src/console/auth.js';
import { BarChart, niceMax } from '../../src/console/charts.js';
import { parseUtcInput, toInputValue, fmtTime, fmtPct } from '../../src/console/format.js';
import * as x from './_jsx-fixtures.js';

t.test('text and attribute values are escaped; Html children are not escaped twice', async (t) => {
  const evil = x.evil;
  t.equal(escapeHtml(evil), '&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;');
  t.equal(x.para().value, `<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
  t.equal(x.nested().value, '<div><b>&lt;i&gt;</b></div>');
  t.equal(x.list().value, '<ul><li>a</li><li>&lt;b&gt;</li></ul>');
  t.equal(x.falsy().value, '<p>0</p>', 'null, undefined and booleans render nothing; 0 renders');
  t.equal(x.voidEl().value, '<input type="checkbox" checked value="3">', 'void elements, boolean attributes');
  t.equal(x.classes().value, '<p class="a b">x</p>');
  t.equal(x.frag().value, 'a<hr>');
  t.equal(documentHtml(x.html()), '<!doctype html>\n<html></html>');
});

t.test('links never carry script URLs, whatever they are built from', async (t) => {
  for (const url of ['javascript:alert(1)', ' JaVaScRiPt:alert(1)', 'java\tscript:alert(1)', 'data:text/html,<script>', 'vbscript:x']) {
    t.equal(x.link(url).value, '<a href="#">x</a>', JSON.stringify(url));
    t.equal(x.form(url).value, '<form action="#"></form>');
  }
  t.equal(x.ampLink().value, '<a href="/console/events?transId=a&amp;b">x</a>', 'JSX decodes the entity, the runtime escapes it again');
});

t.test('inline script, inline style and event handler attributes cannot be written', async (t) => {
  const anyProps = (p: Record<string, unknown>) => p as any;
  t.throws(() => h('p', anyProps({ onclick: 'alert(1)' })), /event handler/);
  t.throws(() => h('p', anyProps({ OnMouseOver: 'x' })), /event handler/);
  t.throws(() => h('p', anyProps({ style: 'color:red' })), /style attributes/);
  t.throws(() => h('script', null, 'alert(1)'), /inline <script>/);
  t.throws(() => h('script', null), /inline <script>/, 'a script needs a src');
  t.throws(() => h('style', null, 'p{}'), /inline <style>/);
  t.throws(() => h('p', anyProps({ 'a"b': 'x' })), /invalid attribute/);
  t.throws(() => h('p x', null), /invalid tag/);
  t.equal(h('script', { src: '/console/assets/console.js', defer: true }).value, '<script src="/console/assets/console.js" defer></script>');
});

t.test('components get props and children', async (t) => {
  t.equal(x.box().value, '<section><h2>&lt;t&gt;</h2><p>1</p><p>2</p></section>');
});

t.test('helpers', async (t) => {
  for (const [input, out] of [
    ['/console/events?transId=1', '/console/events?transId=1'],
    ['/console', '/console'],
    ['//evil.example/console', '/console'],
    ['https://evil.example/console', '/console'],
    ['/console/../admin/events', '/console'],
    ['/consoleX', '/console'],
    ['/console\\@evil', '/console'],
    ['/console/login?next=/console', '/console'],
    [undefined, '/console'],
  ] as const) t.equal(safeNext(input), out, String(input));
  const at = Date.UTC(2026, 0, 31, 10, 0);
  for (const input of ['2026-01-31T10:00Z', '2026-01-31T10:00', '2026-01-31 10:00', '2026-01-31t10:00z', '2026-01-31T10:00:00.000Z', '2026-01-31T11:00+01:00']) {
    t.equal(parseUtcInput(input), at, `${input}: 10:00 UTC (no zone means UTC)`);
  }
  t.equal(parseUtcInput('2026-01-31'), Date.UTC(2026, 0, 31), 'a date alone is its midnight UTC');
  t.equal(parseUtcInput('2026-01-31T10:00:07.5Z'), at + 7500, 'seconds and milliseconds');
  for (const bad of ['Jan 31 2026 10:00', '31.01.2026 10:00', '2026-02-31T10:00Z', '2026-01-31T24:00Z', '2026-01-31T10:00+25:00', '2026-1-31', '2026', String(at), 'yesterday', '']) {
    t.equal(parseUtcInput(bad), null, `${JSON.stringify(bad)} is refused, never read in a local zone`);
  }
  t.equal(toInputValue('2026-01-31T11:00+01:00'), '2026-01-31T10:00Z', 'written back in UTC, with its Z');
  t.equal(toInputValue('2026-01-31T10:00:07.000Z'), '2026-01-31T10:00:07Z');
  t.equal(toInputValue('tomorrow <b>'), 'tomorrow <b>', 'what did not parse stays as typed (the runtime escapes it)');
  t.equal(fmtTime(Date.UTC(2026, 0, 31, 10, 4, 5)), '2026-01-31 10:04:05Z');
  t.equal(fmtPct(null), '—');
  t.equal(fmtPct(0.5), '50.0 %');
  t.same([0, 1, 3, 7, 10, 11, 240, 999].map(niceMax), [1, 1, 5, 10, 10, 20, 250, 1000]);
  const svg = BarChart({ title: '<t>', bucketMs: 60_000, series: [{ label: 'ok', cls: 'bar-ok' }, { label: 'bad', cls: 'bar-bad' }], buckets: [{ start: 0, values: [3, 1] }, { start: 60_000, values: [0, 0] }] }).value;
  t.match(svg, /<svg viewBox="0 0 420 140" role="img" aria-label="&lt;t&gt;: 3 ok, 1 bad"/);
  t.equal((svg.match(/<rect class=/g) ?? []).length, 2, 'one rect per non-zero value');
  t.match(svg, /<title>00:00–00:01Z: 3 ok, 1 bad<\/title>/);
});

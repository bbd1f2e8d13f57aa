import t from 'tap';
import { parseTemplate, renderTemplate, TemplateError } from '../../src/collectmaxx/core/template.js';
import { EVENTS } from './helpers.js';

const event = EVENTS[0]!;
const render = (s: string, today = '2026-01-15') => renderTemplate(parseTemplate(s), event, today);

t.test('placeholders take values from the event envelope, data, fields and custom', async (t) => {
  t.same(render('{data.transId}'), { value: 'TX-1001', unresolved: [] });
  t.equal(render('{fields.amount}').value, '1999');
  t.equal(render('{data.fields.currency}').value, 'EUR', 'the long form works too');
  t.equal(render('{custom.lastname}').value, '  Mustermann ', 'not trimmed here: validation trims');
  t.equal(render('{merchantId}').value, 'ShopTest');
  t.equal(render('{id}').value, 'evt_01JHB3K5W8X2N4P6R8T0V2X4Z6');
  t.equal(render('{type}').value, 'open_position.created');
  t.equal(render('{data.codeInfo.severity}').value, 'success', 'nested objects');
  t.equal(render('{data.customAuthenticated}').value, 'false', 'booleans as text');
});

t.test('constants, mixed text and literal braces', async (t) => {
  t.equal(render('paygate-relay').value, 'paygate-relay');
  t.equal(render('').value, '');
  t.equal(render('Rechnung {data.refNr} vom {custom.invoiceDate} ({merchantId})').value, 'Rechnung RE-2026-0001 vom 2026-01-14 (ShopTest)');
  t.equal(render('{{literal}} {fields.currency}}}').value, '{literal} EUR}');
});

t.test('keys match case-insensitively only when unambiguous', async (t) => {
  t.equal(render('{fields.AMOUNT}').value, '1999');
  t.equal(render('{custom.CUSTOMERNO}').value, 'K-4711');
  const ambiguous = { id: 'e', data: { custom: { Name: 'a', name: 'b', NAME2: 'c' } } };
  t.equal(renderTemplate(parseTemplate('{custom.name}'), ambiguous, '2026-01-01').value, 'b', 'exact match wins');
  t.same(renderTemplate(parseTemplate('{custom.NAME}'), ambiguous, '2026-01-01'), { value: '', unresolved: ['{custom.NAME}'] });
});

t.test('a missing or non-scalar value renders empty and is reported', async (t) => {
  t.same(render('{custom.nope}'), { value: '', unresolved: ['{custom.nope}'] });
  t.same(render('x{data.mandateId}y{data.codeInfo}'), { value: 'xy', unresolved: ['{data.mandateId}', '{data.codeInfo}'] });
  t.same(render('{data.transId.deeper}'), { value: '', unresolved: ['{data.transId.deeper}'] });
});

t.test('today with an offset in days', async (t) => {
  t.equal(render('{today}').value, '2026-01-15');
  t.equal(render('{today+14}').value, '2026-01-29');
  t.equal(render('{today+20}', '2024-02-20').value, '2024-03-11', 'leap year');
  t.equal(render('{today-15}').value, '2025-12-31');
  t.throws(() => render('{today}', '2026-1-15'), RangeError);
});

t.test('malformed templates fail at parse time with the position', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['{custom.lastname', /unclosed "\{" at character 1/],
    ['abc}', /unmatched "\}" .* at character 4/],
    ['{}', /invalid placeholder/],
    ['{custom..x}', /invalid placeholder/],
    ['{custom.last name}', /invalid placeholder/],
    ['x {nope.field}', /unknown placeholder root "nope" .* at character 3/],
    ['{today+x}', /unknown placeholder root "today\+x"/],
  ];
  for (const [src, msg] of bad) t.throws(() => parseTemplate(src), { name: 'TemplateError', message: msg }, src);
  t.ok(new TemplateError('m', 0) instanceof Error);
});

import t from 'tap';
import { deliveryFileName, nextDeliverySequence, parseDeliveryFileName, parseResultFileName } from '../../src/collectmaxx/core/filename.js';

t.test('delivery file names', async (t) => {
  t.equal(deliveryFileName({ date: '2020-05-19', clientNumber: 'XXXX', sequence: 1, format: 'csv' }), '20200519-XXXX-1.csv', 'the specification example');
  t.equal(deliveryFileName({ date: '2026-01-15', clientNumber: '4711', sequence: 12, format: 'xml' }), '20260115-4711-12.xml');
  t.same(parseDeliveryFileName('20260115-4711-12.xml'), { date: '2026-01-15', clientNumber: '4711', sequence: 12, format: 'xml' });
  for (const bad of ['20260115-4711-0.csv', '20260230-4711-1.csv', '20260115-47-11-1.csv', '20260115-4711-1.txt', '2026011-4711-1.csv', '20260115-4711-01.csv']) {
    t.equal(parseDeliveryFileName(bad), null, bad);
  }
  t.throws(() => deliveryFileName({ date: '2026-01-15', clientNumber: '47/11', sequence: 1, format: 'csv' }), RangeError);
  t.throws(() => deliveryFileName({ date: '2026-01-15', clientNumber: '4711', sequence: 0, format: 'csv' }), RangeError);
  t.throws(() => deliveryFileName({ date: '20260115', clientNumber: '4711', sequence: 1, format: 'csv' }), RangeError);
});

t.test('sequences are never reused', async (t) => {
  const used = ['20260115-4711-1.csv', '20260115-4711-2.xml', '20260115-4711-7.csv', '20260114-4711-9.csv', '20260115-9999-20.csv', 'junk.csv'];
  t.equal(nextDeliverySequence(used, '2026-01-15', '4711'), 8, 'after the highest of that day and client, any format, gaps kept');
  t.equal(nextDeliverySequence(used, '2026-01-16', '4711'), 1);
  t.equal(nextDeliverySequence([], '2026-01-15', '4711'), 1);
  const name = deliveryFileName({ date: '2026-01-15', clientNumber: '4711', sequence: nextDeliverySequence(used, '2026-01-15', '4711'), format: 'csv' });
  t.notOk(used.includes(name));
});

t.test('result file names', async (t) => {
  t.same(parseResultFileName('result_20220106-acos1001.csv'), { kind: 'daily', from: '2022-01-06', to: '2022-01-06', scriptNumber: '1001' });
  t.same(parseResultFileName('result_20211201_20211231-acos1001.csv'), { kind: 'monthly', from: '2021-12-01', to: '2021-12-31', scriptNumber: '1001' });
  t.same(parseResultFileName('result_20260101_20260131_paylink.csv'), { kind: 'paylink', from: '2026-01-01', to: '2026-01-31' });
  t.same(parseResultFileName('RESULT_20220106-ACOS1001.CSV')?.kind, 'daily', 'case of the fixed parts does not matter');
  for (const bad of [
    'result_20220106.csv', 'result_20220106-1001.csv', 'result_20220132-acos1001.csv', 'result_20211231_20211201-acos1001.csv',
    'result_20211201_20211231_paylink.xml', 'result_20211201_paylink.csv', '20260115-4711-1.csv', 'result_20220106-acos1001.csv.part',
    'xresult_20220106-acos1001.csv',
  ]) t.equal(parseResultFileName(bad), null, bad);
});

// An ingest batch crosses to the SQLite writer thread as flat values plus one
// string of texts, and its answers come back as one string: every byte of a body, every character of the
// stored texts and every field of the drafts must arrive as they left.
import t from 'tap';
import { decodeIngest, decodeIngestResults, encodeIngest, encodeIngestResults } from '../../src/store/ingest-wire.js';
import type { IngestItem, IngestResult } from '../../src/store/types.js';

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function items(): IngestItem[] {
  return [
    {
      // A quarantined callback: any bytes, nulls where the columns allow them, text with quotes, a colon and non-Latin-1 characters.
      callback: {
        id: 'cb_1', receivedAt: 1_700_000_000_123, channel: 'notify', method: 'POST', path: '/paygate/notify', kind: null, contentType: null,
        remoteIp: null, headers: { 'user-agent': 'a "quoted" agent: €' }, body: allBytes, merchantId: null, state: 'quarantined',
        reason: 'mac_mismatch', detail: 'the MAC "x" does not verify: 12:34', decoded: null, claimedMerchantId: 'Shop€',
      },
    },
    {
      callback: {
        id: 'cb_2', receivedAt: 1_700_000_000_124, channel: 'success', method: 'GET', path: '/paygate/success/OC', kind: 'OC', contentType: 'application/x-www-form-urlencoded',
        remoteIp: '::1', headers: {}, body: Buffer.alloc(0), merchantId: 'Shop', state: 'accepted', reason: null, detail: null,
        decoded: { payId: 'p', fields: { 'name': 'Zoë 😀', amount: '1' } },
      },
      event: {
        id: 'evt_2', type: 'open_position.created', source: 'paygate', merchantId: 'Shop', operation: 'open_position', outcome: 'succeeded', transId: 'T:1',
        payId: 'p', mandateId: null, receivedAt: 1_700_000_000_124, dedupeKey: 'k2', payload: '{"a":"\\"b\\" 😀","n":1}', fingerprint: '{"x":"1"}',
        deliveries: [{ endpointId: 'erp', orderKey: 'Shop\u0000T:1' }, { endpointId: 'crm', orderKey: null }],
      },
      conflict: {
        id: 'evt_2c', dedupeKey: 'conflict:k2:z', merchantId: 'Shop', transId: 'T:1', payId: 'p', receivedAt: 1_700_000_000_124,
        deliveries: [{ endpointId: 'erp', orderKey: 'Shop\u0000T:1' }], event: { id: 'evt_2c', data: { second: { callbackId: 'cb_2' } } },
      },
    },
    {
      // Without a fingerprint (an event of a feature) and without deliveries.
      callback: {
        id: 'cb_3', receivedAt: 5, channel: 'failure', method: 'HEAD', path: '/p', kind: 'MD', contentType: 'text/plain', remoteIp: '10.0.0.1',
        headers: { a: '' }, body: Buffer.from('Data=AB&Len=2'), merchantId: 'M', state: 'returned', reason: null, detail: null, decoded: {},
      },
      event: { id: 'e3', type: 't', source: 's', merchantId: null, operation: null, outcome: null, transId: null, payId: null, mandateId: null, receivedAt: 5, dedupeKey: 'k3', payload: '', deliveries: [] },
    },
  ];
}

t.test('a batch survives the wire: bodies byte for byte, texts as sent, the conflict draft when asked for', async (t) => {
  const sent = items();
  const wire = encodeIngest(sent);
  t.ok(wire[0].every((x) => x === null || typeof x !== 'object'), 'no object inside: flat values');
  t.type(wire[1], 'string', 'and one string of texts');
  t.same(structuredClone(wire), wire, 'as structured clone copies it');
  const got = decodeIngest(wire);
  t.equal(got.length, sent.length);
  for (const [i, g] of got.entries()) {
    const s = sent[i]!;
    t.ok(Buffer.isBuffer(g.callback.body) && g.callback.body.equals(s.callback.body), `item ${i}: the body's bytes (a Buffer, as SQLite binds it)`);
    t.equal(g.callback.headers as unknown as string, JSON.stringify(s.callback.headers), `item ${i}: headers as the JSON text they are stored as`);
    t.equal(g.callback.decoded as unknown as string | null, s.callback.decoded === null ? null : JSON.stringify(s.callback.decoded), `item ${i}: decoded as JSON text`);
    const { body: _b, headers: _h, decoded: _d, ...rest } = s.callback;
    t.same({ ...g.callback, body: undefined, headers: undefined, decoded: undefined }, { ...rest, claimedMerchantId: rest.claimedMerchantId ?? null, body: undefined, headers: undefined, decoded: undefined }, `item ${i}: every other column`);
    t.same(g.event, s.event === undefined ? undefined : { ...s.event, fingerprint: s.event.fingerprint ?? null }, `item ${i}: the event draft`);
    t.same(g.conflict, s.conflict === undefined ? undefined : { ...s.conflict, event: JSON.stringify(s.conflict.event) }, `item ${i}: the conflict draft, its event as JSON text`);
  }
});

t.test('answers: the common case travels as a 0 and comes back whole; the rest as they are', async (t) => {
  const sent = items();
  const results: IngestResult[] = [
    { callbackId: 'cb_1', eventId: null, duplicate: false },
    { callbackId: 'cb_2', eventId: 'evt_1', duplicate: true, conflict: { conflictEventId: 'evt_2c', fields: ['xid'], created: true } },
    { callbackId: 'cb_3', eventId: 'e3', duplicate: false },
  ];
  const wire = encodeIngestResults(results, decodeIngest(encodeIngest(sent)));
  t.equal(wire, JSON.stringify([0, results[1], 0]), 'only the duplicate with its conflict is spelled out');
  t.same(decodeIngestResults(wire, sent), results);
});

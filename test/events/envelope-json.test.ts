// The intake serialises an event's object as built, without the zod parse and
// the compacting pass. What receivers get must not change by
// a byte: over many decoded callbacks (every operation and outcome, optional
// fields present and absent, extra and Custom fields, text that JSON escapes,
// every origin) the direct text equals JSON.stringify of the schema-parsed
// object, and every text is a valid paygateEventSchema event.
import t from 'tap';
import { buildPaygateEvent, paygateEventJson } from '../../src/events/envelope.js';
import { fingerprintOf } from '../../src/events/identity.js';
import { CONFLICT_EVENT_TYPE, paygateEventSchema, type Origin } from '../../src/events/schema.js';
import { displayFields, displayFieldsJson, Intake } from '../../src/intake.js';
import { Hub } from '../../src/observe.js';
import { decodeCallback } from '../../src/paygate/decode.js';
import { prepareMerchant } from '../../src/paygate/merchant.js';
import { buildCallback, type CallbackSpec } from '../../src/paygate/simulator.js';
import type { DecodeOk, MerchantKeys } from '../../src/paygate/types.js';
import type { Store } from '../../src/store/types.js';

const MERCHANT: MerchantKeys = { id: 'Shop"1', encryption: 'blowfish', keys: [{ blowfish: Buffer.from('0123456789abcdef'), hmac: Buffer.from('hmac-key') }] };
const prepared = [prepareMerchant(MERCHANT)];

const CODES = ['00000000', '60000001', '21000093', '00001234', 'A0000000'];
const KINDS = [undefined, 'OC', 'MD', 'OS', 'CR', 'AN', 'ST', 'ZE', 'UP', 'mandate', 'payment'];
const TEXTS = ['plain', 'with "quotes" and \\ backslash', 'Zoë € 😀', 'line\nbreak\ttab', '</script>', ''];
const ORIGINS: Origin[] = [
  { channel: 'notify', clientIp: '203.0.113.9', allowFrom: true, signedUrl: { transIdBound: true }, trusted: true },
  { channel: 'notify', clientIp: null, allowFrom: null, signedUrl: null, trusted: false },
  { channel: 'success', clientIp: '::1', allowFrom: null, signedUrl: { transIdBound: false }, trusted: false },
  { channel: 'failure', clientIp: '10.0.0.1', allowFrom: false, signedUrl: null, trusted: false },
];

/** A deterministic spread of callbacks: every combination the loop below reaches. */
function* decoded(): Generator<DecodeOk> {
  let n = 0;
  for (const kind of KINDS) {
    for (const code of CODES) {
      for (const [i, text] of TEXTS.entries()) {
        n++;
        const spec: CallbackSpec = {
          transId: `T-${n}`, code, status: code === '00000000' ? 'OK' : 'FAILED',
          ...(i % 2 === 0 ? { description: text, refNr: `R${n}` } : {}),
          ...(i % 3 === 0 ? { userData: text } : {}),
          ...(i === 4 ? { plain: 'p', eventToken: undefined } : {}),
          ...(kind === 'mandate' ? { mandateId: `MDT-${n}` } : {}),
          ...(i !== 1 ? { extra: { amount: String(n), currency: 'EUR', Note: text, '123': 'numeric key' } } : {}),
        };
        const c = buildCallback(spec, MERCHANT, { ...(i === 5 ? { charset: 'utf-8' } : {}) });
        // Custom pairs ride outside Data, in plain.
        const body = i % 2 === 1 ? Buffer.concat([c.body, Buffer.from(`&Custom1=${encodeURIComponent(text)}&zeta=1`)]) : c.body;
        const r = decodeCallback({ method: 'POST', contentType: c.contentType, body, kind: kind === 'mandate' || kind === 'payment' ? undefined : kind }, prepared);
        if (!r.ok) throw new Error(`callback ${n} did not decode: ${r.reason} ${r.detail}`);
        yield r;
      }
    }
  }
}

t.test('the direct JSON is JSON.stringify of the schema-parsed event, byte for byte, and valid', async (t) => {
  let checked = 0;
  let mismatches = 0;
  for (const d of decoded()) {
    for (const origin of ORIGINS) {
      const meta = { id: 'evt_01HZZZZZZZZZZZZZZZZZZZZZZZ', receivedAt: 1_767_225_600_000 + checked, channel: origin.channel };
      const direct = paygateEventJson(d, { ...meta, origin });
      const viaSchema = buildPaygateEvent(d, { ...meta, origin });
      if (direct !== JSON.stringify(viaSchema)) {
        if (mismatches++ < 3) t.equal(direct, JSON.stringify(viaSchema), `callback ${d.record.transId}`);
        continue;
      }
      paygateEventSchema.parse(JSON.parse(direct));
      if (fingerprintOf({ operation: d.operation, data: d.record as unknown as Record<string, unknown> }) !== fingerprintOf(viaSchema)) mismatches++;
      checked++;
    }
    if (displayFieldsJson(d) !== JSON.stringify(displayFields(d))) mismatches++;
  }
  t.equal(mismatches, 0, 'no event, fingerprint or stored decoded text differs');
  t.ok(checked > 1000, `${checked} events compared and validated`);
  t.same(new Set([...decoded()].map((d) => d.eventType)).size > 10, true, 'many event types among them');
});

t.test('a decrypted field named __proto__ is kept (the schema parse would drop it)', async (t) => {
  const c = buildCallback({ transId: 'P1', code: '00000000', extra: { __proto__x: 'a' } }, MERCHANT);
  const body = Buffer.from(c.body.toString('latin1'));
  const r = decodeCallback({ method: 'POST', contentType: c.contentType, body, kind: 'OC' }, prepared);
  if (!r.ok) throw new Error(r.detail);
  // The simulator cannot name a field __proto__ through an object literal; put it in the record as the parser does.
  Object.defineProperty(r.record.fields, '__proto__', { value: 'x', enumerable: true, configurable: true, writable: true });
  const json = paygateEventJson(r, { id: 'evt_01HZZZZZZZZZZZZZZZZZZZZZZZ', receivedAt: 0, channel: 'notify', origin: ORIGINS[1]! });
  const parsed = JSON.parse(json) as { data: { fields: Record<string, string> }; authenticated: { encryptedOnly: string[] } };
  t.ok(Object.hasOwn(parsed.data.fields, '__proto__'), 'the field is in data.fields');
  t.ok(parsed.authenticated.encryptedOnly.includes('fields.__proto__'), 'and named as encrypted only');
  paygateEventSchema.parse(parsed);
});

t.test('the conflict draft written as text is the event the store completes', async (t) => {
  const store = {} as Store;
  const intake = new Intake(store, () => prepared, () => [], new Hub());
  let n = 0;
  for (const d of decoded()) {
    if (n++ % 7 !== 0) continue;
    for (const origin of ORIGINS) {
      const { out } = intake.eventOf(d, origin.channel, 1_767_225_600_000 + n, origin);
      const draft = intake.conflictDraft(d, out, origin, 'cb_1');
      const event = JSON.parse(out.payload) as { receivedAt: string; type: string; origin: Origin };
      const r = d.record;
      // The object the draft was built as before, serialised.
      const expected = {
        id: draft.id, type: CONFLICT_EVENT_TYPE, source: 'relay', merchantId: d.merchantId, receivedAt: event.receivedAt,
        data: { payId: r.payId, transId: r.transId, status: r.status, code: r.code, firstEventId: '', fields: [], first: null, second: { callbackId: 'cb_1', type: event.type, origin: event.origin } },
      };
      t.equal(draft.event, JSON.stringify(expected), `conflict draft of ${r.transId} (${origin.channel})`);
    }
  }
});

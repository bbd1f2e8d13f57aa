// Our node:crypto signer against the independent `standardwebhooks` package:
// every header must be byte-identical to Webhook.sign and verify with Webhook.verify.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { decodeSecrets, signatureHeader } from '../../src/delivery/sign.js';

/** mulberry32, seeded: a failing case reproduces. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.PAYGATE_TEST_SEED ?? 0x51a7);
const rand = rng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
const secretOf = (n: number) => `whsec_${bytes(n).toString('base64')}`;

// Characters that exercise every UTF-8 length plus JSON-escaped ones.
const ALPHABET = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\t', 'é', 'ß', 'ü', '€', '中', '日', '𝄞', '😀', '\u0000', '\u2028', '.', '{', '}'];
function text(maxLen: number): string {
  let s = '';
  const n = int(maxLen + 1);
  for (let i = 0; i < n; i++) s += ALPHABET[int(ALPHABET.length)]!;
  return s;
}

function payload(): string {
  // Realistic: a JSON event. Sometimes a raw non-JSON string, sometimes empty.
  const k = int(10);
  if (k === 0) return '';
  if (k === 1) return text(200);
  return JSON.stringify({ id: `evt_${bytes(8).toString('hex')}`, type: 'mandate.approved', data: { transId: text(30), description: text(120), amount: int(1e6) } });
}

function msgId(): string {
  const k = int(3);
  if (k === 0) return `evt_${'0123456789ABCDEFGHJKMNPQRSTVWXYZ'.repeat(2).slice(int(10), 26 + int(10))}`;
  if (k === 1) return `msg_${bytes(12).toString('base64url')}`;
  return text(40) || 'x';
}

t.test(`byte-identical to standardwebhooks Webhook.sign (seed ${SEED})`, async (t) => {
  let checked = 0;
  let mismatches = 0;
  let verifyFailures = 0;
  const firstMismatch: string[] = [];
  for (let i = 0; i < 400; i++) {
    const secret = secretOf(24 + int(41)); // the config accepts 24..64 bytes
    const id = msgId();
    const ts = int(2 ** 31); // any second since the epoch, up to 2038
    const body = payload();
    const ours = signatureHeader(decodeSecrets([secret]), id, ts, body);
    const ref = new Webhook(secret).sign(id, new Date(ts * 1000), body);
    checked++;
    if (ours !== ref) {
      mismatches++;
      if (firstMismatch.length === 0) firstMismatch.push(JSON.stringify({ secret, id, ts, body, ours, ref }));
    }
    // And the verifier accepts it (timestamp checked against "now", so sign with a current one).
    const now = Math.floor(Date.now() / 1000) - int(200);
    const header = signatureHeader(decodeSecrets([secret]), id, now, body);
    try {
      new Webhook(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(now), 'webhook-signature': header }, { jsonParse: false });
    } catch {
      verifyFailures++;
    }
  }
  t.equal(mismatches, 0, `all ${checked} headers equal Webhook.sign ${firstMismatch.join('')}`);
  t.equal(verifyFailures, 0, 'all verify with Webhook.verify');
});

t.test('fixed vectors: multi-byte UTF-8 is signed as UTF-8, not latin1 or UTF-16', async (t) => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const keys = decodeSecrets([secret]);
  t.same(keys[0], Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'), 'whsec_ prefix stripped, base64 decoded');
  const wh = new Webhook(secret);
  const bodies: [label: string, body: string][] = [
    ['2-byte umlauts', '{"name":"Müller","city":"Zürich"}'],
    ['3-byte euro sign', '{"e":"€ 12,50"}'],
    ['4-byte astral characters', '{"s":"𝄞😀中"}'],
    ['escaped NUL and a raw U+2028', '{"nul":"\\u0000","raw":"\u2028"}'],
  ];
  for (const [label, body] of bodies) {
    const ours = signatureHeader(keys, 'evt_01J0000000000000000000000', 1700000000, body);
    // (labels, not bodies, as messages: U+2028 in a TAP line breaks the parser)
    t.equal(ours, wh.sign('evt_01J0000000000000000000000', new Date(1700000000 * 1000), body), label);
    t.not(ours, signatureHeader(keys, 'evt_01J0000000000000000000000', 1700000000, Buffer.from(body, 'utf8').toString('latin1')), 'encoding matters');
  }
  t.match(signatureHeader(keys, 'a', 1, '{}'), /^v1,[A-Za-z0-9+/]{43}=$/, 'v1,<base64 of 32 bytes>');
  // The timestamp in the signed string is the integer seconds from the header.
  t.equal(signatureHeader(keys, 'a', 1700000000, '{}'), wh.sign('a', new Date(1700000000_999), '{}'), 'whole seconds');
});

t.test('several secrets (rotation): one signature each, each verifiable alone', async (t) => {
  for (let round = 0; round < 20; round++) {
    const secrets = Array.from({ length: 2 + int(3) }, () => secretOf(32));
    const id = msgId();
    const ts = Math.floor(Date.now() / 1000);
    const body = payload() || '{}';
    const header = signatureHeader(decodeSecrets(secrets), id, ts, body);
    const parts = header.split(' ');
    t.equal(parts.length, secrets.length, `round ${round}: ${secrets.length} signatures, space separated`);
    t.same(parts, secrets.map((s) => new Webhook(s).sign(id, new Date(ts * 1000), body)), 'in the configured order, each equal to Webhook.sign');
    for (const [i, s] of secrets.entries()) {
      t.doesNotThrow(
        () => new Webhook(s).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': header }, { jsonParse: false }),
        `a receiver knowing only secret #${i} verifies`,
      );
    }
    const stranger = secretOf(32);
    t.throws(
      () => new Webhook(stranger).verify(body, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': header }, { jsonParse: false }),
      'a receiver with none of the secrets rejects it',
    );
    const tampered = `${body} `;
    t.throws(
      () => new Webhook(secrets[0]!).verify(tampered, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': header }, { jsonParse: false }),
      'a changed body does not verify',
    );
  }
});

t.test('raw secrets without the whsec_ prefix decode the same way', async (t) => {
  const raw = randomBytes(32).toString('base64');
  t.same(decodeSecrets([raw]), decodeSecrets([`whsec_${raw}`]));
  t.same(decodeSecrets([]), [], 'no secrets, no keys');
});

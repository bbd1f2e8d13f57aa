import t from 'tap';
import { prepareMerchant } from '../../src/paygate/merchant.js';

const hmac = Buffer.from('h');

t.test('valid merchants', async (t) => {
  const m = prepareMerchant({ id: 'A', encryption: 'blowfish', keys: [{ blowfish: Buffer.alloc(56, 1), hmac }, { blowfish: Buffer.from('x'), hmac }] });
  t.equal(m.slots.length, 2);
  t.equal(m.slots[1]!.index, 1);
  t.equal(m.slots[0]!.cipher.kind, 'blowfish');
  for (const n of [16, 24, 32]) t.equal(prepareMerchant({ id: 'B', encryption: 'aes', keys: [{ aes: Buffer.alloc(n), hmac }] }).slots[0]!.cipher.kind, 'aes');
});

t.test('configuration errors name merchant and slot, never the key', async (t) => {
  const cases: [Parameters<typeof prepareMerchant>[0], RegExp][] = [
    [{ id: 'Shop1', encryption: 'blowfish', keys: [{ hmac }, { blowfish: Buffer.alloc(0), hmac }] }, /"Shop1" key slot 0: blowfish key is missing/],
    [{ id: 'Shop1', encryption: 'blowfish', keys: [{ blowfish: Buffer.from('k'), hmac }, { blowfish: Buffer.alloc(0), hmac }] }, /"Shop1" key slot 1: blowfish key is empty/],
    [{ id: 'Shop2', encryption: 'blowfish', keys: [{ blowfish: Buffer.alloc(57, 0x41), hmac }] }, /"Shop2" key slot 0: blowfish key is 57 bytes/],
    [{ id: 'Shop3', encryption: 'aes', keys: [{ aes: Buffer.alloc(20, 0x41), hmac }] }, /"Shop3" key slot 0: aes key is 20 bytes/],
    [{ id: 'Shop3', encryption: 'aes', keys: [{ blowfish: Buffer.from('k'), hmac }] }, /"Shop3" key slot 0: aes key is missing/],
    [{ id: 'Shop4', encryption: 'blowfish', keys: [{ blowfish: Buffer.from('k'), hmac: Buffer.alloc(0) }] }, /"Shop4" key slot 0: hmac/],
    [{ id: 'Shop5', encryption: 'blowfish', keys: [] }, /"Shop5" has no key slots/],
  ];
  for (const [m, re] of cases) {
    try {
      prepareMerchant(m);
      t.fail(`accepted ${re}`);
    } catch (e) {
      t.match((e as Error).message, re);
      t.notMatch((e as Error).message, /AAAA/, 'no key bytes in message');
    }
  }
});

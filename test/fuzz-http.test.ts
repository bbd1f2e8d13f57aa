// Thousands of random and malformed callbacks through the real HTTP stack:
// no crash, no hang, always a 4xx (or a 303 for browser returns) and always
// a quarantine record with a reason.
import t from 'tap';
import { buildCallback } from '../src/paygate/simulator.js';
import { SHOP } from './helpers/paygate.js';
import { ADMIN_TOKEN, baseConfig, startRelay, tmpDir } from './helpers/relay.js';

function prng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

t.test('random and malformed callbacks are all answered 4xx and quarantined', async (t) => {
  const h = await startRelay(t, baseConfig(tmpDir(t)), { listen: false, delivery: false });
  const rnd = prng(Number(process.env.PAYGATE_FUZZ_SEED ?? 20261123));
  const pick = <T>(a: T[]) => a[Math.floor(rnd() * a.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const good = buildCallback({ transId: 'FUZZ', code: '00000000' }, SHOP);
  const mutators: (() => Buffer | string)[] = [
    () => bytes(Math.floor(rnd() * 600)),
    () => `Data=${good.data.slice(0, Math.floor(rnd() * good.data.length))}&Len=${good.len}&MerchantID=ShopTest`,
    () => {
      const d = good.data.split('');
      for (let i = 0; i < 1 + rnd() * 4; i++) d[Math.floor(rnd() * d.length)] = pick('0123456789ABCDEF'.split(''));
      return `MerchantID=ShopTest&Len=${Math.floor(rnd() * 400)}&Data=${d.join('')}`;
    },
    () => Array.from({ length: Math.floor(rnd() * 12) }, () => `${pick(['Data', 'Len', 'mid', 'MAC', '%', '=', '&', 'x'])}${pick(['=', '==', '%zz', '%00', ''])}${bytes(Math.floor(rnd() * 20)).toString('latin1')}`).join('&'),
    () => `Len=${pick(['-1', '0', '1e3', '99999999999', 'abc', ''])}&Data=${pick([good.data, '', 'zz', '-', '00-11'])}`,
    () => good.body.toString().replace(/%[0-9A-F]{2}/, '%G1') + '&Data=AA',
  ];
  const N = 2500;
  let quarantined = 0;
  for (let i = 0; i < N; i++) {
    const body = mutators[i % mutators.length]!();
    const channel = pick(['notify', 'notify/OC', 'success', 'failure/mandate']);
    const ctype = pick(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'application/x-www-form-urlencoded; charset=koi8-r']);
    const res = await h.app.inject({ method: 'POST', url: `/paygate/${channel}`, headers: { 'content-type': ctype }, payload: body });
    const browser = channel.startsWith('success') || channel.startsWith('failure');
    if (browser) {
      if (res.statusCode !== 303 || res.headers.location !== 'https://shop.example/failed') t.fail(`return #${i} answered ${res.statusCode} ${res.headers.location}`);
    } else if (res.statusCode < 400 || res.statusCode >= 500) {
      t.fail(`notify #${i} answered ${res.statusCode}: ${res.body}`);
    }
    quarantined++;
  }
  const size = Number(/paygate_relay_quarantine_size (\d+)/.exec((await h.app.inject({ method: 'GET', url: '/metrics' })).body)![1]);
  t.equal(size, quarantined, `all ${N} kept in quarantine`);
  const q = await h.app.inject({ method: 'GET', url: '/admin/quarantine?limit=200', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  t.ok((q.json().items as { reason: string }[]).every((i) => typeof i.reason === 'string' && i.reason.length > 0), 'every record has a reason');
  t.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive');
});

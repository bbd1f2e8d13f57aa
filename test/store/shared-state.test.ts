// What every instance on one store must see the same, on every adapter: endpoint
// state decides what can be claimed, console sessions and failed-authentication
// counts are shared. `sameAs` opens a second store on the same database, as a
// second process would.
import t from 'tap';
import type { AttemptRecord, IngestItem } from '../../src/store/types.js';
import { STORE_ADAPTERS } from '../helpers/stores.js';

let n = 0;
function item(endpoints: string[]): IngestItem {
  n++;
  const id = `evt_${String(n).padStart(26, '0')}`;
  return {
    callback: {
      id: `cb_${String(n).padStart(27, '0')}`, receivedAt: 1000 + n, channel: 'notify', method: 'POST', path: '/paygate/notify', kind: null, contentType: null,
      remoteIp: null, headers: {}, body: Buffer.from(`Data=${n}`), merchantId: 'M', state: 'accepted', reason: null, detail: null, decoded: null,
    },
    event: {
      id, type: 'payment.succeeded', source: 'paygate', merchantId: 'M', operation: 'payment', outcome: 'succeeded', transId: `T${n}`, payId: `P${n}`,
      mandateId: null, receivedAt: 1000 + n, dedupeKey: `k${n}`, payload: JSON.stringify({ id }), deliveries: endpoints.map((endpointId) => ({ endpointId, orderKey: null })),
    },
  };
}

const ok = (deliveryId: number, eventId: string, endpointId: string): AttemptRecord => ({
  deliveryId, eventId, endpointId, startedAt: 5000, durationMs: 1, statusCode: 200, errorClass: null, responseBody: null,
});

for (const [name, make] of Object.entries(STORE_ADAPTERS)) {
  t.test(`${name}: an endpoint disabled by another process gets no claims; leases already held stay valid; enabled, it is claimed again`, async (t) => {
    const s1 = await make(t);
    const s2 = await make(t, s1);
    await s1.ingest([item(['a', 'b']), item(['a']), item(['a'])]);
    const first = await s1.claim('a', 'A', 5000, 60_000, 1);
    t.equal(first.length, 1);
    await s2.setEndpointDisabled('a', true, 'operator', 5000);
    t.same(await s1.claim('a', 'A', 5001, 60_000, 10), [], 'nothing of the disabled endpoint is claimable, whoever asks');
    t.equal((await s1.claim('b', 'A', 5001, 60_000, 10)).length, 1, 'other endpoints are not affected');
    t.equal(await s1.complete(first[0]!.id, 'A', ok(first[0]!.id, first[0]!.eventId, 'a'), 5002), true, 'a delivery leased before the disable can still be completed by its owner');
    t.same(await s1.claim('a', 'A', 10_000_000, 60_000, 10), [], 'expired leases of a disabled endpoint are not taken over either');
    t.match((await s1.endpointStates()).find((x) => x.endpointId === 'a'), { disabled: true, disabledReason: 'operator', disabledAt: 5000 }, 'the other process reads the state, reason and time');
    await s1.setEndpointDisabled('a', false, null, 5003);
    t.equal((await s2.claim('a', 'B', 5004, 60_000, 10)).length, 2, 'enabled: the rest is claimed');
  });

  t.test(`${name}: console sessions made by one process are read and ended by another; expired ones go`, async (t) => {
    const s1 = await make(t);
    const s2 = await make(t, s1);
    const rec = (id: string, expiresAt: number) => ({ id, secretHash: `h-${id}`, tokenDigest: 'd1', csrf: `c-${id}`, createdAt: 1000, expiresAt });
    await s1.createSession(rec('old', 2000), 1000);
    await s1.createSession(rec('live', 9000), 1500);
    t.same(await s2.getSession('live'), rec('live', 9000), 'the other process reads it as stored');
    await s2.createSession(rec('new', 9500), 2000);
    t.equal(await s1.getSession('old'), null, 'a session expired by the time of a new one is removed');
    await s2.deleteSession('live');
    t.equal(await s1.getSession('live'), null, 'a logout on one is seen by the other');
    t.ok(await s1.getSession('new'));
  });

  t.test(`${name}: failed authentications are counted across processes, per scope and address, in windows`, async (t) => {
    const s1 = await make(t);
    const s2 = await make(t, s1);
    t.equal(await s1.authFailures('console-login', '10.0.0.1'), null);
    t.same(await s1.recordAuthFailure('console-login', '10.0.0.1', 1000, 500), { failures: 1, windowStart: 1000 });
    t.same(await s2.recordAuthFailure('console-login', '10.0.0.1', 1200, 500), { failures: 2, windowStart: 1000 }, 'the other process counts on');
    await Promise.all([s1.recordAuthFailure('console-login', '10.0.0.1', 1300, 500), s2.recordAuthFailure('console-login', '10.0.0.1', 1300, 500)]);
    t.same(await s1.authFailures('console-login', '10.0.0.1'), { failures: 4, windowStart: 1000 }, 'failures at the same moment on both are both counted');
    t.equal(await s2.authFailures('admin-token', '10.0.0.1'), null, 'scopes are apart');
    await s1.recordAuthFailure('admin-token', '10.0.0.2', 1300, 500);
    t.same(await s2.recordAuthFailure('console-login', '10.0.0.1', 1600, 500), { failures: 1, windowStart: 1600 }, 'a window older than windowMs starts over');
    await s1.recordAuthFailure('admin-token', '10.0.0.3', 1900, 500);
    t.equal(await s2.authFailures('admin-token', '10.0.0.2'), null, "another address's stale window is dropped on the way");
    await s2.clearAuthFailures('console-login', '10.0.0.1');
    t.equal(await s1.authFailures('console-login', '10.0.0.1'), null, 'cleared on success, for both');
  });
}

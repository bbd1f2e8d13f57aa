// The storage contract, run against every adapter. A new adapter joins by
// adding a factory to STORE_ADAPTERS (test/helpers/stores.ts); every assertion here must hold for it.
import t from 'tap';
import type { AttemptRecord, ClaimedDelivery, EventDraft, IngestItem, Store } from '../../src/store/types.js';
import { STORE_ADAPTERS } from '../helpers/stores.js';

/** Every adapter (test/helpers/stores.ts): a fresh, migrated store; with `sameAs`, another store on the same database, like a second process. */
export const ADAPTERS = STORE_ADAPTERS;

let n = 0;
function item(over: { transId?: string; dedupe?: string; endpoints?: string[]; quarantined?: boolean; at?: number; type?: string; unordered?: boolean } = {}): IngestItem {
  n++;
  const at = over.at ?? 1_000_000 + n;
  const callback = {
    id: `cb_${String(n).padStart(26, '0')}`, receivedAt: at, channel: 'notify' as const, method: 'POST', path: '/paygate/notify',
    kind: null, contentType: 'application/x-www-form-urlencoded', remoteIp: '127.0.0.1', headers: { 'user-agent': 'test' },
    body: Buffer.from(`Data=${n}`), merchantId: 'M', state: (over.quarantined ? 'quarantined' : 'accepted') as 'accepted' | 'quarantined',
    reason: over.quarantined ? 'mac_invalid' : null, detail: null, decoded: null,
  };
  if (over.quarantined) return { callback };
  const transId = over.transId ?? `T${n}`;
  const id = `evt_${String(n).padStart(26, '0')}`;
  const event: EventDraft = {
    id, type: over.type ?? 'open_position.created', source: 'paygate', merchantId: 'M', operation: 'open_position', outcome: 'succeeded',
    transId, payId: `P${n}`, mandateId: null, receivedAt: at, dedupeKey: over.dedupe ?? `k${n}`,
    payload: JSON.stringify({ id, transId }),
    deliveries: (over.endpoints ?? ['a']).map((e) => ({ endpointId: e, orderKey: over.unordered ? null : `M\u0000${transId}` })),
  };
  return { callback, event };
}

const attempt = (deliveryId: number, eventId: string, status: number | null, at: number): AttemptRecord => ({
  deliveryId, eventId, endpointId: 'a', startedAt: at, durationMs: 3, statusCode: status, errorClass: status && status < 300 ? null : 'non_2xx', responseBody: 'x',
});

for (const [name, make] of Object.entries(ADAPTERS)) {
  t.test(`${name}: intake commits callback, event and deliveries; dedupe by key`, async (t) => {
    const s = await make(t);
    const a = item({ dedupe: 'same' });
    const b = item({ dedupe: 'same' });
    const q = item({ quarantined: true });
    const r = await s.ingest([a, b, q]);
    t.same(r.map((x) => x.duplicate), [false, true, false]);
    t.equal(r[1]!.eventId, a.event!.id, 'the duplicate points at the first event');
    t.equal(r[2]!.eventId, null);
    t.equal((await s.getCallback(b.callback.id))!.state, 'duplicate');
    t.same((await s.getCallback(a.callback.id))!.body, a.callback.body, 'raw body kept byte for byte');
    t.equal((await s.deliveriesOf(a.event!.id)).length, 1, 'deliveries only for the new event');
    t.equal(await s.quarantineSize(), 1);
    const again = await s.ingest([item({ dedupe: 'same' })]);
    t.equal(again[0]!.duplicate, true, 'dedupe across commits');
  });

  t.test(`${name}: claim leases, ordering per transaction, lease guard`, async (t) => {
    const s = await make(t);
    const e1 = item({ transId: 'X' });
    const e2 = item({ transId: 'X' });
    const e3 = item({ transId: 'Y' });
    await s.ingest([e1, e2, e3]);
    const now = 2_000_000;
    const c = await s.claim('a', 'w1', now, 1000, 10);
    t.same(c.map((d) => d.eventId).sort(), [e1.event!.id, e3.event!.id].sort(), 'the later X waits for the earlier X; Y is not held up');
    t.same(await s.claim('a', 'w2', now, 1000, 10), [], 'leased deliveries are not claimed twice');
    const d1 = c.find((d) => d.eventId === e1.event!.id)!;
    t.equal(d1.payload, e1.event!.payload);
    // Lease expires; w2 takes over; w1's late answer must not overwrite w2's.
    const taken = await s.claim('a', 'w2', now + 2000, 1000, 10);
    t.ok(taken.some((d) => d.id === d1.id), 'an expired lease is picked up by another owner');
    t.equal(await s.complete(d1.id, 'w1', attempt(d1.id, d1.eventId, 200, now + 2100), now + 2100), false, 'late owner refused');
    t.equal((await s.deliveriesOf(e1.event!.id))[0]!.state, 'in_flight', 'state untouched by the stale owner');
    const y = taken.find((d) => d.eventId === e3.event!.id)!;
    t.equal(await s.complete(y.id, 'w2', attempt(y.id, y.eventId, 204, now + 2100), now + 2100), true);
    t.equal(await s.fail(d1.id, 'w2', attempt(d1.id, d1.eventId, 500, now + 2200), { retryAt: now + 5000 }, now + 2200), true);
    t.same(await s.claim('a', 'w2', now + 3000, 1000, 10).then((x) => x.map((d) => d.eventId)), [], 'X2 still waits while X1 retries');
    t.equal(await s.nextDueAt('a', now + 3000), now + 5000, 'the next retry time, ignoring deliveries already due but held by ordering');
    const retry = await s.claim('a', 'w2', now + 5000, 1000, 10);
    t.same(retry.map((d) => d.eventId), [e1.event!.id]);
    t.equal(retry[0]!.attempts, 1, 'attempt count carried');
    t.equal(await s.complete(retry[0]!.id, 'w2', attempt(retry[0]!.id, e1.event!.id, 200, now + 5100), now + 5100), true);
    t.same((await s.claim('a', 'w2', now + 5200, 1000, 10)).map((d) => d.eventId), [e2.event!.id], 'then X2 goes');
    t.equal((await s.attemptsOf(e1.event!.id)).length, 3, 'every attempt recorded, including the stale one');
  });

  t.test(`${name}: after a takeover the stale owner can neither fail nor release the delivery`, async (t) => {
    const s = await make(t);
    const e = item({ transId: 'S' });
    const later = item({ transId: 'S' });
    await s.ingest([e, later]);
    const now = 2_000_000;
    const [mine] = await s.claim('a', 'w1', now, 1000, 10);
    t.equal(mine?.eventId, e.event!.id);
    // w1's lease expires while its request hangs; w2 takes the delivery over.
    const [theirs] = await s.claim('a', 'w2', now + 2000, 60_000, 10);
    t.equal(theirs?.id, mine!.id, 'the expired lease went to w2');

    t.equal(await s.fail(mine!.id, 'w1', attempt(mine!.id, mine!.eventId, 500, now + 2100), { retryAt: now + 2200 }, now + 2100), false,
      "the stale owner's failure is refused");
    t.equal(await s.fail(mine!.id, 'w1', attempt(mine!.id, mine!.eventId, 500, now + 2150), { dead: true }, now + 2150), false,
      "the stale owner cannot dead-letter it either");
    t.equal(await s.release(mine!.id, 'w1', now + 2200), false, "the stale owner's release is refused");
    t.match(await s.deliveriesOf(e.event!.id), [{ state: 'in_flight', attempts: 0, completedAt: null }], 'still in flight, no attempt counted, not dead');
    t.equal(await s.countDeadLetters({}), 0);
    t.same(await s.claim('a', 'w3', now + 2300, 1000, 10), [], 'nobody else can claim it (nor the later event of its transaction) while w2 holds it');
    t.equal(await s.nextDueAt('a', now + 2300), null, 'no retry was scheduled by the stale owner');

    // The new owner still holds the lease: its own outcome is the one that counts.
    t.equal(await s.release(theirs!.id, 'w2', now + 2400), true, 'w2 can hand it back');
    const [again] = await s.claim('a', 'w2', now + 2500, 60_000, 10);
    t.equal(again?.id, mine!.id);
    t.equal(await s.fail(again!.id, 'w2', attempt(again!.id, again!.eventId, 503, now + 2600), { retryAt: now + 9000 }, now + 2600), true,
      'w2 records its failure');
    t.match(await s.deliveriesOf(e.event!.id), [{ state: 'pending', attempts: 1, nextAttemptAt: now + 9000 }], "w2's retry time is the one stored");
    t.equal(await s.release(again!.id, 'w2', now + 2700), false, 'a delivery no longer in flight cannot be released');
    t.equal((await s.attemptsOf(e.event!.id)).length, 3, "the stale owner's late answers are still recorded as attempts");
  });

  t.test(`${name}: releaseAllLeases hands every lease back at once, without spending an attempt`, async (t) => {
    const s = await make(t);
    await s.ingest([item(), item(), item()]);
    const held = await s.claim('a', 'w1', 2_000_000, 60_000, 2);
    t.equal(held.length, 2);
    // What a restarted single process does with the leases its previous run held.
    t.equal(await s.releaseAllLeases(2_000_100), 2, 'both leases released, the unclaimed delivery untouched');
    const again = await s.claim('a', 'w2', 2_000_200, 60_000, 10);
    t.same(again.filter((d) => held.some((h) => h.id === d.id)).length, 2, 'another owner takes them long before the leases would have expired');
    t.ok(again.every((d) => d.attempts === 0), 'no attempt spent');
    t.equal(await s.release(held[0]!.id, 'w1', 2_000_300), false, 'the previous owner holds nothing any more');
  });

  t.test(`${name}: dead letters, bulk redelivery, redeliver, release`, async (t) => {
    const s = await make(t);
    const e = item({ type: 'mandate.failed' });
    const f = item({ type: 'credit.created' });
    await s.ingest([e, f]);
    const [d, g] = await s.claim('a', 'w', 2_000_000, 1000, 10);
    await s.fail(d!.id, 'w', attempt(d!.id, d!.eventId, 500, 11), { dead: true }, 11);
    await s.fail(g!.id, 'w', attempt(g!.id, g!.eventId, 500, 11), { dead: true }, 11);
    t.equal(await s.countDeadLetters({}), 2);
    t.equal(await s.countDeadLetters({ type: 'mandate.*' }), 1, 'type glob filter');
    t.equal((await s.listDeadLetters({ endpointId: 'a' }, 10)).items.length, 2);
    t.equal(await s.redeliverDeadLetters({ type: 'mandate.*' }, 20), 1);
    t.equal(await s.countDeadLetters({}), 1);
    const again = await s.claim('a', 'w', 2_000_000, 1000, 10);
    t.same(again.map((x) => x.eventId), [e.event!.id]);
    t.equal(again[0]!.attempts, 0, 'a redelivery starts a fresh round');
    t.equal(await s.release(again[0]!.id, 'w', 21), true, 'release gives it back without an attempt');
    t.same(await s.redeliver(f.event!.id, ['a', 'b'], { a: null, b: null }, 30), ['a', 'b'], 'reset one, create the other');
    t.equal((await s.deliveriesOf(f.event!.id)).length, 2);
    t.equal(await s.releaseAllLeases(40), 0);
  });

  t.test(`${name}: dead letters are listed newest death first, and paging stays on that order`, async (t) => {
    const s = await make(t);
    const items = Array.from({ length: 7 }, (_, i) => item({ type: i % 2 ? 'mandate.failed' : 'credit.created', endpoints: [i === 3 ? 'b' : 'a'] }));
    await s.ingest(items);
    const claimed = [...(await s.claim('a', 'w', 2_000_000, 1000, 10)), ...(await s.claim('b', 'w', 2_000_000, 1000, 10))];
    t.equal(claimed.length, 7);
    // Deaths out of creation order, two at the same instant (ties go by id, newest first).
    const deathOf = (i: number) => [50, 10, 70, 30, 30, 90, 20][i]!;
    for (const d of claimed) {
      const i = items.findIndex((x) => x.event!.id === d.eventId);
      await s.fail(d.id, 'w', attempt(d.id, d.eventId, 500, deathOf(i)), { dead: true }, deathOf(i));
    }
    const walk = async (f: Parameters<Store['listDeadLetters']>[0], limit: number) => {
      const seen: { eventId: string; updatedAt: number; id: number }[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.listDeadLetters(f, limit, cursor);
        t.ok(page.items.length <= limit);
        seen.push(...page.items.map((d) => ({ eventId: d.eventId, updatedAt: d.updatedAt, id: d.id })));
        cursor = page.next ?? undefined;
      } while (cursor);
      return seen;
    };
    const all = await walk({}, 2);
    t.same(all.map((d) => d.updatedAt), [90, 70, 50, 30, 30, 20, 10], 'by dead since, newest first, across pages of 2');
    t.ok(all[3]!.id > all[4]!.id, 'a tie in time goes by id, newest first');
    t.equal(new Set(all.map((d) => d.eventId)).size, 7, 'every dead letter exactly once');
    t.same((await walk({ endpointId: 'a' }, 3)).map((d) => d.updatedAt), [90, 70, 50, 30, 20, 10], 'per endpoint, same order');
    t.same((await walk({ type: 'credit.*', since: 15, until: 60 }, 1)).map((d) => d.updatedAt), [50, 30, 20], 'with filters, page by page');
    // A redelivered letter that dies again moves to the top.
    const oldest = all[all.length - 1]!;
    await s.redeliver(oldest.eventId, ['a'], { a: null }, 100);
    const [again] = await s.claim('a', 'w', 2_000_000, 1000, 10);
    await s.fail(again!.id, 'w', attempt(again!.id, again!.eventId, 500, 200), { dead: true }, 200);
    t.equal((await s.listDeadLetters({}, 1)).items[0]!.eventId, oldest.eventId, 'died again: first');
    await t.rejects(s.listDeadLetters({}, 2, Buffer.from('12').toString('base64url')), { name: 'InvalidCursorError' }, 'a cursor of another list is refused');
  });

  t.test(`${name}: delivery counts per event, in one query for many ids`, async (t) => {
    const s = await make(t);
    const [x, y, z] = [item({ endpoints: ['a', 'b', 'c'], unordered: true }), item({ endpoints: ['a'], unordered: true }), item({ endpoints: [] })];
    await s.ingest([x!, y!, z!]);
    const ofX = await s.claim('a', 'w', 2_000_000, 1000, 10);
    const [bx] = await s.claim('b', 'w', 2_000_000, 1000, 10);
    const xa = ofX.find((d) => d.eventId === x!.event!.id)!;
    await s.complete(xa.id, 'w', attempt(xa.id, xa.eventId, 200, 10), 10);
    await s.fail(bx!.id, 'w', attempt(bx!.id, bx!.eventId, 500, 10), { retryAt: 5_000_000 }, 10);
    const counts = await s.deliveryCounts([x!.event!.id, y!.event!.id, z!.event!.id, 'evt_unknown']);
    const by = Object.fromEntries(counts.map(({ eventId, ...c }) => [eventId, c]));
    t.same(by[x!.event!.id], { delivered: 1, pending: 1, retrying: 1, dead: 0 }, 'delivered to a, retrying at b, not yet tried at c');
    t.same(by[y!.event!.id], { delivered: 0, pending: 1, retrying: 0, dead: 0 }, 'in flight on its first try counts as pending');
    t.equal(counts.length, 2, 'events without deliveries (or unknown) are absent');
    t.same(await s.deliveryCounts([]), []);
  });

  t.test(`${name}: endpoint state, stats, quarantine resolution, event queries, export`, async (t) => {
    const s = await make(t);
    await s.recordEndpointFailure('a', 100, 'HTTP 500');
    t.equal(await s.recordEndpointFailure('a', 200, 'timeout'), 100, 'failing streak keeps its start');
    await s.recordEndpointSuccess('a', 300);
    t.equal(await s.recordEndpointFailure('a', 400, 'x'), 400, 'a success ends the streak');
    await s.setEndpointDisabled('a', true, 'gone', 500);
    t.match((await s.endpointStates())[0], { endpointId: 'a', disabled: true, disabledReason: 'gone', lastError: 'x' });
    const q = item({ quarantined: true });
    const ev = item({ transId: 'Z' });
    await s.ingest([q, ev]);
    const stats = await s.endpointStats(5000);
    t.match(stats.find((x) => x.endpointId === 'a'), { queueDepth: 1, deadLetters: 0 });
    const queues = await s.queueStats();
    t.same(queues.find((x) => x.endpointId === 'a'), (({ attempts24h: _a, successes24h: _s, ...q }) => q)(stats.find((x) => x.endpointId === 'a')!),
      'the queue counts /metrics reads are those of the endpoint stats, without the 24-hour attempts');
    const draft = item({ transId: 'QQ' }).event!;
    const resolved = await s.resolveQuarantine(q.callback.id, draft, 'M', { transId: 'QQ' }, 6000);
    t.equal(resolved?.eventId, draft.id);
    t.equal((await s.getCallback(q.callback.id))!.state, 'reprocessed');
    t.equal(await s.resolveQuarantine(q.callback.id, draft, 'M', {}, 6000), null, 'only once');
    t.equal(await s.quarantineSize(), 0);
    const page1 = await s.listEvents({}, 1);
    t.equal(page1.items[0]!.id, draft.id, 'newest first');
    const page2 = await s.listEvents({}, 1, page1.next!);
    t.equal(page2.items[0]!.id, ev.event!.id);
    t.equal((await s.listEvents({ transId: 'Z' }, 10)).items.length, 1);
    t.equal((await s.listEvents({ type: 'open_*.created' }, 10)).items.length, 2);
    t.equal((await s.listEvents({ type: 'open_position' }, 10)).items.length, 0, 'a glob segment count must match');
    const exported: string[] = [];
    for await (const c of s.exportCallbacks(null)) exported.push(c.id);
    t.same(exported, [q.callback.id, ev.callback.id], 'export in arrival order');
  });
  t.test(`${name}: concurrent claims from two owners: never the same delivery, never two of one order key`, async (t) => {
    const s1 = await make(t);
    const s2 = await make(t, s1);
    const items: IngestItem[] = [];
    for (let i = 0; i < 40; i++) items.push(item({ transId: `K${i % 5}` }));
    for (let i = 0; i < 10; i++) items.push(item({ unordered: true }));
    await s1.ingest(items.slice(0, 25));
    await s2.ingest(items.slice(25));
    const keyOf = new Map(items.map((x) => [x.event!.id, x.event!.deliveries[0]!.orderKey]));
    const held = new Map<number, { c: ClaimedDelivery; store: Store; owner: string }>();
    const done: string[] = [];
    const claimers: [Store, string][] = [[s1, 'w1'], [s2, 'w2'], [s1, 'w1'], [s2, 'w2']];
    let violations = 0;
    let now = 2_000_000;
    for (let round = 0; done.length < items.length && round < 400; round++) {
      now += 10;
      // Four claims at once (two per store, so on PostgreSQL four connections race).
      const got = await Promise.all(claimers.map(async ([store, owner]) => ({ store, owner, claimed: await store.claim('a', owner, now, 1e9, 3) })));
      for (const g of got) {
        for (const c of g.claimed) {
          if (held.has(c.id)) violations++;
          const k = keyOf.get(c.eventId);
          if (k !== null && [...held.values()].some((h) => keyOf.get(h.c.eventId) === k)) violations++;
          held.set(c.id, { c, store: g.store, owner: g.owner });
        }
      }
      // Finish about half of what is held, concurrently, each by its owner.
      const finishing = [...held.values()].filter((_h, i) => (i + round) % 2 === 0);
      const ok = await Promise.all(finishing.map((h) => h.store.complete(h.c.id, h.owner, attempt(h.c.id, h.c.eventId, 200, now), now)));
      t.ok(ok.every(Boolean), `round ${round}: every owner completes its own lease`);
      for (const h of finishing) {
        held.delete(h.c.id);
        done.push(h.c.eventId);
      }
    }
    t.equal(violations, 0, 'no delivery claimed twice, no two deliveries of one key held at once');
    t.equal(new Set(done).size, items.length, 'every delivery claimed and completed exactly once');
    for (const key of ['K0', 'K1', 'K2', 'K3', 'K4']) {
      const expected = items.filter((x) => x.event!.transId === key).map((x) => x.event!.id);
      t.same(done.filter((id) => expected.includes(id)), expected, `${key} completed in intake order`);
    }
    t.same(await s1.claim('a', 'w1', now + 10, 1000, 10), [], 'nothing left');
  });

  t.test(`${name}: the same callback stored by two processes at once yields one event`, async (t) => {
    const s1 = await make(t);
    const s2 = await make(t, s1);
    for (let r = 0; r < 16; r++) {
      // Half the rounds with an ordering key, half without (then only the unique index decides).
      const o = { unordered: r % 2 === 1 };
      const a = item({ ...o, dedupe: `race${r}`, transId: `R${r}` });
      const b = item({ ...o, dedupe: `race${r}`, transId: `R${r}` });
      const x1 = item({ ...o, dedupe: `cross${r}`, transId: `X${r}` });
      const x2 = item({ ...o, dedupe: `cross${r}`, transId: `X${r}` });
      // Two batches that conflict in both directions (a before x in one, x before b in the other).
      const [r1, r2] = await Promise.all([s1.ingest([a, x1]), s2.ingest([x2, b])]);
      for (const [p, q, pi, qi] of [[r1[0]!, r2[1]!, a, b], [r1[1]!, r2[0]!, x1, x2]] as const) {
        t.equal([p, q].filter((x) => !x.duplicate).length, 1, `round ${r}: one winner`);
        t.equal(p.eventId, q.eventId, 'both callbacks point at the one event');
        const winner = p.duplicate ? qi : pi;
        const loser = p.duplicate ? pi : qi;
        t.equal(p.eventId, winner.event!.id);
        t.equal(await s1.getEvent(loser.event!.id), null, "the loser's event was not stored");
        t.equal((await s2.deliveriesOf(winner.event!.id)).length, 1, 'deliveries once');
        t.same([(await s1.getCallback(pi.callback.id))!.state, (await s1.getCallback(qi.callback.id))!.state].sort(), ['accepted', 'duplicate'], 'both callbacks kept');
      }
    }
    t.equal((await s1.listEvents({}, 100)).items.length, 32, 'one event per dedupe key');
  });
}

// ---- conflicts: same signed identity, other content (decided in the ingest transaction)

/** An item whose event carries a fingerprint and a conflict draft, as intake builds them. */
function versioned(identity: string, version: Record<string, string>, over: { transId?: string; endpoints?: string[] } = {}): IngestItem {
  const base = item({ dedupe: identity, transId: over.transId ?? identity, endpoints: over.endpoints });
  const ev = base.event!;
  ev.fingerprint = JSON.stringify(version);
  ev.payload = JSON.stringify({ id: ev.id, transId: ev.transId, origin: { channel: 'notify', clientIp: '127.0.0.1', trusted: true } });
  const cid = `${ev.id}C`;
  base.conflict = {
    id: cid, dedupeKey: `conflict:${identity}:${JSON.stringify(version)}`, merchantId: 'M', transId: ev.transId!, payId: ev.payId!, receivedAt: ev.receivedAt,
    deliveries: (over.endpoints ?? ['a']).map((e) => ({ endpointId: e, orderKey: `M\u0000${ev.transId}` })),
    event: { id: cid, type: 'callback.conflict', source: 'relay', merchantId: 'M', receivedAt: 'now', data: { transId: ev.transId, firstEventId: '', fields: [], first: null, second: { callbackId: base.callback.id } } },
  };
  return base;
}

for (const [name, make] of Object.entries(ADAPTERS)) {
  t.test(`${name}: a repeat with other content is a conflict: kept, named, announced once per version`, async (t) => {
    const s = await make(t);
    const genuine = versioned('id1', { amount: 'aa', xid: 'x1' });
    const spliced = versioned('id1', { amount: 'bb', xid: 'x1' });
    const repeat = versioned('id1', { amount: 'aa', xid: 'x1' });
    const splicedAgain = versioned('id1', { amount: 'bb', xid: 'x1' });
    const third = versioned('id1', { xid: 'x2', amount: 'aa', extra: 'e' });
    // One batch (PostgreSQL decides set-wise), then one more commit.
    const r = await s.ingest([genuine, spliced, repeat, splicedAgain]);
    t.same(r.map((x) => x.duplicate), [false, true, true, true]);
    t.same(r.map((x) => x.eventId), Array(4).fill(genuine.event!.id), 'all point at the first event');
    t.same(r.map((x) => !!x.conflict), [false, true, false, true], 'equal content is a duplicate, other content a conflict');
    t.same(r[1]!.conflict, { conflictEventId: spliced.conflict!.id, fields: ['amount'], created: true }, 'the differing field is named');
    t.same(r[3]!.conflict, { conflictEventId: spliced.conflict!.id, fields: ['amount'], created: false }, 'the same conflicting version again: no second conflict event');
    const [third1] = await s.ingest([third]);
    t.same(third1!.conflict?.fields, ['extra', 'xid'], 'fields present in one version only count');
    t.same((await Promise.all([genuine, spliced, repeat, splicedAgain, third].map((i) => s.getCallback(i.callback.id)))).map((c) => c!.state),
      ['accepted', 'conflict', 'duplicate', 'conflict', 'conflict'], 'every callback is kept with its state');
    const ce = await s.getEvent(spliced.conflict!.id);
    t.equal(ce?.type, 'callback.conflict');
    t.equal(ce?.transId, 'id1');
    const payload = JSON.parse(ce!.payload);
    t.equal(payload.data.firstEventId, genuine.event!.id, 'the conflict event names the first event');
    t.same(payload.data.fields, ['amount']);
    t.same(payload.data.first, { eventId: genuine.event!.id, origin: { channel: 'notify', clientIp: '127.0.0.1', trusted: true } }, "the first event's origin");
    t.same(payload.data.second, { callbackId: spliced.callback.id }, 'the draft part is kept');
    t.same(Object.keys(payload.data), ['transId', 'firstEventId', 'fields', 'first', 'second'], 'the filled keys keep their place');
    t.equal((await s.deliveriesOf(spliced.conflict!.id)).length, 1, 'the conflict event is scheduled for delivery');
    t.equal((await s.deliveriesOf(repeat.event!.id)).length, 0);
    const list = await s.listConflicts({}, 10);
    t.same(list.items.map((c) => c.callbackId), [third.callback.id, splicedAgain.callback.id, spliced.callback.id], 'newest first');
    t.match(list.items[2], { eventId: genuine.event!.id, conflictEventId: spliced.conflict!.id, merchantId: 'M', transId: 'id1', fields: ['amount'] });
    t.equal((await s.listConflicts({ transId: 'other' }, 10)).items.length, 0);
    const p1 = await s.listConflicts({ transId: 'id1' }, 2);
    t.equal((await s.listConflicts({}, 2, p1.next!)).items[0]!.callbackId, spliced.callback.id, 'paged');
    t.same((await s.getConflict(third.callback.id))?.fields, ['extra', 'xid']);
    // Ordering: the conflict goes out after the first event of its transaction.
    const claimed = await s.claim('a', 'w', 2_000_000, 1000, 10);
    t.same(claimed.map((c) => c.eventId), [genuine.event!.id], 'the conflict event waits for the first event of its TransID');
  });

  t.test(`${name}: an event without a fingerprint (stored before) is matched by identity alone`, async (t) => {
    const s = await make(t);
    const old = item({ dedupe: 'legacy-old', transId: 'L' });
    await s.ingest([old]);
    const again = versioned('legacy-old', { amount: 'zz' });
    const [r] = await s.ingest([again]);
    t.equal(r!.duplicate, true);
    t.equal(r!.conflict, undefined, 'no fingerprint to compare: a duplicate');
  });

  t.test(`${name}: the start-up upgrade rekeys old events and fills their fingerprints`, async (t) => {
    const s = await make(t);
    const a = item({ dedupe: 'old-a' });
    const b = item({ dedupe: 'old-b' });
    const c = item({ dedupe: 'old-c' });
    const relayTest = item({ dedupe: 'relay-test' });
    for (const x of [a, b, c]) x.event!.payload = JSON.stringify({ id: x.event!.id, source: 'paygate' });
    relayTest.event!.source = 'relay';
    await s.ingest([a, b, c, relayTest]);
    const todo = await s.eventsWithoutFingerprint(0, 2);
    t.same(todo.map((x) => x.payload), [a.event!.payload, b.event!.payload], 'paygate events only, oldest first, limited');
    const rest = await s.eventsWithoutFingerprint(todo[1]!.seq, 10);
    t.same(rest.map((x) => x.payload), [c.event!.payload]);
    // b and c are two old events of one identity (a spliced XID stored before conflicts were detected).
    const n = await s.setEventFingerprints([
      { seq: todo[0]!.seq, dedupeKey: 'new-a', fingerprint: '{"f":"1"}' },
      { seq: todo[1]!.seq, dedupeKey: 'new-bc', fingerprint: '{"f":"2"}' },
      { seq: rest[0]!.seq, dedupeKey: 'new-bc', fingerprint: '{"f":"3"}' },
    ]);
    t.equal(n, 2, 'a key another event holds is left as it was');
    t.same(await s.eventsWithoutFingerprint(0, 10), [], 'every old paygate event has its fingerprint');
    const [dup] = await s.ingest([versioned('new-a', { f: '1' })]);
    t.same([dup!.eventId, dup!.duplicate, dup!.conflict], [a.event!.id, true, undefined], 'the rekeyed event dedupes new callbacks of its identity');
    const [con] = await s.ingest([versioned('new-bc', { f: '9' })]);
    t.same([con!.eventId, con!.conflict?.fields], [b.event!.id, ['f']], 'and its fingerprint finds conflicts');
    t.equal(await s.setEventFingerprints([]), 0);
  });

  t.test(`${name}: two processes storing two versions of one identity at once: one event, one conflict`, async (t) => {
    const s1 = await make(t);
    const s2 = await make(t, s1);
    for (let r = 0; r < 8; r++) {
      const v1 = versioned(`race-c${r}`, { amount: '1' });
      const v2 = versioned(`race-c${r}`, { amount: '2' });
      const [[a], [b]] = await Promise.all([s1.ingest([v1]), s2.ingest([v2])]);
      t.equal([a, b].filter((x) => !x!.duplicate).length, 1, `round ${r}: one event`);
      t.equal([a, b].filter((x) => x!.conflict).length, 1, 'the other is the conflict');
      t.equal(a!.eventId, b!.eventId);
    }
    t.equal((await s1.listConflicts({}, 100)).items.length, 8);
  });

  t.test(`${name}: claimed merchant and redirect-only returns are stored`, async (t) => {
    const s = await make(t);
    const q = item({ quarantined: true });
    q.callback.merchantId = null;
    q.callback.claimedMerchantId = 'M';
    const ret = item({ quarantined: true });
    ret.callback.state = 'returned';
    ret.callback.reason = null;
    await s.ingest([q, ret]);
    t.equal((await s.getCallback(q.callback.id))!.claimedMerchantId, 'M');
    t.equal((await s.getCallback(q.callback.id))!.merchantId, null, 'the claim is not the merchant');
    t.same((await s.listQuarantine({ claimedMerchantId: 'M' }, 10)).items.map((c) => c.id), [q.callback.id]);
    t.same((await s.listQuarantine({ merchantId: 'M' }, 10)).items, [], 'the merchant filter does not take claims');
    t.equal((await s.getCallback(ret.callback.id))!.state, 'returned');
    t.equal(await s.quarantineSize(), 1, 'a stored browser return is not quarantined');
  });

  t.test(`${name}: retention walks a class in bounded steps, skips what is held, and purges only units still due and unchanged`, async (t) => {
    const s = await make(t);
    const items = Array.from({ length: 7 }, (_, i) => item({ at: 1000 + i, unordered: true }));
    const quarantined = [item({ quarantined: true, at: 1010 }), item({ quarantined: true, at: 1011 }), item({ quarantined: true, at: 9000 })];
    await s.ingest([...items, ...quarantined]);
    const ids = items.map((i) => i.event!.id);
    // 0..4 delivered, 5 stays pending (retrying), 6 dead-lettered.
    for (const d of await s.claim('a', 'o', 2000, 60_000, 100)) {
      const i = ids.indexOf(d.eventId);
      if (i <= 4) t.ok(await s.complete(d.id, 'o', attempt(d.id, d.eventId, 200, 2000), 2000));
      else if (i === 5) t.ok(await s.fail(d.id, 'o', attempt(d.id, d.eventId, 503, 2000), { retryAt: 99_000 }, 2000));
      else t.ok(await s.fail(d.id, 'o', attempt(d.id, d.eventId, 500, 2100), { dead: true }, 2100));
    }
    const walk = async (cls: 'delivered' | 'deadLetters' | 'callbacks' | 'quarantine', cutoff: number) => {
      const keys: string[] = [];
      let cursor = null;
      let steps = 0;
      do {
        const step = await s.retentionScan(cls, cutoff, cursor, 2);
        t.ok(step.walked <= 2, `${cls}: a step walks at most its limit`);
        for (const u of step.units) if (!keys.includes(u.key)) keys.push(u.key);
        cursor = step.next;
        steps++;
      } while (cursor && steps < 50);
      return { keys, steps };
    };
    const delivered = await walk('delivered', 5000);
    t.same(delivered.keys, ids.slice(0, 5), 'delivered: the five whose deliveries succeeded, oldest first; pending and dead ones are not');
    t.ok(delivered.steps >= 3, `walked in ${delivered.steps} steps of 2`);
    t.same((await walk('delivered', 1003)).keys, ids.slice(0, 3), 'only what is older than the cutoff');
    t.same((await walk('deadLetters', 5000)).keys, [ids[6]], 'dead letters by their death');
    t.same((await walk('deadLetters', 2100)).keys, [], 'a death at the cutoff is not older than it');
    const cbIds = items.map((i) => i.callback.id);
    t.same((await walk('callbacks', 5000)).keys, [...cbIds.slice(0, 5), cbIds[6]], 'callbacks: all but the pending event\'s');
    t.same((await walk('quarantine', 5000)).keys, quarantined.slice(0, 2).map((q) => q.callback.id), 'quarantine by its own time');

    const step = await s.retentionScan('delivered', 5000, null, 10);
    const unit = step.units.find((u) => u.key === ids[1])!;
    t.same(unit.rows.map((r) => r.table), ['events', 'deliveries', 'attempts'], 'a unit holds the event, its deliveries and attempts');
    t.equal(unit.at, 1001);
    const sizes = Object.fromEntries(step.units.map((u) => [u.key, u.rows.length]));
    // Between scan and purge event 0 is redelivered: held now.
    await s.redeliver(ids[0]!, ['a'], { a: null }, 3000);
    const r = await s.retentionPurge('delivered', 5000, sizes);
    t.same([...r.keys].sort(), ids.slice(1, 5).sort(), 'the purge asks again: a unit held since is kept');
    t.equal(r.rows, 4 * 3);
    t.equal(await s.getEvent(ids[1]!), null);
    t.not(await s.getEvent(ids[0]!), null);
    t.equal((await s.deliveriesOf(ids[1]!)).length, 0);
    t.equal((await s.attemptsOf(ids[1]!)).length, 0);
    t.same((await s.retentionPurge('callbacks', 5000, { [cbIds[6]!]: 1, [cbIds[5]!]: 1 })).keys, [cbIds[6]], 'a callback of a held event is not purged even when asked');
    // The redelivery succeeds: event 0 is due again, with one attempt more than was scanned (and archived).
    const [again] = await s.claim('a', 'o', 3000, 60_000, 10);
    t.equal(again!.eventId, ids[0]);
    t.ok(await s.complete(again!.id, 'o', attempt(again!.id, ids[0]!, 200, 3000), 3000));
    t.same((await s.retentionPurge('delivered', 5000, { [ids[0]!]: sizes[ids[0]!]! })).keys, [], 'a unit whose rows changed since its scan is kept for the next sweep');
    const fresh = (await s.retentionScan('delivered', 5000, null, 10)).units.find((u) => u.key === ids[0])!;
    t.equal(fresh.rows.length, 4, 'scanned again: event, delivery, two attempts');
    t.same((await s.retentionPurge('delivered', 5000, { [ids[0]!]: fresh.rows.length })).keys, [ids[0]]);

    const stats = await s.retentionStats();
    t.equal(stats.delivered.rows, 2, 'events left: the pending, the dead');
    t.equal(stats.quarantine.rows, 3);
    t.equal(stats.quarantine.oldestAt, 1010);
    t.equal(stats.deadLetters.rows, 1);
    t.equal(stats.deadLetters.oldestAt, 2100, 'dead letters are as old as their death');
    t.equal(stats.delivered.oldestAt, null, 'nothing delivered is left that nothing holds');
    t.ok((await s.databaseSize()).bytes > 0);
    await s.retentionReclaim();
    t.equal((await s.retentionStats()).deadLetters.rows, 1, 'reclaiming space changes no data');
    const lock = await s.retentionLock();
    t.ok(lock, 'the sweep turn is free');
    if (s.kind === 'postgres') {
      const other = await make(t, s);
      t.equal(await other.retentionLock(), null, 'a second instance waits for its turn');
      await lock!.release();
      const again = await other.retentionLock();
      t.ok(again, 'and gets it once released');
      await again!.release();
    } else await lock!.release();
  });
}

for (const [name, make] of Object.entries(ADAPTERS)) {
  t.test(`${name}: erasure by TransID, MandateID and PayID; a repeat changes nothing; the record pages`, async (t) => {
    const s = await make(t);
    const a = item({ transId: 'TE' });
    a.event!.payload = JSON.stringify({ id: a.event!.id, source: 'paygate', operation: 'open_position', data: { transId: 'TE', payId: a.event!.payId, fields: { lastname: 'Doe', amount: '5' } } });
    a.event!.fingerprint = '{}';
    a.callback.decoded = JSON.stringify({ transId: 'TE', fields: { lastname: 'Doe', amount: '5' } });
    const m = item({ transId: 'TM' });
    m.event!.mandateId = 'MD1';
    m.event!.payload = JSON.stringify({ id: m.event!.id, source: 'paygate', data: { transId: 'TM', userData: 'Doe' } });
    const ret = item({ quarantined: true });
    Object.assign(ret.callback, { state: 'returned', reason: null, decoded: JSON.stringify({ transId: 'TE', userData: 'Doe' }) });
    const q = item({ quarantined: true });
    q.callback.body = Buffer.from('MerchantID=M&TransID=TE&Data=00');
    const other = item({ quarantined: true });
    other.callback.body = Buffer.from('MerchantID=M&TransID=TE2&Data=00');
    await s.ingest([a, m, ret, q, other]);
    const [c] = await s.claim('a', 'o', 2_000_000, 10_000, 10);
    t.equal(c!.eventId, a.event!.id);
    await s.complete(c!.id, 'o', { ...attempt(c!.id, c!.eventId, 200, 2_000_000), responseBody: 'thanks Doe' }, 2_000_001);

    const r = await s.eraseSubject({ transId: 'TE' });
    t.same(r, { eventIds: [a.event!.id], transIds: ['TE'], rows: { events: 1, callbacks: 3, attempts: 1 } }, 'the event, its callback, the return and the quarantined one naming TE in plain');
    const ev = JSON.parse((await s.getEvent(a.event!.id))!.payload) as { data: { fields: Record<string, string> }; erased: boolean };
    t.same(ev.data.fields, { lastname: '[erased]', amount: '5' });
    t.equal(ev.erased, true);
    const cb = (await s.getCallback(a.callback.id))!;
    t.same([cb.body.length, cb.remoteIp, cb.headers['user-agent'], (cb.decoded as { fields: Record<string, string> }).fields.lastname], [0, null, '[erased]', '[erased]']);
    t.equal((await s.getCallback(q.callback.id))!.body.length, 0);
    t.equal((await s.getCallback(other.callback.id))!.body.toString(), 'MerchantID=M&TransID=TE2&Data=00', 'TE2 is another TransID');
    t.equal((await s.attemptsOf(a.event!.id))[0]!.responseBody, null);
    t.same((await s.eraseSubject({ transId: 'TE' })).rows, { events: 0, callbacks: 0, attempts: 0 }, 'a repeat changes nothing');
    t.same((await s.eraseSubject({ payId: a.event!.payId! })).rows, { events: 0, callbacks: 0, attempts: 0 }, 'by PayID: the same rows, already erased');
    t.same((await s.eraseSubject({ mandateId: 'MD1' })).rows, { events: 1, callbacks: 1, attempts: 0 });
    t.equal(JSON.parse((await s.getEvent(m.event!.id))!.payload).data.userData, '[erased]');
    t.equal(await s.purgeErased(['events', 'callbacks', 'attempts']), true);

    const r1 = await s.recordErasure({ erasedAt: 5, actor: 'cli', reason: 'one', selector: { kind: 'transId', value: 'TE' }, rows: { events: 1 }, total: 1 });
    const r2 = await s.recordErasure({ erasedAt: 6, actor: 'token:abc', reason: 'two', selector: { kind: 'mandateId', value: 'MD1' }, rows: { events: 0 }, total: 0 });
    t.ok(r2.seq > r1.seq);
    const p1 = await s.listErasures(1);
    t.same(p1.items, [r2]);
    t.same((await s.listErasures(1, p1.next!)).items, [r1]);
  });
}

// The admin read/write operations, shared by the JSON API and the console:
// one code path, no second copy of the logic. They take typed filters (the route
// schemas in src/routes/schemas.ts parse them) and only the services they use.

import type { Sweeper } from '../lifecycle/sweeper.js';
import { orderKeyFor, type Endpoint } from '../delivery/endpoints.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import { RelayError } from '../errors.js';
import { newId } from '../ids.js';
import type { OutgoingEvent } from '../events/publish.js';
import type { Intake } from '../intake.js';
import type { Erasure } from '../lifecycle/erasure.js';
import { DEFAULT_PAGE, MAX_PAGE, limit } from '../routes/schemas.js';
import { InvalidCursorError } from '../store/query.js';
import type { ActivityBucket, CallbackRecord, ErasureRecord, ErasureSelector, ConflictFilter, ConflictRecord, DeadLetterFilter, DeliveryCounts, EventFilter, QuarantineFilter, Store } from '../store/types.js';
import type { AnyEvent } from './schemas.js';
import { parseKind } from '../paygate/operation.js';
import { isReprocessable, reasonHint } from '../quarantine.js';
import { signedCallbackUrl } from '../paygate/url-token.js';

/** What the admin operations need from the relay, and nothing else. */
export interface AdminServices {
  store: Store;
  intake: Pick<Intake, 'reprocess'>;
  dispatcher: Pick<Dispatcher, 'wake' | 'wakeAll' | 'isDisabled' | 'enable' | 'disable'>;
  /** The live endpoint list (the relay's own array, the Collectmaxx export endpoint included). */
  endpoints: readonly Endpoint[];
  /** What minting signed callback URLs needs: paygate.urlSecret as bytes (null: unsigned) and the merchant ids. */
  urlSigning: { secrets: Buffer[] | null; merchantIds: readonly string[] };
  /** Erasure of a person's data (lifecycle/erasure.ts). */
  erasure: Pick<Erasure, 'erase' | 'list'>;
  /** Route, store and announce an event (events/publish.ts). */
  publish(event: OutgoingEvent, now?: number): Promise<{ eventId: string; duplicate: boolean }>;
  now(): number;
  /** Retention (src/lifecycle/sweeper.ts): its numbers, last sweep and archive files. */
  retention?: Pick<Sweeper, 'stats' | 'statsAt' | 'last' | 'config' | 'archiveDir' | 'archives'>;
}

/** Page size from an untyped value, for the routes that do not declare a schema themselves yet (Collectmaxx). */
export function pageSize(value: unknown, fallback = DEFAULT_PAGE): number {
  if (value === undefined || value === '') return fallback;
  const r = limit().safeParse(value);
  if (!r.success) throw new RelayError('bad_request', `limit must be 1..${MAX_PAGE}`);
  return r.data;
}

/** The dead-letter filter as the API spells it (`endpoint`) → the store's. */
export function deadLetterFilter(f: { endpoint?: string; type?: string; since?: number; until?: number }): DeadLetterFilter {
  return { endpointId: f.endpoint, type: f.type, since: f.since, until: f.until };
}

/** A cursor the store cannot read is the caller's mistake: 400, not 500. */
export function wrapCursor<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((err: unknown) => {
    if (err instanceof InvalidCursorError) throw new RelayError('bad_request', err.message);
    throw err;
  });
}

export async function listEvents(svc: AdminServices, filter: EventFilter, limit: number, cursor?: string) {
  const page = await wrapCursor(() => svc.store.listEvents(filter, limit, cursor));
  return { items: page.items.map((e) => JSON.parse(e.payload) as AnyEvent), next: page.next };
}

export type DeliveryStatus = 'dead' | 'retrying' | 'pending' | 'delivered' | 'no_endpoint';
export type EventDeliveryStatus = Omit<DeliveryCounts, 'eventId'> & { status: DeliveryStatus };

/** An event's delivery status: the state that needs attention first wins (dead, retrying, pending), else delivered. */
export function deliveryStatus(c: Omit<DeliveryCounts, 'eventId'> | undefined): DeliveryStatus {
  if (!c || c.delivered + c.pending + c.retrying + c.dead === 0) return 'no_endpoint';
  return c.dead > 0 ? 'dead' : c.retrying > 0 ? 'retrying' : c.pending > 0 ? 'pending' : 'delivered';
}

/** The delivery status of a page of events, from one aggregated query over their ids. */
export async function deliveryStatuses(svc: AdminServices, eventIds: readonly string[]): Promise<Map<string, EventDeliveryStatus>> {
  const counts = new Map((await svc.store.deliveryCounts(eventIds)).map((c) => [c.eventId, c]));
  return new Map(eventIds.map((id) => {
    const c = counts.get(id);
    return [id, { status: deliveryStatus(c), delivered: c?.delivered ?? 0, pending: c?.pending ?? 0, retrying: c?.retrying ?? 0, dead: c?.dead ?? 0 }];
  }));
}

/** How a callback was received, without its raw body (which holds Data). */
export function callbackView(c: CallbackRecord) {
  return {
    id: c.id, receivedAt: new Date(c.receivedAt).toISOString(), channel: c.channel, method: c.method, path: c.path, kind: c.kind,
    contentType: c.contentType, remoteIp: c.remoteIp, userAgent: c.headers['user-agent'] ?? null, merchantId: c.merchantId,
    claimedMerchantId: c.claimedMerchantId, state: c.state, reason: c.reason, detail: c.detail, eventId: c.eventId, bodyBytes: c.body.length, decoded: c.decoded,
  };
}

export async function eventDetail(svc: AdminServices, id: string) {
  const ev = await svc.store.getEvent(id);
  if (!ev) throw new RelayError('not_found', `event ${id}`);
  const [callback, deliveries, attempts] = await Promise.all([
    ev.callbackId ? svc.store.getCallback(ev.callbackId) : null,
    svc.store.deliveriesOf(id),
    svc.store.attemptsOf(id),
  ]);
  return {
    event: JSON.parse(ev.payload) as AnyEvent,
    callback: callback ? callbackView(callback) : null,
    deliveries: deliveries.map((d) => ({
      endpointId: d.endpointId, state: d.state, attempts: d.attempts,
      nextAttemptAt: d.state === 'pending' ? new Date(d.nextAttemptAt).toISOString() : null,
      completedAt: d.completedAt ? new Date(d.completedAt).toISOString() : null,
      lastStatus: d.lastStatus, lastError: d.lastError,
      attemptLog: attempts.filter((a) => a.deliveryId === d.id).map((a) => ({
        startedAt: new Date(a.startedAt).toISOString(), durationMs: a.durationMs, statusCode: a.statusCode, errorClass: a.errorClass, responseBody: a.responseBody,
      })),
    })),
  };
}

export async function redeliverEvent(svc: AdminServices, id: string, endpoint?: string) {
  const ev = await svc.store.getEvent(id);
  if (!ev) throw new RelayError('not_found', `event ${id}`);
  let targets: string[];
  if (endpoint) {
    if (!svc.endpoints.some((e) => e.id === endpoint)) throw new RelayError('not_found', `endpoint ${endpoint}`);
    targets = [endpoint];
  } else {
    targets = (await svc.store.deliveriesOf(id)).map((d) => d.endpointId).filter((e) => svc.endpoints.some((x) => x.id === e));
  }
  const orderKeys = Object.fromEntries(svc.endpoints.map((e) => [e.id, orderKeyFor(e, ev.merchantId, ev.transId)]));
  const scheduled = await svc.store.redeliver(id, targets, orderKeys, svc.now());
  scheduled.forEach((e) => svc.dispatcher.wake(e));
  const skipped = targets.filter((t) => !scheduled.includes(t));
  return { scheduled, inFlight: skipped };
}

export async function listQuarantine(svc: AdminServices, filter: QuarantineFilter, limit: number, cursor?: string) {
  const page = await wrapCursor(() => svc.store.listQuarantine(filter, limit, cursor));
  return { items: page.items.map(callbackView), next: page.next };
}

function conflictView(c: ConflictRecord) {
  return {
    callbackId: c.callbackId, receivedAt: new Date(c.receivedAt).toISOString(), merchantId: c.merchantId, transId: c.transId, payId: c.payId,
    firstEventId: c.eventId, conflictEventId: c.conflictEventId, fields: c.fields,
  };
}

export async function listConflicts(svc: AdminServices, filter: ConflictFilter, limit: number, cursor?: string) {
  const page = await wrapCursor(() => svc.store.listConflicts(filter, limit, cursor));
  return { items: page.items.map(conflictView), next: page.next };
}

/**
 * A conflict with both versions as an operator may see them: the decoded fields (never MAC or
 * Data) of the callback the first event came from and of the conflicting one, and how each arrived.
 */
export async function conflictDetail(svc: AdminServices, callbackId: string) {
  const c = await svc.store.getConflict(callbackId);
  if (!c) throw new RelayError('not_found', `conflict ${callbackId}`);
  const first = await svc.store.getEvent(c.eventId);
  const [firstCb, secondCb] = await Promise.all([first?.callbackId ? svc.store.getCallback(first.callbackId) : null, svc.store.getCallback(c.callbackId)]);
  const version = (cb: CallbackRecord | null) => (cb ? { callback: callbackView(cb), values: Object.fromEntries(c.fields.map((f) => [f, valueOf(cb.decoded, f)])) } : null);
  return { ...conflictView(c), first: version(firstCb), second: version(secondCb) };
}

/** A field as the conflict names it (`operation`, `xid`, `fields.amount`) in a callback's decoded fields. */
function valueOf(decoded: Record<string, unknown> | null, field: string): unknown {
  if (!decoded) return null;
  if (field.startsWith('fields.')) return (decoded.fields as Record<string, unknown> | undefined)?.[field.slice(7)] ?? null;
  return decoded[field] ?? null;
}

/** A signed callback URL for one shop or transaction (the CLI's `url`, for shops that mint per transaction). */
export function mintCallbackUrl(svc: AdminServices, body: { merchant: string; channel: string; kind: string; transId?: string; base?: string }) {
  const r = signedCallbackUrl(svc.urlSigning.secrets, svc.urlSigning.merchantIds, {
    merchantId: body.merchant, channel: body.channel, kind: body.kind, transId: body.transId, base: body.base,
  }, parseKind);
  if (!r.ok) throw new RelayError('bad_request', r.error);
  return { url: r.url, path: r.path, token: r.token, transIdBound: r.transIdBound };
}

/**
 * Decode a quarantined callback again. One whose reason no fix can change (src/quarantine.ts)
 * is refused with 409 not_reprocessable: the answer would be the same, and saying so is clearer.
 */
export async function reprocessOne(svc: AdminServices, id: string) {
  const cb = await svc.store.getCallback(id);
  if (!cb || cb.state !== 'quarantined') throw new RelayError('not_found', `quarantined callback ${id}`);
  if (!isReprocessable(cb.reason)) throw new RelayError('not_reprocessable', `${cb.reason}: ${reasonHint(cb.reason)}`);
  const r = await svc.intake.reprocess(id);
  if (!r) throw new RelayError('not_found', `quarantined callback ${id}`);
  return r;
}

/**
 * Reprocess every quarantined callback matching the filter, page by page. Those quarantined
 * for a reason no fix can change are not decoded again: `skipped` counts them.
 */
export async function reprocessMatching(svc: AdminServices, filter: QuarantineFilter) {
  const counts = { processed: 0, accepted: 0, duplicate: 0, conflict: 0, stillQuarantined: 0, skipped: 0 };
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await svc.store.listQuarantine(filter, MAX_PAGE, cursor);
    for (const c of page.items) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      if (!isReprocessable(c.reason)) {
        counts.skipped++;
        continue;
      }
      const r = await svc.intake.reprocess(c.id);
      if (!r) continue;
      counts.processed++;
      if (r.result === 'accepted') counts.accepted++;
      else if (r.result === 'duplicate') counts.duplicate++;
      else if (r.result === 'conflict') counts.conflict++;
      else counts.stillQuarantined++;
    }
    cursor = page.next ?? undefined;
  } while (cursor);
  return counts;
}

export async function listDeadLetters(svc: AdminServices, filter: DeadLetterFilter, limit: number, cursor?: string) {
  const page = await wrapCursor(() => svc.store.listDeadLetters(filter, limit, cursor));
  return {
    items: page.items.map((d) => ({
      eventId: d.eventId, type: d.type, endpointId: d.endpointId, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError,
      deadSince: new Date(d.updatedAt).toISOString(),
    })),
    next: page.next,
  };
}

export async function redeliverDeadLetters(svc: AdminServices, filter: DeadLetterFilter, dryRun: boolean) {
  if (dryRun) return { count: await svc.store.countDeadLetters(filter), dryRun: true };
  const count = await svc.store.redeliverDeadLetters(filter, svc.now());
  svc.dispatcher.wakeAll();
  return { count, dryRun: false };
}

export async function endpointHealth(svc: AdminServices) {
  const now = svc.now();
  const [stats, states] = await Promise.all([svc.store.endpointStats(now), svc.store.endpointStates()]);
  return svc.endpoints.map((ep) => {
    const s = stats.find((x) => x.endpointId === ep.id);
    const st = states.find((x) => x.endpointId === ep.id);
    const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);
    // From storage, not this process's lanes: every instance (and its console) shows the same.
    return {
      id: ep.id, url: ep.url, enabled: ep.enabledInConfig && !st?.disabled, enabledInConfig: ep.enabledInConfig,
      disabledReason: st?.disabled ? st.disabledReason : ep.enabledInConfig ? null : 'config',
      disabledAt: st?.disabled ? iso(st.disabledAt) : null, ordering: ep.ordering, concurrency: ep.concurrency,
      health: {
        successRate24h: s && s.attempts24h > 0 ? s.successes24h / s.attempts24h : null,
        attempts24h: s?.attempts24h ?? 0,
        lastError: st?.lastError ?? null, lastFailureAt: iso(st?.lastFailureAt), lastSuccessAt: iso(st?.lastSuccessAt),
        failingSince: iso(st?.failingSince),
        queueDepth: s?.queueDepth ?? 0,
        oldestPendingAgeSeconds: s?.oldestPendingAt ? Math.max(0, (now - s.oldestPendingAt) / 1000) : 0,
        deadLetters: s?.deadLetters ?? 0,
      },
    };
  });
}

export async function setEndpointEnabled(svc: AdminServices, id: string, enabled: boolean) {
  const ep = svc.endpoints.find((e) => e.id === id);
  if (!ep) throw new RelayError('not_found', `endpoint ${id}`);
  if (enabled && !ep.enabledInConfig) throw new RelayError('conflict', `endpoint ${id} is disabled in the configuration`);
  if (enabled) await svc.dispatcher.enable(id);
  else await svc.dispatcher.disable(id, 'operator');
  return (await endpointHealth(svc)).find((e) => e.id === id)!;
}

/** The overview windows: the last hour by minute and the last day by half hour, aligned to the bucket size. */
export const OVERVIEW_WINDOWS = {
  hour: { spanMs: 3600_000, bucketMs: 60_000 },
  day: { spanMs: 24 * 3600_000, bucketMs: 30 * 60_000 },
} as const;

/** Totals, charts and health in one read: what an operator looks at first. */
export async function overview(svc: AdminServices) {
  const now = svc.now();
  const window = async (spanMs: number, bucketMs: number) => {
    // Aligned so the bars do not shift between refreshes; the last bucket is the current, partial one.
    const until = (Math.floor(now / bucketMs) + 1) * bucketMs;
    const since = until - spanMs;
    const [buckets, latency] = await Promise.all([svc.store.activity(since, until, bucketMs), svc.store.attemptSummary(since, until)]);
    const sum = (k: keyof Omit<ActivityBucket, 'start'>) => buckets.reduce((n, b) => n + b[k], 0);
    return {
      since: new Date(since).toISOString(), until: new Date(until).toISOString(), bucketMs,
      totals: { callbacks: sum('callbacks'), quarantined: sum('quarantined'), events: sum('events'), attempts: sum('attempts'), attemptsOk: sum('attemptsOk') },
      delivery: {
        attempts: latency.attempts, successes: latency.successes,
        successRate: latency.attempts > 0 ? latency.successes / latency.attempts : null,
        p50Ms: latency.p50Ms, p99Ms: latency.p99Ms,
      },
      buckets: buckets.map((b) => ({ ...b, start: new Date(b.start).toISOString() })),
    };
  };
  const [hour, day, quarantineSize, deadLetters, endpoints] = await Promise.all([
    window(OVERVIEW_WINDOWS.hour.spanMs, OVERVIEW_WINDOWS.hour.bucketMs),
    window(OVERVIEW_WINDOWS.day.spanMs, OVERVIEW_WINDOWS.day.bucketMs),
    svc.store.quarantineSize(),
    svc.store.countDeadLetters({}),
    endpointHealth(svc),
  ]);
  return {
    generatedAt: new Date(now).toISOString(),
    hour, day, quarantineSize, deadLetters,
    disabledEndpoints: endpoints.filter((e) => !e.enabled).length,
    endpoints,
  };
}

/**
 * A `relay.test` event for one endpoint: stored and delivered through the outbox like any
 * other event (same signing, retries and attempt log), but not from a callback.
 */
export async function sendTestEvent(svc: AdminServices, endpointId: string, message?: string) {
  const ep = svc.endpoints.find((e) => e.id === endpointId);
  if (!ep) throw new RelayError('not_found', `endpoint ${endpointId}`);
  const text = (message ?? '').trim().slice(0, 200) || `Test event from paygate-relay for endpoint ${ep.id}`;
  const now = svc.now();
  const id = newId('evt', now);
  const payload = JSON.stringify({ id, type: 'relay.test', source: 'relay', receivedAt: new Date(now).toISOString(), data: { message: text } });
  await svc.publish({ id, type: 'relay.test', source: 'relay', merchantId: null, transId: null, receivedAt: now, dedupeKey: `relay.test:${id}`, payload, to: [ep.id] }, now);
  return { eventId: id, endpointId: ep.id, endpointEnabled: !svc.dispatcher.isDisabled(ep.id) };
}

/** An erasure as the API and the console show it. */
export function erasureView(r: ErasureRecord) {
  return { seq: r.seq, erasedAt: new Date(r.erasedAt).toISOString(), actor: r.actor, reason: r.reason, selector: r.selector, rows: r.rows, total: r.total };
}

/** Who asked, as audit rows name them: an admin token or a console session by the token's id (never the token). */
export const actorOf = {
  token: (tokenId: string | undefined) => `token:${(tokenId ?? 'unknown').slice(0, 12)}`,
  console: (tokenId: string) => `console:${tokenId.slice(0, 12)}`,
};

/** Erase one person's data, found by exactly one identifier (docs/erasure.md). */
export async function erase(svc: AdminServices, req: { transId?: string; payId?: string; mandateId?: string; reason: string }, actor: string) {
  const given = (['transId', 'payId', 'mandateId'] as const).filter((k) => req[k] !== undefined);
  if (given.length !== 1) throw new RelayError('bad_request', 'give exactly one of transId, payId, mandateId');
  const k = given[0]!;
  const selector = { [k]: req[k]! } as ErasureSelector;
  const r = await svc.erasure.erase({ selector, reason: req.reason, actor });
  return { ...erasureView(r), purged: r.purged };
}

export async function listErasures(svc: AdminServices, limit: number, cursor?: string) {
  const page = await wrapCursor(() => svc.erasure.list(limit, cursor));
  return { items: page.items.map(erasureView), next: page.next };
}

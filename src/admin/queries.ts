// The admin read/write operations, shared by the JSON API and the console:
// one code path, no second copy of the logic.

import { orderKeyFor } from '../delivery/endpoints.js';
import { RelayError } from '../errors.js';
import { newId } from '../ids.js';
import { parseKind } from '../paygate/operation.js';
import { signedCallbackUrl } from '../paygate/url-token.js';
import { urlSecrets, type Relay } from '../relay.js';
import type { ActivityBucket, CallbackRecord, ConflictFilter, ConflictRecord, DeadLetterFilter, EventDraft, EventFilter, QuarantineFilter } from '../store/types.js';

export const MAX_PAGE = 200;

export function pageSize(limit: unknown, fallback = 50): number {
  if (limit === undefined || limit === '') return fallback;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new RelayError('bad_request', `limit must be 1..${MAX_PAGE}`);
  return n;
}

/** ISO 8601 or epoch milliseconds. */
export function parseTime(v: unknown, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (Number.isNaN(t)) throw new RelayError('bad_request', `${name} must be an ISO 8601 time or epoch milliseconds`);
  return t;
}

const TYPE_GLOB = /^[a-z0-9_*]+(\.[a-z0-9_*]+)*$/;

function typeFilter(v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  const s = String(v);
  if (!TYPE_GLOB.test(s)) throw new RelayError('bad_request', 'type must be an event type or glob such as mandate.*');
  return s;
}

const str = (v: unknown) => (v === undefined || v === '' ? undefined : String(v));

export function eventFilterFrom(q: Record<string, unknown>): EventFilter {
  return {
    type: typeFilter(q.type), transId: str(q.transId), payId: str(q.payId), mandateId: str(q.mandateId),
    merchantId: str(q.merchantId), outcome: str(q.outcome), since: parseTime(q.since, 'since'), until: parseTime(q.until, 'until'),
  };
}

export function deadLetterFilterFrom(q: Record<string, unknown>): DeadLetterFilter {
  return { endpointId: str(q.endpoint), type: typeFilter(q.type), since: parseTime(q.since, 'since'), until: parseTime(q.until, 'until') };
}

export function quarantineFilterFrom(q: Record<string, unknown>): QuarantineFilter {
  return {
    merchantId: str(q.merchantId), claimedMerchantId: str(q.claimedMerchantId), reason: str(q.reason),
    since: parseTime(q.since, 'since'), until: parseTime(q.until, 'until'),
  };
}

export function conflictFilterFrom(q: Record<string, unknown>): ConflictFilter {
  return { merchantId: str(q.merchantId), transId: str(q.transId), since: parseTime(q.since, 'since'), until: parseTime(q.until, 'until') };
}

/** A cursor the store cannot read is the caller's mistake: 400, not 500. */
export function wrapCursor<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((err: Error) => {
    if (err.message === 'invalid cursor') throw new RelayError('bad_request', 'invalid cursor');
    throw err;
  });
}

export async function listEvents(relay: Relay, q: Record<string, unknown>) {
  const page = await wrapCursor(() => relay.store.listEvents(eventFilterFrom(q), pageSize(q.limit), str(q.cursor)));
  return { items: page.items.map((e) => JSON.parse(e.payload) as Record<string, unknown>), next: page.next };
}

/** How a callback was received, without its raw body (which holds Data). */
export function callbackView(c: CallbackRecord) {
  return {
    id: c.id, receivedAt: new Date(c.receivedAt).toISOString(), channel: c.channel, method: c.method, path: c.path, kind: c.kind,
    contentType: c.contentType, remoteIp: c.remoteIp, userAgent: c.headers['user-agent'] ?? null, merchantId: c.merchantId,
    claimedMerchantId: c.claimedMerchantId, state: c.state, reason: c.reason, detail: c.detail, eventId: c.eventId, bodyBytes: c.body.length, decoded: c.decoded,
  };
}

export async function eventDetail(relay: Relay, id: string) {
  const ev = await relay.store.getEvent(id);
  if (!ev) throw new RelayError('not_found', `event ${id}`);
  const [callback, deliveries, attempts] = await Promise.all([
    ev.callbackId ? relay.store.getCallback(ev.callbackId) : null,
    relay.store.deliveriesOf(id),
    relay.store.attemptsOf(id),
  ]);
  return {
    event: JSON.parse(ev.payload) as Record<string, unknown>,
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

export async function redeliverEvent(relay: Relay, id: string, endpoint?: string) {
  const ev = await relay.store.getEvent(id);
  if (!ev) throw new RelayError('not_found', `event ${id}`);
  let targets: string[];
  if (endpoint) {
    if (!relay.endpoints.some((e) => e.id === endpoint)) throw new RelayError('not_found', `endpoint ${endpoint}`);
    targets = [endpoint];
  } else {
    targets = (await relay.store.deliveriesOf(id)).map((d) => d.endpointId).filter((e) => relay.endpoints.some((x) => x.id === e));
  }
  const orderKeys = Object.fromEntries(relay.endpoints.map((e) => [e.id, orderKeyFor(e, ev.merchantId, ev.transId)]));
  const scheduled = await relay.store.redeliver(id, targets, orderKeys, relay.now());
  scheduled.forEach((e) => relay.dispatcher.wake(e));
  const skipped = targets.filter((t) => !scheduled.includes(t));
  return { scheduled, inFlight: skipped };
}

export async function listQuarantine(relay: Relay, q: Record<string, unknown>) {
  const page = await wrapCursor(() => relay.store.listQuarantine(quarantineFilterFrom(q), pageSize(q.limit), str(q.cursor)));
  return { items: page.items.map(callbackView), next: page.next };
}

function conflictView(c: ConflictRecord) {
  return {
    callbackId: c.callbackId, receivedAt: new Date(c.receivedAt).toISOString(), merchantId: c.merchantId, transId: c.transId, payId: c.payId,
    firstEventId: c.eventId, conflictEventId: c.conflictEventId, fields: c.fields,
  };
}

export async function listConflicts(relay: Relay, q: Record<string, unknown>) {
  const page = await wrapCursor(() => relay.store.listConflicts(conflictFilterFrom(q), pageSize(q.limit), str(q.cursor)));
  return { items: page.items.map(conflictView), next: page.next };
}

/**
 * A conflict with both versions as an operator may see them: the decoded fields (never MAC or
 * Data) of the callback the first event came from and of the conflicting one, and how each arrived.
 */
export async function conflictDetail(relay: Relay, callbackId: string) {
  const c = await relay.store.getConflict(callbackId);
  if (!c) throw new RelayError('not_found', `conflict ${callbackId}`);
  const first = await relay.store.getEvent(c.eventId);
  const [firstCb, secondCb] = await Promise.all([first?.callbackId ? relay.store.getCallback(first.callbackId) : null, relay.store.getCallback(c.callbackId)]);
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
export function mintCallbackUrl(relay: Relay, body: Record<string, unknown>) {
  const s = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  for (const k of ['merchant', 'channel', 'kind']) if (!s(k)) throw new RelayError('bad_request', `${k} is required`);
  const r = signedCallbackUrl(urlSecrets(relay.config), relay.config.merchants.map((m) => m.id), {
    merchantId: s('merchant')!, channel: s('channel')!, kind: s('kind')!, transId: s('transId'), base: s('base'),
  }, parseKind);
  if (!r.ok) throw new RelayError('bad_request', r.error);
  return { url: r.url, path: r.path, token: r.token, transIdBound: r.transIdBound };
}

export async function reprocessOne(relay: Relay, id: string) {
  const r = await relay.intake.reprocess(id);
  if (!r) throw new RelayError('not_found', `quarantined callback ${id}`);
  return r;
}

/** Reprocess every quarantined callback matching the filter, page by page. */
export async function reprocessMatching(relay: Relay, q: Record<string, unknown>) {
  const filter = quarantineFilterFrom(q);
  const counts = { processed: 0, accepted: 0, duplicate: 0, conflict: 0, stillQuarantined: 0 };
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await relay.store.listQuarantine(filter, MAX_PAGE, cursor);
    for (const c of page.items) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const r = await relay.intake.reprocess(c.id);
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

export async function listDeadLetters(relay: Relay, q: Record<string, unknown>) {
  const page = await wrapCursor(() => relay.store.listDeadLetters(deadLetterFilterFrom(q), pageSize(q.limit), str(q.cursor)));
  return {
    items: page.items.map((d) => ({
      eventId: d.eventId, type: d.type, endpointId: d.endpointId, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError,
      deadSince: new Date(d.updatedAt).toISOString(),
    })),
    next: page.next,
  };
}

export async function redeliverDeadLetters(relay: Relay, q: Record<string, unknown>, dryRun: boolean) {
  const filter = deadLetterFilterFrom(q);
  if (dryRun) return { count: await relay.store.countDeadLetters(filter), dryRun: true };
  const count = await relay.store.redeliverDeadLetters(filter, relay.now());
  relay.dispatcher.wakeAll();
  return { count, dryRun: false };
}

export async function endpointHealth(relay: Relay) {
  const now = relay.now();
  const [stats, states] = await Promise.all([relay.store.endpointStats(now), relay.store.endpointStates()]);
  return relay.endpoints.map((ep) => {
    const s = stats.find((x) => x.endpointId === ep.id);
    const st = states.find((x) => x.endpointId === ep.id);
    const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);
    return {
      id: ep.id, url: ep.url, enabled: !relay.dispatcher.isDisabled(ep.id), enabledInConfig: ep.enabledInConfig,
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

export async function setEndpointEnabled(relay: Relay, id: string, enabled: boolean) {
  const ep = relay.endpoints.find((e) => e.id === id);
  if (!ep) throw new RelayError('not_found', `endpoint ${id}`);
  if (enabled && !ep.enabledInConfig) throw new RelayError('conflict', `endpoint ${id} is disabled in the configuration`);
  if (enabled) await relay.dispatcher.enable(id);
  else await relay.dispatcher.disable(id, 'operator');
  return (await endpointHealth(relay)).find((e) => e.id === id)!;
}

/** The overview windows: the last hour by minute and the last day by half hour, aligned to the bucket size. */
export const OVERVIEW_WINDOWS = {
  hour: { spanMs: 3600_000, bucketMs: 60_000 },
  day: { spanMs: 24 * 3600_000, bucketMs: 30 * 60_000 },
} as const;

/** Totals, charts and health in one read: what an operator looks at first. */
export async function overview(relay: Relay) {
  const now = relay.now();
  const window = async (spanMs: number, bucketMs: number) => {
    // Aligned so the bars do not shift between refreshes; the last bucket is the current, partial one.
    const until = (Math.floor(now / bucketMs) + 1) * bucketMs;
    const since = until - spanMs;
    const [buckets, latency] = await Promise.all([relay.store.activity(since, until, bucketMs), relay.store.attemptSummary(since, until)]);
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
    relay.store.quarantineSize(),
    relay.store.countDeadLetters({}),
    endpointHealth(relay),
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
export async function sendTestEvent(relay: Relay, endpointId: string, message?: string) {
  const ep = relay.endpoints.find((e) => e.id === endpointId);
  if (!ep) throw new RelayError('not_found', `endpoint ${endpointId}`);
  const text = (message ?? '').trim().slice(0, 200) || `Test event from paygate-relay for endpoint ${ep.id}`;
  const now = relay.now();
  const id = newId('evt', now);
  const payload = JSON.stringify({ id, type: 'relay.test', source: 'relay', receivedAt: new Date(now).toISOString(), data: { message: text } });
  const draft: EventDraft = {
    id, type: 'relay.test', source: 'relay', merchantId: null, operation: null, outcome: null,
    transId: null, payId: null, mandateId: null, receivedAt: now, dedupeKey: `relay.test:${id}`, payload,
    deliveries: [{ endpointId: ep.id, orderKey: null }],
  };
  await relay.store.addEvent(draft, now);
  relay.hub.emit('event:stored', { eventId: id, type: draft.type, endpointIds: [ep.id] });
  return { eventId: id, endpointId: ep.id, endpointEnabled: !relay.dispatcher.isDisabled(ep.id) };
}

import type { EndpointConfig } from '../config/schema.js';
import { compileGlob } from '../events/glob.js';

export { compileGlob };

export const DEFAULT_RETRY_SCHEDULE_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** An endpoint as the dispatcher uses it: filters compiled, secrets as a list. */
export interface Endpoint {
  id: string;
  url: string;
  secrets: string[];
  timeoutMs: number;
  ordering: 'transaction' | 'none';
  enabledInConfig: boolean;
  concurrency: number;
  retryScheduleMs: number[];
  jitter: number;
  disableAfterFailingMs: number;
  matchesType: (type: string) => boolean;
  merchants: Set<string> | null;
  /**
   * In-process endpoints (a feature's, see FeatureInstance.endpoints) get the outbox's guarantees —
   * leases, retries, dead letters, redelivery — without HTTP: resolving counts as a 2xx, throwing
   * as a failed attempt with the error message kept as the response body.
   */
  local?: (delivery: { eventId: string; payload: string }) => Promise<void>;
}


export function buildEndpoint(c: EndpointConfig): Endpoint {
  const patterns = c.events?.map(compileGlob) ?? null;
  return {
    id: c.id,
    url: c.url,
    secrets: Array.isArray(c.secret) ? c.secret : [c.secret],
    timeoutMs: c.timeoutMs,
    ordering: c.ordering,
    enabledInConfig: c.enabled,
    concurrency: c.concurrency,
    retryScheduleMs: c.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS,
    jitter: c.jitter,
    disableAfterFailingMs: c.disableAfterFailingMs,
    matchesType: patterns ? (t) => patterns.some((p) => p.test(t)) : () => true,
    merchants: c.merchants ? new Set(c.merchants) : null,
  };
}

/** Ordering key: events of one transaction of one merchant go out in order. */
export function orderKeyFor(ep: Endpoint, merchantId: string | null, transId: string | null): string | null {
  if (ep.ordering === 'none' || !transId) return null;
  return `${merchantId ?? ''}\u0000${transId}`;
}

/** Which endpoints an event goes to, decided once at intake and stored with the event. */
export function routeEvent(
  endpoints: Endpoint[],
  e: { type: string; merchantId: string | null; transId: string | null },
): { endpointId: string; orderKey: string | null }[] {
  return endpoints
    .filter((ep) => ep.matchesType(e.type) && (!ep.merchants || (e.merchantId !== null && ep.merchants.has(e.merchantId))))
    .map((ep) => ({ endpointId: ep.id, orderKey: orderKeyFor(ep, e.merchantId, e.transId) }));
}

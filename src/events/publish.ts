// The one way an event enters the outbox, whoever made it (a Paygate callback,
// a Collectmaxx result file, an operator's test event): route it to the
// endpoints once, store it with its deliveries in one commit, and tell the
// dispatcher (and metrics) through the hub.
import { routeEvent, type Endpoint } from '../delivery/endpoints.js';
import type { Hub } from '../observe.js';
import type { EventDraft, Store } from '../store/types.js';

/** A built event: its envelope serialized once (receivers get these bytes) and the columns the store indexes. */
export interface OutgoingEvent {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly merchantId: string | null;
  readonly operation?: string | null;
  readonly outcome?: string | null;
  readonly transId: string | null;
  readonly payId?: string | null;
  readonly mandateId?: string | null;
  readonly receivedAt: number;
  /** A second event with this key is a duplicate: stored once, delivered once. */
  readonly dedupeKey: string;
  /** Digests of the event's content: the same key with another fingerprint is a conflict, not a duplicate. */
  readonly fingerprint?: string;
  readonly payload: string;
  /** Exactly these endpoints, whatever their filters (an operator's test event). */
  readonly to?: readonly string[];
  /** Never these (a feature's own in-process endpoint for the events it makes itself). */
  readonly exclude?: readonly string[];
}

export interface PublishDeps {
  readonly store: Store;
  readonly endpoints: () => Endpoint[];
  readonly hub: Hub;
}

/** What storing returned: null when there was nothing to store it with (a callback no longer quarantined). */
export type Stored = { readonly duplicate: boolean } | null;

/** The draft the store takes: the event with the endpoints it goes to, decided now and kept with it. */
export function draftEvent(endpoints: Endpoint[], e: OutgoingEvent): EventDraft {
  const candidates = e.to ? endpoints.filter((ep) => e.to!.includes(ep.id)) : endpoints.filter((ep) => !e.exclude?.includes(ep.id));
  const deliveries = e.to
    ? candidates.map((ep) => ({ endpointId: ep.id, orderKey: null }))
    : routeEvent(candidates, { type: e.type, merchantId: e.merchantId, transId: e.transId });
  return {
    id: e.id, type: e.type, source: e.source, merchantId: e.merchantId, operation: e.operation ?? null, outcome: e.outcome ?? null,
    transId: e.transId, payId: e.payId ?? null, mandateId: e.mandateId ?? null, receivedAt: e.receivedAt, dedupeKey: e.dedupeKey,
    fingerprint: e.fingerprint ?? null, payload: e.payload, deliveries,
  };
}

/**
 * Route, store, notify. `commit` stores the draft; by default alone (Store.addEvent, deliveries due
 * `now`), intake passes its own to commit the event with its callback in one group commit.
 */
export async function publishEvent<R extends Stored = { eventId: string; duplicate: boolean }>(
  d: PublishDeps,
  e: OutgoingEvent,
  now: number,
  commit?: (draft: EventDraft) => Promise<R>,
): Promise<R> {
  const draft = draftEvent(d.endpoints(), e);
  const stored = commit ? await commit(draft) : ((await d.store.addEvent(draft, now)) as unknown as R);
  if (stored && !stored.duplicate) d.hub.emit('event:stored', { eventId: draft.id, type: draft.type, endpointIds: draft.deliveries.map((x) => x.endpointId), merchantId: draft.merchantId });
  return stored;
}

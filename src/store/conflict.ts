// Conflict detection as both adapters run it inside their ingest transaction:
// generic over the stored fingerprints ({field: digest} JSON), so the store
// needs to know nothing about what the fields mean.
import type { ConflictDraft, EventDraft } from './types.js';

function parse(fp: string | null | undefined): Record<string, string> | null {
  if (!fp) return null;
  try {
    return JSON.parse(fp) as Record<string, string>;
  } catch {
    return null;
  }
}

/**
 * The field names whose digests differ (present in one only counts), sorted. Empty when either
 * fingerprint is unknown: an event stored before fingerprints is matched by identity alone.
 */
export function differingFields(first: string | null | undefined, second: string | null | undefined): string[] {
  const a = parse(first);
  const b = parse(second);
  if (!a || !b) return [];
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((k) => a[k] !== b[k]).sort();
}

/** The first event's origin as it told its receivers (null for events stored before origins). */
function originOf(payload: string): unknown {
  try {
    return (JSON.parse(payload) as { origin?: unknown }).origin ?? null;
  } catch {
    return null;
  }
}

/** The `callback.conflict` event, completed with what only the store knows. */
export function conflictEvent(c: ConflictDraft, first: { eventId: string; payload: string }, fields: string[]): EventDraft {
  const event = typeof c.event === 'string' ? (JSON.parse(c.event) as Exclude<ConflictDraft['event'], string>) : c.event;
  const payload = {
    ...event,
    data: { ...event.data, firstEventId: first.eventId, fields, first: { eventId: first.eventId, origin: originOf(first.payload) } },
  };
  return {
    id: c.id, type: 'callback.conflict', source: 'relay', merchantId: c.merchantId, operation: null, outcome: null,
    transId: c.transId, payId: c.payId, mandateId: null, receivedAt: c.receivedAt, dedupeKey: c.dedupeKey, fingerprint: null,
    payload: JSON.stringify(payload), deliveries: c.deliveries,
  };
}

// Events stored before conflict detection have an old dedupe key (it held XID)
// and no fingerprint. At start, before callbacks are taken, they get their
// identity key and fingerprint from their own stored payload, so a Paygate
// repeat of a callback from before the upgrade is still one event, and a
// conflicting version of it is still found.
import type { Store } from '../store/types.js';
import { upgradeStoredEvent } from './identity.js';

export async function fingerprintStoredEvents(store: Store, batch = 500): Promise<{ events: number; rekeyed: number }> {
  let after = 0;
  let events = 0;
  let rekeyed = 0;
  for (;;) {
    const rows = await store.eventsWithoutFingerprint(after, batch);
    if (rows.length === 0) break;
    const updates: { seq: number; dedupeKey: string; fingerprint: string }[] = [];
    for (const r of rows) {
      const u = upgradeStoredEvent(r.payload);
      if (u) updates.push({ seq: r.seq, ...u });
    }
    rekeyed += await store.setEventFingerprints(updates);
    events += updates.length;
    after = rows[rows.length - 1]!.seq;
  }
  return { events, rekeyed };
}

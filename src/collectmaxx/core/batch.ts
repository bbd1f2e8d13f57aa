// When to cut a delivery file. Records wait until either a file would be full
// or the oldest has waited `maxDelayMs`, whichever comes first: few files for
// Alphacomm to import, bounded latency for the reminder. Pure, so the exporter
// only asks "how many now, and when do I look again".

export interface BatchPolicy {
  readonly maxRecords: number;
  readonly maxDelayMs: number;
}

export interface PendingState {
  readonly count: number;
  /** When the oldest pending record was queued (ms since epoch); null if none. */
  readonly oldestQueuedAtMs: number | null;
}

export interface FlushDecision {
  /** How many of the oldest records to write into one file now (0 = none). */
  readonly take: number;
  /** When to ask again if nothing changes; null when nothing is pending. */
  readonly wakeAtMs: number | null;
}

export function planFlush(pending: PendingState, nowMs: number, policy: BatchPolicy): FlushDecision {
  if (pending.count <= 0 || pending.oldestQueuedAtMs === null) return { take: 0, wakeAtMs: null };
  if (pending.count >= policy.maxRecords) {
    // A full file now; whatever remains is looked at again at once.
    return { take: policy.maxRecords, wakeAtMs: pending.count > policy.maxRecords ? nowMs : null };
  }
  const due = pending.oldestQueuedAtMs + policy.maxDelayMs;
  if (nowMs >= due) return { take: pending.count, wakeAtMs: null };
  return { take: 0, wakeAtMs: due };
}

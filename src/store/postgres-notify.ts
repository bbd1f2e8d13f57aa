// Wake-ups between relay processes sharing one schema: NOTIFY on commit, LISTEN on a connection of its own.
import pg from 'pg';

/** The NOTIFY channel; the payload names the schema so several relays can share one database. */
export const NOTIFY_CHANNEL = 'paygate_relay_events';
/**
 * `k` of a payload that says endpoint state changed (disabled/enabled) rather than events were
 * stored. An instance of a release before `k` reads it as a wake-up of those lanes: harmless.
 */
export const ENDPOINT_STATE_KIND = 'endpoint';

/** What a notification says: events stored for these endpoints, or their state changed. */
export interface StoreChanges {
  events(endpointIds: string[]): void;
  endpointStates(endpointIds: string[]): void;
}
const NOTIFY_MAX_BYTES = 7900; // PostgreSQL's limit is 8000 bytes per payload

/** NOTIFY inside the caller's transaction: PostgreSQL delivers it on commit, never for a rollback. */
export async function notify(c: pg.PoolClient, schema: string, endpointIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(endpointIds)];
  while (ids.length > 0) {
    const chunk: string[] = [];
    let size = 40 + schema.length;
    while (ids.length > 0 && size + ids[0]!.length + 3 < NOTIFY_MAX_BYTES) {
      const id = ids.shift()!;
      size += id.length + 3;
      chunk.push(id);
    }
    if (chunk.length === 0) chunk.push(ids.shift()!); // an id alone over the limit cannot exist (ids are <= 64 chars)
    await c.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, JSON.stringify({ s: schema, e: chunk })]);
  }
}

/**
 * Wake-ups from every process sharing this schema: `on.events` gets the endpoint
 * ids of each committed event, `on.endpointStates` those of each committed enable/disable. Uses its own connection (not the pool) and
 * reconnects with backoff after an error, e.g. a PostgreSQL restart;
 * notifications sent while disconnected are lost, which the dispatcher's
 * poll covers. Resolves once the first connection attempt settled.
 * `listeners` holds the stop function until it is called, so closing the store stops it.
 */
export async function listenForEvents(
  clientConfig: () => pg.ClientConfig,
  schema: string,
  listeners: Set<() => Promise<void>>,
  on: StoreChanges,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delay = 200;
  let reconnected = false;
  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 5000);
  };
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client(clientConfig());
    let up = false;
    c.on('error', () => {}); // followed by 'end'
    c.on('end', () => {
      if (client === c) client = null;
      if (up) schedule();
    });
    c.on('notification', (m) => {
      if (m.channel !== NOTIFY_CHANNEL || !m.payload) return;
      try {
        const p = JSON.parse(m.payload) as { s?: unknown; k?: unknown; e?: unknown };
        if (p.s !== schema || !Array.isArray(p.e)) return;
        const ids = p.e.filter((x): x is string => typeof x === 'string');
        if (p.k === ENDPOINT_STATE_KIND) on.endpointStates(ids);
        else on.events(ids);
      } catch {
        // not ours
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch {
      void c.end().catch(() => {});
      schedule();
      return;
    }
    if (stopped) {
      await c.end().catch(() => {});
      return;
    }
    up = true;
    client = c;
    delay = 200;
    // Whatever changed while we were not listening (a reconnect) is read again now, not at the next poll.
    if (reconnected) on.endpointStates([]);
    reconnected = true;
  };
  const stop = async () => {
    stopped = true;
    listeners.delete(stop);
    if (timer) clearTimeout(timer);
    const c = client;
    client = null;
    if (c) await c.end().catch(() => {});
  };
  listeners.add(stop);
  await connect();
  return stop;
}

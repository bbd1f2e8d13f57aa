// Versioned migrations for the embedded SQLite store. Append only: a released
// migration is never edited, a change is a new entry.

export const SQLITE_MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE callbacks (
  id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT,
  content_type TEXT,
  remote_ip TEXT,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  merchant_id TEXT,
  state TEXT NOT NULL CHECK (state IN ('accepted','duplicate','quarantined','reprocessed')),
  reason TEXT,
  detail TEXT,
  event_id TEXT,
  decoded TEXT
);
CREATE INDEX callbacks_received ON callbacks(received_at, id);
CREATE INDEX callbacks_quarantined ON callbacks(received_at, id) WHERE state = 'quarantined';
CREATE INDEX callbacks_event ON callbacks(event_id);

CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  dedupe_key TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  source TEXT NOT NULL,
  merchant_id TEXT,
  operation TEXT,
  outcome TEXT,
  trans_id TEXT,
  pay_id TEXT,
  mandate_id TEXT,
  received_at INTEGER NOT NULL,
  callback_id TEXT,
  payload TEXT NOT NULL
);
CREATE INDEX events_trans ON events(trans_id, seq);
CREATE INDEX events_pay ON events(pay_id, seq);
CREATE INDEX events_mandate ON events(mandate_id, seq);
CREATE INDEX events_type ON events(type, seq);
CREATE INDEX events_merchant ON events(merchant_id, seq);
CREATE INDEX events_received ON events(received_at, seq);

CREATE TABLE deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_seq INTEGER NOT NULL REFERENCES events(seq),
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  order_key TEXT,
  state TEXT NOT NULL CHECK (state IN ('pending','in_flight','succeeded','dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER,
  last_status INTEGER,
  last_error TEXT,
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_open ON deliveries(endpoint_id, next_attempt_at) WHERE state IN ('pending','in_flight');
CREATE INDEX deliveries_order ON deliveries(endpoint_id, order_key, event_seq) WHERE state IN ('pending','in_flight');
CREATE INDEX deliveries_dead ON deliveries(endpoint_id, id) WHERE state = 'dead';

CREATE TABLE attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error_class TEXT,
  response_body TEXT
);
CREATE INDEX attempts_event ON attempts(event_id, id);
CREATE INDEX attempts_started ON attempts(started_at);

CREATE TABLE endpoint_state (
  endpoint_id TEXT PRIMARY KEY,
  disabled INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT,
  disabled_at INTEGER,
  failing_since INTEGER,
  last_success_at INTEGER,
  last_failure_at INTEGER,
  last_error TEXT
);
`,
  },
  {
    // Claims must not scan the whole backlog: one partial index per claim path
    // (due pending rows by time, expired leases by expiry) instead of an OR over both.
    version: 2,
    sql: `
CREATE INDEX deliveries_due ON deliveries(endpoint_id, next_attempt_at, event_seq) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries(endpoint_id, lease_expires_at) WHERE state = 'in_flight';
`,
  },
  {
    // Trust (version 3, one self-contained step):
    // - callbacks gain the states 'conflict' (the signed identity of a stored event with other
    //   content) and 'returned' (a browser return of a redirect-only merchant: stored, no event),
    //   and claimed_merchant_id: the configured merchant a callback named in plain when no key of
    //   it verified the callback (never used as the merchant). SQLite cannot alter a CHECK, so the
    //   table is rebuilt, rowids kept (they are the quarantine's paging cursors);
    // - events.fingerprint: JSON {field: digest} of the operation and every decrypted field, so a
    //   repeat of the same identity is told apart from a conflicting version in the ingest
    //   transaction. NULL for events stored before; the relay fills them in at start;
    // - conflicts: one row per conflicting callback, naming the first event and the fields that differ.
    version: 3,
    sql: `
CREATE TABLE callbacks_v3 (
  id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT,
  content_type TEXT,
  remote_ip TEXT,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  merchant_id TEXT,
  state TEXT NOT NULL CHECK (state IN ('accepted','duplicate','quarantined','reprocessed','conflict','returned')),
  reason TEXT,
  detail TEXT,
  event_id TEXT,
  decoded TEXT,
  claimed_merchant_id TEXT
);
INSERT INTO callbacks_v3 (rowid, id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body,
  merchant_id, state, reason, detail, event_id, decoded)
SELECT rowid, id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body,
  merchant_id, state, reason, detail, event_id, decoded FROM callbacks ORDER BY rowid;
DROP TABLE callbacks;
ALTER TABLE callbacks_v3 RENAME TO callbacks;
CREATE INDEX callbacks_received ON callbacks(received_at, id);
CREATE INDEX callbacks_quarantined ON callbacks(received_at, id) WHERE state = 'quarantined';
CREATE INDEX callbacks_event ON callbacks(event_id);

ALTER TABLE events ADD COLUMN fingerprint TEXT;

CREATE TABLE conflicts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  callback_id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  conflict_event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT,
  pay_id TEXT,
  fields TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX conflicts_event ON conflicts(event_id);
CREATE INDEX conflicts_trans ON conflicts(trans_id, seq);
`,
  },
];

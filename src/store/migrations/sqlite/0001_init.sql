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

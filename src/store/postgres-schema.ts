// Versioned migrations for the PostgreSQL store. Append only: a released
// migration is never edited, a change is a new entry. The tables mirror the
// SQLite ones (src/store/sqlite-schema.ts) column for column, with three
// PostgreSQL-specific choices:
// - epoch-millisecond times are BIGINT, sequences BIGSERIAL;
// - callbacks get `rid`, a BIGSERIAL arrival order (SQLite's rowid) for
//   quarantine paging and export;
// - deliveries.order_key is BYTEA: the key is `merchant NUL transId` and
//   PostgreSQL text cannot hold NUL. It is only ever compared, never read back;
// - deliveries_open also holds event_seq, so the claim's ORDER BY comes straight
//   from the index and the scan stops after LIMIT rows whatever the statistics say.
// The statements run with search_path set to the configured schema.

export const POSTGRES_MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE callbacks (
  rid BIGSERIAL NOT NULL UNIQUE,
  id TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL,
  channel TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT,
  content_type TEXT,
  remote_ip TEXT,
  headers TEXT NOT NULL,
  body BYTEA NOT NULL,
  merchant_id TEXT,
  state TEXT NOT NULL CHECK (state IN ('accepted','duplicate','quarantined','reprocessed')),
  reason TEXT,
  detail TEXT,
  event_id TEXT,
  decoded TEXT
);
CREATE INDEX callbacks_received ON callbacks(received_at, rid);
CREATE INDEX callbacks_quarantined ON callbacks(rid) WHERE state = 'quarantined';
CREATE INDEX callbacks_event ON callbacks(event_id);

CREATE TABLE events (
  seq BIGSERIAL PRIMARY KEY,
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
  received_at BIGINT NOT NULL,
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
  id BIGSERIAL PRIMARY KEY,
  event_seq BIGINT NOT NULL REFERENCES events(seq),
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  order_key BYTEA,
  state TEXT NOT NULL CHECK (state IN ('pending','in_flight','succeeded','dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  completed_at BIGINT,
  last_status INTEGER,
  last_error TEXT,
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_open ON deliveries(endpoint_id, next_attempt_at, event_seq) WHERE state IN ('pending','in_flight');
CREATE INDEX deliveries_order ON deliveries(endpoint_id, order_key, event_seq) WHERE state IN ('pending','in_flight');
CREATE INDEX deliveries_dead ON deliveries(endpoint_id, id) WHERE state = 'dead';

CREATE TABLE attempts (
  id BIGSERIAL PRIMARY KEY,
  delivery_id BIGINT NOT NULL,
  event_id TEXT NOT NULL,
  endpoint_id TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER,
  error_class TEXT,
  response_body TEXT
);
CREATE INDEX attempts_event ON attempts(event_id, id);
CREATE INDEX attempts_started ON attempts(started_at);

CREATE TABLE endpoint_state (
  endpoint_id TEXT PRIMARY KEY,
  disabled BOOLEAN NOT NULL DEFAULT false,
  disabled_reason TEXT,
  disabled_at BIGINT,
  failing_since BIGINT,
  last_success_at BIGINT,
  last_failure_at BIGINT,
  last_error TEXT
);
`,
  },
  {
    // Trust: the same step as SQLite's version 3 (see sqlite-schema.ts), numbered alike.
    // PostgreSQL alters the CHECK in place; conflicts.seq is the paging order.
    version: 3,
    sql: `
ALTER TABLE callbacks DROP CONSTRAINT callbacks_state_check;
ALTER TABLE callbacks ADD CONSTRAINT callbacks_state_check
  CHECK (state IN ('accepted','duplicate','quarantined','reprocessed','conflict','returned'));
ALTER TABLE callbacks ADD COLUMN claimed_merchant_id TEXT;

ALTER TABLE events ADD COLUMN fingerprint TEXT;

CREATE TABLE conflicts (
  seq BIGSERIAL PRIMARY KEY,
  callback_id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  conflict_event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT,
  pay_id TEXT,
  fields TEXT NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX conflicts_event ON conflicts(event_id);
CREATE INDEX conflicts_trans ON conflicts(trans_id, seq);
`,
  },
];

CREATE TABLE cmx_export_records (
  identifier TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  rule_index INTEGER NOT NULL,
  format TEXT NOT NULL,
  record TEXT NOT NULL,
  queued_at BIGINT NOT NULL,
  file_name TEXT
);
CREATE INDEX cmx_export_records_pending ON cmx_export_records (queued_at, identifier) WHERE file_name IS NULL;
CREATE INDEX cmx_export_records_file ON cmx_export_records (file_name) WHERE file_name IS NOT NULL;
CREATE TABLE cmx_rejects (
  seq BIGSERIAL PRIMARY KEY,
  identifier TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT NOT NULL,
  flow_id TEXT NOT NULL,
  rule_index INTEGER NOT NULL,
  reasons TEXT NOT NULL,
  record TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE cmx_delivery_files (
  name TEXT PRIMARY KEY,
  day TEXT NOT NULL,
  client TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  format TEXT NOT NULL,
  record_count INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  written_at BIGINT,
  lease_owner TEXT,
  lease_until BIGINT,
  UNIQUE (day, client, sequence)
);
CREATE INDEX cmx_delivery_files_unwritten ON cmx_delivery_files (lease_until) WHERE written_at IS NULL;
CREATE TABLE cmx_result_files (
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('imported', 'failed')),
  reason TEXT,
  events INTEGER NOT NULL,
  imported_at BIGINT NOT NULL,
  PRIMARY KEY (name, sha256)
);
CREATE TABLE cmx_seen_states (
  state_key TEXT PRIMARY KEY,
  subject_key TEXT NOT NULL,
  identifier TEXT,
  first_seen_at BIGINT NOT NULL
);
CREATE INDEX cmx_seen_states_subject ON cmx_seen_states (subject_key);

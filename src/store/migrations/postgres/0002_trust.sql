-- Trust: the same step as SQLite's 0003_trust.sql (see there). PostgreSQL alters the
-- CHECK in place; conflicts.seq is the paging order.
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

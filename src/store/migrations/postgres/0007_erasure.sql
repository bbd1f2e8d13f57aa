-- Erasures: the same step as SQLite's 0008_erasure.sql (see there).
CREATE TABLE erasures (
  seq BIGSERIAL PRIMARY KEY,
  erased_at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  selector_kind TEXT NOT NULL CHECK (selector_kind IN ('transId','payId','mandateId')),
  selector_value TEXT NOT NULL,
  rows TEXT NOT NULL,
  total INTEGER NOT NULL
);
CREATE INDEX erasures_selector ON erasures(selector_value, seq);

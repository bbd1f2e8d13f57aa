-- Erasures (docs/erasure.md): one row per request to erase a person's data, kept for
-- the record: who asked (an admin token's name, a console user or "cli"), when, why,
-- what identified the person (selector) and how many rows changed per table (JSON).
-- A second request for the same identifier is recorded too, with its zero counts.
CREATE TABLE erasures (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  erased_at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  selector_kind TEXT NOT NULL CHECK (selector_kind IN ('transId','payId','mandateId')),
  selector_value TEXT NOT NULL,
  rows TEXT NOT NULL,
  total INTEGER NOT NULL
);
CREATE INDEX erasures_selector ON erasures(selector_value, seq);

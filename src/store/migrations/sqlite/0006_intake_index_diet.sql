-- Fewer index entries written per callback (docs/performance.md):
-- - events_mandate holds only events that have a mandate: most events (debtors, open
--   positions, payments) have none, and a lookup by mandate (`mandate_id = ?`) can use a
--   partial index whose condition it implies;
-- - deliveries_open is dropped here: SQLite's claim walks deliveries_due and
--   deliveries_leased, the order guard deliveries_order, and the queue counts find the open
--   rows through deliveries_order (same condition). Every delivery paid for it three times:
--   on insert, on claim and on completion. PostgreSQL keeps it: its claim is one ordered walk of it.
DROP INDEX events_mandate;
CREATE INDEX events_mandate ON events(mandate_id, seq) WHERE mandate_id IS NOT NULL;
DROP INDEX deliveries_open;

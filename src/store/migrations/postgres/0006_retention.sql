-- Retention: the same step as SQLite's 0007_retention.sql (see there). PostgreSQL checks
-- the foreign key of a deleted event the same way: without deliveries_event_seq, a
-- sequential scan of deliveries per event.
CREATE INDEX deliveries_event_seq ON deliveries(event_seq);
CREATE INDEX conflicts_conflict_event ON conflicts(conflict_event_id);

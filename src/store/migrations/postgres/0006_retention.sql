-- Retention: the same step as SQLite's 0007_retention.sql (see there).
CREATE INDEX conflicts_conflict_event ON conflicts(conflict_event_id);

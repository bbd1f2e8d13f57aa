-- The same step as SQLite's 0006_intake_index_diet.sql: events_mandate holds only events
-- with a mandate (a lookup by mandate implies mandate_id IS NOT NULL). deliveries_open stays
-- here: PostgreSQL's claim is one ordered walk of it.
DROP INDEX events_mandate;
CREATE INDEX events_mandate ON events(mandate_id, seq) WHERE mandate_id IS NOT NULL;

-- Dead letters newest death first: the same step as SQLite's 0004_dead_letters_by_time.sql (see there).
DROP INDEX deliveries_dead;
CREATE INDEX deliveries_dead ON deliveries(endpoint_id, updated_at, id) WHERE state = 'dead';
CREATE INDEX deliveries_dead_since ON deliveries(updated_at, id) WHERE state = 'dead';

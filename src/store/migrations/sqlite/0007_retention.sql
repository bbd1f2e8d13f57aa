-- Retention (src/lifecycle/): an event named by a conflict is kept while the conflict is, from
-- either side. conflicts_event covers the first event; the sweeper also asks for the
-- callback.conflict event itself, and without this index that question scanned the table
-- once per candidate event.
CREATE INDEX conflicts_conflict_event ON conflicts(conflict_event_id);

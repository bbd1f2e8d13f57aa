-- Retention (src/lifecycle/):
-- - deliveries_event_seq: deleting an event checks its foreign key (deliveries.event_seq
--   REFERENCES events(seq)); without an index on the child column that check walks the
--   whole deliveries table once per deleted event (200 events: ~120 ms at 45k deliveries,
--   growing with the table). One more index entry per delivery at intake buys deletes
--   that cost the same at any size;
-- - conflicts_conflict_event: an event named by a conflict is kept while the conflict is,
--   from either side. conflicts_event covers the first event; without this index the
--   question for the callback.conflict event scanned the table once per candidate.
CREATE INDEX deliveries_event_seq ON deliveries(event_seq);
CREATE INDEX conflicts_conflict_event ON conflicts(conflict_event_id);

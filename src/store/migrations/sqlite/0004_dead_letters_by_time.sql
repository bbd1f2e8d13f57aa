-- Dead letters are listed newest death first: by updated_at ("dead since", set when the
-- last try failed), ties by id, for all endpoints or one. Both partial indexes hold dead
-- deliveries only, so the outbox's own writes rarely touch them.
DROP INDEX deliveries_dead;
CREATE INDEX deliveries_dead ON deliveries(endpoint_id, updated_at, id) WHERE state = 'dead';
CREATE INDEX deliveries_dead_since ON deliveries(updated_at, id) WHERE state = 'dead';

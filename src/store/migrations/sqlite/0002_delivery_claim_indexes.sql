-- Claims must not scan the whole backlog: one partial index per claim path
-- (due pending rows by time, expired leases by expiry) instead of an OR over both.
CREATE INDEX deliveries_due ON deliveries(endpoint_id, next_attempt_at, event_seq) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries(endpoint_id, lease_expires_at) WHERE state = 'in_flight';

-- Trust, one self-contained step:
-- - callbacks gain the states 'conflict' (the signed identity of a stored event with other
--   content) and 'returned' (a browser return of a redirect-only merchant: stored, no event),
--   and claimed_merchant_id: the configured merchant a callback named in plain when no key of
--   it verified the callback (never used as the merchant). SQLite cannot alter a CHECK, so the
--   table is rebuilt, rowids kept (they are the quarantine's paging cursors);
-- - events.fingerprint: JSON {field: digest} of the operation and every decrypted field, so a
--   repeat of the same identity is told apart from a conflicting version in the ingest
--   transaction. NULL for events stored before; the relay fills them in at start;
-- - conflicts: one row per conflicting callback, naming the first event and the fields that differ.
CREATE TABLE callbacks_v3 (
  id TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL,
  channel TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT,
  content_type TEXT,
  remote_ip TEXT,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  merchant_id TEXT,
  state TEXT NOT NULL CHECK (state IN ('accepted','duplicate','quarantined','reprocessed','conflict','returned')),
  reason TEXT,
  detail TEXT,
  event_id TEXT,
  decoded TEXT,
  claimed_merchant_id TEXT
);
INSERT INTO callbacks_v3 (rowid, id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body,
  merchant_id, state, reason, detail, event_id, decoded)
SELECT rowid, id, received_at, channel, method, path, kind, content_type, remote_ip, headers, body,
  merchant_id, state, reason, detail, event_id, decoded FROM callbacks ORDER BY rowid;
DROP TABLE callbacks;
ALTER TABLE callbacks_v3 RENAME TO callbacks;
CREATE INDEX callbacks_received ON callbacks(received_at, id);
CREATE INDEX callbacks_quarantined ON callbacks(received_at, id) WHERE state = 'quarantined';
CREATE INDEX callbacks_event ON callbacks(event_id);

ALTER TABLE events ADD COLUMN fingerprint TEXT;

CREATE TABLE conflicts (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  callback_id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  conflict_event_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  trans_id TEXT,
  pay_id TEXT,
  fields TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX conflicts_event ON conflicts(event_id);
CREATE INDEX conflicts_trans ON conflicts(trans_id, seq);

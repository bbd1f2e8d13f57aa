-- Console sessions and failed-authentication counts live in storage, so every
-- instance sharing it accepts a session made on another, a logout ends it on
-- all, and guessing tokens costs the same whichever instance is asked.
--
-- console_sessions: the cookie is `<id>.<secret>`; only the secret's SHA-256 is
-- kept, so the table alone opens no session. token_digest names the admin token
-- that logged in (a keyed digest, never the token): the role is that token's role
-- in the configuration now, and a session whose token was removed ends.
CREATE TABLE console_sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  token_digest TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);

-- Failed authentications per scope (console login, admin API token) and client
-- address in the current window.
CREATE TABLE auth_failures (
  scope TEXT NOT NULL,
  client TEXT NOT NULL,
  failures INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  PRIMARY KEY (scope, client)
);
CREATE INDEX auth_failures_window ON auth_failures(window_start);

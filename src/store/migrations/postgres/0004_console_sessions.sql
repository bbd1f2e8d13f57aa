-- Console sessions and failed-authentication counts: the same step as SQLite's
-- 0004_console_sessions.sql (see there for what the columns hold).
CREATE TABLE console_sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  token_digest TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);

CREATE TABLE auth_failures (
  scope TEXT NOT NULL,
  client TEXT NOT NULL,
  failures INTEGER NOT NULL,
  window_start BIGINT NOT NULL,
  PRIMARY KEY (scope, client)
);
CREATE INDEX auth_failures_window ON auth_failures(window_start);

// The embedded store's console sessions and failed-authentication counts (see Store: sessions).
import type { Row } from './rows.js';
import type { SqliteStatements } from './sqlite-statements.js';
import type { AuthFailures, SessionRecord } from './types.js';
import { mapSession } from './rows.js';

export function createSession(s: SqliteStatements, r: SessionRecord, now: number): void {
  s.st('DELETE FROM console_sessions WHERE expires_at <= ?').run(now);
  s.st(
    `INSERT INTO console_sessions (id, secret_hash, token_digest, csrf, created_at, expires_at)
     VALUES (@id, @secretHash, @tokenDigest, @csrf, @createdAt, @expiresAt)`,
  ).run(r);
}

export function getSession(s: SqliteStatements, id: string): SessionRecord | null {
  const row = s.st('SELECT * FROM console_sessions WHERE id = ?').get(id) as Row | undefined;
  return row ? mapSession(row) : null;
}

export function deleteSession(s: SqliteStatements, id: string): void {
  s.st('DELETE FROM console_sessions WHERE id = ?').run(id);
}

export function authFailures(s: SqliteStatements, scope: string, client: string): AuthFailures | null {
  const row = s.st('SELECT failures, window_start FROM auth_failures WHERE scope = ? AND client = ?').get(scope, client) as Row | undefined;
  return row ? { failures: Number(row.failures), windowStart: Number(row.window_start) } : null;
}

export function recordAuthFailure(s: SqliteStatements, scope: string, client: string, now: number, windowMs: number): AuthFailures {
  const stale = now - windowMs;
  s.st('DELETE FROM auth_failures WHERE scope = ? AND window_start < ? AND client <> ?').run(scope, stale, client);
  const row = s.st(
    `INSERT INTO auth_failures (scope, client, failures, window_start) VALUES (@scope, @client, 1, @now)
     ON CONFLICT (scope, client) DO UPDATE SET
       failures = CASE WHEN auth_failures.window_start < @stale THEN 1 ELSE auth_failures.failures + 1 END,
       window_start = CASE WHEN auth_failures.window_start < @stale THEN @now ELSE auth_failures.window_start END
     RETURNING failures, window_start`,
  ).get({ scope, client, now, stale }) as Row;
  return { failures: Number(row.failures), windowStart: Number(row.window_start) };
}

export function clearAuthFailures(s: SqliteStatements, scope: string, client: string): void {
  s.st('DELETE FROM auth_failures WHERE scope = ? AND client = ?').run(scope, client);
}

// The PostgreSQL store's console sessions and failed-authentication counts (see Store: sessions).
import type { PgSession } from './postgres-session.js';
import { mapSession } from './rows.js';
import type { AuthFailures, SessionRecord } from './types.js';

export async function createSession(db: PgSession, r: SessionRecord, now: number): Promise<void> {
  await db.q('DELETE FROM console_sessions WHERE expires_at <= $1', [now]);
  await db.q(
    'INSERT INTO console_sessions (id, secret_hash, token_digest, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [r.id, r.secretHash, r.tokenDigest, r.csrf, r.createdAt, r.expiresAt],
  );
}

export async function getSession(db: PgSession, id: string): Promise<SessionRecord | null> {
  const [row] = await db.q('SELECT * FROM console_sessions WHERE id = $1', [id]);
  return row ? mapSession(row) : null;
}

export async function deleteSession(db: PgSession, id: string): Promise<void> {
  await db.q('DELETE FROM console_sessions WHERE id = $1', [id]);
}

export async function authFailures(db: PgSession, scope: string, client: string): Promise<AuthFailures | null> {
  const [row] = await db.q('SELECT failures, window_start FROM auth_failures WHERE scope = $1 AND client = $2', [scope, client]);
  return row ? { failures: Number(row.failures), windowStart: Number(row.window_start) } : null;
}

/** One statement per step: two instances counting failures of one client at once both count (the upsert serializes on the row). */
export async function recordAuthFailure(db: PgSession, scope: string, client: string, now: number, windowMs: number): Promise<AuthFailures> {
  const stale = now - windowMs;
  await db.q('DELETE FROM auth_failures WHERE scope = $1 AND window_start < $2 AND client <> $3', [scope, stale, client]);
  const [row] = await db.q(
    `INSERT INTO auth_failures (scope, client, failures, window_start) VALUES ($1, $2, 1, $3)
     ON CONFLICT (scope, client) DO UPDATE SET
       failures = CASE WHEN auth_failures.window_start < $4 THEN 1 ELSE auth_failures.failures + 1 END,
       window_start = CASE WHEN auth_failures.window_start < $4 THEN $3 ELSE auth_failures.window_start END
     RETURNING failures, window_start`,
    [scope, client, now, stale],
  );
  return { failures: Number(row!.failures), windowStart: Number(row!.window_start) };
}

export async function clearAuthFailures(db: PgSession, scope: string, client: string): Promise<void> {
  await db.q('DELETE FROM auth_failures WHERE scope = $1 AND client = $2', [scope, client]);
}

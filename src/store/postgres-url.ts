import { ConfigError } from '../config/load.js';

export interface PostgresOptions {
  /** libpq-style URL without our own parameters. */
  connectionString: string;
  schema: string;
  poolMax: number;
}

/**
 * `postgres://user@host:5432/db?schema=relay&pool=10`: `schema` (default public)
 * and `pool` (connections per process, default 10) are ours, the rest goes to pg.
 */
export function parsePostgresUrl(url: string): PostgresOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError('config storage: not a valid postgres:// URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new ConfigError('config storage: a PostgreSQL URL starts with postgres:// or postgresql://');
  const schema = u.searchParams.get('schema') ?? 'public';
  // Lower case only: the name is used unquoted, so what you write is what PostgreSQL stores.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema) || schema.startsWith('pg_')) {
    throw new ConfigError(`config storage: schema must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63, not pg_*), got ${JSON.stringify(schema)}`);
  }
  const pool = Number(u.searchParams.get('pool') ?? '10');
  if (!Number.isInteger(pool) || pool < 1 || pool > 200) throw new ConfigError('config storage: pool must be an integer 1..200');
  u.searchParams.delete('schema');
  u.searchParams.delete('pool');
  return { connectionString: u.toString(), schema, poolMax: pool };
}

// How the PostgreSQL adapter's modules talk to the database: single statements, transactions
// that retry what may retry, and writes that outlast a short outage.
import type pg from 'pg';
import type { Row } from './rows.js';

/** PostgreSQL text cannot hold NUL; the raw bytes are always kept in callbacks.body. */
export const txt = (s: string | null | undefined): string | null => (s === null || s === undefined ? null : s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);

const SQLSTATE_RETRY = new Set(['40001', '40P01']); // serialization failure, deadlock: the transaction can run again
const NODE_CONN = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** The server or the connection went away (restart, network): nothing wrong with the statement. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  const code = e.code ?? '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || NODE_CONN.has(code)) return true;
  return /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection ended/i.test(e.message ?? '');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PgSession {
  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    /** True once the store is closing: durable writes stop retrying. */
    private readonly closed: () => boolean,
  ) {}

  async q(sql: string, params: unknown[] = []): Promise<Row[]> {
    // pool.query hands a client that failed back with the error, so the pool destroys it.
    return (await this.pool.query(sql, params)).rows as Row[];
  }

  /** One transaction on one client; a deadlock or serialization failure runs it again. A broken client is destroyed, never reused. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let round = 1; ; round++) {
      const c = await this.pool.connect();
      // A checked-out client has no pool listener: an 'error' between statements would otherwise be uncaught.
      const onError = () => {};
      c.on('error', onError);
      let destroy: Error | undefined;
      let begun = false;
      try {
        await c.query('BEGIN');
        begun = true;
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        try {
          await c.query('ROLLBACK');
        } catch {
          destroy = err as Error;
        }
        if (isConnectionError(err)) destroy = err as Error;
        const code = (err as { code?: string }).code ?? '';
        // A pooled connection that died while idle (server restart) fails at BEGIN, before anything was done: take another.
        const staleClient = !begun && isConnectionError(err);
        if ((SQLSTATE_RETRY.has(code) || staleClient) && round < 5) {
          await sleep(5 * round + Math.random() * 20);
          continue;
        }
        throw err;
      } finally {
        c.off('error', onError);
        c.release(destroy);
      }
    }
  }

  /**
   * Writes that record what already happened (a receiver's answer) should not be
   * lost to a short database outage: retry connection errors for a while. Safe
   * because they are guarded by the lease owner.
   */
  async durable<T>(fn: () => Promise<T>, budgetMs = 20_000): Promise<T> {
    const end = Date.now() + budgetMs;
    for (let delay = 200; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await fn();
      } catch (err) {
        if (!isConnectionError(err) || this.closed() || Date.now() + delay > end) throw err;
        await sleep(delay);
      }
    }
  }
}

// Fresh, migrated stores of every adapter for tests that must hold on each: SQLite
// (writes inline or on the writer thread, as the relay runs it) and the real
// PostgreSQL on 127.0.0.1:5432 (a fresh schema per test, dropped at the end).
import { join } from 'node:path';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { freshSchema, pgUrl, sharePostgres } from './pg.js';
import { tmpDir } from './relay.js';

type Tap = { teardown(fn: () => Promise<void> | void): void };
/** With `sameAs`, another store (own connections) on the same database, like a second process. */
export type StoreFactory = (t: Tap, sameAs?: Store) => Promise<Store>;

export const STORE_ADAPTERS: Record<string, StoreFactory> = {
  sqlite: async (t, sameAs) => {
    const s = new SqliteStore(sameAs ? (sameAs as SqliteStore).db.name : join(tmpDir(t), 'store.db'));
    await s.migrate();
    t.teardown(() => s.close());
    return s;
  },
  'sqlite-thread': async (t, sameAs) => {
    const s = new SqliteStore(sameAs ? (sameAs as SqliteStore).db.name : join(tmpDir(t), 'store.db'), { writer: 'thread' });
    await s.migrate();
    t.teardown(() => s.close());
    return s;
  },
  postgres: async (t, sameAs) => {
    await sharePostgres(t);
    const s = new PostgresStore(pgUrl(sameAs ? (sameAs as PostgresStore).schema : freshSchema(t, 'shared')));
    await s.migrate();
    t.teardown(() => s.close());
    return s;
  },
};

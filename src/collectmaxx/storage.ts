// The Collectmaxx tables in the relay's database, through the store's
// extension point: migrations under scope `collectmaxx` (its versions were kept
// in cmx_schema_migrations before the shared ledger), the SQLite write table,
// and one storage class per dialect.
import type { StoreExtension } from '../store/extension.js';
import type { CollectmaxxStore } from './store.js';
import { PostgresCollectmaxxStore } from './store-postgres.js';
import { SqliteCollectmaxxStore } from './store-sqlite.js';
import { CMX_WRITES } from './store-sqlite-writes.js';

export const collectmaxxStorage: StoreExtension<CollectmaxxStore, typeof CMX_WRITES.ops> = {
  migrations: { scope: 'collectmaxx', dir: new URL('./migrations/', import.meta.url), legacyLedger: 'cmx_schema_migrations' },
  sqlite: { writes: CMX_WRITES, open: (h) => new SqliteCollectmaxxStore(h) },
  postgres: { open: (session) => new PostgresCollectmaxxStore(session) },
  erase: (storage, match) => storage.erase(match),
};

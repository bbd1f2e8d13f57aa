// The Collectmaxx tables in the relay's database, through the store's
// extension point: migrations under scope `collectmaxx` (its versions were kept
// in cmx_schema_migrations before the shared ledger), the SQLite write table,
// and one storage class per dialect.
import type { StoreExtension } from '../store/extension.js';
import type { CollectmaxxStore } from './store.js';
import { PostgresCollectmaxxStore } from './store-postgres.js';
import { SqliteCollectmaxxStore } from './store-sqlite.js';
import { CMX_WRITES } from './store-sqlite-writes.js';

// Retention keeps an event while a record made from it is not yet in a written delivery file:
// queued (no file yet) or in a file that is not written yet. Both lists are small and indexed
// (cmx_export_records_pending, cmx_delivery_files_unwritten + cmx_export_records_file).
const UNWRITTEN = `e.id IN (SELECT r.event_id FROM cmx_export_records r WHERE r.file_name IS NULL)
  OR e.id IN (SELECT r.event_id FROM cmx_delivery_files f JOIN cmx_export_records r ON r.file_name = f.name WHERE f.written_at IS NULL)`;

export const collectmaxxStorage: StoreExtension<CollectmaxxStore, typeof CMX_WRITES.ops> = {
  migrations: { scope: 'collectmaxx', dir: new URL('./migrations/', import.meta.url), legacyLedger: 'cmx_schema_migrations' },
  sqlite: { writes: CMX_WRITES, open: (h) => new SqliteCollectmaxxStore(h) },
  postgres: { open: (session) => new PostgresCollectmaxxStore(session) },
  erase: (storage, match) => storage.erase(match),
  retentionHold: { sqlite: UNWRITTEN, postgres: UNWRITTEN },
};

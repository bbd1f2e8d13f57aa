import { ConfigError } from '../config/load.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/** Pick the adapter from the `storage` URL. */
export function openStore(url: string): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), { writer: 'thread' });
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url);
  throw new ConfigError(`config storage: unsupported storage URL (use sqlite:<path> or postgres://user@host:5432/db?schema=name)`);
}

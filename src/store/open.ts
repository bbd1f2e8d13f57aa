import { ConfigError } from '../config/load.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/** Pick the adapter from the `storage` URL. */
export function openStore(url: string): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length));
  throw new ConfigError(`config storage: unsupported storage URL (use sqlite:<path>)`);
}

// Running from sources (tests, `bench --relay src`), worker threads need the
// TypeScript loader too: on Node 20 tsx registers its hooks on the main thread
// only, and a worker inherits the --import flags, not the hooks. Loaded with
// --import after tsx, this registers them in every worker thread (the SQLite
// writer thread). Where tsx reaches workers itself (isInternalThread exists), it does nothing.
import * as threads from 'node:worker_threads';

if (!threads.isMainThread && !('isInternalThread' in threads)) (await import('tsx/esm/api')).register();

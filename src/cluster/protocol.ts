// What the primary and its callback workers say to each other over the cluster
// IPC channel (serialization 'advanced': structured clone, Buffers included).
import type { RelayEventMap } from '../observe.js';
import type { IngestWire } from '../store/ingest-wire.js';

/** Worker → primary. */
export type WorkerMessage =
  /** An ingest batch of one commit-queue turn (store/ingest-wire.ts); answered by `ingested` with the same id. */
  | { t: 'ingest'; id: number; wire: IngestWire }
  /** The per-callback reports of one turn, for the primary's metrics, logs and traces. */
  | { t: 'report'; callbacks: RelayEventMap['callback'][]; counted: CallbackCount[]; http: HttpObservation[] };

export type CallbackCount = { channel: string; result: string; reason: string };
export type HttpObservation = [labels: { route: string; method: string; status_code: string }, seconds: number];

/** Primary → worker. */
export type PrimaryMessage =
  | { t: 'ingested'; id: number; results: string }
  | { t: 'ingest-failed'; id: number; message: string }
  /** Readiness as the primary sees it (started, not draining, storage reachable); sent on change and every second. */
  | { t: 'status'; ready: boolean; storage: boolean }
  /** Stop taking callbacks (503) but keep the port open while the primary drains deliveries. */
  | { t: 'drain' }
  /** Finish the requests in flight, close the port, exit. */
  | { t: 'close' }
  | { t: 'reload-tls' };

// Every write of the embedded store's core tables, by name. SqliteStore runs
// them through its WriteChannel (inline or on the writer thread) so they share
// group commits and no fsync ever runs on the event loop; reads stay on the
// caller's own connection (WAL readers never wait for the writer).
import * as admin from './sqlite-admin.js';
import * as auth from './sqlite-auth.js';
import * as intake from './sqlite-intake.js';
import * as outbox from './sqlite-outbox.js';
import type { IngestItem } from './types.js';
import { defineWrites } from './write-ops.js';

type WireCallback = Omit<IngestItem['callback'], 'headers' | 'decoded' | 'body'> & { headers: unknown; decoded: unknown; body: Uint8Array };

export const CORE_WRITES = defineWrites(
  { scope: 'core', module: import.meta.url, exportName: 'CORE_WRITES' },
  {
    ingest: intake.ingest,
    addEvent: intake.addEvent,
    resolveQuarantine: intake.resolveQuarantine,
    setEventFingerprints: intake.setEventFingerprints,
    claim: outbox.claim,
    complete: outbox.complete,
    fail: outbox.fail,
    release: outbox.release,
    releaseAllLeases: outbox.releaseAllLeases,
    recordEndpointSuccess: outbox.recordEndpointSuccess,
    recordEndpointFailure: outbox.recordEndpointFailure,
    setEndpointDisabled: outbox.setEndpointDisabled,
    redeliverDeadLetters: admin.redeliverDeadLetters,
    redeliver: admin.redeliver,
    createSession: auth.createSession,
    deleteSession: auth.deleteSession,
    recordAuthFailure: auth.recordAuthFailure,
    clearAuthFailures: auth.clearAuthFailures,
  },
  {
    ingest: {
      // Structured clone walks every nested object; the callback's headers and decoded fields are
      // stored as JSON text anyway, so they cross as strings (the writer thread has the busier core).
      encode: ([items]) => [(items as IngestItem[]).map((it) => ({
        ...it,
        callback: { ...it.callback, headers: JSON.stringify(it.callback.headers), decoded: it.callback.decoded ? JSON.stringify(it.callback.decoded) : null },
      }))],
      // Structured clone turns Buffers into plain Uint8Arrays; better-sqlite3 binds only Buffers.
      decode: ([items]) => {
        for (const item of items as { callback: WireCallback }[]) {
          const b = item.callback.body;
          if (!Buffer.isBuffer(b)) item.callback.body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
        }
        return [items];
      },
    },
  },
);

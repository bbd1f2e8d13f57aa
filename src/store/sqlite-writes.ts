// Every write of the embedded store's core tables, by name. SqliteStore runs
// them through its WriteChannel (inline or on the writer thread) so they share
// group commits and no fsync ever runs on the event loop; reads stay on the
// caller's own connection (WAL readers never wait for the writer).
import * as admin from './sqlite-admin.js';
import * as auth from './sqlite-auth.js';
import * as erase from './sqlite-erase.js';
import * as intake from './sqlite-intake.js';
import * as outbox from './sqlite-outbox.js';
import * as retention from './sqlite-retention.js';
import { decodeIngest, decodeIngestResults, encodeIngest, encodeIngestResults, type IngestWire } from './ingest-wire.js';
import type { IngestItem, IngestResult } from './types.js';
import { defineWrites } from './write-ops.js';

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
    eraseSubject: erase.eraseSubject,
    recordErasure: erase.recordErasure,
    purge: retention.purge,
  },
  {
    // Flat values and one string of texts instead of the batch's object graph; the answers as one string (see ingest-wire.ts).
    ingest: {
      encode: ([items]) => [encodeIngest(items as IngestItem[])],
      decode: ([wire]) => [decodeIngest(wire as IngestWire)],
      result: {
        encode: (results, [items]) => encodeIngestResults(results as IngestResult[], items as IngestItem[]),
        decode: (wire, [items]) => decodeIngestResults(wire as string, items as IngestItem[]),
      },
    },
  },
);

// Result files → events. The whole file is parsed first (the pure parser is
// all-or-nothing: a malformed file fails with the line and column of its first
// error and nothing of it is stored). Then only changes become events: a draft
// whose stateKey was seen before (the daily file, then the monthly one) is
// dropped. Every channel (admin upload, CLI, inbox) goes through importFile.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { OutgoingEvent } from '../events/publish.js';
import type { Hub } from '../observe.js';
import { newId } from '../ids.js';
import { COLLECTMAXX_ENDPOINT_ID } from './core/config.js';
import { FileFormatError } from './core/csv-read.js';
import { collectmaxxEventSchema } from './core/events.js';
import { resultEvents, type EventOrigin, type ResultEventDraft } from './core/result-events.js';
import { parseResultFile } from './core/results.js';
import type { CollectmaxxStore } from './store.js';

export type ImportOutcome =
  | { readonly status: 'imported'; readonly name: string; readonly sha256: string; readonly kind: 'daily' | 'monthly' | 'paylink'; readonly rows: number; readonly events: number; readonly unchanged: number }
  | { readonly status: 'skipped'; readonly name: string; readonly sha256: string; readonly importedAt: number }
  | { readonly status: 'failed'; readonly name: string; readonly sha256: string; readonly line: number; readonly column: number; readonly message: string };

export interface ImporterDeps {
  readonly cmx: CollectmaxxStore;
  /** Route, store and announce (the relay's publishEvent). */
  readonly publish: (event: OutgoingEvent, now: number) => Promise<{ eventId: string; duplicate: boolean }>;
  readonly hub: Hub;
  readonly logger: Logger;
}

/** The envelope receivers get: shaped like a Paygate event, `source: "collectmaxx"`. */
export function resultEventPayload(id: string, draft: ResultEventDraft, origin: EventOrigin | undefined, receivedAt: number): string {
  const { identifier: _i, origin: _o, ...data } = draft.data as Record<string, unknown>;
  return JSON.stringify(collectmaxxEventSchema.parse({
    id,
    type: draft.type,
    source: 'collectmaxx',
    merchantId: origin?.merchantId ?? null,
    receivedAt: new Date(receivedAt).toISOString(),
    data: {
      identifier: draft.identifier,
      transId: origin?.transId ?? null,
      origin: origin ?? null,
      ...data,
      file: draft.provenance,
    },
  }));
}

export class Importer {
  constructor(private readonly d: ImporterDeps) {}

  async importFile(name: string, content: Buffer, now: number): Promise<ImportOutcome> {
    const sha256 = createHash('sha256').update(content).digest('hex');
    const before = await this.d.cmx.findImport(name, sha256);
    if (before?.status === 'imported') {
      this.d.hub.emit('collectmaxx:import', { name, result: 'skipped', events: 0 });
      return { status: 'skipped', name, sha256, importedAt: before.importedAt };
    }
    let drafts: ResultEventDraft[];
    let file;
    try {
      file = parseResultFile(name, content);
      drafts = resultEvents(file);
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      await this.d.cmx.recordImport({ name, sha256, status: 'failed', reason: err.message, events: 0, importedAt: now });
      this.d.hub.emit('collectmaxx:import', { name, result: 'failed', events: 0 });
      this.d.logger.warn({ file: name, line: err.line, column: err.column, reason: err.reason }, 'collectmaxx result file rejected');
      return { status: 'failed', name, sha256, line: err.line, column: err.column, message: err.message };
    }

    // The same state twice in one file (a repeated row) is one change too.
    const unique = new Map<string, ResultEventDraft>();
    for (const dr of drafts) if (!unique.has(dr.stateKey)) unique.set(dr.stateKey, dr);
    const seen = await this.d.cmx.seenStates([...unique.keys()]);
    const fresh = [...unique.values()].filter((dr) => !seen.has(dr.stateKey));
    const lookup = fresh.filter((dr) => !dr.origin && dr.identifier).map((dr) => dr.identifier as string);
    const origins = await this.d.cmx.exportOrigins(lookup);

    // One publish per event, then the state keys, then the file row. A crash in between
    // leaves events whose state keys are not recorded: importing the file again makes the
    // same drafts, and `collectmaxx:<stateKey>` as dedupeKey makes each a duplicate, not a second event.
    let events = 0;
    for (const dr of fresh) {
      const origin = dr.origin ?? (dr.identifier ? origins.get(dr.identifier) : undefined);
      const id = newId('evt', now);
      const merchantId = origin?.merchantId ?? null;
      const transId = origin?.transId ?? null;
      const r = await this.d.publish({
        id, type: dr.type, source: 'collectmaxx', merchantId, transId, receivedAt: now, dedupeKey: `collectmaxx:${dr.stateKey}`,
        payload: resultEventPayload(id, dr, origin, now),
        // Never to the exporter's own endpoint (its rules only take Paygate types anyway).
        exclude: [COLLECTMAXX_ENDPOINT_ID],
      }, now);
      if (r.duplicate) continue;
      events++;
      this.d.hub.emit('collectmaxx:result-event', { type: dr.type });
    }
    await this.d.cmx.addSeenStates(fresh.map((dr) => ({ stateKey: dr.stateKey, subjectKey: dr.subjectKey, identifier: dr.identifier, firstSeenAt: now })));
    await this.d.cmx.recordImport({ name, sha256, status: 'imported', reason: null, events, importedAt: now });
    this.d.hub.emit('collectmaxx:import', { name, result: 'imported', events });
    const unchanged = drafts.length - fresh.length;
    this.d.logger.info({ file: name, rows: file.rows.length, events, unchanged }, 'collectmaxx result file imported');
    return { status: 'imported', name, sha256, kind: file.kind, rows: file.rows.length, events, unchanged };
  }
}

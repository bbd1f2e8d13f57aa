// Result files → events. The whole file is parsed first, on a worker thread
// (parse-off-loop.ts; the pure parser is all-or-nothing: a malformed file fails
// with the line and column of its first error and nothing of it is stored). Then
// only changes become events: a draft whose stateKey was seen before (the daily
// file, then the monthly one) is dropped. Events are stored chunk by chunk as the
// worker sends them, so the event loop keeps taking callbacks throughout. Every
// channel (admin upload, console, CLI, inbox) goes through importFile, one file at
// a time per process (a parse holds several times the file's size in memory).

import type { Logger } from 'pino';
import type { OutgoingEvent } from '../events/publish.js';
import type { Hub } from '../observe.js';
import { newId } from '../ids.js';
import { COLLECTMAXX_ENDPOINT_ID } from './core/config.js';
import type { EventOrigin } from './core/result-events.js';
import { FileParse } from './parse-off-loop.js';
import { resultEventPayload, type PreparedDraft } from './prepare.js';
import type { CollectmaxxStore } from './store.js';

export { resultEventPayload } from './prepare.js';

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

export class Importer {
  /** The import running now: the next waits for it. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: ImporterDeps) {}

  importFile(name: string, content: Buffer, now: number): Promise<ImportOutcome> {
    const run = this.running.then(() => this.run(name, content, now));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async run(name: string, content: Buffer, now: number): Promise<ImportOutcome> {
    const parse = new FileParse(name, content, now);
    try {
      const sha256 = await parse.sha256();
      const before = await this.d.cmx.findImport(name, sha256);
      if (before?.status === 'imported') {
        this.d.hub.emit('collectmaxx:import', { name, result: 'skipped', events: 0 });
        return { status: 'skipped', name, sha256, importedAt: before.importedAt };
      }
      const parsed = await parse.parse();
      if (parsed.status === 'failed') {
        await this.d.cmx.recordImport({ name, sha256, status: 'failed', reason: parsed.message, events: 0, importedAt: now });
        this.d.hub.emit('collectmaxx:import', { name, result: 'failed', events: 0 });
        this.d.logger.warn({ file: name, line: parsed.line, column: parsed.column, reason: parsed.reason }, 'collectmaxx result file rejected');
        return { status: 'failed', name, sha256, line: parsed.line, column: parsed.column, message: parsed.message };
      }
      // Per chunk: the changed states' events, then their state keys; the file row at the end. A crash in
      // between leaves events whose state keys are not recorded: importing the file again makes the same
      // drafts, and `collectmaxx:<stateKey>` as dedupeKey makes each a duplicate, not a second event.
      let events = 0;
      let fresh = 0;
      for await (const chunk of parsed.chunks) {
        const started = performance.now();
        const r = await this.storeChunk(chunk, now);
        events += r.events;
        fresh += r.fresh;
        // Paced: after each chunk a pause as long as it took, so an import takes at most about half of the
        // event loop's and the writer's time and callbacks arriving meanwhile keep their latency.
        await new Promise((res) => setTimeout(res, performance.now() - started));
      }
      await this.d.cmx.recordImport({ name, sha256, status: 'imported', reason: null, events, importedAt: now });
      this.d.hub.emit('collectmaxx:import', { name, result: 'imported', events });
      const unchanged = parsed.drafts - fresh;
      this.d.logger.info({ file: name, rows: parsed.rows, events, unchanged }, 'collectmaxx result file imported');
      return { status: 'imported', name, sha256, kind: parsed.kind, rows: parsed.rows, events, unchanged };
    } finally {
      await parse.stop();
    }
  }

  /** One chunk of prepared drafts: the changed ones become events (in file order per transaction), then their state keys. */
  private async storeChunk(chunk: PreparedDraft[], now: number): Promise<{ events: number; fresh: number }> {
    const seen = await this.d.cmx.seenStates(chunk.map((p) => p.stateKey));
    const fresh = chunk.filter((p) => !seen.has(p.stateKey));
    const lookup = fresh.filter((p) => p.draft).map((p) => p.identifier as string);
    const origins = lookup.length > 0 ? await this.d.cmx.exportOrigins(lookup) : new Map<string, EventOrigin>();
    // Events of one transaction are published one after the other, in file order (receivers get them in
    // that order); different transactions at once, so a chunk shares commits.
    const lanes = new Map<string, PreparedDraft[]>();
    for (const p of fresh) {
      const key = p.origin?.transId ?? (p.identifier ? origins.get(p.identifier)?.transId : undefined) ?? p.stateKey;
      const lane = lanes.get(key);
      if (lane) lane.push(p);
      else lanes.set(key, [p]);
    }
    let events = 0;
    await Promise.all([...lanes.values()].map(async (lane) => {
      for (const p of lane) if (await this.publish(p, origins, now)) events++;
    }));
    await this.d.cmx.addSeenStates(fresh.map((p) => ({ stateKey: p.stateKey, subjectKey: p.subjectKey, identifier: p.identifier, firstSeenAt: now })));
    return { events, fresh: fresh.length };
  }

  /** True when a new event was stored (false: a duplicate of one stored before). */
  private async publish(p: PreparedDraft, origins: Map<string, EventOrigin>, now: number): Promise<boolean> {
    const origin = p.origin ?? (p.identifier ? origins.get(p.identifier) : undefined);
    const id = p.id ?? newId('evt', now);
    const payload = p.payload ?? resultEventPayload(id, p.draft!, origin, now);
    const r = await this.d.publish({
      id, type: p.type, source: 'collectmaxx', merchantId: origin?.merchantId ?? null, transId: origin?.transId ?? null, receivedAt: now,
      dedupeKey: `collectmaxx:${p.stateKey}`, payload,
      // Never to the exporter's own endpoint (its rules only take Paygate types anyway).
      exclude: [COLLECTMAXX_ENDPOINT_ID],
    }, now);
    if (r.duplicate) return false;
    this.d.hub.emit('collectmaxx:result-event', { type: p.type });
    return true;
  }
}

// What an import needs from a result file, computed in one place whichever thread
// runs it (parse-worker.ts runs it off the event loop): the file's SHA-256, the
// all-or-nothing parse, the event drafts with repeats of a state dropped, and for
// each draft whose origin is known from its own identifier the event id and the
// payload receivers will get. Only drafts whose origin must be looked up in
// storage are left for the importer to finish.

import { createHash } from 'node:crypto';
import { newId } from '../ids.js';
import { FileFormatError } from './core/csv-read.js';
import { collectmaxxEventSchema } from './core/events.js';
import { resultEvents, type EventOrigin, type ResultEventDraft } from './core/result-events.js';
import { parseResultFile } from './core/results.js';

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

/** A draft ready to publish, or (`draft` set) one whose origin the importer looks up first. */
export interface PreparedDraft {
  readonly type: string;
  readonly stateKey: string;
  readonly subjectKey: string;
  readonly identifier: string | null;
  readonly origin?: EventOrigin;
  /** Set when the payload is built: the event id and its bytes. */
  readonly id?: string;
  readonly payload?: string;
  /** Set instead when the origin must come from storage (an identifier that is not ours, or does not verify). */
  readonly draft?: ResultEventDraft;
}

export type Prepared =
  | { readonly status: 'failed'; readonly line: number; readonly column: number; readonly reason: string; readonly message: string }
  | { readonly status: 'parsed'; readonly kind: 'daily' | 'monthly' | 'paylink'; readonly rows: number; readonly drafts: number; readonly items: PreparedDraft[] };

export function sha256Of(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Parse and prepare; a malformed file gives `failed` with where (nothing of it is used). */
export function prepareFile(name: string, content: Buffer, now: number): Prepared {
  let file;
  let drafts: ResultEventDraft[];
  try {
    file = parseResultFile(name, content);
    drafts = resultEvents(file);
  } catch (err) {
    if (!(err instanceof FileFormatError)) throw err;
    return { status: 'failed', line: err.line, column: err.column, reason: err.reason, message: err.message };
  }
  // The same state twice in one file (a repeated row) is one change too.
  const unique = new Map<string, ResultEventDraft>();
  for (const dr of drafts) if (!unique.has(dr.stateKey)) unique.set(dr.stateKey, dr);
  const items: PreparedDraft[] = [];
  for (const dr of unique.values()) {
    const base = { type: dr.type, stateKey: dr.stateKey, subjectKey: dr.subjectKey, identifier: dr.identifier };
    if (dr.origin || !dr.identifier) {
      const id = newId('evt', now);
      items.push({ ...base, origin: dr.origin, id, payload: resultEventPayload(id, dr, dr.origin, now) });
    } else items.push({ ...base, draft: dr });
  }
  return { status: 'parsed', kind: file.kind, rows: file.rows.length, drafts: drafts.length, items };
}

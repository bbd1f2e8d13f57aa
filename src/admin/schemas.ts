// The answers of the admin operations (queries.ts), as zod schemas: the admin routes
// declare them, openapi.yaml shows them, test/openapi-contract.test.ts checks real answers.

import { z } from 'zod';
import { component, featureEvent, page, paygateEvent } from '../routes/schemas.js';

const iso = z.iso.datetime();
const isoOrNull = iso.nullable();

export const relayTestEvent = component('RelayTestEvent', z.object({
  id: z.string(), type: z.literal('relay.test'), source: z.literal('relay'), receivedAt: iso,
  data: z.object({ message: z.string() }),
}).meta({ description: 'A test event an operator sent to one endpoint from the console.' }));

/** Stored events as they were delivered, whatever made them. */
export const anyEvent = z.union([paygateEvent, relayTestEvent, featureEvent]);
/** A stored event (read back as delivered; not re-validated). */
export type AnyEvent = z.output<typeof anyEvent> & Record<string, unknown>;

export const callbackView = component('Callback', z.looseObject({
  id: z.string(), receivedAt: iso, channel: z.enum(['notify', 'success', 'failure']), method: z.string(), path: z.string(),
  kind: z.string().nullable(), contentType: z.string().nullable(), remoteIp: z.string().nullable(), userAgent: z.string().nullable(),
  merchantId: z.string().nullable(),
  claimedMerchantId: z.string().nullable().optional().describe('The merchant only named in the plain MerchantID when no key of it verified the callback.'),
  state: z.string(), reason: z.string().nullable(), detail: z.string().nullable(),
  eventId: z.string().nullable(), bodyBytes: z.int(), decoded: z.record(z.string(), z.unknown()).nullable(),
}).meta({ description: 'A callback as received (never its raw body, MAC or Data).' }));

const attempt = z.object({
  startedAt: iso, durationMs: z.number(), statusCode: z.int().nullable(), errorClass: z.string().nullable(), responseBody: z.string().nullable(),
});

const delivery = z.object({
  endpointId: z.string(), state: z.enum(['pending', 'in_flight', 'succeeded', 'dead']), attempts: z.int(),
  nextAttemptAt: isoOrNull, completedAt: isoOrNull, lastStatus: z.int().nullable(), lastError: z.string().nullable(),
  attemptLog: z.array(attempt),
});

export const eventDetail = component('EventDetail', z.object({
  event: anyEvent, callback: callbackView.nullable(), deliveries: z.array(delivery),
}));

export const eventPage = page(anyEvent);
export const quarantinePage = page(callbackView);

export const redeliverResult = z.object({
  scheduled: z.array(z.string()).describe('Endpoints the event goes to again.'),
  inFlight: z.array(z.string()).describe('Endpoints with an attempt in flight: not reset.'),
});

export const reprocessResult = z.union([
  z.object({ result: z.enum(['accepted', 'duplicate', 'conflict']), eventId: z.string() }),
  z.object({ result: z.literal('still_quarantined'), reason: z.string(), detail: z.string() }),
]);

export const reprocessCounts = z.object({
  processed: z.int().describe('Callbacks decoded again.'),
  accepted: z.int(), duplicate: z.int(), conflict: z.int(), stillQuarantined: z.int(),
  skipped: z.int().describe('Callbacks not decoded again: quarantined for a reason no configuration or key change can fix (malformed body, missing Data or Len, a verified record lacking a field, ...).'),
});

export const conflict = component('Conflict', z.object({
  callbackId: z.string(), receivedAt: iso, merchantId: z.string(), transId: z.string().nullable(), payId: z.string().nullable(),
  firstEventId: z.string().describe('The event receivers got first for this identity.'),
  conflictEventId: z.string().describe('The callback.conflict event that announced it.'),
  fields: z.array(z.string()).describe('Names of the fields that differ (operation, xid, fields.amount, …).'),
}).meta({ description: 'A callback with the signed identity of a stored event but other content.' }));

export const conflictPage = page(conflict);

const conflictVersion = z.object({
  callback: callbackView,
  values: z.record(z.string(), z.unknown()).describe('The differing fields of this version, by name.'),
}).nullable();

export const conflictDetail = component('ConflictDetail', conflict.extend({ first: conflictVersion, second: conflictVersion }));

const required = (name: string) => z.string({ error: `${name} is required` }).min(1, `${name} is required`);

export const mintCallbackUrlBody = z.object({
  merchant: required('merchant'),
  channel: z.enum(['notify', 'success', 'failure'], { error: 'channel must be notify, success or failure' }),
  kind: required('kind').describe('The operation kind, e.g. ZE or prepayment-paid.'),
  transId: z.string().min(1).optional().describe('Bind the URL to this TransID.'),
  base: z.string().optional().describe('e.g. https://pay.shop.example; without it only the path is returned.'),
});

export const callbackUrl = component('CallbackUrl', z.object({
  url: z.string().nullable(), path: z.string(), token: z.string(), transIdBound: z.boolean(),
}));

export const deadLetterPage = page(z.object({
  eventId: z.string(), type: z.string(), endpointId: z.string(), attempts: z.int(), lastStatus: z.int().nullable(),
  lastError: z.string().nullable(), deadSince: iso,
}));

export const deadLetterCount = z.object({ count: z.int(), dryRun: z.boolean() });

export const endpointHealth = component('EndpointHealth', z.object({
  id: z.string(), url: z.string(), enabled: z.boolean(), enabledInConfig: z.boolean(), disabledReason: z.string().nullable(),
  disabledAt: isoOrNull, ordering: z.enum(['transaction', 'none']), concurrency: z.int(),
  health: z.object({
    successRate24h: z.number().nullable(), attempts24h: z.int(), lastError: z.string().nullable(), lastFailureAt: isoOrNull,
    lastSuccessAt: isoOrNull, failingSince: isoOrNull, queueDepth: z.int(), oldestPendingAgeSeconds: z.number(), deadLetters: z.int(),
  }),
}));


const erasureSelector = z.object({ kind: z.enum(['transId', 'payId', 'mandateId']), value: z.string() });

export const erasure = component('Erasure', z.object({
  seq: z.int(), erasedAt: iso,
  actor: z.string().describe('Who asked: token:<id> (an admin token, by a keyed digest), console:<id>, or cli.'),
  reason: z.string(), selector: erasureSelector,
  rows: z.record(z.string(), z.int()).describe('Rows whose personal data was removed, per table (archive: archived rows). All zero for a repeat.'),
  total: z.int(),
}).meta({ description: 'One erasure request, as recorded.' }));

export const erasureResult = erasure.extend({
  purged: z.boolean().describe('The freed space was purged from the database files now (SQLite: WAL checkpointed and truncated; PostgreSQL: tables VACUUMed). false: it happens at the next checkpoint or VACUUM.'),
});

export const erasurePage = page(erasure);

const id = z.string().trim().min(1).max(200);
export const erasureBody = z.object({
  transId: id.optional(), payId: id.optional(), mandateId: id.optional(),
  reason: z.string().trim().min(1).max(500).describe('Why (e.g. the ticket of the request). Recorded; must not itself hold personal data.'),
}).describe('Exactly one of transId, payId, mandateId.');

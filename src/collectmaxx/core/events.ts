import { z } from 'zod';
import { EMANDATE_STATUS_NAMES, PAYLINK_STATUS_NAMES } from './codes.js';
import { RESULT_EVENT_TYPES } from './result-events.js';

// The wire format of events made from Collectmaxx result files: what is stored and what
// receivers get, byte for byte. Changing it is a breaking change for every downstream system.

/** Every type an imported Collectmaxx result can have. */
export const COLLECTMAXX_EVENT_TYPES: readonly string[] = Object.freeze([
  ...RESULT_EVENT_TYPES,
  ...PAYLINK_STATUS_NAMES.map((n) => `paylink.${n}`),
  ...EMANDATE_STATUS_NAMES.map((n) => `emandate.${n}`),
]);

const originSchema = z
  .object({ merchantId: z.string(), transId: z.string(), eventId: z.string(), flowId: z.string() })
  .describe('The Paygate event our delivery record was made from.');

// Events made from Collectmaxx result files: the same envelope as Paygate events where it
// applies, `source: "collectmaxx"`. `data` holds the result's own fields (by type) besides these.
export const collectmaxxEventSchema = z.object({
  id: z.string().regex(/^evt_[0-9A-Z]{26}$/),
  type: z.enum(COLLECTMAXX_EVENT_TYPES as [string, ...string[]]),
  source: z.literal('collectmaxx'),
  merchantId: z.string().nullable().describe('The original merchant when the result belongs to one of our delivery records.'),
  receivedAt: z.iso.datetime(),
  data: z
    .object({
      identifier: z.string().nullable().describe('IDENTIFICATION_IDENTIFIER (portal PayLinks: the PayLink id); null for an unmatched inbound call.'),
      transId: z.string().nullable().describe('The original Paygate TransID, when known.'),
      origin: originSchema.nullable(),
      file: z.object({ fileName: z.string(), fileKind: z.enum(['daily', 'monthly', 'paylink']), line: z.number().int() }),
    })
    .catchall(z.unknown()),
  erased: z.literal(true).optional().describe('true once a person\'s data was erased from this event: every personal value reads "[erased]".'),
});

export type CollectmaxxEvent = z.infer<typeof collectmaxxEventSchema>;

import { z } from 'zod';
import { EVENT_TYPES } from '../paygate/operation.js';

// The wire format of every Paygate event: what is stored and what receivers get,
// byte for byte. Changing it is a breaking change for every downstream system.
// Features publish events of their own (their schemas live with them, see FeatureModule.events).

export const codeInfoSchema = z.object({
  severity: z.enum(['success', 'error', 'fatal', 'pending', 'info', 'unknown']),
  category: z.string(),
  categoryName: z.string(),
  parameter: z.string(),
});

export const paygateEventDataSchema = z.object({
  payId: z.string(),
  xid: z.string(),
  transId: z.string(),
  status: z.string(),
  code: z.string().regex(/^[0-9A-Z]{8}$/),
  codeInfo: codeInfoSchema,
  description: z.string().optional(),
  mandateId: z.string().optional(),
  refNr: z.string().optional(),
  userData: z.string().optional(),
  plain: z.string().optional(),
  eventToken: z.string().optional(),
  fields: z.record(z.string(), z.string()).describe('Every other decrypted field, keys lower-cased.'),
  custom: z
    .record(z.string(), z.string())
    .describe('Plaintext fields outside Data (Paygate Custom pairs). NOT authenticated: routing hints only.'),
  customAuthenticated: z.literal(false),
});

export const callbackOriginSchema = z
  .object({
    channel: z.enum(['notify', 'success', 'failure']),
    clientIp: z.string().nullable().describe('The client address (the proxy-forwarded one from trustProxy proxies).'),
    allowFrom: z.boolean().nullable()
      .describe('Notify only: true when the client address is in paygate.allowFrom; null without allowFrom, and for browser returns (never IP-restricted).'),
    signedUrl: z.object({ transIdBound: z.boolean() }).nullable()
      .describe('The URL token the relay checked against the decrypted merchant, the channel, the kind and (when bound) the TransID; null without paygate.urlSecret.'),
    trusted: z.boolean()
      .describe('True only for a server-to-server notify from a paygate.allowFrom address (with paygate.urlSecret: on a signed URL): Paygate itself chose the URL. Browser returns are never trusted.'),
  })
  .describe('Where the callback came from and whether that source is trusted.');

/** The marker an erasure adds (src/lifecycle/personal-fields.ts); absent on every event as first delivered. */
export const erasedSchema = z
  .literal(true)
  .optional()
  .describe('true once a person\'s data was erased from this event (GDPR): every personal value reads "[erased]"; ids, amounts, codes and times are unchanged.');

export const MAC_FIELDS = ['payId', 'transId', 'merchantId', 'status', 'code'] as const;

export const authenticatedSchema = z
  .object({
    mac: z.array(z.enum(MAC_FIELDS)).describe("What Paygate's MAC signs (PayID*TransID*MerchantID*Status*Code): always all five."),
    signedUrl: z.array(z.enum(['operation', 'channel'])).describe("What the relay's signed URL binds (empty without paygate.urlSecret)."),
    encryptedOnly: z.array(z.string())
      .describe('Decrypted fields protected by the encryption alone (Blowfish ECB blocks can be spliced, AES-CBC bits flipped): informational; fields.* names the extras.'),
  })
  .describe('Which parts of the event are authenticated, and by what.');

export const paygateEventSchema = z.object({
  id: z.string().regex(/^evt_[0-9A-Z]{26}$/),
  type: z.enum(EVENT_TYPES),
  source: z.literal('paygate'),
  merchantId: z.string(),
  operation: z.enum([
    'mandate', 'debtor', 'open_position', 'open_position_reversal', 'credit',
    'prepayment', 'prepayment_reversal', 'prepayment_paid', 'prepayment_update', 'payment',
  ]),
  outcome: z.enum(['succeeded', 'pending', 'failed']),
  channel: z.enum(['notify', 'success', 'failure']),
  receivedAt: z.iso.datetime(),
  data: paygateEventDataSchema,
  origin: callbackOriginSchema,
  authenticated: authenticatedSchema,
  erased: erasedSchema,
});

export type PaygateEvent = z.infer<typeof paygateEventSchema>;
export type Origin = z.infer<typeof callbackOriginSchema>;

export const CONFLICT_EVENT_TYPE = 'callback.conflict';

/**
 * A callback with the signed identity (merchant, PayID, TransID, Status, Code) of an event
 * already delivered but other content: one of the two was tampered with. Names the fields,
 * never their values (operators see those in the console). Ordered after the first event of
 * the TransID.
 */
export const conflictEventSchema = z.object({
  id: z.string().regex(/^evt_[0-9A-Z]{26}$/),
  type: z.literal(CONFLICT_EVENT_TYPE),
  source: z.literal('relay'),
  merchantId: z.string(),
  receivedAt: z.iso.datetime(),
  data: z.object({
    payId: z.string(),
    transId: z.string(),
    status: z.string(),
    code: z.string(),
    firstEventId: z.string().describe('The event receivers got first for this identity: hold what it started until the conflict is resolved.'),
    fields: z.array(z.string()).min(1).describe('Names of the fields that differ between the two versions (operation, xid, fields.amount, …).'),
    first: z.object({ eventId: z.string(), origin: callbackOriginSchema.nullable().describe('null for events stored before origins were recorded.') }),
    second: z.object({
      callbackId: z.string(),
      type: z.enum(EVENT_TYPES).describe('The event type the conflicting callback would have had.'),
      origin: callbackOriginSchema,
    }),
  }),
  erased: erasedSchema,
});

export type ConflictEvent = z.infer<typeof conflictEventSchema>;

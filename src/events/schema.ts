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
});

export type PaygateEvent = z.infer<typeof paygateEventSchema>;

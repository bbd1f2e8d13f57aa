// Schemas of the Paygate callback routes (routes/paygate.ts). They document; the bytes
// themselves are never parsed by them (that plugin's documentOnly body validator): the
// Paygate core decodes them, charset and all.

import { z } from 'zod';
import { component, errorResponse, textResponse } from './schemas.js';

export const kindParams = z.object({
  kind: z.string().meta({
    description: 'Operation the shop started: mandate, MD/debtor, OC/open-position, OS/open-position-reversal, CR/credit, AN/prepayment, ST/prepayment-reversal, ZE/prepayment-paid, UP/prepayment-update (case-insensitive).',
  }),
});
export const tokenParams = kindParams.extend({
  token: z.string().meta({
    description: 'Signed-URL token (paygate.urlSecret), minted by `paygate-relay url` or POST /admin/callback-urls: `1a`/`1t` + 22 base64url characters, binding merchant, channel, kind and optionally the TransID. Checked against the decrypted merchant and TransID.',
  }),
});
export const callbackForm = component('PaygateCallbackForm', z.object({
  MerchantID: z.string().optional(),
  Len: z.string().regex(/^[0-9]+$/),
  Data: z.string().meta({ description: 'Hex (Blowfish) or hexIV-hexCipher (AES)' }),
}).catchall(z.string()).meta({
  description: 'Paygate result: Len and Data (encrypted), usually MerchantID in plain, plus plaintext Custom pairs. UTF-8 or charset=iso-8859-1.',
}));
export const rejected = {
  400: errorResponse('Can never be valid (no Data/Len, not hex, cannot decrypt, bad Len, bad Code, unknown merchant, an EventToken or MandateID contradicting the kind); kept in quarantine.'),
  401: errorResponse('MAC missing or wrong, or the signed-URL token missing or not minted for this callback; kept in quarantine.'),
  404: errorResponse('Unknown :kind; kept in quarantine.'),
  413: errorResponse('Body over limits.bodyBytes.'),
  415: errorResponse('Not a form body or unsupported charset; kept in quarantine.'),
  503: errorResponse('Not stored (storage unavailable, draining, or overloaded: then with Retry-After and refused before the body is read); Paygate retries.'),
};
export const returned = {
  303: z.undefined().meta({
    description: "Redirect to the merchant's returnUrls entry for the decrypted, verified outcome (failure when it does not verify).",
    headers: { location: { type: 'string', format: 'uri' } },
  }),
  200: textResponse('No return URL configured: a neutral page.'),
  '4XX': errorResponse('Rejected and no return URL configured.'),
  503: errorResponse('Not stored; try again.'),
};
export const opId = (name: string, variant: 'plain' | 'kind' | 'token', suffix = '') => `${name}${variant === 'plain' ? '' : variant === 'kind' ? 'Kind' : 'Token'}${suffix}`;

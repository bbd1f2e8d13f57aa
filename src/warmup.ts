// Warm before ready. A relay that has just (re)started gets Paygate's retries
// at once, and its first seconds used to be its slowest: every hot function
// still interpreted, every receiver connection still to be opened (a TLS
// handshake each, for a remote receiver). So before /readyz says ready:
// - each merchant's key slots decode synthetic callbacks (made by the
//   simulator with the configured keys) through the whole decoder and the
//   event builder, enough times for V8 to optimise them; nothing is stored,
//   counted or logged;
// - each HTTP endpoint's signing runs the same way;
// - each HTTP endpoint's connection pool opens its connections (no request is
//   sent), waiting at most `connectWithinMs`: a receiver that is down must
//   not keep intake from becoming ready.

import type { Endpoint } from './delivery/endpoints.js';
import type { Sender } from './delivery/sender.js';
import { decodeSecrets, signatureHeader } from './delivery/sign.js';
import { decodeIncoming, type Intake } from './intake.js';
import type { PreparedMerchant } from './paygate/merchant.js';
import { buildCallback } from './paygate/simulator.js';
import type { MerchantKeys } from './paygate/types.js';

export interface WarmUpDeps {
  /** Key material as configured (the simulator encrypts with it). */
  merchantKeys: MerchantKeys[];
  merchants: PreparedMerchant[];
  intake: Pick<Intake, 'eventOf' | 'origin'>;
  endpoints: Endpoint[];
  /** Absent: no connections are opened (delivery off). */
  sender?: Pick<Sender, 'preconnect'>;
  clock: () => number;
}

export interface WarmUpOptions {
  /** Decode (and build the event for) this many callbacks in all, at most. */
  callbacks?: number;
  /** ... and stop the decode loop after this long, whichever comes first. */
  budgetMs?: number;
  connectWithinMs?: number;
}

export interface WarmUpReport {
  ms: number;
  callbacks: number;
  signatures: number;
  connections: { endpointId: string; opened: number; error?: string }[];
}

/** One success and one failure per key slot, so both outcome branches get compiled. */
function samples(keys: MerchantKeys[]): { contentType: string; body: Buffer; kind: string }[] {
  const out: { contentType: string; body: Buffer; kind: string }[] = [];
  for (const m of keys) {
    m.keys.forEach((_, keySlot) => {
      for (const code of ['00000000', '22060203']) {
        const c = buildCallback({ transId: `warm-up-${keySlot}`, code, refNr: 'warm-up', userData: 'warm-up', extra: { amount: '100', currency: 'EUR' } }, m, { keySlot });
        out.push({ contentType: c.contentType, body: c.body, kind: 'OC' });
      }
    });
  }
  return out;
}

export async function warmUp(d: WarmUpDeps, o: WarmUpOptions = {}): Promise<WarmUpReport> {
  const started = performance.now();
  const connecting = d.sender
    ? d.endpoints.filter((ep) => !ep.local).map(async (ep) => {
        try {
          return { endpointId: ep.id, opened: await d.sender!.preconnect(ep, o.connectWithinMs ?? 2000) };
        } catch (err) {
          return { endpointId: ep.id, opened: 0, error: (err as Error).message };
        }
      })
    : [];

  const inputs = samples(d.merchantKeys);
  const limit = o.callbacks ?? 2000;
  const deadline = started + (o.budgetMs ?? 300);
  let callbacks = 0;
  const now = d.clock();
  const origin = d.intake.origin({ channel: 'notify', remoteIp: '127.0.0.1' }, null);
  while (inputs.length > 0 && callbacks < limit && performance.now() < deadline) {
    for (const input of inputs) {
      const r = decodeIncoming({ method: 'POST', ...input }, d.merchants);
      // A synthetic callback that does not decode is a bug in the simulator or the decoder, not a reason to stay unready.
      if (r.ok) d.intake.eventOf(r, 'notify', now, origin);
      callbacks++;
    }
  }

  let signatures = 0;
  for (const ep of d.endpoints) {
    if (ep.local) continue;
    const keys = decodeSecrets(ep.secrets);
    for (let i = 0; i < 200; i++, signatures++) signatureHeader(keys, 'evt_warm_up', Math.floor(now / 1000), '{"warm":"up"}');
  }

  const connections = await Promise.all(connecting);
  return { ms: Math.round(performance.now() - started), callbacks, signatures, connections };
}

// Build and post Paygate callbacks to a harness.
import type { LightMyRequestResponse } from 'fastify';
import { buildCallback, type CallbackSpec, type SimulateOptions } from '../../src/paygate/simulator.js';
import type { MerchantKeys } from '../../src/paygate/types.js';
import type { Harness } from './relay.js';
import { TEST_BF, TEST_HMAC } from './relay.js';

export const SHOP: MerchantKeys = {
  id: 'ShopTest',
  encryption: 'blowfish',
  keys: [{ blowfish: Buffer.from(TEST_BF), hmac: Buffer.from(TEST_HMAC) }],
};

let seq = 0;
export function transId(prefix = 'T'): string {
  seq++;
  return `${prefix}${process.pid}-${seq}`;
}

export async function post(
  h: Harness,
  path: string,
  spec: Partial<CallbackSpec>,
  opts: SimulateOptions & { merchant?: MerchantKeys } = {},
): Promise<LightMyRequestResponse> {
  const cb = buildCallback({ transId: transId(), code: '00000000', ...spec }, opts.merchant ?? SHOP, opts);
  return h.app.inject({ method: 'POST', url: path, headers: { 'content-type': cb.contentType }, payload: cb.body });
}

/** The stored event payloads, newest first, through the admin API like an operator would read them. */
export async function events(h: Harness, query = ''): Promise<Array<Record<string, any>>> {
  const res = await h.app.inject({ method: 'GET', url: `/admin/events?limit=200${query}`, headers: { authorization: 'Bearer test-admin-token-0123456789' } });
  if (res.statusCode !== 200) throw new Error(`admin events: ${res.statusCode} ${res.body}`);
  return (res.json() as { items: Array<Record<string, any>> }).items;
}

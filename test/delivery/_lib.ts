// Shared by the delivery tests: post real callbacks over HTTP, talk to the admin API
// like an operator would, and wait for conditions without fixed sleeps.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { buildCallback, type CallbackSpec } from '../../src/paygate/simulator.js';
import type { MerchantKeys } from '../../src/paygate/types.js';
import type { Harness } from '../helpers/relay.js';
import { ADMIN_TOKEN, TEST_BF, TEST_HMAC } from '../helpers/relay.js';

export const SHOP: MerchantKeys = {
  id: 'ShopTest',
  encryption: 'blowfish',
  keys: [{ blowfish: Buffer.from(TEST_BF), hmac: Buffer.from(TEST_HMAC) }],
};

let n = 0;
/** A TransID unique to this process and call. */
export function tid(prefix = 'T'): string {
  n++;
  return `${prefix}${process.pid}x${n}`;
}

export interface Posted {
  status: number;
  text: string;
  payId: string;
  transId: string;
  ms: number;
}

/** Build a callback as Paygate would and POST it to a listening relay (any base URL). */
export async function notify(baseUrl: string, spec: Partial<CallbackSpec> = {}, kind = 'OC'): Promise<Posted> {
  const payId = spec.payId ?? randomBytes(16).toString('hex');
  const transId = spec.transId ?? tid();
  const cb = buildCallback({ code: '00000000', ...spec, payId, transId }, SHOP);
  const started = performance.now();
  const res = await fetch(`${baseUrl}/paygate/notify/${kind}`, { method: 'POST', headers: { 'content-type': cb.contentType }, body: new Uint8Array(cb.body) });
  const text = await res.text();
  return { status: res.status, text, payId, transId, ms: performance.now() - started };
}

/** The id of the event stored for a posted callback (found by its PayID). */
export async function eventIdOf(h: Harness, p: Posted): Promise<string> {
  const page = await h.relay.store.listEvents({ payId: p.payId }, 1);
  const e = page.items[0];
  if (!e) throw new Error(`no event stored for PayID ${p.payId}`);
  return e.id;
}

export async function api(h: Harness | string, method: string, path: string, opts: { token?: string | null; body?: unknown } = {}) {
  const base = typeof h === 'string' ? h : h.url;
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, text };
}

export interface AttemptView {
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  responseBody: string | null;
}
export interface DeliveryView {
  endpointId: string;
  state: string;
  attempts: number;
  nextAttemptAt: string | null;
  completedAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  attemptLog: AttemptView[];
}

export async function detail(h: Harness, id: string): Promise<{ event: Record<string, any>; deliveries: DeliveryView[] }> {
  const r = await api(h, 'GET', `/admin/events/${id}`);
  if (r.status !== 200) throw new Error(`GET /admin/events/${id}: ${r.status} ${r.text}`);
  return r.json;
}

export async function delivery(h: Harness, id: string, endpointId: string): Promise<DeliveryView> {
  const d = (await detail(h, id)).deliveries.find((x) => x.endpointId === endpointId);
  if (!d) throw new Error(`event ${id} has no delivery to ${endpointId}`);
  return d;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(15);
  }
}

/** Wait until the event's delivery to the endpoint is in one of the states. */
export function settled(h: Harness, id: string, endpointId: string, states: string[] = ['succeeded'], timeoutMs = 8000): Promise<DeliveryView> {
  return until(`${id} → ${endpointId} ${states.join('|')}`, async () => {
    const d = await delivery(h, id, endpointId);
    return states.includes(d.state) ? d : null;
  }, timeoutMs);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A TCP port nothing listens on (bound once, then closed). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** One sample of a Prometheus metric with the given labels, or undefined. */
export async function metric(baseUrl: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = (m[1] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[2]);
  }
  return undefined;
}

/** A minimal endpoint config for the test relay. */
export function ep(id: string, url: string, secret: string | string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, url, secret, retryScheduleMs: [0, 50, 100], jitter: 0, timeoutMs: 2000, ...extra };
}

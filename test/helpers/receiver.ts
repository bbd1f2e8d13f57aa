// A real webhook receiver on 127.0.0.1 that verifies every request with the
// independent `standardwebhooks` package and can be told how to answer.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  headers: IncomingMessage['headers'];
  body: string;
  event: { id: string; type: string; data: { transId: string; [k: string]: unknown }; [k: string]: unknown };
  verified: boolean;
  at: number;
}

export type Behaviour = (r: Received, n: number) => { status: number; body?: string; headers?: Record<string, string>; hangMs?: number } | undefined;

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests that answered 2xx. */
  delivered(): Received[];
  behave(b: Behaviour): void;
  waitFor(pred: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(
  t: { teardown(fn: () => Promise<void> | void): void },
  secret: string | string[],
  path = '/hook',
): Promise<Receiver> {
  const secrets = Array.isArray(secret) ? secret : [secret];
  const verifiers = secrets.map((s) => new Webhook(s));
  const received: Received[] = [];
  const ok = new Set<Received>();
  let behaviour: Behaviour = () => undefined;
  const hanging = new Set<NodeJS.Timeout>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = verifiers.length > 0;
      for (const v of verifiers) {
        try {
          v.verify(body, req.headers as Record<string, string>);
        } catch {
          verified = false;
        }
      }
      const r: Received = {
        id: String(req.headers['webhook-id']), timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']), headers: req.headers, body,
        event: JSON.parse(body) as Received['event'], verified, at: Date.now(),
      };
      received.push(r);
      const a = (req.url === path ? behaviour(r, received.length) : { status: 404 }) ?? { status: 200, body: 'ok' };
      const send = () => {
        if (res.destroyed) return;
        if (a.status >= 200 && a.status < 300) ok.add(r);
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      };
      if (a.hangMs) {
        const timer = setTimeout(() => {
          hanging.delete(timer);
          send();
        }, a.hangMs);
        hanging.add(timer);
      }
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  const close = () => new Promise<void>((r) => {
    hanging.forEach(clearTimeout);
    hanging.clear();
    server.closeAllConnections();
    server.close(() => r());
  });
  t.teardown(close);
  return {
    url, received,
    delivered: () => received.filter((r) => ok.has(r)),
    behave(b) { behaviour = b; },
    async waitFor(pred, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (!pred(received)) {
        if (Date.now() > end) throw new Error(`receiver: condition not met within ${timeoutMs} ms (got ${received.length} requests)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close,
  };
}

/** A fresh `whsec_` secret of 32 random bytes. */
export function newSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return `whsec_${Buffer.from(bytes).toString('base64')}`;
}

import { Pool } from 'undici';
import type { ErrorClass } from '../store/types.js';

export interface SendResult {
  statusCode: number | null;
  errorClass: ErrorClass | null;
  /** First 1 KiB of the answer, as text. */
  body: string | null;
  retryAfter?: string;
  durationMs: number;
  /** True when the attempt was cut short by shutdown, not by the receiver. */
  aborted: boolean;
}

const BODY_KEEP = 1024;
// Read at most this much of an answer; past it the connection is dropped instead of drained.
const BODY_DRAIN_LIMIT = 64 * 1024;

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/;

function classify(err: unknown): ErrorClass {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (TLS_CODES.test(code)) return 'tls';
  return 'connection_error';
}

/**
 * One keep-alive pool per endpoint, sized to the endpoint's concurrency, so a
 * slow receiver ties up only its own connections.
 */
export class Sender {
  private readonly pools = new Map<string, Pool>();

  private pool(endpointId: string, url: URL, connections: number): Pool {
    let p = this.pools.get(endpointId);
    if (!p) {
      p = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
      this.pools.set(endpointId, p);
    }
    return p;
  }

  async send(
    ep: { id: string; url: string; timeoutMs: number; concurrency: number; userAgent: string },
    payload: string,
    headers: Record<string, string>,
    shutdown: AbortSignal,
  ): Promise<SendResult> {
    const url = new URL(ep.url);
    const started = performance.now();
    // One controller per attempt, cut by its own timer or by shutdown. Not AbortSignal.any() with
    // the process-long shutdown signal: each call leaves a dependant on it (nodejs/node#55351), and
    // the 10-minute soak at 1000/s showed RSS climbing by hundreds of MiB.
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, ep.timeoutMs);
    const onShutdown = () => ac.abort();
    if (shutdown.aborted) ac.abort();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    const signal = ac.signal;
    const done = (r: Omit<SendResult, 'durationMs' | 'aborted'>): SendResult => {
      clearTimeout(timer);
      shutdown.removeEventListener('abort', onShutdown);
      return { ...r, durationMs: Math.round(performance.now() - started), aborted: shutdown.aborted && !timedOut };
    };
    try {
      const res = await this.pool(ep.id, url, ep.concurrency).request({
        method: 'POST',
        path: url.pathname + url.search,
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': ep.userAgent },
        body: payload,
        signal,
        headersTimeout: ep.timeoutMs,
        bodyTimeout: ep.timeoutMs,
      });
      const chunks: Buffer[] = [];
      let read = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (read < BODY_KEEP) chunks.push(chunk);
        read += chunk.length;
        if (read > BODY_DRAIN_LIMIT) {
          res.body.destroy();
          break;
        }
      }
      const body = Buffer.concat(chunks).subarray(0, BODY_KEEP).toString('utf8');
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const ra = res.headers['retry-after'];
      return done({
        statusCode: res.statusCode,
        errorClass: ok ? null : 'non_2xx',
        body,
        retryAfter: Array.isArray(ra) ? ra[0] : ra,
      });
    } catch (err) {
      return done({ statusCode: null, errorClass: timedOut ? 'timeout' : classify(err), body: null });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => p.destroy())));
    this.pools.clear();
  }
}

import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
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

/** How long a connection opened ahead may wait for its first request before it is closed. */
const SPARE_MAX_AGE_MS = 30_000;

/**
 * undici opens connections only when a request needs one. This connector can
 * open them ahead (warm-up, before the relay says ready): its pool's first
 * connects take those sockets while they are still open, later ones go
 * through undici's own connector with its defaults (10 s connect timeout,
 * TLS session cache), as without it. A socket the receiver closed in the
 * meantime is dropped, never handed out.
 */
class AheadConnector {
  private readonly base = buildConnector({});
  private readonly spare = new Map<Socket, () => void>();

  readonly connect: buildConnector.connector = (opts, cb) => {
    for (const [socket, gone] of this.spare) {
      this.spare.delete(socket);
      socket.off('close', gone).off('error', gone).off('end', gone);
      // Asynchronously, as a real connect answers: undici's client is not re-entrant here.
      if (!socket.destroyed && socket.writable && !socket.readableEnded) return process.nextTick(cb, null, socket);
      socket.destroy();
    }
    this.base(opts, cb);
  };

  /** Opens `n` connections to the origin of `url`; resolves with how many were open within `withinMs`. */
  async open(url: URL, n: number, withinMs: number): Promise<number> {
    // As undici's client passes them: IPv6 literals without brackets, the port as written.
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    let opened = 0;
    let firstError: Error | null = null;
    const one = () =>
      new Promise<void>((resolve) => {
        this.base({ hostname, host: url.host, protocol: url.protocol, port: url.port }, (err, socket) => {
          if (err || !socket) {
            firstError ??= err ?? new Error('no socket');
            return resolve();
          }
          const gone = () => {
            this.spare.delete(socket);
            socket.destroy();
          };
          socket.on('close', gone).on('error', gone).on('end', gone);
          this.spare.set(socket, gone);
          setTimeout(() => this.spare.has(socket) && gone(), SPARE_MAX_AGE_MS).unref();
          opened++;
          resolve();
        });
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(Array.from({ length: n }, one)), new Promise((r) => (timer = setTimeout(r, withinMs)))]);
    clearTimeout(timer);
    if (opened === 0 && firstError) throw firstError;
    return opened;
  }

  close(): void {
    for (const gone of this.spare.values()) gone();
  }
}

/**
 * One keep-alive pool per endpoint, sized to the endpoint's concurrency, so a
 * slow receiver ties up only its own connections.
 */
export class Sender {
  private readonly pools = new Map<string, { pool: Pool; connector: AheadConnector }>();

  private entry(endpointId: string, url: URL, connections: number): { pool: Pool; connector: AheadConnector } {
    let e = this.pools.get(endpointId);
    if (!e) {
      const connector = new AheadConnector();
      e = { pool: new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, connect: connector.connect }), connector };
      this.pools.set(endpointId, e);
    }
    return e;
  }

  private pool(endpointId: string, url: URL, connections: number): Pool {
    return this.entry(endpointId, url, connections).pool;
  }

  /**
   * Opens the endpoint's connections now (TCP, and TLS for https) so the first
   * deliveries after a start do not wait for them; no request is sent.
   * Resolves with the number open within `withinMs`; rejects when none could be opened.
   */
  preconnect(ep: { id: string; url: string; concurrency: number }, withinMs: number): Promise<number> {
    const url = new URL(ep.url);
    return this.entry(ep.id, url, ep.concurrency).connector.open(url, ep.concurrency, withinMs);
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
    for (const { connector } of this.pools.values()) connector.close();
    await Promise.all([...this.pools.values()].map(({ pool: p }) => p.close().catch(() => p.destroy())));
    this.pools.clear();
  }
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/schema.js';
import { ERROR_CODES, RelayError, errorBody } from '../errors.js';
import { KEPT_HEADERS, type IncomingCallback, type Intake, type IntakeOutcome } from '../intake.js';
import type { Metrics } from '../metrics.js';
import type { Channel, Outcome } from '../paygate/types.js';
import type { Admission } from '../net/admission.js';
import { allowList } from '../net/cidr.js';
import { tokenBucket } from '../net/rate-limit.js';
import { callbackForm, kindParams, opId, rejected, returned, tokenParams } from './paygate-schemas.js';
import { optionalBody, textResponse } from './schemas.js';
import { documentOnly, typed, validatorCompiler } from './type-provider.js';

/** What the callback routes need from the relay. */
export interface CallbackServices {
  config: Pick<Config, 'paygate' | 'limits' | 'merchants'>;
  intake: Pick<Intake, 'receive'>;
  admission: Pick<Admission, 'admit'>;
  metrics: Pick<Metrics, 'callbacks'>;
  readonly draining: boolean;
  now(): number;
}


type Req = FastifyRequest<{ Params: { kind?: string; token?: string } }>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The Content-Type as sent; the parser sees application/octet-stream (see the onRequest hook). */
    callbackContentType?: string;
  }
}

function keptHeaders(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of KEPT_HEADERS) {
    const v = h === 'content-type' ? req.callbackContentType : req.headers[h];
    if (typeof v === 'string') out[h] = v;
  }
  return out;
}

/** For GET (and HEAD) the raw query string is the body: bytes exactly as sent (URLs are latin1 on the wire). */
function rawBody(req: FastifyRequest): Buffer {
  if (req.method === 'GET' || req.method === 'HEAD') {
    const q = req.raw.url?.indexOf('?') ?? -1;
    return q < 0 ? Buffer.alloc(0) : Buffer.from(req.raw.url!.slice(q + 1), 'latin1');
  }
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * Paygate's callback routes. Bodies are taken as raw bytes (not through the
 * global form parser) so the stored callback is exactly what arrived and the
 * charset is decoded by the Paygate core, latin1 or UTF-8.
 */
async function paygateRoutes(app: FastifyInstance, opts: { relay: CallbackServices }): Promise<void> {
  const { relay } = opts;
  // Only the path is validated; body schemas document the form (raw bytes stay raw).
  app.setValidatorCompiler((route) => (route.httpPart === 'body' ? documentOnly(route) : validatorCompiler(route as Parameters<typeof validatorCompiler>[0])));
  const allowed = relay.config.paygate.allowFrom ? allowList(relay.config.paygate.allowFrom) : null;
  const rl = relay.config.paygate.rateLimit;
  const limiter = rl ? tokenBucket(rl) : null;
  // Guards run before the body is read: a refused request costs us nothing and is not stored.
  app.addHook('onRequest', async (req, reply) => {
    const channel = (/^\/paygate\/(notify|success|failure)/.exec(req.url)?.[1] ?? 'notify') as Channel;
    // Everything that reaches a callback route is stored, a Content-Type Fastify cannot parse
    // included: the body is read as raw bytes whatever it says, and intake judges the type sent.
    req.callbackContentType = req.headers['content-type'];
    if (req.method === 'POST') req.headers['content-type'] = 'application/octet-stream';
    // allowFrom is for Paygate's server-to-server notify; browser returns come from customers' browsers.
    if (allowed && channel === 'notify' && !allowed(req.ip)) {
      relay.metrics.callbacks.inc({ channel, result: 'forbidden', reason: 'forbidden_source' });
      return reply.code(403).send(errorBody('forbidden_source'));
    }
    if (limiter && !limiter.take(req.ip, Date.now())) {
      relay.metrics.callbacks.inc({ channel, result: 'rate_limited', reason: 'rate_limited' });
      return reply.code(429).header('retry-after', '1').send(errorBody('rate_limited'));
    }
    // Backpressure: past a bound, refuse at once rather than queue (src/net/admission.ts). Nothing of
    // a refused callback is read or stored; Paygate retries the 503.
    const admitted = relay.admission.admit();
    if (typeof admitted === 'string') {
      relay.metrics.callbacks.inc({ channel, result: 'shed', reason: admitted });
      return reply.code(503).header('retry-after', String(relay.config.limits.overloadRetryAfterSeconds)).send(errorBody('overloaded'));
    }
    // Pending until answered, or until the client went away.
    reply.raw.once('close', admitted);
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: relay.config.limits.bodyBytes }, (_req, body, done) => done(null, body));

  async function take(req: Req, channel: Channel): Promise<IntakeOutcome> {
    if (relay.draining) throw new RelayError('shutting_down');
    const startedAt = Date.now();
    const incoming: IncomingCallback = {
      channel,
      method: req.method === 'GET' || req.method === 'HEAD' ? req.method : 'POST',
      path: req.url.split('?')[0]!,
      kind: req.params.kind,
      token: req.params.token,
      contentType: req.callbackContentType,
      remoteIp: req.ip,
      headers: keptHeaders(req),
      body: rawBody(req),
      receivedAt: relay.now(),
    };
    return relay.intake.receive(incoming, startedAt);
  }

  async function notify(req: Req, reply: FastifyReply) {
    const out = await take(req, 'notify');
    if (out.result === 'quarantined') {
      return reply.code(ERROR_CODES[out.reason].status).send({ ...errorBody(out.reason, out.detail), callbackId: out.callbackId });
    }
    // A short body; Paygate only looks at the status. 200 means: committed to disk.
    return reply.code(200).type('text/plain').send('OK');
  }

  function returnTarget(out: IntakeOutcome): string | null {
    // A merchant only claimed in plain may choose its failure page: that is all a claim ever gets.
    const merchantId = out.result === 'quarantined' ? out.merchantId ?? out.claimedMerchantId : out.decoded.merchantId;
    const merchants = relay.config.merchants.filter((m) => m.returnUrls);
    const m = merchantId ? merchants.find((x) => x.id === merchantId) : merchants.length === 1 ? merchants[0] : undefined;
    if (!m?.returnUrls) return null;
    // The decrypted, verified outcome decides, never the URL that was hit.
    const outcome: Outcome = out.result === 'quarantined' ? 'failed' : out.decoded.outcome;
    if (outcome === 'succeeded') return m.returnUrls.success;
    if (outcome === 'pending') return m.returnUrls.pending ?? m.returnUrls.failure;
    return m.returnUrls.failure;
  }

  function browserReturn(channel: Channel) {
    return async (req: Req, reply: FastifyReply) => {
      const out = await take(req, channel);
      const target = returnTarget(out);
      if (target) return reply.code(303).header('location', target).header('cache-control', 'no-store').send();
      // No return URL configured: a neutral page; never echo decrypted data.
      const ok = out.result !== 'quarantined' && out.decoded.outcome === 'succeeded';
      return reply.code(ok ? 200 : out.result === 'quarantined' ? ERROR_CODES[out.reason].status : 200).type('text/plain')
        .send(ok ? 'Payment result received.' : 'The payment was not completed.');
    };
  }

  const r = typed(app);
  // The token segment (signed URLs, paygate.urlSecret) comes after the kind, which stays readable in logs.
  for (const variant of ['plain', 'kind', 'token'] as const) {
    const suffix = variant === 'plain' ? '' : variant === 'kind' ? '/:kind' : '/:kind/:token';
    const params = variant === 'plain' ? {} : { params: variant === 'kind' ? kindParams : tokenParams };
    r.post(`/paygate/notify${suffix}`, {
      schema: {
        operationId: opId('notify', variant), tags: ['paygate'], summary: 'URLNotify: store and classify a Paygate result', ...params,
        consumes: ['application/x-www-form-urlencoded'], body: optionalBody(callbackForm),
        response: {
          200: textResponse('Stored durably: a new event, a repeat of a stored callback, or a conflict with one (kept, announced as callback.conflict): body OK.'),
          ...rejected,
        },
      },
    }, notify);
    for (const channel of ['success', 'failure'] as const) {
      const base = {
        tags: ['paygate'], ...params, response: returned,
        summary: `URL${channel === 'success' ? 'Success' : 'Failure'}: browser return, stored like notify, then redirected by the verified outcome`,
      };
      const path = `/paygate/${channel}${suffix}`;
      r.get(path, {
        schema: { ...base, operationId: opId(channel, variant, 'Get'), description: 'The result arrives as the query string (Len, Data, MerchantID, Custom pairs).' },
      }, browserReturn(channel));
      r.post(path, {
        schema: { ...base, operationId: opId(channel, variant, 'Post'), consumes: ['application/x-www-form-urlencoded'], body: optionalBody(callbackForm) },
      }, browserReturn(channel));
    }
  }
}

/** Paygate's callback routes; encapsulated: their raw-body parser stays theirs. */
export default fp(paygateRoutes, { name: 'paygate-callbacks', encapsulate: true, fastify: '5.x' });
